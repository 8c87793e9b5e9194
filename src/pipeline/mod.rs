//! The analysis pipeline: stages in order, each taking and returning plain data.
//!
//! fetch → decode (+ resample to 16 kHz, inside the decode stream)
//!
//! Later stages (VAD, diarization, transcription, measurement, assessment) slot in after
//! decode. Nothing here knows pgmq or tables: progress goes to a [`ProgressSink`] and the
//! result comes back as an [`Outcome`], so the daemon and a local CLI run share this code.

pub mod decode;
pub mod fetch;
pub mod progress;
pub mod resample;
pub mod types;

use std::time::Instant;

use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::error::JobError;
use crate::pipeline::decode::{AudioInfo, DecodeLimits};
use crate::pipeline::progress::{ProgressSink, ProgressUpdate, Stage};
use crate::pipeline::types::{ANALYSIS_RATE, AnalysisAudio, Language, TranscriptSegment};
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

/// Runs every stage that exists, in order.
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
    let bytes = fetched.object.bytes;

    watch.start("decode");
    progress.report(ProgressUpdate::stage(Stage::Preprocessing));
    let limits = deps.limits;
    let (audio, info) = spawn_blocking_in_span(move || {
        decode::decode_file(&fetched.object.path, fetched.extension.as_deref(), limits)
    })
    .await
    .map_err(|err| JobError::transient(format!("decoder task failed: {err}")))?
    .map_err(crate::error::Failure::from)?;
    if info.truncated {
        tracing::warn!(
            decoded_secs = info.duration_secs,
            "the recording is truncated; analysing what it holds"
        );
    }
    let timings = watch.finish();
    Ok(Outcome {
        report: report(&audio, &info, bytes, &timings),
        transcript: Vec::new(),
        timings,
        audio_seconds: info.duration_secs,
        bytes,
    })
}

fn report(
    audio: &AnalysisAudio,
    info: &AudioInfo,
    bytes: u64,
    timings: &[StageTiming],
) -> AnalysisReport {
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
            }
        }),
        provenance: json!({
            "pipeline_version": env!("CARGO_PKG_VERSION"),
            "stages": ["fetch", "decode", "resample"],
            "decoder": "symphonia 0.5",
            "resampler": "rubato FftFixedIn (band-limited, delay-compensated)",
            "timings": timings,
        }),
        ..AnalysisReport::default()
    }
}
