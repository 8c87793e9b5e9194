//! The happy path and the delivery guarantees of the queue.

use std::time::Duration;

use uuid::Uuid;
use vibeinsight::domain::Language;

use crate::helpers::{InProcessWorker, ObjectServer, Serve, TestDb, speech_like_wav};

#[tokio::test]
async fn insert_sends_exactly_one_message_in_the_same_transaction() {
    let db = TestDb::new().await;
    let user = Uuid::new_v4();
    let insert = "insert into public.sessions (user_id, audio_path) values ($1, $2)";

    let mut tx = db.pool.begin().await.unwrap();
    sqlx::query(insert)
        .bind(user)
        .bind(format!("{user}/a.wav"))
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(
        db.count("select count(*) from pgmq.q_session_processing")
            .await,
        0
    );

    sqlx::query(insert)
        .bind(user)
        .bind(format!("{user}/b.wav"))
        .execute(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        db.count("select count(*) from pgmq.q_session_processing")
            .await,
        1
    );
    let body: serde_json::Value =
        sqlx::query_scalar("select message from pgmq.q_session_processing")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(body["reason"], "insert");
    assert_eq!(
        db.count("select count(*) from public.processing_status where status = 'queued'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_session_completes_with_progress_in_stage_order() {
    let db = TestDb::new().await;
    let fixtures = tempfile::tempdir().unwrap();
    let wav = speech_like_wav(fixtures.path(), "call.wav", 44_100, 2, 3.0);
    let id = db.enqueue_local(Uuid::new_v4(), &wav, Language::Ja).await;
    let worker = InProcessWorker::start(db.settings(&[])).await;

    let (status, error) = db.wait_until_done(id, Duration::from_secs(30)).await;
    worker.stop().await;

    assert_eq!((status.as_str(), error), ("completed", None));
    let stages: Vec<String> = db.stages(id).await;
    assert_eq!(
        stages,
        [
            "queued",
            "downloading",
            "preprocessing",
            "diarization",
            "analyzing",
            "saving",
            "completed"
        ]
    );
    let (progress, message): (i16, String) = sqlx::query_as(
        "select progress, message from public.processing_status where session_id = $1",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!((progress, message.as_str()), (100, "分析が完了しました"));
    let audio: serde_json::Value = sqlx::query_scalar(
        "select metrics -> 'audio' from public.analysis_results where session_id = $1",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(audio["channels"], 2);
    assert_eq!(audio["sample_rate"], 44_100);
    assert!(
        (audio["duration_secs"].as_f64().unwrap() - 3.0).abs() < 0.01,
        "{audio}"
    );
    assert_eq!(audio["analysis_samples"], 48_000);
    assert_eq!(
        db.count("select count(*) from pgmq.q_session_processing")
            .await,
        0
    );
    assert_eq!(
        db.count("select count(*) from pgmq.a_session_processing")
            .await,
        1
    );
}

#[tokio::test]
async fn a_job_longer_than_three_visibility_timeouts_runs_once_with_two_workers() {
    let db = TestDb::new().await;
    let fixtures = tempfile::tempdir().unwrap();
    let wav = speech_like_wav(fixtures.path(), "long.wav", 16_000, 1, 2.0);
    // The download alone takes 20 s; the VT is 6 s, so only the heartbeat keeps it leased.
    let server = ObjectServer::start(
        std::fs::read(&wav).unwrap(),
        Serve {
            fail_first: 0,
            stream_for: Duration::from_secs(20),
        },
    )
    .await;
    let user = Uuid::new_v4();
    let id = vibeinsight::store::sessions::insert_as_user(
        &db.pool,
        user,
        &format!("{user}/long.wav"),
        Language::En,
        Some(2),
    )
    .await
    .unwrap();
    let mut env: Vec<(&str, String)> = server.worker_env();
    env.push(("VIBEINSIGHT__QUEUE__VISIBILITY_TIMEOUT_SECS", "6".into()));
    env.push(("VIBEINSIGHT__WORKER__CONCURRENCY", "1".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let first = InProcessWorker::start(db.settings(&env)).await;
    let second = InProcessWorker::start(db.settings(&env)).await;

    let (status, _) = db.wait_until_done(id, Duration::from_secs(60)).await;
    first.stop().await;
    second.stop().await;

    assert_eq!(status, "completed");
    let events = db.events(id).await;
    let downloads = events
        .iter()
        .filter(|(stage, _)| stage == "downloading")
        .count();
    assert_eq!(downloads, 1, "{events:?}");
    assert!(
        events.iter().all(|(_, attempt)| *attempt <= 1),
        "{events:?}"
    );
    assert_eq!(server.requests.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(
        db.count("select count(*) from public.analysis_results")
            .await,
        1
    );
}

#[tokio::test]
async fn a_duplicate_delivery_of_a_completed_session_is_acknowledged_without_work() {
    let db = TestDb::new().await;
    let fixtures = tempfile::tempdir().unwrap();
    let wav = speech_like_wav(fixtures.path(), "a.wav", 16_000, 1, 1.0);
    let id = db.enqueue_local(Uuid::new_v4(), &wav, Language::En).await;
    let worker = InProcessWorker::start(db.settings(&[])).await;
    db.wait_until_done(id, Duration::from_secs(30)).await;
    let events_before = db.events(id).await.len();

    sqlx::query("select pgmq.send('session_processing', jsonb_build_object('session_id', $1::uuid, 'reason', 'insert'))")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();
    let start = std::time::Instant::now();
    while db
        .count("select count(*) from pgmq.q_session_processing")
        .await
        > 0
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "duplicate not acknowledged"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    worker.stop().await;
    assert_eq!(db.events(id).await.len(), events_before);
}
