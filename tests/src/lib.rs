//! Support for end-to-end tests: start the real `wimsyd` binary with its
//! own directories and socket (the testkit's [`Wimsyd`], shared with the
//! bench), drive it with `wimsyctl` or the IPC client, and wait on events
//! with deadlines (never fixed sleeps).
//!
//! The binaries are found next to the test executable's directory
//! (`target/debug/`); `cargo xtask test` builds them first.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

pub mod notify_bus;

use anyhow::{Result, bail};
use wimsy_ipc::{Client, Event, Role};
use wimsy_testkit::{Prosody, ServerBuilder, ServerKind, Wimsyd, XmppServer};

/// How long any single wait in these tests may take before it fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// The target directory's profile directory (`target/debug/`), where the
/// binaries under test are.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/debug/deps/test-xxxx -> target/debug/
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

/// The path of one of our binaries in the target directory.
pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` first (cargo xtask test does)",
        path.display()
    );
    path
}

/// A running `wimsyd` with private directories and tight timeouts: the
/// testkit's [`Wimsyd`] run from this target directory, with the waits and
/// `wimsyctl` helpers the tests use.
pub struct Daemon {
    wimsyd: Wimsyd,
    /// Its socket.
    pub socket: PathBuf,
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

    /// Like [`Self::start`], running the `wimsyd` and `wimsyctl` in `dir`
    /// instead of the target directory's.
    pub fn start_from(dir: &Path) -> Result<Self> {
        Self::start_in_dir(dir.to_path_buf(), "debug", None, &[], &[])
    }

    /// Like [`Self::start`], with extra `wimsyd` arguments.
    pub fn start_args(args: &[&str]) -> Result<Self> {
        Self::start_with("debug", None, args, &[])
    }

    /// Like [`Self::start`], inside network namespace `netns`.
    pub fn start_in(netns: &str) -> Result<Self> {
        Self::start_with("debug", Some(netns), &[], &[])
    }

    /// Like [`Self::start`], with these `(key, value)` pairs in its
    /// environment (for this run and every later [`Self::spawn`]; they win
    /// over the harness's own, `WIMSY_LOG` included).
    pub fn start_env(env: &[(&str, &str)]) -> Result<Self> {
        Self::start_with("debug", None, &[], env)
    }

    /// Set `key=value` in the environment of the next [`Self::spawn`].
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.wimsyd.set_env(key, value);
    }

    fn start_with(
        level: &str,
        netns: Option<&str>,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Self> {
        Self::start_in_dir(bin_dir(), level, netns, args, env)
    }

    fn start_in_dir(
        bin_dir: PathBuf,
        level: &str,
        netns: Option<&str>,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Self> {
        let builder = Wimsyd::builder(bin_dir)
            .log_level(level)
            .tight_timeouts(true)
            .netns(netns)
            .args(args)
            .startup_timeout(DEADLINE);
        let wimsyd = env.iter().fold(builder, |b, (k, v)| b.env(k, v)).start()?;
        Ok(Self {
            socket: wimsyd.socket().to_path_buf(),
            wimsyd,
        })
    }

    /// Its `--config-dir`.
    pub fn config_dir(&self) -> PathBuf {
        self.wimsyd.config_dir()
    }

    /// The `wimsyd` command line for this daemon's directories.
    pub fn command(&self) -> Command {
        self.wimsyd.command()
    }

    /// Start (again) on the same directories; waits until it answers.
    pub fn spawn(&mut self) -> Result<()> {
        self.wimsyd.spawn()
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        self.wimsyd.log()
    }

    /// The daemon's directory (config/, data/, run/).
    pub fn dir(&self) -> &Path {
        self.wimsyd.dir()
    }

    /// Its process id (0 when it is not running).
    pub fn pid(&self) -> u32 {
        self.wimsyd.pid().unwrap_or(0)
    }

    /// Kill it with SIGKILL, as a crash would.
    pub fn kill9(&mut self) {
        self.wimsyd.kill9();
    }

    /// Send SIGTERM and wait for it to exit.
    pub fn terminate(&mut self) -> Result<ExitStatus> {
        self.wimsyd.terminate(DEADLINE)
    }

    /// Wait for it to exit by itself.
    pub fn wait_exit(&mut self) -> Result<ExitStatus> {
        self.wimsyd.wait_exit(DEADLINE)
    }

    /// Run `wimsyctl --socket <ours> ARGS` with `stdin` as its input.
    pub fn ctl_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .wimsyd
            .ctl()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let written = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        // wimsyctl may exit without reading its input (a usage error is
        // found before the password is read): that is its answer, not a
        // test failure.
        if let Err(e) = written
            && e.kind() != std::io::ErrorKind::BrokenPipe
        {
            panic!("could not write to wimsyctl's input: {e}");
        }
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
        self.wimsyd.client(Role::Cli, "wimsy-tests").await.unwrap()
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

/// Ask `check` again (every 50 ms) until it gives a value, for at most
/// [`DEADLINE`]; then fail with what it said last.
pub async fn eventually<T>(mut check: impl AsyncFnMut() -> Result<T, String>) -> T {
    let end = Instant::now() + DEADLINE;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(why) => assert!(Instant::now() < end, "{why}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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
    connect_account(Daemon::start().unwrap(), server, user, password)
}

/// `daemon` with the account `user` / `password` on `server` added, once
/// it has connected.
pub fn connect_account<S: XmppServer + ?Sized>(
    daemon: Daemon,
    server: &S,
    user: &str,
    password: &str,
) -> Daemon {
    let out = daemon.add_account(server, user, password);
    assert!(
        out.status.success(),
        "account add: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    daemon.wait_state(&server.jid(user), "connected").unwrap();
    daemon
}

/// Every message of a conversation, oldest first, through the paged history.
pub async fn whole_history(client: &mut Client, peer: &str) -> Vec<wimsy_ipc::ChatMessage> {
    let mut all = Vec::new();
    let mut before = None;
    loop {
        let request = wimsy_ipc::Request::History {
            account: None,
            peer: peer.to_owned(),
            limit: Some(500),
            before: before.clone(),
        };
        let wimsy_ipc::Response::History {
            messages,
            next_before,
            ..
        } = client.request(request).await.unwrap()
        else {
            panic!("not a history page");
        };
        all.extend(messages);
        match next_before {
            Some(cursor) => before = Some(cursor),
            None => break,
        }
    }
    all.reverse();
    all
}

/// Where the GUI tests put their screenshots: `target/test-artifacts/gui/
/// <test>/`, emptied at the start of the test, printed as each is taken.
pub fn gui_screenshots(test: &str) -> wimsy_testkit::Screenshots {
    let target = bin_dir().parent().unwrap().to_path_buf();
    let screenshots =
        wimsy_testkit::Screenshots::new(target.join("test-artifacts/gui").join(test)).unwrap();
    eprintln!(
        "screenshots of {test} go to {}",
        screenshots.dir().display()
    );
    screenshots
}

/// `wimsy` attached to `daemon`, on the X server `display`, hooks on.
pub fn wimsy_command(daemon: &Daemon, display: &str) -> wimsy_testkit::WimsyCommand {
    // The window's one-time notices are remembered beside the daemon's
    // config, never in the runner's own ~/.config.
    wimsy_testkit::WimsyCommand::new(bin_dir(), &daemon.socket, display)
        .env("WIMSY_CONFIG_DIR", daemon.config_dir())
}

/// The account `jid` / `password` on `server` for a bare session
/// (`wimsy_session`, no daemon and no store) under `resource`: the peer
/// that counts every copy the server delivers, or that sends as a test
/// needs.
pub fn bare_account<S: XmppServer + ?Sized>(
    server: &S,
    jid: &str,
    password: &str,
    resource: &str,
) -> wimsy_session::AccountConfig {
    wimsy_session::AccountConfig {
        jid: wimsy_session::BareJid::new(jid).unwrap(),
        password: wimsy_session::Password::new(password.to_owned()),
        server: Some(wimsy_session::ServerOverride::parse(&server.server()).unwrap()),
        ca_file: Some(server.ca_file().to_path_buf()),
        pinned_sha256: None,
        resource: Some(resource.into()),
    }
}
