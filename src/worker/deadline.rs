//! One attempt's deadline. A provider that accepts the connection and never answers would
//! otherwise keep a job alive forever: the heartbeat keeps extending its lease.
//!
//! The budget is scaled to the recording (a fixed allowance plus twice its length: an hour
//! is analysed in minutes, transcribed at a hosted API in a few more), with the configured
//! `worker.job_deadline_secs` as a cap. Until the length is known (fetch and decode), the
//! allowance alone applies, or the cap when it is smaller.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// What every attempt gets besides twice the recording's length.
const ALLOWANCE: Duration = Duration::from_secs(300);
/// Before the length is known: fetching and decoding even a 4 h upload fits in this.
const BEFORE_LENGTH: Duration = Duration::from_secs(900);

/// The budget for a recording of `length` seconds (`None`: not known yet).
pub fn budget(cap: Option<Duration>, length: Option<f64>) -> Duration {
    let scaled = length.map_or(BEFORE_LENGTH, |secs| {
        ALLOWANCE + Duration::from_secs_f64(2.0 * secs.max(0.0))
    });
    cap.map_or(scaled, |cap| cap.min(scaled))
}

/// Resolves when the attempt started at `started` has used its budget, re-reading the
/// recording's length as the pipeline learns it; yields the budget that ran out.
pub async fn expired(
    cap: Option<Duration>,
    mut length: watch::Receiver<Option<f64>>,
    started: Instant,
) -> Duration {
    let mut known = true;
    loop {
        let budget = budget(cap, *length.borrow_and_update());
        tokio::select! {
            () = tokio::time::sleep_until(started + budget) => return budget,
            changed = length.changed(), if known => known = changed.is_ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_scales_with_the_recording_under_the_cap() {
        assert_eq!(budget(None, None), BEFORE_LENGTH);
        assert_eq!(budget(None, Some(3600.0)), Duration::from_secs(7_500));
        let cap = Some(Duration::from_secs(25));
        assert_eq!(budget(cap, None), Duration::from_secs(25));
        assert_eq!(budget(cap, Some(3600.0)), Duration::from_secs(25));
    }

    #[tokio::test(start_paused = true)]
    async fn a_length_learned_late_moves_the_deadline() {
        let (tx, rx) = watch::channel(None);
        let started = Instant::now();
        let deadline = tokio::spawn(expired(None, rx, started));
        tokio::time::sleep(Duration::from_secs(10)).await;
        tx.send_replace(Some(30.0));
        let budget = deadline.await.unwrap();
        assert_eq!(budget, Duration::from_secs(360));
        assert_eq!(started.elapsed(), Duration::from_secs(360));
    }
}
