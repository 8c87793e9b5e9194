//! One structured call with validation and a single repair attempt.
//!
//! The repair request repeats the original prompt, shows the previous answer and lists the
//! validation errors. If the second answer still fails, the judgement is `invalid` with
//! those errors (another attempt would pay for the same mistakes again). Never a default.

use super::usage::Usage;
use crate::clients::llm::{LlmError, LlmProvider, LlmRequest, Written};

/// Sampling temperature of a first answer: low, so a retried job judges alike.
pub const TEMPERATURE: f32 = 0.2;
/// Of the repair: at 0.2 the local models answered the repair request with the rejected
/// answer word for word (4 of 5 times for the 1.5B model, 8 of 9 for the 0.5B).
const REPAIR_TEMPERATURE: f32 = 0.7;

/// Why the assessment could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum AssessError {
    #[error("LLM call failed: {0}")]
    Llm(#[from] LlmError),
    #[error("the LLM's answer failed validation after one repair attempt: {}", .errors.join("; "))]
    InvalidOutput { errors: Vec<String> },
}

/// Calls the provider and validates; on invalid output, one repair call.
///
/// # Errors
/// Provider errors as they come; [`AssessError::InvalidOutput`] when both answers fail.
pub async fn ask_validated<T>(
    provider: &dyn LlmProvider,
    request: &LlmRequest,
    usage: &mut Usage,
    validate: impl Fn(&str) -> Result<T, Vec<String>>,
    written: Written<'_>,
) -> Result<T, AssessError> {
    let (previous, errors) = match answer(provider, request, usage, written).await? {
        Ok(text) => match validate(&text) {
            Ok(v) => return Ok(v),
            Err(errors) => (text, errors),
        },
        Err(partial) => (partial, vec![CUT_OFF.to_owned()]),
    };
    tracing::warn!(
        errors = errors.len(),
        "LLM answer failed validation; asking for a repair"
    );
    let repair = repair_request(request, &previous, &errors);
    let errors = match answer(provider, &repair, usage, written).await? {
        Ok(text) => match validate(&text) {
            Ok(v) => return Ok(v),
            Err(errors) => errors,
        },
        Err(_) => vec![CUT_OFF.to_owned()],
    };
    Err(AssessError::InvalidOutput { errors })
}

/// What the validator says of an answer cut off at the output limit.
const CUT_OFF: &str =
    "the answer was cut off at the output limit before it was complete; keep every text short";

/// One call's text, or, when the model wrote until the output limit, what it wrote: an
/// unusable answer from a reachable model, repaired and judged like one that fails
/// validation (the provider is not "unavailable").
async fn answer(
    provider: &dyn LlmProvider,
    request: &LlmRequest,
    usage: &mut Usage,
    written: Written<'_>,
) -> Result<Result<String, String>, AssessError> {
    match provider.generate(request, written).await {
        Ok(response) => {
            usage.add(response.usage);
            usage.model = response.model;
            Ok(Ok(response.text))
        }
        Err(LlmError::Truncated { text, .. }) => Ok(Err(text)),
        Err(err) => Err(err.into()),
    }
}

fn repair_request(original: &LlmRequest, previous: &str, errors: &[String]) -> LlmRequest {
    let mut user = original.user.clone();
    user.push_str("\n\n## Your previous answer\n");
    user.push_str(previous);
    user.push_str("\n\n## Problems found in it\n");
    for e in errors {
        user.push_str("- ");
        user.push_str(e);
        user.push('\n');
    }
    user.push_str("\nReturn the complete corrected answer as JSON following the schema.\n");
    LlmRequest {
        user,
        temperature: REPAIR_TEMPERATURE,
        ..original.clone()
    }
}
