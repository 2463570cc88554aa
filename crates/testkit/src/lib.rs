//! Shared real-server harness for Wimsy's end-to-end tests.
//!
//! [`Prosody`] runs a private Prosody 0.12 (`/usr/bin/prosody`) on a free
//! 127.0.0.1 port, with everything (config, data, pidfile, logs, TLS
//! material) in its own temporary directory. TLS uses a test CA generated in
//! process; clients trust [`Prosody::ca_file`]. Nothing outside that
//! directory and 127.0.0.1 is touched: the system config and the system
//! instance are never used, and s2s is disabled so the server never
//! resolves or contacts a remote domain.
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! let server = wimsy_testkit::Prosody::builder()
//!     .account("alice", "alice-pw")
//!     .account("bob", "bob-pw")
//!     .hibernation_secs(5)
//!     .start()?;
//! let addr = server.server(); // "127.0.0.1:PORT"
//! let jid = server.jid("alice"); // "alice@localhost"
//! # let _ = (addr, jid);
//! # Ok(())
//! # }
//! ```
//!
//! Set `WIMSY_TESTKIT_KEEP=1` to keep an instance's directory (and its log)
//! after the test; its path is printed to stderr on drop.
//!
//! Config choices worth knowing in tests:
//! - modules: roster, saslauth, tls, disco, carbons, smacks, mam (every 1:1
//!   chat archived, never expired), csi_simple, ping, blocklist, plus the
//!   auto-loaded presence/message/iq/offline/c2s/posix; s2s is disabled, so
//!   a stanza to another domain bounces at once with `not-allowed`;
//! - `network_settings = { nagle = false; shutdown_deadline = 0.2 }`: no
//!   delayed-ACK stalls, and a stop with clients connected takes ~0.2 s
//!   instead of ~1 s (connections still get their `system-shutdown` error
//!   first);
//! - a helper module (`mod_wimsy_testkit`) logs when the server is ready and
//!   shuts the server down if the process that started it dies without
//!   dropping it (`wimsy_testkit_watchdog = false` in
//!   [`ProsodyBuilder::extra_config`] turns that off).

use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use base64::Engine as _;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The only virtual host of every instance.
pub const DOMAIN: &str = "localhost";

const PROSODY: &str = "prosody";
const PROSODYCTL: &str = "prosodyctl";
const READY_LINE: &str = "wimsy-testkit: server started";
const PORT_FAILED_LINE: &str = "Failed to open server port";
const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(10);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
const PORT_ATTEMPTS: usize = 8;
const LOG_TAIL_LINES: usize = 40;
const HELPER_MODULE: &str = include_str!("mod_wimsy_testkit.lua");

/// Configures and starts a [`Prosody`]; see [`Prosody::builder`].
#[derive(Debug, Clone)]
pub struct ProsodyBuilder {
    accounts: Vec<(String, String)>,
    hibernation_secs: u64,
    extra_config: String,
    start_timeout: Duration,
    netns: Option<String>,
}

impl Default for ProsodyBuilder {
    fn default() -> Self {
        Self {
            accounts: Vec::new(),
            hibernation_secs: 600,
            extra_config: String::new(),
            start_timeout: DEFAULT_START_TIMEOUT,
            netns: None,
        }
    }
}

impl ProsodyBuilder {
    /// An account `user@localhost` registered (with prosodyctl) before the
    /// server starts.
    pub fn account(mut self, user: &str, password: &str) -> Self {
        self.accounts.push((user.to_owned(), password.to_owned()));
        self
    }

    /// `smacks_hibernation_time`: how long a cut XEP-0198 session stays
    /// resumable (Prosody's default is 600 s).
    pub fn hibernation_secs(mut self, secs: u64) -> Self {
        self.hibernation_secs = secs;
        self
    }

    /// Lua appended to the global section of the config (before the
    /// `VirtualHost`). Later settings override the harness's own (a new
    /// `network_settings` replaces the whole table); do not redefine `log`,
    /// the interfaces or the port lists.
    pub fn extra_config(mut self, lua: &str) -> Self {
        self.extra_config.push_str(lua);
        self.extra_config.push('\n');
        self
    }

    /// How long [`start`](Self::start) and [`Prosody::start_again`] wait for
    /// the server to be ready (default 10 s).
    /// Run the server inside network namespace `name` (see [`NetNs`]); it
    /// listens on that namespace's loopback.
    pub fn netns(mut self, name: &str) -> Self {
        self.netns = Some(name.to_owned());
        self
    }

    /// How long startup may take.
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = timeout;
        self
    }

    /// Creates the instance directory and TLS material, registers the
    /// accounts, and starts the server on a free loopback port (another
    /// port is tried if the chosen one was taken in the meantime).
    pub fn start(self) -> anyhow::Result<Prosody> {
        self.start_with_ports(free_loopback_port)
    }

    fn start_with_ports(self, mut next_port: impl FnMut() -> u16) -> anyhow::Result<Prosody> {
        for (user, password) in &self.accounts {
            check_user(user)?;
            check_password(password)?;
        }
        let dir = tempfile::Builder::new()
            .prefix("wimsy-prosody-")
            .tempdir()
            .context("creating the instance's temporary directory")?;
        let root = dir.path().to_path_buf();
        let paths = Paths::new(&root);
        for d in [&paths.data_dir, &paths.certs_dir, &paths.plugins_dir] {
            fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
        }
        write_file(
            &paths.plugins_dir.join("mod_wimsy_testkit.lua"),
            HELPER_MODULE,
        )?;
        let tls = TestTls::generate()?;
        write_file(&paths.ca_file, &tls.ca_pem)?;
        write_file(&paths.cert_file, &tls.leaf_pem)?;
        write_file(&paths.key_file, &tls.leaf_key_pem)?;

        let mut prosody = Prosody {
            port: 0,
            paths,
            hibernation_secs: self.hibernation_secs,
            extra_config: self.extra_config,
            start_timeout: self.start_timeout,
            netns: self.netns,
            child: None,
            dir: Some(dir),
        };
        let mut last_err = None;
        for attempt in 0..PORT_ATTEMPTS {
            prosody.port = next_port();
            prosody.write_config()?;
            if attempt == 0 {
                for (user, password) in &self.accounts {
                    prosody.register(user, password)?;
                }
            }
            match prosody.spawn_and_wait() {
                Ok(()) => return Ok(prosody),
                Err(StartError::PortInUse(e)) => last_err = Some(e),
                Err(StartError::Other(e)) => return Err(e),
            }
        }
        Err(last_err
            .unwrap_or_else(|| anyhow!("no attempt made"))
            .context(format!(
                "prosody could not bind a free loopback port in {PORT_ATTEMPTS} attempts"
            )))
    }
}

#[derive(Debug)]
struct Paths {
    config: PathBuf,
    data_dir: PathBuf,
    certs_dir: PathBuf,
    plugins_dir: PathBuf,
    pidfile: PathBuf,
    log: PathBuf,
    stdout: PathBuf,
    stderr: PathBuf,
    ca_file: PathBuf,
    cert_file: PathBuf,
    key_file: PathBuf,
}

impl Paths {
    fn new(root: &Path) -> Self {
        let certs_dir = root.join("certs");
        Self {
            config: root.join("prosody.cfg.lua"),
            data_dir: root.join("data"),
            plugins_dir: root.join("plugins"),
            pidfile: root.join("prosody.pid"),
            log: root.join("prosody.log"),
            stdout: root.join("prosody.stdout"),
            stderr: root.join("prosody.stderr"),
            ca_file: root.join("ca.pem"),
            cert_file: certs_dir.join("localhost.crt"),
            key_file: certs_dir.join("localhost.key"),
            certs_dir,
        }
    }
}

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

enum StartError {
    /// The listener could not be bound; another port may work.
    PortInUse(anyhow::Error),
    Other(anyhow::Error),
}

impl From<anyhow::Error> for StartError {
    fn from(e: anyhow::Error) -> Self {
        StartError::Other(e)
    }
}

impl Prosody {
    /// A builder with Prosody's defaults (no accounts, 600 s hibernation).
    pub fn builder() -> ProsodyBuilder {
        ProsodyBuilder::default()
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
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            match child.try_wait() {
                Ok(Some(_)) => return Ok(()),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    bail!(
                        "prosody (pid {pid}) did not exit within {STOP_TIMEOUT:?} of SIGTERM; killed it{}",
                        self.diagnostics()
                    );
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(e).context("waiting for prosody to exit");
                }
            }
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

    fn signal(&self, signal: Signal) -> anyhow::Result<()> {
        let child = self
            .child
            .as_ref()
            .ok_or_else(|| anyhow!("prosody is not running"))?;
        kill(pid_of(child), signal).with_context(|| format!("sending {signal} to prosody"))
    }

    fn write_config(&self) -> anyhow::Result<()> {
        let p = &self.paths;
        let mut c = String::new();
        // `writeln!` into a String cannot fail.
        let _ = writeln!(
            c,
            "-- Generated by wimsy-testkit: a private, loopback-only test server.\n\
             daemonize = false\n\
             run_as_root = true\n\
             pidfile = {pidfile}\n\
             data_path = {data}\n\
             certificates = {certs}\n\
             plugin_paths = {{ {plugins} }}\n\
             log = {{ debug = {log} }}\n\
             \n\
             interfaces = {{ \"127.0.0.1\" }}\n\
             c2s_interfaces = {{ \"127.0.0.1\" }}\n\
             local_interfaces = {{ \"127.0.0.1\" }}\n\
             use_ipv6 = false\n\
             c2s_ports = {{ {port} }}\n\
             s2s_ports = {{ }}\n\
             http_ports = {{ }}\n\
             https_ports = {{ }}\n\
             c2s_direct_tls_ports = {{ }}\n\
             legacy_ssl_ports = {{ }}\n\
             component_ports = {{ }}\n\
             network_settings = {{ nagle = false; shutdown_deadline = 0.2 }}\n\
             \n\
             c2s_require_encryption = true\n\
             authentication = \"internal_hashed\"\n\
             storage = \"internal\"\n\
             \n\
             modules_enabled = {{\n\
             \t\"roster\"; \"saslauth\"; \"tls\"; \"disco\"; \"carbons\"; \"smacks\";\n\
             \t\"mam\"; \"csi_simple\"; \"ping\"; \"blocklist\";\n\
             \t\"wimsy_testkit\";\n\
             }}\n\
             -- No s2s: stanzas to other domains bounce at once instead of\n\
             -- triggering DNS lookups and outgoing connections.\n\
             modules_disabled = {{ \"s2s\"; \"s2s_auth_certs\" }}\n\
             \n\
             default_archive_policy = true\n\
             archive_expires_after = \"never\"\n\
             smacks_hibernation_time = {hibernation}\n",
            pidfile = lua_str(&p.pidfile),
            data = lua_str(&p.data_dir),
            certs = lua_str(&p.certs_dir),
            plugins = lua_str(&p.plugins_dir),
            log = lua_str(&p.log),
            port = self.port,
            hibernation = self.hibernation_secs,
        );
        if !self.extra_config.is_empty() {
            c.push_str("\n-- extra_config\n");
            c.push_str(&self.extra_config);
        }
        let _ = writeln!(
            c,
            "\nVirtualHost \"{DOMAIN}\"\n\
             \tssl = {{ certificate = {cert}; key = {key} }}",
            cert = lua_str(&p.cert_file),
            key = lua_str(&p.key_file),
        );
        write_file(&p.config, &c)
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
        if let Some(mut child) = self.child.take() {
            let pid = pid_of(&child);
            let _ = kill(pid, Signal::SIGCONT);
            let _ = kill(pid, Signal::SIGKILL);
            let _ = child.wait();
        }
    }

    /// The end of the log and the process's stderr, for error messages.
    fn diagnostics(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n");
        let mut s = format!(
            "\n--- last lines of {} ---\n{tail}",
            self.paths.log.display()
        );
        for path in [&self.paths.stderr, &self.paths.stdout] {
            let text = read_lossy(path);
            if !text.trim().is_empty() {
                let _ = write!(s, "\n--- {} ---\n{}", path.display(), text.trim_end());
            }
        }
        s
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

/// Writes a PEM of a freshly generated CA that signed nothing the server
/// uses, as `dir/untrusted-ca.pem`, for "untrusted certificate" tests.
pub fn untrusted_ca_file(dir: &Path) -> anyhow::Result<PathBuf> {
    let (ca, _) = new_ca("Wimsy untrusted test CA")?;
    let path = dir.join("untrusted-ca.pem");
    write_file(&path, &ca.pem())?;
    Ok(path)
}

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

// ---------------------------------------------------------------------------
// TLS material

struct TestTls {
    ca_pem: String,
    leaf_pem: String,
    leaf_key_pem: String,
}

impl TestTls {
    fn generate() -> anyhow::Result<Self> {
        use rcgen::{
            CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
        };
        let (ca, issuer) = new_ca("Wimsy test CA")?;
        let mut params = CertificateParams::new(vec![DOMAIN.to_owned(), "127.0.0.1".to_owned()])
            .context("leaf certificate parameters")?;
        params.distinguished_name.push(DnType::CommonName, DOMAIN);
        params.is_ca = IsCa::ExplicitNoCa;
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().context("generating the server key")?;
        let leaf = params
            .signed_by(&key, &issuer)
            .context("signing the server certificate")?;
        Ok(Self {
            ca_pem: ca.pem(),
            leaf_pem: leaf.pem(),
            leaf_key_pem: key.serialize_pem(),
        })
    }
}

fn new_ca(
    name: &str,
) -> anyhow::Result<(rcgen::Certificate, rcgen::Issuer<'static, rcgen::KeyPair>)> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let mut params = CertificateParams::new(Vec::<String>::new()).context("CA parameters")?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().context("generating the CA key")?;
    let cert = params.self_signed(&key).context("self-signing the CA")?;
    Ok((cert, Issuer::new(params, key)))
}

// ---------------------------------------------------------------------------
// A minimal blocking XMPP login, for checks inside the harness and tests.

fn check_login(
    addr: SocketAddr,
    ca_file: &Path,
    user: &str,
    password: &str,
) -> anyhow::Result<bool> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, ServerName};

    const TIMEOUT: Duration = Duration::from_secs(5);
    let header = format!(
        "<?xml version='1.0'?><stream:stream to='{DOMAIN}' version='1.0' \
         xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
    );

    let mut tcp = TcpStream::connect_timeout(&addr, TIMEOUT).context("connecting")?;
    tcp.set_read_timeout(Some(TIMEOUT))?;
    tcp.set_write_timeout(Some(TIMEOUT))?;
    tcp.set_nodelay(true)?;
    tcp.write_all(header.as_bytes())?;
    let features = read_until(&mut tcp, &["</stream:features>"]).context("stream features")?;
    if !features.contains("urn:ietf:params:xml:ns:xmpp-tls") {
        bail!("server does not offer STARTTLS: {features}");
    }
    tcp.write_all(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")?;
    let answer = read_until(&mut tcp, &["<proceed", "<failure"]).context("STARTTLS answer")?;
    if !answer.contains("<proceed") {
        bail!("STARTTLS refused: {answer}");
    }

    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca_file)
        .map_err(|e| anyhow!("reading {}: {e:?}", ca_file.display()))?;
    for cert in certs {
        let cert = cert.map_err(|e| anyhow!("parsing {}: {e:?}", ca_file.display()))?;
        roots.add(cert).context("adding the CA to the root store")?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let conn = rustls::ClientConnection::new(Arc::new(config), ServerName::try_from(DOMAIN)?)?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);

    tls.write_all(header.as_bytes()).context("TLS handshake")?;
    let features = read_until(&mut tls, &["</stream:features>"]).context("features after TLS")?;
    if !features.contains(">PLAIN<") {
        bail!("server does not offer SASL PLAIN: {features}");
    }
    let creds = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
    tls.write_all(
        format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{creds}</auth>")
            .as_bytes(),
    )?;
    let outcome = read_until(&mut tls, &["<success", "<failure"]).context("SASL outcome")?;
    let success = outcome.contains("<success");
    // Best effort: close politely. After <success/> the stream must be
    // restarted, so a bare </stream:stream> would be not-well-formed there.
    let _ = tls.write_all(if success {
        header.as_bytes()
    } else {
        b"</stream:stream>"
    });
    if success {
        let _ = tls.write_all(b"</stream:stream>");
    }
    tls.conn.send_close_notify();
    let _ = tls.flush();
    Ok(success)
}

/// Reads until one of `needles` appears, then keeps reading until the
/// element is complete enough to inspect (the next `>`).
fn read_until(stream: &mut impl Read, needles: &[&str]) -> anyhow::Result<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            bail!(
                "connection closed; got so far: {}",
                String::from_utf8_lossy(&buf)
            );
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        for needle in needles {
            if text.find(needle).is_some_and(|at| text[at..].contains('>')) {
                return Ok(text.into_owned());
            }
        }
        if buf.len() > 1 << 20 {
            bail!("no {needles:?} in the first MiB");
        }
    }
}

// ---------------------------------------------------------------------------
// Small helpers

fn pid_of(child: &Child) -> Pid {
    Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX))
}

fn check_user(user: &str) -> anyhow::Result<()> {
    if user.is_empty()
        || user
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "@/\"&'<>:".contains(c))
    {
        bail!("unsupported test username {user:?}");
    }
    Ok(())
}

fn check_password(password: &str) -> anyhow::Result<()> {
    if password.is_empty() || password.contains(['\n', '\r', '\0']) {
        bail!("test passwords must be non-empty and single-line");
    }
    Ok(())
}

/// A Lua string literal for a path.
fn lua_str(path: &Path) -> String {
    let mut s = String::from("\"");
    for c in path.to_string_lossy().chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

fn write_file(path: &Path, contents: &str) -> anyhow::Result<()> {
    fs::write(path, contents).with_context(|| format!("writing {}", path.display()))
}

fn append(path: &Path) -> anyhow::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))
}

fn read_lossy(path: &Path) -> String {
    fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

fn read_from(path: &Path, offset: u64) -> String {
    let Ok(bytes) = fs::read(path) else {
        return String::new();
    };
    let start = usize::try_from(offset).unwrap_or(0).min(bytes.len());
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn lua_strings_are_escaped() {
        assert_eq!(lua_str(Path::new("/a\"b\\c")), "\"/a\\\"b\\\\c\"");
    }
}

/// A private network namespace for tests of network loss: its own
/// loopback (up) and a veth pair with no address at all, whose only use is
/// to carry a default route that tests remove and restore. No traffic ever
/// leaves the namespace's loopback. Needs root; removed on drop.
#[derive(Debug)]
pub struct NetNs {
    name: String,
}

impl NetNs {
    /// Create a namespace with a default route.
    pub fn create() -> anyhow::Result<Self> {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ns = Self {
            name: format!("wimsy-{}-{n}", std::process::id()),
        };
        run_ip(&["netns", "add", &ns.name])?;
        ns.exec(&["ip", "link", "set", "lo", "up"])?;
        ns.exec(&[
            "ip", "link", "add", "wv0", "type", "veth", "peer", "name", "wv1",
        ])?;
        ns.exec(&["ip", "link", "set", "wv0", "up"])?;
        ns.exec(&["ip", "link", "set", "wv1", "up"])?;
        ns.add_default_route()?;
        Ok(ns)
    }

    /// Its name, for `ip netns exec`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Run a command inside the namespace.
    pub fn exec(&self, argv: &[&str]) -> anyhow::Result<()> {
        let mut args = vec!["netns", "exec", &self.name];
        args.extend_from_slice(argv);
        run_ip(&args)
    }

    /// Take the network away (as an unplugged cable or lost Wi-Fi would).
    pub fn remove_default_route(&self) -> anyhow::Result<()> {
        self.exec(&["ip", "route", "del", "default"])
    }

    /// Give it back.
    pub fn add_default_route(&self) -> anyhow::Result<()> {
        self.exec(&["ip", "route", "add", "default", "dev", "wv0"])
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = run_ip(&["netns", "del", &self.name]);
    }
}

fn run_ip(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .context("running ip (iproute2)")?;
    if !out.status.success() {
        anyhow::bail!(
            "ip {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
