//! The minimal typed view of the measured metrics that the assessment reads.
//!
//! The measuring stage owns the full JSON; this view names only the keys used here, and
//! ignores the rest, so the measuring stage can add fields freely. Keys read:
//!
//! - `duration_s`, `gini_coefficient`, `interactivity_per_min` (top level)
//! - `speakers[]`: `speaker`, `talk_time_s`, `talk_ratio`, `turns`, `mean_turn_s`,
//!   `longest_monologue_s`, `mean_response_latency_s`, `questions.open`, `questions.closed`,
//!   `speech_rate` (optional)
//! - `overlaps[]`: `start`, `end`, `speaker` (who came in), `kind` (`backchannel` |
//!   `interruption`), `text` (optional)
//! - `silences[]`: `start`, `end`

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The measurements the assessment and the report read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeasuredMetrics {
    pub duration_s: f64,
    pub gini_coefficient: f64,
    pub interactivity_per_min: f64,
    pub speakers: Vec<SpeakerMetrics>,
    #[serde(default)]
    pub overlaps: Vec<Overlap>,
    #[serde(default)]
    pub silences: Vec<Silence>,
}

/// Per-speaker measurements; `speaker` is the 0-based index used in the transcript.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpeakerMetrics {
    pub speaker: usize,
    pub talk_time_s: f64,
    /// Share of all speaking time, 0..1.
    pub talk_ratio: f64,
    pub turns: u32,
    pub mean_turn_s: f64,
    pub longest_monologue_s: f64,
    /// Mean gap between the other speaker finishing and this one starting; `None` when
    /// this speaker never answered anyone.
    #[serde(default)]
    pub mean_response_latency_s: Option<f64>,
    /// `None` without a transcript: questions cannot be counted, and are not guessed.
    #[serde(default)]
    pub questions: Option<QuestionCounts>,
    /// Characters (ja) or words (en) per minute, when measured.
    #[serde(default)]
    pub speech_rate: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionCounts {
    pub open: u32,
    pub closed: u32,
}

impl QuestionCounts {
    pub fn total(&self) -> u32 {
        self.open + self.closed
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OverlapKind {
    Backchannel,
    Interruption,
}

/// Two people speaking at once; `speaker` is the one who came in over the other.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Overlap {
    pub start: f64,
    pub end: f64,
    pub speaker: usize,
    pub kind: OverlapKind,
    #[serde(default)]
    pub text: Option<String>,
}

/// A long silence (the measuring stage decides the threshold).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    pub start: f64,
    pub end: f64,
}

impl MeasuredMetrics {
    /// Reads the typed view from the measuring stage's JSON.
    ///
    /// # Errors
    /// When a key listed in the module doc is missing or has the wrong type.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, serde_json::Error> {
        Self::deserialize(value)
    }

    pub fn speaker(&self, index: usize) -> Option<&SpeakerMetrics> {
        self.speakers.iter().find(|s| s.speaker == index)
    }

    /// The numbers a prescription may cite, by stable key. Keys use `speaker_N`, never a
    /// role, so they stay valid whatever the role assignment decides.
    pub fn citable(&self) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        out.insert("duration_s".to_owned(), self.duration_s);
        out.insert("gini_coefficient".to_owned(), self.gini_coefficient);
        out.insert(
            "interactivity_per_min".to_owned(),
            self.interactivity_per_min,
        );
        out.insert("long_silences".to_owned(), self.silences.len() as f64);
        for s in &self.speakers {
            let p = crate::domain::speaker_label(s.speaker);
            out.insert(format!("{p}.talk_ratio"), s.talk_ratio);
            out.insert(format!("{p}.talk_time_s"), s.talk_time_s);
            out.insert(format!("{p}.turns"), f64::from(s.turns));
            out.insert(format!("{p}.mean_turn_s"), s.mean_turn_s);
            out.insert(format!("{p}.longest_monologue_s"), s.longest_monologue_s);
            if let Some(q) = s.questions {
                out.insert(format!("{p}.questions_open"), f64::from(q.open));
                out.insert(format!("{p}.questions_closed"), f64::from(q.closed));
            }
            if let Some(v) = s.mean_response_latency_s {
                out.insert(format!("{p}.mean_response_latency_s"), v);
            }
            if let Some(v) = s.speech_rate {
                out.insert(format!("{p}.speech_rate"), v);
            }
            let (bc, intr) = self.overlap_counts(s.speaker);
            out.insert(format!("{p}.backchannels"), bc as f64);
            out.insert(format!("{p}.interruptions"), intr as f64);
        }
        out
    }

    /// (backchannels, interruptions) started by `speaker`.
    pub fn overlap_counts(&self, speaker: usize) -> (usize, usize) {
        let mine = self.overlaps.iter().filter(|o| o.speaker == speaker);
        mine.fold((0, 0), |(b, i), o| match o.kind {
            OverlapKind::Backchannel => (b + 1, i),
            OverlapKind::Interruption => (b, i + 1),
        })
    }
}
