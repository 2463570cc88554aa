//! The real `wimsy` window under test: started on a given X display with
//! its test hooks on (`WIMSY_TEST_HOOKS=1`), its hook lines read from
//! stdout as they come, its stderr kept in a log, and killed when dropped.
//!
//! The hook lines are the GUI's contract with tests and benchmarks
//! ([`Hook`]); nothing is read from pixels.

use std::ffi::OsString;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// One line the GUI prints with `WIMSY_TEST_HOOKS=1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hook {
    /// `attached <n> accounts`: attached to the daemon (again).
    Attached { accounts: usize },
    /// `open <account> <peer>`: a conversation was opened.
    Open { account: String, peer: String },
    /// `showing <account> <peer> <count> <newest_id>`: what the open
    /// conversation shows changed.
    Showing {
        account: String,
        peer: String,
        count: usize,
        newest_id: String,
    },
    /// `sent <account> <peer> <id>`: the composer sent a message.
    Sent {
        account: String,
        peer: String,
        id: String,
    },
    /// `close-requested`: the window's close button was pressed.
    CloseRequested,
    /// Any other line, kept as it is.
    Other(String),
}

impl Hook {
    /// Reads one hook line.
    pub fn parse(line: &str) -> Self {
        let words: Vec<&str> = line.split_whitespace().collect();
        let owned = |i: usize| words[i].to_owned();
        match words.as_slice() {
            ["attached", n, "accounts"] => n
                .parse()
                .map(|accounts| Hook::Attached { accounts })
                .unwrap_or_else(|_| Hook::Other(line.to_owned())),
            ["open", _, _] => Hook::Open {
                account: owned(1),
                peer: owned(2),
            },
            ["showing", _, _, count, _] => match count.parse() {
                Ok(count) => Hook::Showing {
                    account: owned(1),
                    peer: owned(2),
                    count,
                    newest_id: owned(4),
                },
                Err(_) => Hook::Other(line.to_owned()),
            },
            ["sent", _, _, _] => Hook::Sent {
                account: owned(1),
                peer: owned(2),
                id: owned(3),
            },
            ["close-requested"] => Hook::CloseRequested,
            _ => Hook::Other(line.to_owned()),
        }
    }
}

/// A hook line and when it was read.
#[derive(Debug, Clone)]
pub struct HookLine {
    /// When the harness read it.
    pub at: Instant,
    /// The line, parsed.
    pub hook: Hook,
}

/// A running `wimsy`.
#[derive(Debug)]
pub struct Wimsy {
    child: Option<Child>,
    started: Instant,
    lines: Receiver<HookLine>,
    seen: Vec<HookLine>,
    log: PathBuf,
}

/// How to start a [`Wimsy`].
#[derive(Debug, Clone)]
pub struct WimsyCommand {
    bin_dir: PathBuf,
    socket: PathBuf,
    display: String,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
}

impl WimsyCommand {
    /// `wimsy` from `bin_dir` attached to the daemon at `socket`, on X
    /// display `display`, drawn by tiny-skia.
    pub fn new(bin_dir: impl Into<PathBuf>, socket: &Path, display: &str) -> Self {
        Self {
            bin_dir: bin_dir.into(),
            socket: socket.to_path_buf(),
            display: display.to_owned(),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    /// Extra arguments (`--chat JID`, ...).
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// `key=value` in its environment, over the harness's own.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Starts it; its stderr goes to `log` (appended).
    pub fn spawn(&self, log: &Path) -> anyhow::Result<Wimsy> {
        let binary = self.bin_dir.join("wimsy");
        if !binary.exists() {
            bail!(
                "{} is missing: build it first (`cargo build --workspace --bins`)",
                binary.display()
            );
        }
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        let started = Instant::now();
        let mut child = Command::new(&binary)
            .arg("--socket")
            .arg(&self.socket)
            .args(&self.args)
            .env("DISPLAY", &self.display)
            .env_remove("WAYLAND_DISPLAY")
            .env("ICED_BACKEND", "tiny-skia")
            .env("WIMSY_TEST_HOOKS", "1")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let stdout = child.stdout.take().context("wimsy has no stdout pipe")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let line = HookLine {
                    at: Instant::now(),
                    hook: Hook::parse(&line),
                };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Wimsy {
            child: Some(child),
            started,
            lines: rx,
            seen: Vec::new(),
            log: log.to_path_buf(),
        })
    }
}

impl Wimsy {
    /// Its process id (0 once it has been reaped).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// When it was started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Every hook line read so far.
    pub fn seen(&self) -> &[HookLine] {
        &self.seen
    }

    /// Waits up to `deadline` for a hook line, not seen before, that
    /// `wanted` accepts; every line read on the way is kept in
    /// [`Self::seen`]. The error names `what` and lists the lines seen.
    pub fn wait_hook(
        &mut self,
        deadline: Duration,
        what: &str,
        mut wanted: impl FnMut(&Hook) -> bool,
    ) -> anyhow::Result<HookLine> {
        let end = Instant::now() + deadline;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line.hook) {
                        return Ok(line);
                    }
                }
                Err(RecvTimeoutError::Timeout) => bail!(
                    "wimsy never showed {what} within {deadline:?}; its hook lines: {:?}{}",
                    self.hook_lines(),
                    self.log_tail()
                ),
                Err(RecvTimeoutError::Disconnected) => bail!(
                    "wimsy closed its output before showing {what}; its hook lines: {:?}{}",
                    self.hook_lines(),
                    self.log_tail()
                ),
            }
        }
    }

    /// The hook lines that have come since the last look, without
    /// waiting (they are kept in [`Self::seen`] too).
    pub fn poll(&mut self) -> Vec<HookLine> {
        let new: Vec<HookLine> = self.lines.try_iter().collect();
        self.seen.extend(new.iter().cloned());
        new
    }

    /// The hook lines seen so far, as short strings for messages.
    pub fn hook_lines(&self) -> Vec<String> {
        self.seen.iter().map(|l| format!("{:?}", l.hook)).collect()
    }

    /// Waits up to `deadline` for it to exit by itself; killed, and an
    /// error, if it does not.
    pub fn wait_exit(&mut self, deadline: Duration) -> anyhow::Result<ExitStatus> {
        let Some(mut child) = self.child.take() else {
            bail!("wimsy is not running");
        };
        let end = Instant::now() + deadline;
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= end {
                let _ = child.kill();
                let _ = child.wait();
                bail!("wimsy did not exit within {deadline:?}{}", self.log_tail());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// How it ended, if it has (a crash or a kill shows as a signal here,
    /// with nothing in its log), followed by the end of its stderr: for
    /// the error of a test or a benchmark that saw the window stop.
    pub fn state(&mut self) -> String {
        let ended = match self.child.as_mut().map(std::process::Child::try_wait) {
            None => "wimsy was already stopped by the caller".to_owned(),
            Some(Ok(None)) => "wimsy is still running".to_owned(),
            Some(Ok(Some(status))) => format!("wimsy has ended: {status}"),
            Some(Err(e)) => format!("cannot tell whether wimsy runs: {e}"),
        };
        format!("{ended}{}", self.log_tail())
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Its resident memory now (VmRSS), in bytes.
    pub fn rss_bytes(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .context("reading wimsy's /proc status")?;
        let kb = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .context("no VmRSS in wimsy's /proc status")?;
        Ok(kb * 1024)
    }

    /// Kills it and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Its stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        format!(
            "\n--- last lines of wimsy's stderr ({}) ---\n{}",
            self.log.display(),
            lines[lines.len().saturating_sub(25)..].join("\n")
        )
    }
}

impl Drop for Wimsy {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::Hook;

    #[test]
    fn hook_lines_parse() {
        assert_eq!(
            Hook::parse("attached 2 accounts"),
            Hook::Attached { accounts: 2 }
        );
        assert_eq!(
            Hook::parse("showing a@localhost b@localhost 12 m-9"),
            Hook::Showing {
                account: "a@localhost".into(),
                peer: "b@localhost".into(),
                count: 12,
                newest_id: "m-9".into()
            }
        );
        assert_eq!(Hook::parse("close-requested"), Hook::CloseRequested);
        assert_eq!(
            Hook::parse("showing a b many x"),
            Hook::Other("showing a b many x".into())
        );
    }
}
