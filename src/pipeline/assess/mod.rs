//! The coaching assessment: LLM judgement grounded in the measurements.
//!
//! Flow: read the measured metrics ([`inputs`]) → role candidates from evidence ([`roles`])
//! → choose how the transcript fits the context ([`plan`]) → prompt ([`prompt`]) with a
//! declared schema ([`schema`]) → one call, validated ([`validate`]: quotes checked against
//! the cited segment, styles from the [`catalogue`], prescriptions tied to measured numbers),
//! one repair attempt ([`call`]) → final roles with the LLM's reading. With no provider the
//! judgement is explicitly [`JudgementStatus::NotProduced`]; nothing is ever defaulted.
//! [`measured`] builds the sections the LLM may not touch.

pub mod call;
pub mod catalogue;
pub mod inputs;
pub mod measured;
pub mod model;
pub mod plan;
pub mod prompt;
pub mod quote;
pub mod roles;
pub mod schema;
pub mod usage;
pub mod validate;

use serde::{Deserialize, Serialize};

pub use call::AssessError;
use inputs::MeasuredMetrics;
use model::Judgement;
use plan::ContextPlan;
use prompt::PromptContext;
use roles::RoleAssignment;
use usage::{PriceTable, Usage};

use crate::clients::llm::{LlmProvider, LlmRequest};
use crate::pipeline::types::{Language, TranscriptSegment};

/// What the stage reads.
pub struct AssessInput<'a> {
    pub segments: &'a [TranscriptSegment],
    pub language: Language,
    /// The measuring stage's JSON; see [`inputs`] for the keys read.
    pub metrics: &'a serde_json::Value,
}

/// Tunables (configuration `[llm]`).
#[derive(Clone, Debug)]
pub struct AssessOptions {
    /// Estimated tokens of transcript one call may carry before the session is split.
    pub transcript_budget_tokens: usize,
    pub prices: PriceTable,
}

impl Default for AssessOptions {
    fn default() -> Self {
        Self {
            transcript_budget_tokens: 200_000,
            prices: PriceTable::default(),
        }
    }
}

/// Whether the judgement sections exist.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum JudgementStatus {
    Produced { judgement: Box<Judgement> },
    NotProduced { reason: String },
}

/// The stage's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub prompt_version: String,
    pub metrics: MeasuredMetrics,
    pub roles: RoleAssignment,
    pub judgement: JudgementStatus,
    pub usage: Option<Usage>,
    /// `full`, or `parts:N` for a split long session.
    pub context_plan: String,
}

/// Runs the assessment; `provider: None` is the configured `none`.
///
/// # Errors
/// [`AssessError`]; [`AssessError::class`] says whether to retry the job.
#[tracing::instrument(skip_all, fields(segments = input.segments.len()), err)]
pub async fn assess(
    provider: Option<&dyn LlmProvider>,
    input: &AssessInput<'_>,
    opts: &AssessOptions,
) -> Result<Assessment, AssessError> {
    let metrics = MeasuredMetrics::from_json(input.metrics)
        .map_err(|e| AssessError::Metrics(e.to_string()))?;
    let candidates = roles::assign(&metrics, input.segments, None);
    let Some(provider) = provider else {
        let judgement = JudgementStatus::NotProduced {
            reason: "no LLM provider is configured".to_owned(),
        };
        return Ok(Assessment::new(
            metrics, candidates, judgement, None, "none",
        ));
    };
    if input.segments.is_empty() {
        let judgement = JudgementStatus::NotProduced {
            reason: "the transcript is empty".to_owned(),
        };
        return Ok(Assessment::new(
            metrics, candidates, judgement, None, "none",
        ));
    }
    let mut usage = Usage::new(provider.name(), provider.model());
    let (judgement, plan) = judge(provider, input, opts, &metrics, &candidates, &mut usage).await?;
    usage.price(&opts.prices);
    let roles = roles::assign(&metrics, input.segments, Some(judgement.llm_coach_speaker));
    Ok(Assessment::new(
        metrics,
        roles,
        JudgementStatus::Produced {
            judgement: Box::new(judgement),
        },
        Some(usage),
        &plan,
    ))
}

async fn judge(
    provider: &dyn LlmProvider,
    input: &AssessInput<'_>,
    opts: &AssessOptions,
    metrics: &MeasuredMetrics,
    candidates: &RoleAssignment,
    usage: &mut Usage,
) -> Result<(Judgement, String), AssessError> {
    let citable = metrics.citable();
    let ctx = PromptContext {
        language: input.language,
        duration_s: metrics.duration_s,
        roles: candidates,
        citable: &citable,
    };
    let (user, plan_name) = match plan::plan(input.segments, opts.transcript_budget_tokens) {
        ContextPlan::Full => (
            prompt::assessment_full(&ctx, input.segments),
            "full".to_owned(),
        ),
        ContextPlan::Parts(parts) => {
            let summaries =
                plan::summarise_parts(provider, input.segments, &parts, input.language, usage)
                    .await?;
            (
                prompt::assessment_from_parts(&ctx, &summaries, input.segments),
                format!("parts:{}", parts.len()),
            )
        }
    };
    let keys: Vec<String> = citable.keys().cloned().collect();
    let request = LlmRequest {
        system: prompt::system(input.language),
        user,
        schema_name: "coaching_assessment".to_owned(),
        schema: schema::judgement_schema(&candidates.speakers, &keys),
    };
    let ev = validate::Evidence {
        segments: input.segments,
        speakers: &candidates.speakers,
        citable: &citable,
    };
    let judgement = call::ask_validated(provider, &request, usage, |text| {
        validate::validate(text, &ev)
    })
    .await?;
    Ok((judgement, plan_name))
}

impl Assessment {
    fn new(
        metrics: MeasuredMetrics,
        roles: RoleAssignment,
        judgement: JudgementStatus,
        usage: Option<Usage>,
        plan: &str,
    ) -> Self {
        Self {
            prompt_version: prompt::PROMPT_VERSION.to_owned(),
            metrics,
            roles,
            judgement,
            usage,
            context_plan: plan.to_owned(),
        }
    }

    pub fn judgement(&self) -> Option<&Judgement> {
        match &self.judgement {
            JudgementStatus::Produced { judgement } => Some(judgement),
            JudgementStatus::NotProduced { .. } => None,
        }
    }
}
