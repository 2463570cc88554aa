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
        let lines: Vec<&str> = text.trim_end().lines().collect();
        if !lines.is_empty() {
            let tail = lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n");
            let _ = write!(s, "\n--- {} ---\n{tail}", path.display());
        }
    }
    s
}

/// One process as `/proc/PID/stat` describes it.
#[derive(Debug, Clone)]
pub(crate) struct ProcInfo {
    pub(crate) pid: Pid,
    pub(crate) comm: String,
    /// `Z`: exited, waiting to be reaped; counts as gone.
    pub(crate) zombie: bool,
}

/// The processes of process group `pgid` (zombies included, marked), read
/// from /proc.
pub(crate) fn group_members(pgid: Pid) -> Vec<ProcInfo> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // "pid (comm) state ppid pgrp ...": comm may hold spaces and ')'.
            let open = stat.find('(')?;
            let close = stat.rfind(')')?;
            let comm = stat.get(open + 1..close)?.to_owned();
            let mut rest = stat.get(close + 1..)?.split_whitespace();
            let state = rest.next()?;
            let _ppid = rest.next()?;
            let pgrp: i32 = rest.next()?.parse().ok()?;
            (pgrp == pgid.as_raw()).then(|| ProcInfo {
                pid: Pid::from_raw(pid),
                comm,
                zombie: state == "Z",
            })
        })
        .collect()
}

/// The state letter of process `pid` in /proc (`R`, `S`, `T` stopped,
/// `Z` zombie, ...), or None if there is no such process.
pub(crate) fn proc_state(pid: Pid) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.get(stat.rfind(')')? + 1..)?
        .trim_start()
        .chars()
        .next()
}

/// Whether process `pid` exists and has not exited (a zombie has).
pub(crate) fn is_alive(pid: Pid) -> bool {
    proc_state(pid).is_some_and(|state| state != 'Z')
}

/// SIGCONT then SIGKILL to every process of group `pgid`, and waits (up to
/// `timeout`) until none is left but zombies. False if some survived.
pub(crate) fn kill_group(pgid: Pid, timeout: Duration) -> bool {
    let _ = nix::sys::signal::killpg(pgid, Signal::SIGCONT);
    let _ = nix::sys::signal::killpg(pgid, Signal::SIGKILL);
    wait_until(timeout, "the process group to exit", || {
        group_members(pgid).iter().all(|p| p.zombie)
    })
    .is_ok()
}

/// Kills a server (and removes its directory) if the test process goes
/// away without dropping it: killed by a timeout, aborted, or simply
/// exited while a process-wide instance was still up (statics are never
/// dropped).
///
/// A small `sh` reads its stdin, a pipe whose only writer is this process
/// (the write end is close-on-exec, so no other child inherits it); when
/// this process dies, the kernel closes the pipe, `read` returns at end of
/// file, and the shell kills the target. It runs in a process group of its
/// own, so that killing the test's group does not take it along.
#[derive(Debug)]
pub(crate) struct Watchdog {
    child: Child,
    // Held only to keep the pipe open; dropping it fires the watchdog.
    _pipe: std::process::ChildStdin,
}

/// What a [`Watchdog`] kills.
#[derive(Debug, Clone, Copy)]
pub(crate) enum WatchdogTarget {
    /// One process.
    Process(Pid),
    /// A whole process group.
    Group(Pid),
}

impl Watchdog {
    /// Arms a watchdog for `target`; `dir`, if given, is removed after the
    /// kill.
    pub(crate) fn spawn(target: WatchdogTarget, dir: Option<&Path>) -> anyhow::Result<Self> {
        use std::os::unix::process::CommandExt as _;
        let target = match target {
            WatchdogTarget::Process(pid) => pid.to_string(),
            WatchdogTarget::Group(pgid) => format!("-{pgid}"),
        };
        let mut child = std::process::Command::new("sh")
            .args([
                "-c",
                // dash's kill needs `-s SIG --` before a negative pid.
                "read -r _ignored; kill -s CONT -- \"$1\" 2>/dev/null; \
                 kill -s KILL -- \"$1\" 2>/dev/null; \
                 if [ -n \"$2\" ]; then rm -rf -- \"$2\"; fi",
                "wimsy-testkit-watchdog",
            ])
            .arg(target)
            .arg(dir.map(Path::as_os_str).unwrap_or_default())
            .process_group(0)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .context("spawning the watchdog shell (sh)")?;
        let pipe = child
            .stdin
            .take()
            .context("the watchdog shell has no stdin pipe")?;
        Ok(Self { child, _pipe: pipe })
    }
}

/// Dropping disarms it: the shell is killed before it can act. It fires
/// only when this process dies (or exits with it still armed, as a static).
impl Drop for Watchdog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether this process runs as root (needed to run a server as its own
/// system user).
pub(crate) fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Gives `path` and everything under it to `uid:gid`.
pub(crate) fn chown_tree(path: &Path, uid: u32, gid: u32) -> anyhow::Result<()> {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))
        .with_context(|| format!("giving {} to the server's user", path.display()))?;
    if fs::symlink_metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .is_dir()
    {
        for entry in fs::read_dir(path).with_context(|| format!("listing {}", path.display()))? {
            let entry = entry.with_context(|| format!("listing {}", path.display()))?;
            chown_tree(&entry.path(), uid, gid)?;
        }
    }
    Ok(())
}

/// A helper process of a test or benchmark (a tray watcher, a notification
/// server), killed and reaped when this goes out of scope.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
