//! A plain XMPP client, for benchmarks: slixmpp (Debian's
//! `python3-slixmpp`), a library real clients are built on, driven line
//! by line over stdin/stdout (`peer.py` says the protocol). It sends
//! messages at a steady rate or in a burst, and as a receiver it is the
//! baseline that the daemon's receive times are compared with.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use wimsy_testkit::Prosody;

/// The interpreter that has Debian's slixmpp (a pyenv `python3` on PATH
/// would not).
const PYTHON: &str = "/usr/bin/python3";
const SCRIPT: &str = include_str!("peer.py");
const SLIXMPP: &str = "slixmpp (Debian: apt-get install python3-slixmpp)";
/// Login, from spawn to `ready`.
const STARTUP: Duration = Duration::from_secs(30);
/// One round trip to the server (ping, a batch of roster sets).
const STEP: Duration = Duration::from_secs(60);
/// Past the paced time of a `send`: the final round trip behind a burst.
const SEND_SLACK: Duration = Duration::from_secs(120);
/// A whole-archive fetch: Prosody's file store reads the whole archive for
/// every page of 50, so a big archive takes a while.
const MAM: Duration = Duration::from_secs(600);
const STDERR_TAIL_LINES: usize = 20;

/// One slixmpp client process, logged in; killed when dropped.
pub(crate) struct Peer {
    jid: String,
    child: Child,
    stdin: ChildStdin,
    /// Every stdout line but `recv`: answers to commands, `error`.
    replies: mpsc::UnboundedReceiver<String>,
    /// `recv` lines: when the peer saw the message (its wall clock), body.
    received: mpsc::UnboundedReceiver<(SystemTime, String)>,
    stderr: PathBuf,
    // Last: removed after the process is gone.
    _dir: tempfile::TempDir,
}

impl Peer {
    /// Start a client for `user` on `prosody` and wait until it is logged
    /// in and has sent its initial presence.
    pub(crate) async fn start(prosody: &Prosody, user: &str, password: &str) -> Result<Peer> {
        Self::start_trusting(prosody, user, password, prosody.ca_file()).await
    }

    /// The same, trusting only `ca_file`.
    async fn start_trusting(
        prosody: &Prosody,
        user: &str,
        password: &str,
        ca_file: &Path,
    ) -> Result<Peer> {
        if password.is_empty() || password.contains(['\n', '\r']) {
            bail!("peer passwords must be non-empty and single-line");
        }
        let jid = prosody.jid(user);
        let dir = tempfile::Builder::new()
            .prefix(&format!("wimsy-peer-{user}-"))
            .tempdir()
            .context("creating the peer's directory")?;
        let script = dir.path().join("peer.py");
        std::fs::write(&script, SCRIPT).with_context(|| format!("writing {}", script.display()))?;
        let stderr = dir.path().join("stderr.log");
        let stderr_file = std::fs::File::create(&stderr)
            .with_context(|| format!("creating {}", stderr.display()))?;
        let mut child = Command::new(PYTHON)
            .arg(&script)
            .arg(&jid)
            .arg("127.0.0.1")
            .arg(prosody.port().to_string())
            .arg(ca_file)
            // Unbuffered stderr: the tail in an error message is complete.
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr_file)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {PYTHON} for {SLIXMPP}"))?;
        let stdin = child.stdin.take().context("the peer's stdin")?;
        let stdout = child.stdout.take().context("the peer's stdout")?;
        let (reply_tx, replies) = mpsc::unbounded_channel();
        let (recv_tx, received) = mpsc::unbounded_channel();
        // Its own task, so a burst of `recv` lines is drained however busy
        // the benchmark is; unbounded, so the reader never waits on it.
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                match parse_recv(&line) {
                    Some(r) => {
                        let _ = recv_tx.send(r);
                    }
                    None => {
                        let _ = reply_tx.send(line);
                    }
                }
            }
        });
        let mut peer = Peer {
            jid,
            child,
            stdin,
            replies,
            received,
            stderr,
            _dir: dir,
        };
        peer.write_line(password)
            .await
            .context("giving the peer its password")?;
        peer.expect("ready", STARTUP, |l| l == "ready").await?;
        Ok(peer)
    }

    /// The Python process, while it runs.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Its bare JID.
    pub(crate) fn jid(&self) -> &str {
        &self.jid
    }

    /// Send `count` chat messages to each of `to` (message i to all of
    /// them in a row), body `<tag> <i> <unix ns just before sending>`, at
    /// `rate` per second (0: as fast as possible). Returns once the server
    /// has processed all of them (a ping behind them came back).
    pub(crate) async fn send(
        &mut self,
        tag: &str,
        count: u64,
        rate: f64,
        to: &[&str],
    ) -> Result<()> {
        if tag.is_empty() || tag.contains(char::is_whitespace) {
            bail!("peer send: the tag {tag:?} must be one non-empty word");
        }
        if to.is_empty()
            || to
                .iter()
                .any(|j| j.is_empty() || j.contains([',', ' ', '\n']))
        {
            bail!("peer send: bad recipient list {to:?}");
        }
        if !(rate >= 0.0 && rate.is_finite()) {
            bail!("peer send: bad rate {rate}");
        }
        self.write_line(&format!("send {tag} {count} {rate} {}", to.join(",")))
            .await?;
        let paced = if rate > 0.0 {
            Duration::from_secs_f64(count as f64 / rate)
        } else {
            Duration::ZERO
        };
        let want = format!("sent {tag} {count}");
        self.expect(&want, paced + SEND_SLACK, |l| l == want)
            .await?;
        Ok(())
    }

    /// The next chat message received, with when the peer saw it.
    pub(crate) async fn next_received(
        &mut self,
        deadline: Instant,
    ) -> Result<(SystemTime, String)> {
        match tokio::time::timeout_at(deadline.into(), self.received.recv()).await {
            Ok(Some(r)) => Ok(r),
            Ok(None) => Err(self
                .failure("a received message", "the peer's output ended")
                .await),
            Err(_) => Err(self.failure("a received message", "deadline passed").await),
        }
    }

    /// The next `n` chat messages received.
    pub(crate) async fn received_n(
        &mut self,
        n: usize,
        deadline: Instant,
    ) -> Result<Vec<(SystemTime, String)>> {
        let mut all = Vec::with_capacity(n);
        while all.len() < n {
            let r = self
                .next_received(deadline)
                .await
                .with_context(|| format!("{} of {n} messages received", all.len()))?;
            all.push(r);
        }
        Ok(all)
    }

    #[cfg(test)]
    /// Messages received and not consumed yet, without waiting.
    pub(crate) fn drain_received(&mut self) -> Vec<(SystemTime, String)> {
        let mut all = Vec::new();
        while let Ok(r) = self.received.try_recv() {
            all.push(r);
        }
        all
    }

    /// Add `n` roster items `<prefix><k>@<domain>` (named `<prefix><k>`),
    /// all sent at once; returns when the server has confirmed every one.
    pub(crate) async fn add_roster(&mut self, prefix: &str, n: usize) -> Result<()> {
        if prefix.is_empty() || prefix.contains(|c: char| c.is_whitespace() || "@/".contains(c)) {
            bail!("peer roster: bad prefix {prefix:?}");
        }
        self.write_line(&format!("roster {prefix} {n}")).await?;
        let want = format!("roster {n}");
        self.expect(&want, STEP, |l| l == want).await?;
        Ok(())
    }

    /// Fetch the account's whole archive (XEP-0313, pages of 100 asked,
    /// as many as the server gives) and say how many messages it held and
    /// when the last page arrived.
    pub(crate) async fn mam_all(&mut self) -> Result<(usize, SystemTime)> {
        self.mam(None).await
    }

    /// The same, only the conversation with `with`.
    pub(crate) async fn mam(&mut self, with: Option<&str>) -> Result<(usize, SystemTime)> {
        let with = with.unwrap_or("-");
        self.write_line(&format!("mam {with}")).await?;
        let line = self.expect("mam", MAM, |l| l.starts_with("mam ")).await?;
        let mut words = line.split(' ').skip(1);
        let count = words.next().and_then(|w| w.parse::<usize>().ok());
        let at = words.next().and_then(|w| w.parse::<u64>().ok());
        match (count, at) {
            (Some(count), Some(ns)) => Ok((count, UNIX_EPOCH + Duration::from_nanos(ns))),
            _ => bail!("peer ({}): malformed answer {line:?}", self.jid),
        }
    }

    #[cfg(test)]
    /// A round trip to the server.
    pub(crate) async fn ping(&mut self) -> Result<()> {
        self.write_line("ping").await?;
        self.expect("pong", STEP, |l| l == "pong").await?;
        Ok(())
    }

    /// Log out cleanly and wait for the process to exit.
    pub(crate) async fn quit(mut self) -> Result<()> {
        self.write_line("quit").await?;
        match tokio::time::timeout(STEP, self.child.wait()).await {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => {
                let extra = self.replies_left();
                Err(self
                    .failure("a clean exit", &format!("exited with {status}{extra}"))
                    .await)
            }
            Ok(Err(e)) => {
                Err(anyhow!(e).context(format!("waiting for peer ({}) to exit", self.jid)))
            }
            Err(_) => Err(self.failure("a clean exit", "still running").await),
        }
    }

    async fn write_line(&mut self, line: &str) -> Result<()> {
        let io = async {
            self.stdin.write_all(format!("{line}\n").as_bytes()).await?;
            self.stdin.flush().await
        };
        match io.await {
            Ok(()) => Ok(()),
            Err(e) => {
                let cmd = line.split(' ').next().unwrap_or_default().to_owned();
                Err(self
                    .failure(
                        &format!("taking the command {cmd:?}"),
                        &format!("stdin: {e}"),
                    )
                    .await)
            }
        }
    }

    /// Waits for the next reply line, which must satisfy `ok`.
    async fn expect(
        &mut self,
        what: &str,
        timeout: Duration,
        ok: impl Fn(&str) -> bool,
    ) -> Result<String> {
        match tokio::time::timeout(timeout, self.replies.recv()).await {
            Ok(Some(line)) if ok(&line) => Ok(line),
            Ok(Some(line)) => Err(self.failure(what, &format!("got {line:?}")).await),
            Ok(None) => Err(self.failure(what, "the peer's output ended").await),
            Err(_) => Err(self
                .failure(what, &format!("nothing within {timeout:?}"))
                .await),
        }
    }

    fn replies_left(&mut self) -> String {
        let mut s = String::new();
        while let Ok(line) = self.replies.try_recv() {
            s.push_str("; then ");
            s.push_str(&line);
        }
        s
    }

    /// An error that says what was awaited, what happened instead, and
    /// ends with the process's status and the end of its stderr.
    async fn failure(&mut self, what: &str, outcome: &str) -> anyhow::Error {
        // A crash closes stdout slightly before the process is reaped.
        let status = match tokio::time::timeout(Duration::from_millis(200), self.child.wait()).await
        {
            Ok(Ok(status)) => format!(" (exited: {status})"),
            _ => String::new(),
        };
        let log = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..].join("\n");
        anyhow!(
            "peer ({}): waiting for {what}: {outcome}{status}\n--- last lines of its stderr {} ---\n{tail}",
            self.jid,
            self.stderr.display()
        )
    }
}

/// `recv <unix ns> <body>`.
fn parse_recv(line: &str) -> Option<(SystemTime, String)> {
    let rest = line.strip_prefix("recv ")?;
    let (ns, body) = rest.split_once(' ')?;
    let ns = ns.parse::<u64>().ok()?;
    Some((UNIX_EPOCH + Duration::from_nanos(ns), body.to_owned()))
}

/// A body the peer sent, `<tag> <i> <unix ns>`, back into its parts.
pub(crate) fn parse_body(body: &str) -> Result<(&str, u64, SystemTime)> {
    let parsed = (|| {
        let mut words = body.rsplitn(3, ' ');
        let ns = words.next()?.parse::<u64>().ok()?;
        let i = words.next()?.parse::<u64>().ok()?;
        let tag = words.next().filter(|t| !t.is_empty())?;
        Some((tag, i, UNIX_EPOCH + Duration::from_nanos(ns)))
    })();
    parsed.with_context(|| format!("not a peer message body (<tag> <i> <time_ns>): {body:?}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    use crate::bench::harness::{blocking, ms};

    fn prosody() -> Prosody {
        // Prosody's file store keeps at most 10,000 messages per archive
        // (then truncates to 99 %); the test needs them all.
        blocking(|| {
            Prosody::builder()
                .account("alice", "alice-pw")
                .account("bob", "bob-pw")
                .extra_config("storage_archive_item_limit = 100000")
                .start()
        })
        .unwrap()
    }

    fn signal(peer: &Peer, sig: &str) {
        let pid = peer.child.id().unwrap().to_string();
        let status = std::process::Command::new("kill")
            .args([sig, &pid])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn percentile(sorted: &[Duration], p: f64) -> Duration {
        let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[at.min(sorted.len() - 1)]
    }

    #[test]
    fn bodies_and_recv_lines_are_parsed() {
        let (tag, i, at) = parse_body("t1 42 1700000000123456789").unwrap();
        assert_eq!((tag, i), ("t1", 42));
        assert_eq!(
            at.duration_since(UNIX_EPOCH).unwrap(),
            Duration::new(1_700_000_000, 123_456_789)
        );
        assert!(parse_body("42 1700000000").is_err());
        assert!(parse_body("t x 1").is_err());
        let (at, body) = parse_recv("recv 5 a b c").unwrap();
        assert_eq!(at, UNIX_EPOCH + Duration::from_nanos(5));
        assert_eq!(body, "a b c");
        assert_eq!(parse_recv("sent a 1"), None);
    }

    /// The whole peer against a real Prosody: steady rate, burst, archive,
    /// roster. Prints the figures.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs prosody and python3-slixmpp; slow"]
    async fn peer_sends_receives_fetches_the_archive_and_fills_a_roster() {
        let server = prosody();
        let mut alice = Peer::start(&server, "alice", "alice-pw").await.unwrap();
        let mut bob = Peer::start(&server, "bob", "bob-pw").await.unwrap();
        let bob_jid = bob.jid().to_owned();

        // Steady: 1,000 at 200/s, in order, exactly once.
        let n = 1000;
        alice.send("steady", n, 200.0, &[&bob_jid]).await.unwrap();
        let got = bob
            .received_n(n as usize, Instant::now() + Duration::from_secs(60))
            .await
            .unwrap();
        let mut latencies = Vec::new();
        for (k, (at, body)) in got.iter().enumerate() {
            let (tag, i, sent) = parse_body(body).unwrap();
            assert_eq!((tag, i), ("steady", k as u64), "out of order or duplicate");
            latencies.push(at.duration_since(sent).unwrap_or_default());
        }
        latencies.sort();
        eprintln!(
            "steady 1000 at 200/s: latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            ms(percentile(&latencies, 0.5)),
            ms(percentile(&latencies, 0.99)),
            ms(percentile(&latencies, 1.0)),
        );
        bob.ping().await.unwrap();
        assert!(bob.drain_received().is_empty(), "more than 1000 received");

        // Burst: 10,000 as fast as possible.
        let n = 10_000;
        let start = Instant::now();
        let started = SystemTime::now();
        alice.send("burst", n, 0.0, &[&bob_jid]).await.unwrap();
        let sent_in = start.elapsed();
        let got = bob
            .received_n(n as usize, Instant::now() + Duration::from_secs(300))
            .await
            .unwrap();
        let received_in = start.elapsed();
        let (_, _, first_sent) = parse_body(&got[0].1).unwrap();
        let (_, _, last_sent) = parse_body(&got[n as usize - 1].1).unwrap();
        let last_at = got[n as usize - 1].0;
        for (k, (_, body)) in got.iter().enumerate() {
            let (tag, i, _) = parse_body(body).unwrap();
            assert_eq!((tag, i), ("burst", k as u64), "out of order or duplicate");
        }
        let handed = last_sent.duration_since(first_sent).unwrap_or_default();
        let all_in = last_at.duration_since(started).unwrap_or_default();
        let first_to_last = last_at.duration_since(got[0].0).unwrap_or_default();
        eprintln!(
            "burst 10000: handed to slixmpp in {:.0} ms ({:.0}/s); `sent` (server processed all) after {:.0} ms ({:.0}/s); \
             bob had all after {:.0} ms by his clock ({:.0} ms seen by the test, {:.0}/s); \
             bob's first to last {:.0} ms ({:.0}/s)",
            ms(handed),
            n as f64 / handed.as_secs_f64(),
            ms(sent_in),
            n as f64 / sent_in.as_secs_f64(),
            ms(all_in),
            ms(received_in),
            n as f64 / all_in.as_secs_f64(),
            ms(first_to_last),
            n as f64 / first_to_last.as_secs_f64(),
        );
        bob.ping().await.unwrap();
        assert!(bob.drain_received().is_empty(), "more than 10000 received");

        // The archive keeps everything: at least the 11,000 above.
        let start = SystemTime::now();
        let (count, done) = bob.mam_all().await.unwrap();
        let took = done.duration_since(start).unwrap_or_default();
        eprintln!(
            "mam: {count} messages in {:.0} ms ({:.0}/s)",
            ms(took),
            count as f64 / took.as_secs_f64()
        );
        assert!(count >= 11_000, "archive held {count}");

        // A 200-contact roster.
        let start = Instant::now();
        bob.add_roster("contact", 200).await.unwrap();
        eprintln!("roster: 200 items in {:.0} ms", ms(start.elapsed()));

        // Receiving alone: 10,000 that wait for bob at once. He is stopped
        // while the server takes them all, then resumed.
        signal(&bob, "-STOP");
        alice.send("queued", n, 0.0, &[&bob_jid]).await.unwrap();
        // The server has routed them; give it a moment to write them out.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let resumed = SystemTime::now();
        signal(&bob, "-CONT");
        let got = bob
            .received_n(n as usize, Instant::now() + Duration::from_secs(300))
            .await
            .unwrap();
        let drained = got[n as usize - 1]
            .0
            .duration_since(resumed)
            .unwrap_or_default();
        eprintln!(
            "10000 waiting at once: bob received all {:.0} ms after resuming ({:.0}/s)",
            ms(drained),
            n as f64 / drained.as_secs_f64()
        );
        for (k, (_, body)) in got.iter().enumerate() {
            let (tag, i, _) = parse_body(body).unwrap();
            assert_eq!((tag, i), ("queued", k as u64), "out of order or duplicate");
        }

        alice.quit().await.unwrap();
        bob.quit().await.unwrap();
    }

    /// Only the test CA is trusted: a wrong CA file fails the login, with
    /// an `error` line and a non-zero exit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs prosody and python3-slixmpp"]
    async fn peer_refuses_an_untrusted_certificate_and_a_wrong_password() {
        let server = prosody();
        let err = Peer::start(&server, "alice", "wrong").await.err().unwrap();
        let text = format!("{err:#}");
        eprintln!("wrong password: {text}");
        assert!(text.contains("error authentication failed"), "{text}");

        let dir = tempfile::tempdir().unwrap();
        let untrusted = wimsy_testkit::untrusted_ca_file(dir.path()).unwrap();
        let err = Peer::start_trusting(&server, "alice", "alice-pw", &untrusted)
            .await
            .err()
            .unwrap();
        let text = format!("{err:#}");
        eprintln!("untrusted CA: {text}");
        assert!(text.contains("error TLS"), "{text}");
    }
}
