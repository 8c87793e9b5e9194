//! Bad input and failing dependencies: a clear reason, the message never silently dropped,
//! and the worker goes on serving.

use std::time::Duration;

use uuid::Uuid;
use vibeinsight::domain::Language;
use vibeinsight::store::sessions::insert_as_user;

use crate::helpers::{InProcessWorker, ObjectServer, Serve, TestDb, speech_like_wav};

async fn dead_letter_errors(db: &TestDb) -> Vec<String> {
    sqlx::query_scalar("select last_error from ops.dead_letters order by msg_id")
        .fetch_all(&db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn bad_messages_and_bad_audio_fail_clearly_and_the_worker_keeps_serving() {
    let db = TestDb::new().await;
    let fixtures = tempfile::tempdir().unwrap();
    let user = Uuid::new_v4();

    sqlx::query("select pgmq.send('session_processing', '{\"hello\": 1}'::jsonb)")
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query(
        "select pgmq.send('session_processing', jsonb_build_object('session_id', $1::uuid))",
    )
    .bind(Uuid::new_v4())
    .execute(&db.pool)
    .await
    .unwrap();
    let corrupt = fixtures.path().join("corrupt.wav");
    std::fs::write(&corrupt, b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunkjunk").unwrap();
    let corrupt_id = db.enqueue_local(user, &corrupt, Language::Ja).await;
    let empty = fixtures.path().join("empty.mp3");
    std::fs::write(&empty, b"").unwrap();
    let empty_id = db.enqueue_local(user, &empty, Language::En).await;
    let missing_id = insert_as_user(
        &db.pool,
        user,
        &format!("{user}/never-uploaded.m4a"),
        Language::En,
        Some(2),
    )
    .await
    .unwrap();
    let good = speech_like_wav(fixtures.path(), "good.wav", 16_000, 1, 1.0);
    let good_id = db.enqueue_local(user, &good, Language::En).await;

    let worker = InProcessWorker::start(db.settings(&[])).await;
    let corrupt_status = db
        .wait_until_done(corrupt_id, Duration::from_secs(30))
        .await;
    let empty_status = db.wait_until_done(empty_id, Duration::from_secs(30)).await;
    let missing_status = db
        .wait_until_done(missing_id, Duration::from_secs(30))
        .await;
    let good_status = db.wait_until_done(good_id, Duration::from_secs(30)).await;
    worker.stop().await;

    assert_eq!(corrupt_status.0, "failed");
    assert!(
        corrupt_status.1.unwrap().starts_with("音声ファイル"),
        "reason in Japanese"
    );
    assert_eq!(empty_status.0, "failed");
    assert!(
        empty_status
            .1
            .unwrap()
            .starts_with("The audio file is empty (the upload never completed)"),
        "an empty object past the upload grace"
    );
    assert_eq!(missing_status.0, "failed");
    assert!(missing_status.1.unwrap().contains("not found"));
    assert_eq!(good_status.0, "completed");

    let errors = dead_letter_errors(&db).await;
    assert_eq!(errors.len(), 5, "{errors:?}");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("malformed queue message") && e.contains("session_id")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("does not exist")),
        "{errors:?}"
    );
    assert_eq!(
        db.count("select count(*) from pgmq.q_session_processing")
            .await,
        0
    );
    let error_rows = db
        .count("select count(*) from public.processing_status where status = 'error'")
        .await;
    assert_eq!(error_rows, 3);

    // The stable codes, wherever the error is shown: the session, the status row Realtime
    // pushes, the history.
    for (id, code) in [
        (corrupt_id, "audio_corrupt"),
        (empty_id, "audio_empty"),
        (missing_id, "recording_not_found"),
    ] {
        let shown: (Option<String>, Option<String>, Option<String>) = sqlx::query_as(
            "select s.error_code, ps.error_code, e.detail ->> 'error_code'
               from public.sessions s join public.processing_status ps on ps.session_id = s.id
               join public.processing_events e on e.session_id = s.id and e.stage = 'error'
              where s.id = $1",
        )
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        let code = Some(code.to_owned());
        assert_eq!(shown, (code.clone(), code.clone(), code), "{id}");
    }
    let good_code: Option<String> =
        sqlx::query_scalar("select error_code from public.sessions where id = $1")
            .bind(good_id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(good_code, None);
}

#[tokio::test]
async fn a_transient_failure_shows_retrying_then_succeeds() {
    let db = TestDb::new().await;
    let fixtures = tempfile::tempdir().unwrap();
    let wav = speech_like_wav(fixtures.path(), "a.wav", 16_000, 1, 1.0);
    // The SDK makes 3 attempts per call; 3 failures make our first job attempt fail.
    let server = ObjectServer::start(
        std::fs::read(&wav).unwrap(),
        Serve {
            fail_first: 3,
            stream_for: Duration::ZERO,
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
    let env = server.worker_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let worker = InProcessWorker::start(db.settings(&env)).await;

    let (status, _) = db.wait_until_done(id, Duration::from_secs(30)).await;
    worker.stop().await;

    assert_eq!(status, "completed");
    let events = db.events(id).await;
    let stages: Vec<&str> = events.iter().map(|(stage, _)| stage.as_str()).collect();
    assert_eq!(
        stages,
        [
            "queued",
            "downloading",
            "retrying",
            "downloading",
            "preprocessing",
            "diarization",
            "analyzing",
            "saving",
            "completed"
        ]
    );
    assert_eq!(
        events.last().unwrap().1,
        2,
        "completed on the second attempt"
    );
}

#[tokio::test]
async fn exhausted_attempts_dead_letter_the_message_and_fail_the_session() {
    let db = TestDb::new().await;
    let server = ObjectServer::start(
        Vec::new(),
        Serve {
            fail_first: usize::MAX,
            stream_for: Duration::ZERO,
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
    let mut env = server.worker_env();
    env.push(("VIBEINSIGHT__QUEUE__MAX_ATTEMPTS", "2".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let worker = InProcessWorker::start(db.settings(&env)).await;

    let (status, error) = db.wait_until_done(id, Duration::from_secs(40)).await;
    worker.stop().await;

    assert_eq!(status, "failed");
    let error = error.unwrap();
    assert!(
        error.contains("after 2 attempts") && error.contains("ServiceUnavailable"),
        "{error}"
    );
    let stages: Vec<String> = db.stages(id).await;
    assert_eq!(
        stages,
        ["queued", "downloading", "retrying", "downloading", "error"]
    );
    assert_eq!(dead_letter_errors(&db).await.len(), 1);
    let code = db
        .count("select count(*) from public.sessions where error_code = 'attempts_exhausted'")
        .await;
    assert_eq!(code, 1);
}

#[tokio::test]
async fn paths_outside_storage_are_refused_without_a_fetch() {
    let db = TestDb::new().await;
    let server = ObjectServer::start(
        Vec::new(),
        Serve {
            fail_first: 0,
            stream_for: Duration::ZERO,
        },
    )
    .await;
    // The service role bypasses the user prefix policy, but not the worker's own validation.
    let id: Uuid = sqlx::query_scalar(
        "insert into public.sessions (user_id, audio_path) values (gen_random_uuid(), 's3://someone-elses-bucket/x.wav') returning id",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let env = server.worker_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let worker = InProcessWorker::start(db.settings(&env)).await;
    let (status, error) = db.wait_until_done(id, Duration::from_secs(30)).await;
    worker.stop().await;
    assert_eq!(status, "failed");
    assert!(
        error
            .unwrap()
            .contains("bucket other than the configured one")
    );
    assert_eq!(server.requests.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_recording_uploaded_after_its_session_row_is_waited_for() {
    let db = TestDb::new().await;
    let fixtures = tempfile::tempdir().unwrap();
    let wav = speech_like_wav(fixtures.path(), "late.wav", 16_000, 1, 2.0);
    let user = Uuid::new_v4();
    // One upload has not created the object yet; a resumable one has created it empty.
    let keys = [format!("{user}/late.wav"), format!("{user}/resumable.wav")];
    let stored = |key: &str| db.storage_dir.path().join(key);
    std::fs::create_dir_all(stored(&keys[0]).parent().unwrap()).unwrap();
    std::fs::write(stored(&keys[1]), b"").unwrap();
    let mut ids = Vec::new();
    for key in &keys {
        ids.push(
            insert_as_user(&db.pool, user, key, Language::En, Some(2))
                .await
                .unwrap(),
        );
    }
    let worker =
        InProcessWorker::start(db.settings(&[("VIBEINSIGHT__QUEUE__UPLOAD_GRACE_SECS", "120")]))
            .await;
    tokio::time::sleep(Duration::from_secs(12)).await;
    for key in &keys {
        std::fs::copy(&wav, stored(key)).unwrap();
    }
    for id in &ids {
        let (status, error) = db.wait_until_done(*id, Duration::from_secs(60)).await;
        assert_eq!((status.as_str(), error), ("completed", None));
        let stages = db.stages(*id).await;
        let waited = stages
            .iter()
            .position(|s| s == "retrying")
            .expect("a retrying row");
        assert!(waited < stages.iter().rposition(|s| s == "downloading").unwrap());
        let attempts: Vec<i32> = db.events(*id).await.iter().map(|(_, a)| *a).collect();
        assert_eq!(
            attempts.iter().max(),
            Some(&1),
            "waiting counts no attempt: {attempts:?}"
        );
    }
    worker.stop().await;
}
