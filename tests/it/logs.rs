//! The real binary's JSON logs: every line of a job carries its session and attempt, and no
//! line ever contains a secret, even when a provider call fails with the key configured.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use uuid::Uuid;
use vibeinsight::domain::Language;

use crate::helpers::{TestDb, speech_like_wav};

const DB_PASSWORD: &str = "db-pass-0f9e8d";
const OPENAI_KEY: &str = "sk-test-secret-7c6b5a";
const GEMINI_KEY: &str = "AIza-test-secret-4d3c2b";

#[tokio::test]
async fn job_logs_carry_session_and_attempt_and_never_a_secret() {
    let db = TestDb::new().await;
    let fixtures = tempfile::tempdir().unwrap();
    let wav = speech_like_wav(fixtures.path(), "a.wav", 16_000, 1, 2.0);
    let id = db.enqueue_local(Uuid::new_v4(), &wav, Language::En).await;
    // Local test servers trust every connection, so the password is carried but unused.
    let url = db
        .url
        .replacen("postgres@", &format!("postgres:{DB_PASSWORD}@"), 1);
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut env = db.env(&[
        ("VIBEINSIGHT__TELEMETRY__LOG_FORMAT", "json"),
        ("OPENAI_API_KEY", OPENAI_KEY),
        ("GEMINI_API_KEY", GEMINI_KEY),
        ("VIBEINSIGHT__QUEUE__MAX_ATTEMPTS", "1"),
        (
            "RUST_LOG",
            "debug,hyper=info,reqwest=info,h2=info,rustls=info",
        ),
    ]);
    env.insert("DATABASE_URL".into(), url);
    // Nothing listens there: transcription fails, the job logs the error and dead-letters.
    env.insert("OPENAI_BASE_URL".into(), format!("http://{closed_port}/v1"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_vibeinsight"))
        .arg("run")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(&env)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = db.wait_until_done(id, Duration::from_secs(120)).await;
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let mut logs = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    child.wait().unwrap();

    assert_eq!(
        status.0, "failed",
        "transcription could not reach its server"
    );
    for secret in [DB_PASSWORD, OPENAI_KEY, GEMINI_KEY] {
        assert!(
            !logs.contains(secret),
            "a log line contains a secret:\n{logs}"
        );
    }
    let job_lines: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| {
            line["spans"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| s["name"] == "job"))
        })
        .collect();
    assert!(job_lines.len() >= 3, "too few job lines:\n{logs}");
    for line in &job_lines {
        let spans = line["spans"].as_array().unwrap();
        let job = spans.iter().find(|s| s["name"] == "job").unwrap();
        assert_eq!(
            job["session_id"].as_str(),
            Some(id.to_string().as_str()),
            "{line}"
        );
        assert_eq!(job["attempt"], 1, "{line}");
    }
}
