//! The assessment against a local server speaking OpenAI's chat-completions protocol.

use std::time::Duration;

use crate::common::*;
use secrecy::SecretString;
use serde_json::json;
use vibeinsight::clients::llm::{ErrorClass, LlmError};
use vibeinsight::clients::openai_chat::OpenAiChatClient;
use vibeinsight::pipeline::assess::{AssessError, Assessment};
use vibeinsight::pipeline::types::Language;

async fn run(
    script: Vec<(u16, String)>,
    key: Option<&str>,
) -> (Result<Assessment, AssessError>, Stub) {
    let stub = Stub::start(script).await;
    let key = key.map(SecretString::from);
    let client = OpenAiChatClient::new(
        format!("{}/v1/", stub.base_url),
        "gpt-4o-mini".into(),
        key,
        Duration::from_secs(10),
    )
    .unwrap();
    let result = assess_with(Some(&client), &segments(), &metrics(), Language::En).await;
    (result, stub)
}

#[tokio::test]
async fn valid_answer_with_strict_json_schema_request() {
    let (result, stub) = run(
        vec![openai_ok(&valid_answer().to_string())],
        Some("sk-test"),
    )
    .await;
    let a = result.unwrap();
    assert_eq!(
        a.judgement().unwrap().diagnosis.style_id,
        "curious_explorer"
    );
    let u = a.usage.unwrap();
    assert_eq!((u.input_tokens, u.output_tokens), (1000, 250));
    assert_eq!(u.model, "gpt-4o-mini-2024-07-18");
    assert!(
        u.cost_usd.is_some(),
        "dated model names match the price table by prefix"
    );

    let r = &stub.recorded()[0];
    assert_eq!(r.path, "/v1/chat/completions");
    assert_eq!(r.headers.get("authorization").unwrap(), "Bearer sk-test");
    let rf = &r.body["response_format"];
    assert_eq!(rf["type"], "json_schema");
    assert_eq!(rf["json_schema"]["strict"], true);
    assert_eq!(rf["json_schema"]["name"], "coaching_assessment");
    assert_eq!(rf["json_schema"]["schema"]["additionalProperties"], false);
    assert_eq!(r.body["messages"][0]["role"], "system");
    assert!(
        r.body["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("in English")
    );
}

#[tokio::test]
async fn local_server_without_key_sends_no_authorization() {
    let (result, stub) = run(vec![openai_ok(&valid_answer().to_string())], None).await;
    assert!(result.is_ok());
    assert!(stub.recorded()[0].headers.get("authorization").is_none());
}

#[tokio::test]
async fn fenced_json_from_a_local_model_is_accepted() {
    let fenced = format!("```json\n{}\n```", valid_answer());
    let (result, stub) = run(vec![openai_ok(&fenced)], None).await;
    assert!(result.unwrap().judgement().is_some());
    assert_eq!(stub.recorded().len(), 1);
}

#[tokio::test]
async fn misquote_is_repaired_once() {
    let script = vec![
        openai_ok(&misquoted_answer().to_string()),
        openai_ok(&valid_answer().to_string()),
    ];
    let (result, stub) = run(script, None).await;
    assert!(result.unwrap().judgement().is_some());
    let reqs = stub.recorded();
    assert_eq!(reqs.len(), 2);
    assert!(
        reqs[1].body["messages"][1]["content"]
            .as_str()
            .unwrap()
            .contains("does not occur in segment #7")
    );
}

#[tokio::test]
async fn schema_violation_twice_is_transient() {
    let bad = schema_violating_answer().to_string();
    let (result, stub) = run(vec![openai_ok(&bad), openai_ok(&bad)], None).await;
    let err = result.unwrap_err();
    assert!(matches!(err, AssessError::InvalidOutput { .. }));
    assert_eq!(err.class(), ErrorClass::Transient);
    assert_eq!(stub.recorded().len(), 2);
}

#[tokio::test]
async fn refusal_and_content_filter_are_transient_blocks() {
    let refusal = json!({"choices": [{"message": {"role": "assistant", "content": null, "refusal": "I can't help"}, "finish_reason": "stop"}]});
    let filtered = json!({"choices": [{"message": {"role": "assistant", "content": ""}, "finish_reason": "content_filter"}]});
    for body in [refusal, filtered] {
        let (result, _) = run(vec![(200, body.to_string())], None).await;
        let err = result.unwrap_err();
        assert_eq!(err.class(), ErrorClass::Transient);
        assert!(
            matches!(err, AssessError::Llm(LlmError::Blocked { .. })),
            "{err}"
        );
    }
}

#[tokio::test]
async fn truncated_answer_is_transient() {
    let body =
        json!({"choices": [{"message": {"content": "{\"coach"}, "finish_reason": "length"}]});
    let (result, _) = run(vec![(200, body.to_string())], None).await;
    assert!(matches!(
        result.unwrap_err(),
        AssessError::Llm(LlmError::Incomplete { .. })
    ));
}

#[tokio::test]
async fn rate_limit_and_server_errors_are_transient() {
    let limited =
        json!({"error": {"message": "Rate limit reached", "type": "requests"}}).to_string();
    for (status, body) in [
        (429, limited),
        (500, "oops".to_owned()),
        (503, String::new()),
    ] {
        let (result, _) = run(vec![(status, body)], None).await;
        let err = result.unwrap_err();
        assert_eq!(err.class(), ErrorClass::Transient, "{status}: {err}");
    }
}

#[tokio::test]
async fn bad_request_and_auth_errors_are_permanent() {
    for status in [400, 401, 403, 404] {
        let (result, _) = run(
            vec![(status, "{\"error\": {\"message\": \"bad\"}}".to_owned())],
            Some("sk"),
        )
        .await;
        assert_eq!(
            result.unwrap_err().class(),
            ErrorClass::Permanent,
            "{status}"
        );
    }
}

#[tokio::test]
async fn garbled_success_body_is_a_transient_protocol_error() {
    let (result, _) = run(vec![(200, "<html>proxy login</html>".to_owned())], None).await;
    let err = result.unwrap_err();
    assert!(
        matches!(err, AssessError::Llm(LlmError::Protocol { .. })),
        "{err}"
    );
    assert_eq!(err.class(), ErrorClass::Transient);
}
