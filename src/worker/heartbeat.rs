//! Keeps a running job's message invisible: extends the VT every VT/3, so a long recording is
//! never handed to a second worker while this one is alive, and one missed beat is harmless.

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::JobContext;
use super::queue::{self, Delivery};

/// Starts the heartbeat; `lease_lost` is cancelled if another worker has taken the message.
/// Abort the handle when the job ends.
pub fn spawn(
    ctx: &JobContext,
    delivery: Delivery,
    lease_lost: CancellationToken,
) -> JoinHandle<()> {
    let (pool, metrics, vt) = (
        ctx.pool.clone(),
        ctx.metrics.clone(),
        ctx.visibility_timeout,
    );
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(vt / 3);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            match queue::extend(&pool, &delivery, vt).await {
                Ok(true) => metrics.touched_database(),
                Ok(false) => {
                    tracing::warn!(
                        "lease lost: another worker holds this message now, or its session was deleted"
                    );
                    lease_lost.cancel();
                    return;
                }
                Err(err) => {
                    tracing::warn!(error = %err, "heartbeat failed; retrying at the next beat")
                }
            }
        }
    })
}
