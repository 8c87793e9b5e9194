//! A real S3-compatible server (moto's, started by `scripts/ensure-s3.sh`): upload as
//! `enqueue` does, then the worker fetches and completes.

use std::time::Duration;

use uuid::Uuid;
use vibeinsight::pipeline::types::Language;
use vibeinsight::storage::{ObjectKey, Storage};
use vibeinsight::store::sessions::insert_as_user;

use crate::helpers::{InProcessWorker, TestDb, speech_like_wav};

#[tokio::test]
async fn a_session_stored_in_s3_completes() {
    let Ok(endpoint) = std::env::var("VIBEINSIGHT_TEST_S3_ENDPOINT") else {
        eprintln!(
            "SKIPPED: VIBEINSIGHT_TEST_S3_ENDPOINT is not set (just test starts a server and sets it)"
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
    let id = insert_as_user(&db.pool, user, key.as_str(), Language::En, 2)
        .await
        .unwrap();
    let missing = insert_as_user(
        &db.pool,
        user,
        &format!("{user}/missing.wav"),
        Language::En,
        2,
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
