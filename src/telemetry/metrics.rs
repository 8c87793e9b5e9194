//! The worker's Prometheus metrics. Queue gauges are read from pgmq at scrape time, so every
//! worker reports the same truth and an idle worker costs nothing between scrapes.

use std::sync::atomic::{AtomicI64, Ordering};

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};
use sqlx::PgPool;

/// How a job ended, as counted by `vibeinsight_jobs_total{outcome}`.
#[derive(Clone, Copy, Debug)]
pub enum JobOutcome {
    Completed,
    Failed,
    Retrying,
    HandedBack,
    LeaseLost,
    Duplicate,
    /// A message with no session to fail (malformed, session deleted).
    DeadLettered,
    /// The owner deleted the session while its job ran: stopped, nothing written.
    Deleted,
}

impl JobOutcome {
    fn label(self) -> &'static str {
        match self {
            JobOutcome::Completed => "completed",
            JobOutcome::Failed => "failed",
            JobOutcome::Retrying => "retrying",
            JobOutcome::HandedBack => "handed_back",
            JobOutcome::LeaseLost => "lease_lost",
            JobOutcome::Duplicate => "duplicate",
            JobOutcome::DeadLettered => "dead_lettered",
            JobOutcome::Deleted => "deleted",
        }
    }
}

pub struct Metrics {
    registry: Registry,
    jobs: IntCounterVec,
    stage_seconds: HistogramVec,
    job_seconds: Histogram,
    pub in_flight: IntGauge,
    audio_seconds: prometheus::Counter,
    provider_requests: IntCounterVec,
    provider_seconds: HistogramVec,
    provider_errors: IntCounterVec,
    cost_usd: prometheus::CounterVec,
    transcript_confidence: Histogram,
    bytes_fetched: IntCounter,
    /// Jobs diarized by the classical fallback because the neural models did not load.
    diarization_degraded: IntCounter,
    queue_depth: IntGauge,
    queue_oldest_age: IntGauge,
    dead_letter_depth: IntGauge,
    /// Unix seconds of the last successful queue read or lease extension.
    last_db_contact: AtomicI64,
}

/// Buckets from 50 ms to ~2 h: stages range from a fetch of a short clip to transcribing 3 h.
fn duration_buckets() -> Vec<f64> {
    prometheus::exponential_buckets(0.05, 2.5, 14).unwrap_or_default()
}

impl Metrics {
    /// # Errors
    /// Only on a programming error (duplicate metric names).
    pub fn new() -> prometheus::Result<Metrics> {
        let registry = Registry::new_custom(Some("vibeinsight".into()), None)?;
        let jobs = IntCounterVec::new(
            Opts::new("jobs_total", "Jobs by how they ended"),
            &["outcome"],
        )?;
        let stage_seconds = HistogramVec::new(
            HistogramOpts::new("stage_duration_seconds", "Wall time per pipeline stage")
                .buckets(duration_buckets()),
            &["stage"],
        )?;
        let job_seconds = Histogram::with_opts(
            HistogramOpts::new("job_duration_seconds", "Wall time per job attempt")
                .buckets(duration_buckets()),
        )?;
        let in_flight = IntGauge::new("jobs_in_flight", "Jobs running in this process")?;
        let audio_seconds =
            prometheus::Counter::new("audio_seconds_processed_total", "Seconds of audio decoded")?;
        let bytes_fetched =
            IntCounter::new("storage_bytes_fetched_total", "Bytes fetched from storage")?;
        let by_model = ["provider", "model"];
        let provider_requests = IntCounterVec::new(
            Opts::new("provider_requests_total", "Successful provider requests"),
            &by_model,
        )?;
        let provider_seconds = HistogramVec::new(
            HistogramOpts::new(
                "provider_stage_duration_seconds",
                "Wall time of each job's calls to a provider",
            )
            .buckets(duration_buckets()),
            &by_model,
        )?;
        let provider_errors = IntCounterVec::new(
            Opts::new(
                "provider_errors_total",
                "Jobs a provider failed, by stage and whether it is retried",
            ),
            &["stage", "class"],
        )?;
        let cost_usd = prometheus::CounterVec::new(
            Opts::new("cost_usd_total", "Provider cost from the price tables"),
            &by_model,
        )?;
        let transcript_confidence = Histogram::with_opts(
            HistogramOpts::new(
                "transcript_segment_confidence",
                "Confidence of stored transcript segments",
            )
            .buckets(vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]),
        )?;
        let diarization_degraded = IntCounter::new(
            "diarization_degraded_total",
            "Jobs diarized in degraded mode (classical path: the neural models did not load)",
        )?;
        let queue_depth = IntGauge::new(
            "queue_depth",
            "Messages in session_processing (pgmq.metrics)",
        )?;
        let queue_oldest_age = IntGauge::new(
            "queue_oldest_message_age_seconds",
            "Age of the oldest queued message",
        )?;
        let dead_letter_depth = IntGauge::new(
            "dead_letter_queue_depth",
            "Messages in session_processing_dlq",
        )?;
        registry.register(Box::new(jobs.clone()))?;
        registry.register(Box::new(stage_seconds.clone()))?;
        registry.register(Box::new(job_seconds.clone()))?;
        registry.register(Box::new(in_flight.clone()))?;
        registry.register(Box::new(audio_seconds.clone()))?;
        registry.register(Box::new(bytes_fetched.clone()))?;
        registry.register(Box::new(provider_requests.clone()))?;
        registry.register(Box::new(provider_seconds.clone()))?;
        registry.register(Box::new(provider_errors.clone()))?;
        registry.register(Box::new(cost_usd.clone()))?;
        registry.register(Box::new(transcript_confidence.clone()))?;
        registry.register(Box::new(diarization_degraded.clone()))?;
        registry.register(Box::new(queue_depth.clone()))?;
        registry.register(Box::new(queue_oldest_age.clone()))?;
        registry.register(Box::new(dead_letter_depth.clone()))?;
        Ok(Metrics {
            registry,
            jobs,
            stage_seconds,
            job_seconds,
            in_flight,
            audio_seconds,
            bytes_fetched,
            provider_requests,
            provider_seconds,
            provider_errors,
            cost_usd,
            transcript_confidence,
            diarization_degraded,
            queue_depth,
            queue_oldest_age,
            dead_letter_depth,
            last_db_contact: AtomicI64::new(0),
        })
    }

    pub fn job_ended(&self, outcome: JobOutcome, seconds: f64) {
        self.jobs.with_label_values(&[outcome.label()]).inc();
        self.job_seconds.observe(seconds);
    }

    pub fn stage_took(&self, stage: &str, seconds: f64) {
        self.stage_seconds
            .with_label_values(&[stage])
            .observe(seconds);
    }

    pub fn audio_processed(&self, seconds: f64, bytes: u64) {
        self.audio_seconds.inc_by(seconds);
        self.bytes_fetched.inc_by(bytes);
    }

    pub fn provider_used(
        &self,
        provider: &str,
        model: &str,
        requests: u32,
        seconds: f64,
        cost_usd: Option<f64>,
    ) {
        let labels = [provider, model];
        self.provider_requests
            .with_label_values(&labels)
            .inc_by(requests.into());
        self.provider_seconds
            .with_label_values(&labels)
            .observe(seconds);
        if let Some(cost) = cost_usd {
            self.cost_usd.with_label_values(&labels).inc_by(cost);
        }
    }

    /// `stage` is `transcription` or `assessment`; `transient` says whether the job retries.
    pub fn provider_failed(&self, stage: &str, transient: bool) {
        let class = if transient { "transient" } else { "permanent" };
        self.provider_errors
            .with_label_values(&[stage, class])
            .inc();
    }

    pub fn transcript_confidence(&self, confidence: f32) {
        self.transcript_confidence.observe(confidence.into());
    }

    pub fn diarization_degraded(&self) {
        self.diarization_degraded.inc();
    }

    pub fn touched_database(&self) {
        self.last_db_contact
            .store(chrono::Utc::now().timestamp(), Ordering::Relaxed);
    }

    /// Seconds since the last successful queue read or heartbeat; `None` before the first.
    pub fn since_database_contact(&self) -> Option<i64> {
        match self.last_db_contact.load(Ordering::Relaxed) {
            0 => None,
            at => Some(chrono::Utc::now().timestamp() - at),
        }
    }

    /// Refreshes the queue gauges from pgmq, then renders every metric in the text format.
    pub async fn render(&self, pool: &PgPool) -> String {
        if let Err(err) = self.refresh_queue_gauges(pool).await {
            tracing::warn!(error = %err, "cannot read queue metrics from pgmq");
        }
        let mut buffer = Vec::new();
        if let Err(err) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::warn!(error = %err, "cannot encode metrics");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }

    async fn refresh_queue_gauges(&self, pool: &PgPool) -> sqlx::Result<()> {
        let (depth, oldest): (i64, Option<i32>) = sqlx::query_as(
            "select queue_length, oldest_msg_age_sec from pgmq.metrics('session_processing')",
        )
        .fetch_one(pool)
        .await?;
        let dead: i64 =
            sqlx::query_scalar("select queue_length from pgmq.metrics('session_processing_dlq')")
                .fetch_one(pool)
                .await?;
        self.queue_depth.set(depth);
        self.queue_oldest_age.set(oldest.unwrap_or(0).into());
        self.dead_letter_depth.set(dead);
        Ok(())
    }
}
