//! What the page reads, typed, from a [`Report`] alone: so `report.html` is the same whether
//! it is rendered right after the analysis or later from a stored `analysis_results` row.

use anyhow::Context as _;
use serde::Deserialize;

use super::json::Report;
use crate::domain::Language;
use crate::pipeline::assess::inputs::MeasuredMetrics;
use crate::pipeline::assess::measured::SpeakerAnalysis;
use crate::pipeline::assess::roles::{RoleAssignment, display_label};

/// One diarization turn as `metrics.diarization.turns` stores it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Turn {
    /// `speaker_N`, the diarizer's index.
    pub speaker: String,
    pub start: f64,
    pub end: f64,
}

#[derive(Deserialize)]
struct DiarizationView {
    turns: Vec<Turn>,
}

/// The report with the parts of `metrics` the page draws.
pub struct Page<'a> {
    pub report: &'a Report,
    pub language: Language,
    pub speakers: &'a SpeakerAnalysis,
    pub conversation: MeasuredMetrics,
    pub roles: RoleAssignment,
    pub turns: Vec<Turn>,
}

impl<'a> Page<'a> {
    /// Reads the typed parts; fails when the report has no per-speaker measurements.
    ///
    /// # Errors
    /// The measurements were withheld, or `metrics` does not have the schema's shape.
    pub fn read(report: &'a Report) -> anyhow::Result<Page<'a>> {
        let speakers = report
            .speaker_analysis
            .as_ref()
            .context("the measurements were withheld: there is no page to draw")?;
        let conversation = report
            .conversation()
            .context("metrics.conversation is malformed")?
            .context("metrics.conversation is missing")?;
        let roles = field(report, "roles")?;
        let diarization: DiarizationView = field(report, "diarization")?;
        Ok(Page {
            report,
            language: report.provenance.language,
            speakers,
            conversation,
            roles,
            turns: diarization.turns,
        })
    }

    /// The diarizer index behind a stored label (`coach`, `client`, `speaker_N`).
    pub fn speaker_of(&self, label: &str) -> Option<usize> {
        let known = self.speakers.speakers.iter().find(|s| s.label == label);
        known
            .map(|s| s.speaker)
            .or_else(|| label.strip_prefix("speaker_")?.parse().ok())
    }

    /// The display name of a diarizer index in the session's language.
    pub fn name_of(&self, speaker: usize) -> String {
        display_label(self.language, &self.roles.label(speaker))
    }

    /// The lane (and colour) of a diarizer index: its place in the role assignment.
    pub fn lane_of(&self, speaker: usize) -> usize {
        self.roles
            .speakers
            .iter()
            .position(|s| *s == speaker)
            .unwrap_or(speaker)
    }

    /// The recording's length as measured.
    pub fn duration_s(&self) -> f64 {
        self.conversation.duration_s
    }
}

fn field<T: serde::de::DeserializeOwned>(report: &Report, key: &str) -> anyhow::Result<T> {
    let value = report
        .metrics
        .get(key)
        .with_context(|| format!("metrics.{key} is missing"))?;
    T::deserialize(value).with_context(|| format!("metrics.{key} is malformed"))
}
