//! Retention where pg_cron is missing.
//!
//! The pgmq archives, `processing_events` and old stage checkpoints grow for as long as the
//! service runs; `ops.trim_history` (migration `20261206000010_retention.sql`) trims them. On
//! Supabase pg_cron runs it daily. On plain PostgreSQL nothing else would, so every worker
//! offers to: one at a time (a session-level advisory lock), and at most once per interval
//! across all workers (the last run is recorded), so a fleet of workers or frequent restarts
//! neither trims more often nor leaves `ops.queue_overview` showing only the empty runs that
//! came right after a real one.

use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use sqlx::PgPool;
use sqlx::pool::PoolConnection;
use sqlx::types::Json;
use tokio_util::sync::CancellationToken;

use crate::config::RetentionSettings;

/// An arbitrary constant ("viberetn"): held while a worker trims.
pub const LOCK_KEY: i64 = 0x7669_6265_7265_746e;

/// The pg_cron job the migration schedules where pg_cron exists.
pub const PG_CRON_JOB: &str = "vibeinsight-retention";

/// Rows removed by one run, as `ops.trim_history` reports them.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct Removed {
    pub archive: i64,
    pub dead_letter_archive: i64,
    pub events: i64,
    pub checkpoints: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Trimmed(Removed),
    /// pg_cron has the job; the worker stays out of it.
    LeftToPgCron,
    /// Another worker holds the lock, so it is trimming right now.
    OtherWorkerBusy,
    /// Someone trimmed less than an interval ago.
    RanRecently,
}

/// Trims once at start and then every `settings.interval_secs`, until `stop`.
pub async fn run(pool: PgPool, settings: RetentionSettings, stop: CancellationToken) {
    let period = Duration::from_secs(settings.interval_secs);
    super::periodic::every(period, &stop, || async {
        report(run_once(&pool, &settings).await);
    })
    .await;
}

fn report(outcome: anyhow::Result<Outcome>) {
    match outcome {
        Ok(Outcome::Trimmed(removed)) => tracing::info!(
            archive = removed.archive,
            dead_letter_archive = removed.dead_letter_archive,
            events = removed.events,
            checkpoints = removed.checkpoints,
            "retention trimmed the history"
        ),
        Ok(other) => tracing::debug!(outcome = ?other, "retention skipped"),
        Err(err) => {
            tracing::warn!(
                error = format!("{err:#}"),
                "retention failed; will retry at the next interval"
            );
        }
    }
}

/// One attempt of the worker's schedule: trims unless pg_cron does, another worker is at it,
/// or it was done less than an interval ago.
///
/// # Errors
/// The database refused a step.
pub async fn run_once(pool: &PgPool, settings: &RetentionSettings) -> anyhow::Result<Outcome> {
    if scheduled_by_pg_cron(pool).await {
        return Ok(Outcome::LeftToPgCron);
    }
    let mut conn = pool
        .acquire()
        .await
        .context("Failed to get a connection for retention")?;
    let locked: bool = sqlx::query_scalar("select pg_try_advisory_lock($1)")
        .bind(LOCK_KEY)
        .fetch_one(&mut *conn)
        .await
        .context("Failed to try the retention lock")?;
    if !locked {
        return Ok(Outcome::OtherWorkerBusy);
    }
    // A session lock lives as long as its connection: never hand this one back to the pool,
    // where a lock left behind by a failed unlock would keep every later run out.
    conn.close_on_drop();
    let outcome = trim_unless_recent(&mut conn, settings).await;
    sqlx::query("select pg_advisory_unlock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *conn)
        .await
        .context("Failed to release the retention lock")?;
    outcome
}

/// True when pg_cron has our job. The worker asks this every time rather than once, so a
/// pg_cron installed or unscheduled later is noticed. A failure to look (no right to read
/// `cron.job`) counts as "no": a second trim is harmless, none at all is not.
async fn scheduled_by_pg_cron(pool: &PgPool) -> bool {
    let has_cron: Result<bool, sqlx::Error> =
        sqlx::query_scalar("select to_regclass('cron.job') is not null")
            .fetch_one(pool)
            .await;
    if !matches!(has_cron, Ok(true)) {
        return false;
    }
    let scheduled =
        sqlx::query_scalar("select exists (select from cron.job where jobname = $1 and active)")
            .bind(PG_CRON_JOB)
            .fetch_one(pool)
            .await;
    scheduled.unwrap_or_else(|err| {
        tracing::debug!(error = %err, "cannot read cron.job; the worker trims");
        false
    })
}

async fn trim_unless_recent(
    conn: &mut PoolConnection<sqlx::Postgres>,
    settings: &RetentionSettings,
) -> anyhow::Result<Outcome> {
    // A tenth of slack: a worker's own next tick comes a little more than one interval after
    // its last run, and must not be taken for "recent".
    let recent_secs = settings.interval_secs as f64 * 0.9;
    let recent: bool = sqlx::query_scalar(
        "select exists (select from internal.retention_runs
                         where ran_at > now() - make_interval(secs => $1))",
    )
    .bind(recent_secs)
    .fetch_one(&mut **conn)
    .await
    .context("Failed to read the last retention run")?;
    if recent {
        return Ok(Outcome::RanRecently);
    }
    let Json(removed): Json<Removed> = sqlx::query_scalar(
        "select ops.trim_history(archive_days => $1, events_days => $2,
                                 checkpoint_days => $3, ran_by => 'worker')",
    )
    .bind(days(settings.archive_days)?)
    .bind(days(settings.events_days)?)
    .bind(days(settings.checkpoint_days)?)
    .fetch_one(&mut **conn)
    .await
    .context("ops.trim_history failed")?;
    Ok(Outcome::Trimmed(removed))
}

fn days(value: u32) -> anyhow::Result<i32> {
    i32::try_from(value).context("a retention window does not fit in SQL's integer")
}
