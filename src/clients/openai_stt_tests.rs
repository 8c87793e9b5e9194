use super::*;

#[test]
fn mode_follows_model_name() {
    assert_eq!(
        ResponseMode::for_model("whisper-1"),
        ResponseMode::VerboseJson
    );
    assert_eq!(
        ResponseMode::for_model("gpt-4o-mini-transcribe"),
        ResponseMode::Json
    );
    assert_eq!(
        ResponseMode::for_model("gpt-4o-transcribe"),
        ResponseMode::Json
    );
    assert_eq!(
        ResponseMode::for_model("gpt-4o-transcribe-diarize"),
        ResponseMode::Diarized
    );
}

#[test]
fn backoff_grows_and_honours_retry_after() {
    let p = RetryPolicy {
        max_attempts: 5,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
    };
    let d3 = p.delay(3, None);
    assert!(
        d3 >= Duration::from_millis(400) && d3 <= Duration::from_millis(800),
        "{d3:?}"
    );
    assert!(p.delay(10, None) <= Duration::from_secs(1));
    assert_eq!(
        p.delay(0, Some(Duration::from_secs(2))),
        Duration::from_secs(2)
    );
}

#[test]
fn timeout_grows_with_audio() {
    let t = TimeoutPolicy {
        base: Duration::from_secs(10),
        per_audio_second: 0.5,
    };
    assert_eq!(t.for_audio(60.0), Duration::from_secs(40));
}
