//! OpenAI-compatible chat completions with `response_format: json_schema` (strict).
//!
//! The same client serves OpenAI and local servers that speak the protocol (Ollama,
//! vLLM, llama.cpp's server) through `base_url`; local servers usually need no key.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::llm::{
    Answer, LlmError, LlmProvider, LlmRequest, LlmResponse, TokenUsage, Written, send_streaming,
};

const PROVIDER: &str = "openai";
/// See [`ChatRequest::max_tokens`].
const MAX_ANSWER_TOKENS: u32 = 2048;

/// A chat-completions client bound to one model and endpoint.
#[derive(Debug)]
pub struct OpenAiChatClient {
    http: reqwest::Client,
    base_url: String,
    model: String,
    key: Option<SecretString>,
}

impl OpenAiChatClient {
    /// `base_url` ends before `/chat/completions`, e.g. `https://api.openai.com/v1` or
    /// `http://localhost:11434/v1`.
    ///
    /// # Errors
    /// When the TLS backend cannot be initialised.
    pub fn new(
        base_url: String,
        model: String,
        key: Option<SecretString>,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let http = super::llm::http_client(timeout)?;
        let base_url = base_url.trim_end_matches('/').to_owned();
        Ok(Self {
            http,
            base_url,
            model,
            key,
        })
    }

    async fn call(&self, req: &LlmRequest, written: Written<'_>) -> Result<LlmResponse, LlmError> {
        let mut request = self
            .http
            .post(format!("{}/chat/completions", self.base_url));
        if let Some(key) = &self.key {
            request = request.bearer_auth(key.expose_secret());
        }
        let request = request.json(&ChatRequest::new(&self.model, req));
        let answer = send_streaming(
            PROVIDER,
            request,
            "a chat completion",
            ChatChunk::text_len,
            written,
        )
        .await?;
        let parsed = match answer {
            Answer::Whole(whole) => whole,
            Answer::Chunks(chunks) => ChatResponse::from_chunks(chunks)?,
        };
        parsed.into_response(&self.model)
    }
}

impl LlmProvider for OpenAiChatClient {
    fn name(&self) -> &'static str {
        PROVIDER
    }
    fn model(&self) -> &str {
        &self.model
    }
    fn generate<'a>(
        &'a self,
        req: &'a LlmRequest,
        written: Written<'a>,
    ) -> BoxFuture<'a, Result<LlmResponse, LlmError>> {
        self.call(req, written).boxed()
    }
}

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: [Message<'a>; 2],
    response_format: ResponseFormat<'a>,
    temperature: f32,
    /// A cap on the answer: a judgement is 500 to 1,000 tokens (measured on the dev
    /// recordings), and a small local model can otherwise loop until its context is full
    /// (seen: 8 minutes, then `length`).
    max_tokens: u32,
    stream: bool,
    stream_options: StreamOptions,
}

#[derive(Serialize)]
struct StreamOptions {
    /// The last event then carries the token counts (OpenAI sends none otherwise).
    include_usage: bool,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Serialize)]
struct ResponseFormat<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    json_schema: JsonSchemaFormat<'a>,
}

#[derive(Serialize)]
struct JsonSchemaFormat<'a> {
    name: &'a str,
    strict: bool,
    schema: &'a Value,
}

impl<'a> ChatRequest<'a> {
    fn new(model: &'a str, req: &'a LlmRequest) -> Self {
        Self {
            model,
            messages: [
                Message {
                    role: "system",
                    content: &req.system,
                },
                Message {
                    role: "user",
                    content: &req.user,
                },
            ],
            response_format: ResponseFormat {
                kind: "json_schema",
                json_schema: JsonSchemaFormat {
                    name: &req.schema_name,
                    strict: true,
                    schema: &req.schema,
                },
            },
            temperature: req.temperature,
            max_tokens: MAX_ANSWER_TOKENS,
            stream: true,
            stream_options: StreamOptions {
                include_usage: true,
            },
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ChatResponse {
    model: Option<String>,
    choices: Vec<Choice>,
    usage: Option<Usage>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Choice {
    message: Option<ChoiceMessage>,
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ChoiceMessage {
    content: Option<String>,
    refusal: Option<String>,
}

/// One streamed event: a piece of the answer (`delta`), and at the end the finish reason and
/// (in a last event of its own) the usage.
#[derive(Deserialize, Default)]
#[serde(default)]
struct ChatChunk {
    model: Option<String>,
    choices: Vec<ChunkChoice>,
    usage: Option<Usage>,
    /// Some servers report a failure in mid-stream as an event of its own.
    error: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ChunkChoice {
    delta: Option<ChoiceMessage>,
    finish_reason: Option<String>,
}

impl ChatChunk {
    fn text_len(&self) -> usize {
        let delta = self.choices.first().and_then(|c| c.delta.as_ref());
        delta
            .and_then(|d| d.content.as_deref())
            .map_or(0, |t| t.chars().count())
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Usage {
    prompt_tokens: u64,
    completion_tokens: u64,
}

impl ChatResponse {
    /// The whole answer from its streamed pieces.
    fn from_chunks(chunks: Vec<ChatChunk>) -> Result<ChatResponse, LlmError> {
        let mut whole = ChatResponse::default();
        let mut message = ChoiceMessage::default();
        let mut finish_reason = None;
        for chunk in chunks {
            if let Some(error) = chunk.error {
                return Err(LlmError::Incomplete {
                    provider: PROVIDER,
                    reason: format!("the stream reported an error: {}", error_text(&error)),
                });
            }
            whole.model = whole.model.or(chunk.model);
            whole.usage = chunk.usage.or(whole.usage);
            for choice in chunk.choices {
                finish_reason = choice.finish_reason.or(finish_reason);
                if let Some(delta) = choice.delta {
                    append(&mut message.content, delta.content);
                    append(&mut message.refusal, delta.refusal);
                }
            }
        }
        whole.choices.push(Choice {
            message: Some(message),
            finish_reason,
        });
        Ok(whole)
    }

    fn into_response(self, configured_model: &str) -> Result<LlmResponse, LlmError> {
        let choice = self
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| LlmError::Protocol {
                provider: PROVIDER,
                reason: "no choices".to_owned(),
            })?;
        let message = choice.message.unwrap_or_default();
        if let Some(refusal) = message.refusal.filter(|r| !r.trim().is_empty()) {
            return Err(LlmError::Blocked {
                provider: PROVIDER,
                reason: format!("refusal: {refusal}"),
            });
        }
        match choice.finish_reason.as_deref() {
            Some("content_filter") => {
                return Err(LlmError::Blocked {
                    provider: PROVIDER,
                    reason: "finish_reason content_filter".to_owned(),
                });
            }
            Some("length") => {
                return Err(LlmError::Truncated {
                    provider: PROVIDER,
                    text: message.content.unwrap_or_default(),
                });
            }
            _ => {}
        }
        let text = message
            .content
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| LlmError::Incomplete {
                provider: PROVIDER,
                reason: "empty answer".to_owned(),
            })?;
        let usage = self.usage.map_or_else(TokenUsage::default, |u| TokenUsage {
            input_tokens: u.prompt_tokens,
            output_tokens: u.completion_tokens,
        });
        Ok(LlmResponse {
            text,
            usage,
            model: self.model.unwrap_or_else(|| configured_model.to_owned()),
        })
    }
}

fn append(into: &mut Option<String>, piece: Option<String>) {
    if let Some(piece) = piece {
        into.get_or_insert_with(String::new).push_str(&piece);
    }
}

fn error_text(error: &Value) -> String {
    error
        .get("message")
        .and_then(Value::as_str)
        .map_or_else(|| error.to_string(), str::to_owned)
}
