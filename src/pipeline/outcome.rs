//! Assembling the result: every measurement into `metrics`, what ran into `provenance`, and
//! the report sections (measured ones always, judged ones only when the LLM produced them)
//! in the shape the app renders (DESIGN §3).

use serde::Serialize;
use serde_json::{Value, json};

use crate::domain::{ANALYSIS_RATE, TranscriptSegment};
use crate::pipeline::assess::Assessment;
use crate::pipeline::decode::AudioInfo;
use crate::pipeline::diarize::{Diarization, DiarizeOptions, Mode, models};
use crate::pipeline::measure::SpeakingMetrics;
use crate::pipeline::progress::{ProgressSink, ProgressUpdate, Stage};
use crate::pipeline::quality::Preprocessed;
use crate::pipeline::stopwatch::StageTiming;
use crate::pipeline::transcript::Transcript;

/// A transcript segment with the label stored in `transcript_segments.speaker`: `coach` /
/// `client` when roles are known, `speaker_N` otherwise.
#[derive(Clone, Debug)]
pub struct TranscriptRow {
    pub speaker: String,
    pub segment: TranscriptSegment,
}

impl TranscriptRow {
    pub fn unlabelled(segment: TranscriptSegment) -> TranscriptRow {
        let speaker = crate::domain::segment_speaker_label(segment.speaker);
        TranscriptRow { speaker, segment }
    }
}

/// The report row. Sections a stage did not produce stay `None` (SQL NULL); nothing is
/// invented to fill them.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AnalysisReport {
    pub speaker_analysis: Option<serde_json::Value>,
    pub coaching_skills: Option<serde_json::Value>,
    pub emotion_analysis: Option<serde_json::Value>,
    pub conversation_events: Option<serde_json::Value>,
    pub diagnosis: Option<serde_json::Value>,
    pub prescriptions: Option<serde_json::Value>,
    pub metrics: serde_json::Value,
    pub provenance: serde_json::Value,
}

/// Everything measured about one recording.
pub struct Measurements<'a> {
    pub info: &'a AudioInfo,
    pub bytes: u64,
    pub analysis_samples: usize,
    pub dual_channel_kept: bool,
    pub preprocessed: &'a Preprocessed,
    pub diarization: &'a Diarization,
    /// Why the classical path ran although the neural one was wanted (see
    /// `diarize::models::fallback_reason`); stored as `metrics.diarization.degraded`.
    pub diarization_degraded: Option<&'a str>,
    pub speaking: &'a SpeakingMetrics,
    pub transcript: Option<&'a Transcript>,
}

/// Why `diarization` came out of the classical fallback although the neural path was
/// wanted, said where the user looks: a warning in the log and the progress message (the
/// terminal's progress bar, the session's progress row). `None` when it did not.
pub fn announce_degraded(diarization: &Diarization, progress: &dyn ProgressSink) -> Option<String> {
    let reason = models::fallback_reason(DiarizeOptions::default().neural, diarization.mode)?;
    tracing::warn!(%reason, "diarization ran in degraded mode (classical path)");
    progress.report(ProgressUpdate {
        stage: Stage::Diarization,
        percent: Stage::Diarization.start_percent(),
        note: Some(format!("diarization ran in degraded mode: {reason}")),
    });
    Some(reason)
}

/// The judgement side: an assessment, or why there is none.
#[derive(Clone, Copy)]
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
        "diarization": timeline(m.diarization, m.diarization_degraded),
        "speaking": m.speaking,
        "transcription": m.transcript.map(|t| &t.summary),
        "lexical": m.transcript.map(|t| &t.lexical),
    })
}

fn timeline(diarization: &Diarization, degraded: Option<&str>) -> Value {
    let turns: Vec<Value> = diarization
        .turns
        .iter()
        .map(|t| json!({"speaker": crate::domain::speaker_label(t.speaker), "start": t.span.start, "end": t.span.end}))
        .collect();
    json!({
        "mode": diarization.mode,
        "degraded": degraded,
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
