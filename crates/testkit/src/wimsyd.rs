//! A `wimsyd` under test: the real binary, started with private config,
//! data and runtime directories, its own socket and a log file, and killed
//! when dropped. Shared by the end-to-end tests (`tests/`, debug binaries,
//! tight timeouts) and `cargo xtask bench` (release binaries, the real
//! timeouts, `info` logging).
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use wimsy_testkit::Wimsyd;
//! let daemon = Wimsyd::builder("target/debug")
//!     .tight_timeouts(true)
//!     .start()?; // waits until the socket answers
//! let mut client = daemon.client(wimsy_ipc::Role::Cli, "my-test").await?;
//! # let _ = client.subscribe().await?;
//! # Ok(())
//! # }
//! ```

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use wimsy_ipc::{Client, ClientError, Role};

/// How long a start waits for the socket to answer unless told otherwise.
const DEFAULT_STARTUP: Duration = Duration::from_secs(30);
/// How often the socket and the process are looked at while starting.
const POLL: Duration = Duration::from_millis(10);
/// Lines of the log put into error messages.
const TAIL_LINES: usize = 25;

/// Configures a [`Wimsyd`]; see [`Wimsyd::builder`].
#[derive(Debug, Clone)]
pub struct WimsydBuilder {
    bin_dir: PathBuf,
    name: String,
    log_level: String,
    tight_timeouts: bool,
    netns: Option<String>,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    startup: Duration,
}

impl WimsydBuilder {
    /// A name for messages and the directory's prefix (default `wimsyd`).
    pub fn name(mut self, name: &str) -> Self {
        name.clone_into(&mut self.name);
        self
    }

    /// `WIMSY_LOG` (default `debug`; the bench logs at `info`, as debug
    /// logging costs measurable time per message).
    pub fn log_level(mut self, level: &str) -> Self {
        level.clone_into(&mut self.log_level);
        self
    }

    /// Pass `--tight-timeouts` (seconds instead of minutes; default off).
    pub fn tight_timeouts(mut self, tight: bool) -> Self {
        self.tight_timeouts = tight;
        self
    }

    /// Run it inside network namespace `netns` (`ip netns exec`).
    pub fn netns(mut self, netns: Option<&str>) -> Self {
        self.netns = netns.map(str::to_owned);
        self
    }

    /// An extra `wimsyd` argument, after the harness's own.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Extra `wimsyd` arguments, after the harness's own.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// `key=value` in its environment, for every start; it wins over the
    /// harness's own (`WIMSY_LOG`, `DBUS_SESSION_BUS_ADDRESS`).
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        let key = key.into();
        self.env.retain(|(k, _)| *k != key);
        self.env.push((key, value.into()));
        self
    }

    /// How long a start may take until the socket answers (default 30 s).
    pub fn startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup = timeout;
        self
    }

    /// Creates the private directory, without starting the daemon (to
    /// fill its data directory first, see [`Wimsyd::create_data_dir`]);
    /// [`Wimsyd::spawn`] starts it.
    pub fn build(self) -> anyhow::Result<Wimsyd> {
        let wimsyd = self.bin_dir.join("wimsyd");
        if !wimsyd.exists() {
            bail!(
                "{} is missing: build it first (`cargo build --workspace --bins`)",
                wimsyd.display()
            );
        }
        let dir = tempfile::Builder::new()
            .prefix(&format!("{}-", self.name))
            .tempdir()
            .context("creating the daemon's directory")?;
        Ok(Wimsyd {
            child: None,
            socket: dir.path().join("run/wimsyd.sock"),
            log: dir.path().join("wimsyd.log"),
            config: self,
            dir,
        })
    }

    /// [`build`](Self::build), then [`Wimsyd::spawn`].
    pub fn start(self) -> anyhow::Result<Wimsyd> {
        let mut daemon = self.build()?;
        daemon.spawn()?;
        Ok(daemon)
    }
}

/// A `wimsyd` with its own directory (`config/`, `data/`, `run/` and
/// `wimsyd.log`), removed when it is dropped after the process is killed.
/// If the thread is panicking then (a failed test), the log is copied to
/// the temporary directory first and its path printed.
#[derive(Debug)]
pub struct Wimsyd {
    child: Option<Child>,
    config: WimsydBuilder,
    socket: PathBuf,
    log: PathBuf,
    // Last: removed after the process is gone.
    dir: tempfile::TempDir,
}

impl Wimsyd {
    /// A builder for a daemon run from `bin_dir` (where `wimsyd` and
    /// `wimsyctl` are, e.g. `target/debug`).
    pub fn builder(bin_dir: impl Into<PathBuf>) -> WimsydBuilder {
        WimsydBuilder {
            bin_dir: bin_dir.into(),
            name: "wimsyd".to_owned(),
            log_level: "debug".to_owned(),
            tight_timeouts: false,
            netns: None,
            args: Vec::new(),
            env: Vec::new(),
            startup: DEFAULT_STARTUP,
        }
    }

    /// The `wimsyd` command line for this daemon's directories.
    pub fn command(&self) -> Command {
        let c = &self.config;
        let wimsyd = c.bin_dir.join("wimsyd");
        let mut cmd = match &c.netns {
            Some(ns) => {
                let mut cmd = Command::new("ip");
                cmd.args(["netns", "exec", ns]).arg(wimsyd);
                cmd
            }
            None => Command::new(wimsyd),
        };
        cmd.arg("--config-dir")
            .arg(self.config_dir())
            .arg("--data-dir")
            .arg(self.data_dir())
            .arg("--socket")
            .arg(&self.socket);
        if c.tight_timeouts {
            cmd.arg("--tight-timeouts");
        }
        cmd.args(&c.args)
            .env("WIMSY_LOG", &c.log_level)
            .env_remove("WIMSY_SOCKET")
            // No session bus unless one is given: passwords go to the 0600
            // files, never to the keyring of whoever runs the tests.
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                format!(
                    "unix:path={}",
                    self.dir.path().join("no-session-bus").display()
                ),
            )
            .envs(c.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Set `key=value` in the environment of the next [`Self::spawn`].
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.config = self.config.clone().env(key, value);
    }

    /// Starts it (again, on the same directories; its log is appended to)
    /// and waits until its socket answers. An error, with the end of its
    /// log, if it exits first or does not answer in time.
    pub fn spawn(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("opening {}", self.log.display()))?;
        let child = self
            .command()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| {
                format!("starting {}", self.config.bin_dir.join("wimsyd").display())
            })?;
        self.child = Some(child);
        let deadline = Instant::now() + self.config.startup;
        loop {
            if std::os::unix::net::UnixStream::connect(&self.socket).is_ok() {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                self.child = None;
                bail!(
                    "wimsyd ({}) exited at startup ({status}){}",
                    self.config.name,
                    self.log_tail()
                );
            }
            if Instant::now() >= deadline {
                bail!(
                    "wimsyd ({}) did not answer on {} within {:?}{}",
                    self.config.name,
                    self.socket.display(),
                    self.config.startup,
                    self.log_tail()
                );
            }
            thread::sleep(POLL);
        }
    }

    /// An attached IPC client in `role`, introduced as `name`.
    pub async fn client(&self, role: Role, name: &str) -> Result<Client, ClientError> {
        Client::connect(&self.socket, role, name).await
    }

    /// `wimsyctl --socket <ours>`, from the same directory as `wimsyd`;
    /// add the arguments.
    pub fn ctl(&self) -> Command {
        let mut cmd = Command::new(self.config.bin_dir.join("wimsyctl"));
        cmd.arg("--socket").arg(&self.socket);
        cmd
    }

    /// Its name in messages.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Its socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Its private directory (`config/`, `data/`, `run/`, `wimsyd.log`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `--config-dir`.
    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    /// `--data-dir` (its store is `wimsy.sqlite3` there).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Creates the data directory (0700, as the daemon would) to fill it
    /// before the first start; its path.
    pub fn create_data_dir(&self) -> anyhow::Result<PathBuf> {
        use std::os::unix::fs::DirBuilderExt as _;
        let data = self.data_dir();
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&data)
            .with_context(|| format!("creating {}", data.display()))?;
        Ok(data)
    }

    /// Its log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The whole log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The end of the log, for error messages.
    pub fn log_tail(&self) -> String {
        log_tail(&self.config.name, &self.log)
    }

    /// The process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kill it with SIGKILL, as a crash would, and reap it.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Send SIGTERM and wait up to `timeout` for it to exit.
    pub fn terminate(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        let pid = self.pid().context("wimsyd is not running")?;
        let pid = i32::try_from(pid).context("a process id out of range")?;
        kill(Pid::from_raw(pid), Signal::SIGTERM).context("sending SIGTERM to wimsyd")?;
        self.wait_exit(timeout)
    }

    /// Wait up to `timeout` for it to exit by itself; killed, and an error
    /// with the end of its log, if it does not.
    pub fn wait_exit(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        let Some(mut child) = self.child.take() else {
            bail!("wimsyd is not running");
        };
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "wimsyd ({}) did not exit within {timeout:?}{}",
                    self.config.name,
                    self.log_tail()
                );
            }
            thread::sleep(POLL);
        }
    }
}

impl Drop for Wimsyd {
    fn drop(&mut self) {
        self.kill9();
        if thread::panicking() {
            let kept = std::env::temp_dir().join(format!(
                "{}-failed-{}.log",
                self.config.name,
                self.dir
                    .path()
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .trim_start_matches('.')
            ));
            if std::fs::copy(&self.log, &kept).is_ok() {
                eprintln!(
                    "wimsy-testkit: the log of wimsyd ({}) is kept in {}",
                    self.config.name,
                    kept.display()
                );
            }
        }
    }
}

/// The last lines of the daemon log at `path`, for error messages.
pub fn log_tail(name: &str, path: &Path) -> String {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    let tail = lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n");
    format!(
        "\n--- last lines of wimsyd ({name}) log {} ---\n{tail}",
        path.display()
    )
}
