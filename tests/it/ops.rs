//! The DBA's surface: ops.requeue, ops.requeue_failed, ops.queue_overview, ops.dead_letters.

use std::time::Duration;

use uuid::Uuid;
use vibeinsight::pipeline::types::Language;

use crate::helpers::{InProcessWorker, TestDb, speech_like_wav};

#[derive(Debug, PartialEq, sqlx::FromRow)]
struct Overview {
    depth: i64,
    visible: i64,
    in_flight: i64,
    dead_letters: i64,
    sessions_queued: i64,
    sessions_completed: i64,
    sessions_failed: i64,
}

async fn overview(db: &TestDb) -> Overview {
    sqlx::query_as(
        "select depth, visible, in_flight, dead_letters, sessions_queued, sessions_completed, sessions_failed from ops.queue_overview",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn requeue_reruns_completed_and_failed_sessions_and_the_overview_counts_right() {
    let db = TestDb::new().await;
    let fixtures = tempfile::tempdir().unwrap();
    let user = Uuid::new_v4();
    let good = db
        .enqueue_local(
            user,
            &speech_like_wav(fixtures.path(), "g.wav", 16_000, 1, 1.0),
            Language::En,
        )
        .await;
    let bad_file = fixtures.path().join("bad.flac");
    std::fs::write(&bad_file, b"fLaC garbage").unwrap();
    let bad = db.enqueue_local(user, &bad_file, Language::En).await;
    let zero = Overview {
        depth: 2,
        visible: 2,
        in_flight: 0,
        dead_letters: 0,
        sessions_queued: 2,
        sessions_completed: 0,
        sessions_failed: 0,
    };
    assert_eq!(overview(&db).await, zero);

    let worker = InProcessWorker::start(db.settings(&[])).await;
    db.wait_until_done(good, Duration::from_secs(30)).await;
    db.wait_until_done(bad, Duration::from_secs(30)).await;
    worker.stop().await;
    let after = Overview {
        depth: 0,
        visible: 0,
        in_flight: 0,
        dead_letters: 1,
        sessions_queued: 0,
        sessions_completed: 1,
        sessions_failed: 1,
    };
    assert_eq!(overview(&db).await, after);

    let first: i64 = sqlx::query_scalar("select ops.requeue($1)")
        .bind(good)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let again: i64 = sqlx::query_scalar("select ops.requeue($1)")
        .bind(good)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        first, again,
        "a second requeue while queued does not send a second message"
    );
    let failed: i32 = sqlx::query_scalar("select ops.requeue_failed()")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(failed, 1);
    let requeued = Overview {
        depth: 2,
        visible: 2,
        in_flight: 0,
        dead_letters: 0,
        sessions_queued: 2,
        sessions_completed: 0,
        sessions_failed: 0,
    };
    assert_eq!(overview(&db).await, requeued);

    std::fs::write(
        db.storage_dir.path().join(
            sqlx::query_scalar::<_, String>("select audio_path from public.sessions where id = $1")
                .bind(bad)
                .fetch_one(&db.pool)
                .await
                .unwrap(),
        ),
        std::fs::read(speech_like_wav(
            fixtures.path(),
            "fixed.wav",
            16_000,
            1,
            1.0,
        ))
        .unwrap(),
    )
    .unwrap();
    let worker = InProcessWorker::start(db.settings(&[])).await;
    assert_eq!(
        db.wait_until_done(good, Duration::from_secs(30)).await.0,
        "completed"
    );
    assert_eq!(
        db.wait_until_done(bad, Duration::from_secs(30)).await.0,
        "completed"
    );
    worker.stop().await;
    let completed_events = db
        .count("select count(*) from public.processing_events where stage = 'completed'")
        .await;
    assert_eq!(completed_events, 3, "good ran twice, bad once");
    assert_eq!(
        db.count("select count(*) from public.analysis_results")
            .await,
        2
    );
}
