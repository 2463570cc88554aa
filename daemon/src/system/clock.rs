//! Suspend detection where nothing tells us: the monotonic clock stops
//! while the machine sleeps, the wall clock does not. A gap between them
//! means we slept.

use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::SystemEvent;

/// How often the clocks are compared: rare enough to cost nothing on an
/// idle laptop, often enough that a wake is noticed within a minute.
pub(crate) const CHECK_EVERY: Duration = Duration::from_secs(60);

/// A gap this large is a sleep, not clock drift or a busy machine.
const SLEEP_GAP: Duration = Duration::from_secs(20);

pub(crate) async fn watch(events: mpsc::Sender<SystemEvent>, every: Duration) {
    let mut interval = tokio::time::interval_at(Instant::now() + every, every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_wall = SystemTime::now();
    let mut last_mono = Instant::now();
    loop {
        interval.tick().await;
        let wall = SystemTime::now();
        let mono = Instant::now();
        if let Some(gap) = sleep_gap(last_wall, wall, mono.duration_since(last_mono)) {
            tracing::info!(gap_s = gap.as_secs(), "woke from sleep (clock gap)");
            if events.send(SystemEvent::Woke { gap }).await.is_err() {
                return;
            }
        }
        last_wall = wall;
        last_mono = mono;
    }
}

/// The time slept, if the wall clock ran ahead of the monotonic clock by
/// more than [`SLEEP_GAP`].
fn sleep_gap(before: SystemTime, now: SystemTime, monotonic: Duration) -> Option<Duration> {
    let wall = now.duration_since(before).ok()?;
    let gap = wall.checked_sub(monotonic)?;
    (gap >= SLEEP_GAP).then_some(gap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gap_is_a_sleep_and_drift_is_not() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let minute = Duration::from_secs(60);
        assert_eq!(sleep_gap(t0, t0 + minute, minute), None);
        assert_eq!(
            sleep_gap(t0, t0 + minute + Duration::from_secs(2), minute),
            None
        );
        assert_eq!(
            sleep_gap(t0, t0 + Duration::from_secs(3600), minute),
            Some(Duration::from_secs(3540))
        );
        assert_eq!(sleep_gap(t0 + minute, t0, minute), None, "clock set back");
    }
}
