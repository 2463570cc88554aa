//! A private Prosody 0.12 on loopback: config, accounts, process.

use std::fs;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use nix::sys::signal::{Signal, kill};

use crate::DOMAIN;
use crate::login::{check_login, check_password, check_user, offered_mechanisms};
use crate::process::{
    ExitWaitError, StartError, Watchdog, WatchdogTarget, append, diagnostics, kill_and_reap,
    pid_of, read_from, read_lossy, wait_for_exit, write_file,
};
use crate::tls::TestTls;

mod builder;
mod config;

pub use builder::ProsodyBuilder;

use config::Paths;

const PROSODY: &str = "prosody";
const PROSODYCTL: &str = "prosodyctl";
const READY_LINE: &str = "wimsy-testkit: server started";
const PORT_FAILED_LINE: &str = "Failed to open server port";
const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(10);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
const PORT_ATTEMPTS: usize = 8;
const HELPER_MODULE: &str = include_str!("mod_wimsy_testkit.lua");

/// A private Prosody server on 127.0.0.1 for one test (or a group of tests).
///
/// Dropping it kills the server (SIGCONT then SIGKILL), reaps it and removes
/// its directory. As a safety net the server also shuts itself down within
/// about a second if the process that started it goes away.
#[derive(Debug)]
pub struct Prosody {
    port: u16,
    paths: Paths,
    hibernation_secs: u64,
    extra_config: String,
    start_timeout: Duration,
    netns: Option<String>,
    child: Option<Child>,
    // Last field: removed after the server has been killed.
    dir: Option<tempfile::TempDir>,
}

impl Prosody {
    /// A builder with Prosody's defaults (no accounts, 600 s hibernation).
    pub fn builder() -> ProsodyBuilder {
        ProsodyBuilder::default()
    }

    /// The instance shared by every test of this test binary, started on
    /// first use. Use it for tests that do not disrupt the server, each
    /// with its own accounts ([`new_account`](Self::new_account)); a test
    /// that stops, restarts or freezes the server starts its own. It is
    /// never dropped: when the test binary exits, a watchdog kills it and
    /// removes its directory.
    pub fn shared() -> anyhow::Result<&'static Prosody> {
        static SHARED: OnceLock<Result<(Prosody, Watchdog), String>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                let start = || -> anyhow::Result<(Prosody, Watchdog)> {
                    let server = Prosody::builder().start()?;
                    let pid = server
                        .child
                        .as_ref()
                        .map(pid_of)
                        .ok_or_else(|| anyhow!("prosody is not running"))?;
                    let dir = std::env::var_os("WIMSY_TESTKIT_KEEP")
                        .is_none()
                        .then(|| server.dir());
                    let watchdog = Watchdog::spawn(WatchdogTarget::Process(pid), dir)?;
                    Ok((server, watchdog))
                };
                start().map_err(|e| format!("{e:#}"))
            })
            .as_ref()
            .map(|(server, _)| server)
            .map_err(|e| anyhow!("the shared prosody did not start: {e}"))
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

    /// PEM of the server's own (end-entity) certificate, for tests that
    /// compute its fingerprint.
    pub fn cert_file(&self) -> &Path {
        &self.paths.cert_file
    }

    /// Gives the server a new certificate and key, signed by a new CA
    /// (written to [`ca_file`](Self::ca_file), which then no longer holds
    /// the old CA), and restarts the server if it is running so that it
    /// presents them: what a client sees when a server's certificate is
    /// replaced. Data and port stay.
    pub fn replace_certificate(&mut self) -> anyhow::Result<()> {
        let tls = TestTls::generate()?;
        let running = self.child.is_some();
        if running {
            self.stop()?;
        }
        write_file(&self.paths.ca_file, &tls.ca_pem)?;
        write_file(&self.paths.cert_file, &tls.leaf_pem)?;
        write_file(&self.paths.key_file, &tls.leaf_key_pem)?;
        if running {
            self.start_again()?;
        }
        Ok(())
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

    /// Registers `user@localhost` (or overwrites its password if it exists).
    /// Writes straight to the store, so it works whether or not the server
    /// is running; a running server sees the account at the next login.
    pub fn register(&self, user: &str, password: &str) -> anyhow::Result<()> {
        check_user(user)?;
        check_password(password)?;
        let out = Command::new(PROSODYCTL)
            .arg("--config")
            .arg(&self.paths.config)
            .args(["register", user, DOMAIN, password])
            .stdin(Stdio::null())
            .output()
            .context("running prosodyctl register")?;
        if !out.status.success() {
            bail!(
                "prosodyctl register {user} {DOMAIN} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    /// Sets the password of an existing account (error if it does not
    /// exist). Works while the server runs: new logins use the new password,
    /// sessions already logged in stay.
    pub fn set_password(&self, user: &str, password: &str) -> anyhow::Result<()> {
        check_user(user)?;
        check_password(password)?;
        let mut child = Command::new(PROSODYCTL)
            .arg("--config")
            .arg(&self.paths.config)
            .arg("passwd")
            .arg(self.jid(user))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("running prosodyctl passwd")?;
        // It asks twice (new password, retype); with no terminal it reads lines.
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(format!("{password}\n{password}\n").as_bytes())
                .context("writing to prosodyctl passwd")?;
        }
        let out = child
            .wait_with_output()
            .context("waiting for prosodyctl passwd")?;
        if !out.status.success() {
            bail!(
                "prosodyctl passwd {} failed ({}): {}{}",
                self.jid(user),
                out.status,
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }

    /// Clean stop: SIGTERM (after a SIGCONT in case it is frozen), then wait
    /// for the process to exit. Does nothing if it is not running. If it has
    /// not exited after 10 s it is killed and an error returned.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let pid = pid_of(&child);
        let _ = kill(pid, Signal::SIGCONT);
        if let Err(e) = kill(pid, Signal::SIGTERM) {
            // Already gone (crashed or exited): just reap it.
            let _ = child.wait();
            return Err(anyhow!(e)).context(format!(
                "prosody (pid {pid}) was not running when asked to stop{}",
                self.diagnostics()
            ));
        }
        match wait_for_exit(&mut child, STOP_TIMEOUT) {
            Ok(()) => Ok(()),
            Err(ExitWaitError::Timeout) => bail!(
                "prosody (pid {pid}) did not exit within {STOP_TIMEOUT:?} of SIGTERM; killed it{}",
                self.diagnostics()
            ),
            Err(ExitWaitError::Wait(e)) => Err(e).context("waiting for prosody to exit"),
        }
    }

    /// Starts the server again after [`stop`](Self::stop), on the same port
    /// with the same data (accounts, rosters, archives, offline messages).
    pub fn start_again(&mut self) -> anyhow::Result<()> {
        if self.child.is_some() {
            bail!("prosody is already running (pid {:?})", self.pid());
        }
        match self.spawn_and_wait() {
            Ok(()) => Ok(()),
            Err(StartError::PortInUse(e)) => Err(e.context(format!(
                "port {} was taken by someone else while prosody was stopped",
                self.port
            ))),
            Err(StartError::Other(e)) => Err(e),
        }
    }

    /// [`stop`](Self::stop) then [`start_again`](Self::start_again).
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.stop()?;
        self.start_again()
    }

    /// SIGSTOP: the server freezes (TCP connects still succeed through the
    /// listen backlog, but nothing is answered).
    pub fn freeze(&self) -> anyhow::Result<()> {
        self.signal(Signal::SIGSTOP)
    }

    /// SIGCONT: undoes [`freeze`](Self::freeze).
    pub fn thaw(&self) -> anyhow::Result<()> {
        self.signal(Signal::SIGCONT)
    }

    /// The server's process id while it is running (started and not
    /// stopped).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the server process is running (false after `stop`, or if it
    /// died on its own).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(_) | None => false,
        }
    }

    /// The server's log so far (debug level, across restarts); empty if
    /// unreadable.
    pub fn log(&self) -> String {
        read_lossy(&self.paths.log)
    }

    /// The server's data directory (`data_path`).
    pub fn data_dir(&self) -> &Path {
        &self.paths.data_dir
    }

    /// The instance's temporary directory (config, data, logs, TLS files).
    pub fn dir(&self) -> &Path {
        self.paths.config.parent().unwrap_or_else(|| Path::new("/"))
    }

    /// The generated Prosody config file.
    pub fn config_file(&self) -> &Path {
        &self.paths.config
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
        let child = self
            .child
            .as_ref()
            .ok_or_else(|| anyhow!("prosody is not running"))?;
        kill(pid_of(child), signal).with_context(|| format!("sending {signal} to prosody"))
    }

    /// Spawns `prosody -F` and waits until it logged that it started, with
    /// c2s listening on our port, and that port accepts TCP.
    fn spawn_and_wait(&mut self) -> Result<(), StartError> {
        let log_offset = fs::metadata(&self.paths.log).map_or(0, |m| m.len());
        let stdout = append(&self.paths.stdout)?;
        let stderr = append(&self.paths.stderr)?;
        let mut command = match &self.netns {
            // `ip netns exec` execs the server: the pid stays the server's.
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, PROSODY]);
                c
            }
            None => Command::new(PROSODY),
        };
        let child = command
            .arg("--config")
            .arg(&self.paths.config)
            .arg("-F")
            .current_dir(self.dir())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("spawning {PROSODY} (is Prosody 0.12 installed?)"))?;
        self.child = Some(child);

        let listening = format!("Activated service 'c2s' on [127.0.0.1]:{}\n", self.port);
        let port_failed = format!("{PORT_FAILED_LINE} {} on", self.port);
        let started = Instant::now();
        let deadline = started + self.start_timeout;
        loop {
            let exited = match self.child.as_mut().map(Child::try_wait) {
                Some(Ok(None)) => None,
                Some(Ok(Some(status))) => Some(status.to_string()),
                Some(Err(e)) => Some(e.to_string()),
                None => Some("lost".to_owned()),
            };
            if let Some(status) = exited {
                self.child = None;
                return Err(StartError::Other(anyhow!(
                    "prosody exited during startup ({status}){}",
                    self.diagnostics()
                )));
            }
            let log = read_from(&self.paths.log, log_offset);
            if log.contains(&port_failed) {
                self.kill_and_reap();
                return Err(StartError::PortInUse(anyhow!(
                    "prosody could not listen on 127.0.0.1:{}{}",
                    self.port,
                    self.diagnostics()
                )));
            }
            // From another namespace the port cannot be probed; there the
            // server's own log is the evidence.
            if log.contains(&listening)
                && log.contains(READY_LINE)
                && (self.netns.is_some()
                    || TcpStream::connect_timeout(&self.addr(), Duration::from_millis(200)).is_ok())
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.kill_and_reap();
                return Err(StartError::Other(anyhow!(
                    "prosody was not ready within {:?}{}",
                    self.start_timeout,
                    self.diagnostics()
                )));
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    fn kill_and_reap(&mut self) {
        if let Some(child) = self.child.take() {
            kill_and_reap(child);
        }
    }

    /// The end of the log and the process's stderr, for error messages.
    fn diagnostics(&self) -> String {
        diagnostics(&self.paths.log, &[&self.paths.stderr, &self.paths.stdout])
    }
}

impl Drop for Prosody {
    fn drop(&mut self) {
        self.kill_and_reap();
        let keep = std::env::var_os("WIMSY_TESTKIT_KEEP").is_some();
        // Unless kept, the TempDir removes the directory when it drops.
        if let Some(dir) = self.dir.take().filter(|_| keep) {
            let kept = dir.keep();
            eprintln!("wimsy-testkit: kept prosody directory {}", kept.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;
    use crate::free_loopback_port;

    #[test]
    fn a_taken_port_is_detected_and_another_one_tried() {
        let squatter = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let taken = squatter.local_addr().unwrap().port();
        let mut offered = Vec::new();
        let server = Prosody::builder()
            .account("alice", "pw")
            .start_with_ports(|| {
                let port = if offered.is_empty() {
                    taken
                } else {
                    free_loopback_port()
                };
                offered.push(port);
                port
            })
            .unwrap();
        assert_eq!(offered.len(), 2, "{offered:?}");
        assert_ne!(server.port(), taken);
        assert!(
            server
                .log()
                .contains(&format!("{PORT_FAILED_LINE} {taken} on"))
        );
        assert!(server.check_login("alice", "pw").unwrap());
    }
}
