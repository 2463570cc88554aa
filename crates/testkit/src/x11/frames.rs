//! Seeing frames drawn: the X DAMAGE extension reports every drawing on
//! the screen, so a test or benchmark knows when a window has drawn its
//! first frame or redrawn after an input, without reading pixels.
//!
//! A thread of its own reads the events on a connection of its own and
//! stamps each with the moment it arrived; it ends when the X server
//! goes away.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use x11rb::connection::Connection as _;
use x11rb::protocol::Event;
use x11rb::protocol::damage::{ConnectionExt as _, ReportLevel};

/// Drawing on the screen as it happens; see [`super::Xvfb::frames`].
#[derive(Debug)]
pub struct Frames {
    damage: Receiver<Instant>,
}

impl Frames {
    /// Starts watching everything drawn on `display` from now on.
    pub(super) fn watch(display: &str) -> anyhow::Result<Self> {
        let (conn, screen) = x11rb::connect(Some(display))
            .with_context(|| format!("connecting to the X server {display}"))?;
        let root = conn.setup().roots[screen].root;
        // The version must be asked before any other DAMAGE request.
        conn.damage_query_version(1, 1)?
            .reply()
            .context("the X server has no DAMAGE extension")?;
        let damage = conn.generate_id()?;
        // Damage on the root includes its children: one report per
        // drawing operation on any window, which is what a frame is made
        // of.
        conn.damage_create(damage, root, ReportLevel::RAW_RECTANGLES)?
            .check()
            .context("watching the screen for drawing")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            while let Ok(event) = conn.wait_for_event() {
                if matches!(event, Event::DamageNotify(_)) && tx.send(Instant::now()).is_err() {
                    break;
                }
            }
        });
        Ok(Self { damage: rx })
    }

    /// Forgets what was drawn until now.
    pub fn drain(&self) {
        while self.damage.try_recv().is_ok() {}
    }

    /// Waits up to `deadline` for the next drawing; when it was seen.
    pub fn next(&self, deadline: Duration) -> anyhow::Result<Instant> {
        match self.damage.recv_timeout(deadline) {
            Ok(at) => Ok(at),
            Err(RecvTimeoutError::Timeout) => bail!("nothing was drawn within {deadline:?}"),
            Err(RecvTimeoutError::Disconnected) => bail!("the X server went away"),
        }
    }

    /// Waits for the first drawing at or after `since` (earlier ones are
    /// dropped); when it was seen.
    pub fn first_after(&self, since: Instant, deadline: Duration) -> anyhow::Result<Instant> {
        let end = Instant::now() + deadline;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let at = self.next(left)?;
            if at >= since {
                return Ok(at);
            }
        }
    }

    /// Waits until nothing has been drawn for `quiet` (a frame is
    /// finished and nothing follows), at most `deadline`; when the last
    /// drawing was seen, if any was.
    pub fn settle(&self, quiet: Duration, deadline: Duration) -> anyhow::Result<Option<Instant>> {
        let end = Instant::now() + deadline;
        let mut last = None;
        loop {
            match self.damage.recv_timeout(quiet) {
                Ok(at) => last = Some(at),
                Err(RecvTimeoutError::Timeout) => return Ok(last),
                Err(RecvTimeoutError::Disconnected) => bail!("the X server went away"),
            }
            if Instant::now() >= end {
                bail!("the screen was still being redrawn after {deadline:?}");
            }
        }
    }
}
