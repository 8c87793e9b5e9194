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

use super::llm::{LlmError, LlmProvider, LlmRequest, LlmResponse, TokenUsage, send_json};

const PROVIDER: &str = "openai";

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
        let http = reqwest::Client::builder().timeout(timeout).build()?;
        let base_url = base_url.trim_end_matches('/').to_owned();
        Ok(Self {
            http,
            base_url,
            model,
            key,
        })
    }

    async fn call(&self, req: &LlmRequest) -> Result<LlmResponse, LlmError> {
        let mut request = self
            .http
            .post(format!("{}/chat/completions", self.base_url));
        if let Some(key) = &self.key {
            request = request.bearer_auth(key.expose_secret());
        }
        let request = request.json(&ChatRequest::new(&self.model, req));
        let parsed: ChatResponse = send_json(PROVIDER, request, "a chat completion").await?;
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
    fn generate<'a>(&'a self, req: &'a LlmRequest) -> BoxFuture<'a, Result<LlmResponse, LlmError>> {
        self.call(req).boxed()
    }
}

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: [Message<'a>; 2],
    response_format: ResponseFormat<'a>,
    temperature: f32,
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
            temperature: 0.2,
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

#[derive(Deserialize, Default)]
#[serde(default)]
struct Usage {
    prompt_tokens: u64,
    completion_tokens: u64,
}

impl ChatResponse {
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
                return Err(LlmError::Incomplete {
                    provider: PROVIDER,
                    reason: "finish_reason length".to_owned(),
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
