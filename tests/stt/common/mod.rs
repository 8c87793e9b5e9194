//! Shared test helpers. Each test binary uses a different subset of them.
#![allow(
    dead_code,
    reason = "every integration test binary compiles this module but uses only part of it"
)]

pub mod audio;
pub mod score;
pub mod stub;

use std::time::Duration;

use secrecy::SecretString;
use vibeinsight::clients::openai_stt::{RetryPolicy, SttClient, SttConfig, TimeoutPolicy};
use vibeinsight::clients::stt::AudioUpload;
use vibeinsight::domain::Language;

/// A client with short delays so that error tests finish quickly. Its timeout leaves room for
/// the stub decoding uploads in a debug build on a loaded machine; stalls in tests are far longer.
pub fn fast_client(base_url: &str, key: &str, model: &str) -> SttClient {
    let mut cfg = SttConfig::new(base_url, SecretString::from(key.to_owned()), model);
    cfg.language = Language::En;
    cfg.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
    };
    cfg.timeout = TimeoutPolicy {
        base: Duration::from_secs(4),
        per_audio_second: 0.0,
    };
    SttClient::new(cfg).unwrap()
}

pub fn flac_upload(samples: &[f32]) -> AudioUpload {
    AudioUpload {
        bytes: vibeinsight::pipeline::encode::encode_flac(samples)
            .unwrap()
            .into(),
        filename: "clip.flac".into(),
        mime: "audio/flac".into(),
        duration_s: samples.len() as f64 / audio::RATE,
    }
}

/// The real server's base URL from `VIBEINSIGHT_TEST_STT_URL`, or a loud skip notice.
pub fn real_server(test: &str) -> Option<(String, String)> {
    match std::env::var("VIBEINSIGHT_TEST_STT_URL") {
        Ok(url) if !url.trim().is_empty() => {
            let model = std::env::var("VIBEINSIGHT_TEST_STT_MODEL")
                .unwrap_or_else(|_| "openai/whisper-base".into());
            Some((url.trim().to_owned(), model))
        }
        _ => {
            crate::prereq::missing(format!(
                "{test}: VIBEINSIGHT_TEST_STT_URL is not set (`just stt` starts the real server and prints it)"
            ));
            None
        }
    }
}

/// A client for the real server: generous timeouts (CPU Whisper, model load).
pub fn real_client(url: &str, model: &str, lang: Language) -> SttClient {
    let key = std::env::var("STT_API_KEY").unwrap_or_else(|_| "no-key".into());
    let mut cfg = SttConfig::new(url, SecretString::from(key), model);
    cfg.language = lang;
    cfg.timeout = TimeoutPolicy {
        base: Duration::from_secs(120),
        per_audio_second: 0.5,
    };
    cfg.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(500),
        max_delay: Duration::from_secs(5),
    };
    SttClient::new(cfg).unwrap()
}
