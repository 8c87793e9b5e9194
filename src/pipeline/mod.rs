//! The analysis pipeline: stages in order, each taking and returning plain data.
//!
//! fetch → decode (+ resample to 16 kHz, inside the decode stream) → quality + VAD
//! → transcribe and diarize (`hearing`) → align → measure (speaking, lexical, overlaps)
//! → assess (`judging`); the worker saves the outcome.
//!
//! Nothing here knows pgmq, tables or configuration files: dependencies come in as [`Deps`],
//! progress goes to a [`ProgressSink`] and the result comes back as an [`Outcome`], so the
//! daemon and a local CLI run share this code.

pub mod align;
pub mod assess;
pub mod checkpoint;
pub mod conversation;
pub mod decode;
pub mod diarize;
pub mod encode;
pub mod fetch;
pub mod hallucination;
mod hearing;
mod judging;
pub mod lexical;
pub mod measure;
mod measuring;
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
use crate::domain::Language;
use crate::error::JobError;
use crate::pipeline::assess::{AssessOptions, Assessment, OnOutage};
use crate::pipeline::checkpoint::{Assessable, Checkpoints, Kept, Measured};
use crate::pipeline::decode::DecodeLimits;
pub use crate::pipeline::judging::{judge, unjudged};
pub use crate::pipeline::measuring::{MeasuredRun, measure};
use crate::pipeline::outcome::Judged;
use crate::pipeline::progress::{ProgressSink, ProgressUpdate, Stage};
use crate::pipeline::stopwatch::{StageTiming, Stopwatch};
use crate::pipeline::transcript::Transcriber;
pub use crate::pipeline::usage::ProviderUsage;
use crate::storage::Storage;

/// What one job is asked to do.
#[derive(Clone, Debug)]
pub struct JobSpec {
    pub session_id: Uuid,
    pub audio_path: String,
    pub language: Language,
    /// Declared speaker count; `None` estimates it.
    pub num_speakers: Option<u8>,
}

/// What the stages need from the outside world, built once per process (`app` builds it
/// from the settings).
pub struct Deps {
    pub storage: Storage,
    pub limits: DecodeLimits,
    pub stt: Transcriber,
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

/// What a job produced: the measured part (its provenance including the judgement's
/// timings) and the judgement; `report::row` turns it into the stored rows and the report.
#[derive(Debug)]
pub struct Outcome {
    pub measured: Measured,
    /// `None` when the measurements were withheld.
    pub assessment: Option<Assessment>,
    pub timings: Vec<StageTiming>,
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
    let fingerprint = checkpoint::fingerprint(job, source.bytes, &deps.stt.identity());
    let kept = Kept {
        checkpoints,
        fingerprint: &fingerprint,
    };
    if let Some(measured) = kept.load::<Measured>(checkpoint::MEASURED).await {
        tracing::info!("resuming from the measured checkpoint of an earlier attempt");
        return judge(measured, deps, progress, on_outage).await;
    }
    // `fetched` owns the temporary download: it lives until the measuring is done.
    let run = measure(&source, job, deps, progress, watch, kept).await;
    drop(fetched);
    let run = run?;
    kept.save(checkpoint::MEASURED, &run.measured).await;
    let outcome = judge(run.measured, deps, progress, on_outage).await?;
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
    let watch = Stopwatch::default();
    let run = measure(source, job, deps, progress, watch, Kept::none()).await?;
    let outcome = judge(run.measured, deps, progress, OnOutage::Settle).await?;
    Ok(outcome.after(run.timings, run.paid))
}

impl Outcome {
    /// The judgement side: the assessment, or why there is none.
    pub fn judged(&self) -> Judged<'_> {
        match (&self.assessment, &self.measured.assessable) {
            (Some(assessment), _) => Judged::Assessed(assessment),
            (None, Assessable::Withheld(reason)) => Judged::Withheld(reason),
            (None, Assessable::Metrics(_)) => Judged::Withheld("no assessment"),
        }
    }
}
