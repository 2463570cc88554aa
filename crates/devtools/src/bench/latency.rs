//! Scenario 2: a peer sends at a steady rate; how long until the message
//! reaches a `wimsyctl follow` subscriber, against how long it takes to
//! reach a plain receiver (slixmpp) on the same server at the same moment.

use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};

use super::follow::Follow;
use super::harness::{Account, Ctx, STARTUP, server};
use super::peer::{Peer, parse_body};
use super::preset::Preset;
use super::report::{Row, median, num};

pub(crate) const TITLE: &str = "2. Message path";

pub(crate) const METHOD: &str = "\
One Prosody; alice on wimsyd (default preset), dave on a plain slixmpp\n\
client (Debian's python3-slixmpp 1.8.3, nothing but a message handler that\n\
stamps the time), bob on a second slixmpp client that sends. A\n\
`wimsyctl --json follow` process is subscribed to alice's daemon; a thread\n\
of the benchmark reads its output and stamps each line as it arrives. Bob\n\
sends N chat messages at a steady rate (against a schedule, not sleeps),\n\
each to alice and then to dave, every body carrying the wall-clock time\n\
(`time.time_ns()`) taken just before that stanza was handed to slixmpp.\n\
Latency = arrival stamp − that time: for alice it covers Prosody routing,\n\
wimsyd parsing, storing it (SQLite, committed before it is announced),\n\
the IPC event and wimsyctl decoding and printing it; for dave, Prosody\n\
routing and slixmpp parsing. Both clocks are the same machine's\n\
CLOCK_REALTIME. Per run: p50, p99 and max over the N messages of each\n\
receiver; the table shows min / median / max of those over the runs.\n\
\"Wimsy adds\" is, per run, alice's p50 minus dave's p50: the cost of the\n\
daemon, the store and a frontend over a bare client library.";

fn size(ctx: &Ctx) -> (u64, f64, usize) {
    // (messages per run, per second, runs)
    if ctx.quick {
        (200, 100.0, 2)
    } else {
        (1000, 100.0, 3)
    }
}

/// Latencies in ms of `arrivals` (stamp, body `<tag> <i> <time_ns>`).
fn latencies(arrivals: &[(SystemTime, String)]) -> Result<Vec<f64>> {
    arrivals
        .iter()
        .map(|(at, body)| {
            let (_, _, sent) = parse_body(body)?;
            Ok(at
                .duration_since(sent)
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0))
        })
        .collect()
}

/// The `q` quantile (0..=1) of `values`, nearest rank.
pub(crate) fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[derive(Default)]
struct Percentiles {
    p50: Vec<f64>,
    p99: Vec<f64>,
    max: Vec<f64>,
}

impl Percentiles {
    fn add(&mut self, latencies: &[f64]) {
        self.p50.push(quantile(latencies, 0.5));
        self.p99.push(quantile(latencies, 0.99));
        self.max.push(quantile(latencies, 1.0));
    }
}

pub(crate) async fn run(ctx: &Ctx) -> Result<Vec<Row>> {
    let (n, rate, runs) = size(ctx);
    let prosody = server(&["alice", "bob", "dave"])?;
    let alice = Account::start(ctx, &prosody, "alice", Preset::Default, None).await?;
    let mut follow = Follow::start(ctx, &alice.daemon, Instant::now() + STARTUP).await?;
    let mut dave = Peer::start(&prosody, "dave", "dave-pw").await?;
    let mut bob = Peer::start(&prosody, "bob", "bob-pw").await?;
    let dave_jid = dave.jid().to_owned();

    let (mut wimsy, mut plain, mut added) =
        (Percentiles::default(), Percentiles::default(), Vec::new());
    let count = usize::try_from(n).context("message count")?;
    for run in 0..runs {
        let tag = format!("lat{run}");
        bob.send(&tag, n, rate, &[&alice.jid, &dave_jid]).await?;
        let deadline = Instant::now() + Duration::from_secs(60);
        let ours = follow
            .incoming(&format!("{tag} "), count, deadline)
            .await
            .context("alice's messages through wimsyd")?;
        let theirs: Vec<_> = dave
            .received_n(count, deadline)
            .await
            .context("dave's messages")?
            .into_iter()
            .filter(|(_, body)| body.starts_with(&format!("{tag} ")))
            .collect();
        if theirs.len() != count {
            bail!(
                "dave received {} of run {run}'s messages, not {count}",
                theirs.len()
            );
        }
        let (ours, theirs) = (latencies(&ours)?, latencies(&theirs)?);
        wimsy.add(&ours);
        plain.add(&theirs);
        added.push(quantile(&ours, 0.5) - quantile(&theirs, 0.5));
    }
    drop(follow);
    bob.quit().await?;
    dave.quit().await?;

    let head = format!("{TITLE}, {n} msgs at {rate}/s");
    let ratio = |a: &[f64], b: &[f64]| match (median(a), median(b)) {
        (Some(a), Some(b)) if b > 0.0 => format!("; ÷ plain receiver = {}", num(a / b)),
        _ => String::new(),
    };
    let mut rows = Vec::new();
    for (label, ours, theirs) in [
        ("p50", &wimsy.p50, &plain.p50),
        ("p99", &wimsy.p99, &plain.p99),
        ("max", &wimsy.max, &plain.max),
    ] {
        rows.push(Row::new(
            format!("{head}: to `wimsyctl follow`, {label}"),
            "ms",
            ours.clone(),
            format!(
                "plain receiver median {} ms{}",
                median(theirs).map_or_else(|| "?".into(), num),
                ratio(ours, theirs)
            ),
        ));
        rows.push(Row::new(
            format!("{head}: to a plain slixmpp receiver, {label}"),
            "ms",
            theirs.clone(),
            "same sender, same moment",
        ));
    }
    rows.push(Row::new(
        format!("{head}: Wimsy adds at p50"),
        "ms",
        added,
        "per run: wimsyd + store + IPC + wimsyctl p50 − plain receiver p50",
    ));
    Ok(rows)
}
