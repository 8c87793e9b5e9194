//! One unit of work: a delivered message, from lease to acknowledgement.
//!
//! Outcomes: completed (results, status, final progress and ack in ONE transaction), retry
//! later (transient error, VT set to the backoff), failed (permanent error or attempts
//! exhausted: session failed and message dead-lettered in one transaction), handed back
//! (shutdown), or abandoned (the lease moved to another worker, who will finish it).
//!
//! The judgement never fails a session: while attempts remain, a provider outage retries the
//! job (which resumes from the measured checkpoint, so nothing is paid twice); on the last
//! attempt it settles as `unavailable` and the measured results are saved. A re-judgement
//! (`reason: reassess`) runs only the judgement, from the stored measurements.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, field};

use super::backoff::Backoff;
use super::endings::{
    complete, dead_letter_orphan, fail, hand_back, retry_or_fail, upload_may_be_in_flight,
    wait_for_upload,
};
use super::message::{JobMessage, Reason};
use super::queue::{self, Delivery};
use super::reassess::reassess;
use super::{deadline, heartbeat};
use crate::error::{Failure, JobError, Origin, TIMED_OUT};
use crate::pipeline::assess::{JudgementStatus, OnOutage};
use crate::pipeline::checkpoint::{self, Measured};
use crate::pipeline::{self, Deps, JobSpec, Outcome};
use crate::store::checkpoints::{self, SessionCheckpoints};
use crate::store::progress::ProgressWriter;
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
    /// How long after a session's insert a missing recording is waited for.
    pub upload_grace: Duration,
    /// `worker.job_deadline_secs`: the most one attempt may take (see [`super::deadline`]).
    pub deadline_cap: Option<Duration>,
    pub metrics: Arc<Metrics>,
}

/// Processes one delivery. Bookkeeping errors (the database itself failing: transient by
/// nature) are logged; the message then simply reappears after its VT, which is the retry.
/// A panic is our own bug: the session fails at once as an internal error, rather than
/// being retried until the attempts run out.
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
        let run = AssertUnwindSafe(try_process(&ctx, &delivery, shutdown))
            .catch_unwind()
            .await;
        match run.unwrap_or_else(|panic| Err(Panicked(panic_text(&*panic)).into())) {
            Ok(outcome) => ctx
                .metrics
                .job_ended(outcome, started.elapsed().as_secs_f64()),
            Err(err) => match err.downcast::<Panicked>() {
                Ok(Panicked(what)) => fail_internal(&ctx, &delivery, &what).await,
                Err(err) => tracing::error!(
                    error = format!("{err:#}"),
                    "job bookkeeping failed; the message will be redelivered"
                ),
            },
        }
        ctx.metrics.in_flight.dec();
    }
    .instrument(span)
    .await;
}

/// A job that panicked, and the panic's message.
#[derive(Debug, thiserror::Error)]
#[error("the job panicked: {0}")]
struct Panicked(String);

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned())
}

async fn fail_internal(ctx: &JobContext, delivery: &Delivery, what: &str) {
    tracing::error!(
        panic = what,
        "the job panicked; failing the session as an internal error"
    );
    let failure = Failure::Internal(format!("the job panicked: {what}"));
    let failed = async {
        let message = JobMessage::parse(&delivery.message).map_err(anyhow::Error::msg)?;
        match sessions::load(&ctx.pool, message.session_id).await? {
            Some(session) => fail(ctx, delivery, &session, &failure).await,
            None => dead_letter_orphan(ctx, delivery, &failure.to_string()).await,
        }
    };
    if let Err(err) = failed.await {
        tracing::error!(
            error = format!("{err:#}"),
            "could not record the internal error"
        );
    }
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
    if message.reason == Reason::Reassess {
        return reassess(ctx, delivery, &session, shutdown).await;
    }
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
    let spec = JobSpec {
        session_id: session.id,
        audio_path: session.audio_path.clone(),
        language: session.language(),
        num_speakers: match session.speakers() {
            Ok(k) => k,
            Err(failure) => return fail(ctx, delivery, &session, &failure).await,
        },
    };
    match run_pipeline(ctx, delivery, &session, Work::Full(spec), shutdown).await {
        Run::Finished(result) => match *result {
            Ok(outcome) => complete(ctx, delivery, &session, outcome).await,
            Err(JobError::Permanent(failure))
                if failure.awaits_upload() && upload_may_be_in_flight(ctx, &session) =>
            {
                wait_for_upload(ctx, delivery, &session, &failure).await
            }
            Err(JobError::Permanent(failure)) => {
                match &failure {
                    Failure::Transcription { .. } => {
                        ctx.metrics.provider_failed("transcription", false)
                    }
                    Failure::Assessment { .. } => ctx.metrics.provider_failed("assessment", false),
                    _ => {}
                }
                fail(ctx, delivery, &session, &failure).await
            }
            Err(JobError::Transient {
                origin,
                reason,
                retry_after,
            }) => {
                if matches!(origin, Origin::Transcription | Origin::Assessment) {
                    ctx.metrics.provider_failed(origin.as_str(), true);
                }
                retry_or_fail(ctx, delivery, &session, reason, retry_after).await
            }
        },
        Run::ShutDown => hand_back(ctx, delivery, &session).await,
        Run::LeaseLost => Ok(JobOutcome::LeaseLost),
        Run::TimedOut(reason) => timed_out(ctx, delivery, &session, reason).await,
    }
}

/// A timed-out attempt is retried like an outage. On the last one, when the measured part
/// was done (its checkpoint is there: the judgement is what ran out of time), the session
/// completes with the judgement `unavailable`, the measured part saved rather than lost.
async fn timed_out(
    ctx: &JobContext,
    delivery: &Delivery,
    session: &SessionRow,
    reason: String,
) -> anyhow::Result<JobOutcome> {
    tracing::warn!(%reason, "the attempt ran out of time");
    if is_last_attempt(ctx, delivery)
        && let Some(Ok(measured)) = stored_measurements(ctx, session).await?
    {
        let status = JudgementStatus::Unavailable { reason };
        return complete(ctx, delivery, session, pipeline::unjudged(measured, status)).await;
    }
    retry_or_fail(ctx, delivery, session, reason, None).await
}

/// The measurements the session's result was (or is being) built from, whatever inputs
/// they came from: `None` when there are none, the parse error when they cannot be read.
pub(super) async fn stored_measurements(
    ctx: &JobContext,
    session: &SessionRow,
) -> anyhow::Result<Option<Result<Measured, serde_json::Error>>> {
    let stored = checkpoints::latest(&ctx.pool, session.id, checkpoint::MEASURED).await?;
    Ok(stored.map(serde_json::from_value))
}

/// No attempt comes after this one: outages settle instead of retrying.
pub(super) fn is_last_attempt(ctx: &JobContext, delivery: &Delivery) -> bool {
    delivery.read_ct >= ctx.max_attempts
}

pub(super) enum Run {
    Finished(Box<Result<Outcome, JobError>>),
    ShutDown,
    LeaseLost,
    /// The attempt's deadline passed: why, in words.
    TimedOut(String),
}

/// What a delivery asks for.
pub(super) enum Work {
    /// Every stage (resuming from a checkpoint when an earlier attempt left one).
    Full(JobSpec),
    /// Only the judgement, on stored measurements.
    Judge(Box<Measured>),
}

pub(super) async fn run_pipeline(
    ctx: &JobContext,
    delivery: &Delivery,
    session: &SessionRow,
    work: Work,
    shutdown: CancellationToken,
) -> Run {
    let lease_lost = CancellationToken::new();
    let beat = heartbeat::spawn(ctx, delivery.clone(), lease_lost.clone());
    let (writer, writer_task) = ProgressWriter::spawn(
        ctx.pool.clone(),
        session.id,
        delivery.read_ct,
        session.language(),
    );
    // The last attempt settles a provider outage instead of retrying: the measured results
    // are saved with the judgement `unavailable`.
    let on_outage = if is_last_attempt(ctx, delivery) {
        OnOutage::Settle
    } else {
        OnOutage::Retry
    };
    let checkpoints = SessionCheckpoints {
        pool: ctx.pool.clone(),
        session_id: session.id,
    };
    let deps = &ctx.deps;
    let result = async {
        match work {
            Work::Full(spec) => pipeline::run(&spec, deps, &writer, &checkpoints, on_outage).await,
            Work::Judge(measured) => pipeline::judge(*measured, deps, &writer, on_outage).await,
        }
    };
    let expired = deadline::expired(ctx.deadline_cap, writer.length(), Instant::now().into());
    let run = tokio::select! {
        result = result => Run::Finished(Box::new(result)),
        _ = shutdown.cancelled() => Run::ShutDown,
        _ = lease_lost.cancelled() => Run::LeaseLost,
        budget = expired => Run::TimedOut(format!(
            "{TIMED_OUT} {} s in stage {}",
            budget.as_secs(),
            writer.stage().as_str()
        )),
    };
    beat.abort();
    drop(writer);
    // The last in-stage row must land before the final one is written.
    let _ = writer_task.await;
    run
}
