//! The measured part of a job: decode, quality and speech, who said what, and the
//! conversation's measurements. Everything that needs no LLM, checkpointed as one, so a
//! retry of the judgement never pays for it twice.

use std::sync::Arc;

use crate::domain::Language;
use crate::error::{Failure, JobError};
use crate::pipeline::checkpoint::{Assessable, Kept, Measured};
use crate::pipeline::decode::{self, AudioInfo, DecodeLimits};
use crate::pipeline::diarize::FrontEnd;
use crate::pipeline::hearing::{Heard, transcribe_and_diarize};
use crate::pipeline::measure::{self, SpeakingMetrics};
use crate::pipeline::outcome::{self, Measurements};
use crate::pipeline::progress::{ProgressSink, ProgressUpdate, Stage};
use crate::pipeline::quality::{self, Preprocessed};
use crate::pipeline::stopwatch::{StageTiming, Stopwatch};
use crate::pipeline::types::AnalysisAudio;
use crate::pipeline::usage::{ProviderUsage, stt_usage};
use crate::pipeline::{Deps, JobSpec, Source, conversation};
use crate::telemetry::spawn_blocking_in_span;

/// The measured part and what this attempt spent on it.
pub struct MeasuredRun {
    pub measured: Measured,
    pub timings: Vec<StageTiming>,
    /// Paid requests made for it (transcription).
    pub paid: Vec<ProviderUsage>,
}

/// Decode, quality and speech, transcription and diarization, measurement.
///
/// # Errors
/// As [`crate::pipeline::run`].
pub async fn measure(
    source: &Source,
    job: &JobSpec,
    deps: &Deps,
    progress: &dyn ProgressSink,
    mut watch: Stopwatch,
    kept: Kept<'_>,
) -> Result<MeasuredRun, JobError> {
    watch.start("decode");
    progress.report(ProgressUpdate::stage(Stage::Preprocessing));
    let (audio, info) = decode_blocking(source, deps.limits).await?;
    progress.recording_length(info.duration_secs);
    watch.start("quality_vad");
    let (audio, preprocessed, front) = preprocess_blocking(audio, job.language, progress).await?;
    let heard =
        transcribe_and_diarize(audio, front, job, &deps.stt, progress, &mut watch, kept).await?;
    let degraded = outcome::announce_degraded(&heard.diarization, progress);
    watch.start("measure");
    let speaking = measure::measure(&heard.diarization, info.duration_secs);
    let assessable = assessable(&heard, &speaking, job.language, info.duration_secs);
    let timings = watch.finish();
    let measurements = Measurements {
        info: &info,
        bytes: source.bytes,
        analysis_samples: heard.audio.mono.len(),
        dual_channel_kept: heard.audio.stereo.is_some(),
        preprocessed: &preprocessed,
        diarization: &heard.diarization,
        diarization_degraded: degraded.as_deref(),
        speaking: &speaking,
        transcript: heard.transcript.as_ref(),
    };
    let measured = Measured {
        language: job.language,
        segments: heard
            .transcript
            .as_ref()
            .map_or_else(Vec::new, |t| t.segments.clone()),
        assessable,
        metrics: outcome::metrics(&measurements),
        provenance: outcome::provenance(&measurements, &timings),
        audio_seconds: info.duration_secs,
        bytes: source.bytes,
    };
    let paid = stt_usage(heard.transcript.as_ref(), &timings);
    Ok(MeasuredRun {
        measured,
        timings,
        paid,
    })
}

/// The metrics the judgement works from, or why they are withheld.
fn assessable(
    heard: &Heard,
    speaking: &SpeakingMetrics,
    language: Language,
    duration_secs: f64,
) -> Assessable {
    let lexical = heard.transcript.as_ref().map(|t| conversation::Lexical {
        segments: &t.segments,
        metrics: &t.lexical,
        language,
    });
    match conversation::measured_metrics(
        &heard.diarization,
        speaking,
        lexical.as_ref(),
        duration_secs,
    ) {
        Ok(metrics) => Assessable::Metrics(metrics),
        Err(reason) => Assessable::Withheld(reason),
    }
}

async fn decode_blocking(
    source: &Source,
    limits: DecodeLimits,
) -> Result<(AnalysisAudio, AudioInfo), JobError> {
    let (path, extension) = (source.path.clone(), source.extension.clone());
    let (audio, info) =
        spawn_blocking_in_span(move || decode::decode_file(&path, extension.as_deref(), limits))
            .await
            .map_err(|err| JobError::from_join("decoder", &err))?
            .map_err(JobError::from)?;
    if info.truncated {
        tracing::warn!(
            decoded_secs = info.duration_secs,
            "the recording is truncated; analysing what it holds"
        );
    }
    Ok((audio, info))
}

async fn preprocess_blocking(
    mut audio: AnalysisAudio,
    language: Language,
    progress: &dyn ProgressSink,
) -> Result<(AnalysisAudio, Preprocessed, Arc<FrontEnd>), JobError> {
    let (audio, preprocessed) = spawn_blocking_in_span(move || {
        let measured = quality::preprocess(&mut audio);
        (audio, measured)
    })
    .await
    .map_err(|err| JobError::from_join("preprocessing", &err))?;
    let (preprocessed, front) =
        preprocessed.map_err(|err| Failure::Internal(format!("feature extraction: {err}")))?;
    if let Some(note) = quality::warning_note(&preprocessed.warnings, language) {
        let percent = Stage::Preprocessing.start_percent();
        progress.report(ProgressUpdate {
            stage: Stage::Preprocessing,
            percent,
            note: Some(note),
        });
    }
    Ok((audio, preprocessed, Arc::new(front)))
}
