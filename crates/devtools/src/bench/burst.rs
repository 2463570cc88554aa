//! Scenario 3: many messages at once, live and from the archive after
//! being offline; how fast are they stored and announced, and what does it
//! cost in memory, beside a plain receiver (slixmpp).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use wimsy_ipc::{ConnectionState, Direction, Event, Request};

use super::harness::{Account, CAUGHT_UP, Ctx, STEP, add_account, start_server, users};
use super::peer::Peer;
use super::preset::Preset;
use super::procstat;
use super::report::{Row, median, num};

pub(crate) const TITLE: &str = "3. Burst ingest";

pub(crate) const METHOD: &str = "\
One Prosody (with `mod_offline` off, so an offline account's messages\n\
come only from the archive, and its XEP-0198 queue and archive limits\n\
raised above N so neither cuts the burst short); alice on wimsyd (default\n\
preset), dave on a plain slixmpp client, bob on a slixmpp client that\n\
sends.\n\
*Live*: the receiver's process is stopped (SIGSTOP); bob sends N messages\n\
as fast as slixmpp can and waits until the server has processed them (a\n\
ping behind them returns), so all N are waiting for the receiver; then the\n\
receiver is continued (SIGCONT) and timed until it has them all: for\n\
wimsyd, until a subscriber has seen N `message` events (what the session\n\
reads together, up to 500 messages, is stored in one transaction and\n\
announced after its commit; the server is told we have them, XEP-0198\n\
`h`, only after that commit too); for dave, until slixmpp's handler has\n\
run for all N. Peak memory is the process's VmHWM afterwards (for wimsyd\n\
cumulative over the runs, one daemon throughout).\n\
*From the archive*: a fresh pair of accounts per run (erin on the same\n\
wimsyd, connected and caught up, then `disconnect`ed; frank never logged\n\
in); bob sends N to each and waits as above; then erin `connect`s and is\n\
timed from that request until N `message` events (the daemon logs in,\n\
resumes nothing, pages through the archive from its stored position, 100\n\
per request); frank logs in first and is timed from his archive query\n\
(XEP-0313, pages of 100, slixmpp's plugin) until the last page. Prosody's\n\
`internal` archive storage re-reads a user's whole archive for every\n\
page and answers at most 50 per page, so archive figures are bounded by\n\
the server, for both clients alike.";

fn size(ctx: &Ctx) -> (usize, usize) {
    // (messages, runs)
    if ctx.quick { (1000, 1) } else { (10_000, 2) }
}

const LIMIT: Duration = Duration::from_secs(300);

fn signal(pid: u32, sig: &str) -> Result<()> {
    let status = std::process::Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .context("running kill")?;
    if !status.success() {
        bail!("kill -{sig} {pid} failed ({status})");
    }
    Ok(())
}

/// Waits for `n` new incoming messages starting with `prefix` on a
/// subscriber of `account`'s daemon; when the last one arrived.
async fn stored(account: &mut Account, prefix: &str, n: usize) -> Result<Instant> {
    let mut seen = HashSet::new();
    account
        .watch
        .wait_count(LIMIT, "messages stored and announced", n, |e| {
            Ok(matches!(e, Event::Message { message, .. }
                if message.direction == Direction::In
                    && message.body.starts_with(prefix)
                    && seen.insert(message.body.clone())))
        })
        .await
}

pub(crate) async fn run(ctx: &Ctx) -> Result<Vec<Row>> {
    let (n, runs) = size(ctx);
    let count = u64::try_from(n).context("message count")?;
    let mut builder = users(&["alice", "bob", "dave"]).extra_config(&format!(
        "modules_disabled = {{ \"s2s\"; \"s2s_auth_certs\"; \"offline\" }}\n\
             smacks_max_queue_size = {queue}\n\
             storage_archive_item_limit = {archive}",
        queue = 2 * n + 1000,
        archive = 10 * n * (runs + 1),
    ));
    for run in 0..runs {
        builder = builder
            .account(&format!("erin{run}"), &format!("erin{run}-pw"))
            .account(&format!("frank{run}"), &format!("frank{run}-pw"));
    }
    let prosody = start_server(builder)?;
    let mut alice = Account::start(ctx, &prosody, "alice", Preset::Default, None).await?;
    let wimsyd = alice.daemon.pid().context("wimsyd is not running")?;
    let mut dave = Peer::start(&prosody, "dave", "dave-pw").await?;
    let dave_pid = dave.pid().context("dave's client is not running")?;
    let mut bob = Peer::start(&prosody, "bob", "bob-pw").await?;

    let (mut live_ours, mut live_theirs) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let tag = format!("live{run}");
        signal(wimsyd, "STOP")?;
        let sent = bob.send(&tag, count, 0.0, &[&alice.jid]).await;
        let start = Instant::now();
        signal(wimsyd, "CONT")?;
        sent?;
        let done = stored(&mut alice, &format!("{tag} "), n).await?;
        live_ours.push(done.saturating_duration_since(start).as_secs_f64());

        let tag = format!("plain{run}");
        signal(dave_pid, "STOP")?;
        let sent = bob.send(&tag, count, 0.0, &[dave.jid()]).await;
        let start = Instant::now();
        signal(dave_pid, "CONT")?;
        sent?;
        dave.received_n(n, Instant::now() + LIMIT)
            .await
            .context("dave's burst")?;
        live_theirs.push(start.elapsed().as_secs_f64());
    }
    let ours_peak = procstat::read(wimsyd)?.hwm_kib as f64 / 1024.0;
    let theirs_peak = procstat::read(dave_pid)?.hwm_kib as f64 / 1024.0;
    let ours_rss = procstat::read(wimsyd)?.rss_kib as f64 / 1024.0;

    let (mut mam_ours, mut mam_theirs) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let erin = format!("erin{run}");
        let frank = format!("frank{run}");
        let caught_up = alice.daemon.count_in_log(CAUGHT_UP);
        let erin_jid = add_account(&mut alice.client, &prosody, &erin).await?;
        alice
            .daemon
            .wait_log(CAUGHT_UP, caught_up + 1, STEP)
            .await?;
        alice.watch.clear();
        alice
            .done(Request::Disconnect {
                account: Some(erin_jid.clone()),
            })
            .await?;
        alice
            .watch
            .wait_for(STEP, &format!("{erin_jid} offline"), |e| {
                matches!(e, Event::Connection { account, status }
                    if *account == erin_jid && status.state == ConnectionState::Offline)
            })
            .await?;
        let tag = format!("archive{run}");
        bob.send(&tag, count, 0.0, &[&erin_jid, &prosody.jid(&frank)])
            .await?;
        alice.watch.clear();
        let start = Instant::now();
        alice
            .done(Request::Connect {
                account: Some(erin_jid.clone()),
            })
            .await?;
        let done = stored(&mut alice, &format!("{tag} "), n).await?;
        mam_ours.push(done.saturating_duration_since(start).as_secs_f64());

        let mut plain = Peer::start(&prosody, &frank, &format!("{frank}-pw")).await?;
        let start = Instant::now();
        let (fetched, _) = plain.mam_all().await?;
        mam_theirs.push(start.elapsed().as_secs_f64());
        if fetched != n {
            bail!("{frank} fetched {fetched} messages from the archive, not {n}");
        }
        plain.quit().await?;
    }
    bob.quit().await?;
    dave.quit().await?;

    let rate =
        |times: &[f64]| -> Vec<f64> { times.iter().map(|t| n as f64 / t.max(1e-6)).collect() };
    let versus = |ours: &[f64], theirs: &[f64]| match (median(ours), median(theirs)) {
        (Some(a), Some(b)) if b > 0.0 => format!(
            "plain receiver median {} s; wimsyd ÷ plain = {}",
            num(b),
            num(a / b)
        ),
        _ => String::new(),
    };
    Ok(vec![
        Row::new(
            format!("{TITLE}, {n} msgs live: all stored and announced"),
            "s",
            live_ours.clone(),
            versus(&live_ours, &live_theirs),
        ),
        Row::new(
            format!("{TITLE}, {n} msgs live: wimsyd rate"),
            "msg/s",
            rate(&live_ours),
            format!(
                "plain receiver median {} msg/s",
                median(&rate(&live_theirs)).map_or_else(|| "?".into(), num)
            ),
        ),
        Row::new(
            format!("{TITLE}, {n} msgs live: plain slixmpp receiver, all handled"),
            "s",
            live_theirs,
            "not stored anywhere",
        ),
        Row::new(
            format!("{TITLE}, {n} msgs live: wimsyd peak memory (VmHWM)"),
            "MB",
            vec![ours_peak],
            format!(
                "VmRSS after: {} MB; plain receiver (Python) VmHWM {} MB",
                num(ours_rss),
                num(theirs_peak)
            ),
        ),
        Row::new(
            format!("{TITLE}, {n} msgs from the archive: connect → all stored"),
            "s",
            mam_ours.clone(),
            versus(&mam_ours, &mam_theirs),
        ),
        Row::new(
            format!("{TITLE}, {n} msgs from the archive: plain slixmpp, query → last page"),
            "s",
            mam_theirs,
            "logged in before the clock starts",
        ),
    ])
}
