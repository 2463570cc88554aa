//! Support for end-to-end tests: start the real `wimsyd` binary with its
//! own directories and socket, drive it with `wimsyctl` or the IPC client,
//! and wait on events with deadlines (never fixed sleeps).
//!
//! The binaries are found next to the test executable's directory
//! (`target/debug/`); `cargo xtask test` builds them first.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use wimsy_ipc::{Client, Event, Role};
use wimsy_testkit::{Prosody, ServerBuilder, ServerKind, XmppServer};

/// How long any single wait in these tests may take before it fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// The path of one of our binaries in the target directory.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/debug/deps/test-xxxx -> target/debug/
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` first (cargo xtask test does)",
        path.display()
    );
    path
}

/// A running `wimsyd` with private directories.
pub struct Daemon {
    child: Option<Child>,
    log_level: &'static str,
    netns: Option<String>,
    extra_args: Vec<String>,
    env: Vec<(String, String)>,
    /// Its socket.
    pub socket: PathBuf,
    dir: tempfile::TempDir,
}

impl Daemon {
    /// Start a daemon with fresh directories and tight timeouts.
    pub fn start() -> Result<Self> {
        Self::start_logging("debug")
    }

    /// Like [`Self::start`], logging at `level` (`WIMSY_LOG`).
    pub fn start_logging(level: &'static str) -> Result<Self> {
        Self::start_with(level, None, &[], &[])
    }

    /// Like [`Self::start`], with extra `wimsyd` arguments.
    pub fn start_args(args: &[&str]) -> Result<Self> {
        Self::start_with("debug", None, args, &[])
    }

    /// Like [`Self::start`], inside network namespace `netns`.
    pub fn start_in(netns: &str) -> Result<Self> {
        Self::start_with("debug", Some(netns.to_owned()), &[], &[])
    }

    /// Like [`Self::start`], with these `(key, value)` pairs in its
    /// environment (for this run and every later [`Self::spawn`]; they win
    /// over the harness's own, `WIMSY_LOG` included).
    pub fn start_env(env: &[(&str, &str)]) -> Result<Self> {
        Self::start_with("debug", None, &[], env)
    }

    /// Set `key=value` in the environment of the next [`Self::spawn`].
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
    }

    fn start_with(
        level: &'static str,
        netns: Option<String>,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut daemon = Self {
            child: None,
            log_level: level,
            netns,
            extra_args: args.iter().map(|a| (*a).to_owned()).collect(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            socket: dir.path().join("run/wimsyd.sock"),
            dir,
        };
        daemon.spawn()?;
        Ok(daemon)
    }

    /// The `wimsyd` command line for this daemon's directories.
    pub fn command(&self) -> Command {
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(bin("wimsyd"));
                c
            }
            None => Command::new(bin("wimsyd")),
        };
        cmd.arg("--config-dir")
            .arg(self.dir.path().join("config"))
            .arg("--data-dir")
            .arg(self.dir.path().join("data"))
            .arg("--socket")
            .arg(&self.socket)
            .arg("--tight-timeouts")
            .args(&self.extra_args)
            .env("WIMSY_LOG", self.log_level)
            .env_remove("WIMSY_SOCKET")
            // No session bus unless a test gives one: passwords go to the
            // 0600 files, never to the keyring of whoever runs the tests.
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                format!(
                    "unix:path={}",
                    self.dir.path().join("no-session-bus").display()
                ),
            )
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("wimsyd.log")
    }

    /// Start (again) on the same directories; waits until it answers.
    pub fn spawn(&mut self) -> Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        let child = self
            .command()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("could not start wimsyd")?;
        self.child = Some(child);
        let socket = self.socket.clone();
        wait_until(DEADLINE, "wimsyd to answer on its socket", || {
            std::os::unix::net::UnixStream::connect(&socket).is_ok()
        })?;
        Ok(())
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The daemon's directory (config/, data/, run/).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// Kill it with SIGKILL, as a crash would.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Send SIGTERM and wait for it to exit.
    pub fn terminate(&mut self) -> Result<ExitStatus> {
        let Some(child) = self.child.as_mut() else {
            bail!("daemon not running");
        };
        Command::new("kill").arg(child.id().to_string()).status()?;
        self.wait_exit()
    }

    /// Wait for it to exit by itself.
    pub fn wait_exit(&mut self) -> Result<ExitStatus> {
        let Some(mut child) = self.child.take() else {
            bail!("daemon not running");
        };
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                bail!(
                    "wimsyd did not exit within {DEADLINE:?}; log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Run `wimsyctl --socket <ours> ARGS` with `stdin` as its input.
    pub fn ctl_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(bin("wimsyctl"))
            .arg("--socket")
            .arg(&self.socket)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Run `wimsyctl --socket <ours> ARGS`.
    pub fn ctl(&self, args: &[&str]) -> Output {
        self.ctl_with_stdin(args, "")
    }

    /// Run `wimsyctl --json ...` and parse its one JSON document.
    pub fn ctl_json(&self, args: &[&str]) -> serde_json::Value {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        let out = self.ctl(&full);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "wimsyctl {args:?} printed no JSON ({e}): {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }

    /// Add `user`'s account on `server` (either kind) through `wimsyctl
    /// account add`.
    pub fn add_account<S: XmppServer + ?Sized>(
        &self,
        server: &S,
        user: &str,
        password: &str,
    ) -> Output {
        let ca = server.ca_file().to_string_lossy().into_owned();
        let jid = server.jid(user);
        let server = server.server();
        self.ctl_with_stdin(
            &[
                "account",
                "add",
                &jid,
                "--server",
                &server,
                "--ca-file",
                &ca,
                "--password-stdin",
            ],
            &format!("{password}\n"),
        )
    }

    /// The connection state word of `account` from `wimsyctl --json status`.
    pub fn state_of(&self, account: &str) -> Option<(String, String)> {
        let status = self.ctl_json(&["status"]);
        status["accounts"].as_array()?.iter().find_map(|a| {
            (a["jid"] == account).then(|| {
                (
                    a["status"]["state"].as_str().unwrap_or("").to_owned(),
                    a["status"]["reason"].as_str().unwrap_or("").to_owned(),
                )
            })
        })
    }

    /// Wait until `account` reaches `state`; returns its reason.
    pub fn wait_state(&self, account: &str, state: &str) -> Result<String> {
        let mut last = None;
        let deadline = Instant::now() + DEADLINE;
        while Instant::now() < deadline {
            last = self.state_of(account);
            if let Some((s, reason)) = &last
                && s == state
            {
                return Ok(reason.clone());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!(
            "{account} never reached {state}; last {last:?}; log:\n{}",
            self.log()
        )
    }

    /// An attached IPC client.
    pub async fn client(&self) -> Client {
        Client::connect(&self.socket, Role::Cli, "wimsy-tests")
            .await
            .unwrap()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
        if std::thread::panicking() {
            // The directory goes with the test: keep the log of a failure.
            let kept = std::env::temp_dir().join(format!(
                "wimsyd-failed-{}-{}.log",
                std::process::id(),
                self.dir
                    .path()
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
            ));
            if std::fs::copy(self.log_path(), &kept).is_ok() {
                eprintln!("the failed test's wimsyd log: {}", kept.display());
            }
        }
    }
}

/// Poll `check` until it holds or `deadline` passes.
pub fn wait_until(deadline: Duration, what: &str, mut check: impl FnMut() -> bool) -> Result<()> {
    let end = Instant::now() + deadline;
    while Instant::now() < end {
        if check() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("timed out after {deadline:?} waiting for {what}")
}

/// Read events until one matches, within [`DEADLINE`].
pub async fn next_matching(client: &mut Client, mut wanted: impl FnMut(&Event) -> bool) -> Event {
    let found = tokio::time::timeout(DEADLINE, async {
        loop {
            match client.next_event().await {
                Ok(Some((_, event))) if wanted(&event) => return event,
                Ok(Some(_)) => continue,
                Ok(None) => panic!("the daemon closed the connection"),
                Err(e) => panic!("event stream failed: {e}"),
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("no matching event within {DEADLINE:?}"))
}

/// A Prosody with the given accounts (password = "<user>-pw").
pub fn prosody_with(users: &[&str]) -> Prosody {
    let mut builder = Prosody::builder();
    for user in users {
        builder = builder.account(user, &format!("{user}-pw"));
    }
    builder.start().unwrap()
}

/// A private server of `kind` with the given accounts (password
/// `<user>-pw`), for a test that restarts, freezes or cuts it; tests that
/// leave the server alone use [`ServerKind::shared`] instead.
pub fn server_with(kind: ServerKind, users: &[&str]) -> Box<dyn XmppServer> {
    server_builder_with(kind, users).start().unwrap()
}

/// [`server_with`]'s builder, for more settings.
pub fn server_builder_with(kind: ServerKind, users: &[&str]) -> ServerBuilder {
    users.iter().fold(kind.builder(), |builder, user| {
        builder.account(user, &format!("{user}-pw"))
    })
}

/// A daemon with `user`'s account (password `<user>-pw`) on `server`,
/// connected.
pub fn connected_daemon<S: XmppServer + ?Sized>(server: &S, user: &str) -> Daemon {
    connected_daemon_with(server, user, &format!("{user}-pw"))
}

/// A daemon with the account `user` / `password` on `server`, connected.
pub fn connected_daemon_with<S: XmppServer + ?Sized>(
    server: &S,
    user: &str,
    password: &str,
) -> Daemon {
    let daemon = Daemon::start().unwrap();
    let out = daemon.add_account(server, user, password);
    assert!(
        out.status.success(),
        "account add: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    daemon.wait_state(&server.jid(user), "connected").unwrap();
    daemon
}
