//! Prerequisites a test needs from outside the clone: the shared evaluation data, the real
//! Whisper and chat servers, ONNX Runtime and the diarization models, a browser. A missing one
//! is said on stderr as `SKIPPED: <reason>` and the test returns; under CI (`CI=true`), where
//! `just test` must have provided it, the test fails instead. `just test` also leaves such
//! tests out of the run by name when their prerequisite is missing, so the summary counts
//! them as skipped, not passed.

/// Says why the calling test cannot run (or fails it under CI).
pub fn missing(reason: impl std::fmt::Display) {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI: {reason}; `just test` must provide it"
    );
    eprintln!("SKIPPED: {reason}");
}
