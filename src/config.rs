//! Settings: built-in defaults < optional TOML file < environment.
//!
//! Environment: `VIBEINSIGHT__SECTION__KEY` for every key, plus the conventional names that
//! Fly, Tigris and the providers set (`DATABASE_URL`, `BUCKET_NAME`, `AWS_*`). A
//! `VIBEINSIGHT__…` variable wins over its conventional twin, so an operator can always
//! override what a platform injects. Everything is validated here, at boot, not mid-job.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

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

[worker]
concurrency = 2
shutdown_grace_secs = 5

[telemetry]
metrics_addr = "127.0.0.1:9091"
log_format = "text"

[audio]
max_duration_secs = 14400
"#;

#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub storage: StorageSettings,
    pub queue: QueueSettings,
    pub worker: WorkerSettings,
    pub telemetry: TelemetrySettings,
    pub audio: AudioSettings,
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
}

#[derive(Clone, Debug, Deserialize)]
pub struct QueueSettings {
    pub visibility_timeout_secs: u32,
    pub max_attempts: u32,
    /// Fallback poll for wake-ups LISTEN missed; idle cost is one cheap query per interval.
    pub poll_interval_secs: u64,
    pub backoff_base_secs: u32,
    pub backoff_max_secs: u32,
}

#[derive(Clone, Debug, Deserialize)]
pub struct WorkerSettings {
    pub concurrency: usize,
    /// How long in-flight jobs may run on after SIGTERM before they are handed back.
    pub shutdown_grace_secs: u64,
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

/// Conventional variable → settings key. Applied only when the `VIBEINSIGHT__` form is unset.
const CONVENTIONAL_ENV: &[(&str, &str)] = &[
    ("DATABASE_URL", "database.url"),
    ("BUCKET_NAME", "storage.bucket"),
    ("AWS_ENDPOINT_URL_S3", "storage.endpoint"),
    ("AWS_REGION", "storage.region"),
    ("AWS_ACCESS_KEY_ID", "storage.access_key_id"),
    ("AWS_SECRET_ACCESS_KEY", "storage.secret_access_key"),
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
        let settings: Settings = builder
            .build()
            .context("Failed to read the configuration")?
            .try_deserialize()
            .context("Invalid configuration")?;
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
        if self.storage.backend == StorageBackend::S3 && self.storage.bucket.is_none() {
            bail!(
                "storage.backend = s3 needs a bucket (BUCKET_NAME or VIBEINSIGHT__STORAGE__BUCKET)"
            );
        }
        if !self.database.url.expose_secret().starts_with("postgres") {
            bail!("database.url must be a postgres:// URL");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_load_and_validate() {
        let settings = Settings::load_from(None, &env(&[])).unwrap();
        assert_eq!(settings.queue.visibility_timeout_secs, 60);
        assert_eq!(settings.queue.max_attempts, 5);
        assert_eq!(settings.worker.concurrency, 2);
        assert_eq!(settings.storage.backend, StorageBackend::Local);
    }

    #[test]
    fn prefixed_variable_wins_over_conventional_name() {
        let settings = Settings::load_from(
            None,
            &env(&[
                ("BUCKET_NAME", "from-fly"),
                ("VIBEINSIGHT__STORAGE__BUCKET", "override"),
                ("VIBEINSIGHT__QUEUE__VISIBILITY_TIMEOUT_SECS", "90"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.storage.bucket.as_deref(), Some("override"));
        assert_eq!(settings.queue.visibility_timeout_secs, 90);
    }

    #[test]
    fn conventional_names_are_honoured() {
        let settings = Settings::load_from(
            None,
            &env(&[
                ("DATABASE_URL", "postgres://u:pw@db/x"),
                ("BUCKET_NAME", "audio"),
                ("AWS_ENDPOINT_URL_S3", "https://fly.storage.tigris.dev"),
                ("VIBEINSIGHT__STORAGE__BACKEND", "s3"),
            ]),
        )
        .unwrap();
        assert_eq!(
            settings.database.url.expose_secret(),
            "postgres://u:pw@db/x"
        );
        assert_eq!(
            settings.storage.endpoint.as_deref(),
            Some("https://fly.storage.tigris.dev")
        );
    }

    #[test]
    fn unworkable_settings_fail_at_boot() {
        let short_vt = env(&[("VIBEINSIGHT__QUEUE__VISIBILITY_TIMEOUT_SECS", "3")]);
        assert!(Settings::load_from(None, &short_vt).is_err());
        let s3_without_bucket = env(&[("VIBEINSIGHT__STORAGE__BACKEND", "s3")]);
        assert!(Settings::load_from(None, &s3_without_bucket).is_err());
    }

    #[test]
    fn secrets_are_not_printed_by_debug() {
        let settings = Settings::load_from(
            None,
            &env(&[
                ("DATABASE_URL", "postgres://u:hunter2@db/x"),
                ("AWS_SECRET_ACCESS_KEY", "s3cr3t"),
            ]),
        )
        .unwrap();
        let printed = format!("{settings:?}");
        assert!(
            !printed.contains("hunter2") && !printed.contains("s3cr3t"),
            "{printed}"
        );
    }
}
