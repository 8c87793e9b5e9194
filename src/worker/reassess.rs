//! A re-judgement (`reason: reassess`, `ops.reassess`): only the judgement again, from the
//! measurements the stored result was built from; a `produced` judgement is only replaced by
//! another `produced` one, and the session stays `completed`.

use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::endings::{hand_back, judgement_detail, record_progress, retry_or_fail, save_and_ack};
use super::job::{JobContext, Run, Work, is_last_attempt, run_pipeline, stored_measurements};
use super::queue::{self, Delivery};
use super::settle;
use crate::error::JobError;
use crate::pipeline::Outcome;
use crate::pipeline::progress::{ProgressUpdate, Stage};
use crate::store::results;
use crate::store::sessions::SessionRow;
use crate::telemetry::JobOutcome;

/// Only the judgement again, from the measurements the stored result was built from.
pub(super) async fn reassess(
    ctx: &JobContext,
    delivery: &Delivery,
    session: &SessionRow,
    shutdown: CancellationToken,
) -> anyhow::Result<JobOutcome> {
    if session.status != "completed" {
        tracing::info!(status = %session.status, "not completed; its own run will judge it");
        let mut conn = ctx.pool.acquire().await?;
        queue::archive(&mut conn, delivery).await?;
        return Ok(JobOutcome::Duplicate);
    }
    if delivery.read_ct > ctx.max_attempts {
        let reason = "the re-judgement never finished (worker crashed or was killed each time)";
        return abandon_reassessment(ctx, delivery, session, reason).await;
    }
    let measured = match stored_measurements(ctx, session).await? {
        Some(Ok(measured)) => measured,
        Some(Err(err)) => {
            let reason = format!("the stored measurements cannot be read: {err}");
            return abandon_reassessment(ctx, delivery, session, &reason).await;
        }
        None => {
            let reason = "there are no stored measurements to judge";
            return abandon_reassessment(ctx, delivery, session, reason).await;
        }
    };
    let work = Work::Judge(Box::new(measured));
    match run_pipeline(ctx, delivery, session, work, shutdown).await {
        Run::Finished(result) => match *result {
            Ok(outcome) => complete_reassessment(ctx, delivery, session, outcome).await,
            Err(JobError::Transient { reason, .. }) if is_last_attempt(ctx, delivery) => {
                abandon_reassessment(ctx, delivery, session, &reason).await
            }
            Err(JobError::Transient {
                reason,
                retry_after,
                ..
            }) => retry_or_fail(ctx, delivery, session, reason, retry_after).await,
            Err(JobError::Permanent(failure)) => {
                abandon_reassessment(ctx, delivery, session, &failure.to_string()).await
            }
        },
        Run::ShutDown => hand_back(ctx, delivery, session).await,
        Run::LeaseLost => Ok(JobOutcome::LeaseLost),
        Run::TimedOut(reason) if is_last_attempt(ctx, delivery) => {
            abandon_reassessment(ctx, delivery, session, &reason).await
        }
        Run::TimedOut(reason) => retry_or_fail(ctx, delivery, session, reason, None).await,
    }
}

/// A produced judgement is only replaced by another produced one: a re-judgement that
/// ends invalid or unavailable must not take away what the user already has.
async fn complete_reassessment(
    ctx: &JobContext,
    delivery: &Delivery,
    session: &SessionRow,
    outcome: Outcome,
) -> anyhow::Result<JobOutcome> {
    let previous = results::judgement_status(&ctx.pool, session.id).await?;
    let new = outcome.assessment.as_ref().map(|a| a.judgement.name());
    let replace = previous.as_deref() != Some("produced") || new == Some("produced");
    let mut detail = judgement_detail(&outcome);
    detail["reassessment"] = json!(true);
    detail["replaced"] = json!(replace);
    save_and_ack(ctx, delivery, session, &outcome, replace, detail).await
}

/// Ends a re-judgement that cannot run: the stored result stays as it is, the progress row
/// says `completed` again (with why in the event), and the message is dead-lettered.
async fn abandon_reassessment(
    ctx: &JobContext,
    delivery: &Delivery,
    session: &SessionRow,
    reason: &str,
) -> anyhow::Result<JobOutcome> {
    let mut tx = match settle::begin(&ctx.pool, delivery, session.id).await? {
        Ok(tx) => tx,
        Err(outcome) => return Ok(outcome),
    };
    let update = ProgressUpdate::stage(Stage::Completed);
    let detail = json!({"reassessment": true, "replaced": false, "error": reason});
    record_progress(&mut tx, delivery, session, &update, detail).await?;
    queue::dead_letter(&mut tx, delivery, reason).await?;
    tx.commit().await?;
    tracing::warn!(%reason, "re-judgement abandoned; the stored result stands");
    Ok(JobOutcome::DeadLettered)
}
