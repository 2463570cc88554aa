//! The reconnection policy's arithmetic: exponential backoff with full
//! jitter, capped. Every retry wait in the session comes from here.

use std::time::Duration;

use rand::Rng;

use crate::config::Backoff;

/// The longest wait before attempt number `attempt` (1-based).
pub fn ceiling(backoff: &Backoff, attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(1).min(30);
    backoff
        .initial
        .saturating_mul(1u32 << doublings)
        .min(backoff.max)
}

/// The wait before attempt number `attempt`: uniform in `[0, ceiling]`
/// ("full jitter"), so that many clients cut off together do not come back
/// together.
pub fn delay(backoff: &Backoff, attempt: u32, rng: &mut impl Rng) -> Duration {
    let ceiling = ceiling(backoff, attempt);
    let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rng.random_range(0..=millis))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn ceiling_doubles_then_caps() {
        let b = Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
        };
        let got: Vec<u64> = (1..=9).map(|a| ceiling(&b, a).as_secs()).collect();
        assert_eq!(got, vec![1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(ceiling(&b, 1000).as_secs(), 60);
    }

    #[test]
    fn jitter_stays_within_bounds_and_spreads() {
        let b = Backoff::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let samples: Vec<Duration> = (0..1000).map(|_| delay(&b, 4, &mut rng)).collect();
        assert!(samples.iter().all(|d| *d <= Duration::from_secs(8)));
        let below_half = samples
            .iter()
            .filter(|d| **d < Duration::from_secs(4))
            .count();
        assert!((350..650).contains(&below_half), "{below_half}");
    }
}
