//! Typed client for OpenAI-compatible `POST {base_url}/audio/transcriptions`.
//!
//! Works with OpenAI itself and with compatible servers (Groq, self-hosted faster-whisper
//! servers). The response format is chosen from the model: `whisper-1`-style models give
//! `verbose_json` with segment and word times, `gpt-4o(-mini)-transcribe` give text only,
//! `gpt-4o-transcribe-diarize` gives `diarized_json`. Transient failures (429 rate limits,
//! 5xx, timeouts, connection errors) are retried here with exponential backoff and jitter;
//! permanent ones (quota, bad key, rejected request) are returned at once. The API key never
//! appears in logs or error messages.

use std::time::Duration;

use futures::future::BoxFuture;
use reqwest::multipart::{Form, Part};
use secrecy::{ExposeSecret, SecretString};

use crate::clients::stt::{AudioUpload, SpeechToText, SttError, Transcription};
use crate::domain::Language;

mod error;
mod response;
use error::{classify_failure, redact};
pub use response::ResponseMode;
use response::parse_body;

/// A provider asking for a longer pause than this is better served by the job queue's own
/// retry than by holding a worker slot.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// Bounded retries for transient failures.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Total attempts including the first one.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Delay before retry number `retry` (0-based): Retry-After when the provider gave one
    /// (it knows its own window), else exponential backoff with "equal jitter" so parallel
    /// chunks that failed together do not come back together.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(ra) = retry_after {
            return ra.min(MAX_RETRY_AFTER);
        }
        let exp = self
            .base_delay
            .saturating_mul(1u32 << retry.min(16))
            .min(self.max_delay);
        let half = exp / 2;
        half + half.mul_f64(rand::random::<f64>())
    }
}

/// Per-request timeout: a fixed allowance (connection, upload, model load) plus a share of
/// the audio duration, because transcription time grows with the audio.
#[derive(Clone, Debug)]
pub struct TimeoutPolicy {
    pub base: Duration,
    pub per_audio_second: f64,
}

impl Default for TimeoutPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(30),
            per_audio_second: 0.5,
        }
    }
}

impl TimeoutPolicy {
    pub fn for_audio(&self, audio_seconds: f64) -> Duration {
        self.base
            + Duration::from_secs_f64((audio_seconds.max(0.0) * self.per_audio_second).min(3600.0))
    }
}

/// Everything needed to talk to one provider with one model.
#[derive(Clone, Debug)]
pub struct SttConfig {
    /// e.g. `https://api.openai.com/v1` (no trailing `/audio/transcriptions`).
    pub base_url: String,
    pub api_key: SecretString,
    pub model: String,
    pub language: Language,
    /// Vocabulary hint: coaching terms, names.
    pub prompt: Option<String>,
    /// Defaults to [`ResponseMode::for_model`].
    pub mode: Option<ResponseMode>,
    pub retry: RetryPolicy,
    pub timeout: TimeoutPolicy,
}

impl SttConfig {
    pub fn new(
        base_url: impl Into<String>,
        api_key: SecretString,
        model: impl Into<String>,
    ) -> Self {
        Self {
            base_url: base_url.into(),
            api_key,
            model: model.into(),
            language: Language::Auto,
            prompt: None,
            mode: None,
            retry: RetryPolicy::default(),
            timeout: TimeoutPolicy::default(),
        }
    }
}

/// The client: one `reqwest::Client` (connection pool) and one configuration.
#[derive(Clone, Debug)]
pub struct SttClient {
    http: reqwest::Client,
    cfg: SttConfig,
    mode: ResponseMode,
}

impl SttClient {
    /// # Errors
    /// When the TLS backend cannot be initialised.
    pub fn new(cfg: SttConfig) -> Result<Self, SttError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| SttError::Connection(e.to_string()))?;
        let mode = cfg
            .mode
            .unwrap_or_else(|| ResponseMode::for_model(&cfg.model));
        Ok(Self { http, cfg, mode })
    }

    fn base_url(&self) -> &str {
        self.cfg.base_url.trim_end_matches('/')
    }

    pub fn mode(&self) -> ResponseMode {
        self.mode
    }

    pub fn model(&self) -> &str {
        &self.cfg.model
    }

    /// The language [`Self::transcribe`] asks for.
    pub fn language(&self) -> Language {
        self.cfg.language
    }

    /// Transcribes one file, retrying transient failures within the retry policy.
    ///
    /// # Errors
    /// A permanent [`SttError`] at once, or the last transient one when attempts run out.
    #[tracing::instrument(skip_all, fields(model = %self.cfg.model, audio_s = audio.duration_s))]
    pub async fn transcribe(&self, audio: &AudioUpload) -> Result<Transcription, SttError> {
        self.transcribe_in(audio, self.cfg.language).await
    }

    /// As [`Self::transcribe`], in `language` rather than the configured one.
    ///
    /// # Errors
    /// As [`Self::transcribe`].
    pub async fn transcribe_in(
        &self,
        audio: &AudioUpload,
        language: Language,
    ) -> Result<Transcription, SttError> {
        let mut retry = 0;
        loop {
            match self.attempt(audio, language).await {
                Ok(t) => return Ok(t),
                Err(e) if e.is_transient() && retry + 1 < self.cfg.retry.max_attempts => {
                    let wait = self.cfg.retry.delay(retry, e.retry_after());
                    tracing::warn!(error = %e, retry, wait_ms = wait.as_millis() as u64, "transient STT failure; retrying");
                    tokio::time::sleep(wait).await;
                    retry += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn attempt(
        &self,
        audio: &AudioUpload,
        language: Language,
    ) -> Result<Transcription, SttError> {
        let url = format!("{}/audio/transcriptions", self.base_url());
        let timeout = self.cfg.timeout.for_audio(audio.duration_s);
        let resp = self
            .http
            .post(url)
            .bearer_auth(self.cfg.api_key.expose_secret())
            .multipart(self.form(audio, language)?)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| self.transport_error(&e, timeout))?;
        let status = resp.status();
        let retry_after = parse_retry_after(resp.headers());
        let body = resp
            .text()
            .await
            .map_err(|e| self.transport_error(&e, timeout))?;
        if !status.is_success() {
            return Err(classify_failure(
                status.as_u16(),
                &body,
                retry_after,
                self.cfg.api_key.expose_secret(),
            ));
        }
        parse_body(self.mode, &body)
            .map_err(|e| SttError::Decode(redact(&e, self.cfg.api_key.expose_secret())))
    }

    fn form(&self, audio: &AudioUpload, language: Language) -> Result<Form, SttError> {
        let body = reqwest::Body::from(audio.bytes.clone());
        let file = Part::stream_with_length(body, audio.bytes.len() as u64)
            .file_name(audio.filename.clone())
            .mime_str(&audio.mime)
            .map_err(|_| SttError::Rejected {
                status: 0,
                message: format!("invalid MIME type {:?}", audio.mime),
            })?;
        let mut form = Form::new()
            .part("file", file)
            .text("model", self.cfg.model.clone())
            .text("response_format", self.mode.format_field());
        if let Some(lang) = language_code(language) {
            form = form.text("language", lang);
        }
        // The diarizing model rejects `prompt`; everything else uses it as a vocabulary hint.
        if let Some(p) = self
            .cfg
            .prompt
            .as_ref()
            .filter(|_| self.mode != ResponseMode::Diarized)
        {
            form = form.text("prompt", p.clone());
        }
        match self.mode {
            ResponseMode::VerboseJson => {
                form = form
                    .text("timestamp_granularities[]", "segment")
                    .text("timestamp_granularities[]", "word");
            }
            ResponseMode::Diarized => form = form.text("chunking_strategy", "auto"),
            ResponseMode::Json | ResponseMode::Text => {}
        }
        Ok(form)
    }

    fn transport_error(&self, e: &reqwest::Error, timeout: Duration) -> SttError {
        if e.is_timeout() {
            SttError::Timeout(timeout)
        } else {
            // reqwest's Display names the URL but never headers, so the key cannot leak;
            // redact anyway in case a base URL was built with a key in it.
            SttError::Connection(redact(&e.to_string(), self.cfg.api_key.expose_secret()))
        }
    }
}

impl SpeechToText for SttClient {
    fn name(&self) -> &'static str {
        "openai_stt"
    }

    fn model(&self) -> &str {
        &self.cfg.model
    }

    fn identity(&self) -> String {
        format!("{}@{}", self.cfg.model, self.base_url())
    }

    fn has_times(&self) -> bool {
        self.mode.has_times()
    }

    fn transcribe<'a>(
        &'a self,
        audio: &'a AudioUpload,
        language: Language,
    ) -> BoxFuture<'a, Result<Transcription, SttError>> {
        Box::pin(self.transcribe_in(audio, language))
    }

    /// `GET /models`: authenticates the key without sending audio or spending anything.
    fn check(&self) -> BoxFuture<'_, Result<String, SttError>> {
        Box::pin(async move {
            let timeout = self.cfg.timeout.base;
            let resp = self
                .http
                .get(format!("{}/models", self.base_url()))
                .bearer_auth(self.cfg.api_key.expose_secret())
                .timeout(timeout)
                .send()
                .await
                .map_err(|e| self.transport_error(&e, timeout))?;
            let status = resp.status().as_u16();
            let body = resp
                .text()
                .await
                .map_err(|e| self.transport_error(&e, timeout))?;
            if !(200..300).contains(&status) {
                return Err(classify_failure(
                    status,
                    &body,
                    None,
                    self.cfg.api_key.expose_secret(),
                ));
            }
            let listed = body.contains(&format!("\"{}\"", self.cfg.model));
            Ok(if listed {
                format!(
                    "{}: the provider accepted the key and serves the model",
                    self.cfg.model
                )
            } else {
                format!(
                    "{}: the provider accepted the key (the model is not in its list)",
                    self.cfg.model
                )
            })
        })
    }
}

fn language_code(lang: Language) -> Option<&'static str> {
    match lang {
        Language::Ja => Some("ja"),
        Language::En => Some("en"),
        Language::Auto => None,
    }
}

fn parse_retry_after(h: &reqwest::header::HeaderMap) -> Option<Duration> {
    let get = |name: &str| {
        h.get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
    };
    // OpenAI also sends the finer `retry-after-ms`; prefer it when present.
    if let Some(ms) = get("retry-after-ms").filter(|v| v.is_finite() && *v >= 0.0) {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    get("retry-after")
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(Duration::from_secs_f64)
}

#[cfg(test)]
#[path = "openai_stt_tests.rs"]
mod tests;
