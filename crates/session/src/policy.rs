//! The reconnection policy's arithmetic: exponential backoff with full
//! jitter, capped. Every retry wait in the session comes from here.

use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

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
    jitter(ceiling(backoff, attempt), rng)
}

/// Uniform in `[0, ceiling]`.
fn jitter(ceiling: Duration, rng: &mut impl Rng) -> Duration {
    let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rng.random_range(0..=millis))
}

/// What to do after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Try again after this wait; it will be attempt number `attempt`.
    RetryIn {
        /// The wait.
        wait: Duration,
        /// The next attempt's number.
        attempt: u32,
    },
    /// The retry window is spent: wait for a network change or the user.
    GiveUp {
        /// Attempts made in the window.
        attempts: u32,
    },
}

/// The one reconnection policy: counts attempts, decides every wait.
///
/// Two clocks, because they answer two questions:
/// - how hard to back off: a *run* of failures starts with a loss or a
///   failed attempt and ends only when a connection works (stays up for
///   `stable_after`). A server that kicks us off at once keeps the run
///   going, so its waits keep growing. Within a run a wait is also never
///   longer than half the run's age, so after a short outage (a server
///   restart) the next attempt comes within seconds of the server's return.
/// - when to give up: the retry window counts only time without any
///   bound connection.
#[derive(Debug, Clone)]
pub struct Reconnect {
    backoff: Backoff,
    /// Failed attempts (and losses of short-lived connections) in the run.
    attempts: u32,
    /// When the current run of failures began.
    run_since: Option<Instant>,
    /// Since when no connection has been up: the retry window's start.
    down_since: Option<Instant>,
    connected_at: Option<Instant>,
}

impl Reconnect {
    /// A policy with these numbers.
    pub fn new(backoff: Backoff) -> Self {
        Self {
            backoff,
            attempts: 0,
            run_since: None,
            down_since: None,
            connected_at: None,
        }
    }

    /// Start afresh (the user asked, the network came back, a wake).
    pub fn reset(&mut self) {
        self.attempts = 0;
        self.run_since = None;
        self.down_since = None;
    }

    /// Attempts counted in the current run of failures.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// A connection came up (bound or resumed): the retry window stops
    /// counting; the run of failures goes on until the connection proves
    /// stable.
    pub fn connected(&mut self, now: Instant) {
        self.connected_at = Some(now);
        self.down_since = None;
    }

    /// A live connection was lost. One that worked (lived `stable_after`)
    /// ends the run; a short-lived one continues it.
    pub fn lost(&mut self, now: Instant) {
        let lived = self
            .connected_at
            .take()
            .map(|at| now.saturating_duration_since(at));
        if lived.is_some_and(|lived| lived >= self.backoff.stable_after) {
            self.attempts = 0;
            self.run_since = None;
        } else {
            self.attempts = self.attempts.saturating_add(1);
        }
        self.run_since.get_or_insert(now);
        self.down_since.get_or_insert(now);
    }

    /// An attempt failed: how long to wait, or whether to give up.
    pub fn failed(&mut self, now: Instant, rng: &mut impl Rng) -> Decision {
        self.attempts = self.attempts.saturating_add(1);
        self.run_since.get_or_insert(now);
        let down_since = *self.down_since.get_or_insert(now);
        if now.saturating_duration_since(down_since) >= self.backoff.retry_window {
            return Decision::GiveUp {
                attempts: self.attempts,
            };
        }
        Decision::RetryIn {
            wait: self.next_wait(now, rng),
            attempt: self.attempts + 1,
        }
    }

    /// The wait before reconnecting after [`Self::lost`]: none after a
    /// connection that worked (resume at once), backoff after a flapping
    /// one.
    pub fn after_loss(&self, now: Instant, rng: &mut impl Rng) -> Duration {
        if self.attempts == 0 {
            Duration::ZERO
        } else {
            self.next_wait(now, rng)
        }
    }

    /// The longest wait allowed now: the exponential ceiling for the
    /// attempt count, but no more than half the run's age (and never less
    /// than `initial`).
    pub fn ceiling(&self, now: Instant) -> Duration {
        let age = self
            .run_since
            .map(|since| now.saturating_duration_since(since))
            .unwrap_or_default();
        ceiling(&self.backoff, self.attempts).min((age / 2).max(self.backoff.initial))
    }

    fn next_wait(&self, now: Instant, rng: &mut impl Rng) -> Duration {
        jitter(self.ceiling(now), rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn test_backoff() -> Backoff {
        Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
            retry_window: Duration::from_secs(600),
            stable_after: Duration::from_secs(30),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn waits_grow_then_the_window_expires() {
        let mut policy = Reconnect::new(test_backoff());
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut waited = Duration::ZERO;
        let mut attempts = 0;
        loop {
            match policy.failed(Instant::now(), &mut rng) {
                Decision::RetryIn { wait, attempt } => {
                    attempts += 1;
                    assert_eq!(attempt, attempts + 1);
                    assert!(wait <= ceiling(&test_backoff(), attempts));
                    tokio::time::advance(wait.max(Duration::from_millis(1))).await;
                    waited += wait;
                }
                Decision::GiveUp { attempts: made } => {
                    assert_eq!(made, attempts + 1);
                    break;
                }
            }
        }
        assert!(
            waited >= Duration::from_secs(590),
            "kept trying for the window: {waited:?}"
        );
        // Capped at 60 s with full jitter: 600 s cannot take more than a
        // few dozen attempts, nor fewer than 10.
        assert!((10..200).contains(&attempts), "{attempts}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stable_connection_resets_and_resumes_at_once() {
        let mut policy = Reconnect::new(test_backoff());
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        for _ in 0..5 {
            policy.failed(Instant::now(), &mut rng);
        }
        policy.connected(Instant::now());
        tokio::time::advance(Duration::from_secs(31)).await;
        policy.lost(Instant::now());
        assert_eq!(policy.attempts(), 0);
        assert_eq!(policy.after_loss(Instant::now(), &mut rng), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_flapping_connection_is_slowed_down() {
        let mut policy = Reconnect::new(test_backoff());
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut ceilings = Vec::new();
        for _ in 0..30 {
            policy.connected(Instant::now());
            tokio::time::advance(Duration::from_secs(2)).await;
            policy.lost(Instant::now());
            ceilings.push(policy.ceiling(Instant::now()));
            let wait = policy.after_loss(Instant::now(), &mut rng);
            assert!(wait <= *ceilings.last().unwrap());
            tokio::time::advance(wait).await;
        }
        assert_eq!(policy.attempts(), 30);
        assert!(ceilings.windows(2).all(|w| w[1] >= w[0]), "{ceilings:?}");
        assert_eq!(*ceilings.last().unwrap(), Duration::from_secs(60));
    }

    /// Simulates a server down for `outage` right after a stable
    /// connection was lost; returns how long after its return we connect.
    async fn reconnect_delay_after(outage: Duration, backoff: Backoff, seed: u64) -> Duration {
        let mut policy = Reconnect::new(backoff);
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        policy.connected(Instant::now());
        tokio::time::advance(backoff.stable_after * 2).await;
        let start = Instant::now();
        policy.lost(start);
        let mut wait = policy.after_loss(start, &mut rng);
        loop {
            tokio::time::advance(wait).await;
            let elapsed = start.elapsed();
            if elapsed >= outage {
                return elapsed - outage;
            }
            match policy.failed(Instant::now(), &mut rng) {
                Decision::RetryIn { wait: next, .. } => wait = next,
                Decision::GiveUp { .. } => panic!("gave up during a {outage:?} outage"),
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_short_outage_the_server_is_back_within_seconds() {
        for seed in 0..200 {
            let late =
                reconnect_delay_after(Duration::from_secs(10), Backoff::default(), seed).await;
            // The last failed attempt came before the server returned, at
            // most 10 s into the run: the wait it drew is at most 5 s.
            assert!(late <= Duration::from_secs(5), "seed {seed}: {late:?}");
            let late =
                reconnect_delay_after(Duration::from_secs(120), Backoff::default(), seed).await;
            assert!(late <= Duration::from_secs(60), "seed {seed}: {late:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_window_counts_only_time_without_a_connection() {
        let mut policy = Reconnect::new(test_backoff());
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        // Fail for most of the window, connect briefly, fail again: the
        // window starts over at the connection.
        policy.failed(Instant::now(), &mut rng);
        tokio::time::advance(Duration::from_secs(500)).await;
        assert!(matches!(
            policy.failed(Instant::now(), &mut rng),
            Decision::RetryIn { .. }
        ));
        policy.connected(Instant::now());
        tokio::time::advance(Duration::from_secs(1)).await;
        policy.lost(Instant::now());
        tokio::time::advance(Duration::from_secs(500)).await;
        assert!(matches!(
            policy.failed(Instant::now(), &mut rng),
            Decision::RetryIn { .. }
        ));
        // The short connection did not end the run: the backoff goes on.
        assert_eq!(policy.attempts(), 4);
        tokio::time::advance(Duration::from_secs(100)).await;
        assert!(matches!(
            policy.failed(Instant::now(), &mut rng),
            Decision::GiveUp { .. }
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn reset_restarts_the_window() {
        let mut policy = Reconnect::new(test_backoff());
        let mut rng = rand::rngs::StdRng::seed_from_u64(4);
        policy.failed(Instant::now(), &mut rng);
        tokio::time::advance(Duration::from_secs(700)).await;
        assert!(matches!(
            policy.failed(Instant::now(), &mut rng),
            Decision::GiveUp { .. }
        ));
        policy.reset();
        assert!(matches!(
            policy.failed(Instant::now(), &mut rng),
            Decision::RetryIn { attempt: 2, .. }
        ));
    }

    #[test]
    fn ceiling_doubles_then_caps() {
        let b = Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
            ..Backoff::default()
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
