//! The assessment against a local server speaking OpenAI's chat-completions protocol.

use std::time::Duration;

use crate::common::*;
use secrecy::SecretString;
use serde_json::json;
use vibeinsight::clients::llm::{ErrorClass, LlmError, LlmProvider, LlmRequest};
use vibeinsight::clients::openai_chat::OpenAiChatClient;
use vibeinsight::domain::Language;
use vibeinsight::pipeline::assess::{AssessError, Assessment};

async fn run(
    script: Vec<(u16, String)>,
    key: Option<&str>,
) -> (Result<Assessment, AssessError>, Stub) {
    let stub = Stub::start(script).await;
    let client = client(&stub, key);
    let result = assess_with(Some(&client), &segments(), &metrics(), Language::En).await;
    (result, stub)
}

/// A client of the stub; the base URL's trailing slash is the caller's kind of typo.
fn client(stub: &Stub, key: Option<&str>) -> OpenAiChatClient {
    OpenAiChatClient::new(
        format!("{}/v1/", stub.base_url),
        "gpt-4o-mini".into(),
        key.map(SecretString::from),
        Duration::from_secs(10),
    )
    .unwrap()
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
async fn the_answer_streams_and_reports_its_length_as_it_arrives() {
    let answer = valid_answer().to_string();
    let stub = Stub::start(vec![openai_ok(&answer)]).await;
    let client = client(&stub, None);
    let request = LlmRequest {
        system: "s".into(),
        user: "u".into(),
        schema_name: "x".into(),
        schema: json!({"type": "object"}),
        temperature: 0.2,
    };
    let seen = std::sync::Mutex::new(Vec::new());
    let response = client
        .generate(&request, &|chars| seen.lock().unwrap().push(chars))
        .await
        .unwrap();
    assert_eq!(
        response.text, answer,
        "the pieces join into the whole answer"
    );
    assert_eq!(
        (response.usage.input_tokens, response.usage.output_tokens),
        (1000, 250),
        "usage from the stream's last event"
    );
    let seen = seen.into_inner().unwrap();
    assert!(seen.len() > 10, "progress while the model writes: {seen:?}");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(*seen.last().unwrap(), answer.chars().count());
    let body = &stub.recorded()[0].body;
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(body["max_tokens"], 2048, "a looping model is cut off");
}

#[tokio::test]
async fn a_server_that_ignores_the_stream_request_is_read_whole() {
    let stub = Stub::without_streaming(vec![openai_ok(&valid_answer().to_string())]).await;
    let client = client(&stub, None);
    let result = assess_with(Some(&client), &segments(), &metrics(), Language::En).await;
    assert!(result.unwrap().judgement().is_some());
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
    let temperature = |i: usize| reqs[i].body["temperature"].as_f64().unwrap();
    assert!(
        temperature(1) > temperature(0),
        "a repair is a fresh sample, not a replay"
    );
    let example = &reqs[0].body["response_format"]["json_schema"]["schema"]["properties"]["coaching_skills"]
        ["properties"]["listening"]["properties"]["examples"]["items"]["properties"];
    let order: Vec<&String> = example.as_object().unwrap().keys().collect();
    assert_eq!(
        order,
        ["segment", "quote", "comment"],
        "the segment is chosen first"
    );
}

#[tokio::test]
async fn schema_violation_twice_settles_as_invalid_with_its_reasons() {
    let bad = schema_violating_answer().to_string();
    let (result, stub) = run(vec![openai_ok(&bad), openai_ok(&bad)], None).await;
    let a = result.unwrap();
    let reasons = invalid_reasons(&a).join("\n");
    assert!(reasons.contains("listening.score = 7"), "{reasons}");
    assert!(
        a.judgement().is_none(),
        "nothing of the invalid answer is kept"
    );
    assert_eq!(a.usage.unwrap().calls, 2, "both paid calls are accounted");
    assert_eq!(stub.recorded().len(), 2);
}

#[tokio::test]
async fn refusal_and_content_filter_are_transient_blocks() {
    let refusal = json!({"choices": [{"message": {"role": "assistant", "content": null, "refusal": "I can't help"}, "finish_reason": "stop"}]});
    let filtered = json!({"choices": [{"message": {"role": "assistant", "content": ""}, "finish_reason": "content_filter"}]});
    for body in [refusal, filtered] {
        let (result, _) = run(vec![(200, body.to_string())], None).await;
        let err = result.unwrap_err();
        assert_eq!(llm_error(&err).class(), ErrorClass::Transient);
        assert!(
            matches!(err, AssessError::Llm(LlmError::Blocked { .. })),
            "{err}"
        );
    }
}

#[tokio::test]
async fn an_answer_cut_off_at_the_output_limit_is_repaired_then_invalid() {
    let body =
        json!({"choices": [{"message": {"content": "{\"coach"}, "finish_reason": "length"}]});
    let (result, stub) = run(vec![(200, body.to_string()), (200, body.to_string())], None).await;
    let a = result.unwrap();
    assert!(
        invalid_reasons(&a)[0].contains("cut off"),
        "{:?}",
        a.judgement
    );
    let reqs = stub.recorded();
    assert_eq!(reqs.len(), 2, "one repair");
    let repair = reqs[1].body["messages"][1]["content"].as_str().unwrap();
    assert!(
        repair.contains("cut off") && repair.contains("{\"coach"),
        "{repair}"
    );
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
        assert_eq!(
            llm_error(&err).class(),
            ErrorClass::Transient,
            "{status}: {err}"
        );
    }
}

#[tokio::test]
async fn bad_request_and_auth_errors_settle_as_unavailable_at_once() {
    for status in [400, 401, 403, 404] {
        let (result, stub) = run(
            vec![(status, "{\"error\": {\"message\": \"bad\"}}".to_owned())],
            Some("sk"),
        )
        .await;
        let a = result.unwrap();
        let reason = unavailable_reason(&a);
        assert!(reason.contains(&format!("HTTP {status}")), "{reason}");
        assert_eq!(
            stub.recorded().len(),
            1,
            "retrying cannot help: no second call"
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
    assert_eq!(llm_error(&err).class(), ErrorClass::Transient);
}
