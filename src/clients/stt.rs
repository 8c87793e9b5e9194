//! The transcription seam: what the pipeline asks of any speech-to-text provider, in
//! provider-neutral types. [`crate::clients::openai_stt`] is one implementation; adding a
//! provider means one client file implementing [`SpeechToText`] and one `stt.provider`
//! variant in the configuration.

use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;

use crate::domain::{Language, Span, Word};
use crate::error::Refusal;

/// A transcription provider, built once per process and shared by every job.
pub trait SpeechToText: Send + Sync {
    /// Short provider name for metrics labels (`openai_stt`).
    fn name(&self) -> &'static str;
    /// The model, as the provider names it (usage, provenance, checkpoints).
    fn model(&self) -> &str;
    /// What a transcript depends on besides the audio: model and endpoint. A checkpointed
    /// transcript from another provider or model is not reused.
    fn identity(&self) -> String;
    /// Whether answers carry segment times; text-only models are sent one speaker turn per
    /// request so their text still gets a speaker and a time.
    fn has_times(&self) -> bool;
    /// Transcribes one file, retrying transient failures within the provider's policy.
    fn transcribe<'a>(
        &'a self,
        audio: &'a AudioUpload,
        language: Language,
    ) -> BoxFuture<'a, Result<Transcription, SttError>>;
    /// A cheap authenticated request that tells whether the model is served (`doctor`).
    fn check(&self) -> BoxFuture<'_, Result<String, SttError>>;
}

/// One encoded audio file to send.
#[derive(Clone, Debug)]
pub struct AudioUpload {
    pub bytes: Bytes,
    /// Servers reject a file part without a filename; the extension tells them the codec.
    pub filename: String,
    pub mime: String,
    pub duration_s: f64,
}

/// One segment as the provider returned it, times relative to the uploaded file.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SttSegment {
    pub span: Span,
    pub text: String,
    pub avg_logprob: Option<f32>,
    pub no_speech_prob: Option<f32>,
    pub compression_ratio: Option<f32>,
    /// The provider's own speaker label (`diarized_json` only), e.g. "A".
    pub provider_speaker: Option<String>,
    pub words: Vec<Word>,
}

/// A parsed transcription of one request (kept as a checkpoint once paid for).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Transcription {
    pub text: String,
    pub language: Option<String>,
    pub segments: Vec<SttSegment>,
}

impl Transcription {
    /// Moves every time by `offset` seconds (a chunk's start in the original recording).
    pub fn shifted(mut self, offset: f64) -> Self {
        for seg in &mut self.segments {
            seg.span = shift(seg.span, offset);
            for w in &mut seg.words {
                w.span = shift(w.span, offset);
            }
        }
        self
    }
}

fn shift(s: Span, by: f64) -> Span {
    Span {
        start: s.start + by,
        end: s.end + by,
    }
}

/// Why a transcription request failed. [`SttError::is_transient`] tells the caller (and the
/// client's own retry loop) whether trying again can help.
#[derive(Debug, thiserror::Error)]
pub enum SttError {
    #[error("transcription rate limit hit (HTTP 429): {message}")]
    RateLimited {
        retry_after: Option<Duration>,
        message: String,
    },
    #[error("transcription provider error (HTTP {status}): {message}")]
    Server { status: u16, message: String },
    #[error("transcription request timed out after {0:?}")]
    Timeout(Duration),
    #[error("could not reach the transcription provider: {0}")]
    Connection(String),
    #[error("transcription quota exhausted: {message}")]
    QuotaExhausted { message: String },
    /// The provider's message is dropped on purpose: OpenAI echoes part of the key in it.
    #[error("invalid API key (HTTP 401)")]
    InvalidApiKey,
    #[error("transcription request rejected (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("unexpected transcription response: {0}")]
    Decode(String),
}

impl SttError {
    /// Rate limits, server errors, timeouts and connection failures may pass; the rest will not.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Server { .. } | Self::Timeout(_) | Self::Connection(_)
        )
    }

    /// What a permanent refusal is about (credentials, quota, or this request).
    pub fn refusal(&self) -> Refusal {
        match self {
            Self::InvalidApiKey
            | Self::Rejected {
                status: 401 | 403, ..
            } => Refusal::Credentials,
            Self::QuotaExhausted { .. } | Self::Rejected { status: 402, .. } => Refusal::Quota,
            _ => Refusal::Request,
        }
    }

    /// How long the provider asked us to wait, when it said so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_say_what_they_are_about() {
        let rejected = |status| SttError::Rejected {
            status,
            message: "no".into(),
        };
        assert_eq!(SttError::InvalidApiKey.refusal(), Refusal::Credentials);
        assert_eq!(rejected(403).refusal(), Refusal::Credentials);
        let quota = SttError::QuotaExhausted {
            message: "billing".into(),
        };
        assert_eq!(quota.refusal(), Refusal::Quota);
        assert_eq!(rejected(402).refusal(), Refusal::Quota);
        assert_eq!(rejected(400).refusal(), Refusal::Request);
    }
}
