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
pub mod checkpoint;
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
pub mod usage;
pub mod vad;

use std::path::PathBuf;
use std::sync::Arc;

use uuid::Uuid;

use crate::clients::llm::LlmProvider;
use crate::config::{Settings, SttSettings};
use crate::error::{Failure, JobError, Origin};
use crate::pipeline::assess::{AssessInput, AssessOptions, Assessment, JudgementStatus, OnOutage};
use crate::pipeline::checkpoint::{Assessable, Checkpoints, Kept, Measured};
use crate::pipeline::decode::{AudioInfo, DecodeLimits};
use crate::pipeline::diarize::{Diarization, DiarizeOptions};
use crate::pipeline::outcome::{Judged, Measurements};
use crate::pipeline::progress::{ProgressSink, ProgressUpdate, Stage, WritingBar};
use crate::pipeline::quality::Preprocessed;
use crate::pipeline::stopwatch::{StageTiming, Stopwatch};
use crate::pipeline::types::{AnalysisAudio, Language, Span};
pub use crate::pipeline::usage::ProviderUsage;
use crate::pipeline::usage::{llm_usage, stt_usage};
use crate::storage::Storage;
use crate::store::results::{AnalysisReport, TranscriptRow};
use crate::telemetry::spawn_blocking_in_span;

/// What one job is asked to do.
#[derive(Clone, Debug)]
pub struct JobSpec {
    pub session_id: Uuid,
    pub audio_path: String,
    pub language: Language,
    /// Declared speaker count; `None` estimates it.
    pub num_speakers: Option<u8>,
}

/// What the stages need from the outside world.
pub struct Deps {
    pub storage: Storage,
    pub limits: DecodeLimits,
    pub stt: SttSettings,
    pub llm: Option<Arc<dyn LlmProvider>>,
    pub assess: AssessOptions,
}

impl Deps {
    /// The stages' dependencies as the settings configure them, around an open store.
    ///
    /// # Errors
    /// The configured LLM client cannot be built.
    pub fn new(storage: Storage, settings: &Settings) -> anyhow::Result<Deps> {
        Ok(Deps {
            storage,
            limits: DecodeLimits {
                max_duration_secs: settings.audio.max_duration_secs,
            },
            stt: settings.stt.clone(),
            llm: settings.llm.provider()?,
            assess: settings.llm.assess_options(),
        })
    }
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

/// Runs every stage on a stored recording, resuming from the measured part's checkpoint when
/// an earlier attempt got that far on the same inputs.
///
/// # Errors
/// [`JobError::Transient`] for outages worth retrying, [`JobError::Permanent`] otherwise.
pub async fn run(
    job: &JobSpec,
    deps: &Deps,
    progress: &dyn ProgressSink,
    checkpoints: &dyn Checkpoints,
    on_outage: OnOutage,
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
    let fingerprint = checkpoint::fingerprint(
        &job.audio_path,
        source.bytes,
        job.language,
        job.num_speakers,
        &deps.stt,
    );
    let kept = Kept {
        checkpoints,
        fingerprint: &fingerprint,
    };
    if let Some(measured) = kept.load::<Measured>(checkpoint::MEASURED).await {
        tracing::info!("resuming from the measured checkpoint of an earlier attempt");
        return judge(&measured, deps, progress, on_outage).await;
    }
    // `fetched` owns the temporary download: it lives until the measuring is done.
    let run = measure(&source, job, deps, progress, watch, kept).await;
    drop(fetched);
    let run = run?;
    kept.save(checkpoint::MEASURED, &run.measured).await;
    let outcome = judge(&run.measured, deps, progress, on_outage).await?;
    Ok(outcome.after(run.timings, run.paid))
}

/// Every stage on a local file: what `vibeinsight analyze FILE` runs. A provider outage
/// settles the judgement as unavailable rather than failing: there is no later attempt.
///
/// # Errors
/// As [`run`], for the measured part only.
pub async fn analyze_file(
    source: &Source,
    job: &JobSpec,
    deps: &Deps,
    progress: &dyn ProgressSink,
) -> Result<Outcome, JobError> {
    let run = measure(
        source,
        job,
        deps,
        progress,
        Stopwatch::default(),
        Kept::none(),
    )
    .await?;
    let outcome = judge(&run.measured, deps, progress, OnOutage::Settle).await?;
    Ok(outcome.after(run.timings, run.paid))
}

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
/// As [`run`].
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
        transcript::transcribe_raw(
            &deps.stt,
            &audio.mono,
            speech,
            &[],
            job.language,
            progress,
            kept,
        )
        .await?
    };
    watch.start("diarize");
    if !needs_turns {
        progress.report(ProgressUpdate::stage(Stage::Diarization));
    }
    let (audio, diarization) = match kept.load::<Diarization>(checkpoint::DIARIZATION).await {
        Some(diarization) => (audio, diarization),
        None => {
            let (audio, diarization) = diarize_blocking(audio, speech, job).await?;
            kept.save(checkpoint::DIARIZATION, &diarization).await;
            (audio, diarization)
        }
    };
    if needs_turns {
        raw = transcript::transcribe_raw(
            &deps.stt,
            &audio.mono,
            speech,
            &diarization.turns,
            job.language,
            progress,
            kept,
        )
        .await?;
        progress.report(ProgressUpdate::stage(Stage::Diarization));
    }
    let transcript =
        raw.map(|raw| transcript::finish(raw, speech, &diarization.turns, job.language));

    watch.start("measure");
    let speaking = measure::measure(&diarization, info.duration_secs);
    let lexical = transcript.as_ref().map(|t| conversation::Lexical {
        segments: &t.segments,
        metrics: &t.lexical,
        language: job.language,
    });
    let assessable = match conversation::measured_metrics(
        &diarization,
        &speaking,
        lexical.as_ref(),
        info.duration_secs,
    ) {
        Ok(metrics) => Assessable::Metrics(metrics),
        Err(reason) => Assessable::Withheld(reason),
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
    let measured = Measured {
        language: job.language,
        segments: transcript
            .as_ref()
            .map_or_else(Vec::new, |t| t.segments.clone()),
        assessable,
        metrics: outcome::metrics(&measurements),
        provenance: outcome::provenance(&measurements, &timings),
        audio_seconds: info.duration_secs,
        bytes: source.bytes,
    };
    let paid = stt_usage(transcript.as_ref(), &timings);
    Ok(MeasuredRun {
        measured,
        timings,
        paid,
    })
}

/// The judgement on measured work, and the result assembled from both: what a first
/// attempt, a resumed attempt and a re-judgement (`ops.reassess`) share.
///
/// # Errors
/// A transient provider outage under [`OnOutage::Retry`].
pub async fn judge(
    measured: &Measured,
    deps: &Deps,
    progress: &dyn ProgressSink,
    on_outage: OnOutage,
) -> Result<Outcome, JobError> {
    progress.recording_length(measured.audio_seconds);
    let mut watch = Stopwatch::default();
    watch.start("assess");
    progress.report(ProgressUpdate::stage(Stage::Analyzing));
    let assessment = match &measured.assessable {
        Assessable::Metrics(metrics) => {
            let bar = WritingBar::default();
            let written = |chars: usize| bar.written(chars, progress);
            let input = AssessInput {
                segments: &measured.segments,
                language: measured.language,
                metrics,
                on_outage,
                written: &written,
            };
            Some(assess_stage(deps, &input).await?)
        }
        Assessable::Withheld(_) => None,
    };
    Ok(finish(measured, assessment, watch.finish()))
}

/// The outcome with no judgement and why: the job's deadline passed during it on the last
/// attempt, and the measured part is saved rather than lost.
pub fn unjudged(measured: &Measured, status: JudgementStatus) -> Outcome {
    let assessment = match &measured.assessable {
        Assessable::Metrics(metrics) => Some(assess::without_judgement(
            &measured.segments,
            metrics,
            status,
            None,
        )),
        Assessable::Withheld(_) => None,
    };
    finish(measured, assessment, Vec::new())
}

fn finish(
    measured: &Measured,
    assessment: Option<Assessment>,
    timings: Vec<StageTiming>,
) -> Outcome {
    let judged = match (&assessment, &measured.assessable) {
        (Some(assessment), _) => Judged::Assessed(assessment),
        (None, Assessable::Withheld(reason)) => Judged::Withheld(reason),
        (None, Assessable::Metrics(_)) => Judged::Withheld("no assessment"),
    };
    let (report, transcript) = outcome::assemble(measured, judged, &timings);
    let provider_usage = llm_usage(assessment.as_ref(), &timings);
    Outcome {
        report,
        transcript,
        assessment,
        timings,
        audio_seconds: measured.audio_seconds,
        bytes: measured.bytes,
        provider_usage,
    }
}

impl Outcome {
    /// This outcome preceded by the measuring stages of the same attempt.
    fn after(mut self, mut timings: Vec<StageTiming>, mut paid: Vec<ProviderUsage>) -> Self {
        timings.append(&mut self.timings);
        paid.append(&mut self.provider_usage);
        self.timings = timings;
        self.provider_usage = paid;
        self
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
) -> Result<(AnalysisAudio, Preprocessed), JobError> {
    let (audio, preprocessed) = spawn_blocking_in_span(move || {
        let measured = quality::preprocess(&mut audio);
        (audio, measured)
    })
    .await
    .map_err(|err| JobError::from_join("preprocessing", &err))?;
    let preprocessed =
        preprocessed.map_err(|err| Failure::Internal(format!("feature extraction: {err}")))?;
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
        num_speakers: job.num_speakers.map(usize::from),
        ..DiarizeOptions::default()
    };
    let speech = speech.to_vec();
    let (audio, diarization) = spawn_blocking_in_span(move || {
        let diarization = diarize::diarize(&audio, Some(&speech), &options);
        (audio, diarization)
    })
    .await
    .map_err(|err| JobError::from_join("diarization", &err))?;
    let diarization =
        diarization.map_err(|err| Failure::Internal(format!("diarization: {err}")))?;
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
async fn assess_stage(deps: &Deps, input: &AssessInput<'_>) -> Result<Assessment, JobError> {
    assess::assess(deps.llm.as_deref(), input, &deps.assess)
        .await
        .map_err(|err| JobError::transient(Origin::Assessment, format!("assessment: {err}")))
}
