//! The report of a finished session read back from the database: the `analysis_results` row
//! (as `to_jsonb`) and the session's `transcript_segments`. The row holds the report's
//! sections, `metrics` and the judgement status in the shape `report.json` has (the same
//! builder wrote both), so rebuilding is a matter of putting the pieces back.

use anyhow::Context as _;
use serde::Deserialize as _;
use serde_json::{Value, json};

use super::json::{Report, TranscriptLine};
use crate::domain::Language;
use crate::pipeline::assess::prompt::PROMPT_VERSION;

/// One stored transcript row, times in milliseconds as the table keeps them.
pub struct StoredSegment {
    pub seq: i32,
    pub start_ms: i64,
    pub end_ms: i64,
    pub speaker: String,
    pub text: String,
}

impl StoredSegment {
    fn line(self) -> TranscriptLine {
        TranscriptLine {
            segment: usize::try_from(self.seq).unwrap_or(0) + 1,
            start: self.start_ms as f64 / 1000.0,
            end: self.end_ms as f64 / 1000.0,
            speaker: (self.speaker != "unknown").then_some(self.speaker),
            text: self.text,
        }
    }
}

/// Rebuilds the report of a session from its stored result.
///
/// # Errors
/// The row lacks the judgement status or does not have the report's shape (a row written
/// before the shape was fixed).
pub fn report(
    row: &Value,
    language: Language,
    transcript: Vec<StoredSegment>,
) -> anyhow::Result<Report> {
    let provenance = &row["provenance"];
    let judgement = provenance
        .get("judgement")
        .context("provenance.judgement is missing from the stored result")?;
    let lines: Vec<TranscriptLine> = transcript.into_iter().map(StoredSegment::line).collect();
    let value = json!({
        "speaker_analysis": row["speaker_analysis"],
        "coaching_skills": row["coaching_skills"],
        "emotion_analysis": row["emotion_analysis"],
        "conversation_events": or_empty(&row["conversation_events"]),
        "diagnosis": row["diagnosis"],
        "prescriptions": row["prescriptions"],
        "judgement": judgement,
        "metrics": row["metrics"],
        "provenance": report_provenance(row, language),
        "transcript": lines,
    });
    Report::deserialize(value).context("the stored result does not have the report's shape")
}

/// Withheld measurements store no `conversation_events` (SQL NULL): the report lists none.
fn or_empty(events: &Value) -> Value {
    if events.is_null() {
        json!([])
    } else {
        events.clone()
    }
}

/// The report's provenance: what the assessment recorded, or (measurements withheld, no
/// assessment ran) the pipeline's own with no model.
fn report_provenance(row: &Value, language: Language) -> Value {
    let provenance = &row["provenance"];
    if let Some(assessment) = provenance.get("assessment") {
        return assessment.clone();
    }
    json!({
        "pipeline_version": provenance["pipeline_version"],
        "prompt_version": PROMPT_VERSION,
        "language": language,
        "llm_provider": null,
        "llm_model": null,
        "context_plan": "none",
        "usage": null,
        "generated_at": row["created_at"],
    })
}
