//! Profanity (the Debian package, a terminal XMPP client on libstrophe) as
//! the reference for the idle-cost comparison: logged in to the test
//! Prosody, running in a detached tmux session because it needs a terminal.
//!
//! It gets a private HOME, XDG_CONFIG_HOME and XDG_DATA_HOME, so the
//! user's own Profanity config and data are never read or written, and a
//! private tmux server socket in the same directory, so no other tmux
//! server is involved.
//!
//! Configuration is Profanity's defaults except for the account itself
//! (`$XDG_DATA_HOME/profanity/accounts`: jid, server 127.0.0.1, the test
//! port, the password in clear, `tls.policy=force`, which is the default
//! spelled out). There is no profrc.
//!
//! TLS is verified for real against the test CA: libstrophe (OpenSSL build
//! in Debian) loads OpenSSL's default verify paths, which honour
//! `SSL_CERT_FILE`, and checks the certificate's name against the JID's
//! domain, `localhost`. Profanity's own `tls.certpath` would also do, but
//! it takes a hashed certificate directory (`openssl rehash`), one more
//! tool to depend on for the same result. A certificate that fails makes
//! Profanity stop and ask; that is detected and reported as an error.
//!
//! DISPLAY, WAYLAND_DISPLAY and DBUS_SESSION_BUS_ADDRESS are removed from
//! its environment: on a desktop they would let it start GTK (tray icon)
//! and desktop notifications, work that depends on where the benchmark
//! runs and that `wimsyd`, a headless daemon, does not do.

use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use wimsy_testkit::Prosody;

const PROFANITY: &str = "profanity";
const TMUX: &str = "tmux";
/// The tmux session (and window) that runs Profanity.
const SESSION: &str = "profanity";
/// How often `start` looks at the pane and the server log.
const POLL: Duration = Duration::from_millis(50);
/// How long Profanity may take to exit after its tmux server is gone.
const EXIT_GRACE: Duration = Duration::from_secs(3);

/// What Profanity prints in its console once logged in
/// (`src/ui/console.c`, 0.13.1).
const LOGGED_IN: &str = "logged in successfully";
/// What it prints before asking whether to accept a certificate that did
/// not verify (`src/event/server_events.c`).
const CERT_FAILED: &str = "TLS certificate verification failed";
/// What it prints when the server refused the login.
const LOGIN_FAILED: &str = "Login failed";

/// A Profanity logged in to a test Prosody; stopped, and its files
/// removed, when dropped.
pub(crate) struct Profanity {
    jid: String,
    pid: u32,
    socket: PathBuf,
    data_home: PathBuf,
    // Last: removed once the process is gone.
    _dir: tempfile::TempDir,
}

impl Profanity {
    /// Start Profanity logged in as `user` on `prosody` and return once
    /// it is: Prosody has bound a resource for the account and Profanity's
    /// console says it logged in. Fails after `deadline`, with what the
    /// pane and the logs show.
    pub(crate) fn start(
        prosody: &Prosody,
        user: &str,
        password: &str,
        deadline: Duration,
    ) -> Result<Self> {
        Self::start_trusting(prosody, prosody.ca_file(), user, password, deadline)
    }

    /// [`start`](Self::start) with `ca_file` as the only trusted CA.
    fn start_trusting(
        prosody: &Prosody,
        ca_file: &Path,
        user: &str,
        password: &str,
        deadline: Duration,
    ) -> Result<Self> {
        if password.contains(['\n', '\r']) {
            bail!("the password for Profanity's accounts file must be a single line");
        }
        let until = Instant::now() + deadline;
        let jid = prosody.jid(user);
        // Only what the server logs from now on counts: an earlier session
        // of the same account must not pass for this one.
        let log_start = prosody.log().len();
        let dir = tempfile::Builder::new()
            .prefix("wimsy-bench-profanity-")
            .tempdir()
            .context("creating Profanity's directory")?;
        let home = dir.path().join("home");
        let config_home = dir.path().join("config");
        let data_home = dir.path().join("data");
        let accounts_dir = data_home.join("profanity");
        for d in [&home, &config_home, &accounts_dir] {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
        }
        write_private(
            &accounts_dir.join("accounts"),
            &accounts_file(&jid, prosody.port(), password),
        )?;

        let mut profanity = Self {
            jid,
            pid: 0,
            socket: dir.path().join("tmux.sock"),
            data_home,
            _dir: dir,
        };
        // The tmux server forks from this command and passes its
        // environment to the pane; `remain-on-exit` keeps the pane (and
        // what Profanity printed) if it exits, for the error message.
        let mut cmd = profanity.tmux_command();
        cmd.env("HOME", &home)
            .env("XDG_CONFIG_HOME", &config_home)
            .env("XDG_DATA_HOME", &profanity.data_home)
            .env("SSL_CERT_FILE", ca_file)
            .env_remove("SSL_CERT_DIR")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .args(["start-server", ";"])
            .args(["set-option", "-g", "remain-on-exit", "on", ";"])
            .args(["set-option", "-g", "status", "off", ";"])
            // More than one word after `--`: tmux execs Profanity
            // directly, without a shell, so the pane's pid is Profanity's.
            .args([
                "new-session",
                "-d",
                "-s",
                SESSION,
                "-x",
                "160",
                "-y",
                "50",
                "--",
                PROFANITY,
                "-a",
            ])
            .arg(&profanity.jid);
        run(cmd, "starting Profanity in tmux")?;

        profanity.pid = profanity.find_pid(until)?;
        profanity.wait_logged_in(prosody, log_start, until, deadline)?;
        Ok(profanity)
    }

    /// The Profanity process (not tmux).
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// `profanity --version`'s first line, as "Profanity 0.13.1".
    pub(crate) fn version() -> String {
        let first = Command::new(PROFANITY)
            .arg("--version")
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|out| out.status.success())
            .and_then(|out| {
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .next()
                    .map(|l| l.trim().to_owned())
            })
            .unwrap_or_default();
        version_from(&first)
    }

    /// What the pane shows, with its history (wrapped lines joined), or
    /// why it could not be read.
    pub(crate) fn pane(&self) -> String {
        let mut cmd = self.tmux_command();
        // With the history: once the pane is dead, tmux scrolls what it
        // showed out of the visible screen.
        cmd.args(["capture-pane", "-p", "-J", "-S", "-", "-t", SESSION]);
        run(cmd, "capturing the pane").unwrap_or_else(|e| format!("({e:#})"))
    }

    fn tmux_command(&self) -> Command {
        let mut cmd = Command::new(TMUX);
        // No user or system tmux.conf: the defaults everywhere.
        cmd.arg("-S")
            .arg(&self.socket)
            .args(["-f", "/dev/null"])
            .env_remove("TMUX")
            .stdin(Stdio::null());
        cmd
    }

    /// The pane's process, once it is Profanity. `new-session` returns
    /// when tmux has forked the pane's process, which is a "tmux: server"
    /// until it has exec'd Profanity: on a loaded machine (the suite's
    /// quick run beside three other jobs) that can be seen.
    fn find_pid(&self, until: Instant) -> Result<u32> {
        let mut cmd = self.tmux_command();
        cmd.args(["list-panes", "-t", SESSION, "-F", "#{pane_pid}"]);
        let out = run(cmd, "asking tmux for the pane's pid")?;
        let pid: u32 = out
            .trim()
            .parse()
            .with_context(|| format!("tmux gave {out:?} as the pane's pid"))?;
        while !is_profanity(pid) {
            if Instant::now() >= until {
                let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                bail!(
                    "the pane's process {pid} is {:?}, not {PROFANITY}{}",
                    comm.trim(),
                    self.diagnostics(None)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(pid)
    }

    fn wait_logged_in(
        &self,
        prosody: &Prosody,
        log_start: usize,
        until: Instant,
        deadline: Duration,
    ) -> Result<()> {
        let bound = format!("Resource bound: {}/", self.jid);
        loop {
            let pane = self.pane();
            if pane.contains(CERT_FAILED) {
                bail!(
                    "Profanity did not accept the test server's certificate{}",
                    self.diagnostics(Some(prosody))
                );
            }
            if pane.contains(LOGIN_FAILED) {
                bail!(
                    "Profanity's login as {} failed{}",
                    self.jid,
                    self.diagnostics(Some(prosody))
                );
            }
            if !is_alive(self.pid) {
                bail!(
                    "Profanity exited before it logged in{}",
                    self.diagnostics(Some(prosody))
                );
            }
            let log = prosody.log();
            let server_side = log.get(log_start..).unwrap_or(&log).contains(&bound);
            let client_side = pane.contains(LOGGED_IN);
            if server_side && client_side {
                return Ok(());
            }
            if Instant::now() >= until {
                bail!(
                    "Profanity did not log in as {} within {deadline:?} (server: {}; \
                     client: {}){}",
                    self.jid,
                    if server_side {
                        "resource bound"
                    } else {
                        "no resource bound"
                    },
                    if client_side {
                        "says logged in"
                    } else {
                        "does not say logged in"
                    },
                    self.diagnostics(Some(prosody))
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// The pane, Profanity's own log and the server's lines about this
    /// account, for error messages.
    fn diagnostics(&self, prosody: Option<&Prosody>) -> String {
        let pane = self.pane();
        let pane: Vec<&str> = pane.lines().map(str::trim_end).collect();
        let mut s = format!("\n--- Profanity's pane ---\n{}", pane.join("\n").trim_end());
        let log_path = self.data_home.join("profanity/logs/profanity.log");
        if let Ok(log) = std::fs::read_to_string(&log_path) {
            s.push_str(&format!(
                "\n--- {} ---\n{}",
                log_path.display(),
                tail(&log, 20)
            ));
        }
        if let Some(prosody) = prosody {
            let log = prosody.log();
            let local = self.jid.split('@').next().unwrap_or(&self.jid);
            let lines: Vec<&str> = log.lines().filter(|l| l.contains(local)).collect();
            s.push_str(&format!(
                "\n--- Prosody's log, lines about {local} ---\n{}",
                tail(&lines.join("\n"), 20)
            ));
        }
        s
    }
}

impl Drop for Profanity {
    fn drop(&mut self) {
        let mut cmd = self.tmux_command();
        cmd.arg("kill-server")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let _ = cmd.status();
        // Killing the server hangs up the pane, which ends Profanity; wait
        // for that before its directory goes, and make sure of it.
        if self.pid != 0 {
            let until = Instant::now() + EXIT_GRACE;
            while is_alive(self.pid) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(20));
            }
            // Checked by name: after the wait, the pid could be another
            // process's.
            if is_alive(self.pid) && is_profanity(self.pid) {
                let _ = Command::new("kill")
                    .args(["-KILL", &self.pid.to_string()])
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }
}

/// "Profanity, version 0.13.1" as "Profanity 0.13.1".
fn version_from(first_line: &str) -> String {
    match first_line.split_once(", version ") {
        Some((name, version)) => format!("{name} {version}"),
        None if first_line.is_empty() => "Profanity (version unknown)".to_owned(),
        None => first_line.to_owned(),
    }
}

/// Profanity's accounts file (a GKeyFile) with one account named after
/// its JID, as `/account add` would name it.
fn accounts_file(jid: &str, port: u16, password: &str) -> String {
    let nick = jid.split('@').next().unwrap_or(jid);
    format!(
        "[{jid}]\n\
         enabled=true\n\
         jid={jid}\n\
         server=127.0.0.1\n\
         port={port}\n\
         resource=profanity\n\
         password={password}\n\
         tls.policy=force\n\
         muc.nick={nick}\n\
         presence.last=online\n\
         presence.login=online\n\
         priority.online=0\n\
         priority.chat=0\n\
         priority.away=0\n\
         priority.xa=0\n\
         priority.dnd=0\n"
    )
}

/// Writes a file only its owner can read (it holds a password).
fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(contents.as_bytes()))
        .with_context(|| format!("writing {}", path.display()))
}

/// Runs a command to its end; its stdout, or an error with its stderr.
fn run(mut cmd: Command, what: &str) -> Result<String> {
    let out = cmd.output().with_context(|| {
        format!(
            "{what}: could not run {:?} (is it installed? `apt-get install tmux profanity`)",
            cmd.get_program()
        )
    })?;
    if !out.status.success() {
        bail!(
            "{what}: {:?} failed ({}): {}",
            cmd.get_program(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether process `pid` runs Profanity.
fn is_profanity(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim() == PROFANITY)
}

/// Whether `pid` is a live process (not gone, not a zombie).
fn is_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rfind(')')
            .and_then(|at| stat[at + 1..].split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::procstat;
    use super::*;

    #[test]
    fn versions_read_like_a_name_and_a_number() {
        assert_eq!(
            version_from("Profanity, version 0.13.1"),
            "Profanity 0.13.1"
        );
        assert_eq!(version_from("Profanity 1.0"), "Profanity 1.0");
        assert_eq!(version_from(""), "Profanity (version unknown)");
    }

    #[test]
    #[ignore = "needs prosody, tmux and profanity installed; run with --ignored"]
    fn profanity_logs_in_and_is_measured() {
        let prosody = Prosody::builder()
            .account("carol", "carol-pw")
            .start()
            .unwrap();
        let started = Instant::now();
        let profanity =
            Profanity::start(&prosody, "carol", "carol-pw", Duration::from_secs(30)).unwrap();
        eprintln!(
            "{} logged in after {:.2?}, pid {}",
            Profanity::version(),
            started.elapsed(),
            profanity.pid()
        );
        let pid = profanity.pid();
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
        assert_eq!(comm.trim(), "profanity");
        assert!(prosody.log().contains("Authenticated as carol@localhost"));

        let first = procstat::read(pid).unwrap();
        std::thread::sleep(Duration::from_secs(2));
        let second = procstat::read(pid).unwrap();
        let d = second.delta(&first);
        eprintln!("{first:?}\n{second:?}\n{d:?}");
        eprintln!(
            "rss {} KiB (peak {} KiB, own {} KiB), {} threads; {:.1} CPU ms/min, \
             {:.0} wakeups/min, {:.0} preemptions/min",
            second.rss_kib,
            second.hwm_kib,
            second.rss_anon_kib,
            second.threads,
            d.cpu_ms_per_min(),
            d.wakeups_per_min(),
            d.preemptions_per_min()
        );
        assert!(second.rss_kib > 0 && second.threads >= 1);

        let dir = profanity._dir.path().to_owned();
        drop(profanity);
        assert!(!is_alive(pid), "Profanity survived its drop");
        assert!(!dir.exists(), "{} survived the drop", dir.display());
    }

    #[test]
    #[ignore = "needs prosody, tmux and profanity installed; run with --ignored"]
    fn profanity_with_a_wrong_password_fails_with_the_pane() {
        let prosody = Prosody::builder()
            .account("carol", "carol-pw")
            .start()
            .unwrap();
        let err = Profanity::start(&prosody, "carol", "wrong", Duration::from_secs(30))
            .err()
            .unwrap();
        let msg = format!("{err:#}");
        eprintln!("{msg}");
        assert!(msg.contains("login as carol@localhost failed"), "{msg}");
        assert!(msg.contains("Profanity's pane"), "{msg}");
    }

    #[test]
    #[ignore = "needs prosody, tmux and profanity installed; run with --ignored"]
    fn profanity_refuses_a_server_its_ca_did_not_sign() {
        let prosody = Prosody::builder()
            .account("carol", "carol-pw")
            .start()
            .unwrap();
        let other = tempfile::tempdir().unwrap();
        let untrusted = wimsy_testkit::untrusted_ca_file(other.path()).unwrap();
        let err = Profanity::start_trusting(
            &prosody,
            &untrusted,
            "carol",
            "carol-pw",
            Duration::from_secs(30),
        )
        .err()
        .unwrap();
        let msg = format!("{err:#}");
        eprintln!("{msg}");
        assert!(
            msg.contains("did not accept the test server's certificate"),
            "{msg}"
        );
        assert!(!prosody.log().contains("Authenticated as carol@localhost"));
    }
}
