//! The daemon's two timeout presets, and the numbers of them the scenarios
//! depend on.

use std::time::Duration;

/// The daemon's two timeout presets: `Timeouts::default()` /
/// `Backoff::default()`, or `--tight-timeouts` (`tight()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Preset {
    Default,
    Tight,
}

/// The numbers of a preset that the scenarios depend on. A copy of
/// `wimsy-session`'s config (devtools does not link the session); the test at
/// the bottom of this file keeps them equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Numbers {
    pub(crate) login: Duration,
    pub(crate) idle_probe: Duration,
    pub(crate) probe_answer: Duration,
    pub(crate) backoff_initial: Duration,
    pub(crate) backoff_max: Duration,
    pub(crate) stable_after: Duration,
}

impl Preset {
    pub(crate) fn numbers(self) -> Numbers {
        match self {
            Preset::Default => Numbers {
                login: Duration::from_secs(30),
                idle_probe: Duration::from_secs(240),
                probe_answer: Duration::from_secs(20),
                backoff_initial: Duration::from_secs(1),
                backoff_max: Duration::from_secs(300),
                stable_after: Duration::from_secs(10),
            },
            Preset::Tight => Numbers {
                login: Duration::from_secs(5),
                idle_probe: Duration::from_secs(3),
                probe_answer: Duration::from_secs(4),
                backoff_initial: Duration::from_millis(100),
                backoff_max: Duration::from_secs(2),
                stable_after: Duration::from_secs(2),
            },
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Preset::Default => "default timeouts",
            Preset::Tight => "tight preset",
        }
    }

    /// How long a connection must have lived before a fault for the daemon
    /// to treat its loss as the loss of a stable connection (reconnect at
    /// once) rather than flapping (back off first).
    pub(crate) fn settle(self) -> Duration {
        self.numbers().stable_after + Duration::from_millis(500)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preset_numbers_match_the_session_config() {
        use wimsy_session::{Backoff, Timeouts};
        for (preset, t, b) in [
            (Preset::Default, Timeouts::default(), Backoff::default()),
            (Preset::Tight, Timeouts::tight(), Backoff::tight()),
        ] {
            let n = preset.numbers();
            assert_eq!(n.login, t.login, "{preset:?}");
            assert_eq!(n.idle_probe, t.idle_probe, "{preset:?}");
            assert_eq!(n.probe_answer, t.probe_answer, "{preset:?}");
            assert_eq!(n.backoff_initial, b.initial, "{preset:?}");
            assert_eq!(n.backoff_max, b.max, "{preset:?}");
            assert_eq!(n.stable_after, b.stable_after, "{preset:?}");
        }
    }
}
