//! When the daemon hands the kernel back its program's pages
//! (`system/code_pages.rs`): a while after it started, and a while after
//! each client left, so what startup, a window or a command ran does not
//! stay resident while nobody looks.

use std::time::Duration;

use tokio::time::Instant;

/// The timer, and how long it waits.
#[derive(Debug)]
pub(crate) struct IdleRelease {
    pub(crate) after: Duration,
    pub(crate) at: Option<Instant>,
}

impl IdleRelease {
    pub(crate) fn new(after: Duration) -> Self {
        Self { after, at: None }
    }

    /// Start (or start again) the wait.
    pub(crate) fn arm(&mut self, now: Instant) {
        self.at = Some(now + self.after);
    }

    /// The wait is over: release, once, until armed again.
    pub(crate) fn fire(&mut self) {
        self.at = None;
        match crate::system::code_pages::release() {
            Ok(0) => {}
            Ok(bytes) => tracing::debug!(
                kib = bytes / 1024,
                "released the program's pages while idle"
            ),
            Err(e) => tracing::debug!("could not release the program's pages: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn armed_it_fires_once_after_the_wait_and_again_when_armed_again() {
        let mut idle = IdleRelease::new(Duration::from_secs(60));
        assert_eq!(idle.at, None, "nothing until armed");
        let t0 = Instant::now();
        idle.arm(t0);
        // A client that leaves later pushes it back.
        idle.arm(t0 + Duration::from_secs(30));
        assert_eq!(idle.at, Some(t0 + Duration::from_secs(90)));
        idle.fire();
        assert_eq!(idle.at, None, "once");
        idle.arm(t0 + Duration::from_secs(100));
        assert_eq!(idle.at, Some(t0 + Duration::from_secs(160)));
    }
}
