//! What every scenario needs: a real `wimsyd` (release build) with private
//! directories (the testkit's `Wimsyd`, shared with the end-to-end tests),
//! an account on it, and small helpers. Every wait has a deadline and says
//! what it waited for.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use wimsy_ipc::{Client, ConnectionState, Request, Response, Role, Secret};
use wimsy_testkit::{Prosody, Wimsyd};

use super::preset::Preset;
use super::watch::{Watcher, is_state};

/// How long a daemon may take to answer on its socket, or an account to
/// log in on loopback.
pub(crate) const STARTUP: Duration = Duration::from_secs(30);
/// Any single protocol step of a scenario (not counting what is measured).
pub(crate) const STEP: Duration = Duration::from_secs(30);
/// The log line of a finished archive catch-up (wimsy-session's worker).
pub(crate) const CAUGHT_UP: &str = "caught up from the archive";

/// What every scenario gets.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    /// `target/release/` (or `target/debug/`, see `--debug-build`): where
    /// `wimsyd` and `wimsyctl` are.
    pub(crate) bin_dir: PathBuf,
    /// `wimsyctl` from the same build.
    pub(crate) wimsyctl: PathBuf,
    /// `--quick`: small sizes, few runs.
    pub(crate) quick: bool,
    /// `--renderer`: what draws the window in scenario 8.
    pub(crate) renderer: super::window::Renderer,
}

impl Ctx {
    /// Repetitions of a cheap timed run.
    pub(crate) fn runs(&self) -> usize {
        if self.quick { 3 } else { 5 }
    }
}

// ---------------------------------------------------------------------------
// The daemon

/// A running release `wimsyd` with its own config, data, socket and log
/// (the testkit's [`Wimsyd`], as the end-to-end tests run it); killed when
/// dropped.
pub(crate) struct Daemon {
    wimsyd: Wimsyd,
}

impl Daemon {
    /// Start `wimsyd` (inside `netns` if given) and wait until its socket
    /// answers. Logs at `info`: debug logging costs measurable time per
    /// message.
    pub(crate) async fn start(
        ctx: &Ctx,
        name: &str,
        preset: Preset,
        netns: Option<&str>,
    ) -> Result<Self> {
        Self::start_prepared(ctx, name, preset, netns, |_| Ok(())).await
    }

    /// Like [`Self::start`], after `prepare` has filled the daemon's data
    /// directory (its store is `wimsy.sqlite3` there).
    pub(crate) async fn start_prepared(
        ctx: &Ctx,
        name: &str,
        preset: Preset,
        netns: Option<&str>,
        prepare: impl FnOnce(&Path) -> Result<()>,
    ) -> Result<Self> {
        let mut wimsyd = Wimsyd::builder(&ctx.bin_dir)
            .name(&format!("wimsy-bench-{name}"))
            .log_level("info")
            .tight_timeouts(preset == Preset::Tight)
            .netns(netns)
            .startup_timeout(STARTUP)
            .build()?;
        let data_dir = wimsyd.create_data_dir()?;
        prepare(&data_dir).context("preparing the daemon's data")?;
        // Waits on the socket without stalling the runtime's other tasks.
        blocking(|| wimsyd.spawn())?;
        Ok(Self { wimsyd })
    }

    /// An attached IPC client.
    pub(crate) async fn client(&self) -> Result<Client> {
        self.wimsyd
            .client(Role::Cli, "xtask-bench")
            .await
            .with_context(|| format!("attaching to wimsyd ({})", self.name()))
    }

    /// A subscribed watcher.
    pub(crate) async fn watch(&self) -> Result<Watcher> {
        Watcher::new(self).await
    }

    /// The daemon's process id, while it runs.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.wimsyd.pid()
    }

    /// Its socket.
    pub(crate) fn socket(&self) -> &Path {
        self.wimsyd.socket()
    }

    /// Its `--config-dir`, which a window under test shares (its
    /// one-time notices are remembered there, not in the user's own).
    pub(crate) fn config_dir(&self) -> std::path::PathBuf {
        self.wimsyd.config_dir()
    }

    /// Its name in messages.
    pub(crate) fn name(&self) -> &str {
        self.wimsyd.name()
    }

    /// Its log file.
    pub(crate) fn log_path(&self) -> &Path {
        self.wimsyd.log_path()
    }

    /// The whole log so far.
    pub(crate) fn log(&self) -> String {
        self.wimsyd.log()
    }

    /// The end of the log, for error messages.
    pub(crate) fn log_tail(&self) -> String {
        self.wimsyd.log_tail()
    }

    /// How many lines of the log contain `needle`.
    pub(crate) fn count_in_log(&self, needle: &str) -> usize {
        self.log().lines().filter(|l| l.contains(needle)).count()
    }

    /// Polls the log (every 2 ms) until `needle` appears on at least
    /// `at_least` lines; returns when that was seen and the last such line.
    pub(crate) async fn wait_log(
        &self,
        needle: &str,
        at_least: usize,
        timeout: Duration,
    ) -> Result<(Instant, String)> {
        let deadline = Instant::now() + timeout;
        loop {
            let log = self.log();
            let lines: Vec<&str> = log.lines().filter(|l| l.contains(needle)).collect();
            if lines.len() >= at_least {
                let last = lines.last().map(|l| (*l).to_owned()).unwrap_or_default();
                return Ok((Instant::now(), last));
            }
            if Instant::now() >= deadline {
                bail!(
                    "wimsyd ({}): {:?} logged {} times, not {at_least}, within {timeout:?}{}",
                    self.name(),
                    needle,
                    lines.len(),
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// The end of a daemon's log, for error messages.
pub(crate) fn log_tail(name: &str, path: &Path) -> String {
    wimsy_testkit::wimsyd_log_tail(name, path)
}

// ---------------------------------------------------------------------------
// An account on a daemon

/// One daemon with one account on a Prosody, connected, with a watcher and
/// a client for requests.
pub(crate) struct Account {
    pub(crate) daemon: Daemon,
    pub(crate) watch: Watcher,
    pub(crate) client: Client,
    pub(crate) jid: String,
    /// When the account last became connected (as seen by the watcher).
    pub(crate) connected_at: Instant,
}

impl Account {
    /// Start a daemon, add `user` (password `<user>-pw`) and wait until it
    /// is connected and has finished its first archive catch-up.
    pub(crate) async fn start(
        ctx: &Ctx,
        prosody: &Prosody,
        user: &str,
        preset: Preset,
        netns: Option<&str>,
    ) -> Result<Self> {
        let daemon = Daemon::start(ctx, user, preset, netns).await?;
        Self::on(daemon, prosody, user).await
    }

    /// Add `user` to a running daemon and wait as [`Self::start`] does.
    pub(crate) async fn on(daemon: Daemon, prosody: &Prosody, user: &str) -> Result<Self> {
        let mut watch = daemon.watch().await?;
        let mut client = daemon.client().await?;
        let jid = add_account(&mut client, prosody, user).await?;
        let connected = watch
            .wait_for(STARTUP, &format!("connection of {jid}"), |e| {
                is_state(e, ConnectionState::Connected)
            })
            .await?;
        daemon.wait_log(CAUGHT_UP, 1, STEP).await?;
        Ok(Self {
            daemon,
            watch,
            client,
            jid,
            connected_at: connected.at,
        })
    }

    /// Sleep until the connection has lived long enough to count as stable.
    pub(crate) async fn settle(&self, preset: Preset) {
        let until = self.connected_at + preset.settle();
        let now = Instant::now();
        if until > now {
            tokio::time::sleep(until - now).await;
        }
    }

    /// Send a request and expect `Done`.
    pub(crate) async fn done(&mut self, request: Request) -> Result<()> {
        let what = format!("{request:?}");
        match self.client.request(request).await {
            Ok(Response::Done) => Ok(()),
            Ok(other) => bail!("{what}: unexpected answer {other:?}"),
            Err(e) => Err(anyhow!(e)).context(what),
        }
    }

    /// Take the account offline and wait until it says so.
    pub(crate) async fn disconnect(&mut self) -> Result<()> {
        self.watch.clear();
        self.done(Request::Disconnect { account: None }).await?;
        self.watch
            .wait_for(STEP, "offline after disconnect", |e| {
                is_state(e, ConnectionState::Offline)
            })
            .await?;
        Ok(())
    }

    /// Queue one message; its store id.
    pub(crate) async fn send(&mut self, to: &str, body: String) -> Result<i64> {
        let request = Request::Send {
            account: None,
            to: to.to_owned(),
            body,
        };
        match self.client.request(request).await {
            Ok(Response::Sent { message, .. }) => Ok(message.id),
            Ok(other) => bail!("send: unexpected answer {other:?}"),
            Err(e) => Err(anyhow!(e)).context("send"),
        }
    }
}

/// Add `user` (password `<user>-pw`) of `prosody` to the daemon `client`
/// is attached to; its JID. Does not wait for the connection.
pub(crate) async fn add_account(
    client: &mut Client,
    prosody: &Prosody,
    user: &str,
) -> Result<String> {
    let jid = prosody.jid(user);
    let added = client
        .request(Request::AccountAdd {
            jid: jid.clone(),
            password: Secret::new(format!("{user}-pw")),
            server: Some(prosody.server()),
            ca_file: Some(prosody.ca_file().to_string_lossy().into_owned()),
        })
        .await
        .with_context(|| format!("adding {jid}"))?;
    if !matches!(added, Response::Done) {
        bail!("adding {jid}: unexpected answer {added:?}");
    }
    Ok(jid)
}

// ---------------------------------------------------------------------------
// The server

/// A builder with these users, each with the password `<user>-pw` that
/// [`add_account`] and the peers use.
pub(crate) fn users(users: &[&str]) -> wimsy_testkit::ProsodyBuilder {
    users.iter().fold(Prosody::builder(), |builder, user| {
        builder.account(user, &format!("{user}-pw"))
    })
}

/// Start a configured Prosody without stalling the runtime.
pub(crate) fn start_server(builder: wimsy_testkit::ProsodyBuilder) -> Result<Prosody> {
    blocking(|| builder.start()).context("starting Prosody")
}

/// A Prosody with these users (see [`users`]).
pub(crate) fn server(names: &[&str]) -> Result<Prosody> {
    start_server(users(names))
}

// ---------------------------------------------------------------------------
// Small helpers

/// Run blocking work (Prosody stop/start, a command) without stalling the
/// runtime's other tasks, in particular the watchers' readers.
pub(crate) fn blocking<R>(f: impl FnOnce() -> R) -> R {
    tokio::task::block_in_place(f)
}

/// Kill every established TCP connection to 127.0.0.1:`port` with a RST
/// (`ss -K`, needs root), inside `netns` if given.
pub(crate) fn cut_connections(port: u16, netns: Option<&str>) -> Result<()> {
    let filter = format!(":{port}");
    let mut argv = Vec::new();
    if let Some(ns) = netns {
        argv.extend(["netns", "exec", ns, "ss"]);
    }
    argv.extend(["-K", "dport", "=", filter.as_str()]);
    let program = if netns.is_some() { "ip" } else { "ss" };
    // ss also tries sockets it cannot kill and says so on stderr; the
    // status still tells whether it ran.
    let status = Command::new(program)
        .args(&argv)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .with_context(|| format!("running {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", argv.join(" "));
    }
    Ok(())
}

/// Bytes the process `pid` has received so far on its TCP connections to
/// loopback port `port` (`ss`'s `bytes_received`, summed): what the server
/// sent it, TLS records included.
pub(crate) fn bytes_received(pid: u32, port: u16) -> Result<u64> {
    let out = std::process::Command::new("ss")
        .args([
            "-tinpH",
            "state",
            "established",
            "dport",
            "=",
            &format!(":{port}"),
        ])
        .output()
        .context("running ss")?;
    if !out.status.success() {
        bail!("ss failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(sum_bytes_received(
        &String::from_utf8_lossy(&out.stdout),
        pid,
    ))
}

/// `ss -tinp` prints a socket's line, then its details on the next.
fn sum_bytes_received(ss: &str, pid: u32) -> u64 {
    let owner = format!("pid={pid},");
    let mut total = 0;
    let mut ours = false;
    for line in ss.lines() {
        if !line.starts_with(char::is_whitespace) {
            ours = line.contains(&owner);
            continue;
        }
        if ours {
            total += line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("bytes_received:"))
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    total
}

/// The value of `key=` in a tracing log line.
pub(crate) fn log_field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let at = line.find(&format!(" {key}="))?;
    line[at + key.len() + 2..].split_whitespace().next()
}

/// The timestamp that starts a tracing log line
/// (`2026-01-01T00:00:00.123456Z`, UTC).
pub(crate) fn log_time(line: &str) -> Option<SystemTime> {
    let stamp = line.split_whitespace().next()?.strip_suffix('Z')?;
    let (date, time) = stamp.split_once('T')?;
    let mut d = date.splitn(3, '-').map(str::parse::<i64>);
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let mut t = time.splitn(3, ':');
    let (h, min) = (
        t.next()?.parse::<u64>().ok()?,
        t.next()?.parse::<u64>().ok()?,
    );
    let secs: f64 = t.next()?.parse().ok()?;
    // Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = u64::try_from(era * 146_097 + doe - 719_468).ok()?;
    let whole = days * 86_400 + h * 3600 + min * 60;
    Some(UNIX_EPOCH + Duration::from_secs(whole) + Duration::from_secs_f64(secs))
}

/// Milliseconds as a float.
pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_received_are_summed_for_one_process() {
        let ss = "\
0 0 127.0.0.1:4000 127.0.0.1:5222 users:((\"wimsyd\",pid=12,fd=9))
\t cubic rtt:0.1 bytes_sent:300 bytes_acked:301 bytes_received:1500 segs_out:5
0 0 127.0.0.1:4001 127.0.0.1:5222 users:((\"wimsyd\",pid=123,fd=9))
\t cubic bytes_received:99999 segs_out:5
0 0 127.0.0.1:4002 127.0.0.1:5222 users:((\"wimsyd\",pid=12,fd=10))
\t cubic bytes_received:500
";
        assert_eq!(sum_bytes_received(ss, 12), 2000);
        assert_eq!(sum_bytes_received(ss, 7), 0);
    }

    #[test]
    fn log_times_are_parsed() {
        let line = "2026-11-24T14:09:00.120848Z  INFO wimsyd: wimsyd listening";
        let t = log_time(line).unwrap();
        let since = t.duration_since(UNIX_EPOCH).unwrap();
        // date -u -d 2026-11-24T14:09:00Z +%s
        assert_eq!(since.as_secs(), 1_795_529_340);
        assert_eq!(since.subsec_micros(), 120_848);
        assert_eq!(log_time("garbage"), None);
    }

    #[test]
    fn log_fields_are_found() {
        let line = "2026-01-01T00:00:00Z  INFO wimsy_session::worker: caught up from the archive account=a@localhost fetched=1000";
        assert_eq!(log_field(line, "fetched"), Some("1000"));
        assert_eq!(log_field(line, "account"), Some("a@localhost"));
        assert_eq!(log_field(line, "nope"), None);
    }
}
