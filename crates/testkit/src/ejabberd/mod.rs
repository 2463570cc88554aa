//! A private ejabberd 23.01 (Debian's `ejabberd` package) on loopback.
//!
//! ejabberd refuses to run as root, so the harness (root on CI) runs
//! `ejabberdctl ... foreground` as the `ejabberd` user (`setpriv`), in a
//! process group of its own, with everything in a temporary directory
//! owned by that user: config, Mnesia spool, logs, TLS material and a
//! private Erlang cookie. The packaged system service and its config are
//! never used; no epmd runs (the node's distribution port is given in
//! ejabberdctl.cfg), so instances do not share anything.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

use crate::DOMAIN;
use crate::login::{check_login, check_password, check_user, offered_mechanisms, probe_stream};
use crate::process::{
    ExitWaitError, StartError, Watchdog, WatchdogTarget, append, chown_tree, diagnostics,
    group_members, is_alive, kill_group, pid_of, proc_state, read_from, read_lossy, wait_for_exit,
    wait_until,
};

mod builder;
mod config;

pub use builder::EjabberdBuilder;

use config::Paths;

const USER: &str = "ejabberd";
const EJABBERDCTL: &str = "ejabberdctl";
const STARTED_LINE: &str = "is started in the node";
const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
const KILL_TIMEOUT: Duration = Duration::from_secs(5);
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
const SIGNAL_TIMEOUT: Duration = Duration::from_secs(2);
const PORT_ATTEMPTS: usize = 8;

/// A private ejabberd on 127.0.0.1 for one test, or, through
/// [`Ejabberd::shared`], for every test of a test binary.
///
/// Dropping it kills the server's whole process group (the
/// `ejabberdctl` wrapper, the Erlang VM `beam.smp` and its helpers), waits
/// until they are gone and removes its directory. If the test process dies
/// without dropping it, a watchdog does the same at once.
#[derive(Debug)]
pub struct Ejabberd {
    port: u16,
    dist_port: u16,
    node: String,
    paths: Paths,
    uid: u32,
    gid: u32,
    resume_secs: u64,
    extra_config: String,
    extra_modules: Vec<(String, String)>,
    disabled_mechanisms: Vec<String>,
    start_timeout: Duration,
    /// The `ejabberdctl foreground` wrapper; also the process group leader.
    child: Option<Child>,
    /// The Erlang VM, the process that serves (and the one to freeze).
    beam: Option<Pid>,
    watchdog: Option<Watchdog>,
    // Last field: removed after the server has been killed.
    dir: Option<tempfile::TempDir>,
}

impl Ejabberd {
    /// A builder with the harness's defaults (no accounts, 600 s
    /// resumption window).
    pub fn builder() -> EjabberdBuilder {
        EjabberdBuilder::default()
    }

    /// The instance shared by every test of this test binary, started on
    /// first use (the Erlang VM takes seconds to start). Use it for tests
    /// that do not disrupt the server, each with its own accounts
    /// ([`new_account`](Self::new_account)); a test that stops, restarts or
    /// freezes the server starts its own. It is never dropped: when the
    /// test binary exits, its watchdog kills it and removes its directory.
    pub fn shared() -> anyhow::Result<&'static Ejabberd> {
        static SHARED: OnceLock<Result<Ejabberd, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| Ejabberd::builder().start().map_err(|e| format!("{e:#}")))
            .as_ref()
            .map_err(|e| anyhow!("the shared ejabberd did not start: {e}"))
    }

    /// The XMPP domain, `"localhost"`.
    pub fn domain(&self) -> &str {
        DOMAIN
    }

    /// The client-to-server port on 127.0.0.1 (plain TCP, STARTTLS required).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `"127.0.0.1:PORT"`, for a client's host:port override.
    pub fn server(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The server address as a `SocketAddr`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// PEM of the test CA that signed the server certificate; clients must
    /// trust it.
    pub fn ca_file(&self) -> &Path {
        &self.paths.ca_file
    }

    /// `"user@localhost"`.
    pub fn jid(&self, user: &str) -> String {
        format!("{user}@{DOMAIN}")
    }

    /// A new account with a name made unique in this process from
    /// `prefix` (`alice` gives `alice-7`), registered now.
    pub fn new_account(&self, prefix: &str) -> anyhow::Result<crate::Account> {
        let account = crate::Account::unique(prefix);
        self.register(&account.user, &account.password)?;
        Ok(account)
    }

    /// Registers `user@localhost`, or sets its password if it exists. The
    /// server must be running (ejabberdctl talks to the live node).
    pub fn register(&self, user: &str, password: &str) -> anyhow::Result<()> {
        check_user(user)?;
        check_password(password)?;
        let out = self.ctl(&["register", user, DOMAIN, password])?;
        if out.status.success() {
            return Ok(());
        }
        if String::from_utf8_lossy(&out.stdout).contains("conflict") {
            return self.set_password(user, password);
        }
        bail!(
            "ejabberdctl register {user} {DOMAIN} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        )
    }

    /// Sets the password of an existing account (error if it does not
    /// exist). New logins use the new password; sessions already logged in
    /// stay.
    pub fn set_password(&self, user: &str, password: &str) -> anyhow::Result<()> {
        check_user(user)?;
        check_password(password)?;
        let out = self.ctl(&["change_password", user, DOMAIN, password])?;
        if !out.status.success() {
            bail!(
                "ejabberdctl change_password {} failed ({}): {}{}",
                self.jid(user),
                out.status,
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }

    /// Clean stop: SIGTERM to the Erlang VM (after a SIGCONT in case it is
    /// frozen), then wait for it and its wrapper to exit. Does nothing if
    /// it is not running. If it has not exited after 15 s it is killed and
    /// an error returned.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let group = pid_of(&child);
        let beam = self.beam.take();
        let _ = killpg(group, Signal::SIGCONT);
        let asked = match beam {
            Some(beam) => kill(beam, Signal::SIGTERM),
            None => killpg(group, Signal::SIGTERM),
        };
        let result = match asked {
            Err(e) => Err(anyhow!(e)).context(format!(
                "ejabberd (pid {group}) was not running when asked to stop{}",
                self.diagnostics()
            )),
            Ok(()) => match wait_for_exit(&mut child, STOP_TIMEOUT) {
                Ok(()) => Ok(()),
                Err(ExitWaitError::Timeout) => Err(anyhow!(
                    "ejabberd (pid {group}) did not exit within {STOP_TIMEOUT:?} of SIGTERM; \
                     killed it{}",
                    self.diagnostics()
                )),
                Err(ExitWaitError::Wait(e)) => Err(e).context("waiting for ejabberd to exit"),
            },
        };
        // Helpers of the VM (and the VM itself if only the wrapper went).
        let _ = child.kill();
        let _ = child.wait();
        kill_group(group, KILL_TIMEOUT);
        self.watchdog = None;
        result
    }

    /// Starts the server again after [`stop`](Self::stop), on the same port
    /// with the same data (accounts, rosters, archives, offline messages).
    pub fn start_again(&mut self) -> anyhow::Result<()> {
        if self.child.is_some() {
            bail!("ejabberd is already running (pid {:?})", self.pid());
        }
        match self.spawn_and_wait() {
            Ok(()) => Ok(()),
            Err(StartError::PortInUse(e)) => Err(e.context(format!(
                "port {} or {} was taken by someone else while ejabberd was stopped",
                self.port, self.dist_port
            ))),
            Err(StartError::Other(e)) => Err(e),
        }
    }

    /// [`stop`](Self::stop) then [`start_again`](Self::start_again).
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.stop()?;
        self.start_again()
    }

    /// SIGSTOP to the Erlang VM: the server freezes (TCP connects still
    /// succeed through the listen backlog, but nothing is answered).
    /// Returns once the kernel shows the VM stopped.
    pub fn freeze(&self) -> anyhow::Result<()> {
        self.signal(Signal::SIGSTOP)?;
        let beam = self
            .beam
            .ok_or_else(|| anyhow!("ejabberd is not running"))?;
        wait_until(SIGNAL_TIMEOUT, "ejabberd to be frozen", || {
            proc_state(beam) == Some('T')
        })
    }

    /// SIGCONT: undoes [`freeze`](Self::freeze); returns once the VM runs.
    pub fn thaw(&self) -> anyhow::Result<()> {
        self.signal(Signal::SIGCONT)?;
        let beam = self
            .beam
            .ok_or_else(|| anyhow!("ejabberd is not running"))?;
        wait_until(SIGNAL_TIMEOUT, "ejabberd to run again", || {
            proc_state(beam) != Some('T')
        })
    }

    /// The Erlang VM's (`beam.smp`) process id while the server runs.
    pub fn pid(&self) -> Option<u32> {
        self.beam
            .filter(|_| self.child.is_some())
            .and_then(|p| u32::try_from(p.as_raw()).ok())
    }

    /// Whether the server is running (false after `stop`, or if it died on
    /// its own).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => self.beam.is_some_and(is_alive),
            Some(_) | None => false,
        }
    }

    /// The server's log so far (`info` level, across restarts); empty if
    /// unreadable.
    pub fn log(&self) -> String {
        read_lossy(&self.paths.log)
    }

    /// The instance's temporary directory (config, spool, logs, TLS files).
    pub fn dir(&self) -> &Path {
        &self.paths.root
    }

    /// The generated ejabberd.yml.
    pub fn config_file(&self) -> &Path {
        &self.paths.config
    }

    /// The Erlang node name, unique to this instance.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Logs in as `user` over STARTTLS (verified against [`ca_file`] with
    /// rustls, like a real client) with SASL PLAIN, then closes the stream.
    /// `Ok(true)` on `<success/>`, `Ok(false)` on `<failure/>`, an error if
    /// anything else goes wrong (TLS, timeout after 5 s, unexpected data).
    ///
    /// [`ca_file`]: Self::ca_file
    pub fn check_login(&self, user: &str, password: &str) -> anyhow::Result<bool> {
        check_login(self.addr(), &self.paths.ca_file, user, password)
            .with_context(|| format!("test login of {} at {}", self.jid(user), self.server()))
    }

    /// The SASL mechanisms the server offers after STARTTLS, in its order
    /// (e.g. `["PLAIN", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1", ...]`).
    pub fn sasl_mechanisms(&self) -> anyhow::Result<Vec<String>> {
        offered_mechanisms(self.addr(), self.ca_file())
            .with_context(|| format!("reading the SASL mechanisms of {}", self.server()))
    }

    fn signal(&self, signal: Signal) -> anyhow::Result<()> {
        let beam = self
            .beam
            .filter(|_| self.child.is_some())
            .ok_or_else(|| anyhow!("ejabberd is not running"))?;
        kill(beam, signal).with_context(|| format!("sending {signal} to ejabberd"))
    }

    /// Runs `ejabberdctl ARGS` against this instance's node (e.g.
    /// `["set_loglevel", "debug"]`, `["connected_users"]`, `["send_stanza",
    /// FROM, TO, XML]`); its standard output, or an error if the command
    /// failed or the server is not running.
    pub fn ctl_command(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.ctl(args)?;
        if !out.status.success() {
            bail!(
                "ejabberdctl {} failed ({}): {}{}",
                args.first().unwrap_or(&""),
                out.status,
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `ejabberdctl` as the ejabberd user against this instance's node.
    fn ctl(&self, args: &[&str]) -> anyhow::Result<std::process::Output> {
        if self.child.is_none() {
            bail!("ejabberd is not running; ejabberdctl needs the running server");
        }
        self.ejabberdctl()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running ejabberdctl {}", args.first().unwrap_or(&"")))
    }

    /// The command line shared by the server and ejabberdctl calls:
    /// `setpriv` to the ejabberd user, HOME at the instance (for the
    /// cookie), every path and the node name given explicitly.
    fn ejabberdctl(&self) -> Command {
        let p = &self.paths;
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid",
            USER,
            "--regid",
            USER,
            "--init-groups",
            "--inh-caps=-all",
            "env",
        ])
        .arg(format!("HOME={}", p.root.display()))
        .arg(EJABBERDCTL)
        .arg("--config-dir")
        .arg(&p.root)
        .arg("--config")
        .arg(&p.config)
        .arg("--ctl-config")
        .arg(&p.ctl_config)
        .arg("--logs")
        .arg(&p.logs)
        .arg("--spool")
        .arg(&p.spool)
        .arg("--node")
        .arg(&self.node)
        .current_dir(&p.root);
        c
    }

    /// Spawns `ejabberdctl foreground` and waits until the log says the
    /// node started and c2s accepts on our port, and a stream header on
    /// that port is answered with stream features.
    fn spawn_and_wait(&mut self) -> Result<(), StartError> {
        use std::os::unix::process::CommandExt as _;
        chown_tree(&self.paths.root, self.uid, self.gid)?;
        let log_offset = std::fs::metadata(&self.paths.log).map_or(0, |m| m.len());
        let stdout_offset = std::fs::metadata(&self.paths.stdout).map_or(0, |m| m.len());
        let stdout = append(&self.paths.stdout)?;
        let stderr = append(&self.paths.stderr)?;
        let child = self
            .ejabberdctl()
            .arg("foreground")
            // Its own group: the wrapper, the VM and the VM's helpers are
            // stopped, frozen and killed together.
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .context("spawning setpriv ... ejabberdctl foreground (is ejabberd installed?)")?;
        let group = pid_of(&child);
        self.child = Some(child);
        let dir = std::env::var_os("WIMSY_TESTKIT_KEEP")
            .is_none()
            .then_some(self.paths.root.as_path());
        self.watchdog = Some(Watchdog::spawn(WatchdogTarget::Group(group), dir)?);

        let accepting = format!(
            "Start accepting TCP connections at 127.0.0.1:{} for ejabberd_c2s",
            self.port
        );
        let deadline = Instant::now() + self.start_timeout;
        loop {
            let exited = match self.child.as_mut().map(Child::try_wait) {
                Some(Ok(None)) => None,
                Some(Ok(Some(status))) => Some(status.to_string()),
                Some(Err(e)) => Some(e.to_string()),
                None => Some("lost".to_owned()),
            };
            let log = read_from(&self.paths.log, log_offset);
            if let Some(status) = exited {
                let output = read_from(&self.paths.stdout, stdout_offset);
                self.kill_and_reap();
                let in_use = output.contains("eaddrinuse") || log.contains("eaddrinuse");
                let e = anyhow!(
                    "ejabberd exited during startup ({status}){}",
                    self.diagnostics()
                );
                return Err(if in_use {
                    StartError::PortInUse(e)
                } else {
                    StartError::Other(e)
                });
            }
            let beam = (log.contains(STARTED_LINE)
                && log.contains(&accepting)
                && probe_stream(self.addr(), PROBE_TIMEOUT).is_ok())
            .then(|| {
                group_members(group)
                    .into_iter()
                    .find(|p| p.comm == "beam.smp" && !p.zombie)
            })
            .flatten();
            if let Some(beam) = beam {
                self.beam = Some(beam.pid);
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.kill_and_reap();
                return Err(StartError::Other(anyhow!(
                    "ejabberd was not ready within {:?}{}",
                    self.start_timeout,
                    self.diagnostics()
                )));
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGKILL to the whole group, then reap the wrapper and wait until
    /// every process of the group is gone.
    fn kill_and_reap(&mut self) {
        let beam = self.beam.take();
        if let Some(mut child) = self.child.take() {
            let group = pid_of(&child);
            let _ = killpg(group, Signal::SIGCONT);
            // The VM first: its parent, the wrapper, is still there to reap
            // it, instead of leaving a zombie to an init that may not reap.
            if let Some(beam) = beam {
                let _ = kill(beam, Signal::SIGKILL);
                let _ = wait_for_exit(&mut child, KILL_TIMEOUT);
            }
            let _ = killpg(group, Signal::SIGKILL);
            let _ = child.wait();
            kill_group(group, KILL_TIMEOUT);
        }
        self.watchdog = None;
    }

    /// The end of the log and the wrapper's output, for error messages.
    fn diagnostics(&self) -> String {
        diagnostics(&self.paths.log, &[&self.paths.stderr, &self.paths.stdout])
    }
}

impl Drop for Ejabberd {
    fn drop(&mut self) {
        self.kill_and_reap();
        let keep = std::env::var_os("WIMSY_TESTKIT_KEEP").is_some();
        // Unless kept, the TempDir removes the directory when it drops.
        if let Some(dir) = self.dir.take().filter(|_| keep) {
            let kept = dir.keep();
            eprintln!("wimsy-testkit: kept ejabberd directory {}", kept.display());
        }
    }
}
