//! LISTEN wake-ups: the enqueue trigger's NOTIFY reaches an idle worker in milliseconds,
//! so the fallback poll can be slow and an idle worker costs the database almost nothing.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub const CHANNEL: &str = "vibeinsight_jobs";

/// Listens until `shutdown`, waking the poll loop on every notification. After a connection
/// loss it wakes the loop too: notifications sent meanwhile are gone, the messages are not.
pub async fn listen(pool: PgPool, wake: Arc<Notify>, shutdown: CancellationToken) {
    let mut listener = loop {
        match connect(&pool).await {
            Ok(listener) => break listener,
            Err(err) => {
                tracing::warn!(error = %err, "LISTEN failed; relying on the poll until it works");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                }
            }
        }
    };
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            received = listener.recv() => {
                if let Err(err) = received {
                    tracing::warn!(error = %err, "LISTEN connection lost; reconnecting");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                wake.notify_one();
            }
        }
    }
}

async fn connect(pool: &PgPool) -> sqlx::Result<PgListener> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}
