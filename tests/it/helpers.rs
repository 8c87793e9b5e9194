//! Test harness: a fresh database per test, workers in-process or as real processes, an
//! S3-speaking HTTP server whose downloads can be slowed down or made to fail, and audio
//! fixtures generated on the fly.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use vibeinsight::app::App;
use vibeinsight::config::Settings;
use vibeinsight::domain::Language;
use vibeinsight::store::{migrate, sessions};

/// The server the tests create their databases on (`scripts/ensure-db.sh` prints it).
fn admin_url() -> String {
    std::env::var("VIBEINSIGHT_TEST_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@localhost:5432/postgres".to_owned())
}

pub struct TestDb {
    pub url: String,
    pub pool: PgPool,
    pub storage_dir: tempfile::TempDir,
}

impl TestDb {
    /// A new, migrated database with its own local storage directory.
    pub async fn new() -> TestDb {
        TestDb::with_setup("").await
    }

    /// Like [`TestDb::new`], with `setup` run on the empty database before `migrate` (e.g.
    /// the `auth` schema Supabase would have).
    pub async fn with_setup(setup: &str) -> TestDb {
        let admin = admin_url();
        let name = format!("vi_test_{}", Uuid::new_v4().simple());
        let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
        let storage_dir = tempfile::tempdir().unwrap();
        let settings = Settings::load_from(None, &base_env(&url, storage_dir.path())).unwrap();
        migrate::ensure_database(&settings.database).await.unwrap();
        let pool = migrate::connect(&settings.database).await.unwrap();
        if !setup.is_empty() {
            sqlx::raw_sql(setup).execute(&pool).await.unwrap();
        }
        migrate::migrate(&pool).await.unwrap();
        TestDb {
            url,
            pool,
            storage_dir,
        }
    }

    /// Settings for a worker on this database; `extra` are `VIBEINSIGHT__…` style overrides.
    pub fn settings(&self, extra: &[(&str, &str)]) -> Settings {
        Settings::load_from(None, &self.env(extra)).unwrap()
    }

    pub fn env(&self, extra: &[(&str, &str)]) -> HashMap<String, String> {
        let mut env = base_env(&self.url, self.storage_dir.path());
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        env
    }

    /// Puts `file` in local storage under the user's prefix and inserts the session as that
    /// user, through RLS and the enqueue trigger.
    pub async fn enqueue_local(&self, user: Uuid, file: &Path, language: Language) -> Uuid {
        self.enqueue_local_speakers(user, file, language, Some(2))
            .await
    }

    /// [`Self::enqueue_local`] with `sessions.num_speakers` as given (`None` = null).
    pub async fn enqueue_local_speakers(
        &self,
        user: Uuid,
        file: &Path,
        language: Language,
        speakers: Option<i16>,
    ) -> Uuid {
        let key = format!(
            "{user}/{}.{}",
            Uuid::new_v4(),
            file.extension().unwrap().to_str().unwrap()
        );
        let target = self.storage_dir.path().join(&key);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(file, &target).unwrap();
        sessions::insert_as_user(&self.pool, user, &key, language, speakers)
            .await
            .unwrap()
    }

    pub async fn session_status(&self, id: Uuid) -> (String, Option<String>) {
        sqlx::query_as("select status, error from public.sessions where id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    /// Polls until the session reaches `completed` or `failed`.
    pub async fn wait_until_done(&self, id: Uuid, timeout: Duration) -> (String, Option<String>) {
        let start = Instant::now();
        loop {
            let status = self.session_status(id).await;
            if status.0 == "completed" || status.0 == "failed" {
                return status;
            }
            assert!(
                start.elapsed() < timeout,
                "session {id} still {:?} after {timeout:?}",
                status
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn wait_for_stage(&self, id: Uuid, stage: &str, timeout: Duration) {
        let start = Instant::now();
        loop {
            let seen: bool = sqlx::query_scalar(
                "select exists (select from public.processing_events where session_id = $1 and stage = $2)",
            )
            .bind(id)
            .bind(stage)
            .fetch_one(&self.pool)
            .await
            .unwrap();
            if seen {
                return;
            }
            assert!(
                start.elapsed() < timeout,
                "no {stage} event for {id} after {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `(stage, attempt)` of every event of the session, in order.
    pub async fn events(&self, id: Uuid) -> Vec<(String, i32)> {
        sqlx::query_as(
            "select stage, attempt from public.processing_events where session_id = $1 order by id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .unwrap()
    }

    /// The stage of every event of the session, in order.
    pub async fn stages(&self, id: Uuid) -> Vec<String> {
        self.events(id)
            .await
            .into_iter()
            .map(|(stage, _)| stage)
            .collect()
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await.unwrap()
    }
}

fn base_env(url: &str, storage: &Path) -> HashMap<String, String> {
    [
        ("DATABASE_URL", url),
        ("VIBEINSIGHT__STORAGE__LOCAL_DIR", storage.to_str().unwrap()),
        ("VIBEINSIGHT__QUEUE__POLL_INTERVAL_SECS", "1"),
        ("VIBEINSIGHT__QUEUE__BACKOFF_BASE_SECS", "1"),
        ("VIBEINSIGHT__QUEUE__BACKOFF_MAX_SECS", "2"),
        // A missing recording here means one never uploaded; the upload-in-flight test sets
        // its own grace.
        ("VIBEINSIGHT__QUEUE__UPLOAD_GRACE_SECS", "0"),
        ("VIBEINSIGHT__DATABASE__MAX_CONNECTIONS", "5"),
        ("VIBEINSIGHT__TELEMETRY__METRICS_ADDR", "127.0.0.1:0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// A worker running inside the test process.
pub struct InProcessWorker {
    stop: CancellationToken,
    handle: JoinHandle<()>,
}

impl InProcessWorker {
    pub async fn start(settings: Settings) -> InProcessWorker {
        let app = App::build(settings).await.unwrap();
        let stop = CancellationToken::new();
        let stop_worker = stop.clone();
        let handle = tokio::spawn(async move { app.run_worker(stop_worker).await.unwrap() });
        InProcessWorker { stop, handle }
    }

    pub async fn stop(self) {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(15), self.handle)
            .await
            .unwrap()
            .unwrap();
    }
}

/// The real binary as a child process, for signals.
pub struct WorkerProcess {
    pub child: Child,
}

impl WorkerProcess {
    pub fn spawn(env: &HashMap<String, String>) -> WorkerProcess {
        let child = Command::new(env!("CARGO_BIN_EXE_vibeinsight"))
            .arg("run")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        WorkerProcess { child }
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for exit; returns how long it took and whether it exited cleanly.
    pub fn wait_exit(&mut self, timeout: Duration) -> (Duration, bool) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (start.elapsed(), status.success());
            }
            assert!(
                start.elapsed() < timeout,
                "worker did not exit within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How the stub object server answers GETs.
#[derive(Clone)]
pub struct ObjectServer {
    pub endpoint: String,
    pub requests: Arc<AtomicUsize>,
}

#[derive(Clone, Copy)]
pub struct Serve {
    /// The first `fail_first` requests get a 503 (the SDK retries, so count its attempts).
    pub fail_first: usize,
    /// Total time to dribble the body out.
    pub stream_for: Duration,
}

impl ObjectServer {
    /// Serves `body` for any `GET /<bucket>/<key>` as an S3 GetObject response.
    pub async fn start(body: Vec<u8>, serve: Serve) -> ObjectServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let body = Arc::new(body);
        tokio::spawn(async move {
            loop {
                let (socket, _) = listener.accept().await.unwrap();
                let n = counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(answer(
                    socket,
                    body.clone(),
                    n < serve.fail_first,
                    serve.stream_for,
                ));
            }
        });
        ObjectServer { endpoint, requests }
    }

    pub fn worker_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("VIBEINSIGHT__STORAGE__BACKEND", "s3".into()),
            ("VIBEINSIGHT__STORAGE__BUCKET", "audio".into()),
            ("VIBEINSIGHT__STORAGE__ENDPOINT", self.endpoint.clone()),
            ("VIBEINSIGHT__STORAGE__REGION", "us-east-1".into()),
            ("VIBEINSIGHT__STORAGE__ACCESS_KEY_ID", "test".into()),
            ("VIBEINSIGHT__STORAGE__SECRET_ACCESS_KEY", "test".into()),
        ]
    }
}

async fn answer(
    mut socket: tokio::net::TcpStream,
    body: Arc<Vec<u8>>,
    fail: bool,
    stream_for: Duration,
) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if socket.read(&mut byte).await.unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    if fail {
        let error = "<?xml version=\"1.0\"?><Error><Code>ServiceUnavailable</Code><Message>busy</Message></Error>";
        let response = format!(
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{error}",
            error.len()
        );
        let _ = socket.write_all(response.as_bytes()).await;
        return;
    }
    let header = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if socket.write_all(header.as_bytes()).await.is_err() {
        return;
    }
    let chunks = 40usize;
    let chunk_len = body.len().div_ceil(chunks);
    for chunk in body.chunks(chunk_len) {
        if socket.write_all(chunk).await.is_err() {
            return;
        }
        tokio::time::sleep(stream_for / chunks as u32).await;
    }
}

/// A mono or stereo WAV of speech-like tones (formant-ish mixture) with pauses.
pub fn speech_like_wav(dir: &Path, name: &str, rate: u32, channels: u16, secs: f64) -> PathBuf {
    let path = dir.join(name);
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&path, spec).unwrap();
    let frames = (secs * f64::from(rate)) as usize;
    for i in 0..frames {
        let t = i as f64 / f64::from(rate);
        let voiced = (t * 1.5).fract() < 0.7;
        let value = if voiced {
            0.3 * (2.0 * std::f64::consts::PI * 180.0 * t).sin()
                + 0.1 * (2.0 * std::f64::consts::PI * 900.0 * t).sin()
        } else {
            0.0
        };
        for _ in 0..channels {
            writer
                .write_sample((value * f64::from(i16::MAX)) as i16)
                .unwrap();
        }
    }
    writer.finalize().unwrap();
    path
}
