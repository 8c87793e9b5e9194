//! Shared fixtures: a short Japanese coaching session, its metrics, valid and broken LLM
//! answers, and a local HTTP server that replays scripted provider responses.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use serde_json::{Value, json};
use vibeinsight::clients::llm::{LlmError, LlmProvider};
use vibeinsight::domain::{Language, Span, TranscriptSegment};
use vibeinsight::pipeline::assess::inputs::MeasuredMetrics;
use vibeinsight::pipeline::assess::{
    AssessError, AssessInput, AssessOptions, Assessment, JudgementStatus, OnOutage, assess,
};

pub fn segments() -> Vec<TranscriptSegment> {
    let rows: [(usize, f64, f64, &str); 13] = [
        (
            1,
            0.0,
            4.0,
            "こんにちは。今日はどんなことを話したいですか？",
        ),
        (
            0,
            4.6,
            12.0,
            "最近、チームのメンバーとのコミュニケーションがうまくいかなくて悩んでいます。",
        ),
        (
            1,
            12.2,
            15.0,
            "なるほど、うまくいかないと感じるのはどんな場面ですか？",
        ),
        (
            0,
            15.8,
            26.0,
            "会議で意見を言っても、誰も反応してくれないんです。正直ちょっと落ち込んでいます。",
        ),
        (
            1,
            26.1,
            34.0,
            "それなら、会議の前に資料を配って、アジェンダを明確にすればいいですよ。",
        ),
        (0, 34.5, 38.0, "はい、そうですね…。"),
        (
            1,
            38.2,
            44.0,
            "落ち込んでいるんですね。それはつらいですよね。",
        ),
        (
            0,
            48.0,
            58.0,
            "ありがとうございます。実は、自分の伝え方にも問題があるのかなと思っています。",
        ),
        (
            1,
            58.3,
            62.0,
            "伝え方について、もう少し詳しく教えてもらえますか？",
        ),
        (
            0,
            62.5,
            75.0,
            "結論から話すのが苦手で、前置きが長くなってしまうんです。",
        ),
        (
            1,
            75.2,
            82.0,
            "前置きが長いと気づけたのは大きな一歩ですね。次の会議で試せることは何でしょう？",
        ),
        (0, 82.5, 90.0, "まず結論を一言で言ってみます。"),
        (
            1,
            90.2,
            93.0,
            "いいですね。来週どうだったか聞かせてください。",
        ),
    ];
    rows.iter()
        .map(|(s, a, b, t)| TranscriptSegment {
            span: Span { start: *a, end: *b },
            speaker: Some(*s),
            text: (*t).to_owned(),
            words: vec![],
            confidence: Some(0.9),
        })
        .collect()
}

pub fn metrics() -> Value {
    json!({
        "duration_s": 93.0, "gini_coefficient": 0.08, "interactivity_per_min": 8.4,
        "speakers": [
            {"speaker": 0, "talk_time_s": 50.4, "talk_ratio": 0.58, "turns": 6, "mean_turn_s": 8.4,
             "longest_monologue_s": 12.5, "mean_response_latency_s": 0.5, "questions": {"open": 0, "closed": 0}},
            {"speaker": 1, "talk_time_s": 36.5, "talk_ratio": 0.42, "turns": 7, "mean_turn_s": 5.2,
             "longest_monologue_s": 7.9, "mean_response_latency_s": 0.25, "questions": {"open": 3, "closed": 0},
             "speech_rate": 310.0}
        ],
        "overlaps": [
            {"start": 26.0, "end": 26.3, "speaker": 1, "kind": "interruption"},
            {"start": 34.3, "end": 34.6, "speaker": 0, "kind": "backchannel", "text": "はい"}
        ],
        "silences": [{"start": 44.0, "end": 48.0}],
        "extra_key_from_measure_stage": {"kept": true}
    })
}

/// A valid answer: every quote occurs in its segment, every number was measured.
pub fn valid_answer() -> Value {
    json!({
        "coach_speaker": 1,
        "coach_reason": "speaker_1 asks the questions and opens and closes the session.",
        "coaching_skills": {
            "listening": {"score": 3, "summary": "感情を受け止めているが、解決策を急ぐ場面がある。",
                "examples": [{"segment": 7, "quote": "落ち込んでいるんですね", "comment": "感情を言葉にして返している。"}]},
            "questioning": {"score": 4, "summary": "開かれた質問で掘り下げている。",
                "examples": [{"segment": 3, "quote": "どんな場面ですか", "comment": "具体的な場面を尋ねている。"},
                             {"segment": 9, "quote": "もう少し詳しく教えてもらえますか？", "comment": "深掘りの質問。"}]},
            "empathy": {"score": 4, "summary": "つらさに共感している。",
                "examples": [{"segment": 7, "quote": "それはつらいですよね", "comment": "共感を示している。"}]},
            "feedback": {"score": 3, "summary": "気づきを承認している。",
                "examples": [{"segment": 11, "quote": "大きな一歩ですね", "comment": "前進を承認している。"}]}
        },
        "emotion_analysis": {
            "speaker_0": {"positive": 20, "neutral": 40, "negative": 40},
            "speaker_1": {"positive": 60, "neutral": 40, "negative": 0}
        },
        "diagnosis": {"style_id": "curious_explorer", "reason": "開かれた質問が中心で、相手の気づきを引き出している。"},
        "prescriptions": [
            {"action": "相手が話し終えたら3秒待ってから話し始める。", "metric": "speaker_1.mean_response_latency_s", "measured_value": 0.25, "target": "3秒"},
            {"action": "解決策を伝える前に、相手自身の案を尋ねる。", "metric": "speaker_1.questions_open", "measured_value": 3, "target": "6回"},
            {"action": "沈黙を急いで埋めず、考える時間として扱う。", "metric": "long_silences", "measured_value": 1, "target": "沈黙を恐れない"}
        ]
    })
}

pub fn misquoted_answer() -> Value {
    let mut v = valid_answer();
    v["coaching_skills"]["listening"]["examples"][0]["quote"] = json!("落ち込んでいるのですね");
    v
}

pub fn schema_violating_answer() -> Value {
    let mut v = valid_answer();
    v["coaching_skills"]["listening"]["score"] = json!(7);
    v["emotion_analysis"]["speaker_0"]["negative"] = json!(30);
    v["prescriptions"][0]["measured_value"] = json!(4.0);
    v
}

pub fn gemini_ok(answer: &str) -> (u16, String) {
    let body = json!({
        "candidates": [{"content": {"parts": [{"text": answer}], "role": "model"}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 1200, "candidatesTokenCount": 300, "thoughtsTokenCount": 50, "totalTokenCount": 1550},
        "modelVersion": "gemini-2.5-flash"
    });
    (200, body.to_string())
}

pub fn openai_ok(answer: &str) -> (u16, String) {
    let body = json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer, "refusal": null}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 250, "total_tokens": 1250}
    });
    (200, body.to_string())
}

/// One request the stub received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
}

/// A local server that answers each POST with the next scripted `(status, body)`. A 200
/// JSON answer to a request that asks for a stream goes out as the provider streams it
/// (server-sent events, the text in pieces), unless the stub plays a server that ignores
/// the stream request.
pub struct Stub {
    pub base_url: String,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Stub {
    pub async fn start(script: Vec<(u16, String)>) -> Stub {
        Self::serve(script, true).await
    }

    /// A server that always answers with one JSON body, as some OpenAI-compatible ones do.
    pub async fn without_streaming(script: Vec<(u16, String)>) -> Stub {
        Self::serve(script, false).await
    }

    async fn serve(script: Vec<(u16, String)>, streams: bool) -> Stub {
        let script = Arc::new(Mutex::new(script.into_iter().rev().collect::<Vec<_>>()));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (s, r) = (script.clone(), requests.clone());
        let app = Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let (s, r) = (s.clone(), r.clone());
            async move {
                let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let wants_stream =
                    parsed["stream"] == true || uri.path().ends_with(":streamGenerateContent");
                r.lock().unwrap().push(Recorded {
                    path: uri.path_and_query().map_or("", |p| p.as_str()).to_owned(),
                    headers,
                    body: parsed,
                });
                let (status, text) = s
                    .lock()
                    .unwrap()
                    .pop()
                    .unwrap_or((599, "stub script exhausted".to_owned()));
                let json: Option<Value> = serde_json::from_str(&text).ok();
                let (content_type, text) = match json {
                    Some(whole) if streams && wants_stream && status == 200 => {
                        ("text/event-stream", as_events(&whole))
                    }
                    _ => (content_type(&text), text),
                };
                (
                    StatusCode::from_u16(status).unwrap(),
                    [("content-type", content_type)],
                    text,
                )
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Stub {
            base_url: format!("http://{addr}"),
            requests,
        }
    }

    pub fn recorded(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

/// A whole answer as the provider would have streamed it.
fn as_events(whole: &Value) -> String {
    let chunks = if whole.get("choices").is_some() {
        openai_chunks(whole)
    } else {
        gemini_chunks(whole)
    };
    let mut out: String = chunks
        .iter()
        .map(|c| format!("data: {c}\r\n\r\n"))
        .collect();
    if whole.get("choices").is_some() {
        out.push_str("data: [DONE]\n\n");
    }
    out
}

/// The text in pieces of a few characters (multi-byte ones included).
fn pieces(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(37).map(|c| c.iter().collect()).collect()
}

/// OpenAI: a delta per piece, then the finish reason, then the usage in an event of its own.
fn openai_chunks(whole: &Value) -> Vec<Value> {
    let choice = &whole["choices"][0];
    let message = &choice["message"];
    let model = &whole["model"];
    let mut chunks = vec![
        json!({"model": model, "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": null}]}),
    ];
    for piece in pieces(message["content"].as_str().unwrap_or_default()) {
        chunks.push(json!({"model": model, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}]}));
    }
    if let Some(refusal) = message["refusal"].as_str() {
        chunks.push(json!({"model": model, "choices": [{"index": 0, "delta": {"refusal": refusal}, "finish_reason": null}]}));
    }
    chunks.push(json!({"model": model, "choices": [{"index": 0, "delta": {}, "finish_reason": choice["finish_reason"]}]}));
    if !whole["usage"].is_null() {
        chunks.push(json!({"model": model, "choices": [], "usage": whole["usage"]}));
    }
    chunks
}

/// Gemini: each event a partial response; the last one with the finish reason and usage.
fn gemini_chunks(whole: &Value) -> Vec<Value> {
    let Some(candidate) = whole["candidates"].get(0) else {
        return vec![whole.clone()];
    };
    let text = candidate["content"]["parts"][0]["text"]
        .as_str()
        .unwrap_or_default();
    let mut chunks: Vec<Value> = pieces(text)
        .into_iter()
        .map(|piece| json!({"candidates": [{"content": {"parts": [{"text": piece}], "role": "model"}, "index": 0}], "modelVersion": whole["modelVersion"]}))
        .collect();
    let mut last = json!({"candidates": [{"content": {"parts": [{"text": ""}], "role": "model"}, "finishReason": candidate["finishReason"], "index": 0}], "modelVersion": whole["modelVersion"]});
    if !whole["usageMetadata"].is_null() {
        last["usageMetadata"] = whole["usageMetadata"].clone();
    }
    chunks.push(last);
    chunks
}

fn content_type(body: &str) -> &'static str {
    if body.trim_start().starts_with('{') {
        "application/json"
    } else {
        "text/html"
    }
}

/// The assessment of `segs` with default options, the way every provider test runs it: a
/// transient outage comes back as the error (attempts remain).
pub async fn assess_with(
    provider: Option<&dyn LlmProvider>,
    segs: &[TranscriptSegment],
    metrics: &Value,
    language: Language,
) -> Result<Assessment, AssessError> {
    assess_on_outage(provider, segs, metrics, language, OnOutage::Retry).await
}

pub async fn assess_on_outage(
    provider: Option<&dyn LlmProvider>,
    segs: &[TranscriptSegment],
    metrics: &Value,
    language: Language,
    on_outage: OnOutage,
) -> Result<Assessment, AssessError> {
    let metrics = MeasuredMetrics::from_json(metrics).unwrap();
    let input = AssessInput {
        segments: segs,
        language,
        metrics: &metrics,
        on_outage,
        written: &|_| {},
    };
    assess(provider, &input, &AssessOptions::default()).await
}

/// The provider error of an assessment that returned one (a transient outage).
pub fn llm_error(err: &AssessError) -> &LlmError {
    match err {
        AssessError::Llm(e) => e,
        other => panic!("expected an LLM error, got {other}"),
    }
}

/// The reason of an `unavailable` judgement.
pub fn unavailable_reason(a: &Assessment) -> &str {
    match &a.judgement {
        JudgementStatus::Unavailable { reason } => reason,
        other => panic!("expected unavailable, got {other:?}"),
    }
}

/// The problems of an `invalid` judgement.
pub fn invalid_reasons(a: &Assessment) -> &[String] {
    match &a.judgement {
        JudgementStatus::Invalid { reasons } => reasons,
        other => panic!("expected invalid, got {other:?}"),
    }
}
