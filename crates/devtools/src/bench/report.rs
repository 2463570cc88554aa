//! Results: rows with min / median / max, the Markdown table, the machine
//! description and docs/benchmarks.md.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

/// One line of the table: a figure measured `samples.len()` times.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) scenario: String,
    pub(crate) unit: &'static str,
    pub(crate) samples: Vec<f64>,
    pub(crate) notes: String,
}

impl Row {
    pub(crate) fn new(
        scenario: impl Into<String>,
        unit: &'static str,
        samples: Vec<f64>,
        notes: impl Into<String>,
    ) -> Self {
        Self {
            scenario: scenario.into(),
            unit,
            samples,
            notes: notes.into(),
        }
    }

    /// A row without figures (skipped, or failed: the notes say why).
    pub(crate) fn empty(scenario: impl Into<String>, notes: impl Into<String>) -> Self {
        Self::new(scenario, "", Vec::new(), notes)
    }
}

/// (min, median, max); `None` without samples.
pub(crate) fn summary(samples: &[f64]) -> Option<(f64, f64, f64)> {
    let mut sorted: Vec<f64> = samples.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let (first, last) = (sorted.first()?, sorted.last()?);
    let mid = sorted.len() / 2;
    let median = if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    };
    Some((*first, median, *last))
}

/// The median, for notes.
pub(crate) fn median(samples: &[f64]) -> Option<f64> {
    summary(samples).map(|(_, m, _)| m)
}

/// About three significant digits.
pub(crate) fn num(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The Markdown table.
pub(crate) fn table(rows: &[Row]) -> String {
    let mut s = String::from(
        "| scenario | runs | min | median | max | unit | notes |\n|---|---:|---:|---:|---:|---|---|\n",
    );
    for row in rows {
        let (min, med, max) = match summary(&row.samples) {
            Some((a, b, c)) => (num(a), num(b), num(c)),
            None => ("–".into(), "–".into(), "–".into()),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {min} | {med} | {max} | {} | {} |",
            cell(&row.scenario),
            row.samples.len(),
            row.unit,
            cell(&row.notes)
        );
    }
    s
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// What the figures were measured on.
#[derive(Debug, Clone)]
pub(crate) struct Machine {
    pub(crate) nproc: usize,
    pub(crate) cpu: String,
    pub(crate) memory: String,
    pub(crate) kernel: String,
    pub(crate) rustc: String,
    pub(crate) prosody: String,
    pub(crate) profanity: String,
    pub(crate) slixmpp: String,
}

impl Machine {
    pub(crate) fn probe() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or_else(|| "unknown".to_owned(), |(_, v)| v.trim().to_owned());
        let memory = std::fs::read_to_string("/proc/meminfo")
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or_else(
                || "unknown".to_owned(),
                |kb| format!("{:.1} GiB", kb as f64 / 1024.0 / 1024.0),
            );
        Self {
            nproc: std::thread::available_parallelism().map_or(0, usize::from),
            cpu,
            memory,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map_or_else(|_| "unknown".to_owned(), |s| s.trim().to_owned()),
            rustc: output("rustc", &["--version"]),
            prosody: output("dpkg-query", &["-W", "-f=${Version}", "prosody"]),
            profanity: output("dpkg-query", &["-W", "-f=${Version}", "profanity"]),
            slixmpp: output("dpkg-query", &["-W", "-f=${Version}", "python3-slixmpp"]),
        }
    }

    fn markdown(&self) -> String {
        format!(
            "| | |\n|---|---|\n\
             | CPUs (nproc) | {} |\n\
             | CPU model | {} |\n\
             | memory | {} |\n\
             | kernel | {} |\n\
             | rustc | {} |\n\
             | Prosody (Debian package) | {} |\n\
             | Profanity (Debian package) | {} |\n\
             | slixmpp (Debian package python3-slixmpp) | {} |\n",
            self.nproc,
            self.cpu,
            self.memory,
            self.kernel,
            self.rustc,
            self.prosody,
            self.profanity,
            self.slixmpp
        )
    }
}

fn output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Everything docs/benchmarks.md says.
pub(crate) struct Doc<'a> {
    pub(crate) quick: bool,
    pub(crate) command: &'a str,
    pub(crate) machine: &'a Machine,
    pub(crate) methods: &'a [(&'static str, &'static str)],
    pub(crate) rows: &'a [Row],
    pub(crate) total: Duration,
    pub(crate) date: String,
}

impl Doc<'_> {
    pub(crate) fn render(&self) -> String {
        let mut s = String::from("# Benchmarks\n\n");
        s.push_str(
            "<!-- Generated by `cargo xtask bench`; edit crates/devtools/src/bench/, not this file. -->\n\n",
        );
        if self.quick {
            s.push_str(
                "> **Quick figures** (`--quick`: small sizes, few runs, short idle time, the\n\
                 > tight preset for dead-connection detection). Run `cargo xtask bench` for\n\
                 > the full ones.\n\n",
            );
        }
        s.push_str(
            "These figures measure the real binaries end to end: the release `wimsyd`\n\
             and `wimsyctl` against a private Prosody on loopback (the same harness as\n\
             the tests, `wimsy-testkit`, with Nagle off), observed through the IPC\n\
             socket the way a frontend sees it, the `wimsy` window on a private Xvfb\n\
             (scenario 8), and, wherever there is something to\n\
             compare with, side by side in the same run with clients people use:\n\
             Profanity (a terminal client, Debian's package) for the idle cost, and a\n\
             plain slixmpp client (the Python library several clients and bots are\n\
             built on, Debian's package) as the receiver that does nothing but parse.\n\
             They are measurements, not tests: nothing asserts on them.\n\n",
        );
        s.push_str("## How to run\n\n```console\n");
        s.push_str(
            "cargo xtask bench          # full: about 15 minutes after the build; rewrites this file\n\
             cargo xtask bench --quick  # every scenario at a small size, about two minutes;\n\
             \x20                          # writes target/bench/benchmarks-quick.md\n\
             cargo xtask bench --only 3,4  # some scenarios; target/bench/benchmarks-partial.md\n",
        );
        s.push_str("```\n\n");
        s.push_str(
            "All of them build `wimsyd`, `wimsyctl`, `wimsy` and `wimsy-tray` (those the\n\
             chosen scenarios run) in release mode first and need root (`ss -K` cuts\n\
             connections; scenario 6d creates a network namespace; the burst stops\n\
             processes with SIGSTOP) and the packages `prosody`, `iproute2`,\n\
             `profanity`, `tmux`, `python3-slixmpp`, `xvfb`, `dbus` and\n\
             `haskell-status-notifier-item-utils` (installed if missing). `--out PATH` writes the report elsewhere. `cargo xtask test`\n\
             runs `--quick --debug-build` once so that the benchmark code runs at\n\
             every commit; those figures (debug binaries) are not published.\n\n",
        );
        let _ = write!(
            s,
            "This report: `{}`, {}, {} in total.\n\n",
            self.command,
            self.date,
            human(self.total)
        );
        s.push_str("## Machine\n\n");
        s.push_str(&self.machine.markdown());
        s.push_str("\n## Results\n\n");
        s.push_str(&table(self.rows));
        s.push_str(
            "\nTimes are min / median / max over the runs; a rate's min and max come\n\
             from the slowest and fastest run.\n",
        );
        s.push_str("\n## Method\n\n");
        s.push_str(
            "Unless a scenario says otherwise, every time is taken in the benchmark\n\
             process: the start is an `Instant` just before the fault or request,\n\
             the end is the arrival of the daemon's IPC event (read by a task of its\n\
             own and stamped on arrival) or, for log lines, a 2 ms poll of the\n\
             daemon's log. Latencies across processes use the wall clock\n\
             (CLOCK_REALTIME) of this one machine. The daemons log at `info`. Each\n\
             scenario has its own Prosody, daemons and peers.\n\n",
        );
        for (title, method) in self.methods {
            let _ = write!(s, "### {title}\n\n{method}\n\n");
        }
        s.push_str("## Reading the figures\n\n");
        s.push_str(READING);
        s
    }
}

const READING: &str = "\
- **Idle memory.** VmRSS counts every resident page, including the code of\n  \
  shared libraries mapped from disk (pages other processes may share);\n  \
  RssAnon is what the process itself allocated (heap, stacks). wimsyd is\n  \
  one Rust binary (rustls and SQLite compiled in) on a single-threaded\n  \
  async runtime; Profanity links ncurses, GLib, libstrophe, OpenSSL and\n  \
  more. Both figures are in the table so neither flatters.\n\
- **Idle wakeups.** A voluntary context switch is the process going to\n  \
  sleep and being woken. An idle wimsyd has three reasons to wake: its\n  \
  idle probe (every 240 s with the defaults, one XEP-0198 `<r/>` the\n  \
  server answers), the clock-gap check (once a minute; it catches a\n  \
  suspend the system bus did not announce) and traffic from the server.\n  \
  Nothing polls. With ten one-minute slices, most slices see nothing at\n  \
  all.\n\
- **Message latency** to a frontend includes storing the message: it is\n  \
  committed to SQLite before it is announced, so what a window shows is\n  \
  never lost by a crash right after. The plain receiver stores nothing.\n  \
  \"Wimsy adds\" can come out below zero in a run: both receivers are\n  \
  separate processes scheduled on two cores, and sub-millisecond\n  \
  differences are within that noise.\n\
- **Burst ingest** stores what arrives together in one transaction (up\n  \
  to 500 messages, WAL mode), committed before any of it is announced\n  \
  and before the server is told we have it; the plain receiver only\n  \
  parses. From the archive, both clients wait on the server's pages.\n\
- **Detecting a dead connection is slow by design.** A frozen server (or a\n  \
  silently dropped network path) sends nothing and refuses nothing; the\n  \
  daemon only learns of it when a probe goes unanswered. With the default\n  \
  timeouts a silent stream is probed after 240 s and declared dead 20 s\n  \
  later: the idle-probe interval is chosen for battery (one wake-up every\n  \
  four minutes on a laptop or phone, which also keeps NAT mappings alive).\n  \
  The measured figure is the worst case (the freeze comes right after the\n  \
  last server traffic) and matches the bound; a freeze at a random moment is\n  \
  detected after 20 to 260 s, 140 s on average. A broken socket (RST, the\n  \
  route gone, the server restarting) is seen at once: scenarios 6b to 6d.\n\
- **A cut is repaired in milliseconds** when the server still holds the\n  \
  session (XEP-0198 resumption): TCP, STARTTLS, SASL and `<resume/>`;\n  \
  nothing is fetched again.\n\
- **Network back** is the same resume, after the daemon has noticed the\n  \
  route: its netlink watch gathers a burst of route and address changes for\n  \
  300 ms before acting (`SETTLE` in daemon/src/system/netlink.rs), which is\n  \
  most of that figure.\n\
- **A server restart costs a fresh session.** The resume is refused (the\n  \
  server forgot the session), so the daemon logs in again, re-sends what was\n  \
  unacknowledged and catches up from the archive (MAM). When it comes back\n  \
  after the server does is decided by the reconnection backoff (full\n  \
  jitter), so that figure is spread out by design: attempts that found the\n  \
  server down push the next one up to 100 ms, 200 ms, 400 ms... later in the\n  \
  tight preset, 1 s, 2 s, 4 s... with the defaults. Here the server is down\n  \
  for well under a second; a longer outage means a longer wait.\n\
- **Throughput** (outbox drain and archive catch-up) is bounded by the\n  \
  server and the store on this machine. The archive is fetched in pages of\n  \
  100, one round trip each, and the cost of a page depends on the server's\n  \
  storage: Prosody's `internal` storage, used here, reads the user's whole\n  \
  archive file for every page, so catch-up slows down as an archive grows.\n\
\n\
See docs/resilience.md for what the daemon does in each\n\
of these situations and why.\n";

fn human(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 {
        format!("{} min {} s", secs / 60, secs % 60)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

pub(crate) fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_take_the_middle() {
        assert_eq!(summary(&[]), None);
        assert_eq!(summary(&[3.0, 1.0, 2.0]), Some((1.0, 2.0, 3.0)));
        assert_eq!(summary(&[4.0, 1.0, 2.0, 3.0]), Some((1.0, 2.5, 4.0)));
    }

    #[test]
    fn numbers_keep_about_three_digits() {
        assert_eq!(num(261.37), "261");
        assert_eq!(num(26.137), "26.1");
        assert_eq!(num(2.6137), "2.61");
    }
}
