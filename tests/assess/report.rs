//! The report generator on a fixed input: JSON valid against the schema, HTML escaped,
//! self-contained, with examples linked to their moments; rendered in headless Chromium
//! when it is installed.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use crate::prereq;
use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Value, json};
use vibeinsight::clients::llm::{
    LlmError, LlmProvider, LlmRequest, LlmResponse, TokenUsage, Written,
};
use vibeinsight::domain::{Language, TranscriptSegment};
use vibeinsight::pipeline::assess::Assessment;
use vibeinsight::pipeline::outcome::Judged;
use vibeinsight::report::{self, ReportInput};

/// An in-process provider with a fixed answer: the report test is about rendering.
struct Fixed(String);

impl LlmProvider for Fixed {
    fn name(&self) -> &'static str {
        "gemini"
    }
    fn model(&self) -> &str {
        "gemini-2.5-flash"
    }
    fn generate<'a>(
        &'a self,
        _: &'a LlmRequest,
        _: Written<'a>,
    ) -> BoxFuture<'a, Result<LlmResponse, LlmError>> {
        let usage = TokenUsage {
            input_tokens: 2100,
            output_tokens: 640,
        };
        async move {
            Ok(LlmResponse {
                text: self.0.clone(),
                usage,
                model: "gemini-2.5-flash".into(),
            })
        }
        .boxed()
    }
}

fn hostile_segments() -> Vec<TranscriptSegment> {
    let mut segs = segments();
    segs[5].text = "はい、そうですね…<script>alert(\"x\")</script> & <b>".to_owned();
    segs
}

async fn build(
    provider: Option<&dyn LlmProvider>,
    segs: &[TranscriptSegment],
    lang: Language,
) -> Assessment {
    assess_with(provider, segs, &metrics(), lang).await.unwrap()
}

/// A produced judgement on `segs`, in Japanese.
async fn produced(segs: &[TranscriptSegment]) -> Assessment {
    build(Some(&Fixed(valid_answer().to_string())), segs, Language::Ja).await
}

/// The measuring stage's record for `segs`, in the stored shape; the turns are the segments.
fn stage_record(segs: &[TranscriptSegment]) -> Value {
    let turns: Vec<Value> = segs
        .iter()
        .map(|s| json!({"speaker": format!("speaker_{}", s.speaker.unwrap()), "start": s.span.start, "end": s.span.end}))
        .collect();
    let measured = |value: Value| json!({"value": value, "confidence": 0.97, "withheld": null});
    json!({
        "audio": {"duration_secs": 93.0, "channels": 1, "sample_rate": 48000, "codec": "opus", "bytes": 700_000,
                  "truncated": false, "skipped_packets": 0, "analysis_rate": 16000,
                  "analysis_samples": 1_488_000, "dual_channel_kept": false},
        "audio_quality": {"audio_quality": {"duration_s": 93.0, "integrated_lufs": -23.0, "true_peak_dbtp": -3.0, "snr_db": 30.0},
                          "warnings": [], "speech_seconds": 86.9, "speech_regions": 13},
        "diarization": {"mode": "Neural", "num_speakers": 2, "confidence": 0.97, "turns": turns,
                        "overlaps": [{"start": 26.0, "end": 26.3}]},
        "speaking": {"speakers": measured(json!([])), "gini_coefficient": measured(json!(0.08)),
                     "switches_per_minute": measured(json!(8.4)), "response_latency": measured(json!({})),
                     "overlaps": measured(json!([])), "silences": measured(json!([]))},
        "transcription": {"model": "whisper-1"},
        "lexical": {"language": "ja", "speakers": {}},
        "extra_key_from_measure_stage": {"kept": true}
    })
}

fn write(
    dir: &Path,
    segs: &[TranscriptSegment],
    a: &Assessment,
    lang: Language,
) -> (Value, String) {
    let metrics = stage_record(segs);
    let input = ReportInput {
        segments: segs,
        language: lang,
        metrics: &metrics,
        judged: Judged::Assessed(a),
        pipeline_version: "0.1.0",
        generated_at: "2025-06-01T10:00:00Z",
    };
    report::write(dir, &input).unwrap();
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    (
        json,
        std::fs::read_to_string(dir.join("report.html")).unwrap(),
    )
}

fn out_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name)
}

fn assert_schema_valid(json: &Value) {
    let validator = jsonschema::validator_for(&report::json::schema()).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(json)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[tokio::test]
async fn produced_report_matches_schema_and_links_examples() {
    let segs = hostile_segments();
    let a = produced(&segs).await;
    let (json, html) = write(&out_dir("report_produced"), &segs, &a, Language::Ja);
    assert_schema_valid(&json);
    assert_eq!(json["judgement"]["status"], "produced");
    assert_eq!(json["coaching_skills"]["empathy"]["score"], 4);
    assert_eq!(json["diagnosis"]["name"], "好奇心の探検家");
    assert_eq!(json["speaker_analysis"]["coach_speaking_ratio"], 0.42);
    let emo = &json["emotion_analysis"]["client"];
    assert_eq!(
        emo["positive"].as_u64().unwrap()
            + emo["neutral"].as_u64().unwrap()
            + emo["negative"].as_u64().unwrap(),
        100
    );
    assert_eq!(
        json["metrics"]["extra_key_from_measure_stage"]["kept"], true,
        "metrics stored whole"
    );
    assert!(json["metrics"]["roles"]["confidence"].as_f64().unwrap() >= 0.65);
    assert_eq!(
        json["metrics"]["conversation"]["interactivity_per_min"],
        8.4
    );
    assert_eq!(json["provenance"]["usage"]["input_tokens"], 2100);

    assert!(
        !html.contains("<script>")
            && html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;")
    );
    for n in [3, 7, 9, 11] {
        assert!(
            html.contains(&format!("href=\"#seg-{n}\""))
                && html.contains(&format!("id=\"seg-{n}\"")),
            "seg {n}"
        );
    }
    assert!(
        !html.contains("http://")
            || html
                .matches("http://")
                .all(|_| html.contains("xmlns=\"http://www.w3.org/2000/svg\""))
    );
    assert!(
        !html.contains("<link") && !html.contains("src=\""),
        "self-contained"
    );
    assert!(html.contains("class=\"interrupt\"") && html.contains("class=\"silence\""));
    let bars: Vec<&str> = html
        .split("<rect class=\"turn\"")
        .skip(1)
        .map(|bar| bar.split("</rect>").next().unwrap())
        .collect();
    assert_eq!(bars.len(), segs.len(), "a bar per diarization turn");
    let summary = report::summary::text(&serde_json::from_value(json.clone()).unwrap());
    assert!(
        summary.contains("Judgement: produced (style ") && summary.contains("empathy 4"),
        "{summary}"
    );
    assert!(
        bars.iter()
            .any(|bar| bar.contains("<title>") && bar.contains("&lt;script&gt;alert")),
        "the transcript's text is on the bar's hover, escaped"
    );
}

/// Markup in every free-text slot of the model's answer (summaries, comments, reason,
/// prescriptions): the page shows each one as text, never as markup.
#[tokio::test]
async fn model_text_is_escaped_in_every_slot() {
    const HOSTILE: &str = "<img src=x onerror=alert(1)>";
    let mut answer = valid_answer();
    let mut slots = 0;
    let mut taint = |v: &mut Value| {
        *v = Value::String(format!("{} {HOSTILE}", v.as_str().unwrap()));
        slots += 1;
    };
    for skill in ["listening", "questioning", "empathy", "feedback"] {
        let s = &mut answer["coaching_skills"][skill];
        taint(&mut s["summary"]);
        for ex in s["examples"].as_array_mut().unwrap() {
            taint(&mut ex["comment"]);
        }
    }
    taint(&mut answer["diagnosis"]["reason"]);
    for p in answer["prescriptions"].as_array_mut().unwrap() {
        taint(&mut p["action"]);
        taint(&mut p["target"]);
    }
    let segs = segments();
    let a = build(Some(&Fixed(answer.to_string())), &segs, Language::En).await;
    let (json, html) = write(&out_dir("report_hostile_model"), &segs, &a, Language::En);
    assert_eq!(
        json["judgement"]["status"], "produced",
        "{}",
        json["judgement"]
    );
    assert!(!html.contains("<img"), "model text rendered as markup");
    assert!(
        html.matches("&lt;img src=x onerror=alert(1)&gt;").count() >= slots,
        "every slot shown, escaped"
    );
}

#[tokio::test]
async fn not_produced_report_has_null_judgement_and_says_so() {
    let segs = segments();
    let a = build(None, &segs, Language::En).await;
    let (json, html) = write(&out_dir("report_none"), &segs, &a, Language::En);
    assert_schema_valid(&json);
    for key in [
        "coaching_skills",
        "emotion_analysis",
        "diagnosis",
        "prescriptions",
    ] {
        assert!(json[key].is_null(), "{key} must be null, got {}", json[key]);
    }
    assert_eq!(json["judgement"]["status"], "not_produced");
    assert!(json["provenance"]["usage"].is_null());
    assert_eq!(
        json["conversation_events"].as_array().unwrap().len(),
        3,
        "measured sections complete"
    );
    assert_eq!(html.matches("Not produced").count(), 4);
    assert!(
        !html.contains("class=\"score\""),
        "no scores without a judgement"
    );
    // The measured cues alone (questions, opening, closing, talk share) are decisive here.
    assert_eq!(json["speaker_analysis"]["roles_certain"], true);
    assert_eq!(json["speaker_analysis"]["speakers"][1]["label"], "coach");
}

#[tokio::test]
async fn an_invalid_judgement_says_why_in_both_files() {
    let segs = segments();
    let bad = schema_violating_answer().to_string();
    let a = build(Some(&Fixed(bad)), &segs, Language::En).await;
    let dir = out_dir("report_invalid");
    let (json, html) = write(&dir, &segs, &a, Language::En);
    assert_schema_valid(&json);
    assert_eq!(json["judgement"]["status"], "invalid");
    let reasons = json["judgement"]["reasons"].as_array().unwrap();
    assert!(
        reasons
            .iter()
            .any(|r| r.as_str().unwrap().contains("listening.score = 7"))
    );
    assert!(json["coaching_skills"].is_null() && json["diagnosis"].is_null());
    assert!(
        json["speaker_analysis"]["speakers"].is_array(),
        "measured sections stay"
    );
    assert!(html.contains("data-status=\"invalid\"") && html.contains("listening.score = 7"));
    assert!(
        !html.contains("class=\"score\""),
        "no scores without a judgement"
    );
}

#[tokio::test]
async fn ambiguous_evidence_leaves_roles_uncertain() {
    let mut segs = segments();
    segs.pop(); // the client now closes the session
    let mut metrics = metrics();
    metrics["speakers"][0]["questions"]["open"] = 3.into(); // both ask equally
    let a = assess_with(None, &segs, &metrics, Language::Ja)
        .await
        .unwrap();
    assert!(
        a.roles.confidence < 0.65 && a.roles.coach.is_none(),
        "{:?}",
        a.roles
    );
    let record = stage_record(&segs);
    let rin = ReportInput {
        segments: &segs,
        language: Language::Ja,
        metrics: &record,
        judged: Judged::Assessed(&a),
        pipeline_version: "0.1.0",
        generated_at: "t",
    };
    let (json, html) = {
        let dir = out_dir("report_uncertain");
        report::write(&dir, &rin).unwrap();
        let j: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap())
                .unwrap();
        (j, std::fs::read_to_string(dir.join("report.html")).unwrap())
    };
    assert_schema_valid(&json);
    assert!(json["speaker_analysis"]["coach_speaking_ratio"].is_null());
    assert_eq!(
        json["speaker_analysis"]["speakers"][0]["label"],
        "speaker_0"
    );
    assert!(html.contains("id=\"roles-uncertain\""));
}

#[test]
fn withheld_measurements_give_a_valid_report_without_a_page() {
    let segs = segments();
    let record = stage_record(&segs);
    let input = ReportInput {
        segments: &segs,
        language: Language::En,
        metrics: &record,
        judged: Judged::Withheld("one voice declared as two"),
        pipeline_version: "0.1.0",
        generated_at: "t",
    };
    let dir = out_dir("report_withheld");
    let _ = std::fs::remove_dir_all(&dir);
    let built = report::write(&dir, &input).unwrap();
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_schema_valid(&json);
    assert!(json["speaker_analysis"].is_null() && json["metrics"]["conversation"].is_null());
    assert!(
        json["judgement"]["reason"]
            .as_str()
            .unwrap()
            .contains("one voice declared as two")
    );
    assert!(!dir.join("report.html").exists(), "no per-speaker page");
    let summary = report::summary::text(&built);
    assert!(summary.contains("Speakers: not measured"), "{summary}");
}

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

#[tokio::test]
async fn html_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        prereq::missing("no chromium on PATH (apt-get install -y chromium)");
        return;
    };
    let segs = hostile_segments();
    let a = produced(&segs).await;
    let dir = out_dir("report_chromium");
    write(&dir, &segs, &a, Language::Ja);
    let html = dir.join("report.html");
    let flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
    ];
    let out = Command::new(browser)
        .args(flags)
        .arg("--dump-dom")
        .arg(&html)
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        dom.contains("id=\"seg-13\"") && dom.contains("<svg"),
        "DOM not rendered: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = dir.join("report.png");
    let shot = Command::new(browser)
        .args(flags)
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1200,3400")
        .arg(&html)
        .output()
        .unwrap();
    assert!(
        shot.status.success() && std::fs::metadata(&png).is_ok_and(|m| m.len() > 10_000),
        "screenshot failed"
    );
    eprintln!("screenshot: {}", png.display());
}

#[tokio::test]
async fn a_degraded_diarization_is_said_in_the_report() {
    let segs = segments();
    let a = produced(&segs).await;
    let mut metrics = metrics();
    let reason = "diarization models not found";
    metrics["diarization"] = json!({
        "mode": "Mono", "degraded": reason, "num_speakers": 2, "confidence": 0.6,
        "turns": [], "overlaps": [],
    });
    let input = ReportInput {
        segments: &segs,
        language: Language::En,
        metrics: &metrics,
        judged: Judged::Assessed(&a),
        pipeline_version: "0.1.0",
        generated_at: "t",
    };
    let dir = out_dir("report_degraded");
    report::write(&dir, &input).unwrap();
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("id=\"diarization-degraded\""), "{html}");
    assert!(html.contains("diarization ran in degraded mode") && html.contains(reason));
    let (_, plain) = write(&out_dir("report_not_degraded"), &segs, &a, Language::En);
    assert!(!plain.contains("diarization-degraded"));
}
