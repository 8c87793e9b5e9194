//! The real binary under SIGKILL and SIGTERM.

use std::time::Duration;

use uuid::Uuid;
use vibeinsight::domain::Language;
use vibeinsight::store::sessions::insert_as_user;

use crate::helpers::{
    InProcessWorker, ObjectServer, Serve, TestDb, WorkerProcess, speech_like_wav,
};

async fn slow_session(db: &TestDb, stream_for: Duration) -> (ObjectServer, Uuid) {
    let fixtures = tempfile::tempdir().unwrap();
    let wav = speech_like_wav(fixtures.path(), "a.wav", 16_000, 1, 2.0);
    let server = ObjectServer::start(
        std::fs::read(&wav).unwrap(),
        Serve {
            fail_first: 0,
            stream_for,
        },
    )
    .await;
    let user = Uuid::new_v4();
    let id = insert_as_user(
        &db.pool,
        user,
        &format!("{user}/a.wav"),
        Language::En,
        Some(2),
    )
    .await
    .unwrap();
    (server, id)
}

fn env_with<'a>(
    server: &'a [(&'static str, String)],
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    server
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .chain(extra.iter().copied())
        .collect()
}

#[tokio::test]
async fn a_worker_killed_mid_job_is_replaced_and_the_session_completes_once() {
    let db = TestDb::new().await;
    let (server, id) = slow_session(&db, Duration::from_secs(4)).await;
    let server_env = server.worker_env();
    let env = env_with(
        &server_env,
        &[("VIBEINSIGHT__QUEUE__VISIBILITY_TIMEOUT_SECS", "6")],
    );
    let mut doomed = WorkerProcess::spawn(&db.env(&env));
    db.wait_for_stage(id, "downloading", Duration::from_secs(20))
        .await;
    doomed.signal("KILL");
    doomed.wait_exit(Duration::from_secs(5));

    let survivor = InProcessWorker::start(db.settings(&env)).await;
    let (status, _) = db.wait_until_done(id, Duration::from_secs(40)).await;
    survivor.stop().await;

    assert_eq!(status, "completed");
    assert_eq!(
        db.count("select count(*) from public.analysis_results")
            .await,
        1
    );
    let events = db.events(id).await;
    let completed: Vec<_> = events
        .iter()
        .filter(|(stage, _)| stage == "completed")
        .collect();
    assert_eq!(completed, [&("completed".to_owned(), 2)], "{events:?}");
    assert_eq!(
        db.count("select count(*) from pgmq.q_session_processing")
            .await,
        0
    );
}

#[tokio::test]
async fn sigterm_hands_the_job_back_and_exits_quickly() {
    let db = TestDb::new().await;
    let (server, id) = slow_session(&db, Duration::from_secs(30)).await;
    let server_env = server.worker_env();
    let env = env_with(
        &server_env,
        &[("VIBEINSIGHT__WORKER__SHUTDOWN_GRACE_SECS", "2")],
    );
    let mut worker = WorkerProcess::spawn(&db.env(&env));
    db.wait_for_stage(id, "downloading", Duration::from_secs(20))
        .await;

    worker.signal("TERM");
    let (took, clean) = worker.wait_exit(Duration::from_secs(10));
    assert!(clean, "exit status not success");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let (read_ct, visible): (i32, bool) =
        sqlx::query_as("select read_ct, vt <= clock_timestamp() from pgmq.q_session_processing")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(
        (read_ct, visible),
        (0, true),
        "handed back visible, attempt not counted"
    );

    let fast = ObjectServer::start(
        std::fs::read(speech_like_wav(
            db.storage_dir.path(),
            "b.wav",
            16_000,
            1,
            2.0,
        ))
        .unwrap(),
        Serve {
            fail_first: 0,
            stream_for: Duration::ZERO,
        },
    )
    .await;
    let fast_env = fast.worker_env();
    let env = env_with(&fast_env, &[]);
    let successor = InProcessWorker::start(db.settings(&env)).await;
    let (status, _) = db.wait_until_done(id, Duration::from_secs(30)).await;
    successor.stop().await;
    assert_eq!(status, "completed");
    let stages: Vec<String> = db.stages(id).await;
    assert_eq!(
        stages,
        [
            "queued",
            "downloading",
            "queued",
            "downloading",
            "preprocessing",
            "diarization",
            "analyzing",
            "saving",
            "completed"
        ]
    );
}
