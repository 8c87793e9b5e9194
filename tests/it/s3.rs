//! A real S3-compatible server (moto's, started by `scripts/ensure-s3.sh`): upload as
//! `enqueue` does, then the worker fetches and completes.

use std::time::Duration;

use uuid::Uuid;

use crate::prereq;
use vibeinsight::domain::Language;
use vibeinsight::storage::{ObjectKey, Storage};
use vibeinsight::store::sessions::insert_as_user;

use crate::helpers::{InProcessWorker, TestDb, speech_like_wav};

#[tokio::test]
async fn a_session_stored_in_s3_completes() {
    let Ok(endpoint) = std::env::var("VIBEINSIGHT_TEST_S3_ENDPOINT") else {
        prereq::missing(
            "VIBEINSIGHT_TEST_S3_ENDPOINT is not set (just test starts a server and sets it)",
        );
        return;
    };
    let db = TestDb::new().await;
    let bucket = format!("audio-{}", Uuid::new_v4().simple());
    create_bucket(&endpoint, &bucket).await;
    let env = [
        ("VIBEINSIGHT__STORAGE__BACKEND", "s3"),
        ("BUCKET_NAME", bucket.as_str()),
        ("AWS_ENDPOINT_URL_S3", endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ];
    let settings = db.settings(&env);
    let storage = Storage::from_settings(&settings.storage).await.unwrap();
    let fixtures = tempfile::tempdir().unwrap();
    let user = Uuid::new_v4();
    let key = ObjectKey::parse(&format!("{user}/call.wav"), Some(&bucket)).unwrap();
    storage
        .put(
            &key,
            &speech_like_wav(fixtures.path(), "call.wav", 48_000, 1, 2.0),
        )
        .await
        .unwrap();
    let id = insert_as_user(&db.pool, user, key.as_str(), Language::En, Some(2))
        .await
        .unwrap();
    let missing = insert_as_user(
        &db.pool,
        user,
        &format!("{user}/missing.wav"),
        Language::En,
        Some(2),
    )
    .await
    .unwrap();

    let worker = InProcessWorker::start(settings).await;
    let done = db.wait_until_done(id, Duration::from_secs(30)).await;
    let failed = db.wait_until_done(missing, Duration::from_secs(30)).await;
    worker.stop().await;
    assert_eq!(done, ("completed".into(), None));
    assert_eq!(failed.0, "failed");
    assert!(failed.1.unwrap().contains("not found"));
}

async fn create_bucket(endpoint: &str, bucket: &str) {
    let status = std::process::Command::new("curl")
        .args(["-fsS", "-X", "PUT", &format!("{endpoint}/{bucket}")])
        .status()
        .unwrap();
    assert!(status.success(), "could not create bucket {bucket}");
}

#[tokio::test]
async fn the_fallback_store_serves_what_the_primary_lacks_or_cannot_reach() {
    let Ok(endpoint) = std::env::var("VIBEINSIGHT_TEST_S3_ENDPOINT") else {
        prereq::missing(
            "VIBEINSIGHT_TEST_S3_ENDPOINT is not set (just test starts a server and sets it)",
        );
        return;
    };
    let db = TestDb::new().await;
    let (primary, fallback) = (
        format!("primary-{}", Uuid::new_v4().simple()),
        format!("fallback-{}", Uuid::new_v4().simple()),
    );
    create_bucket(&endpoint, &primary).await;
    create_bucket(&endpoint, &fallback).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let down = format!("http://{closed}");
    let fallback_env = |primary_endpoint: &str| {
        db.settings(&[
            ("VIBEINSIGHT__STORAGE__BACKEND", "s3"),
            ("BUCKET_NAME", primary.as_str()),
            ("AWS_ENDPOINT_URL_S3", primary_endpoint),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("VIBEINSIGHT__STORAGE__FALLBACK__BUCKET", fallback.as_str()),
            (
                "VIBEINSIGHT__STORAGE__FALLBACK__ENDPOINT",
                endpoint.as_str(),
            ),
            ("VIBEINSIGHT__STORAGE__FALLBACK__REGION", "us-east-1"),
            ("VIBEINSIGHT__STORAGE__FALLBACK__ACCESS_KEY_ID", "test"),
            ("VIBEINSIGHT__STORAGE__FALLBACK__SECRET_ACCESS_KEY", "test"),
        ])
    };
    // The recording was uploaded to the fallback only (the app's upload fell back).
    let mut fallback_only = fallback_env(&endpoint);
    fallback_only.storage.fallback = None;
    fallback_only.storage.bucket = Some(fallback.clone());
    let uploader = Storage::from_settings(&fallback_only.storage)
        .await
        .unwrap();
    let fixtures = tempfile::tempdir().unwrap();
    let user = Uuid::new_v4();
    let key = ObjectKey::parse(&format!("{user}/call.wav"), None).unwrap();
    uploader
        .put(
            &key,
            &speech_like_wav(fixtures.path(), "call.wav", 16_000, 1, 2.0),
        )
        .await
        .unwrap();
    let lacking = insert_as_user(&db.pool, user, key.as_str(), Language::En, Some(2))
        .await
        .unwrap();
    let worker = InProcessWorker::start(fallback_env(&endpoint)).await;
    assert_eq!(
        db.wait_until_done(lacking, Duration::from_secs(30)).await,
        ("completed".into(), None)
    );
    worker.stop().await;

    let unreachable = insert_as_user(&db.pool, user, key.as_str(), Language::En, Some(2))
        .await
        .unwrap();
    let worker = InProcessWorker::start(fallback_env(&down)).await;
    assert_eq!(
        db.wait_until_done(unreachable, Duration::from_secs(60))
            .await,
        ("completed".into(), None)
    );
    worker.stop().await;
}

#[tokio::test]
async fn a_deleted_sessions_recording_is_deleted_from_the_bucket() {
    let Ok(endpoint) = std::env::var("VIBEINSIGHT_TEST_S3_ENDPOINT") else {
        eprintln!(
            "SKIPPED: VIBEINSIGHT_TEST_S3_ENDPOINT is not set (just test starts a server and sets it)"
        );
        return;
    };
    let db = TestDb::new().await;
    let bucket = format!("audio-{}", Uuid::new_v4().simple());
    create_bucket(&endpoint, &bucket).await;
    let settings = db.settings(&[
        ("VIBEINSIGHT__STORAGE__BACKEND", "s3"),
        ("BUCKET_NAME", bucket.as_str()),
        ("AWS_ENDPOINT_URL_S3", endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ]);
    let storage = Storage::from_settings(&settings.storage).await.unwrap();
    let fixtures = tempfile::tempdir().unwrap();
    let user = Uuid::new_v4();
    let key = ObjectKey::parse(&format!("{user}/gone.wav"), Some(&bucket)).unwrap();
    let wav = speech_like_wav(fixtures.path(), "gone.wav", 16_000, 1, 1.0);
    storage.put(&key, &wav).await.unwrap();
    let id = insert_as_user(&db.pool, user, key.as_str(), Language::En, Some(2))
        .await
        .unwrap();
    sqlx::query("delete from public.sessions where id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();

    let removed = vibeinsight::worker::cleanup::drain(&db.pool, &storage)
        .await
        .unwrap();

    assert_eq!(removed, 1);
    let fetched = storage.fetch(&key).await;
    assert!(
        matches!(
            fetched,
            Err(vibeinsight::storage::StorageError::NotFound(_))
        ),
        "{fetched:?}"
    );
    assert_eq!(
        db.count("select count(*) from ops.deleted_recordings")
            .await,
        0
    );
}
