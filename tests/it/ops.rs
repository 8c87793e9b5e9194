//! The DBA's surface: ops.requeue, ops.requeue_failed, ops.queue_overview, ops.dead_letters.

use std::time::Duration;

use uuid::Uuid;
use vibeinsight::domain::Language;

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

/// The order in which the sessions' final `completed` events were written.
async fn completion_order(db: &TestDb) -> Vec<Uuid> {
    sqlx::query_scalar(
        "select session_id from public.processing_events where stage = 'completed' order by id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn one_users_batch_does_not_starve_another_user() {
    let db = TestDb::new().await;
    let fixtures = tempfile::tempdir().unwrap();
    let wav = speech_like_wav(fixtures.path(), "s.wav", 16_000, 1, 1.0);
    let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
    let worker =
        InProcessWorker::start(db.settings(&[("VIBEINSIGHT__WORKER__CONCURRENCY", "1")])).await;
    let mut batch = Vec::new();
    for _ in 0..6 {
        batch.push(db.enqueue_local(alice, &wav, Language::En).await);
    }
    let late = db.enqueue_local(bob, &wav, Language::En).await;
    for id in batch.iter().chain([&late]) {
        db.wait_until_done(*id, Duration::from_secs(60)).await;
    }
    worker.stop().await;

    let order = completion_order(&db).await;
    let position = order.iter().position(|id| *id == late).unwrap();
    assert!(
        position < 3,
        "bob's one upload finished {}th of 7",
        position + 1
    );
    let first_rows: Vec<Uuid> = sqlx::query_scalar(
        "select session_id from public.analysis_results order by created_at limit 3",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(
        first_rows.contains(&late),
        "among the first 3 analysis_results rows"
    );
}

#[tokio::test]
async fn a_fresh_upload_goes_ahead_of_bulk_reruns() {
    let db = TestDb::new().await;
    let fixtures = tempfile::tempdir().unwrap();
    let wav = speech_like_wav(fixtures.path(), "s.wav", 16_000, 1, 1.0);
    let (dba_user, app_user) = (Uuid::new_v4(), Uuid::new_v4());
    let mut old = Vec::new();
    for _ in 0..3 {
        old.push(db.enqueue_local(dba_user, &wav, Language::En).await);
    }
    let worker = InProcessWorker::start(db.settings(&[])).await;
    for id in &old {
        db.wait_until_done(*id, Duration::from_secs(60)).await;
    }
    worker.stop().await;

    for id in &old {
        sqlx::query("select ops.requeue($1)")
            .bind(id)
            .execute(&db.pool)
            .await
            .unwrap();
    }
    let fresh = db.enqueue_local(app_user, &wav, Language::En).await;
    let worker =
        InProcessWorker::start(db.settings(&[("VIBEINSIGHT__WORKER__CONCURRENCY", "1")])).await;
    for id in old.iter().chain([&fresh]) {
        db.wait_until_done(*id, Duration::from_secs(60)).await;
    }
    // The requeued sessions were `completed` already: wait until all three ran again.
    for _ in 0..600 {
        if completion_order(&db).await.len() == 7 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    worker.stop().await;

    let reruns = &completion_order(&db).await[3..];
    assert_eq!(reruns.len(), 4);
    assert_eq!(
        reruns[0], fresh,
        "the upload inserted last ran first: {reruns:?}"
    );
}
