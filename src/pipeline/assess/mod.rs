//! The coaching assessment: LLM judgement grounded in the measurements.
//!
//! Flow: the measured metrics ([`inputs`]) → role candidates from evidence ([`roles`])
//! → choose how the transcript fits the context ([`plan`]) → prompt ([`prompt`]) with a
//! schema built for this session ([`schema`]) → one call, validated ([`validate`]: quotes
//! checked against the cited segment, styles from the [`catalogue`], prescriptions tied to
//! measured numbers), one repair attempt ([`call`]) → final roles with the LLM's reading.
//!
//! The judgement is the last and optional part of a session: it never takes the measured
//! part down with it. Its [`JudgementStatus`] says what happened: produced, not produced (no
//! provider), invalid (the answer failed validation twice: the reasons), or unavailable (the
//! provider could not be reached: the last error). Nothing is ever defaulted.
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
use schema::Citable;
use usage::{PriceTable, Usage};

use crate::clients::llm::{ErrorClass, LlmProvider, LlmRequest, Written};
use crate::domain::{Language, TranscriptSegment};

/// What the stage reads, and how it reports.
pub struct AssessInput<'a> {
    pub segments: &'a [TranscriptSegment],
    pub language: Language,
    pub metrics: &'a MeasuredMetrics,
    pub on_outage: OnOutage,
    /// Characters of the current answer received so far (for progress).
    pub written: Written<'a>,
}

/// What a transient provider failure (429, 5xx, timeout) does to the assessment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnOutage {
    /// Return the error: the job will try again later (attempts remain).
    Retry,
    /// Settle: the judgement is `unavailable` with the error (the last attempt, or a local run).
    Settle,
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

/// Whether the judgement sections exist, and if not, why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum JudgementStatus {
    Produced {
        judgement: Box<Judgement>,
    },
    /// No provider is configured, or there is nothing to judge.
    NotProduced {
        reason: String,
    },
    /// The model's answer failed validation, also after the repair attempt.
    Invalid {
        reasons: Vec<String>,
    },
    /// The provider could not be reached or refused the request: the last error.
    Unavailable {
        reason: String,
    },
}

impl JudgementStatus {
    /// The stable name stored in `provenance.judgement.status`.
    pub fn name(&self) -> &'static str {
        match self {
            JudgementStatus::Produced { .. } => "produced",
            JudgementStatus::NotProduced { .. } => "not_produced",
            JudgementStatus::Invalid { .. } => "invalid",
            JudgementStatus::Unavailable { .. } => "unavailable",
        }
    }

    /// Why there is no judgement, in one line; `None` when it was produced.
    pub fn reason(&self) -> Option<String> {
        match self {
            JudgementStatus::Produced { .. } => None,
            JudgementStatus::NotProduced { reason } | JudgementStatus::Unavailable { reason } => {
                Some(reason.clone())
            }
            JudgementStatus::Invalid { reasons } => Some(format!(
                "the model's answer failed validation after one repair attempt ({} problems)",
                reasons.len()
            )),
        }
    }
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
/// Only a transient provider failure under [`OnOutage::Retry`]; every other outcome is an
/// [`Assessment`] whose [`JudgementStatus`] says what happened.
#[tracing::instrument(skip_all, fields(segments = input.segments.len()), err)]
pub async fn assess(
    provider: Option<&dyn LlmProvider>,
    input: &AssessInput<'_>,
    opts: &AssessOptions,
) -> Result<Assessment, AssessError> {
    let metrics = input.metrics.clone();
    let candidates = roles::assign(&metrics, input.segments, None);
    // Unjudged outcomes keep the roles the evidence alone gave (computed once, above).
    let unjudged =
        |status, usage| Assessment::new(metrics.clone(), candidates.clone(), status, usage, "none");
    let Some(provider) = provider else {
        let reason = "no LLM provider is configured".to_owned();
        return Ok(unjudged(JudgementStatus::NotProduced { reason }, None));
    };
    if input.segments.is_empty() {
        let reason = "the transcript is empty".to_owned();
        return Ok(unjudged(JudgementStatus::NotProduced { reason }, None));
    }
    let mut usage = Usage::new(provider.name(), provider.model());
    let judged = judge(provider, input, opts, &metrics, &candidates, &mut usage).await;
    usage.price(&opts.prices);
    let (judgement, plan) = match judged {
        Ok(judged) => judged,
        Err(AssessError::InvalidOutput { errors }) => {
            let status = JudgementStatus::Invalid { reasons: errors };
            return Ok(unjudged(status, Some(usage)));
        }
        Err(AssessError::Llm(err))
            if err.class() == ErrorClass::Permanent || input.on_outage == OnOutage::Settle =>
        {
            let status = JudgementStatus::Unavailable {
                reason: err.to_string(),
            };
            return Ok(unjudged(status, Some(usage)));
        }
        Err(err) => return Err(err),
    };
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

/// The measured sections and the roles the evidence alone gives, with no judgement and why.
pub fn without_judgement(
    segments: &[TranscriptSegment],
    metrics: &MeasuredMetrics,
    status: JudgementStatus,
    usage: Option<Usage>,
) -> Assessment {
    let roles = roles::assign(metrics, segments, None);
    Assessment::new(metrics.clone(), roles, status, usage, "none")
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
    let all_segments = Citable::Range(1..=input.segments.len());
    let (user, plan_name, cited) = match plan::plan(input.segments, opts.transcript_budget_tokens) {
        ContextPlan::Full => (
            prompt::assessment_full(&ctx, input.segments),
            "full".to_owned(),
            all_segments,
        ),
        ContextPlan::Parts(parts) => {
            let summaries = plan::summarise_parts(
                provider,
                input.segments,
                &parts,
                input.language,
                usage,
                input.written,
            )
            .await?;
            let shown: Vec<usize> = summaries.iter().flat_map(|s| s.moments.clone()).collect();
            let cited = if shown.is_empty() {
                all_segments
            } else {
                Citable::Listed(shown)
            };
            (
                prompt::assessment_from_parts(&ctx, &summaries, input.segments),
                format!("parts:{}", parts.len()),
                cited,
            )
        }
    };
    let request = LlmRequest {
        system: prompt::system(input.language),
        user,
        schema_name: "coaching_assessment".to_owned(),
        schema: schema::judgement_schema(&candidates.speakers, &cited, &citable),
        temperature: call::TEMPERATURE,
    };
    let ev = validate::Evidence {
        segments: input.segments,
        speakers: &candidates.speakers,
        citable: &citable,
    };
    let judgement = call::ask_validated(
        provider,
        &request,
        usage,
        |text| validate::validate(text, &ev),
        input.written,
    )
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
            _ => None,
        }
    }
}
