//! `report.json`: the `analysis_results` row (DESIGN §3) plus metrics, provenance and the
//! labelled transcript. Judgement sections are `null` when not produced, with
//! `judgement.status` saying why: never default scores.
//!
//! `metrics` has one shape, the one stored in `analysis_results.metrics` and described by
//! `report.schema.json`: the measuring stage's record per stage (`audio`, `audio_quality`,
//! `diarization`, `speaking`, `transcription`, `lexical`), plus `conversation` (the typed
//! [`MeasuredMetrics`] the assessment and the page read: talk shares, latencies, questions,
//! classified overlaps, silences) and `roles`, both `null` when the measurements were
//! withheld. The per-stage keys stay because stored rows and the app already read them;
//! `conversation` is what DESIGN §7 asks `metrics` to hold and was missing, and it lets the
//! page be rendered again from a stored row alone.
//!
//! The schema is written by hand and checked against the real output, not generated with
//! `schemars`: on a probe of these types `schemars` 1.0 writes `metrics: Value` as `true`
//! (anything, i.e. the part that drifted goes unchecked) and leaves every `Option` field out
//! of `required`, although the app relies on those keys being present as `null`. So
//! `tests/it/report_output.rs` validates the `report.json` that `analyze` writes with
//! `jsonschema` and parses it back into [`Report`]: schema, types and file agree.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::{Language, TranscriptSegment};
use crate::pipeline::assess::catalogue;
use crate::pipeline::assess::inputs::MeasuredMetrics;
use crate::pipeline::assess::measured::{self, ConversationEvent, SpeakerAnalysis};
use crate::pipeline::assess::model::{CoachingSkills, Prescription};
use crate::pipeline::assess::prompt::PROMPT_VERSION;
use crate::pipeline::assess::usage::Usage;
use crate::pipeline::assess::{Assessment, JudgementStatus};
use crate::pipeline::outcome::Judged;

/// Everything the report needs.
pub struct ReportInput<'a> {
    pub segments: &'a [TranscriptSegment],
    pub language: Language,
    /// The measuring stage's JSON, stored as `metrics` unchanged (plus `conversation` and
    /// `roles`).
    pub metrics: &'a Value,
    /// The assessment, or why the measurements were withheld.
    pub judged: Judged<'a>,
    pub pipeline_version: &'a str,
    /// RFC 3339; passed in so a fixed input gives a fixed report.
    pub generated_at: &'a str,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// `None` when the measurements were withheld (low diarization confidence).
    pub speaker_analysis: Option<SpeakerAnalysis>,
    pub coaching_skills: Option<CoachingSkills>,
    /// Role label → split.
    pub emotion_analysis: Option<BTreeMap<String, EmotionSplit>>,
    pub conversation_events: Vec<ConversationEvent>,
    pub diagnosis: Option<DiagnosisOut>,
    pub prescriptions: Option<Vec<Prescription>>,
    pub judgement: JudgementMeta,
    pub metrics: Value,
    pub provenance: Provenance,
    pub transcript: Vec<TranscriptLine>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmotionSplit {
    pub positive: u8,
    pub neutral: u8,
    pub negative: u8,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiagnosisOut {
    pub id: String,
    pub name: String,
    pub name_ja: String,
    pub name_en: String,
    pub icon: String,
    pub description: String,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JudgementMeta {
    /// `produced`, `not_produced`, `invalid` or `unavailable`.
    pub status: String,
    /// Why there is no judgement, in one line (`None` when produced).
    pub reason: Option<String>,
    /// For `invalid`: every validation problem of the last answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub pipeline_version: String,
    pub prompt_version: String,
    pub language: Language,
    pub llm_provider: Option<String>,
    pub llm_model: Option<String>,
    pub context_plan: String,
    pub usage: Option<Usage>,
    pub generated_at: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TranscriptLine {
    pub segment: usize,
    pub start: f64,
    pub end: f64,
    pub speaker: Option<String>,
    pub text: String,
}

/// Builds the report.
pub fn build(input: &ReportInput<'_>) -> Report {
    match input.judged {
        Judged::Assessed(a) => assessed(input, a),
        Judged::Withheld(reason) => withheld(input, reason),
    }
}

fn assessed(input: &ReportInput<'_>, a: &Assessment) -> Report {
    let lang = input.language;
    let judgement = a.judgement();
    let label = |s: usize| a.roles.label(s);
    Report {
        speaker_analysis: Some(measured::speaker_analysis(&a.metrics, &a.roles)),
        coaching_skills: judgement.map(|j| j.coaching_skills.clone()),
        emotion_analysis: judgement.map(|j| {
            let split = |e: &crate::pipeline::assess::model::SpeakerEmotion| EmotionSplit {
                positive: e.positive,
                neutral: e.neutral,
                negative: e.negative,
            };
            j.emotions
                .iter()
                .map(|e| (label(e.speaker), split(e)))
                .collect()
        }),
        conversation_events: measured::conversation_events(&a.metrics, &a.roles, lang),
        diagnosis: judgement.and_then(|j| {
            let s = catalogue::find(&j.diagnosis.style_id)?;
            Some(DiagnosisOut {
                id: s.id.clone(),
                name: s.name(lang).to_owned(),
                name_ja: s.name_ja.clone(),
                name_en: s.name_en.clone(),
                icon: s.icon.clone(),
                description: s.description(lang).to_owned(),
                reason: j.diagnosis.reason.clone(),
            })
        }),
        prescriptions: judgement.map(|j| j.prescriptions.clone()),
        judgement: meta(&a.judgement),
        metrics: with_conversation(input.metrics, Some(a)),
        provenance: provenance(input, Some(a)),
        transcript: transcript(input.segments, &label),
    }
}

/// Without per-speaker numbers: nothing measured per speaker is shown, and the judgement
/// status says why.
fn withheld(input: &ReportInput<'_>, reason: &str) -> Report {
    Report {
        speaker_analysis: None,
        coaching_skills: None,
        emotion_analysis: None,
        conversation_events: Vec::new(),
        diagnosis: None,
        prescriptions: None,
        judgement: JudgementMeta {
            status: "not_produced".to_owned(),
            reason: Some(format!("the measurements were withheld: {reason}")),
            reasons: Vec::new(),
        },
        metrics: with_conversation(input.metrics, None),
        provenance: provenance(input, None),
        transcript: transcript(input.segments, &|s| format!("speaker_{s}")),
    }
}

fn transcript(
    segments: &[TranscriptSegment],
    label: &dyn Fn(usize) -> String,
) -> Vec<TranscriptLine> {
    segments
        .iter()
        .enumerate()
        .map(|(i, s)| TranscriptLine {
            segment: i + 1,
            start: s.span.start,
            end: s.span.end,
            speaker: s.speaker.map(label),
            text: s.text.clone(),
        })
        .collect()
}

fn meta(status: &JudgementStatus) -> JudgementMeta {
    let reasons = match status {
        JudgementStatus::Invalid { reasons } => reasons.clone(),
        _ => Vec::new(),
    };
    JudgementMeta {
        status: status.name().to_owned(),
        reason: status.reason(),
        reasons,
    }
}

/// The measuring stage's record with the typed view and the roles the report was built on.
fn with_conversation(raw: &Value, a: Option<&Assessment>) -> Value {
    let mut metrics = raw.clone();
    if let Value::Object(map) = &mut metrics {
        let typed = |v: Result<Value, serde_json::Error>| v.unwrap_or(Value::Null);
        let conversation = a.map_or(Value::Null, |a| typed(serde_json::to_value(&a.metrics)));
        let roles = a.map_or(Value::Null, |a| typed(serde_json::to_value(&a.roles)));
        map.insert("conversation".to_owned(), conversation);
        map.insert("roles".to_owned(), roles);
    }
    metrics
}

fn provenance(input: &ReportInput<'_>, a: Option<&Assessment>) -> Provenance {
    let usage = a.and_then(|a| a.usage.clone());
    Provenance {
        pipeline_version: input.pipeline_version.to_owned(),
        prompt_version: a.map_or(PROMPT_VERSION, |a| &a.prompt_version).to_owned(),
        language: input.language,
        llm_provider: usage.as_ref().map(|u| u.provider.clone()),
        llm_model: usage.as_ref().map(|u| u.model.clone()),
        context_plan: a.map_or("none", |a| &a.context_plan).to_owned(),
        usage,
        generated_at: input.generated_at.to_owned(),
    }
}

impl Report {
    /// The typed view of `metrics.conversation`; `None` when the measurements were withheld.
    ///
    /// # Errors
    /// When `metrics.conversation` is present but not a [`MeasuredMetrics`].
    pub fn conversation(&self) -> Result<Option<MeasuredMetrics>, serde_json::Error> {
        match self.metrics.get("conversation") {
            None | Some(Value::Null) => Ok(None),
            Some(v) => MeasuredMetrics::from_json(v).map(Some),
        }
    }
}

/// The JSON Schema `report.json` follows (kept beside the code, checked by the tests).
pub fn schema() -> Value {
    #[allow(
        clippy::expect_used,
        reason = "compiled-in file, parsed by the report test"
    )]
    serde_json::from_str(include_str!("report.schema.json"))
        .expect("report.schema.json is valid JSON")
}
