//! Housekeeping beside the jobs (retention, removing deleted recordings): one round at start,
//! then one every period, until shutdown.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Runs `round` now and then every `period` until `stop`. A round is not raced against
/// `stop`: each is a few queries that end by themselves, and the shutdown waits for it rather
/// than leave a lock or a half-done batch to a dropped connection.
pub async fn every<F, R>(period: Duration, stop: &CancellationToken, mut round: F)
where
    F: FnMut() -> R,
    R: Future<Output = ()>,
{
    while !stop.is_cancelled() {
        round().await;
        tokio::select! {
            () = stop.cancelled() => {}
            () = tokio::time::sleep(period) => {}
        }
    }
}
