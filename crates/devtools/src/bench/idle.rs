//! Scenario 1: what an idle, connected client costs the machine, wimsyd
//! beside Profanity (a terminal client from Debian) on the same server with
//! the same 200-contact roster, over the same minutes.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use wimsy_ipc::{Request, Response};

use super::harness::{Account, Ctx, STARTUP, blocking, server};
use super::peer::Peer;
use super::preset::Preset;
use super::procstat::{self, ProcStats};
use super::profanity::Profanity;
use super::report::{Row, median, num};
use super::smaps;

pub(crate) const TITLE: &str = "1. Idle cost";

pub(crate) const METHOD: &str = "\
One Prosody; alice for wimsyd (run from a copy of the binary of its own,\n\
as a person runs one wimsyd: the other scenarios' daemons, running from\n\
the same build meanwhile, would keep the pages it releases while idle\n\
resident), carol for Profanity (Debian's 0.13.1, in a\n\
detached tmux pane with its own HOME, default settings, the test CA\n\
trusted through `SSL_CERT_FILE`, so TLS is verified as wimsyd's is). Before\n\
either logs in, a slixmpp peer gives each account the same 200-contact\n\
roster. wimsyd (default preset: the idle probe every 240 s) logs in, fetches\n\
the roster (checked: 200 contacts) and finishes its archive catch-up; then\n\
every IPC client is closed, as when no window is open (so the daemon has\n\
also told the server it is inactive, XEP-0352); Profanity is a terminal\n\
client and stays the foreground. After both are logged in, 10 s of settling\n\
(Profanity polls its input fast for a few seconds after activity), then the\n\
idle time is cut into equal slices (ten minutes; four of 15 s with\n\
`--quick`) and each process is read from\n\
`/proc` at every cut: VmRSS, VmHWM and RssAnon (its own memory without the\n\
shared libraries' pages) from `status`, CPU time (user + system, all\n\
threads) from `stat`, and voluntary context switches summed over\n\
`task/*/status` (each is one time the process went to sleep and was woken:\n\
its wakeups). CPU and wakeups are per minute of each slice; memory is the\n\
reading at each cut. The table shows min / median / max over the\n\
slices; the notes give the other client's median and the ratio.\n\
The scenario runs beside the others (it measures only these two\n\
processes' own CPU time, wakeups and memory, which others' load does not\n\
change). Profanity's screen updates are drawn by tmux, which is not counted\n\
(a real terminal would be).\n\
At the end of the idle time, `/proc/PID/smaps` of each is read once: Pss\n\
(each resident page divided by the number of processes that map it, so a\n\
shared library's pages count in proportion), and the resident pages by\n\
what they map: the program's own file, each library, and `anonymous`\n\
(heap, stacks, anonymous mappings). The program's own file is mapped\n\
as it runs: code and read-only data pages come in as they are first\n\
touched, and with them the pages around them that the kernel maps in the\n\
same fault (fault-around), so the resident part of a binary is far larger\n\
than the code an idle loop runs; those pages are clean page cache that\n\
the kernel can take back at any time.";

/// The contacts each account has.
const CONTACTS: usize = 200;
/// Profanity polls its input faster for a few seconds after activity.
const SETTLE: Duration = Duration::from_secs(10);

/// Readings per run: minutes in the full run; `/proc`'s CPU times count
/// 10 ms ticks, so quick slices are kept at 15 s.
fn slices(ctx: &Ctx) -> u32 {
    if ctx.quick { 4 } else { 10 }
}

fn idle_time(ctx: &Ctx) -> Duration {
    if ctx.quick {
        Duration::from_secs(60)
    } else {
        Duration::from_secs(600)
    }
}

/// One process's readings, slice by slice.
#[derive(Default)]
struct Series {
    rss_mb: Vec<f64>,
    hwm_mb: Vec<f64>,
    anon_mb: Vec<f64>,
    cpu_ms_per_min: Vec<f64>,
    wakeups_per_min: Vec<f64>,
    preemptions_per_min: Vec<f64>,
}

impl Series {
    fn add(&mut self, earlier: &ProcStats, now: &ProcStats) {
        let mb = |kib: u64| kib as f64 / 1024.0;
        let delta = now.delta(earlier);
        self.rss_mb.push(mb(now.rss_kib));
        self.hwm_mb.push(mb(now.hwm_kib));
        self.anon_mb.push(mb(now.rss_anon_kib));
        self.cpu_ms_per_min.push(delta.cpu_ms_per_min());
        self.wakeups_per_min.push(delta.wakeups_per_min());
        self.preemptions_per_min.push(delta.preemptions_per_min());
    }
}

/// `wimsyd` and `wimsyctl` copied into a directory of their own, under the
/// target directory (on its disk: a copy on tmpfs could not be paged out).
fn private_binaries(ctx: &Ctx) -> Result<tempfile::TempDir> {
    let parent = ctx.bin_dir.parent().unwrap_or(&ctx.bin_dir);
    let dir = tempfile::Builder::new()
        .prefix("bench-idle-")
        .tempdir_in(parent)
        .with_context(|| format!("creating a directory in {}", parent.display()))?;
    for name in ["wimsyd", "wimsyctl"] {
        std::fs::copy(ctx.bin_dir.join(name), dir.path().join(name))
            .with_context(|| format!("copying {name} for scenario 1"))?;
    }
    Ok(dir)
}

pub(crate) async fn run(ctx: &Ctx) -> Result<Vec<Row>> {
    let prosody = server(&["alice", "carol"])?;
    for user in ["alice", "carol"] {
        let mut peer = Peer::start(&prosody, user, &format!("{user}-pw")).await?;
        peer.add_roster("contact", CONTACTS).await?;
        peer.quit().await?;
    }

    // The daemon releases its program's pages while idle, and the kernel
    // drops only pages no other process maps: the other scenarios' daemons,
    // running meanwhile from the same binary, would keep them resident. A
    // person runs one wimsyd, so this one runs from a copy of its own.
    let own_copy = private_binaries(ctx)?;
    let ctx = &Ctx {
        bin_dir: own_copy.path().to_path_buf(),
        wimsyctl: own_copy.path().join("wimsyctl"),
        ..ctx.clone()
    };
    let account = Account::start(ctx, &prosody, "alice", Preset::Default, None).await?;
    let Account {
        daemon,
        watch,
        mut client,
        ..
    } = account;
    match client.request(Request::Roster { account: None }).await {
        Ok(Response::Roster { contacts, .. }) if contacts.len() == CONTACTS => {}
        Ok(Response::Roster { contacts, .. }) => {
            bail!("wimsyd has {} contacts, not {CONTACTS}", contacts.len())
        }
        other => bail!("asking wimsyd for the roster: {other:?}"),
    }
    drop(watch);
    drop(client);
    let wimsyd = daemon.pid().context("wimsyd is not running")?;

    let profanity = blocking(|| Profanity::start(&prosody, "carol", "carol-pw", STARTUP))?;
    tokio::time::sleep(SETTLE).await;

    let slice = idle_time(ctx) / slices(ctx);
    let (mut ours, mut theirs) = (Series::default(), Series::default());
    let first = (procstat::read(wimsyd)?, procstat::read(profanity.pid())?);
    let mut last = first.clone();
    for _ in 0..slices(ctx) {
        tokio::time::sleep(slice).await;
        let now = (
            procstat::read(wimsyd).context("reading wimsyd")?,
            procstat::read(profanity.pid())
                .with_context(|| format!("reading Profanity; its screen:\n{}", profanity.pane()))?,
        );
        ours.add(&last.0, &now.0);
        theirs.add(&last.1, &now.1);
        last = now;
    }
    let threads = last.0.threads;
    // /proc counts CPU time in 10 ms ticks: over the whole idle time the
    // total says more than per-slice rates that round to zero.
    let cpu_total = format!(
        "; CPU over all {} s: wimsyd {} ms, Profanity {} ms (10 ms resolution)",
        idle_time(ctx).as_secs(),
        num(last.0.delta(&first.0).cpu_ms),
        num(last.1.delta(&first.1).cpu_ms)
    );
    let preempted = |s: &Series| median(&s.preemptions_per_min).map_or_else(|| "?".into(), num);
    let preemptions = format!(
        "; involuntary switches (preemptions) per min, median: wimsyd {}, Profanity {}",
        preempted(&ours),
        preempted(&theirs)
    );
    // Where the resident pages are, at the end of the idle time.
    let where_ours = smaps::read(wimsyd)?;
    let where_theirs = smaps::read(profanity.pid())?;
    drop(profanity);
    drop(daemon);

    let minutes = idle_time(ctx).as_secs() / 60;
    let head = format!("{TITLE}, {minutes} min, {CONTACTS} contacts");
    let peer = Profanity::version();
    let figures: [(&str, &'static str, Vec<f64>, Vec<f64>); 5] = [
        ("VmRSS", "MB", ours.rss_mb, theirs.rss_mb),
        ("VmHWM (peak)", "MB", ours.hwm_mb, theirs.hwm_mb),
        ("RssAnon (own memory)", "MB", ours.anon_mb, theirs.anon_mb),
        ("CPU", "ms/min", ours.cpu_ms_per_min, theirs.cpu_ms_per_min),
        (
            "wakeups",
            "/min",
            ours.wakeups_per_min,
            theirs.wakeups_per_min,
        ),
    ];
    let mut rows = Vec::new();
    for (figure, unit, wimsy, other) in figures {
        let (a, b) = (median(&wimsy), median(&other));
        let ratio = match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => format!("; wimsyd ÷ Profanity = {}", num(a / b)),
            _ => String::new(),
        };
        rows.push(Row::new(
            format!("{head}: wimsyd {figure}"),
            unit,
            wimsy,
            format!(
                "{peer}: median {} {unit}{ratio}",
                b.map_or_else(|| "?".into(), num)
            ),
        ));
        rows.push(Row::new(
            format!("{head}: {peer} {figure}"),
            unit,
            other,
            "same server, same roster, same minutes",
        ));
    }
    if let Some(row) = rows.iter_mut().find(|r| r.scenario.ends_with("wimsyd CPU")) {
        row.notes.push_str(&cpu_total);
    }
    if let Some(row) = rows
        .iter_mut()
        .find(|r| r.scenario.ends_with("wimsyd wakeups"))
    {
        row.notes.push_str(&preemptions);
    }
    if let Some(row) = rows.first_mut() {
        row.notes.push_str(&format!(
            "; wimsyd threads: {threads}; no frontend attached"
        ));
    }
    rows.extend(where_rows(&head, &peer, &where_ours, &where_theirs));
    Ok(rows)
}

/// Pss beside VmRSS, and what the resident pages are, once, at the end of
/// the idle time: a shared library's pages count in full in every process
/// that maps it (VmRSS), but only in proportion in Pss.
fn where_rows(
    head: &str,
    peer: &str,
    ours: &smaps::Breakdown,
    theirs: &smaps::Breakdown,
) -> Vec<Row> {
    let mb = |kib: u64| kib as f64 / 1024.0;
    let (o, t) = (ours.total(), theirs.total());
    let ratio = if t.pss_kib > 0 {
        format!(
            "; wimsyd ÷ Profanity = {}",
            num(o.pss_kib as f64 / t.pss_kib as f64)
        )
    } else {
        String::new()
    };
    vec![
        Row::new(
            format!("{head}: wimsyd Pss (shared pages in proportion)"),
            "MB",
            vec![mb(o.pss_kib)],
            format!(
                "{peer}: {} MB{ratio}; at the end of the idle time",
                num(mb(t.pss_kib))
            ),
        ),
        Row::new(
            format!("{head}: {peer} Pss"),
            "MB",
            vec![mb(t.pss_kib)],
            "same moment",
        ),
        Row::new(
            format!("{head}: wimsyd resident memory by mapping"),
            "MB",
            vec![mb(o.rss_kib)],
            ours.summary(6),
        ),
        Row::new(
            format!("{head}: {peer} resident memory by mapping"),
            "MB",
            vec![mb(t.rss_kib)],
            theirs.summary(6),
        ),
    ]
}
