//! Scenario 6e: messages written while offline; how fast does the outbox
//! drain when the account connects?

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use wimsy_ipc::{Delivery, Direction, Event, Request};

use super::harness::{
    Account, CAUGHT_UP, Ctx, STEP, blocking, bytes_received, log_field, ms, server,
};
use super::preset::Preset;
use super::report::{Row, median, num};

pub(crate) const TITLE: &str = "6e. Recovery: outbox drain";

pub(crate) const METHOD: &str = "\
Per run, a fresh Prosody and two daemons (default preset), alice and bob,\n\
both connected. Alice is taken offline (`disconnect`), then N messages to bob\n\
are queued through the IPC `send` request (each is stored with delivery\n\
`queued` before the answer). Then `connect`; measured from just before\n\
that request until a subscriber of alice's daemon has seen a `delivery`\n\
event `acked` (XEP-0198) for every one of the N, and until a subscriber of\n\
bob's daemon has seen all N stored (`message` events, which follow the\n\
store write). The rate is N divided by the time to bob's last message.\n\
The connect is a fresh session (a disconnect ends the stream cleanly): login,\n\
roster, presence, the archive catch-up, then the outbox. Then, untimed,\n\
alice is taken offline and connected again at once, as after a short\n\
outage: that catch-up would fetch back the N messages just sent (the\n\
archive keeps both directions; the store drops them as known) unless the\n\
position moved past them (`worker/tip.rs`: the archive's newest entry,\n\
asked for once 20 or more are acknowledged; fewer wait for the stream to\n\
idle). The notes give what that catch-up fetched, and the bytes the server\n\
sent on that connection (`ss` bytes_received: TLS, login, roster, the\n\
archive) per message of the drain.";

/// Messages per run.
pub(crate) fn size(ctx: &Ctx) -> usize {
    if ctx.quick { 100 } else { 1000 }
}

pub(crate) async fn run(ctx: &Ctx, runs: usize) -> Result<Vec<Row>> {
    let n = size(ctx);
    let limit = Duration::from_secs(120);
    let (mut acked, mut stored, mut rate, mut queueing, mut fetched, mut bytes) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for run in 0..runs {
        // A fresh server per run: Prosody's file-based archive store reads
        // a user's whole archive for every query, so reusing one would make
        // every run slower than the one before.
        let prosody = server(&["alice", "bob"])?;
        let mut alice = Account::start(ctx, &prosody, "alice", Preset::Default, None).await?;
        let mut bob = Account::start(ctx, &prosody, "bob", Preset::Default, None).await?;
        alice.disconnect().await?;
        let prefix = format!("outbox {run} ");
        let queue_start = Instant::now();
        let mut ids = HashSet::new();
        for i in 0..n {
            ids.insert(alice.send(&bob.jid, format!("{prefix}{i}")).await?);
        }
        queueing.push(ms(queue_start.elapsed()));
        let caught_up = alice.daemon.count_in_log(CAUGHT_UP);
        alice.watch.clear();
        bob.watch.clear();

        let start = Instant::now();
        alice.done(Request::Connect { account: None }).await?;
        let mut pending = ids.clone();
        let all_acked = alice
            .watch
            .wait_count(limit, "messages acknowledged", n, |e| match e {
                Event::Delivery {
                    message_id,
                    delivery: Delivery::Acked,
                    ..
                } => Ok(pending.remove(message_id)),
                Event::Delivery {
                    message_id,
                    delivery: Delivery::Failed,
                    reason,
                    ..
                } if ids.contains(message_id) => {
                    bail!("message {message_id} failed: {reason:?}")
                }
                _ => Ok(false),
            })
            .await?;
        let mut arrived = HashSet::new();
        let all_stored = bob
            .watch
            .wait_count(limit, "messages stored by the peer", n, |e| {
                Ok(matches!(e, Event::Message { message, .. }
                    if message.direction == Direction::In
                        && message.body.starts_with(&prefix)
                        && arrived.insert(message.body.clone())))
            })
            .await?;
        alice
            .daemon
            .wait_log(CAUGHT_UP, caught_up + 1, STEP)
            .await?;
        let to_acked = all_acked.saturating_duration_since(start);
        let to_stored = all_stored.saturating_duration_since(start);
        // A short outage right after the drain.
        alice.disconnect().await?;
        alice.done(Request::Connect { account: None }).await?;
        let (_, line) = alice
            .daemon
            .wait_log(CAUGHT_UP, caught_up + 2, STEP)
            .await?;
        if let Some(f) = log_field(&line, "fetched").and_then(|f| f.parse::<f64>().ok()) {
            fetched.push(f);
        }
        if let Some(pid) = alice.daemon.pid() {
            let received = blocking(|| bytes_received(pid, prosody.port()))?;
            bytes.push(received as f64 / n as f64);
        }
        acked.push(to_acked.as_secs_f64());
        stored.push(to_stored.as_secs_f64());
        rate.push(n as f64 / to_stored.as_secs_f64().max(1e-6));
    }
    let med = |v: &[f64]| median(v).map_or_else(|| "?".into(), num);
    Ok(vec![
        Row::new(
            format!("{TITLE}, {n} msgs: connect → all acked"),
            "s",
            acked,
            format!(
                "default preset; queueing {n} sends over IPC beforehand took median {} ms",
                med(&queueing)
            ),
        ),
        Row::new(
            format!("{TITLE}, {n} msgs: connect → all stored by the peer"),
            "s",
            stored,
            format!(
                "peer = a second wimsyd; after a reconnect, the sender's catch-up fetched median {} of its own {n} messages back, and the server sent median {} B per message on that connection",
                med(&fetched),
                med(&bytes)
            ),
        ),
        Row::new(
            format!("{TITLE}, {n} msgs: rate (stored by the peer)"),
            "msg/s",
            rate,
            "N / (connect → all stored by the peer)",
        ),
    ])
}
