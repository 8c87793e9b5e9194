//! The report `vibeinsight analyze` really writes, with transcription and judgement off:
//! `report.json` validates against `src/report/report.schema.json` and parses back into the
//! report's types (so the schema, the types and the written file cannot drift apart), and
//! the page's timeline has one bar per diarization turn although there is no transcript;
//! `enqueue --wait` rebuilds the same report from the stored result and summarises it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use vibeinsight::config::Settings;
use vibeinsight::domain::Language;
use vibeinsight::eval::dataset::default_root;
use vibeinsight::report::{self, Report};

use crate::helpers::{InProcessWorker, TestDb};

/// The repository's demo recording (`ja_dev_3min` of the dev set, as Ogg Vorbis).
const DEMO: &str = "tests/fixtures/demo/ja_two_speakers.ogg";

async fn analyze(file: &Path, language: Language, out: &Path) -> (Value, String) {
    let storage = tempfile::tempdir().unwrap();
    let env: HashMap<String, String> = [
        ("VIBEINSIGHT__STT__PROVIDER", "none"),
        ("VIBEINSIGHT__LLM__PROVIDER", "none"),
        (
            "VIBEINSIGHT__STORAGE__LOCAL_DIR",
            storage.path().to_str().unwrap(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let settings = Settings::load_from(None, &env).unwrap();
    let page = vibeinsight::terminal::analyze(&settings, file, language, Some(2), out)
        .await
        .unwrap();
    assert_eq!(page, out.join("report.html"), "a page is written");
    let json = std::fs::read_to_string(out.join("report.json")).unwrap();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    (serde_json::from_str(&json).unwrap(), html)
}

fn schema_errors(json: &Value) -> Vec<String> {
    let validator = jsonschema::validator_for(&report::json::schema()).unwrap();
    validator
        .iter_errors(json)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect()
}

/// Everything the issue asks of the written files, on one analysed recording.
fn assert_contract(json: &Value, html: &str) {
    let errors = schema_errors(json);
    assert!(
        errors.is_empty(),
        "report.json fails its schema: {errors:#?}"
    );
    let mut missing = json.clone();
    missing["metrics"]
        .as_object_mut()
        .unwrap()
        .remove("conversation");
    assert!(
        !schema_errors(&missing).is_empty(),
        "the schema checks metrics"
    );
    let report: Report = serde_json::from_value(json.clone()).expect("parses into Report");
    assert!(report.conversation().unwrap().is_some(), "typed metrics");
    assert_eq!(report.judgement.status, "not_produced");
    assert!(report.transcript.is_empty(), "transcription was off");
    let turns = json["metrics"]["diarization"]["turns"].as_array().unwrap();
    assert!(
        turns.len() > 10,
        "a 3-minute talk has turns: {}",
        turns.len()
    );
    assert_eq!(
        html.matches("<rect class=\"turn\"").count(),
        turns.len(),
        "one bar per diarization turn"
    );
    for speaker in ["speaker_0", "speaker_1"] {
        assert!(
            html.contains(&format!("data-speaker=\"{speaker}\"")),
            "{speaker} has a lane with bars"
        );
    }
}

fn out_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name)
}

#[tokio::test]
async fn analyze_writes_a_schema_valid_report_with_every_turn_drawn() {
    let out = out_dir("analyze_demo_report");
    let (json, html) = analyze(Path::new(DEMO), Language::Ja, &out).await;
    assert_contract(&json, &html);
    assert!(html.contains("<html lang=\"ja\">") && html.contains("話者タイムライン"));
}

#[tokio::test]
async fn an_english_dev_recording_gives_the_same_contract() {
    let Some(root) = default_root() else {
        crate::prereq::missing("shared/data/conversations not found (set VIBEINSIGHT_DATA)");
        return;
    };
    let file = root.join("simulated/en_dev_3min.wav");
    let out = out_dir("analyze_en_report");
    let (json, html) = analyze(&file, Language::En, &out).await;
    assert_contract(&json, &html);
    assert!(html.contains("<html lang=\"en\">") && html.contains("Speaker 1"));
}

/// What `just demo` runs: the worker processes the demo recording and `enqueue --wait`
/// prints a few readable lines and writes the report it rebuilt from the stored result.
#[tokio::test]
async fn enqueue_wait_summarises_and_writes_the_stored_report() {
    let db = TestDb::new().await;
    let off = [
        ("VIBEINSIGHT__STT__PROVIDER", "none"),
        ("VIBEINSIGHT__LLM__PROVIDER", "none"),
    ];
    let worker = InProcessWorker::start(db.settings(&off)).await;
    let out = out_dir("enqueue_wait_report");
    let _ = std::fs::remove_dir_all(&out);
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_vibeinsight"))
        .args(["enqueue", DEMO, "--language", "ja", "--wait", "--out"])
        .arg(&out)
        .envs(db.env(&off))
        .output();
    let done = tokio::time::timeout(Duration::from_secs(600), run).await;
    worker.stop().await;
    let done = done.expect("the session ends within 10 minutes").unwrap();
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let summary = stdout.trim_end().rsplit("\n\n").next().unwrap();
    for part in [
        "Recording: ",
        "Speakers: 2",
        "Events: ",
        "Judgement: not_produced",
    ] {
        assert!(summary.contains(part), "{part:?} missing from:\n{summary}");
    }
    assert!(summary.lines().count() <= 12, "short:\n{summary}");
    let page = out.join("report.html");
    assert!(summary.ends_with(&format!("report: {}", page.display())));
    let json = std::fs::read_to_string(out.join("report.json")).unwrap();
    let html = std::fs::read_to_string(page).unwrap();
    assert_contract(&serde_json::from_str(&json).unwrap(), &html);
}
