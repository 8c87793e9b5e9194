//! Retention: ops.trim_history removes old archive messages, events and checkpoints but never
//! anything a queued, running or re-judged session needs; every run is recorded and shown in
//! ops.queue_overview; without pg_cron the worker runs it, one worker at a time.

use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;
use vibeinsight::worker::retention::{self, Outcome, Removed};

use crate::helpers::{InProcessWorker, TestDb};

/// A session inserted as its owner would (the trigger queues it and writes its first event),
/// then moved to `status`.
async fn session(pool: &PgPool, status: &str) -> Uuid {
    let user = Uuid::new_v4();
    let id: Uuid = sqlx::query_scalar(
        "insert into public.sessions (user_id, audio_path) values ($1, $1::text || '/a.wav') returning id",
    )
    .bind(user)
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query("update public.sessions set status = $2 where id = $1")
        .bind(id)
        .bind(status)
        .execute(pool)
        .await
        .unwrap();
    id
}

/// Acknowledges the session's queued message, as a finished job does.
async fn archive_message(pool: &PgPool, id: Uuid) {
    sqlx::query(
        "select pgmq.archive('session_processing', msg_id) from pgmq.q_session_processing
          where message ->> 'session_id' = $1::text",
    )
    .bind(id)
    .execute(pool)
    .await
    .unwrap();
}

/// A dead letter for the session, resolved (archived) `days_ago`.
async fn archived_dead_letter(pool: &PgPool, id: Uuid, days_ago: i32) {
    let msg_id: i64 = sqlx::query_scalar(
        "select pgmq.send('session_processing_dlq', jsonb_build_object('session_id', $1::text))",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query("select pgmq.archive('session_processing_dlq', $1)")
        .bind(msg_id)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query(
        "update pgmq.a_session_processing_dlq
            set enqueued_at = now() - make_interval(days => $2),
                archived_at = now() - make_interval(days => $2)
          where msg_id = $1",
    )
    .bind(msg_id)
    .bind(days_ago)
    .execute(pool)
    .await
    .unwrap();
}

/// Two more events and a measured checkpoint, then everything of the session (archived
/// messages, events, checkpoints) backdated by `days_ago`.
async fn history(pool: &PgPool, id: Uuid, days_ago: i32) {
    for stage in ["downloading", "completed"] {
        sqlx::query(
            "insert into public.processing_events (session_id, stage, progress) values ($1, $2, 50)",
        )
        .bind(id)
        .bind(stage)
        .execute(pool)
        .await
        .unwrap();
    }
    sqlx::query(
        "insert into internal.stage_checkpoints (session_id, stage, fingerprint, payload)
         values ($1, 'measured', 'f', '{}')",
    )
    .bind(id)
    .execute(pool)
    .await
    .unwrap();
    for sql in [
        "update pgmq.a_session_processing
            set enqueued_at = now() - make_interval(days => $2),
                archived_at = now() - make_interval(days => $2)
          where message ->> 'session_id' = $1::text",
        "update public.processing_events set at = now() - make_interval(days => $2)
          where session_id = $1",
        "update internal.stage_checkpoints set created_at = now() - make_interval(days => $2)
          where session_id = $1",
    ] {
        sqlx::query(sql)
            .bind(id)
            .bind(days_ago)
            .execute(pool)
            .await
            .unwrap();
    }
}

/// `(archived messages, events, checkpoints, status rows)` of the session.
async fn left_of(db: &TestDb, id: Uuid) -> (i64, i64, i64, i64) {
    sqlx::query_as(
        "select (select count(*) from pgmq.a_session_processing where message ->> 'session_id' = $1::text),
                (select count(*) from public.processing_events where session_id = $1),
                (select count(*) from internal.stage_checkpoints where session_id = $1),
                (select count(*) from public.processing_status where session_id = $1)",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .unwrap()
}

async fn trim(pool: &PgPool, sql: &str) -> serde_json::Value {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[derive(Debug, PartialEq, sqlx::FromRow)]
struct LastRun {
    retention_last_at: Option<chrono::DateTime<chrono::Utc>>,
    retention_last_by: Option<String>,
    retention_last_removed: Option<serde_json::Value>,
}

async fn last_run(pool: &PgPool) -> LastRun {
    sqlx::query_as(
        "select retention_last_at, retention_last_by, retention_last_removed from ops.queue_overview",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn worker_runs(db: &TestDb) -> i64 {
    db.count("select count(*) from internal.retention_runs where ran_by = 'worker'")
        .await
}

#[tokio::test]
async fn old_history_goes_recent_and_live_history_stays_and_the_run_is_shown() {
    let db = TestDb::new().await;
    let pool = &db.pool;
    let old = session(pool, "completed").await;
    let failed_old = session(pool, "failed").await;
    let recent = session(pool, "completed").await;
    // Still running: its message stays in the queue, leased.
    let running = session(pool, "processing").await;
    // Completed, and being re-judged: the session stays `completed` while its message waits.
    let rejudged = session(pool, "completed").await;
    for id in [old, failed_old, recent, rejudged] {
        archive_message(pool, id).await;
    }
    for (id, days_ago) in [
        (old, 100),
        (failed_old, 100),
        (recent, 20),
        (running, 100),
        (rejudged, 100),
    ] {
        history(pool, id, days_ago).await;
    }
    sqlx::query("select ops.reassess($1)")
        .bind(rejudged)
        .execute(pool)
        .await
        .unwrap();
    archived_dead_letter(pool, failed_old, 31).await;
    archived_dead_letter(pool, failed_old, 29).await;
    assert_eq!(
        last_run(pool).await,
        LastRun {
            retention_last_at: None,
            retention_last_by: None,
            retention_last_removed: None
        },
        "no run yet"
    );

    let generous = trim(
        pool,
        "select ops.trim_history(archive_days => 365, events_days => 365, checkpoint_days => 365)",
    )
    .await;
    let nothing = json!({"archive": 0, "dead_letter_archive": 0, "events": 0, "checkpoints": 0});
    assert_eq!(generous, nothing, "nothing is that old");
    assert_eq!(last_run(pool).await.retention_last_removed, Some(nothing));

    let removed = trim(pool, "select ops.trim_history()").await;
    assert_eq!(
        removed,
        json!({"archive": 3, "dead_letter_archive": 1, "events": 6, "checkpoints": 2}),
        "old archived messages and dead letters; events and checkpoints of the old finished sessions"
    );
    for finished in [old, failed_old] {
        assert_eq!(
            left_of(&db, finished).await,
            (0, 0, 0, 1),
            "status row stays"
        );
    }
    assert_eq!(
        left_of(&db, recent).await,
        (1, 3, 1, 1),
        "inside the windows"
    );
    assert_eq!(left_of(&db, running).await, (0, 3, 1, 1), "processing");
    assert_eq!(
        left_of(&db, rejudged).await,
        (0, 4, 1, 1),
        "a re-judgement in the queue needs its checkpoint; its archived message is history"
    );
    assert_eq!(
        db.count("select count(*) from pgmq.a_session_processing_dlq")
            .await,
        1,
        "the 29-day-old dead letter stays"
    );
    assert_eq!(db.count("select count(*) from public.sessions").await, 5);

    let shown = last_run(pool).await;
    assert_eq!(shown.retention_last_removed, Some(removed));
    assert_eq!(shown.retention_last_by.as_deref(), Some("manual"));
    let age = chrono::Utc::now() - shown.retention_last_at.unwrap();
    assert!(age < chrono::Duration::minutes(1), "{age}");
    let windows: Vec<(i32, i32, i32)> = sqlx::query_as(
        "select archive_days, events_days, checkpoint_days from internal.retention_runs order by id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(windows, [(365, 365, 365), (30, 90, 90)]);
}

#[tokio::test]
async fn a_window_under_one_day_is_refused() {
    let db = TestDb::new().await;
    for sql in [
        "select ops.trim_history(archive_days => 0)",
        "select ops.trim_history(events_days => -1)",
        "select ops.trim_history(ran_by => 'someone')",
    ] {
        let err = sqlx::query(sql).execute(&db.pool).await.unwrap_err();
        let code = err.as_database_error().and_then(|e| e.code());
        assert_eq!(code.as_deref(), Some("22023"), "{sql}: {err}");
    }
    assert_eq!(
        db.count("select count(*) from internal.retention_runs")
            .await,
        0
    );
}

#[tokio::test]
async fn the_service_role_may_trim_and_the_app_may_not() {
    let db = TestDb::new().await;
    let mut tx = db.pool.begin().await.unwrap();
    sqlx::query("set local role service_role")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("select ops.trim_history()")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    for role in ["authenticated", "anon"] {
        let mut tx = db.pool.begin().await.unwrap();
        sqlx::query(&format!("set local role {role}"))
            .execute(&mut *tx)
            .await
            .unwrap();
        let err = sqlx::query("select ops.trim_history()")
            .execute(&mut *tx)
            .await
            .unwrap_err();
        let code = err.as_database_error().and_then(|e| e.code());
        assert_eq!(code.as_deref(), Some("42501"), "{role}: {err}");
    }
}

#[tokio::test]
async fn without_pg_cron_the_worker_trims_on_its_own() {
    let db = TestDb::new().await;
    assert_eq!(
        db.count("select count(*) from pg_namespace where nspname = 'cron'")
            .await,
        0,
        "this server has no pg_cron"
    );
    let old = session(&db.pool, "completed").await;
    archive_message(&db.pool, old).await;
    history(&db.pool, old, 100).await;

    let worker = InProcessWorker::start(db.settings(&[
        ("VIBEINSIGHT__RETENTION__INTERVAL_SECS", "1"),
        ("VIBEINSIGHT__RETENTION__ARCHIVE_DAYS", "60"),
    ]))
    .await;
    let start = Instant::now();
    while worker_runs(&db).await == 0 {
        assert!(start.elapsed() < Duration::from_secs(20), "no worker run");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    worker.stop().await;

    let first: (i32, i64, i64, i64) = sqlx::query_as(
        "select archive_days, archive_removed, events_removed, checkpoints_removed
           from internal.retention_runs where ran_by = 'worker' order by id limit 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(first, (60, 1, 3, 1), "configured window, old rows removed");
    assert_eq!(left_of(&db, old).await, (0, 0, 0, 1));
    assert_eq!(
        last_run(&db.pool).await.retention_last_by.as_deref(),
        Some("worker")
    );
    assert_eq!(
        db.count(
            "select count(*) from pg_locks l join pg_database d on d.oid = l.database
              where l.locktype = 'advisory' and d.datname = current_database()"
        )
        .await,
        0,
        "the lock is released"
    );
}

#[tokio::test]
async fn one_worker_trims_at_a_time_and_once_per_interval() {
    let db = TestDb::new().await;
    let settings = db.settings(&[]).retention;

    // Another worker holding the lock is trimming right now.
    let mut holder = db.pool.acquire().await.unwrap();
    sqlx::query("select pg_advisory_lock($1)")
        .bind(retention::LOCK_KEY)
        .execute(&mut *holder)
        .await
        .unwrap();
    assert_eq!(
        retention::run_once(&db.pool, &settings).await.unwrap(),
        Outcome::OtherWorkerBusy
    );
    sqlx::query("select pg_advisory_unlock($1)")
        .bind(retention::LOCK_KEY)
        .execute(&mut *holder)
        .await
        .unwrap();

    let (a, b) = tokio::join!(
        retention::run_once(&db.pool, &settings),
        retention::run_once(&db.pool, &settings)
    );
    let mut outcomes = [a.unwrap(), b.unwrap()];
    outcomes.sort_by_key(|o| !matches!(o, Outcome::Trimmed(_)));
    assert_eq!(outcomes[0], Outcome::Trimmed(Removed::default()));
    assert!(
        matches!(outcomes[1], Outcome::OtherWorkerBusy | Outcome::RanRecently),
        "{outcomes:?}"
    );
    assert_eq!(worker_runs(&db).await, 1);
    assert_eq!(
        retention::run_once(&db.pool, &settings).await.unwrap(),
        Outcome::RanRecently,
        "within the hour"
    );
    let free: bool = sqlx::query_scalar("select pg_try_advisory_lock($1)")
        .bind(retention::LOCK_KEY)
        .fetch_one(&mut *holder)
        .await
        .unwrap();
    assert!(free, "the lock was released after each run");
}
