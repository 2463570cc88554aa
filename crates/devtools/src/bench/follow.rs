//! `wimsyctl --json follow` as a frontend process, its lines stamped with
//! the wall clock as this process reads them, so that they compare with
//! the send times a peer writes into message bodies.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::{Instant, SystemTime};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use tokio::sync::mpsc;
use wimsy_ipc::{Direction, Event};

use super::harness::{Ctx, Daemon};

/// One line of `wimsyctl --json follow` after the snapshot.
#[derive(Deserialize)]
struct EventLine {
    event: Event,
}

/// A running `wimsyctl --json follow`; killed when dropped.
pub(crate) struct Follow {
    child: Child,
    lines: mpsc::UnboundedReceiver<(SystemTime, String)>,
}

impl Follow {
    /// Start following `daemon` and wait for its snapshot line.
    pub(crate) async fn start(ctx: &Ctx, daemon: &Daemon, deadline: Instant) -> Result<Self> {
        let mut child = Command::new(&ctx.wimsyctl)
            .arg("--socket")
            .arg(daemon.socket())
            .args(["--json", "follow"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", ctx.wimsyctl.display()))?;
        let stdout = child.stdout.take().context("wimsyctl's stdout")?;
        let (tx, lines) = mpsc::unbounded_channel();
        // A thread of its own: the stamp is taken the moment the line is
        // read, whatever the async tasks are doing.
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send((SystemTime::now(), line)).is_err() {
                    return;
                }
            }
        });
        let mut follow = Self { child, lines };
        follow
            .next_line(deadline)
            .await
            .context("waiting for the snapshot from `wimsyctl follow`")?;
        Ok(follow)
    }

    async fn next_line(&mut self, deadline: Instant) -> Result<(SystemTime, String)> {
        match tokio::time::timeout_at(deadline.into(), self.lines.recv()).await {
            Ok(Some(line)) => Ok(line),
            Ok(None) => bail!(
                "`wimsyctl follow` ended ({:?})",
                self.child.try_wait().ok().flatten()
            ),
            Err(_) => bail!("no line from `wimsyctl follow` before the deadline"),
        }
    }

    /// The next `n` incoming messages whose body starts with `prefix`, with
    /// when their lines were read. Other lines are skipped.
    pub(crate) async fn incoming(
        &mut self,
        prefix: &str,
        n: usize,
        deadline: Instant,
    ) -> Result<Vec<(SystemTime, String)>> {
        let mut found = Vec::with_capacity(n);
        while found.len() < n {
            let (at, line) = self.next_line(deadline).await.with_context(|| {
                format!("{} of {n} messages seen by `wimsyctl follow`", found.len())
            })?;
            let parsed: EventLine = serde_json::from_str(&line)
                .with_context(|| format!("`wimsyctl --json follow` printed {line:?}"))?;
            if let Event::Message { message, .. } = parsed.event
                && message.direction == Direction::In
                && message.body.starts_with(prefix)
            {
                found.push((at, message.body));
            }
        }
        Ok(found)
    }
}

impl Drop for Follow {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
