//! Assembling the result: every measurement into `metrics`, what ran into `provenance`, and
//! the report sections (measured ones always, judged ones only when the LLM produced them)
//! in the shape the app renders (DESIGN §3).

use serde_json::{Value, json};

use crate::pipeline::assess::Assessment;
use crate::pipeline::checkpoint::Measured;
use crate::pipeline::decode::AudioInfo;
use crate::pipeline::diarize::{Diarization, Mode};
use crate::pipeline::measure::SpeakingMetrics;
use crate::pipeline::quality::Preprocessed;
use crate::pipeline::stopwatch::StageTiming;
use crate::pipeline::transcript::Transcript;
use crate::pipeline::types::ANALYSIS_RATE;
use crate::report::{self, ReportInput};
use crate::store::results::{AnalysisReport, TranscriptRow};

/// Everything measured about one recording.
pub struct Measurements<'a> {
    pub info: &'a AudioInfo,
    pub bytes: u64,
    pub analysis_samples: usize,
    pub dual_channel_kept: bool,
    pub preprocessed: &'a Preprocessed,
    pub diarization: &'a Diarization,
    pub speaking: &'a SpeakingMetrics,
    pub transcript: Option<&'a Transcript>,
}

/// The judgement side: an assessment, or why there is none.
pub enum Judged<'a> {
    Assessed(&'a Assessment),
    Withheld(&'a str),
}

pub fn metrics(m: &Measurements) -> Value {
    let info = m.info;
    json!({
        "audio": {
            "duration_secs": info.duration_secs,
            "channels": info.channels,
            "sample_rate": info.sample_rate,
            "codec": info.codec,
            "bytes": m.bytes,
            "truncated": info.truncated,
            "skipped_packets": info.skipped_packets,
            "analysis_rate": ANALYSIS_RATE,
            "analysis_samples": m.analysis_samples,
            "dual_channel_kept": m.dual_channel_kept,
        },
        "audio_quality": m.preprocessed,
        "diarization": timeline(m.diarization),
        "speaking": m.speaking,
        "transcription": m.transcript.map(|t| &t.summary),
        "lexical": m.transcript.map(|t| &t.lexical),
    })
}

fn timeline(diarization: &Diarization) -> Value {
    let turns: Vec<Value> = diarization
        .turns
        .iter()
        .map(|t| json!({"speaker": format!("speaker_{}", t.speaker), "start": t.span.start, "end": t.span.end}))
        .collect();
    json!({
        "mode": diarization.mode,
        "num_speakers": diarization.num_speakers,
        "confidence": diarization.confidence,
        "speaker_count": speaker_count(diarization),
        "turns": turns,
        "overlaps": diarization.overlaps,
    })
}

/// Whether the count was declared or estimated, and for an estimate how sure (0..1) and the
/// evidence (see `diarize::count`).
fn speaker_count(diarization: &Diarization) -> Value {
    match &diarization.count {
        None => json!({"estimated": false}),
        Some(e) => json!({
            "estimated": true,
            "certainty": e.certainty,
            "by_distance": e.by_distance,
            "heard_at_once": e.heard_at_once,
        }),
    }
}

pub fn provenance(m: &Measurements, timings: &[StageTiming]) -> Value {
    let mut stages = vec![
        "fetch", "decode", "resample", "quality", "vad", "diarize", "measure",
    ];
    if m.transcript.is_some() {
        stages.extend(["transcribe", "align", "lexical"]);
    }
    json!({
        "pipeline_version": env!("CARGO_PKG_VERSION"),
        "stages": stages,
        "decoder": "symphonia 0.5 (+ libopus)",
        "resampler": "rubato FftFixedIn (band-limited, delay-compensated)",
        "loudness": "ITU-R BS.1770-4 gated, dual-mono weighting, 4x true peak",
        "vad": "adaptive speech-band energy, 10 ms frames, hangover smoothing",
        "diarization": match m.diarization.mode {
            Mode::Neural => "pyannote segmentation-3.0 + CAM++ (ONNX), GMM/Viterbi resegmentation",
            Mode::Mono => "cepstral clustering + GMM/Viterbi resegmentation",
            Mode::DualChannel => "per-channel activity (one person per channel)",
        },
        "transcription_model": m.transcript.map(|t| &t.summary.model),
        "usage": { "stt": m.transcript.map(|t| &t.summary.usage) },
        "timings": timings,
    })
}

/// The stored row and the labelled transcript, from the measured part and the judgement.
pub fn assemble(
    measured: &Measured,
    judged: Judged,
    timings: &[StageTiming],
) -> (AnalysisReport, Vec<TranscriptRow>) {
    let metrics = measured.metrics.clone();
    let mut provenance = measured.provenance.clone();
    if let Some(all) = provenance["timings"].as_array_mut() {
        all.extend(timings.iter().map(|t| json!(t)));
    }
    let segments = &measured.segments;
    let assessment = match judged {
        Judged::Assessed(assessment) => assessment,
        Judged::Withheld(reason) => {
            provenance["judgement"] = json!({"status": "not_produced", "reason": reason});
            let rows = segments
                .iter()
                .map(|s| TranscriptRow::unlabelled(s.clone()))
                .collect();
            return (
                AnalysisReport {
                    metrics,
                    provenance,
                    ..AnalysisReport::default()
                },
                rows,
            );
        }
    };
    let generated_at = chrono::Utc::now().to_rfc3339();
    let input = ReportInput {
        segments,
        language: measured.language,
        metrics: &metrics,
        assessment,
        pipeline_version: env!("CARGO_PKG_VERSION"),
        generated_at: &generated_at,
    };
    let built = report::json::build(&input);
    provenance["assessment"] = json!(built.provenance);
    provenance["judgement"] = json!(built.judgement);
    let rows = segments
        .iter()
        .map(|s| TranscriptRow {
            speaker: s
                .speaker
                .map_or_else(|| "unknown".to_owned(), |n| assessment.roles.label(n)),
            segment: s.clone(),
        })
        .collect();
    let row = AnalysisReport {
        speaker_analysis: Some(to_json(&built.speaker_analysis)),
        coaching_skills: built.coaching_skills.as_ref().map(to_json),
        emotion_analysis: built.emotion_analysis.as_ref().map(to_json),
        conversation_events: Some(to_json(&built.conversation_events)),
        diagnosis: built.diagnosis.as_ref().map(to_json),
        prescriptions: built.prescriptions.as_ref().map(to_json),
        metrics: built.metrics,
        provenance,
    };
    (row, rows)
}

/// The report's sections are plain structs of strings and numbers: serialising cannot fail.
fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}
