//! Wiring: settings → database pool, storage, telemetry and the job context the worker runs with.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::pipeline::Deps;
use crate::pipeline::decode::DecodeLimits;
use crate::pipeline::transcript::Transcriber;
use crate::storage::Storage;
use crate::store::migrate;
use crate::telemetry::{self, Health, Metrics};
use crate::worker::{self, Backoff, JobContext, LoopSettings};

impl Deps {
    /// The stages' dependencies as the settings configure them, around an open store: the
    /// providers are built here, once per process, and shared by every job.
    ///
    /// # Errors
    /// A configured provider's client cannot be built.
    pub fn from_settings(storage: Storage, settings: &Settings) -> anyhow::Result<Deps> {
        Ok(Deps {
            storage,
            limits: DecodeLimits {
                max_duration_secs: settings.audio.max_duration_secs,
            },
            stt: Transcriber {
                provider: settings.stt.provider()?,
                chunking: settings.stt.chunking(),
                prices: settings.stt.price_table(),
            },
            llm: settings.llm.provider()?,
            assess: settings.llm.assess_options(),
        })
    }
}

pub struct App {
    pub pool: PgPool,
    pub storage: Storage,
    pub settings: Settings,
}

impl App {
    /// # Errors
    /// The database or storage cannot be reached or opened.
    pub async fn build(settings: Settings) -> anyhow::Result<App> {
        let pool = migrate::connect(&settings.database).await?;
        let storage = Storage::from_settings(&settings.storage).await?;
        Ok(App {
            pool,
            storage,
            settings,
        })
    }

    /// Serves metrics and health, and runs the worker until `shutdown`, then drains.
    ///
    /// # Errors
    /// The metrics address cannot be bound (checked before any job is taken).
    pub async fn run_worker(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let metrics = Arc::new(Metrics::new().context("Failed to register metrics")?);
        let addr = &self.settings.telemetry.metrics_addr;
        let listener = crate::telemetry::bind(addr)
            .await
            .with_context(|| format!("Failed to bind the metrics address {addr}"))?;
        tracing::info!(addr = %listener.local_addr()?, "metrics and health listening");
        let queue = &self.settings.queue;
        let poll_interval = Duration::from_secs(queue.poll_interval_secs);
        let visibility_timeout = Duration::from_secs(queue.visibility_timeout_secs.into());
        let health = Health {
            metrics: metrics.clone(),
            pool: self.pool.clone(),
            // Idle workers poll every interval; busy ones heartbeat every VT/3.
            stale_after: (poll_interval * 3).max(visibility_timeout),
        };
        let server = tokio::spawn(telemetry::serve(listener, health, shutdown.clone()));
        let cleanup = tokio::spawn(worker::cleanup::run(
            self.pool.clone(),
            self.storage.clone(),
            shutdown.clone(),
        ));
        let ctx = JobContext {
            pool: self.pool.clone(),
            deps: Deps::from_settings(self.storage, &self.settings)?,
            visibility_timeout,
            max_attempts: queue.max_attempts as i32,
            upload_grace: Duration::from_secs(queue.upload_grace_secs),
            deadline_cap: self
                .settings
                .worker
                .job_deadline_secs
                .map(Duration::from_secs),
            backoff: Backoff {
                base: Duration::from_secs(queue.backoff_base_secs.into()),
                max: Duration::from_secs(queue.backoff_max_secs.into()),
            },
            wake: Arc::new(Notify::new()),
            metrics,
        };
        let loop_settings = LoopSettings {
            concurrency: self.settings.worker.concurrency,
            poll_interval,
            shutdown_grace: Duration::from_secs(self.settings.worker.shutdown_grace_secs),
        };
        let retention = tokio::spawn(worker::retention::run(
            self.pool.clone(),
            self.settings.retention.clone(),
            shutdown.clone(),
        ));
        worker::run_until_stopped(Arc::new(ctx), loop_settings, shutdown).await;
        retention.await.context("retention task")?;
        cleanup.await.context("recording cleanup task")?;
        server
            .await
            .context("metrics server task")?
            .context("metrics server")?;
        Ok(())
    }
}
