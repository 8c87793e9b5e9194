//! Job economy: nothing paid for is bought twice, across retries, a deploy's SIGTERM and a
//! crash, counted request by request at the providers' stubs.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::helpers::{InProcessWorker, WorkerProcess};
use crate::judgement::{Model, Setup, setup_with};
use crate::stt_stub::stub::{Latency, Stub as SttStub};

/// Transcription pieces of at most 10 s, one in flight: a minute of dialogue makes several,
/// sent in order, so a count of requests says exactly which were paid for.
const PIECES: [(&str, &str); 2] = [
    ("VIBEINSIGHT__STT__MAX_DURATION_SECS", "10"),
    ("VIBEINSIGHT__STT__IN_FLIGHT", "1"),
];

fn process_env(s: &Setup, extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut all: Vec<(&str, &str)> = PIECES.to_vec();
    all.extend_from_slice(extra);
    let env = s.env(&s.llm.base_url, "stub-model", "3", &all);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    s.db.env(&env)
}

async fn stored_requests(s: &Setup) -> usize {
    let requests: i64 = sqlx::query_scalar(
        "select (metrics -> 'transcription' ->> 'requests')::bigint from public.analysis_results where session_id = $1",
    )
    .bind(s.session)
    .fetch_one(&s.db.pool)
    .await
    .unwrap();
    requests as usize
}

async fn checkpoints(s: &Setup, like: &str) -> i64 {
    let sql = format!(
        "select count(*) from internal.stage_checkpoints where session_id = '{}' and stage like '{like}'",
        s.session
    );
    s.db.count(&sql).await
}

#[tokio::test]
async fn a_crash_after_part_of_the_pieces_resumes_with_the_missing_ones() {
    let stt = SttStub::with_latency(Latency {
        per_request: Duration::from_millis(1500),
        per_audio_second: Duration::ZERO,
    })
    .await;
    let s = setup_with(Model::Valid, stt, 24).await;
    let env = process_env(&s, &[("VIBEINSIGHT__QUEUE__VISIBILITY_TIMEOUT_SECS", "6")]);
    let mut doomed = WorkerProcess::spawn(&env);
    // Three pieces answered and kept, the fourth sent and not yet answered: kill now.
    let started = Instant::now();
    loop {
        let kept = checkpoints(&s, "transcript_piece:%").await;
        if kept >= 3 && s.stt.requests().len() as i64 == kept + 1 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "never 3 pieces kept and one in flight: {kept} kept, {} sent",
            s.stt.requests().len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    doomed.signal("KILL");
    doomed.wait_exit(Duration::from_secs(5));
    let paid_before_crash = s.stt.requests().len();

    let worker = InProcessWorker::start(
        s.db.settings(
            &process_env(&s, &[("VIBEINSIGHT__QUEUE__VISIBILITY_TIMEOUT_SECS", "6")])
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
        ),
    )
    .await;
    let (status, _) =
        s.db.wait_until_done(s.session, Duration::from_secs(120))
            .await;
    worker.stop().await;

    assert_eq!(status, "completed");
    let pieces = stored_requests(&s).await;
    assert!(
        pieces > 4,
        "the dialogue is cut into more than 4 pieces: {pieces}"
    );
    assert_eq!(paid_before_crash, 4);
    assert_eq!(
        s.stt.requests().len(),
        pieces + 1,
        "each piece once, plus the one in flight when the worker died"
    );
    assert_eq!(
        checkpoints(&s, "transcript_piece:%").await,
        0,
        "dropped on completion"
    );
    assert_eq!(
        checkpoints(&s, "measured").await,
        1,
        "kept for ops.reassess"
    );
}

#[tokio::test]
async fn rate_limited_twice_then_answered_costs_one_transcription() {
    let s = setup_with(Model::Valid, SttStub::start().await, 12).await;
    s.llm.then(&[Model::RateLimited, Model::RateLimited]);
    let worker = s.worker_with_env(&PIECES).await;
    let (status, _) =
        s.db.wait_until_done(s.session, Duration::from_secs(60))
            .await;
    worker.stop().await;

    assert_eq!(status, "completed");
    assert_eq!(s.judgement().await["status"], "produced");
    assert_eq!(s.llm.calls(), 3, "429, 429, answer");
    assert_eq!(
        s.stt.requests().len(),
        stored_requests(&s).await,
        "transcribed once"
    );
    let attempts: Vec<i32> =
        s.db.events(s.session)
            .await
            .iter()
            .map(|(_, a)| *a)
            .collect();
    assert_eq!(attempts.iter().max(), Some(&3));
}

#[tokio::test]
async fn sigterm_during_the_judgement_hands_back_and_the_restart_judges_only() {
    let s = setup_with(Model::Hang, SttStub::start().await, 12).await;
    let env = process_env(&s, &[("VIBEINSIGHT__WORKER__SHUTDOWN_GRACE_SECS", "1")]);
    let mut deployed = WorkerProcess::spawn(&env);
    s.db.wait_for_stage(s.session, "analyzing", Duration::from_secs(60))
        .await;
    while s.llm.calls() == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    deployed.signal("TERM");
    let (_, clean) = deployed.wait_exit(Duration::from_secs(20));
    assert!(clean, "a clean exit after handing the job back");
    let transcribed = s.stt.requests().len();
    assert_eq!(
        (
            checkpoints(&s, "diarization").await,
            checkpoints(&s, "measured").await
        ),
        (1, 1),
        "what was done is kept"
    );

    s.llm.set(Model::Valid);
    let worker = s.worker_with_env(&PIECES).await;
    let (status, _) =
        s.db.wait_until_done(s.session, Duration::from_secs(60))
            .await;
    worker.stop().await;

    assert_eq!(status, "completed");
    assert_eq!(
        s.stt.requests().len(),
        transcribed,
        "no transcription after the restart"
    );
    assert_eq!(transcribed, stored_requests(&s).await);
    assert_eq!(
        s.llm.calls(),
        2,
        "the interrupted judgement, then the one that answered"
    );
}
