//! The analysis pipeline: stages in order, each taking and returning plain data.
//!
//! fetch → decode (+ resample to 16 kHz, inside the decode stream) → quality + VAD
//! → diarize → measure
//!
//! Later stages (VAD, diarization, transcription, measurement, assessment) slot in after
//! decode. Nothing here knows pgmq or tables: progress goes to a [`ProgressSink`] and the
//! result comes back as an [`Outcome`], so the daemon and a local CLI run share this code.

pub mod align;
pub mod assess;
pub mod decode;
pub mod diarize;
pub mod encode;
pub mod fetch;
pub mod hallucination;
pub mod lexical;
pub mod measure;
pub mod progress;
pub mod quality;
pub mod resample;
pub mod transcribe;
pub mod types;
pub mod vad;

use std::time::Instant;

use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::error::JobError;
use crate::pipeline::decode::{AudioInfo, DecodeLimits};
use crate::pipeline::progress::{ProgressSink, ProgressUpdate, Stage};
use crate::pipeline::diarize::{DiarizeOptions, Diarization, Mode};
use crate::pipeline::types::{ANALYSIS_RATE, AnalysisAudio, Language, Span, TranscriptSegment};
use crate::storage::Storage;
use crate::store::results::AnalysisReport;
use crate::telemetry::spawn_blocking_in_span;

/// What one job is asked to do.
#[derive(Clone, Debug)]
pub struct JobSpec {
    pub session_id: Uuid,
    pub audio_path: String,
    pub language: Language,
    pub num_speakers: u8,
}

/// What the stages need from the outside world.
pub struct Deps {
    pub storage: Storage,
    pub limits: DecodeLimits,
}

#[derive(Debug)]
pub struct Outcome {
    pub report: AnalysisReport,
    pub transcript: Vec<TranscriptSegment>,
    pub timings: Vec<StageTiming>,
    pub audio_seconds: f64,
    pub bytes: u64,
}

/// Wall time of one stage, for metrics and provenance.
#[derive(Clone, Debug, Serialize)]
pub struct StageTiming {
    pub stage: &'static str,
    pub seconds: f64,
}

/// Records stage wall times in order.
#[derive(Default)]
struct Stopwatch {
    timings: Vec<StageTiming>,
    started: Option<(&'static str, Instant)>,
}

impl Stopwatch {
    fn start(&mut self, stage: &'static str) {
        self.stop();
        self.started = Some((stage, Instant::now()));
    }

    fn stop(&mut self) {
        if let Some((stage, at)) = self.started.take() {
            let seconds = at.elapsed().as_secs_f64();
            self.timings.push(StageTiming { stage, seconds });
        }
    }

    fn finish(mut self) -> Vec<StageTiming> {
        self.stop();
        self.timings
    }
}

/// Runs every stage that exists, in order, on a stored recording.
///
/// # Errors
/// [`JobError::Transient`] for outages worth retrying, [`JobError::Permanent`] otherwise.
pub async fn run(
    job: &JobSpec,
    deps: &Deps,
    progress: &dyn ProgressSink,
) -> Result<Outcome, JobError> {
    let mut watch = Stopwatch::default();
    watch.start("fetch");
    progress.report(ProgressUpdate::stage(Stage::Downloading));
    let fetched = fetch::fetch(&deps.storage, &job.audio_path).await?;
    let source = Source {
        path: fetched.object.path.clone(),
        extension: fetched.extension.clone(),
        bytes: fetched.object.bytes,
    };
    // `fetched` owns the temporary download: it lives until the analysis is done.
    let outcome = analyze(&source, job, deps, progress, watch).await;
    drop(fetched);
    outcome
}

/// A recording on local disk.
#[derive(Clone, Debug)]
pub struct Source {
    pub path: std::path::PathBuf,
    pub extension: Option<String>,
    pub bytes: u64,
}

/// Every stage after fetch: what the daemon and `vibeinsight analyze FILE` share.
///
/// # Errors
/// As [`run`].
pub async fn analyze_file(
    source: &Source,
    job: &JobSpec,
    deps: &Deps,
    progress: &dyn ProgressSink,
) -> Result<Outcome, JobError> {
    analyze(source, job, deps, progress, Stopwatch::default()).await
}

async fn analyze(
    source: &Source,
    job: &JobSpec,
    deps: &Deps,
    progress: &dyn ProgressSink,
    mut watch: Stopwatch,
) -> Result<Outcome, JobError> {
    watch.start("decode");
    progress.report(ProgressUpdate::stage(Stage::Preprocessing));
    let (mut audio, info) = decode_blocking(source, deps.limits).await?;
    watch.start("quality_vad");
    let (audio, preprocessed) = spawn_blocking_in_span(move || {
        let measured = quality::preprocess(&mut audio);
        (audio, measured)
    })
    .await
    .map_err(|err| JobError::transient(format!("preprocessing task failed: {err}")))?;
    let preprocessed =
        preprocessed.map_err(|err| JobError::transient(format!("feature extraction: {err}")))?;
    if let Some(note) = quality::warning_note(&preprocessed.warnings, job.language) {
        let percent = Stage::Preprocessing.start_percent();
        progress.report(ProgressUpdate {
            stage: Stage::Preprocessing,
            percent,
            note: Some(note),
        });
    }
    watch.start("diarize");
    progress.report(ProgressUpdate::stage(Stage::Diarization));
    let (audio, diarization) = diarize_blocking(audio, &preprocessed.speech, job).await?;
    let speaking = measure::measure(&diarization, info.duration_secs);
    let timings = watch.finish();
    let analysis = Analysis { info: &info, preprocessed: &preprocessed, diarization: &diarization, speaking: &speaking };
    Ok(Outcome {
        report: report(&audio, &analysis, source.bytes, &timings),
        transcript: Vec::new(),
        timings,
        audio_seconds: info.duration_secs,
        bytes: source.bytes,
    })
}

async fn decode_blocking(
    source: &Source,
    limits: DecodeLimits,
) -> Result<(AnalysisAudio, AudioInfo), JobError> {
    let (path, extension) = (source.path.clone(), source.extension.clone());
    let (audio, info) =
        spawn_blocking_in_span(move || decode::decode_file(&path, extension.as_deref(), limits))
            .await
            .map_err(|err| JobError::transient(format!("decoder task failed: {err}")))?
            .map_err(crate::error::Failure::from)?;
    if info.truncated {
        tracing::warn!(
            decoded_secs = info.duration_secs,
            "the recording is truncated; analysing what it holds"
        );
    }
    Ok((audio, info))
}

/// Who spoke when, on the analysis audio, with the session's speaker count.
async fn diarize_blocking(
    audio: AnalysisAudio,
    speech: &[Span],
    job: &JobSpec,
) -> Result<(AnalysisAudio, Diarization), JobError> {
    let options = DiarizeOptions {
        num_speakers: Some(job.num_speakers.into()),
        ..DiarizeOptions::default()
    };
    let speech = speech.to_vec();
    let (audio, diarization) = spawn_blocking_in_span(move || {
        let diarization = diarize::diarize(&audio, Some(&speech), &options);
        (audio, diarization)
    })
    .await
    .map_err(|err| JobError::transient(format!("diarization task failed: {err}")))?;
    let diarization =
        diarization.map_err(|err| JobError::transient(format!("diarization: {err}")))?;
    tracing::info!(
        mode = ?diarization.mode,
        speakers = diarization.num_speakers,
        turns = diarization.turns.len(),
        confidence = diarization.confidence,
        "diarized"
    );
    Ok((audio, diarization))
}

/// Everything measured so far, for the report.
struct Analysis<'a> {
    info: &'a AudioInfo,
    preprocessed: &'a quality::Preprocessed,
    diarization: &'a Diarization,
    speaking: &'a measure::SpeakingMetrics,
}

fn speaker_label(speaker: usize) -> String {
    format!("speaker_{speaker}")
}

fn timeline(diarization: &Diarization) -> serde_json::Value {
    let turns: Vec<_> = diarization
        .turns
        .iter()
        .map(|t| json!({"speaker": speaker_label(t.speaker), "start": t.span.start, "end": t.span.end}))
        .collect();
    json!({
        "mode": diarization.mode,
        "num_speakers": diarization.num_speakers,
        "confidence": diarization.confidence,
        "turns": turns,
        "overlaps": diarization.overlaps,
    })
}

fn report(
    audio: &AnalysisAudio,
    analysis: &Analysis,
    bytes: u64,
    timings: &[StageTiming],
) -> AnalysisReport {
    let Analysis { info, preprocessed, diarization, speaking } = analysis;
    AnalysisReport {
        metrics: json!({
            "audio": {
                "duration_secs": info.duration_secs,
                "channels": info.channels,
                "sample_rate": info.sample_rate,
                "codec": info.codec,
                "bytes": bytes,
                "truncated": info.truncated,
                "skipped_packets": info.skipped_packets,
                "analysis_rate": ANALYSIS_RATE,
                "analysis_samples": audio.mono.len(),
                "dual_channel_kept": audio.stereo.is_some(),
            },
            "audio_quality": preprocessed,
            "diarization": timeline(diarization),
            "speaking": speaking,
        }),
        provenance: json!({
            "pipeline_version": env!("CARGO_PKG_VERSION"),
            "stages": ["fetch", "decode", "resample", "quality", "vad", "diarize", "measure"],
            "decoder": "symphonia 0.5",
            "resampler": "rubato FftFixedIn (band-limited, delay-compensated)",
            "loudness": "ITU-R BS.1770-4 gated, dual-mono weighting, 4x true peak",
            "vad": "adaptive speech-band energy, 10 ms frames, hangover smoothing",
            "diarization": match diarization.mode {
                Mode::Neural => "pyannote segmentation-3.0 + CAM++ (ONNX), GMM/Viterbi resegmentation",
                Mode::Mono => "cepstral clustering + GMM/Viterbi resegmentation",
                Mode::DualChannel => "per-channel activity (one person per channel)",
            },
            "timings": timings,
        }),
        ..AnalysisReport::default()
    }
}
