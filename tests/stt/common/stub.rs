//! A local HTTP server that speaks OpenAI's transcription protocol: it parses the
//! multipart body, checks the bearer key, the file part's filename, the model and the
//! response_format the model allows, decodes the uploaded audio and "recognises" tone
//! bursts as words (frequency → word), answering verbose_json / json / text /
//! diarized_json in OpenAI's shapes. Scripted replies inject OpenAI's errors.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::audio::{RATE, decode};

pub const KEY: &str = "sk-test-0123456789abcdef";

/// One scripted answer, used before the normal transcription behaviour.
#[derive(Clone, Debug)]
pub enum Reply {
    Status {
        status: u16,
        headers: Vec<(&'static str, String)>,
        content_type: &'static str,
        body: String,
    },
    /// Answer normally, but only after this long (to trigger client timeouts).
    Delay(Duration),
}

/// What the stub saw in one request.
#[derive(Clone, Debug, Default)]
pub struct Received {
    pub fields: Vec<(String, String)>,
    pub filename: Option<String>,
    pub file_bytes: usize,
}

impl Received {
    pub fn field(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// How long a remote provider takes to answer one request: a fixed overhead (upload,
/// queueing, model start) plus a share of the audio's duration. Requests overlap freely,
/// as they do at a hosted API, so N in flight take about as long as one.
#[derive(Clone, Copy, Debug)]
pub struct Latency {
    pub per_request: Duration,
    pub per_audio_second: Duration,
}

impl Latency {
    fn for_audio(&self, seconds: f64) -> Duration {
        self.per_request + self.per_audio_second.mul_f64(seconds.max(0.0))
    }
}

#[derive(Default)]
pub struct StubState {
    pub script: Mutex<VecDeque<Reply>>,
    pub received: Mutex<Vec<Received>>,
    /// Every normal answer takes at least this long (`None`: as fast as it can).
    pub latency: Option<Latency>,
}

pub struct Stub {
    pub base_url: String,
    pub state: Arc<StubState>,
}

impl Stub {
    pub async fn start() -> Self {
        Self::serve(StubState::default()).await
    }

    /// A stub that answers like a remote provider with `latency`.
    pub async fn with_latency(latency: Latency) -> Self {
        Self::serve(StubState {
            latency: Some(latency),
            ..Default::default()
        })
        .await
    }

    async fn serve(state: StubState) -> Self {
        let state = Arc::new(state);
        let app = axum::Router::new()
            .route("/v1/audio/transcriptions", axum::routing::post(handle))
            .layer(axum::extract::DefaultBodyLimit::max(26 * 1024 * 1024))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            base_url: format!("http://{addr}/v1"),
            state,
        }
    }

    pub fn push(&self, r: Reply) {
        self.state.script.lock().unwrap().push_back(r);
    }

    pub fn requests(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }
}

pub fn openai_error(status: u16, message: &str, kind: &str, code: Option<&str>) -> Reply {
    let body = json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
        .to_string();
    Reply::Status {
        status,
        headers: vec![],
        content_type: "application/json",
        body,
    }
}

fn reply(status: u16, content_type: &str, body: String) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", content_type.to_owned())],
        body,
    )
        .into_response()
}

fn error(status: u16, message: &str, param: Option<&str>, code: Option<&str>) -> Response {
    let body = json!({"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}});
    reply(status, "application/json", body.to_string())
}

async fn handle(
    State(st): State<Arc<StubState>>,
    headers: HeaderMap,
    mut mp: Multipart,
) -> Response {
    let started = Instant::now();
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth != format!("Bearer {KEY}") {
        let shown = auth
            .trim_start_matches("Bearer ")
            .chars()
            .take(6)
            .collect::<String>();
        st.received.lock().unwrap().push(Received::default());
        let msg = format!(
            "Incorrect API key provided: {shown}***. You can find your API key at https://platform.openai.com/account/api-keys."
        );
        return error(401, &msg, None, Some("invalid_api_key"));
    }
    let mut rec = Received::default();
    let mut file = Vec::new();
    while let Ok(Some(field)) = mp.next_field().await {
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            rec.filename = field.file_name().map(str::to_owned);
            file = field.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
            rec.file_bytes = file.len();
        } else {
            rec.fields
                .push((name, field.text().await.unwrap_or_default()));
        }
    }
    st.received.lock().unwrap().push(rec.clone());
    let scripted = st.script.lock().unwrap().pop_front();
    match scripted {
        Some(Reply::Status {
            status,
            headers,
            content_type,
            body,
        }) => {
            let mut r = reply(status, content_type, body);
            for (k, v) in headers {
                r.headers_mut().insert(k, v.parse().unwrap());
            }
            return r;
        }
        Some(Reply::Delay(d)) => tokio::time::sleep(d).await,
        None => {}
    }
    // Decoding a long upload is CPU work; off the runtime, so that requests overlap.
    let (response, seconds) = tokio::task::spawn_blocking(move || transcribe(&rec, file))
        .await
        .unwrap();
    if let Some(latency) = st.latency {
        tokio::time::sleep(latency.for_audio(seconds).saturating_sub(started.elapsed())).await;
    }
    response
}

/// The answer and the uploaded audio's duration (0 when it was rejected).
fn transcribe(rec: &Received, file: Vec<u8>) -> (Response, f64) {
    let Some(filename) = rec.filename.clone() else {
        return rejected(400, "Could not parse multipart form", Some("file"), None);
    };
    let model = rec.field("model").first().copied().unwrap_or("").to_owned();
    let format = rec
        .field("response_format")
        .first()
        .copied()
        .unwrap_or("json")
        .to_owned();
    if ![
        "whisper-1",
        "gpt-4o-transcribe",
        "gpt-4o-mini-transcribe",
        "gpt-4o-transcribe-diarize",
    ]
    .contains(&model.as_str())
    {
        let msg = format!("The model `{model}` does not exist or you do not have access to it.");
        return rejected(404, &msg, None, Some("model_not_found"));
    }
    let allowed: &[&str] = match model.as_str() {
        "whisper-1" => &["json", "text", "srt", "verbose_json", "vtt"],
        "gpt-4o-transcribe-diarize" => &["json", "text", "diarized_json"],
        _ => &["json", "text"],
    };
    if !allowed.contains(&format.as_str()) {
        let msg = format!("response_format '{format}' is not compatible with model '{model}'.");
        return rejected(
            400,
            &msg,
            Some("response_format"),
            Some("unsupported_value"),
        );
    }
    if format == "diarized_json" && rec.field("chunking_strategy").is_empty() {
        return rejected(
            400,
            "chunking_strategy is required for diarization models",
            Some("chunking_strategy"),
            None,
        );
    }
    let ext = filename.rsplit('.').next().unwrap_or("").to_owned();
    let Ok((samples, _)) = decode(file, &ext) else {
        return rejected(
            400,
            "Invalid file format. Supported formats: ['flac', 'm4a', 'mp3', 'mp4', 'mpeg', 'mpga', 'oga', 'ogg', 'wav', 'webm']",
            None,
            None,
        );
    };
    let words = recognise(&samples);
    let duration = samples.len() as f64 / RATE;
    let granularities = rec.field("timestamp_granularities[]");
    let response = match format.as_str() {
        "text" => reply(200, "text/plain; charset=utf-8", format!("{}\n", text_of(&words, duration))),
        "verbose_json" => reply(200, "application/json", verbose(&words, duration, &granularities).to_string()),
        "diarized_json" => reply(200, "application/json", diarized(&words, duration).to_string()),
        _ => reply(200, "application/json", json!({"text": text_of(&words, duration), "usage": {"type": "duration", "seconds": duration.ceil()}}).to_string()),
    };
    (response, duration)
}

fn rejected(
    status: u16,
    message: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> (Response, f64) {
    (error(status, message, param, code), 0.0)
}

/// A recognised burst.
pub struct Heard {
    pub start: f64,
    pub end: f64,
    pub freq: f64,
}

/// The word a burst frequency stands for (100 Hz bins).
pub fn word_for(freq: f64) -> String {
    const VOCAB: [&str; 12] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven",
    ];
    VOCAB[((freq / 100.0).round() as usize) % VOCAB.len()].to_owned()
}

/// Bursts of 5 ms frames above a threshold; noise-like bursts (very high zero-crossing
/// rate) are not words, as Whisper hears nothing intelligible in them either.
fn recognise(x: &[f32]) -> Vec<Heard> {
    let frame = (0.005 * RATE) as usize;
    let loud: Vec<bool> = x
        .chunks(frame)
        .map(|c| c.iter().map(|v| v * v).sum::<f32>() / c.len() as f32 > 0.002)
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < loud.len() {
        if !loud[i] {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < loud.len() && (loud[j] || loud[j..loud.len().min(j + 6)].iter().any(|&l| l)) {
            j += 1;
        }
        let (a, b) = (i * frame, (j * frame).min(x.len()));
        let zc = x[a..b]
            .windows(2)
            .filter(|w| (w[0] >= 0.0) != (w[1] >= 0.0))
            .count();
        let freq = zc as f64 / 2.0 / ((b - a) as f64 / RATE);
        if (b - a) as f64 / RATE >= 0.06 && freq < 3000.0 {
            out.push(Heard {
                start: a as f64 / RATE,
                end: b as f64 / RATE,
                freq,
            });
        }
        i = j;
    }
    out
}

/// Whisper's favourite output for silence, so that the filter has something to remove.
const SILENCE_TEXT: &str = "ご視聴ありがとうございました";

fn text_of(words: &[Heard], _duration: f64) -> String {
    if words.is_empty() {
        return SILENCE_TEXT.to_owned();
    }
    words
        .iter()
        .map(|w| word_for(w.freq))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Words grouped into segments at gaps over 0.6 s.
fn segments(words: &[Heard]) -> Vec<&[Heard]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=words.len() {
        if i == words.len() || words[i].start - words[i - 1].end > 0.6 {
            out.push(&words[start..i]);
            start = i;
        }
    }
    out
}

fn verbose(words: &[Heard], duration: f64, granularities: &[&str]) -> Value {
    let mut segs: Vec<Value> = segments(words)
        .iter()
        .enumerate()
        .map(|(id, ws)| {
            let text: String = ws.iter().map(|w| format!(" {}", word_for(w.freq))).collect();
            json!({"id": id, "seek": 0, "start": ws[0].start, "end": ws[ws.len() - 1].end, "text": text,
                   "tokens": [50364, 400, 50414], "temperature": 0.0, "avg_logprob": -0.21,
                   "compression_ratio": 1.1, "no_speech_prob": 0.02})
        })
        .collect();
    if words.is_empty() {
        segs.push(json!({"id": 0, "seek": 0, "start": 0.0, "end": duration, "text": SILENCE_TEXT, "tokens": [],
                         "temperature": 0.0, "avg_logprob": -0.9, "compression_ratio": 0.8, "no_speech_prob": 0.45}));
    }
    let mut body = json!({"task": "transcribe", "language": "english", "duration": duration,
                          "text": text_of(words, duration), "usage": {"type": "duration", "seconds": duration.ceil()}});
    if granularities.is_empty() || granularities.contains(&"segment") {
        body["segments"] = Value::Array(segs);
    }
    if granularities.contains(&"word") {
        let ws: Vec<Value> = words
            .iter()
            .map(|w| json!({"word": word_for(w.freq), "start": w.start, "end": w.end}))
            .collect();
        body["words"] = Value::Array(ws);
    }
    body
}

fn diarized(words: &[Heard], duration: f64) -> Value {
    let segs: Vec<Value> = words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let speaker = if w.freq < 600.0 { "A" } else { "B" };
            json!({"type": "transcript.text.segment", "id": format!("seg_{i:03}"), "start": w.start, "end": w.end,
                   "text": word_for(w.freq), "speaker": speaker})
        })
        .collect();
    json!({"task": "transcribe", "duration": duration, "text": text_of(words, duration), "segments": segs,
           "usage": {"type": "duration", "seconds": duration.ceil()}})
}
