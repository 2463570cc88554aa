//! A subscribed IPC connection whose events are read by a task of their
//! own and timestamped on arrival, and waits on them that all have a
//! deadline.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use wimsy_ipc::{ConnectionState, Event};

use super::harness::{Daemon, log_tail};

/// An event and when this process read it from the socket.
#[derive(Debug)]
pub(crate) struct Stamped {
    pub(crate) at: Instant,
    pub(crate) event: Event,
}

enum Item {
    Event(Stamped),
    Closed(String),
}

/// A subscribed connection whose events are read by a task of their own
/// and timestamped on arrival, so that a scenario blocked in a system call
/// (stopping Prosody, running `ss`) does not shift the measurements.
pub(crate) struct Watcher {
    rx: mpsc::UnboundedReceiver<Item>,
    task: JoinHandle<()>,
    /// Why the stream ended, once [`Self::clear`] has seen it end.
    closed: Option<String>,
    name: String,
    log: PathBuf,
}

impl Watcher {
    pub(crate) async fn new(daemon: &Daemon) -> Result<Self> {
        let mut client = daemon.client().await?;
        client
            .subscribe()
            .await
            .with_context(|| format!("subscribing to wimsyd ({})", daemon.name()))?;
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            loop {
                let item = match client.next_event().await {
                    Ok(Some((_, event))) => Item::Event(Stamped {
                        at: Instant::now(),
                        event,
                    }),
                    Ok(None) => Item::Closed("the daemon closed the connection".to_owned()),
                    Err(e) => Item::Closed(format!("the event stream failed: {e}")),
                };
                let last = matches!(item, Item::Closed(_));
                if tx.send(item).is_err() || last {
                    return;
                }
            }
        });
        Ok(Self {
            rx,
            task,
            closed: None,
            name: daemon.name().to_owned(),
            log: daemon.log_path().to_path_buf(),
        })
    }

    /// Forget the events received so far.
    pub(crate) fn clear(&mut self) {
        while let Ok(item) = self.rx.try_recv() {
            if let Item::Closed(why) = item {
                // Kept for the next wait.
                self.closed = Some(why);
            }
        }
    }

    /// The next item, or the end seen by [`Self::clear`].
    async fn next(&mut self, deadline: tokio::time::Instant) -> Option<Option<Item>> {
        if let Some(why) = self.closed.clone() {
            return Some(Some(Item::Closed(why)));
        }
        tokio::time::timeout_at(deadline, self.rx.recv()).await.ok()
    }

    /// The first event (from now on) that satisfies `wanted`.
    pub(crate) async fn wait_for(
        &mut self,
        timeout: Duration,
        what: &str,
        mut wanted: impl FnMut(&Event) -> bool,
    ) -> Result<Stamped> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match self.next(deadline).await {
                None => bail!(
                    "wimsyd ({}): no {what} within {timeout:?}{}",
                    self.name,
                    log_tail(&self.name, &self.log)
                ),
                Some(None) => bail!("wimsyd ({}): the event reader is gone", self.name),
                Some(Some(Item::Closed(why))) => bail!(
                    "wimsyd ({}): {why} while waiting for {what}{}",
                    self.name,
                    log_tail(&self.name, &self.log)
                ),
                Some(Some(Item::Event(stamped))) if wanted(&stamped.event) => return Ok(stamped),
                Some(Some(Item::Event(_))) => {}
            }
        }
    }

    /// When `count` events satisfying `wanted` have arrived; `wanted` may
    /// keep its own books (e.g. count distinct ids) and returns whether the
    /// event counts.
    pub(crate) async fn wait_count(
        &mut self,
        timeout: Duration,
        what: &str,
        count: usize,
        mut wanted: impl FnMut(&Event) -> Result<bool>,
    ) -> Result<Instant> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut seen = 0;
        if count == 0 {
            return Ok(Instant::now());
        }
        loop {
            match self.next(deadline).await {
                None => bail!(
                    "wimsyd ({}): {seen} of {count} {what} within {timeout:?}{}",
                    self.name,
                    log_tail(&self.name, &self.log)
                ),
                Some(None) => bail!("wimsyd ({}): the event reader is gone", self.name),
                Some(Some(Item::Closed(why))) => bail!(
                    "wimsyd ({}): {why} after {seen} of {count} {what}{}",
                    self.name,
                    log_tail(&self.name, &self.log)
                ),
                Some(Some(Item::Event(stamped))) => {
                    if wanted(&stamped.event)? {
                        seen += 1;
                        if seen >= count {
                            return Ok(stamped.at);
                        }
                    }
                }
            }
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A connection event of any account with this state.
pub(crate) fn is_state(event: &Event, state: ConnectionState) -> bool {
    matches!(event, Event::Connection { status, .. } if status.state == state)
}

/// A connection event leaving `connected`.
pub(crate) fn left_connected(event: &Event) -> bool {
    matches!(event, Event::Connection { status, .. } if status.state != ConnectionState::Connected)
}

/// The reason of a connection event ("" for other events).
pub(crate) fn reason(event: &Event) -> &str {
    match event {
        Event::Connection { status, .. } => &status.reason,
        _ => "",
    }
}
