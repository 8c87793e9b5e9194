//! Gemini `generateContent` with a declared JSON schema (`responseJsonSchema`).
//!
//! The answer streams (`streamGenerateContent?alt=sse`): each event is a partial
//! `GenerateContentResponse` whose text parts continue the answer; the last carries the
//! finish reason and the final usage.
//!
//! The key travels in the `x-goog-api-key` header, never in the URL, so it cannot leak
//! through reqwest's error messages (which print the URL) or access logs.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::llm::{
    Answer, LlmError, LlmProvider, LlmRequest, LlmResponse, TokenUsage, Written, send_streaming,
};

const PROVIDER: &str = "gemini";
pub const DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com/v1beta";

/// A Gemini API client bound to one model.
#[derive(Debug)]
pub struct GeminiClient {
    http: reqwest::Client,
    base_url: String,
    model: String,
    key: SecretString,
}

impl GeminiClient {
    /// # Errors
    /// When the TLS backend cannot be initialised.
    pub fn new(model: String, key: SecretString, timeout: Duration) -> anyhow::Result<Self> {
        let http = super::llm::http_client(timeout)?;
        Ok(Self {
            http,
            base_url: DEFAULT_BASE_URL.to_owned(),
            model,
            key,
        })
    }

    /// Points the client elsewhere (tests, regional endpoints); `.../v1beta` without a slash.
    pub fn with_base_url(mut self, base_url: &str) -> Self {
        self.base_url = base_url.trim_end_matches('/').to_owned();
        self
    }

    fn endpoint(&self) -> String {
        format!(
            "{}/models/{}:streamGenerateContent?alt=sse",
            self.base_url, self.model
        )
    }

    async fn call(&self, req: &LlmRequest, written: Written<'_>) -> Result<LlmResponse, LlmError> {
        let request = self
            .http
            .post(self.endpoint())
            .header("x-goog-api-key", self.key.expose_secret())
            .json(&GenerateRequest::new(req));
        let answer = send_streaming(
            PROVIDER,
            request,
            "a GenerateContentResponse",
            GenerateResponse::text_len,
            written,
        )
        .await?;
        let parsed = match answer {
            Answer::Whole(whole) => whole,
            Answer::Chunks(chunks) => GenerateResponse::from_chunks(chunks),
        };
        parsed.into_response(&self.model)
    }
}

impl LlmProvider for GeminiClient {
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
#[serde(rename_all = "camelCase")]
struct GenerateRequest<'a> {
    system_instruction: Content<'a>,
    contents: [Content<'a>; 1],
    generation_config: GenerationConfig<'a>,
}

#[derive(Serialize)]
struct Content<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    parts: [Part<'a>; 1],
}

#[derive(Serialize)]
struct Part<'a> {
    text: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GenerationConfig<'a> {
    response_mime_type: &'static str,
    response_json_schema: &'a Value,
    // The request's: low for a judgement, higher for a repair (see `assess::call`).
    temperature: f32,
}

impl<'a> GenerateRequest<'a> {
    fn new(req: &'a LlmRequest) -> Self {
        Self {
            system_instruction: Content {
                role: None,
                parts: [Part { text: &req.system }],
            },
            contents: [Content {
                role: Some("user"),
                parts: [Part { text: &req.user }],
            }],
            generation_config: GenerationConfig {
                response_mime_type: "application/json",
                response_json_schema: &req.schema,
                temperature: req.temperature,
            },
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct GenerateResponse {
    candidates: Vec<Candidate>,
    prompt_feedback: Option<PromptFeedback>,
    usage_metadata: Option<UsageMetadata>,
    model_version: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Candidate {
    content: Option<CandidateContent>,
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CandidateContent {
    parts: Vec<CandidatePart>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CandidatePart {
    text: Option<String>,
    // Thinking models may return thought summaries; they are not the answer.
    thought: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct PromptFeedback {
    block_reason: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct UsageMetadata {
    prompt_token_count: u64,
    candidates_token_count: u64,
    thoughts_token_count: u64,
}

/// Finish reasons that mean the content was withheld rather than cut.
const BLOCKING_FINISH: &[&str] = &[
    "SAFETY",
    "RECITATION",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
];

impl GenerateResponse {
    fn answer_parts(&self) -> impl Iterator<Item = &str> {
        let content = self.candidates.first().and_then(|c| c.content.as_ref());
        content
            .into_iter()
            .flat_map(|c| &c.parts)
            .filter(|p| p.thought != Some(true))
            .filter_map(|p| p.text.as_deref())
    }

    fn text_len(&self) -> usize {
        self.answer_parts().map(|t| t.chars().count()).sum()
    }

    /// The whole answer from its streamed pieces: parts appended, the last finish reason,
    /// usage and model version kept (Gemini repeats the running totals in each event).
    fn from_chunks(chunks: Vec<GenerateResponse>) -> GenerateResponse {
        let mut whole = GenerateResponse::default();
        let mut candidate = Candidate {
            content: Some(CandidateContent::default()),
            finish_reason: None,
        };
        for mut chunk in chunks {
            whole.prompt_feedback = chunk.prompt_feedback.take().or(whole.prompt_feedback);
            whole.usage_metadata = chunk.usage_metadata.take().or(whole.usage_metadata);
            whole.model_version = chunk.model_version.take().or(whole.model_version);
            if let Some(first) = chunk.candidates.into_iter().next() {
                candidate.finish_reason = first.finish_reason.or(candidate.finish_reason);
                if let (Some(into), Some(from)) = (candidate.content.as_mut(), first.content) {
                    into.parts.extend(from.parts);
                }
            }
        }
        whole.candidates.push(candidate);
        whole
    }

    fn into_response(self, configured_model: &str) -> Result<LlmResponse, LlmError> {
        if let Some(reason) = self.prompt_feedback.and_then(|f| f.block_reason) {
            return Err(LlmError::Blocked {
                provider: PROVIDER,
                reason: format!("prompt blocked ({reason})"),
            });
        }
        let candidate = self
            .candidates
            .into_iter()
            .next()
            .ok_or_else(|| LlmError::Protocol {
                provider: PROVIDER,
                reason: "no candidates".to_owned(),
            })?;
        let finish = candidate.finish_reason;
        let text: String = candidate
            .content
            .map(|c| {
                c.parts
                    .into_iter()
                    .filter(|p| p.thought != Some(true))
                    .filter_map(|p| p.text)
                    .collect()
            })
            .unwrap_or_default();
        let text = check_finish(finish.as_deref(), text)?;
        if text.trim().is_empty() {
            return Err(LlmError::Incomplete {
                provider: PROVIDER,
                reason: "empty answer".to_owned(),
            });
        }
        // Billing counts thinking tokens as output.
        let usage = self
            .usage_metadata
            .map_or_else(TokenUsage::default, |u| TokenUsage {
                input_tokens: u.prompt_token_count,
                output_tokens: u.candidates_token_count + u.thoughts_token_count,
            });
        let model = self
            .model_version
            .unwrap_or_else(|| configured_model.to_owned());
        Ok(LlmResponse { text, usage, model })
    }
}

/// The answer's text if it finished normally.
fn check_finish(reason: Option<&str>, text: String) -> Result<String, LlmError> {
    match reason {
        None | Some("STOP") | Some("FINISH_REASON_UNSPECIFIED") => Ok(text),
        Some("MAX_TOKENS") => Err(LlmError::Truncated {
            provider: PROVIDER,
            text,
        }),
        Some(r) if BLOCKING_FINISH.contains(&r) => Err(LlmError::Blocked {
            provider: PROVIDER,
            reason: format!("finishReason {r}"),
        }),
        Some(r) => Err(LlmError::Incomplete {
            provider: PROVIDER,
            reason: format!("finishReason {r}"),
        }),
    }
}
