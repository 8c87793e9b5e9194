//! The assessment against a local server speaking Gemini's `generateContent` protocol.

use std::time::Duration;

use crate::common::*;
use secrecy::SecretString;
use serde_json::json;
use vibeinsight::clients::gemini::GeminiClient;
use vibeinsight::clients::llm::{ErrorClass, LlmError, LlmProvider};
use vibeinsight::domain::Language;
use vibeinsight::pipeline::assess::inputs::MeasuredMetrics;
use vibeinsight::pipeline::assess::{
    AssessError, AssessInput, AssessOptions, Assessment, JudgementStatus, OnOutage, assess,
};

const KEY: &str = "test-key-do-not-log";

async fn run(script: Vec<(u16, String)>) -> (Result<Assessment, AssessError>, Stub) {
    let stub = Stub::start(script).await;
    let client = gemini(&stub);
    let result = assess_with(Some(&client), &segments(), &metrics(), Language::Ja).await;
    (result, stub)
}

fn gemini(stub: &Stub) -> GeminiClient {
    GeminiClient::new(
        "gemini-2.5-flash".into(),
        SecretString::from(KEY),
        Duration::from_secs(10),
    )
    .unwrap()
    .with_base_url(&format!("{}/v1beta", stub.base_url))
}

fn transient_llm(err: &AssessError) -> &LlmError {
    let llm = llm_error(err);
    assert_eq!(llm.class(), ErrorClass::Transient, "{err}");
    llm
}

#[tokio::test]
async fn valid_answer_is_produced_with_usage_and_exact_request_shape() {
    let (result, stub) = run(vec![gemini_ok(&valid_answer().to_string())]).await;
    let a = result.unwrap();
    let j = a.judgement().expect("produced");
    assert_eq!(j.coaching_skills.questioning.score, 4);
    assert_eq!(
        j.coaching_skills.listening.examples[0].start, 38.2,
        "time comes from the transcript"
    );
    assert_eq!(a.roles.coach, Some(1));
    let u = a.usage.unwrap();
    assert_eq!((u.calls, u.input_tokens, u.output_tokens), (1, 1200, 350));
    assert!((u.cost_usd.unwrap() - (1200.0 * 0.30 + 350.0 * 2.50) / 1e6).abs() < 1e-12);

    let reqs = stub.recorded();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].path,
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    );
    assert_eq!(reqs[0].headers.get("x-goog-api-key").unwrap(), KEY);
    let cfg = &reqs[0].body["generationConfig"];
    assert_eq!(cfg["responseMimeType"], "application/json");
    assert_eq!(cfg["responseJsonSchema"]["type"], "object");
    assert!(
        cfg["responseJsonSchema"]["properties"]["diagnosis"]["properties"]["style_id"]["enum"]
            .as_array()
            .unwrap()
            .len()
            >= 8
    );
    let prompt = reqs[0].body["contents"][0]["parts"][0]["text"]
        .as_str()
        .unwrap();
    assert!(
        prompt.contains("[#7 00:38.2-00:44.0 speaker_1] 落ち込んでいるんですね。"),
        "{prompt}"
    );
    assert!(prompt.contains("speaker_1.mean_response_latency_s = 0.25"));
    assert!(
        reqs[0].body["systemInstruction"]["parts"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Japanese")
    );
}

#[tokio::test]
async fn malformed_json_gets_one_repair_then_succeeds() {
    let script = vec![
        gemini_ok("{\"coach_speaker\": 1, \"coaching_"),
        gemini_ok(&valid_answer().to_string()),
    ];
    let (result, stub) = run(script).await;
    assert!(result.unwrap().judgement().is_some());
    let reqs = stub.recorded();
    assert_eq!(reqs.len(), 2);
    let repair = reqs[1].body["contents"][0]["parts"][0]["text"]
        .as_str()
        .unwrap();
    assert!(
        repair.contains("## Problems found in it") && repair.contains("not valid JSON"),
        "{repair}"
    );
}

#[tokio::test]
async fn malformed_twice_settles_as_invalid() {
    let (result, stub) = run(vec![gemini_ok("not json"), gemini_ok("still not json")]).await;
    let a = result.unwrap();
    assert!(invalid_reasons(&a)[0].contains("not valid JSON"));
    assert_eq!(stub.recorded().len(), 2, "exactly one repair attempt");
}

#[tokio::test]
async fn schema_violations_are_listed_in_the_repair_request() {
    let bad = schema_violating_answer().to_string();
    let (result, stub) = run(vec![gemini_ok(&bad), gemini_ok(&bad)]).await;
    let a = result.unwrap();
    let all = invalid_reasons(&a).join("\n");
    assert!(all.contains("listening.score = 7"), "{all}");
    assert!(all.contains("summing to 100"), "{all}");
    assert!(all.contains("was measured as 0.25, not 4"), "{all}");
    let repair = stub.recorded()[1].body["contents"][0]["parts"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(repair.contains("listening.score = 7"));
}

#[tokio::test]
async fn misquoted_example_is_rejected_then_repaired() {
    let script = vec![
        gemini_ok(&misquoted_answer().to_string()),
        gemini_ok(&valid_answer().to_string()),
    ];
    let (result, stub) = run(script).await;
    assert!(result.unwrap().judgement().is_some());
    let repair = stub.recorded()[1].body["contents"][0]["parts"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(repair.contains("does not occur in segment #7"), "{repair}");
}

#[tokio::test]
async fn misquoted_twice_is_invalid_without_defaults() {
    let bad = misquoted_answer().to_string();
    let (result, _) = run(vec![gemini_ok(&bad), gemini_ok(&bad)]).await;
    let a = result.unwrap();
    assert!(
        invalid_reasons(&a)
            .join("\n")
            .contains("does not occur in segment #7")
    );
    assert!(a.judgement().is_none());
}

#[tokio::test]
async fn an_outage_on_the_last_attempt_settles_as_unavailable() {
    let body = json!({"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}});
    let stub = Stub::start(vec![(503, body.to_string())]).await;
    let client = gemini(&stub);
    let a = assess_on_outage(
        Some(&client),
        &segments(),
        &metrics(),
        Language::Ja,
        OnOutage::Settle,
    )
    .await
    .unwrap();
    assert!(unavailable_reason(&a).contains("HTTP 503"));
    assert!(a.judgement().is_none());
    assert_eq!(a.roles.candidate, Some(1), "the measured roles are kept");
}

#[tokio::test]
async fn prompt_block_is_transient_without_repair() {
    let body = json!({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 10}});
    let (result, stub) = run(vec![(200, body.to_string())]).await;
    let err = result.unwrap_err();
    assert!(
        matches!(transient_llm(&err), LlmError::Blocked { .. }),
        "{err}"
    );
    assert_eq!(stub.recorded().len(), 1);
}

#[tokio::test]
async fn finish_reason_safety_is_transient() {
    let body =
        json!({"candidates": [{"content": {"parts": [{"text": "{"}]}, "finishReason": "SAFETY"}]});
    let (result, _) = run(vec![(200, body.to_string())]).await;
    let err = result.unwrap_err();
    assert!(
        matches!(transient_llm(&err), LlmError::Blocked { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn resource_exhausted_429_is_transient_with_the_status_in_the_message() {
    let body = json!({"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}});
    let (result, _) = run(vec![(429, body.to_string())]).await;
    let err = result.unwrap_err();
    let llm = transient_llm(&err);
    assert!(matches!(llm, LlmError::Status { status: 429, .. }));
    assert!(
        err.to_string()
            .contains("RESOURCE_EXHAUSTED: Quota exceeded")
    );
}

#[tokio::test]
async fn server_errors_with_non_json_bodies_are_transient() {
    for status in [500, 503, 504] {
        let (result, _) = run(vec![(
            status,
            "<html><body>Bad Gateway</body></html>".to_owned(),
        )])
        .await;
        let err = result.unwrap_err();
        assert!(
            matches!(transient_llm(&err), LlmError::Status { .. }),
            "{status}: {err}"
        );
        assert!(err.to_string().contains("Bad Gateway"));
    }
}

#[tokio::test]
async fn client_errors_settle_as_unavailable_and_never_leak_the_key() {
    for status in [400, 403, 404] {
        let body =
            json!({"error": {"code": status, "message": "nope", "status": "INVALID_ARGUMENT"}});
        let (result, stub) = run(vec![(status, body.to_string())]).await;
        let a = result.unwrap();
        let reason = unavailable_reason(&a);
        assert!(reason.contains(&format!("HTTP {status}")), "{reason}");
        assert!(!format!("{a:?}").contains(KEY));
        assert_eq!(stub.recorded().len(), 1, "no repair for transport errors");
    }
}

#[tokio::test]
async fn client_debug_output_redacts_the_key() {
    let client =
        GeminiClient::new("m".into(), SecretString::from(KEY), Duration::from_secs(1)).unwrap();
    assert!(!format!("{client:?}").contains(KEY));
}

#[tokio::test]
async fn long_session_is_summarised_in_parts_then_assessed() {
    let part = |moment: u32, quote: &str| {
        gemini_ok(&json!({"summary": "要約", "key_moments": [{"segment": moment, "quote": quote, "comment": "c"}]}).to_string())
    };
    // A tiny budget forces parts; the stub answers each part, then the final assessment.
    let segs = segments();
    let parts = match vibeinsight::pipeline::assess::plan::plan(&segs, 120) {
        vibeinsight::pipeline::assess::plan::ContextPlan::Parts(p) => p,
        other => panic!("expected parts, got {other:?}"),
    };
    let mut script: Vec<_> = parts
        .iter()
        .map(|r| part(r.start as u32 + 1, &segs[r.start].text))
        .collect();
    script.push(gemini_ok(&valid_answer().to_string()));
    let stub = Stub::start(script).await;
    let client = gemini(&stub);
    let metrics = MeasuredMetrics::from_json(&metrics()).unwrap();
    let input = AssessInput {
        segments: &segs,
        language: Language::Ja,
        metrics: &metrics,
        on_outage: OnOutage::Retry,
        written: &|_| {},
    };
    let opts = AssessOptions {
        transcript_budget_tokens: 120,
        ..AssessOptions::default()
    };
    let a = assess(Some(&client as &dyn LlmProvider), &input, &opts)
        .await
        .unwrap();
    assert_eq!(a.context_plan, format!("parts:{}", parts.len()));
    assert_eq!(a.usage.unwrap().calls as usize, parts.len() + 1);
    let reqs = stub.recorded();
    let last = reqs.last().unwrap().body["contents"][0]["parts"][0]["text"]
        .as_str()
        .unwrap();
    assert!(
        last.contains("## The session in parts") && last.contains("[#1 00:00.0-00:04.0 speaker_1]"),
        "{last}"
    );
    assert!(
        !last.contains("## Transcript (segment"),
        "the final prompt does not carry the whole transcript"
    );
}

#[tokio::test]
async fn no_provider_means_not_produced_never_defaults() {
    let a = assess_with(None, &segments(), &metrics(), Language::Ja)
        .await
        .unwrap();
    assert!(matches!(a.judgement, JudgementStatus::NotProduced { .. }));
    assert!(a.usage.is_none());
    // Without the LLM's reading, the measured cues alone still favour speaker 1.
    assert_eq!(a.roles.candidate, Some(1));
}
