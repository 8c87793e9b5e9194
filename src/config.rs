//! Settings: built-in defaults < optional TOML file < environment.
//!
//! Environment: `VIBEINSIGHT__SECTION__KEY` for every key, plus the conventional names that
//! Fly, Tigris and the providers set (`DATABASE_URL`, `BUCKET_NAME`, `AWS_*`, `OPENAI_*`,
//! `GEMINI_API_KEY` / `GOOGLE_API_KEY`; see [`providers`] for how those pick a provider). A
//! `VIBEINSIGHT__…` variable wins over its conventional twin, so an operator can always
//! override what a platform injects. Everything is validated here, at boot, not mid-job.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

mod providers;
pub use providers::{
    DEFAULT_GEMINI_MODEL, DEFAULT_OPENAI_CHAT_MODEL, LlmProviderKind, LlmSettings, OPENAI_BASE_URL,
    SttProvider, SttSettings,
};

const DEFAULTS: &str = r#"
[database]
url = "postgres://postgres@localhost:5432/vibeinsight"
max_connections = 10

[storage]
backend = "local"
local_dir = "var/storage"
region = "auto"
force_path_style = true
max_object_bytes = 2147483648

[queue]
visibility_timeout_secs = 60
max_attempts = 5
poll_interval_secs = 10
backoff_base_secs = 5
backoff_max_secs = 600
upload_grace_secs = 600

[worker]
concurrency = 2
# Fly allows a kill_timeout of up to 300 s; fly.toml asks for all of it, and this leaves 30 s
# of it to hand back what is unfinished and exit.
shutdown_grace_secs = 270

# What ops.trim_history keeps; the worker runs it every interval_secs where pg_cron does not.
[retention]
archive_days = 30
events_days = 90
checkpoint_days = 90
interval_secs = 3600

[telemetry]
metrics_addr = "127.0.0.1:9091"
log_format = "text"

[audio]
max_duration_secs = 14400

# stt.provider and llm.provider default by key presence: see providers::provider_defaults.
[stt]
model = "whisper-1"
base_url = "https://api.openai.com/v1"
max_bytes = 26214400
max_duration_secs = 600.0
in_flight = 4
timeout_secs = 30
timeout_per_audio_sec = 0.5

[llm]
timeout_secs = 180
transcript_budget_tokens = 200000
"#;

#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub storage: StorageSettings,
    pub queue: QueueSettings,
    pub worker: WorkerSettings,
    pub retention: RetentionSettings,
    pub telemetry: TelemetrySettings,
    pub audio: AudioSettings,
    pub stt: SttSettings,
    pub llm: LlmSettings,
}

#[derive(Clone, Debug, Deserialize)]
pub struct DatabaseSettings {
    /// Carries the password; only ever exposed to the connection builder.
    pub url: SecretString,
    pub max_connections: u32,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    Local,
    S3,
}

#[derive(Clone, Debug, Deserialize)]
pub struct StorageSettings {
    pub backend: StorageBackend,
    pub local_dir: PathBuf,
    pub bucket: Option<String>,
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<SecretString>,
    pub secret_access_key: Option<SecretString>,
    /// S3-compatible servers (MinIO, moto, Supabase Storage) need path-style addressing.
    pub force_path_style: bool,
    pub max_object_bytes: u64,
    /// A second S3-compatible store read when the primary fails or lacks the object.
    #[serde(default)]
    pub fallback: Option<FallbackStorageSettings>,
}

/// The fallback store, e.g. Supabase Storage's S3 endpoint
/// (`https://<ref>.supabase.co/storage/v1/s3`) next to Tigris: the seed design uploaded there
/// when the primary was down, so the worker must look there too.
#[derive(Clone, Debug, Deserialize)]
pub struct FallbackStorageSettings {
    pub bucket: String,
    pub endpoint: String,
    pub region: String,
    pub access_key_id: Option<SecretString>,
    pub secret_access_key: Option<SecretString>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct QueueSettings {
    pub visibility_timeout_secs: u32,
    pub max_attempts: u32,
    /// Fallback poll for wake-ups LISTEN missed; idle cost is one cheap query per interval.
    pub poll_interval_secs: u64,
    pub backoff_base_secs: u32,
    pub backoff_max_secs: u32,
    /// A recording missing (or still empty) this long after its session row was inserted is
    /// "not found" for good; before, the upload may still be in flight and is waited for.
    pub upload_grace_secs: u64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct WorkerSettings {
    pub concurrency: usize,
    /// How long in-flight jobs may run on after SIGTERM before they are handed back.
    pub shutdown_grace_secs: u64,
    /// A cap on one attempt's wall time; unset, the deadline is scaled to the recording
    /// (see `worker::deadline`).
    #[serde(default)]
    pub job_deadline_secs: Option<u64>,
}

/// Windows of `ops.trim_history`, in days. Used by the worker's own schedule only: where pg_cron
/// runs the trim, its job's arguments decide (the defaults there are the same).
#[derive(Clone, Debug, Deserialize)]
pub struct RetentionSettings {
    /// Archived queue and dead-letter messages.
    pub archive_days: u32,
    /// `processing_events` of sessions that are no longer queued or processing.
    pub events_days: u32,
    /// Stage checkpoints of such sessions: `ops.reassess` can re-judge for this long.
    pub checkpoint_days: u32,
    /// How often a worker tries to trim (one worker at a time, at most once per interval).
    pub interval_secs: u64,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Debug, Deserialize)]
pub struct TelemetrySettings {
    pub metrics_addr: String,
    pub log_format: LogFormat,
}

#[derive(Clone, Debug, Deserialize)]
pub struct AudioSettings {
    pub max_duration_secs: u64,
}

impl RetentionSettings {
    /// A century is far beyond any sensible window: more is a typo, and far more would not
    /// fit SQL's `integer` days or its timestamps.
    const MAX_DAYS: u32 = 36_500;

    fn validate(&self) -> anyhow::Result<()> {
        for (key, days) in [
            ("archive_days", self.archive_days),
            ("events_days", self.events_days),
            ("checkpoint_days", self.checkpoint_days),
        ] {
            if !(1..=Self::MAX_DAYS).contains(&days) {
                bail!(
                    "retention.{key} must be between 1 and {} days",
                    Self::MAX_DAYS
                );
            }
        }
        if self.interval_secs == 0 {
            bail!("retention.interval_secs must be at least 1");
        }
        Ok(())
    }
}

/// Conventional variable → settings key. Applied only when the `VIBEINSIGHT__` form is unset.
const CONVENTIONAL_ENV: &[(&str, &str)] = &[
    ("DATABASE_URL", "database.url"),
    ("BUCKET_NAME", "storage.bucket"),
    ("AWS_ENDPOINT_URL_S3", "storage.endpoint"),
    ("AWS_REGION", "storage.region"),
    ("AWS_ACCESS_KEY_ID", "storage.access_key_id"),
    ("AWS_SECRET_ACCESS_KEY", "storage.secret_access_key"),
    ("OPENAI_API_KEY", "stt.api_key"),
    ("OPENAI_BASE_URL", "stt.base_url"),
];

impl Settings {
    /// Loads and validates the settings from defaults, `file` (or `./vibeinsight.toml` when it
    /// exists) and the process environment.
    ///
    /// # Errors
    /// A malformed file or variable, or settings that cannot work together.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Settings> {
        Self::load_from(file, &std::env::vars().collect())
    }

    /// [`Settings::load`] with an injectable environment, so tests need not mutate the process.
    pub fn load_from(
        file: Option<&Path>,
        env: &HashMap<String, String>,
    ) -> anyhow::Result<Settings> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        for (key, value) in providers::provider_defaults(env) {
            builder = builder.set_default(key, value)?;
        }
        builder = match file {
            Some(path) => builder.add_source(config::File::from(path).required(true)),
            None => builder.add_source(config::File::with_name("vibeinsight.toml").required(false)),
        };
        for (name, key) in CONVENTIONAL_ENV {
            let prefixed = format!("VIBEINSIGHT__{}", key.replace('.', "__").to_uppercase());
            if let (Some(value), false) = (env.get(*name), env.contains_key(&prefixed)) {
                builder = builder.set_override(*key, value.as_str())?;
            }
        }
        for (name, value) in env {
            if let Some(rest) = name.strip_prefix("VIBEINSIGHT__") {
                let key = rest.replace("__", ".").to_lowercase();
                builder = builder.set_override(key, value.as_str())?;
            }
        }
        let mut settings: Settings = builder
            .build()
            .context("Failed to read the configuration")?
            .try_deserialize()
            .context("Invalid configuration")?;
        providers::resolve_llm(&mut settings.llm, env);
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> anyhow::Result<()> {
        let queue = &self.queue;
        if queue.visibility_timeout_secs < 6 {
            bail!(
                "queue.visibility_timeout_secs must be at least 6 (the heartbeat runs every VT/3)"
            );
        }
        if queue.max_attempts == 0 {
            bail!("queue.max_attempts must be at least 1");
        }
        if queue.backoff_base_secs == 0 || queue.backoff_max_secs < queue.backoff_base_secs {
            bail!("queue.backoff_base_secs must be > 0 and <= queue.backoff_max_secs");
        }
        if self.worker.concurrency == 0 {
            bail!("worker.concurrency must be at least 1");
        }
        self.retention.validate()?;
        if self.storage.backend == StorageBackend::S3 && self.storage.bucket.is_none() {
            bail!(
                "storage.backend = s3 needs a bucket (BUCKET_NAME or VIBEINSIGHT__STORAGE__BUCKET)"
            );
        }
        if !self.database.url.expose_secret().starts_with("postgres") {
            bail!("database.url must be a postgres:// URL");
        }
        self.stt.validate()?;
        self.llm.validate()
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
