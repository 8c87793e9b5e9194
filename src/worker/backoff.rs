//! Retry delays: exponential in the attempt number, capped, with jitter so a burst of
//! failures (a provider outage) does not come back as a synchronized burst.

use std::time::Duration;

use rand::Rng;

#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    /// Delay before attempt `attempt + 1`, uniformly in `[d/2, d]` with
    /// `d = min(max, base × 2^(attempt-1))`; never shorter than the provider's `retry_after`.
    pub fn delay(
        &self,
        attempt: i32,
        retry_after: Option<Duration>,
        rng: &mut impl Rng,
    ) -> Duration {
        let exponent = attempt.saturating_sub(1).clamp(0, 20) as u32;
        let ceiling = self.base.saturating_mul(1 << exponent).min(self.max);
        let jittered = ceiling.mul_f64(rng.random_range(0.5..=1.0));
        jittered.max(retry_after.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn grows_exponentially_within_jitter_and_cap() {
        let backoff = Backoff {
            base: Duration::from_secs(5),
            max: Duration::from_secs(60),
        };
        let mut rng = StdRng::seed_from_u64(7);
        for (attempt, ceiling) in [(1, 5), (2, 10), (3, 20), (4, 40), (5, 60), (9, 60)] {
            for _ in 0..50 {
                let d = backoff.delay(attempt, None, &mut rng).as_secs_f64();
                assert!(
                    d >= ceiling as f64 / 2.0 && d <= ceiling as f64,
                    "attempt {attempt}: {d}"
                );
            }
        }
    }

    #[test]
    fn honours_retry_after() {
        let backoff = Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(2),
        };
        let d = backoff.delay(
            1,
            Some(Duration::from_secs(30)),
            &mut StdRng::seed_from_u64(1),
        );
        assert_eq!(d, Duration::from_secs(30));
    }
}
