//! The queue side of the daemon: poll loop with LISTEN wake-ups, several jobs at once,
//! heartbeats, retries, dead letters and a bounded drain at shutdown. It knows pgmq and
//! nothing about audio: each job hands the pipeline a [`crate::pipeline::JobSpec`].

mod backoff;
pub mod cleanup;
mod deadline;
mod endings;
mod heartbeat;
mod job;
mod message;
mod periodic;
pub mod queue;
mod reassess;
pub mod retention;
mod settle;
mod wakeup;

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use backoff::Backoff;
pub use job::JobContext;
pub use message::{JobMessage, Reason};
pub use wakeup::CHANNEL as WAKEUP_CHANNEL;

#[derive(Clone, Copy, Debug)]
pub struct LoopSettings {
    pub concurrency: usize,
    pub poll_interval: Duration,
    /// How long in-flight jobs may run on after shutdown is requested.
    pub shutdown_grace: Duration,
}

/// Runs until `shutdown` is cancelled and in-flight jobs have finished or been handed back.
pub async fn run_until_stopped(
    ctx: Arc<JobContext>,
    settings: LoopSettings,
    shutdown: CancellationToken,
) {
    let jobs_stop = CancellationToken::new();
    let listener = tokio::spawn(wakeup::listen(
        ctx.pool.clone(),
        ctx.wake.clone(),
        shutdown.clone(),
    ));
    let mut jobs = JoinSet::new();
    tracing::info!(concurrency = settings.concurrency, "worker started");
    while !shutdown.is_cancelled() {
        let free = settings.concurrency - jobs.len();
        let filled = free > 0 && fill(&ctx, free, &mut jobs, &jobs_stop).await;
        if filled {
            // Every slot got a job; there may be more waiting right away.
            continue;
        }
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = ctx.wake.notified() => {}
            _ = tokio::time::sleep(settings.poll_interval) => {}
            Some(joined) = jobs.join_next(), if !jobs.is_empty() => report_panic(joined),
        }
    }
    drain(&mut jobs, settings.shutdown_grace, &jobs_stop).await;
    listener.abort();
    tracing::info!("worker stopped");
}

/// Reads up to `free` messages and starts a job for each. True when every slot was filled.
async fn fill(
    ctx: &Arc<JobContext>,
    free: usize,
    jobs: &mut JoinSet<()>,
    stop: &CancellationToken,
) -> bool {
    match queue::read(&ctx.pool, ctx.visibility_timeout, free).await {
        Ok(deliveries) => {
            ctx.metrics.touched_database();
            let got = deliveries.len();
            for delivery in deliveries {
                jobs.spawn(job::process(ctx.clone(), delivery, stop.clone()));
            }
            got == free
        }
        Err(err) => {
            tracing::warn!(error = %err, "reading the queue failed; will retry at the next poll");
            false
        }
    }
}

/// Lets jobs finish within the grace period, then tells the rest to hand themselves back.
async fn drain(jobs: &mut JoinSet<()>, grace: Duration, stop: &CancellationToken) {
    if jobs.is_empty() {
        return;
    }
    tracing::info!(
        in_flight = jobs.len(),
        grace_secs = grace.as_secs_f64(),
        "waiting for in-flight jobs"
    );
    let deadline = tokio::time::sleep(grace);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            joined = jobs.join_next() => match joined {
                Some(joined) => report_panic(joined),
                None => return,
            },
            _ = &mut deadline, if !stop.is_cancelled() => stop.cancel(),
        }
    }
}

fn report_panic(joined: Result<(), tokio::task::JoinError>) {
    if let Err(err) = joined {
        tracing::error!(error = %err, "a job task panicked; its message will be redelivered after the VT");
    }
}
