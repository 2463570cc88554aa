//! Process and file handling shared by the server harnesses: free ports,
//! waits with deadlines, pids, and the files a server writes.

use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::process::Child;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const LOG_TAIL_LINES: usize = 40;

/// A port on 127.0.0.1 that was free a moment ago (bind to port 0). Another
/// process may take it before it is used: retry on failure.
///
/// Panics only if binding 127.0.0.1:0 itself fails, which means the test
/// machine has no usable loopback.
pub fn free_loopback_port() -> u16 {
    match TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|l| l.local_addr()) {
        Ok(addr) => addr.port(),
        Err(e) => panic!("cannot bind 127.0.0.1:0: {e}"),
    }
}

/// Polls `f` (every few milliseconds, backing off to 50 ms) until it
/// returns true or `deadline` has passed; the error names `what`.
pub fn wait_until<F: FnMut() -> bool>(
    deadline: Duration,
    what: &str,
    mut f: F,
) -> anyhow::Result<()> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        if f() {
            return Ok(());
        }
        let elapsed = start.elapsed();
        if elapsed >= deadline {
            bail!("timed out after {elapsed:.2?} waiting for {what}");
        }
        thread::sleep(pause.min(deadline - elapsed));
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

pub(crate) fn pid_of(child: &Child) -> Pid {
    Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX))
}

pub(crate) fn write_file(path: &Path, contents: &str) -> anyhow::Result<()> {
    fs::write(path, contents).with_context(|| format!("writing {}", path.display()))
}

pub(crate) fn append(path: &Path) -> anyhow::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))
}

pub(crate) fn read_lossy(path: &Path) -> String {
    fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

pub(crate) fn read_from(path: &Path, offset: u64) -> String {
    let Ok(bytes) = fs::read(path) else {
        return String::new();
    };
    let start = usize::try_from(offset).unwrap_or(0).min(bytes.len());
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

/// Why a server could not be started.
pub(crate) enum StartError {
    /// The listener could not be bound; another port may work.
    PortInUse(anyhow::Error),
    Other(anyhow::Error),
}

impl From<anyhow::Error> for StartError {
    fn from(e: anyhow::Error) -> Self {
        StartError::Other(e)
    }
}

/// Why [`wait_for_exit`] gave up; the child has been killed and reaped.
pub(crate) enum ExitWaitError {
    Timeout,
    Wait(std::io::Error),
}

/// Waits up to `timeout` for `child` to exit (after it was asked to);
/// kills and reaps it if it does not.
pub(crate) fn wait_for_exit(child: &mut Child, timeout: Duration) -> Result<(), ExitWaitError> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return Ok(()),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ExitWaitError::Timeout);
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ExitWaitError::Wait(e));
            }
        }
    }
}

/// SIGCONT (in case it is frozen) then SIGKILL, and reap.
pub(crate) fn kill_and_reap(mut child: Child) {
    let pid = pid_of(&child);
    let _ = kill(pid, Signal::SIGCONT);
    let _ = kill(pid, Signal::SIGKILL);
    let _ = child.wait();
}

/// The end of a server's log and its other output files (skipped when
/// empty), for error messages.
pub(crate) fn diagnostics(log: &Path, others: &[&Path]) -> String {
    let log_text = read_lossy(log);
    let lines: Vec<&str> = log_text.lines().collect();
    let tail = lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n");
    let mut s = format!("\n--- last lines of {} ---\n{tail}", log.display());
    for path in others {
        let text = read_lossy(path);
        if !text.trim().is_empty() {
            let _ = write!(s, "\n--- {} ---\n{}", path.display(), text.trim_end());
        }
    }
    s
}
