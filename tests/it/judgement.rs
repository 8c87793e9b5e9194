//! The judgement in the daemon: it never takes the measured part down with it, a retry
//! never buys the transcript again, and `ops.reassess` re-runs only the judgement.
//!
//! Transcription comes from the OpenAI-protocol stub (tone bursts heard as words); the LLM
//! is a chat-completions stub that can be down (503), write garbage, or answer like a
//! model that follows the request's schema and quotes the transcript.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use uuid::Uuid;
use vibeinsight::domain::Language;

use crate::helpers::{InProcessWorker, TestDb};
use crate::stt_stub::audio::{RATE, Tone, synth};
use crate::stt_stub::stub::{KEY, Stub as SttStub};

/// How the chat stub answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    Down,
    Garbage,
    Valid,
    /// Accepts the request and never answers.
    Hang,
    /// 429 with `Retry-After: 1`.
    RateLimited,
}

pub struct ChatStub {
    pub base_url: String,
    mode: Arc<Mutex<Model>>,
    /// Answers for the next calls, before `mode` applies again.
    script: Arc<Mutex<VecDeque<Model>>>,
    calls: Arc<AtomicUsize>,
}

impl ChatStub {
    pub async fn start(mode: Model) -> ChatStub {
        let mode = Arc::new(Mutex::new(mode));
        let script = Arc::new(Mutex::new(VecDeque::new()));
        let calls = Arc::new(AtomicUsize::new(0));
        let (m, sc, c) = (mode.clone(), script.clone(), calls.clone());
        let app = axum::Router::new().route(
            "/v1/chat/completions",
            axum::routing::post(move |Json(request): Json<Value>| {
                let (m, sc, c) = (m.clone(), sc.clone(), c.clone());
                async move {
                    c.fetch_add(1, Ordering::SeqCst);
                    let next = sc.lock().unwrap().pop_front();
                    let mode = next.unwrap_or(*m.lock().unwrap());
                    if mode == Model::Hang {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                    }
                    answer(mode, &request)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        ChatStub {
            base_url: format!("http://{addr}/v1"),
            mode,
            script,
            calls,
        }
    }

    pub fn set(&self, mode: Model) {
        *self.mode.lock().unwrap() = mode;
    }

    /// The next calls answer like this, in order; then the mode applies again.
    pub fn then(&self, modes: &[Model]) {
        self.script.lock().unwrap().extend(modes);
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

fn answer(mode: Model, request: &Value) -> Response {
    let content = match mode {
        Model::Down => {
            let body =
                json!({"error": {"message": "The server is overloaded", "type": "server_error"}});
            return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
        }
        Model::RateLimited => {
            let body = json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}});
            let mut headers = HeaderMap::new();
            headers.insert("retry-after", "1".parse().unwrap());
            return (StatusCode::TOO_MANY_REQUESTS, headers, Json(body)).into_response();
        }
        Model::Garbage => "{\"coach_speaker\": 99, \"coaching\": \"looks fine\"}".to_owned(),
        Model::Valid | Model::Hang => schema_following_answer(request).to_string(),
    };
    // As OpenAI streams: the content, the finish reason, the usage, then [DONE].
    let events = [
        json!({"model": "stub-model", "choices": [{"index": 0, "delta": {"role": "assistant", "content": content}, "finish_reason": null}]}),
        json!({"model": "stub-model", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
        json!({"model": "stub-model", "choices": [], "usage": {"prompt_tokens": 900, "completion_tokens": 300}}),
    ];
    let mut body: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    body.push_str("data: [DONE]\n\n");
    let mut headers = HeaderMap::new();
    headers.insert("content-type", "text/event-stream".parse().unwrap());
    (StatusCode::OK, headers, body).into_response()
}

/// What a model that keeps to the request's schema and quotes exactly would answer: the
/// speakers, segment range, styles and pinned prescriptions come from the schema, the
/// quotes from the transcript lines of the prompt.
fn schema_following_answer(request: &Value) -> Value {
    let schema = &request["response_format"]["json_schema"]["schema"]["properties"];
    let speakers: Vec<Value> = schema["coach_speaker"]["enum"].as_array().unwrap().clone();
    let prompt = request["messages"][1]["content"].as_str().unwrap();
    let (segment, quote) = prompt
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix("[#")?;
            let (number, rest) = rest.split_once(' ')?;
            let (_, text) = rest.split_once("] ")?;
            Some((number.parse::<u64>().ok()?, text.to_owned()))
        })
        .expect("the prompt carries numbered transcript lines");
    let example = json!([{"segment": segment, "quote": quote, "comment": "c"}]);
    let skill = json!({"score": 3, "summary": "s", "examples": example});
    let prescriptions: Vec<Value> = schema["prescriptions"]["items"]["anyOf"]
        .as_array()
        .unwrap()
        .iter()
        .take(3)
        .map(|option| {
            let p = &option["properties"];
            json!({"action": "a", "metric": p["metric"]["enum"][0], "measured_value": p["measured_value"]["enum"][0], "target": "t"})
        })
        .collect();
    let style = &schema["diagnosis"]["properties"]["style_id"]["enum"][0];
    json!({
        "coach_speaker": speakers[0],
        "coach_reason": "r",
        "coaching_skills": {"listening": skill, "questioning": skill, "empathy": skill, "feedback": skill},
        "emotion_analysis": speakers.iter().map(|s| (format!("speaker_{s}"), json!({"positive": 50, "neutral": 50, "negative": 0}))).collect::<serde_json::Map<_, _>>(),
        "diagnosis": {"style_id": style, "reason": "r"},
        "prescriptions": prescriptions
    })
}

/// A two-person conversation, one person per channel, each turn a few voiced "words" (a
/// fundamental with harmonics, which the VAD takes for speech and the STT stub hears as
/// words named by their pitch).
pub(crate) fn dialogue_wav(dir: &Path) -> PathBuf {
    dialogue_of(dir, 12)
}

/// The dialogue with `turns` turns (about 2.75 s each).
pub(crate) fn dialogue_of(dir: &Path, turns: usize) -> PathBuf {
    let (mut left, mut right) = (Vec::new(), Vec::new());
    let mut t = 0.5;
    for turn in 0..turns {
        let words = 3 + turn % 3;
        let tones: Vec<Tone> = (0..words)
            .map(|w| Tone {
                start: t + w as f64 * 0.5,
                dur: 0.35,
                freq: 150.0 + 25.0 * ((turn + w) % 6) as f64,
            })
            .collect();
        t += words as f64 * 0.5 + 0.7;
        if turn % 2 == 0 { &mut left } else { &mut right }.extend(tones);
    }
    let total = t + 0.5;
    let channels = [voiced(&left, total), voiced(&right, total)];
    let path = dir.join("dialogue.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: RATE as u32,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&path, spec).unwrap();
    for i in 0..channels[0].len() {
        for channel in &channels {
            writer
                .write_sample((channel[i] * f32::from(i16::MAX)) as i16)
                .unwrap();
        }
    }
    writer.finalize().unwrap();
    path
}

/// Each tone as a voiced sound: its fundamental and four harmonics.
fn voiced(tones: &[Tone], total: f64) -> Vec<f32> {
    let mut out = synth(tones, total);
    for harmonic in 2..=5 {
        let overtones: Vec<Tone> = tones
            .iter()
            .map(|t| Tone {
                freq: t.freq * f64::from(harmonic),
                ..*t
            })
            .collect();
        let layer = synth(&overtones, total);
        for (o, l) in out.iter_mut().zip(layer) {
            *o += l / harmonic as f32;
        }
    }
    out.iter_mut().for_each(|v| *v *= 0.5);
    out
}

pub(crate) struct Setup {
    pub db: TestDb,
    pub stt: SttStub,
    pub llm: ChatStub,
    pub session: Uuid,
    _fixtures: tempfile::TempDir,
}

async fn setup(model: Model) -> Setup {
    setup_with(model, SttStub::start().await, 12).await
}

/// One session of a generated dialogue of `turns` turns, transcribed by `stt`, judged by a
/// stub in `model`.
pub(crate) async fn setup_with(model: Model, stt: SttStub, turns: usize) -> Setup {
    let db = TestDb::new().await;
    let fixtures = tempfile::tempdir().unwrap();
    let wav = dialogue_of(fixtures.path(), turns);
    let session = db.enqueue_local(Uuid::new_v4(), &wav, Language::En).await;
    Setup {
        db,
        stt,
        llm: ChatStub::start(model).await,
        session,
        _fixtures: fixtures,
    }
}

impl Setup {
    async fn worker(&self, max_attempts: &str) -> InProcessWorker {
        self.worker_judged_by(&self.llm.base_url, "stub-model", max_attempts)
            .await
    }

    async fn worker_judged_by(
        &self,
        url: &str,
        model: &str,
        max_attempts: &str,
    ) -> InProcessWorker {
        self.worker_with(url, model, max_attempts, &[]).await
    }

    async fn worker_with(
        &self,
        url: &str,
        model: &str,
        max_attempts: &str,
        extra: &[(&str, &str)],
    ) -> InProcessWorker {
        let env = self.env(url, model, max_attempts, extra);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        InProcessWorker::start(self.db.settings(&env)).await
    }

    /// A worker judged by the chat stub, with `extra` settings.
    pub(crate) async fn worker_with_env(&self, extra: &[(&str, &str)]) -> InProcessWorker {
        self.worker_with(&self.llm.base_url, "stub-model", "3", extra)
            .await
    }

    /// The worker's settings: transcription by the stub, judgement by `url`.
    pub(crate) fn env(
        &self,
        url: &str,
        model: &str,
        max_attempts: &str,
        extra: &[(&str, &str)],
    ) -> Vec<(String, String)> {
        let mut env = vec![
            ("VIBEINSIGHT__STT__PROVIDER", "openai"),
            ("VIBEINSIGHT__STT__BASE_URL", self.stt.base_url.as_str()),
            ("VIBEINSIGHT__STT__API_KEY", KEY),
            ("VIBEINSIGHT__STT__MODEL", "whisper-1"),
            ("VIBEINSIGHT__LLM__PROVIDER", "openai"),
            ("VIBEINSIGHT__LLM__BASE_URL", url),
            ("VIBEINSIGHT__LLM__MODEL", model),
            ("VIBEINSIGHT__LLM__TIMEOUT_SECS", "1200"),
            ("VIBEINSIGHT__QUEUE__MAX_ATTEMPTS", max_attempts),
        ];
        env.extend_from_slice(extra);
        env.into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    pub(crate) async fn judgement(&self) -> Value {
        self.result("provenance -> 'judgement'").await
    }

    /// One expression over the session's `analysis_results` row.
    pub(crate) async fn result(&self, expression: &str) -> Value {
        let sql = format!("select {expression} from public.analysis_results where session_id = $1");
        sqlx::query_scalar(&sql)
            .bind(self.session)
            .fetch_one(&self.db.pool)
            .await
            .unwrap()
    }

    pub(crate) async fn transcript_rows(&self) -> i64 {
        let sql = format!(
            "select count(*) from public.transcript_segments where session_id = '{}'",
            self.session
        );
        self.db.count(&sql).await
    }

    async fn wait_for_judgement(&self, status: &str) {
        for _ in 0..600 {
            if self.judgement().await["status"] == status {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the judgement never became {status}: {}",
            self.judgement().await
        );
    }
}

#[tokio::test]
async fn an_invalid_answer_completes_the_session_with_its_reasons_and_the_transcript() {
    let s = setup(Model::Garbage).await;
    let worker = s.worker("5").await;
    let (status, error) =
        s.db.wait_until_done(s.session, Duration::from_secs(60))
            .await;
    worker.stop().await;

    assert_eq!((status.as_str(), error), ("completed", None));
    let judgement = s.judgement().await;
    assert_eq!(judgement["status"], "invalid", "{judgement}");
    let reasons = judgement["reasons"].as_array().unwrap();
    assert!(!reasons.is_empty(), "the reasons are listed: {judgement}");
    assert_eq!(s.llm.calls(), 2, "one answer and one repair, then no retry");
    assert!(s.transcript_rows().await > 0, "the paid transcript is kept");
    let stages = s.db.stages(s.session).await;
    assert_eq!(stages.iter().filter(|st| *st == "retrying").count(), 0);
    assert!(stages.ends_with(&["analyzing".into(), "saving".into(), "completed".into()]));
    let measured = s.result("speaker_analysis").await;
    assert_eq!(
        measured["speakers"].as_array().unwrap().len(),
        2,
        "{measured}"
    );
}

#[tokio::test]
async fn an_outage_retries_without_buying_the_transcript_again_then_reassess_judges_only() {
    let s = setup(Model::Down).await;
    let worker = s.worker("3").await;
    let (status, _) =
        s.db.wait_until_done(s.session, Duration::from_secs(90))
            .await;
    assert_eq!(status, "completed", "an outage never fails a session");
    let judgement = s.judgement().await;
    assert_eq!(judgement["status"], "unavailable", "{judgement}");
    assert!(
        judgement["reason"].as_str().unwrap().contains("HTTP 503"),
        "{judgement}"
    );
    assert_eq!(s.llm.calls(), 3, "one judgement call per attempt");
    let stt_calls = s.stt.requests().len();
    let stored_requests: i64 = sqlx::query_scalar(
        "select (metrics -> 'transcription' ->> 'requests')::bigint from public.analysis_results where session_id = $1",
    )
    .bind(s.session)
    .fetch_one(&s.db.pool)
    .await
    .unwrap();
    assert!(stt_calls > 0);
    assert_eq!(
        stt_calls as i64, stored_requests,
        "3 attempts paid for one transcription"
    );
    let events = s.db.events(s.session).await;
    let retries: Vec<i32> = events
        .iter()
        .filter(|(st, _)| st == "retrying")
        .map(|(_, a)| *a)
        .collect();
    assert_eq!(retries, [1, 2]);
    let attempts_with = |stage: &str| {
        let mut attempts: Vec<i32> = events
            .iter()
            .filter(|(st, _)| st == stage)
            .map(|(_, a)| *a)
            .collect();
        attempts.dedup();
        attempts
    };
    assert_eq!(attempts_with("downloading"), [1, 2, 3]);
    assert_eq!(
        (attempts_with("transcribing"), attempts_with("diarization")),
        (vec![1], vec![1]),
        "later attempts resume at the judgement: {events:?}"
    );

    s.llm.set(Model::Valid);
    let queued: i32 = sqlx::query_scalar("select ops.reassess_all()")
        .fetch_one(&s.db.pool)
        .await
        .unwrap();
    assert_eq!(queued, 1, "the one unavailable judgement is queued again");
    s.wait_for_judgement("produced").await;
    worker.stop().await;

    assert_eq!(
        s.stt.requests().len(),
        stt_calls,
        "no transcription request"
    );
    assert_eq!(s.llm.calls(), 4);
    let (status, _) = s.db.session_status(s.session).await;
    assert_eq!(status, "completed");
    let mut after = s.db.stages(s.session).await.split_off(events.len());
    after.dedup();
    assert_eq!(
        after,
        ["queued", "analyzing", "saving", "completed"],
        "the re-judgement shows in the progress rows, without fetch or decode"
    );
    let labels: Vec<String> = sqlx::query_scalar(
        "select distinct speaker from public.transcript_segments where session_id = $1 order by 1",
    )
    .bind(s.session)
    .fetch_all(&s.db.pool)
    .await
    .unwrap();
    assert_eq!(
        labels,
        ["client", "coach"],
        "roles from the judgement relabel the transcript"
    );
}

#[tokio::test]
async fn a_produced_judgement_is_not_replaced_by_a_failed_reassessment() {
    let s = setup(Model::Valid).await;
    let worker = s.worker("2").await;
    s.db.wait_until_done(s.session, Duration::from_secs(60))
        .await;
    assert_eq!(s.judgement().await["status"], "produced");
    let skills_before = s.result("coaching_skills").await;

    s.llm.set(Model::Garbage);
    sqlx::query("select ops.reassess($1)")
        .bind(s.session)
        .execute(&s.db.pool)
        .await
        .unwrap();
    let detail = wait_for_reassessment(&s.db, s.session).await;
    worker.stop().await;

    assert_eq!(detail["judgement"], "invalid", "{detail}");
    assert_eq!(detail["replaced"], false, "{detail}");
    assert_eq!(s.judgement().await["status"], "produced");
    let skills_after = s.result("coaching_skills").await;
    assert_eq!(skills_before, skills_after);
}

#[tokio::test]
async fn a_model_that_never_answers_runs_into_the_deadline_and_the_measured_part_is_kept() {
    let s = setup(Model::Hang).await;
    let fixtures = tempfile::tempdir().unwrap();
    let second =
        s.db.enqueue_local(Uuid::new_v4(), &dialogue_wav(fixtures.path()), Language::Ja)
            .await;
    let deadline = [("VIBEINSIGHT__WORKER__JOB_DEADLINE_SECS", "25")];
    let started = std::time::Instant::now();
    let worker = s
        .worker_with(&s.llm.base_url, "stub-model", "2", &deadline)
        .await;
    for id in [s.session, second] {
        let (status, _) = s.db.wait_until_done(id, Duration::from_secs(150)).await;
        assert_eq!(
            status, "completed",
            "the judgement never takes the transcript down"
        );
    }
    let took = started.elapsed();
    worker.stop().await;

    assert!(
        took < Duration::from_secs(120),
        "two attempts of 25 s each, not forever: {took:?}"
    );
    let judgement = s.judgement().await;
    assert_eq!(judgement["status"], "unavailable", "{judgement}");
    let reason = judgement["reason"].as_str().unwrap();
    assert!(
        reason.contains("timed out after 25 s in stage analyzing"),
        "{reason}"
    );
    let events = s.db.events(s.session).await;
    let retry: Vec<&(String, i32)> = events.iter().filter(|(st, _)| st == "retrying").collect();
    assert_eq!(retry.len(), 1, "{events:?}");
    assert!(s.transcript_rows().await > 0);
}

#[tokio::test]
async fn a_transcription_that_never_answers_fails_the_session_as_timed_out() {
    let s = setup(Model::Valid).await;
    for _ in 0..8 {
        s.stt
            .push(crate::stt_stub::stub::Reply::Delay(Duration::from_secs(
                120,
            )));
    }
    let deadline = [("VIBEINSIGHT__WORKER__JOB_DEADLINE_SECS", "8")];
    let worker = s
        .worker_with(&s.llm.base_url, "stub-model", "2", &deadline)
        .await;
    let (status, error) =
        s.db.wait_until_done(s.session, Duration::from_secs(60))
            .await;
    worker.stop().await;

    assert_eq!(status, "failed");
    let error = error.unwrap();
    assert!(
        error.contains("timed out after 8 s in stage transcribing"),
        "{error}"
    );
    assert_eq!(s.llm.calls(), 0);
}

#[tokio::test]
async fn reassess_refuses_what_it_cannot_judge() {
    let db = TestDb::new().await;
    let user = Uuid::new_v4();
    let id = vibeinsight::store::sessions::insert_as_user(
        &db.pool,
        user,
        &format!("{user}/x.wav"),
        Language::Ja,
        Some(2),
    )
    .await
    .unwrap();
    let err = sqlx::query("select ops.reassess($1)")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not completed"), "{err}");
    let err = sqlx::query("select ops.reassess_all('great')")
        .execute(&db.pool)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("unknown judgement status"),
        "{err}"
    );
}

/// The detail of the final event of a re-judgement.
async fn wait_for_reassessment(db: &TestDb, id: Uuid) -> Value {
    for _ in 0..24_000 {
        let detail: Option<Value> = sqlx::query_scalar(
            "select detail from public.processing_events
              where session_id = $1 and stage = 'completed' and detail ? 'reassessment'",
        )
        .bind(id)
        .fetch_optional(&db.pool)
        .await
        .unwrap();
        if let Some(detail) = detail {
            return detail;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no re-judgement finished for {id}");
}

/// The real local chat model `just llm` starts (llama.cpp, Qwen2.5-Coder 0.5B): its base URL
/// and model name, or `None` (SKIPPED, said on stderr) where it is not running. Under CI the
/// recipe must have provided it.
async fn real_model() -> Option<(String, String)> {
    let url = std::env::var("VIBEINSIGHT_TEST_LLM_URL").unwrap_or_default();
    if url.is_empty() {
        crate::prereq::missing(
            "no local chat model (VIBEINSIGHT_TEST_LLM_URL; `just llm` starts one)",
        );
        return None;
    }
    let models: Value = reqwest::get(format!("{url}/models"))
        .await
        .and_then(reqwest::Response::error_for_status)
        .expect("the local model answers /models")
        .json()
        .await
        .unwrap();
    let name = models["data"][0]["id"].as_str().unwrap().to_owned();
    Some((url, name))
}

/// The contract with a real model, never its wording: the session completes with a
/// validated judgement or with `invalid` and its reasons; a re-judgement asks the
/// transcription side for nothing.
#[tokio::test]
async fn a_real_model_judges_or_is_rejected_with_reasons_and_reassess_transcribes_nothing() {
    let Some((url, model)) = real_model().await else {
        return;
    };
    let s = setup(Model::Down).await;
    let worker = s.worker_judged_by(&url, &model, "2").await;
    let (status, error) =
        s.db.wait_until_done(s.session, Duration::from_secs(1200))
            .await;
    assert_eq!((status.as_str(), error), ("completed", None));
    let judgement = s.judgement().await;
    let segments = s.transcript_rows().await;
    assert!(segments > 0);
    match judgement["status"].as_str().unwrap() {
        "produced" => {
            let skills = s.result("coaching_skills").await;
            for (_, skill) in skills.as_object().unwrap() {
                for example in skill["examples"].as_array().unwrap() {
                    let n = example["segment"].as_i64().unwrap();
                    assert!(
                        (1..=segments).contains(&n),
                        "{example} of {segments} segments"
                    );
                }
            }
        }
        "invalid" => assert!(
            !judgement["reasons"].as_array().unwrap().is_empty(),
            "{judgement}"
        ),
        other => panic!("a reachable model gives produced or invalid, not {other}: {judgement}"),
    }
    let stt_calls = s.stt.requests().len();
    let events_before = s.db.events(s.session).await.len();
    sqlx::query("select ops.reassess($1)")
        .bind(s.session)
        .execute(&s.db.pool)
        .await
        .unwrap();
    let detail = wait_for_reassessment(&s.db, s.session).await;
    worker.stop().await;

    assert!(
        ["produced", "invalid"].contains(&detail["judgement"].as_str().unwrap()),
        "{detail}"
    );
    assert_eq!(
        s.stt.requests().len(),
        stt_calls,
        "no transcription request"
    );
    let after = s.db.stages(s.session).await.split_off(events_before);
    assert!(after.contains(&"analyzing".to_owned()), "{after:?}");
    assert!(!after.contains(&"downloading".to_owned()), "{after:?}");
}
