//! The judgement on measured work (the LLM's assessment, or why there is none) and the
//! outcome assembled from both: what a first attempt, a resumed attempt and a re-judgement
//! (`ops.reassess`) share.

use crate::error::{JobError, Origin};
use crate::pipeline::assess::{self, AssessInput, Assessment, JudgementStatus, OnOutage};
use crate::pipeline::checkpoint::{Assessable, Measured};
use crate::pipeline::progress::{ProgressSink, ProgressUpdate, Stage, WritingBar};
use crate::pipeline::stopwatch::{StageTiming, Stopwatch};
use crate::pipeline::usage::{ProviderUsage, llm_usage};
use crate::pipeline::{Deps, Outcome};

/// The judgement on measured work, and the result assembled from both.
///
/// # Errors
/// A transient provider outage under [`OnOutage::Retry`].
pub async fn judge(
    measured: Measured,
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
pub fn unjudged(measured: Measured, status: JudgementStatus) -> Outcome {
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
    mut measured: Measured,
    assessment: Option<Assessment>,
    timings: Vec<StageTiming>,
) -> Outcome {
    if let Some(all) = measured.provenance["timings"].as_array_mut() {
        all.extend(timings.iter().map(|t| serde_json::json!(t)));
    }
    let provider_usage = llm_usage(assessment.as_ref(), &timings);
    Outcome {
        measured,
        assessment,
        timings,
        provider_usage,
    }
}

impl Outcome {
    /// This outcome preceded by the measuring stages of the same attempt.
    pub(super) fn after(
        mut self,
        mut timings: Vec<StageTiming>,
        mut paid: Vec<ProviderUsage>,
    ) -> Self {
        timings.append(&mut self.timings);
        paid.append(&mut self.provider_usage);
        self.timings = timings;
        self.provider_usage = paid;
        self
    }
}

/// The LLM's judgement (or, with provider `none`, the measured sections and roles only).
async fn assess_stage(deps: &Deps, input: &AssessInput<'_>) -> Result<Assessment, JobError> {
    assess::assess(deps.llm.as_deref(), input, &deps.assess)
        .await
        .map_err(|err| JobError::transient(Origin::Assessment, format!("assessment: {err}")))
}
