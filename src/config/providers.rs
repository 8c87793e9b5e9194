//! `[stt]` and `[llm]`: which provider transcribes and which judges, and the clients they build.
//!
//! A provider's default depends on whether its conventional key is set (`OPENAI_API_KEY`,
//! `GEMINI_API_KEY` / `GOOGLE_API_KEY`): a deployment that sets the key gets the provider
//! without naming it, and one that sets nothing runs without it rather than failing.
//! [`provider_defaults`] applies that rule where the other defaults are resolved;
//! [`resolve_llm`] fills what depends on the chosen LLM provider (key, model, endpoint).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use secrecy::SecretString;
use serde::Deserialize;

use crate::clients::gemini::GeminiClient;
use crate::clients::llm::LlmProvider;
use crate::clients::openai_chat::OpenAiChatClient;
use crate::clients::openai_stt::{SttClient, SttConfig, TimeoutPolicy};
use crate::clients::stt::SpeechToText;
use crate::pipeline::assess::AssessOptions;
use crate::pipeline::assess::usage::PriceTable as LlmPriceTable;
use crate::pipeline::transcribe::{ChunkingConfig, PriceTable as SttPriceTable};

/// OpenAI's API; the default endpoint of both OpenAI-compatible clients.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// A current Gemini Flash model: cheap, long context, structured output.
pub const DEFAULT_GEMINI_MODEL: &str = "gemini-2.5-flash";
/// The default model when `llm.provider = openai`.
pub const DEFAULT_OPENAI_CHAT_MODEL: &str = "gpt-4o-mini";

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SttProvider {
    None,
    /// Any server that speaks OpenAI's `/audio/transcriptions`.
    Openai,
}

#[derive(Clone, Debug, Deserialize)]
pub struct SttSettings {
    pub provider: SttProvider,
    pub model: String,
    pub base_url: String,
    pub api_key: Option<SecretString>,
    /// Vocabulary hint (coaching terms, names) sent with every request.
    pub prompt: Option<String>,
    /// Upload limit per request (OpenAI: 25 MiB).
    pub max_bytes: usize,
    /// Longest chunk; shorter chunks mean more parallelism and cheaper retries.
    pub max_duration_secs: f64,
    /// Requests in flight per session.
    pub in_flight: usize,
    /// Per-request timeout: this allowance plus `timeout_per_audio_sec` × the chunk's length,
    /// because transcription time grows with the audio.
    pub timeout_secs: u64,
    pub timeout_per_audio_sec: f64,
    /// USD per minute of audio by model; replaces the built-in table when given.
    #[serde(default)]
    pub prices: Option<BTreeMap<String, f64>>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LlmProviderKind {
    None,
    Gemini,
    /// Any server that speaks OpenAI's chat completions with `json_schema` output.
    Openai,
}

#[derive(Clone, Debug, Deserialize)]
pub struct LlmSettings {
    pub provider: LlmProviderKind,
    /// Empty in the layers means the provider's default, which [`resolve_llm`] fills in.
    #[serde(default)]
    pub model: String,
    /// `None`: the provider's own endpoint.
    pub base_url: Option<String>,
    pub api_key: Option<SecretString>,
    pub timeout_secs: u64,
    /// Estimated transcript tokens one call may carry before the session is split in parts.
    pub transcript_budget_tokens: usize,
    /// USD per million tokens by model; replaces the built-in table when given.
    #[serde(default)]
    pub prices: Option<LlmPriceTable>,
}

/// The defaults that depend on which conventional keys are present.
pub(super) fn provider_defaults(
    env: &HashMap<String, String>,
) -> [(&'static str, &'static str); 2] {
    let stt = if env.contains_key("OPENAI_API_KEY") {
        "openai"
    } else {
        "none"
    };
    let llm = if gemini_key(env).is_some() {
        "gemini"
    } else {
        "none"
    };
    [("stt.provider", stt), ("llm.provider", llm)]
}

fn gemini_key(env: &HashMap<String, String>) -> Option<&String> {
    env.get("GEMINI_API_KEY")
        .or_else(|| env.get("GOOGLE_API_KEY"))
}

/// Fills the LLM key, model and endpoint the chosen provider implies, where not configured:
/// the Gemini key for Gemini, OpenAI's key and `OPENAI_BASE_URL` for OpenAI-compatible chat.
pub(super) fn resolve_llm(llm: &mut LlmSettings, env: &HashMap<String, String>) {
    let (key, base_url, model) = match llm.provider {
        LlmProviderKind::None => return,
        LlmProviderKind::Gemini => (gemini_key(env), None, DEFAULT_GEMINI_MODEL),
        LlmProviderKind::Openai => (
            env.get("OPENAI_API_KEY"),
            env.get("OPENAI_BASE_URL"),
            DEFAULT_OPENAI_CHAT_MODEL,
        ),
    };
    if llm.api_key.is_none() {
        llm.api_key = key.map(|k| SecretString::from(k.clone()));
    }
    if llm.base_url.is_none() {
        llm.base_url = base_url.cloned();
    }
    if llm.model.is_empty() {
        llm.model = model.to_owned();
    }
}

impl SttSettings {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if self.provider == SttProvider::Openai && self.api_key.is_none() {
            bail!(
                "stt.provider = openai needs a key (OPENAI_API_KEY or VIBEINSIGHT__STT__API_KEY)"
            );
        }
        if self.max_bytes < 1024 * 1024 || self.max_duration_secs < 10.0 || self.in_flight == 0 {
            bail!(
                "stt chunk limits too small: max_bytes >= 1 MiB, max_duration_secs >= 10, in_flight >= 1"
            );
        }
        Ok(())
    }

    /// The client configuration, `None` when transcription is off. The language is
    /// `auto`; a job sets its session's language on a clone.
    pub fn client_config(&self) -> Option<SttConfig> {
        let key = match (self.provider, &self.api_key) {
            (SttProvider::Openai, Some(key)) => key.clone(),
            _ => return None,
        };
        let mut cfg = SttConfig::new(self.base_url.trim_end_matches('/'), key, &self.model);
        cfg.prompt = self.prompt.clone();
        cfg.timeout = TimeoutPolicy {
            base: Duration::from_secs(self.timeout_secs),
            per_audio_second: self.timeout_per_audio_sec,
        };
        Some(cfg)
    }

    /// The transcription provider, built once per process; `Ok(None)` when
    /// `stt.provider = none`.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn provider(&self) -> anyhow::Result<Option<Arc<dyn SpeechToText>>> {
        let Some(cfg) = self.client_config() else {
            return Ok(None);
        };
        let client = SttClient::new(cfg).context("Failed to build the transcription client")?;
        Ok(Some(Arc::new(client)))
    }

    pub fn chunking(&self) -> ChunkingConfig {
        ChunkingConfig {
            max_bytes: self.max_bytes,
            max_duration_s: self.max_duration_secs,
            in_flight: self.in_flight,
            ..ChunkingConfig::default()
        }
    }

    pub fn price_table(&self) -> SttPriceTable {
        match &self.prices {
            Some(usd_per_minute) => SttPriceTable {
                usd_per_minute: usd_per_minute.clone(),
            },
            None => SttPriceTable::default(),
        }
    }
}

impl LlmSettings {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if self.provider == LlmProviderKind::Gemini && self.api_key.is_none() {
            bail!(
                "llm.provider = gemini needs GEMINI_API_KEY, GOOGLE_API_KEY or VIBEINSIGHT__LLM__API_KEY"
            );
        }
        if self.transcript_budget_tokens < 1000 {
            bail!("llm.transcript_budget_tokens must be at least 1000");
        }
        Ok(())
    }

    /// Builds the configured LLM; `Ok(None)` when `llm.provider = none`.
    ///
    /// # Errors
    /// When Gemini lacks a key or the HTTP client cannot be built.
    pub fn provider(&self) -> anyhow::Result<Option<Arc<dyn LlmProvider>>> {
        let timeout = Duration::from_secs(self.timeout_secs);
        let key = self.api_key.clone();
        Ok(match self.provider {
            LlmProviderKind::None => None,
            LlmProviderKind::Gemini => {
                let key = key.context("llm.provider = gemini needs a key")?;
                let mut client = GeminiClient::new(self.model.clone(), key, timeout)?;
                if let Some(url) = &self.base_url {
                    client = client.with_base_url(url);
                }
                Some(Arc::new(client))
            }
            LlmProviderKind::Openai => {
                let base = self.base_url.as_deref().unwrap_or(OPENAI_BASE_URL);
                let client =
                    OpenAiChatClient::new(base.to_owned(), self.model.clone(), key, timeout)?;
                Some(Arc::new(client))
            }
        })
    }

    pub fn assess_options(&self) -> AssessOptions {
        AssessOptions {
            transcript_budget_tokens: self.transcript_budget_tokens,
            prices: self.prices.clone().unwrap_or_default(),
        }
    }
}
