//! The client against a local server speaking OpenAI's protocol, including its errors.

use std::time::{Duration, Instant};

use crate::common::audio::{Tone, synth};
use crate::common::stub::{KEY, Reply, Stub, openai_error, word_for};
use crate::common::{fast_client, flac_upload};
use vibeinsight::clients::openai_stt::ResponseMode;
use vibeinsight::clients::stt::SttError;

fn clip() -> Vec<f32> {
    let tones = [
        Tone {
            start: 0.5,
            dur: 0.3,
            freq: 300.0,
        },
        Tone {
            start: 1.0,
            dur: 0.4,
            freq: 500.0,
        },
        Tone {
            start: 2.5,
            dur: 0.3,
            freq: 800.0,
        },
    ];
    synth(&tones, 4.0)
}

#[tokio::test]
async fn verbose_json_sends_the_protocol_and_parses_segments_and_words() {
    let stub = Stub::start().await;
    let t = fast_client(&stub.base_url, KEY, "whisper-1")
        .transcribe(&flac_upload(&clip()))
        .await
        .unwrap();
    let req = &stub.requests()[0];
    assert_eq!(req.filename.as_deref(), Some("clip.flac"));
    assert_eq!(req.field("model"), ["whisper-1"]);
    assert_eq!(req.field("response_format"), ["verbose_json"]);
    assert_eq!(req.field("timestamp_granularities[]"), ["segment", "word"]);
    assert_eq!(req.field("language"), ["en"]);
    assert_eq!(t.segments.len(), 2);
    let words: Vec<&str> = t
        .segments
        .iter()
        .flat_map(|s| s.words.iter().map(|w| w.text.as_str()))
        .collect();
    assert_eq!(words, [word_for(300.0), word_for(500.0), word_for(800.0)]);
    let w0 = &t.segments[0].words[0];
    assert!(
        (w0.span.start - 0.5).abs() < 0.02 && (w0.span.end - 0.8).abs() < 0.04,
        "{w0:?}"
    );
    assert_eq!(t.segments[0].text, "three five");
    assert_eq!(t.segments[0].avg_logprob, Some(-0.21));
}

#[tokio::test]
async fn text_only_models_ask_for_json_and_get_text() {
    let stub = Stub::start().await;
    let c = fast_client(&stub.base_url, KEY, "gpt-4o-mini-transcribe");
    assert_eq!(c.mode(), ResponseMode::Json);
    let t = c.transcribe(&flac_upload(&clip())).await.unwrap();
    assert_eq!(stub.requests()[0].field("response_format"), ["json"]);
    assert!(
        stub.requests()[0]
            .field("timestamp_granularities[]")
            .is_empty()
    );
    assert_eq!((t.text.as_str(), t.segments.len()), ("three five eight", 0));
}

#[tokio::test]
async fn text_format_body_is_plain_text() {
    let stub = Stub::start().await;
    let mut cfg = vibeinsight::clients::openai_stt::SttConfig::new(
        &stub.base_url,
        KEY.to_owned().into(),
        "whisper-1",
    );
    cfg.mode = Some(ResponseMode::Text);
    let t = vibeinsight::clients::openai_stt::SttClient::new(cfg)
        .unwrap()
        .transcribe(&flac_upload(&clip()))
        .await
        .unwrap();
    assert_eq!(t.text, "three five eight");
    assert!(
        stub.requests()[0].field("language").is_empty(),
        "auto language must be omitted"
    );
}

#[tokio::test]
async fn diarize_model_sends_chunking_strategy_and_gets_speakers() {
    let stub = Stub::start().await;
    let t = fast_client(&stub.base_url, KEY, "gpt-4o-transcribe-diarize")
        .transcribe(&flac_upload(&clip()))
        .await
        .unwrap();
    let req = &stub.requests()[0];
    assert_eq!(
        (req.field("response_format"), req.field("chunking_strategy")),
        (vec!["diarized_json"], vec!["auto"])
    );
    let labels: Vec<_> = t
        .segments
        .iter()
        .map(|s| s.provider_speaker.clone().unwrap())
        .collect();
    assert_eq!(labels, ["A", "A", "B"]);
}

#[tokio::test]
async fn rate_limit_waits_for_retry_after_then_succeeds() {
    let stub = Stub::start().await;
    let mut r = openai_error(
        429,
        "Rate limit reached for whisper-1 on requests per min (RPM): Limit 3.",
        "requests",
        Some("rate_limit_exceeded"),
    );
    if let Reply::Status { headers, .. } = &mut r {
        headers.push(("retry-after", "1".into()));
    }
    stub.push(r);
    let started = Instant::now();
    let t = fast_client(&stub.base_url, KEY, "whisper-1")
        .transcribe(&flac_upload(&clip()))
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After ignored: {:?}",
        started.elapsed()
    );
    assert_eq!((stub.requests().len(), t.segments.len()), (2, 2));
}

#[tokio::test]
async fn quota_exhausted_is_permanent_and_not_retried() {
    let stub = Stub::start().await;
    stub.push(openai_error(
        429,
        "You exceeded your current quota, please check your plan and billing details.",
        "insufficient_quota",
        Some("insufficient_quota"),
    ));
    let e = fast_client(&stub.base_url, KEY, "whisper-1")
        .transcribe(&flac_upload(&clip()))
        .await
        .unwrap_err();
    assert!(
        matches!(e, SttError::QuotaExhausted { .. }) && !e.is_transient(),
        "{e:?}"
    );
    assert!(
        e.to_string().starts_with("transcription quota exhausted"),
        "{e}"
    );
    assert_eq!(stub.requests().len(), 1);
}

#[tokio::test]
async fn wrong_key_is_permanent_and_never_shown() {
    let stub = Stub::start().await;
    let wrong = "sk-wrong-secret-key-987";
    let e = fast_client(&stub.base_url, wrong, "whisper-1")
        .transcribe(&flac_upload(&clip()))
        .await
        .unwrap_err();
    assert!(matches!(e, SttError::InvalidApiKey), "{e:?}");
    assert_eq!(e.to_string(), "invalid API key (HTTP 401)");
    assert!(!format!("{e:?}").contains("wrong"));
    assert_eq!(stub.requests().len(), 1);
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let stub = Stub::start().await;
    stub.push(openai_error(
        500,
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
        None,
    ));
    let html = "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>".to_owned();
    for _ in 0..3 {
        stub.push(Reply::Status {
            status: 503,
            headers: vec![],
            content_type: "text/html",
            body: html.clone(),
        });
    }
    let e = fast_client(&stub.base_url, KEY, "whisper-1")
        .transcribe(&flac_upload(&clip()))
        .await
        .unwrap_err();
    assert!(
        matches!(e, SttError::Server { status: 503, .. }) && e.is_transient(),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .contains("503 Service Temporarily Unavailable"),
        "{e}"
    );
    assert_eq!(stub.requests().len(), 3, "max_attempts is 3");
}

#[tokio::test]
async fn a_500_then_success_recovers() {
    let stub = Stub::start().await;
    stub.push(Reply::Status {
        status: 500,
        headers: vec![],
        content_type: "text/plain",
        body: "Internal Server Error".into(),
    });
    let t = fast_client(&stub.base_url, KEY, "whisper-1")
        .transcribe(&flac_upload(&clip()))
        .await
        .unwrap();
    assert_eq!((stub.requests().len(), t.segments.len()), (2, 2));
}

#[tokio::test]
async fn slow_answers_time_out_and_are_retried() {
    let stub = Stub::start().await;
    stub.push(Reply::Delay(Duration::from_secs(30)));
    let t = fast_client(&stub.base_url, KEY, "whisper-1")
        .transcribe(&flac_upload(&clip()))
        .await
        .unwrap();
    assert_eq!((stub.requests().len(), t.segments.len()), (2, 2));
    for _ in 0..3 {
        stub.push(Reply::Delay(Duration::from_secs(30)));
    }
    let e = fast_client(&stub.base_url, KEY, "whisper-1")
        .transcribe(&flac_upload(&clip()))
        .await
        .unwrap_err();
    assert!(
        matches!(e, SttError::Timeout(_)) && e.is_transient(),
        "{e:?}"
    );
}

#[tokio::test]
async fn client_errors_carry_the_providers_message() {
    let stub = Stub::start().await;
    let e = fast_client(&stub.base_url, KEY, "whisper-9")
        .transcribe(&flac_upload(&clip()))
        .await
        .unwrap_err();
    assert!(
        matches!(e, SttError::Rejected { status: 404, .. }) && !e.is_transient(),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .contains("The model `whisper-9` does not exist"),
        "{e}"
    );
    stub.push(openai_error(
        403,
        "Country, region, or territory not supported",
        "request_forbidden",
        Some("unsupported_country_region_territory"),
    ));
    let e = fast_client(&stub.base_url, KEY, "whisper-1")
        .transcribe(&flac_upload(&clip()))
        .await
        .unwrap_err();
    assert!(
        matches!(e, SttError::Rejected { status: 403, .. }) && e.to_string().contains("territory"),
        "{e}"
    );
    stub.push(Reply::Status {
        status: 400,
        headers: vec![],
        content_type: "text/plain",
        body: "Bad Request: audio too short".into(),
    });
    let e = fast_client(&stub.base_url, KEY, "whisper-1")
        .transcribe(&flac_upload(&clip()))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("audio too short") && !e.is_transient(),
        "{e}"
    );
}

#[tokio::test]
async fn unreachable_server_is_a_transient_connection_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let e = fast_client(&format!("http://127.0.0.1:{port}/v1"), KEY, "whisper-1")
        .transcribe(&flac_upload(&clip()))
        .await
        .unwrap_err();
    assert!(
        matches!(e, SttError::Connection(_)) && e.is_transient(),
        "{e:?}"
    );
}
