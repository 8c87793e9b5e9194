//! The analysis pipeline: stages in order, each taking and returning plain data.
//!
//! fetch → decode (+ resample to 16 kHz, inside the decode stream) → quality + VAD
//! → transcribe ⇄ diarize → align → measure (speaking, lexical, overlaps) → assess
//!
//! Later stages (VAD, diarization, transcription, measurement, assessment) slot in after
//! decode. Nothing here knows pgmq or tables: progress goes to a [`ProgressSink`] and the
//! result comes back as an [`Outcome`], so the daemon and a local CLI run share this code.

pub mod align;
pub mod assess;
pub mod conversation;
pub mod decode;
pub mod diarize;
pub mod encode;
pub mod fetch;
pub mod hallucination;
pub mod lexical;
pub mod measure;
pub mod outcome;
pub mod progress;
pub mod quality;
pub mod resample;
pub mod samples;
pub mod stopwatch;
pub mod transcribe;
pub mod transcript;
pub mod types;
pub mod vad;

use std::path::PathBuf;
use std::sync::Arc;

use uuid::Uuid;

use crate::clients::llm::ErrorClass;
use crate::clients::llm::LlmProvider;
use crate::config::SttSettings;
use crate::error::{Failure, JobError};
use crate::pipeline::assess::{AssessInput, AssessOptions, Assessment};
use crate::pipeline::decode::{AudioInfo, DecodeLimits};
use crate::pipeline::diarize::{Diarization, DiarizeOptions};
use crate::pipeline::outcome::{Judged, Measurements};
use crate::pipeline::progress::{ProgressSink, ProgressUpdate, Stage};
use crate::pipeline::quality::Preprocessed;
use crate::pipeline::stopwatch::{StageTiming, Stopwatch};
use crate::pipeline::transcript::Transcript;
use crate::pipeline::types::{AnalysisAudio, Language, Span};
use crate::storage::Storage;
use crate::store::results::{AnalysisReport, TranscriptRow};
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
    pub stt: SttSettings,
    pub llm: Option<Arc<dyn LlmProvider>>,
    pub assess: AssessOptions,
}

/// A recording on local disk.
#[derive(Clone, Debug)]
pub struct Source {
    pub path: PathBuf,
    pub extension: Option<String>,
    pub bytes: u64,
}

#[derive(Debug)]
pub struct Outcome {
    pub report: AnalysisReport,
    pub transcript: Vec<TranscriptRow>,
    /// For rendering `report.html`; `None` when the measurements were withheld.
    pub assessment: Option<Assessment>,
    pub timings: Vec<StageTiming>,
    pub audio_seconds: f64,
    pub bytes: u64,
    /// What each provider was asked, for metrics.
    pub provider_usage: Vec<ProviderUsage>,
}

/// One provider's share of a job.
#[derive(Clone, Debug)]
pub struct ProviderUsage {
    pub provider: String,
    pub model: String,
    pub requests: u32,
    /// Wall time of the stage that called it.
    pub seconds: f64,
    pub cost_usd: Option<f64>,
}

fn provider_usage(
    transcript: Option<&Transcript>,
    assessment: Option<&Assessment>,
    timings: &[StageTiming],
) -> Vec<ProviderUsage> {
    let seconds = |stage: &str| {
        timings
            .iter()
            .filter(|t| t.stage == stage)
            .map(|t| t.seconds)
            .sum()
    };
    let stt = transcript
        .into_iter()
        .flat_map(|t| &t.summary.usage.models)
        .map(|(model, usage)| ProviderUsage {
            provider: "openai_stt".to_owned(),
            model: model.clone(),
            requests: usage.requests,
            seconds: seconds("transcribe"),
            cost_usd: usage.cost_usd,
        });
    let llm = assessment
        .and_then(|a| a.usage.as_ref())
        .map(|usage| ProviderUsage {
            provider: usage.provider.clone(),
            model: usage.model.clone(),
            requests: usage.calls,
            seconds: seconds("assess"),
            cost_usd: usage.cost_usd,
        });
    stt.chain(llm).collect()
}

/// Runs every stage on a stored recording.
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
    let (audio, info) = decode_blocking(source, deps.limits).await?;
    watch.start("quality_vad");
    let (audio, preprocessed) = preprocess_blocking(audio, job.language, progress).await?;
    let speech = &preprocessed.speech;

    // Timestamped models transcribe before diarization; text-only ones need its turns first.
    let transcribing = deps.stt.client_config().is_some();
    let needs_turns = transcript::needs_turns(&deps.stt);
    watch.start("transcribe");
    if transcribing {
        progress.report(ProgressUpdate::stage(Stage::Transcribing));
    }
    let mut raw = if needs_turns {
        None
    } else {
        transcript::transcribe_raw(&deps.stt, &audio.mono, speech, &[], job.language, progress)
            .await?
    };
    watch.start("diarize");
    if !needs_turns {
        progress.report(ProgressUpdate::stage(Stage::Diarization));
    }
    let (audio, diarization) = diarize_blocking(audio, speech, job).await?;
    if needs_turns {
        raw = transcript::transcribe_raw(
            &deps.stt,
            &audio.mono,
            speech,
            &diarization.turns,
            job.language,
            progress,
        )
        .await?;
        progress.report(ProgressUpdate::stage(Stage::Diarization));
    }
    let transcript =
        raw.map(|raw| transcript::finish(raw, speech, &diarization.turns, job.language));

    watch.start("assess");
    progress.report(ProgressUpdate::stage(Stage::Analyzing));
    let speaking = measure::measure(&diarization, info.duration_secs);
    let lexical = transcript.as_ref().map(|t| conversation::Lexical {
        segments: &t.segments,
        metrics: &t.lexical,
        language: job.language,
    });
    let measured = conversation::measured_metrics(
        &diarization,
        &speaking,
        lexical.as_ref(),
        info.duration_secs,
    );
    let assessment = match &measured {
        Ok(measured) => Some(assess_stage(deps, job, transcript.as_ref(), measured).await?),
        Err(_) => None,
    };
    let timings = watch.finish();
    let measurements = Measurements {
        info: &info,
        bytes: source.bytes,
        analysis_samples: audio.mono.len(),
        dual_channel_kept: audio.stereo.is_some(),
        preprocessed: &preprocessed,
        diarization: &diarization,
        speaking: &speaking,
        transcript: transcript.as_ref(),
    };
    let judged = match (&assessment, &measured) {
        (Some(assessment), _) => Judged::Assessed(assessment),
        (None, Err(reason)) => Judged::Withheld(reason),
        (None, Ok(_)) => Judged::Withheld("no assessment"),
    };
    let (report, rows) = outcome::assemble(&measurements, judged, job.language, &timings);
    let provider_usage = provider_usage(transcript.as_ref(), assessment.as_ref(), &timings);
    Ok(Outcome {
        report,
        transcript: rows,
        assessment,
        timings,
        audio_seconds: info.duration_secs,
        bytes: source.bytes,
        provider_usage,
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
) -> Result<(AnalysisAudio, Preprocessed), JobError> {
    let (audio, preprocessed) = spawn_blocking_in_span(move || {
        let measured = quality::preprocess(&mut audio);
        (audio, measured)
    })
    .await
    .map_err(|err| JobError::transient(format!("preprocessing task failed: {err}")))?;
    let preprocessed =
        preprocessed.map_err(|err| JobError::transient(format!("feature extraction: {err}")))?;
    if let Some(note) = quality::warning_note(&preprocessed.warnings, language) {
        let percent = Stage::Preprocessing.start_percent();
        progress.report(ProgressUpdate {
            stage: Stage::Preprocessing,
            percent,
            note: Some(note),
        });
    }
    Ok((audio, preprocessed))
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

/// The LLM's judgement (or, with provider `none`, the measured sections and roles only).
async fn assess_stage(
    deps: &Deps,
    job: &JobSpec,
    transcript: Option<&Transcript>,
    measured: &assess::inputs::MeasuredMetrics,
) -> Result<Assessment, JobError> {
    let metrics =
        serde_json::to_value(measured).map_err(|err| JobError::transient(err.to_string()))?;
    let input = AssessInput {
        segments: transcript.map_or(&[], |t| &t.segments),
        language: job.language,
        metrics: &metrics,
    };
    assess::assess(deps.llm.as_deref(), &input, &deps.assess)
        .await
        .map_err(|err| match err.class() {
            ErrorClass::Transient => JobError::transient(format!("assessment: {err}")),
            ErrorClass::Permanent => Failure::Assessment(err.to_string()).into(),
        })
}
