//! One unit of work: a delivered message, from lease to acknowledgement.
//!
//! Outcomes: completed (results, status, final progress and ack in ONE transaction), retry
//! later (transient error, VT set to the backoff), failed (permanent error or attempts
//! exhausted: session failed and message dead-lettered in one transaction), handed back
//! (shutdown), or abandoned (the lease moved to another worker, who will finish it).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, field};

use super::backoff::Backoff;
use super::heartbeat;
use super::message::{JobMessage, Reason};
use super::queue::{self, Delivery};
use crate::error::{Failure, JobError};
use crate::pipeline::progress::{ProgressUpdate, Stage};
use crate::pipeline::{self, Deps, JobSpec, Outcome};
use crate::store::progress::{self as progress_store, ProgressWriter};
use crate::store::results;
use crate::store::sessions::{self, SessionRow};
use crate::telemetry::{JobOutcome, Metrics};

/// What every job shares.
pub struct JobContext {
    pub pool: PgPool,
    pub deps: Deps,
    pub visibility_timeout: Duration,
    pub max_attempts: i32,
    pub backoff: Backoff,
    /// Poked when a retry becomes due, so the loop need not poll for it.
    pub wake: Arc<Notify>,
    pub metrics: Arc<Metrics>,
}

/// Processes one delivery. Bookkeeping errors (the database itself failing) are logged; the
/// message then simply reappears after its VT, which is the retry.
pub async fn process(ctx: Arc<JobContext>, delivery: Delivery, shutdown: CancellationToken) {
    let span = tracing::info_span!(
        "job",
        msg_id = delivery.msg_id,
        attempt = delivery.read_ct,
        session_id = field::Empty
    );
    async move {
        let started = Instant::now();
        ctx.metrics.in_flight.inc();
        match try_process(&ctx, &delivery, shutdown).await {
            Ok(outcome) => ctx
                .metrics
                .job_ended(outcome, started.elapsed().as_secs_f64()),
            Err(err) => tracing::error!(
                error = format!("{err:#}"),
                "job bookkeeping failed; the message will be redelivered"
            ),
        }
        ctx.metrics.in_flight.dec();
    }
    .instrument(span)
    .await;
}

async fn try_process(
    ctx: &JobContext,
    delivery: &Delivery,
    shutdown: CancellationToken,
) -> anyhow::Result<JobOutcome> {
    let message = match JobMessage::parse(&delivery.message) {
        Ok(message) => message,
        Err(reason) => {
            let reason = Failure::MalformedMessage(reason).to_string();
            return dead_letter_orphan(ctx, delivery, &reason).await;
        }
    };
    tracing::Span::current().record("session_id", field::display(message.session_id));
    let Some(session) = sessions::load(&ctx.pool, message.session_id).await? else {
        let reason = Failure::SessionMissing(message.session_id).to_string();
        return dead_letter_orphan(ctx, delivery, &reason).await;
    };
    if session.status == "completed" && message.reason != Reason::Requeue {
        tracing::info!("session already completed; acknowledging the duplicate delivery");
        let mut conn = ctx.pool.acquire().await?;
        queue::archive(&mut conn, delivery).await?;
        return Ok(JobOutcome::Duplicate);
    }
    if delivery.read_ct > ctx.max_attempts {
        let failure = Failure::AttemptsExhausted {
            attempts: delivery.read_ct - 1,
            last: "the job never finished (worker crashed or was killed each time)".into(),
        };
        return fail(ctx, delivery, &session, &failure).await;
    }
    sessions::mark_processing(&ctx.pool, session.id).await?;
    match run_pipeline(ctx, delivery, &session, shutdown).await {
        Run::Finished(result) => match *result {
            Ok(outcome) => complete(ctx, delivery, &session, outcome).await,
            Err(JobError::Permanent(failure)) => {
                match &failure {
                    Failure::Transcription(_) => {
                        ctx.metrics.provider_failed("transcription", false)
                    }
                    Failure::Assessment(_) => ctx.metrics.provider_failed("assessment", false),
                    _ => {}
                }
                fail(ctx, delivery, &session, &failure).await
            }
            Err(JobError::Transient {
                reason,
                retry_after,
            }) => {
                // The stages prefix provider outages with their name.
                for stage in ["transcription", "assessment"] {
                    if reason.starts_with(stage) {
                        ctx.metrics.provider_failed(stage, true);
                    }
                }
                retry_or_fail(ctx, delivery, &session, reason, retry_after).await
            }
        },
        Run::ShutDown => hand_back(ctx, delivery, &session).await,
        Run::LeaseLost => Ok(JobOutcome::LeaseLost),
    }
}

enum Run {
    Finished(Box<Result<Outcome, JobError>>),
    ShutDown,
    LeaseLost,
}

async fn run_pipeline(
    ctx: &JobContext,
    delivery: &Delivery,
    session: &SessionRow,
    shutdown: CancellationToken,
) -> Run {
    let spec = JobSpec {
        session_id: session.id,
        audio_path: session.audio_path.clone(),
        language: session.language(),
        num_speakers: session.num_speakers.clamp(1, 10) as u8,
    };
    let lease_lost = CancellationToken::new();
    let beat = heartbeat::spawn(ctx, delivery.clone(), lease_lost.clone());
    let (writer, writer_task) = ProgressWriter::spawn(
        ctx.pool.clone(),
        session.id,
        delivery.read_ct,
        spec.language,
    );
    let run = tokio::select! {
        result = pipeline::run(&spec, &ctx.deps, &writer) => Run::Finished(Box::new(result)),
        _ = shutdown.cancelled() => Run::ShutDown,
        _ = lease_lost.cancelled() => Run::LeaseLost,
    };
    beat.abort();
    drop(writer);
    // The last in-stage row must land before the final one is written.
    let _ = writer_task.await;
    run
}

async fn complete(
    ctx: &JobContext,
    delivery: &Delivery,
    session: &SessionRow,
    outcome: Outcome,
) -> anyhow::Result<JobOutcome> {
    for timing in &outcome.timings {
        ctx.metrics.stage_took(timing.stage, timing.seconds);
    }
    ctx.metrics
        .audio_processed(outcome.audio_seconds, outcome.bytes);
    for used in &outcome.provider_usage {
        ctx.metrics.provider_used(
            &used.provider,
            &used.model,
            used.requests,
            used.seconds,
            used.cost_usd,
        );
    }
    for confidence in outcome
        .transcript
        .iter()
        .filter_map(|row| row.segment.confidence)
    {
        ctx.metrics.transcript_confidence(confidence);
    }
    let mut tx = ctx.pool.begin().await?;
    if !queue::hold_lease(&mut tx, delivery).await? {
        tracing::warn!("lease lost before saving; the new owner will save instead");
        return Ok(JobOutcome::LeaseLost);
    }
    results::save(&mut tx, session.id, &outcome.report, &outcome.transcript)
        .await
        .context("Failed to save results")?;
    let update = ProgressUpdate::stage(Stage::Completed);
    record_progress(&mut tx, delivery, session, &update, json!({})).await?;
    queue::archive(&mut tx, delivery).await?;
    tx.commit().await?;
    tracing::info!("session completed");
    Ok(JobOutcome::Completed)
}

async fn fail(
    ctx: &JobContext,
    delivery: &Delivery,
    session: &SessionRow,
    failure: &Failure,
) -> anyhow::Result<JobOutcome> {
    let message = failure.message(session.language());
    let mut tx = ctx.pool.begin().await?;
    if !queue::hold_lease(&mut tx, delivery).await? {
        return Ok(JobOutcome::LeaseLost);
    }
    sessions::mark_failed(&mut tx, session.id, &message).await?;
    let note = Some(failure.to_string());
    let update = ProgressUpdate {
        stage: Stage::Error,
        percent: 0,
        note,
    };
    let detail = json!({ "error": failure.to_string() });
    record_progress(&mut tx, delivery, session, &update, detail).await?;
    queue::dead_letter(&mut tx, delivery, &failure.to_string()).await?;
    tx.commit().await?;
    tracing::warn!(error = %failure, "session failed; message dead-lettered");
    Ok(JobOutcome::Failed)
}

async fn retry_or_fail(
    ctx: &JobContext,
    delivery: &Delivery,
    session: &SessionRow,
    reason: String,
    retry_after: Option<Duration>,
) -> anyhow::Result<JobOutcome> {
    if delivery.read_ct >= ctx.max_attempts {
        let failure = Failure::AttemptsExhausted {
            attempts: delivery.read_ct,
            last: reason,
        };
        return fail(ctx, delivery, session, &failure).await;
    }
    let delay = ctx
        .backoff
        .delay(delivery.read_ct, retry_after, &mut rand::rng());
    let update = ProgressUpdate {
        stage: Stage::Retrying,
        percent: 0,
        note: Some(reason.clone()),
    };
    let detail = json!({ "error": reason, "retry_in_secs": delay.as_secs_f64() });
    let mut conn = ctx.pool.acquire().await?;
    record_progress(&mut conn, delivery, session, &update, detail).await?;
    queue::retry_later(&ctx.pool, delivery, delay).await?;
    tracing::warn!(%reason, retry_in_secs = delay.as_secs_f64(), "transient failure; retrying later");
    let wake = ctx.wake.clone();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        wake.notify_one();
    });
    Ok(JobOutcome::Retrying)
}

async fn hand_back(
    ctx: &JobContext,
    delivery: &Delivery,
    session: &SessionRow,
) -> anyhow::Result<JobOutcome> {
    let update = ProgressUpdate::stage(Stage::Queued);
    let detail = json!({"reason": "handed back at shutdown"});
    let mut conn = ctx.pool.acquire().await?;
    record_progress(&mut conn, delivery, session, &update, detail).await?;
    queue::hand_back(&ctx.pool, delivery).await?;
    tracing::info!("handed the job back for another worker");
    Ok(JobOutcome::HandedBack)
}

/// The session's progress row and history, in its language, at this delivery's attempt.
async fn record_progress(
    conn: &mut sqlx::PgConnection,
    delivery: &Delivery,
    session: &SessionRow,
    update: &ProgressUpdate,
    detail: serde_json::Value,
) -> sqlx::Result<()> {
    let language = session.language();
    progress_store::record(conn, session.id, delivery.read_ct, update, language, detail).await
}

/// A message with no session to fail: dead-lettered so a DBA sees it, never dropped.
async fn dead_letter_orphan(
    ctx: &JobContext,
    delivery: &Delivery,
    reason: &str,
) -> anyhow::Result<JobOutcome> {
    let mut tx = ctx.pool.begin().await?;
    if !queue::hold_lease(&mut tx, delivery).await? {
        return Ok(JobOutcome::LeaseLost);
    }
    queue::dead_letter(&mut tx, delivery, reason).await?;
    tx.commit().await?;
    tracing::warn!(%reason, "message dead-lettered");
    Ok(JobOutcome::DeadLettered)
}
