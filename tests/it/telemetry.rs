//! The internal metrics and health port of the real binary, scraped while a job runs.

use std::time::Duration;

use uuid::Uuid;
use vibeinsight::domain::Language;
use vibeinsight::store::sessions::insert_as_user;

use crate::helpers::{ObjectServer, Serve, TestDb, WorkerProcess, speech_like_wav};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn get(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The value of one sample line, e.g. `vibeinsight_jobs_in_flight`.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|line| line.starts_with(series) && line[series.len()..].starts_with(' '))
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn metrics_and_health_report_a_running_and_a_finished_job() {
    let db = TestDb::new().await;
    let fixtures = tempfile::tempdir().unwrap();
    let wav = speech_like_wav(fixtures.path(), "a.wav", 16_000, 1, 2.0);
    let slow = Serve {
        fail_first: 0,
        stream_for: Duration::from_secs(3),
    };
    let server = ObjectServer::start(std::fs::read(&wav).unwrap(), slow).await;
    let port = free_port().to_string();
    let addr = format!("127.0.0.1:{port}");
    let mut env: Vec<(&str, String)> = server.worker_env();
    env.push(("VIBEINSIGHT__TELEMETRY__METRICS_ADDR", addr.clone()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let user = Uuid::new_v4();
    let path = format!("{user}/a.wav");
    let id = insert_as_user(&db.pool, user, &path, Language::En, Some(2))
        .await
        .unwrap();
    let _worker = WorkerProcess::spawn(&db.env(&env));

    db.wait_for_stage(id, "downloading", Duration::from_secs(20))
        .await;
    let (status, health) = get(&format!("http://{addr}/health")).await;
    assert_eq!(status, 200, "{health}");
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["database_reachable"], true);
    assert_eq!(health["jobs_in_flight"], 1);
    let (_, during) = get(&format!("http://{addr}/metrics")).await;
    assert_eq!(
        sample(&during, "vibeinsight_jobs_in_flight"),
        Some(1.0),
        "{during}"
    );
    assert_eq!(
        sample(&during, "vibeinsight_queue_depth"),
        Some(1.0),
        "{during}"
    );

    db.wait_until_done(id, Duration::from_secs(30)).await;
    let (_, after) = get(&format!("http://{addr}/metrics")).await;
    let completed = "vibeinsight_jobs_total{outcome=\"completed\"}";
    assert_eq!(sample(&after, completed), Some(1.0), "{after}");
    assert_eq!(sample(&after, "vibeinsight_jobs_in_flight"), Some(0.0));
    assert_eq!(sample(&after, "vibeinsight_queue_depth"), Some(0.0));
    let fetched = sample(&after, "vibeinsight_storage_bytes_fetched_total").unwrap();
    assert_eq!(fetched, std::fs::metadata(&wav).unwrap().len() as f64);
    let audio = sample(&after, "vibeinsight_audio_seconds_processed_total").unwrap();
    assert!((audio - 2.0).abs() < 0.01, "{audio}");
    let decode_count = "vibeinsight_stage_duration_seconds_count{stage=\"decode\"}";
    assert_eq!(sample(&after, decode_count), Some(1.0));
}
