//! Scenario 7: how the daemon's own cost grows with its work. Idle memory
//! and attach time with 1, 5 and 20 accounts, and with 1, 10 and 100
//! subscribed frontends, plus how long one event takes to reach all of
//! them.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use wimsy_ipc::{Client, ConnectionState, Delivery, Event, Request, Response, Role, Snapshot};
use wimsy_testkit::Prosody;

use super::harness::{CAUGHT_UP, Ctx, Daemon, STARTUP, STEP, add_account, ms, server};
use super::preset::Preset;
use super::procstat::{self, ProcStats};
use super::report::{Row, median, num};

pub(crate) const TITLE: &str = "7. Scale";

pub(crate) const METHOD: &str = "\
One Prosody with accounts u0 to u19; every figure comes from a fresh\n\
`wimsyd` (default preset), killed before the next one starts.\n\
\n\
**Accounts.** For N = 1, 5 and 20: the daemon is started, a subscribed\n\
connection watches while u0 to u(N−1) are added (`account_add`), and the\n\
benchmark waits until every one of them has reported `connected` and the\n\
daemon has logged `caught up from the archive` N times (first catch-up\n\
done). Then every IPC connection is closed, as when no window is open, and\n\
the daemon is left idle for 5 s, read from `/proc` once a second: VmRSS is\n\
the row's figure (min / median / max of those readings), the notes give\n\
the median RssAnon (its own memory: heap and stacks, without the binary's\n\
and shared libraries' file pages), VmHWM (the peak so far, which includes\n\
the logins and catch-ups) and the thread count at the last reading (the\n\
daemon's runtime is one thread; the others are blocking-pool threads\n\
used during logins, which exit after 10 s idle), and for N > 1 the growth\n\
per extra account over the 1-account daemon (medians).\n\
Then the attach time, 20 times: from just before `Client::connect` of a\n\
fresh connection (role `gui`) until the answer to its `subscribe` (the\n\
snapshot, checked to hold N accounts) has been read; that connection is\n\
closed before the next. Its roster and chats are empty, so the snapshot\n\
grows only by the N accounts' entries. The daemon builds it from memory\n\
(each account's status, roster and presence) and two store queries for\n\
all accounts together (chats with unread counts, mutes).\n\
\n\
**Frontends.** For N = 1, 10 and 100: a daemon with u0 connected and\n\
caught up and one unsubscribed control connection (it sends the\n\
requests). Memory is read as above (5 s idle) first with no subscriber,\n\
then after N connections have attached and subscribed (role `gui`; each\n\
is read by a task of its own for the whole run, so none falls behind and\n\
gets cut off) and another 5 s idle; the notes give the growth per\n\
frontend (median RssAnon with N, minus without, over N) and how long\n\
attaching all N took, one after the other. Attach time of one more\n\
connection with the N attached, 20 times, as above. Fan-out, 10 times:\n\
the control connection `send`s a message from u0 to u1 (not on this\n\
daemon); measured from just before the request until the last of the N\n\
subscribers has read the `message` event of it (the daemon publishes it\n\
once the message is stored, before the server has it). Each subscriber's\n\
task stamps its arrival; with 100 of them on this process's four runtime\n\
threads (on the CPUs above) the stamps include this process's own\n\
scheduling, so the figure is an upper bound of the daemon's part. The\n\
notes give the median for the first subscriber. Before the next send every subscriber\n\
has also read the server's acknowledgement (`delivery: acked`), so one\n\
run's traffic does not overlap the next.\n\
\n\
`--quick` leaves out the largest size of each (no 20 accounts, no 100\n\
frontends; then only u0 to u4 exist), idles 2 s instead of 5, and repeats\n\
attach and fan-out 5 times instead of 20 and 10.";

/// The sizes and repetitions of a run.
struct Plan {
    accounts: &'static [usize],
    frontends: &'static [usize],
    /// Idle time before memory is read, once a second.
    idle_secs: u32,
    attaches: usize,
    fan_outs: usize,
}

fn plan(ctx: &Ctx) -> Plan {
    if ctx.quick {
        Plan {
            accounts: &[1, 5],
            frontends: &[1, 10],
            idle_secs: 2,
            attaches: 5,
            fan_outs: 5,
        }
    } else {
        Plan {
            accounts: &[1, 5, 20],
            frontends: &[1, 10, 100],
            idle_secs: 5,
            attaches: 20,
            fan_outs: 10,
        }
    }
}

fn user(i: usize) -> String {
    format!("u{i}")
}

pub(crate) async fn run(ctx: &Ctx) -> Result<Vec<Row>> {
    let plan = plan(ctx);
    // u1 is the fan-out's recipient even when no size needs two accounts.
    let count = plan.accounts.iter().copied().max().unwrap_or(1).max(2);
    let names: Vec<String> = (0..count).map(user).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let prosody = server(&names)?;

    let mut rows = Vec::new();
    let mut one_account: Option<Memory> = None;
    for &n in plan.accounts {
        let found = accounts(ctx, &plan, &prosody, n, one_account.as_ref())
            .await
            .with_context(|| format!("with {n} account(s)"))?;
        rows.extend(found.rows);
        one_account.get_or_insert(found.memory);
    }
    for &n in plan.frontends {
        rows.extend(
            frontends(ctx, &plan, &prosody, n)
                .await
                .with_context(|| format!("with {n} frontend(s)"))?,
        );
    }
    Ok(rows)
}

// ---------------------------------------------------------------------------
// Accounts

struct AccountsOutcome {
    rows: Vec<Row>,
    memory: Memory,
}

async fn accounts(
    ctx: &Ctx,
    plan: &Plan,
    prosody: &Prosody,
    n: usize,
    one_account: Option<&Memory>,
) -> Result<AccountsOutcome> {
    let users: Vec<String> = (0..n).map(user).collect();
    let (daemon, control) =
        ready_daemon(ctx, prosody, &format!("scale-{n}-accounts"), &users).await?;
    // Idle as with no window open: no connection at all.
    drop(control);
    let memory = idle_memory(&daemon, plan.idle_secs).await?;
    let attach = attach_times(&daemon, plan.attaches, n).await?;

    let label = if n == 1 { "account" } else { "accounts" };
    let mut notes = memory.notes();
    if let Some(base) = one_account
        && n > 1
    {
        let extra = (n - 1) as f64;
        notes.push_str(&format!(
            "; per extra account over 1: VmRSS {:+.2} MB, RssAnon {:+.2} MB",
            (memory.rss_median() - base.rss_median()) / extra,
            (memory.anon_median() - base.anon_median()) / extra,
        ));
    }
    notes.push_str("; no IPC connection open");
    let rows = vec![
        Row::new(
            format!("{TITLE}, {n} {label}: idle daemon VmRSS"),
            "MB",
            memory.rss_mb.clone(),
            notes,
        ),
        Row::new(
            format!("{TITLE}, {n} {label}: attach → snapshot"),
            "ms",
            attach,
            "fresh connection: connect, hello, subscribe",
        ),
    ];
    Ok(AccountsOutcome { rows, memory })
}

// ---------------------------------------------------------------------------
// Frontends

/// The body prefix of the fan-out's messages.
const FAN_OUT: &str = "scale fan-out ";

async fn frontends(ctx: &Ctx, plan: &Plan, prosody: &Prosody, n: usize) -> Result<Vec<Row>> {
    let (daemon, mut control) =
        ready_daemon(ctx, prosody, &format!("scale-{n}-frontends"), &[user(0)]).await?;
    let none = idle_memory(&daemon, plan.idle_secs).await?;

    let (tx, mut rx) = mpsc::unbounded_channel();
    // Dropping the set aborts the readers, which closes their connections.
    let mut readers = JoinSet::new();
    let started = Instant::now();
    for idx in 0..n {
        let (client, _) = attach(&daemon, 1)
            .await
            .with_context(|| format!("attaching frontend {} of {n}", idx + 1))?;
        readers.spawn(read_events(idx, client, tx.clone()));
    }
    let attach_all = started.elapsed();
    drop(tx);
    let with = idle_memory(&daemon, plan.idle_secs).await?;
    let attach = attach_times(&daemon, plan.attaches, 1).await?;
    let to = prosody.jid(&user(1));
    let (last, first) = fan_out(&mut control, &mut rx, n, plan.fan_outs, &to).await?;
    drop(readers);

    let label = if n == 1 { "frontend" } else { "frontends" };
    let per_frontend_kib = (with.anon_median() - none.anon_median()) * 1024.0 / n as f64;
    let notes = format!(
        "{}; without subscribers VmRSS {} MB, RssAnon {} MB; per frontend RssAnon {:+.0} KB; \
         attaching the {n} took {} ms",
        with.notes(),
        num(none.rss_median()),
        num(none.anon_median()),
        per_frontend_kib,
        num(ms(attach_all)),
    );
    Ok(vec![
        Row::new(
            format!("{TITLE}, 1 account, {n} {label} subscribed: idle daemon VmRSS"),
            "MB",
            with.rss_mb.clone(),
            notes,
        ),
        Row::new(
            format!("{TITLE}, 1 account, {n} {label} subscribed: attach of one more → snapshot"),
            "ms",
            attach,
            "fresh connection: connect, hello, subscribe",
        ),
        Row::new(
            format!("{TITLE}, 1 account, {n} {label} subscribed: send → event at the last"),
            "ms",
            last,
            format!(
                "`send` request → `message` event read by all {n}; first one median {} ms",
                median(&first).map_or_else(|| "?".into(), num)
            ),
        ),
    ])
}

/// What a subscriber's reader passes on.
enum Arrival {
    Stored {
        idx: usize,
        body: String,
        at: Instant,
    },
    Acked {
        idx: usize,
        id: i64,
    },
    Closed {
        idx: usize,
        why: String,
    },
}

/// Reads one subscriber's events for as long as it lives, so that its
/// queue in the daemon never fills, and passes on the fan-out's.
async fn read_events(idx: usize, mut client: Client, tx: mpsc::UnboundedSender<Arrival>) {
    loop {
        let next = client.next_event().await;
        let at = Instant::now();
        let arrival = match next {
            Ok(Some((_, Event::Message { message, .. }))) if message.body.starts_with(FAN_OUT) => {
                Arrival::Stored {
                    idx,
                    body: message.body,
                    at,
                }
            }
            Ok(Some((
                _,
                Event::Delivery {
                    message_id,
                    delivery: Delivery::Acked,
                    ..
                },
            ))) => Arrival::Acked {
                idx,
                id: message_id,
            },
            Ok(Some(_)) => continue,
            Ok(None) => Arrival::Closed {
                idx,
                why: "the daemon closed the connection".to_owned(),
            },
            Err(e) => Arrival::Closed {
                idx,
                why: format!("the event stream failed: {e}"),
            },
        };
        let last = matches!(arrival, Arrival::Closed { .. });
        if tx.send(arrival).is_err() || last {
            return;
        }
    }
}

/// `runs` sends through `control`; per run, the time until the last and
/// the first of the `n` subscribers read its `message` event (ms).
async fn fan_out(
    control: &mut Client,
    rx: &mut mpsc::UnboundedReceiver<Arrival>,
    n: usize,
    runs: usize,
    to: &str,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let (mut last, mut first) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let body = format!("{FAN_OUT}{run}");
        let request = Request::Send {
            account: None,
            to: to.to_owned(),
            body: body.clone(),
        };
        let start = Instant::now();
        let answer = tokio::time::timeout(STEP, control.request(request))
            .await
            .map_err(|_| anyhow!("fan-out {run}: no answer to `send` within {STEP:?}"))?
            .with_context(|| format!("fan-out {run}: send"))?;
        let id = match answer {
            Response::Sent { message, .. } => message.id,
            other => bail!("fan-out {run}: unexpected answer to `send`: {other:?}"),
        };
        let deadline = tokio::time::Instant::now() + STEP;
        let mut stored: HashMap<usize, Instant> = HashMap::new();
        let mut acked: HashSet<usize> = HashSet::new();
        while stored.len() < n || acked.len() < n {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Err(_) => bail!(
                    "fan-out {run}: within {STEP:?}, {} of {n} subscribers read the message \
                     and {} of {n} its server acknowledgement",
                    stored.len(),
                    acked.len()
                ),
                Ok(None) => bail!("fan-out {run}: every subscriber's reader is gone"),
                Ok(Some(Arrival::Closed { idx, why })) => {
                    bail!("fan-out {run}: subscriber {idx}: {why}")
                }
                Ok(Some(Arrival::Stored { idx, body: got, at })) if got == body => {
                    stored.entry(idx).or_insert(at);
                }
                Ok(Some(Arrival::Acked { idx, id: got })) if got == id => {
                    acked.insert(idx);
                }
                Ok(Some(_)) => {}
            }
        }
        let (Some(earliest), Some(latest)) = (stored.values().min(), stored.values().max()) else {
            bail!("fan-out {run}: no subscriber");
        };
        last.push(ms(latest.saturating_duration_since(start)));
        first.push(ms(earliest.saturating_duration_since(start)));
    }
    Ok((last, first))
}

// ---------------------------------------------------------------------------
// Shared steps

/// A fresh daemon with `users` added, every one connected and caught up
/// from the archive; with an unsubscribed connection for requests.
async fn ready_daemon(
    ctx: &Ctx,
    prosody: &Prosody,
    name: &str,
    users: &[String],
) -> Result<(Daemon, Client)> {
    let daemon = Daemon::start(ctx, name, Preset::Default, None).await?;
    let mut watch = daemon.watch().await?;
    let mut control = daemon.client().await?;
    let mut pending = HashSet::new();
    for u in users {
        pending.insert(add_account(&mut control, prosody, u).await?);
    }
    // Logins on loopback take well under a second each; generous for a
    // debug build sharing two CPUs with other scenarios.
    let limit = STARTUP + Duration::from_secs(2) * u32::try_from(users.len()).unwrap_or(u32::MAX);
    let n = users.len();
    watch
        .wait_count(limit, "accounts connected", n, |e| match e {
            Event::Connection { account, status } if status.state == ConnectionState::Connected => {
                Ok(pending.remove(account))
            }
            Event::Connection { account, status } if status.state == ConnectionState::Error => {
                bail!("{account} stopped on an error: {}", status.reason)
            }
            _ => Ok(false),
        })
        .await?;
    daemon.wait_log(CAUGHT_UP, n, limit).await?;
    Ok((daemon, control))
}

/// A fresh subscribed connection; also its snapshot, checked to hold
/// `accounts` accounts.
async fn attach(daemon: &Daemon, accounts: usize) -> Result<(Client, Snapshot)> {
    let mut client = tokio::time::timeout(
        STEP,
        Client::connect(daemon.socket(), Role::Gui, "xtask-bench-scale"),
    )
    .await
    .map_err(|_| anyhow!("no hello from wimsyd ({}) within {STEP:?}", daemon.name()))?
    .with_context(|| format!("attaching to wimsyd ({})", daemon.name()))?;
    let snapshot = tokio::time::timeout(STEP, client.subscribe())
        .await
        .map_err(|_| {
            anyhow!(
                "no snapshot from wimsyd ({}) within {STEP:?}",
                daemon.name()
            )
        })?
        .with_context(|| format!("subscribing to wimsyd ({})", daemon.name()))?;
    if snapshot.accounts.len() != accounts {
        bail!(
            "wimsyd ({}): the snapshot has {} accounts, not {accounts}",
            daemon.name(),
            snapshot.accounts.len()
        );
    }
    Ok((client, snapshot))
}

/// `runs` attaches of a fresh connection, each closed before the next (ms).
async fn attach_times(daemon: &Daemon, runs: usize, accounts: usize) -> Result<Vec<f64>> {
    let mut times = Vec::with_capacity(runs);
    for run in 0..runs {
        let start = Instant::now();
        let (client, _snapshot) = attach(daemon, accounts)
            .await
            .with_context(|| format!("attach {run}"))?;
        times.push(ms(start.elapsed()));
        drop(client);
    }
    Ok(times)
}

/// Memory readings of an idle daemon.
pub(super) struct Memory {
    pub(super) rss_mb: Vec<f64>,
    anon_mb: Vec<f64>,
    last: ProcStats,
}

impl Memory {
    fn rss_median(&self) -> f64 {
        median(&self.rss_mb).unwrap_or(f64::NAN)
    }

    fn anon_median(&self) -> f64 {
        median(&self.anon_mb).unwrap_or(f64::NAN)
    }

    pub(super) fn notes(&self) -> String {
        format!(
            "RssAnon {} MB, VmHWM {} MB, threads: {}",
            num(self.anon_median()),
            num(mb(self.last.hwm_kib)),
            self.last.threads
        )
    }
}

fn mb(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Leaves the daemon alone for `secs` seconds and reads it from `/proc`
/// at the end of each.
pub(super) async fn idle_memory(daemon: &Daemon, secs: u32) -> Result<Memory> {
    let pid = daemon
        .pid()
        .with_context(|| format!("wimsyd ({}) is not running", daemon.name()))?;
    let (mut rss_mb, mut anon_mb, mut last) = (Vec::new(), Vec::new(), None);
    for _ in 0..secs.max(1) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let stats = procstat::read(pid)
            .with_context(|| format!("reading wimsyd ({}) from /proc", daemon.name()))?;
        rss_mb.push(mb(stats.rss_kib));
        anon_mb.push(mb(stats.rss_anon_kib));
        last = Some(stats);
    }
    let last = last.context("no reading taken")?;
    Ok(Memory {
        rss_mb,
        anon_mb,
        last,
    })
}
