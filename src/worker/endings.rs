//! How a job ends: completed (results, status, final progress and ack in ONE transaction),
//! retried later (transient error, VT set to the backoff), failed (permanent error or
//! attempts exhausted: session failed and message dead-lettered in one transaction), handed
//! back (shutdown), or waiting for a recording still being uploaded.

use std::time::Duration;

use anyhow::Context;
use serde_json::json;

use super::job::{JobContext, is_last_attempt};
use super::queue::{self, Delivery};
use super::settle;
use crate::error::Failure;
use crate::pipeline::Outcome;
use crate::pipeline::assess::JudgementStatus;
use crate::pipeline::checkpoint::{self};
use crate::pipeline::progress::{ProgressUpdate, Stage};
use crate::report;
use crate::store::checkpoints;
use crate::store::progress as progress_store;
use crate::store::results;
use crate::store::sessions::{self, SessionRow};
use crate::telemetry::JobOutcome;

pub(super) async fn complete(
    ctx: &JobContext,
    delivery: &Delivery,
    session: &SessionRow,
    outcome: Outcome,
) -> anyhow::Result<JobOutcome> {
    let detail = judgement_detail(&outcome);
    save_and_ack(ctx, delivery, session, &outcome, true, detail).await
}

/// Saves (when `save`) and acknowledges in ONE transaction, after a `saving` row.
pub(super) async fn save_and_ack(
    ctx: &JobContext,
    delivery: &Delivery,
    session: &SessionRow,
    outcome: &Outcome,
    save: bool,
    detail: serde_json::Value,
) -> anyhow::Result<JobOutcome> {
    record_outcome_metrics(ctx, outcome);
    let saving = ProgressUpdate::stage(Stage::Saving);
    let mut conn = ctx.pool.acquire().await?;
    record_progress(&mut conn, delivery, session, &saving, json!({})).await?;
    drop(conn);
    let mut tx = match settle::begin(&ctx.pool, delivery, session.id).await? {
        Ok(tx) => tx,
        Err(outcome) => return Ok(outcome),
    };
    if save {
        let built = report::row::built(outcome);
        results::save(&mut tx, session.id, &built.row, &built.transcript)
            .await
            .context("Failed to save results")?;
        checkpoints::discard_superseded(&mut tx, session.id, checkpoint::MEASURED).await?;
    }
    let update = ProgressUpdate::stage(Stage::Completed);
    record_progress(&mut tx, delivery, session, &update, detail).await?;
    queue::archive(&mut tx, delivery).await?;
    tx.commit().await?;
    tracing::info!("session completed");
    Ok(JobOutcome::Completed)
}

/// The judgement's status (and why, when it was not produced) for the final event.
pub(super) fn judgement_detail(outcome: &Outcome) -> serde_json::Value {
    match outcome.assessment.as_ref().map(|a| &a.judgement) {
        Some(status) => json!({"judgement": status.name(), "reason": status.reason()}),
        None => json!({}),
    }
}

pub(super) fn record_outcome_metrics(ctx: &JobContext, outcome: &Outcome) {
    if let Some(JudgementStatus::Unavailable { .. }) =
        outcome.assessment.as_ref().map(|a| &a.judgement)
    {
        ctx.metrics.provider_failed("assessment", false);
    }
    for timing in &outcome.timings {
        ctx.metrics.stage_took(timing.stage, timing.seconds);
    }
    if outcome.measured.metrics["diarization"]["degraded"].is_string() {
        ctx.metrics.diarization_degraded();
    }
    ctx.metrics
        .audio_processed(outcome.measured.audio_seconds, outcome.measured.bytes);
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
        .measured
        .segments
        .iter()
        .filter_map(|segment| segment.confidence)
    {
        ctx.metrics.transcript_confidence(confidence);
    }
}

pub(super) async fn fail(
    ctx: &JobContext,
    delivery: &Delivery,
    session: &SessionRow,
    failure: &Failure,
) -> anyhow::Result<JobOutcome> {
    let message = failure.message(session.language());
    let mut tx = match settle::begin(&ctx.pool, delivery, session.id).await? {
        Ok(tx) => tx,
        Err(outcome) => return Ok(outcome),
    };
    sessions::mark_failed(&mut tx, session.id, &message, failure.code()).await?;
    let note = Some(failure.to_string());
    let update = ProgressUpdate {
        stage: Stage::Error,
        percent: 0,
        note,
    };
    let detail = json!({ "error": failure.to_string(), "error_code": failure.code() });
    record_progress(&mut tx, delivery, session, &update, detail).await?;
    queue::dead_letter(&mut tx, delivery, &failure.to_string()).await?;
    tx.commit().await?;
    tracing::warn!(error = %failure, "session failed; message dead-lettered");
    Ok(JobOutcome::Failed)
}

pub(super) async fn retry_or_fail(
    ctx: &JobContext,
    delivery: &Delivery,
    session: &SessionRow,
    reason: String,
    retry_after: Option<Duration>,
) -> anyhow::Result<JobOutcome> {
    if is_last_attempt(ctx, delivery) {
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
    wake_after(ctx, delay);
    Ok(JobOutcome::Retrying)
}

pub(super) async fn hand_back(
    ctx: &JobContext,
    delivery: &Delivery,
    session: &SessionRow,
) -> anyhow::Result<JobOutcome> {
    let update = ProgressUpdate::stage(Stage::Queued);
    let detail = json!({"reason": "handed back at shutdown"});
    let mut conn = ctx.pool.acquire().await?;
    record_progress(&mut conn, delivery, session, &update, detail).await?;
    queue::hand_back(&ctx.pool, delivery, Duration::ZERO).await?;
    tracing::info!("handed the job back for another worker");
    Ok(JobOutcome::HandedBack)
}

/// Wakes the loop when a message put off by `delay` becomes visible again.
pub(super) fn wake_after(ctx: &JobContext, delay: Duration) {
    let wake = ctx.wake.clone();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        wake.notify_one();
    });
}

/// How often a recording still being uploaded is looked for.
pub(super) const UPLOAD_RECHECK: Duration = Duration::from_secs(10);

/// The app inserts the session, then its (resumable) upload finishes: until the grace after
/// the insert has passed, a missing or empty object is an upload in flight.
pub(super) fn upload_may_be_in_flight(ctx: &JobContext, session: &SessionRow) -> bool {
    let waited = chrono::Utc::now() - session.created_at;
    waited.to_std().unwrap_or_default() < ctx.upload_grace
}

/// Looks again in a few seconds without counting the attempt: nothing has failed yet.
pub(super) async fn wait_for_upload(
    ctx: &JobContext,
    delivery: &Delivery,
    session: &SessionRow,
    failure: &Failure,
) -> anyhow::Result<JobOutcome> {
    let note = match session.language() {
        crate::domain::Language::Ja => "アップロードの完了を待っています",
        _ => "waiting for the upload",
    };
    let update = ProgressUpdate {
        stage: Stage::Retrying,
        percent: 0,
        note: Some(note.to_owned()),
    };
    let detail = json!({"waiting_for_upload": failure.to_string(), "retry_in_secs": UPLOAD_RECHECK.as_secs()});
    let mut conn = ctx.pool.acquire().await?;
    record_progress(&mut conn, delivery, session, &update, detail).await?;
    queue::hand_back(&ctx.pool, delivery, UPLOAD_RECHECK).await?;
    tracing::info!(%failure, "the recording is not uploaded yet; looking again shortly");
    wake_after(ctx, UPLOAD_RECHECK);
    Ok(JobOutcome::Retrying)
}

/// The session's progress row and history, in its language, at this delivery's attempt.
pub(super) async fn record_progress(
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
pub(super) async fn dead_letter_orphan(
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
