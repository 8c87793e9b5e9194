//! The stored result of a job: the `analysis_results` row and the labelled transcript rows,
//! built by the same builder as `report.json` (withheld or not), so the row, the file and a
//! report rebuilt from the row ([`super::stored`]) have the one shape the schema describes.

use serde_json::{Value, json};

use super::json::{Report, ReportInput, build};
use crate::pipeline::Outcome;
use crate::pipeline::outcome::{AnalysisReport, Judged, TranscriptRow};

/// The report, the row that stores it and the labelled transcript.
pub struct Built {
    pub report: Report,
    pub row: AnalysisReport,
    pub transcript: Vec<TranscriptRow>,
}

/// Builds the report of `outcome` once, and the rows that store it.
pub fn built(outcome: &Outcome) -> Built {
    let measured = &outcome.measured;
    let judged = outcome.judged();
    let mut provenance = measured.provenance.clone();
    let segments = &measured.segments;
    let generated_at = chrono::Utc::now().to_rfc3339();
    let input = ReportInput {
        segments,
        language: measured.language,
        metrics: &measured.metrics,
        judged,
        pipeline_version: env!("CARGO_PKG_VERSION"),
        generated_at: &generated_at,
    };
    let report = build(&input);
    provenance["judgement"] = json!(report.judgement);
    let Judged::Assessed(assessment) = judged else {
        let transcript = segments
            .iter()
            .map(|s| TranscriptRow::unlabelled(s.clone()))
            .collect();
        let row = AnalysisReport {
            metrics: report.metrics.clone(),
            provenance,
            ..AnalysisReport::default()
        };
        return Built {
            report,
            row,
            transcript,
        };
    };
    provenance["assessment"] = json!(report.provenance);
    let transcript = segments
        .iter()
        .map(|s| TranscriptRow {
            speaker: s
                .speaker
                .map_or_else(|| "unknown".to_owned(), |n| assessment.roles.label(n)),
            segment: s.clone(),
        })
        .collect();
    let row = AnalysisReport {
        speaker_analysis: report.speaker_analysis.as_ref().map(to_json),
        coaching_skills: report.coaching_skills.as_ref().map(to_json),
        emotion_analysis: report.emotion_analysis.as_ref().map(to_json),
        conversation_events: Some(to_json(&report.conversation_events)),
        diagnosis: report.diagnosis.as_ref().map(to_json),
        prescriptions: report.prescriptions.as_ref().map(to_json),
        metrics: report.metrics.clone(),
        provenance,
    };
    Built {
        report,
        row,
        transcript,
    }
}

/// The report's sections are plain structs of strings and numbers: serialising cannot fail.
fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}
