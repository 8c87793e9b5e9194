//! The provider-neutral face of a structured-output LLM call.
//!
//! Both clients (Gemini `generateContent`, OpenAI-compatible chat completions) take an
//! [`LlmRequest`] whose answer must follow a JSON schema, and return the raw JSON text plus
//! token usage. Errors are split into transient (retry the job later) and permanent (fail
//! the job), because that is the only distinction the worker's retry policy needs.

use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// One structured-output request: the answer must be JSON matching `schema`.
#[derive(Clone, Debug)]
pub struct LlmRequest {
    pub system: String,
    pub user: String,
    /// Short identifier, required by OpenAI's `json_schema.name` (`[a-zA-Z0-9_-]`).
    pub schema_name: String,
    pub schema: serde_json::Value,
}

/// Token counts as reported by the provider for one call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// The provider's answer: the JSON text (not yet parsed) and what it cost.
#[derive(Clone, Debug)]
pub struct LlmResponse {
    pub text: String,
    pub usage: TokenUsage,
    /// The model that answered, as the provider names it (may differ from the configured alias).
    pub model: String,
}

/// Whether an error is worth retrying later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    Transient,
    Permanent,
}

/// Failures of one LLM call. [`LlmError::class`] tells the retry policy what to do.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// HTTP status from the provider; the body is kept as text because it may not be JSON.
    #[error("{provider} returned HTTP {status}: {message}")]
    Status {
        provider: &'static str,
        status: u16,
        message: String,
    },
    /// The provider refused to answer for safety reasons; another attempt may pass.
    #[error("{provider} blocked the response: {reason}")]
    Blocked {
        provider: &'static str,
        reason: String,
    },
    /// The answer stopped early (token limit) or was otherwise unusable as a whole.
    #[error("{provider} returned an incomplete answer: {reason}")]
    Incomplete {
        provider: &'static str,
        reason: String,
    },
    /// Connection, timeout or body-read failure.
    #[error("{provider} request failed: {source}")]
    Transport {
        provider: &'static str,
        #[source]
        source: reqwest::Error,
    },
    /// A 2xx response whose envelope does not have the documented shape.
    #[error("{provider} returned an unexpected response: {reason}")]
    Protocol {
        provider: &'static str,
        reason: String,
    },
}

impl LlmError {
    /// Transient: rate limits, server errors, timeouts, safety blocks, truncated output.
    /// Permanent: bad request, auth, unknown model — retrying cannot help.
    pub fn class(&self) -> ErrorClass {
        match self {
            LlmError::Status { status, .. } => status_class(*status),
            LlmError::Blocked { .. } | LlmError::Incomplete { .. } => ErrorClass::Transient,
            LlmError::Transport { .. } => ErrorClass::Transient,
            // A garbled envelope on a 2xx is most often a proxy or a half-deployed server.
            LlmError::Protocol { .. } => ErrorClass::Transient,
        }
    }
}

/// Maps an HTTP status to the retry class shared by both providers.
pub fn status_class(status: u16) -> ErrorClass {
    match status {
        408 | 409 | 425 | 429 => ErrorClass::Transient,
        500..=599 => ErrorClass::Transient,
        _ => ErrorClass::Permanent,
    }
}

/// Sends one request and parses a 2xx body as `T` (`what` names it in the error); the
/// status and envelope handling both providers share.
pub(super) async fn send_json<T: DeserializeOwned>(
    provider: &'static str,
    request: reqwest::RequestBuilder,
    what: &str,
) -> Result<T, LlmError> {
    let transport = |source| LlmError::Transport { provider, source };
    let response = request.send().await.map_err(transport)?;
    let status = response.status().as_u16();
    let body = response.text().await.map_err(transport)?;
    if !(200..300).contains(&status) {
        let message = error_message(&body);
        return Err(LlmError::Status {
            provider,
            status,
            message,
        });
    }
    serde_json::from_str(&body).map_err(|e| LlmError::Protocol {
        provider,
        reason: format!("body is not {what}: {e}"),
    })
}

/// Pulls a readable message out of an error body without assuming it is JSON.
pub fn error_message(body: &str) -> String {
    let from_json = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            let err = v.get("error")?;
            let msg = err
                .get("message")
                .and_then(|m| m.as_str())
                .or_else(|| err.as_str())?;
            let status = err.get("status").and_then(|s| s.as_str());
            Some(match status {
                Some(s) => format!("{s}: {msg}"),
                None => msg.to_owned(),
            })
        });
    from_json.unwrap_or_else(|| truncate(body.trim(), 300))
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None if text.is_empty() => "(empty body)".to_owned(),
        None => text.to_owned(),
    }
}

/// A structured-output LLM. Boxed futures keep the trait object-safe, so the provider
/// can be chosen at run time from configuration.
pub trait LlmProvider: Send + Sync {
    /// Short provider name for provenance (`gemini`, `openai`).
    fn name(&self) -> &'static str;
    /// The configured model identifier.
    fn model(&self) -> &str;
    /// Runs one request.
    ///
    /// # Errors
    /// [`LlmError`]; use [`LlmError::class`] to decide whether to retry.
    fn generate<'a>(&'a self, req: &'a LlmRequest) -> BoxFuture<'a, Result<LlmResponse, LlmError>>;
}
