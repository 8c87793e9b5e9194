//! `just bench-stt`: transcription quality and speed on the shared dev recordings.
//!
//! - `wer URL`: each dev conversation through the real OpenAI-compatible server, as one
//!   whole-file request and as the pipeline sends it (VAD chunks, hallucination filter,
//!   alignment to speakers), with the stages in between, so that a gap in WER/CER can be
//!   put down to the stage that opens it.
//! - `hour [URL]`: wall time of the transcription stage on a one-hour two-speaker recording
//!   (en_dev_3min looped 20 times) with 1 and N chunks in flight, against the real server
//!   when URL is given and against a protocol-exact local server that answers with a remote
//!   provider's latency.
//!
//! Neither runs in `cargo test`; both skip, saying so, when `../shared/data` is absent.

// The test helpers, shared with tests/stt. At the crate root, so that their `super::audio`
// resolves here as it does there.
#[allow(dead_code, reason = "this binary uses part of the shared test helpers")]
#[path = "../../tests/stt/common/audio.rs"]
mod audio;
mod daemon;
mod hour;
#[path = "../../tests/support/prereq.rs"]
mod prereq;
mod recording;
#[allow(dead_code, reason = "this binary uses part of the shared test helpers")]
#[path = "../../tests/stt/common/score.rs"]
mod score;
#[allow(dead_code, reason = "this binary uses part of the shared test helpers")]
#[path = "../../tests/stt/common/stub.rs"]
mod stub;
mod wer;

use std::time::Duration;

use secrecy::SecretString;
use vibeinsight::clients::openai_stt::{RetryPolicy, SttClient, SttConfig, TimeoutPolicy};
use vibeinsight::domain::Language;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `cargo bench` appends `--bench`; everything else is ours.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let url = args.get(1).filter(|u| !u.is_empty()).cloned();
    match args.first().map(String::as_str) {
        Some("wer") => match url {
            Some(url) => wer::run(&url).await,
            None => anyhow::bail!("usage: transcribe wer URL (`just stt` prints the URL)"),
        },
        Some("hour") => hour::run(url.as_deref()).await,
        _ => anyhow::bail!("usage: transcribe wer URL | transcribe hour [URL]"),
    }
}

/// A client for a local Whisper server on a shared CPU: one request may wait behind others
/// for minutes, which is the server being busy, not a fault worth a retry.
pub fn client(url: &str, key: &str, model: &str, language: Language) -> anyhow::Result<SttClient> {
    let mut cfg = SttConfig::new(url, SecretString::from(key.to_owned()), model);
    cfg.language = language;
    cfg.timeout = TimeoutPolicy {
        base: Duration::from_secs(600),
        per_audio_second: 2.0,
    };
    cfg.retry = RetryPolicy {
        max_attempts: 2,
        ..RetryPolicy::default()
    };
    Ok(SttClient::new(cfg)?)
}

/// The real server's key (it needs none unless started with `STT_API_KEY`).
pub fn api_key() -> String {
    std::env::var("STT_API_KEY").unwrap_or_else(|_| "no-key".into())
}

/// The model the real server hosts.
pub fn model() -> String {
    std::env::var("VIBEINSIGHT_TEST_STT_MODEL").unwrap_or_else(|_| "openai/whisper-base".into())
}
