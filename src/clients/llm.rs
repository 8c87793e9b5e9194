//! The provider-neutral face of a structured-output LLM call.
//!
//! Both clients (Gemini `generateContent`, OpenAI-compatible chat completions) take an
//! [`LlmRequest`] whose answer must follow a JSON schema, and return the raw JSON text plus
//! token usage. Errors are split into transient (retry the job later) and permanent (fail
//! the job), because that is the only distinction the worker's retry policy needs.
//!
//! Answers are streamed (server-sent events) so the progress row can move while the model
//! writes: a judgement takes seconds at a hosted API and minutes on a small local server.
//! A server that ignores the stream request and answers with one JSON body is read as such.

use futures::StreamExt;
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
    /// Its properties are written in the order the model should fill them (segment before
    /// quote, metric before value): constrained decoding follows it.
    pub schema: serde_json::Value,
    /// Low for the judgement (reproducible across retries), higher for a repair, which must
    /// not repeat the rejected answer word for word.
    pub temperature: f32,
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

pub use crate::retry::ErrorClass;

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
    /// The answer reached the output limit before it was complete: the model wrote too
    /// much (a small model may loop). `text` is what it wrote.
    #[error("{provider} cut the answer off at the output limit")]
    Truncated {
        provider: &'static str,
        text: String,
    },
    /// The answer was otherwise unusable as a whole (empty, stopped for another reason).
    #[error("{provider} returned an incomplete answer: {reason}")]
    Incomplete {
        provider: &'static str,
        reason: String,
    },
    /// Connection, timeout or body-read failure. reqwest's own message ("error sending
    /// request") says nothing an operator can act on; the causes below it do.
    #[error("{provider} request failed: {}", causes(source))]
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
            LlmError::Status { status, .. } => crate::retry::http_status(*status),
            LlmError::Blocked { .. } | LlmError::Incomplete { .. } | LlmError::Truncated { .. } => {
                ErrorClass::Transient
            }
            LlmError::Transport { .. } => ErrorClass::Transient,
            // A garbled envelope on a 2xx is most often a proxy or a half-deployed server.
            LlmError::Protocol { .. } => ErrorClass::Transient,
        }
    }
}

/// An error and its causes, outermost first.
fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut next = err.source();
    while let Some(cause) = next {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        next = cause.source();
    }
    text
}

/// The HTTP client of an LLM provider. Calls are long and minutes apart, so a kept-alive
/// connection saves nothing, and a server that closed it meanwhile (llama.cpp's does) makes
/// the next call fail with "connection closed before message completed": none are kept.
///
/// # Errors
/// When the TLS backend cannot be initialised.
pub(super) fn http_client(timeout: std::time::Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .pool_max_idle_per_host(0)
        .build()
}

/// How much of the answer has arrived, in characters; called as chunks arrive.
pub type Written<'a> = &'a (dyn Fn(usize) + Sync);

/// One answer as the server sent it: the JSON payloads of a server-sent event stream, in
/// order, or the one JSON body of a server that does not stream.
pub(super) enum Answer<Chunk, Whole> {
    Chunks(Vec<Chunk>),
    Whole(Whole),
}

/// Sends a streaming request and collects its events, parsing each `data:` payload as `C`
/// (a whole body as `W`) and reporting the running answer length (`text_of` measures one
/// chunk) to `written`.
pub(super) async fn send_streaming<C: DeserializeOwned, W: DeserializeOwned>(
    provider: &'static str,
    request: reqwest::RequestBuilder,
    what: &str,
    text_of: impl Fn(&C) -> usize,
    written: Written<'_>,
) -> Result<Answer<C, W>, LlmError> {
    let transport = |source| LlmError::Transport { provider, source };
    let response = request.send().await.map_err(transport)?;
    let is_stream = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if !is_stream || !response.status().is_success() {
        let status = response.status().as_u16();
        let body = response.text().await.map_err(transport)?;
        return whole_body(provider, status, &body, what).map(Answer::Whole);
    }
    let mut events = SseEvents::default();
    let mut chunks = Vec::new();
    let mut chars = 0;
    let mut body = response.bytes_stream();
    while let Some(bytes) = body.next().await {
        events.push(&bytes.map_err(transport)?);
        for payload in events.drain() {
            let chunk: C = serde_json::from_str(&payload).map_err(|e| LlmError::Protocol {
                provider,
                reason: format!("stream event is not {what}: {e}"),
            })?;
            chars += text_of(&chunk);
            written(chars);
            chunks.push(chunk);
        }
    }
    Ok(Answer::Chunks(chunks))
}

fn whole_body<T: DeserializeOwned>(
    provider: &'static str,
    status: u16,
    body: &str,
    what: &str,
) -> Result<T, LlmError> {
    if !(200..300).contains(&status) {
        let message = error_message(body);
        return Err(LlmError::Status {
            provider,
            status,
            message,
        });
    }
    serde_json::from_str(body).map_err(|e| LlmError::Protocol {
        provider,
        reason: format!("body is not {what}: {e}"),
    })
}

/// Splits a byte stream into server-sent events and yields their `data` payloads (the
/// `[DONE]` sentinel of OpenAI's protocol ends the stream and is not a payload).
#[derive(Default)]
struct SseEvents {
    pending: String,
    ready: Vec<String>,
    raw: Vec<u8>,
}

impl SseEvents {
    fn push(&mut self, bytes: &[u8]) {
        // A chunk may end inside a multi-byte character: keep the tail until it completes.
        self.raw.extend_from_slice(bytes);
        let valid = match std::str::from_utf8(&self.raw) {
            Ok(text) => text.len(),
            Err(e) => e.valid_up_to(),
        };
        let text: Vec<u8> = self.raw.drain(..valid).collect();
        self.pending
            .push_str(&String::from_utf8_lossy(&text).replace("\r\n", "\n"));
        while let Some(end) = self.pending.find("\n\n") {
            let event: String = self.pending.drain(..end + 2).collect();
            let data: Vec<&str> = event
                .lines()
                .filter_map(|line| line.strip_prefix("data:"))
                .map(str::trim_start)
                .collect();
            let payload = data.join("\n");
            if !payload.is_empty() && payload != "[DONE]" {
                self.ready.push(payload);
            }
        }
    }

    fn drain(&mut self) -> Vec<String> {
        std::mem::take(&mut self.ready)
    }
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
    /// Runs one request, reporting the answer's length to `written` as it arrives.
    ///
    /// # Errors
    /// [`LlmError`]; use [`LlmError::class`] to decide whether to retry.
    fn generate<'a>(
        &'a self,
        req: &'a LlmRequest,
        written: Written<'a>,
    ) -> BoxFuture<'a, Result<LlmResponse, LlmError>>;
}

#[cfg(test)]
mod tests {
    use super::SseEvents;

    #[test]
    fn events_are_split_on_blank_lines_whatever_the_chunking() {
        let stream = "data: {\"a\":\"こんにちは\"}\r\n\r\n: keep-alive\n\ndata: {\"b\":1}\n\ndata: [DONE]\n\n";
        let bytes = stream.as_bytes();
        for cut in 1..bytes.len() {
            let mut events = SseEvents::default();
            events.push(&bytes[..cut]);
            let mut got = events.drain();
            events.push(&bytes[cut..]);
            got.extend(events.drain());
            assert_eq!(
                got,
                ["{\"a\":\"こんにちは\"}", "{\"b\":1}"],
                "cut at byte {cut}"
            );
        }
    }
}
