//! Scenario 6f: messages that arrived while the account was offline; how
//! fast are they fetched from the server's archive (MAM)?

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use wimsy_ipc::{Delivery, Direction, Event, Request};

use super::harness::{
    Account, CAUGHT_UP, Ctx, blocking, bytes_received, log_field, start_server, users,
};
use super::preset::Preset;
use super::report::{Row, median, num};

pub(crate) const TITLE: &str = "6f. Recovery: archive catch-up";

pub(crate) const METHOD: &str = "\
Per run, a fresh Prosody and two daemons (default preset), alice and bob,\n\
both connected and caught up. Alice is taken offline (`disconnect`); bob sends\n\
N messages to her and the benchmark waits until the server has\n\
acknowledged all of them (so all are archived). Then alice `connect`s;\n\
measured from just before that request until a subscriber of alice's\n\
daemon has seen all N stored (`message` events), and until her daemon\n\
logs `caught up from the archive` (with `fetched=`, the number of\n\
archived messages received). The rate is N divided by the first time.\n\
The main figure runs with Prosody's `mod_offline` disabled, so the\n\
archive (XEP-0313, pages of 100, one round trip each) is the only way the\n\
messages come. The second figure keeps `mod_offline` (Prosody's default):\n\
the server then also pushes the N messages as offline messages as soon as\n\
alice's presence is sent, and the catch-up that follows fetches the same N\n\
again; the store drops the duplicates. A fresh server per run matters:
Prosody's `internal` storage (the harness's) loads a user's whole archive
file for every page query, so with an archive that grew to 5,000 messages
the same catch-up of 1,000 took about four times as long (0.6 s in the
first run, 2.6 s in the fifth, in a trial run of this benchmark).";

/// Messages per run.
pub(crate) fn size(ctx: &Ctx) -> usize {
    if ctx.quick { 200 } else { 1000 }
}

/// With `offline`, Prosody keeps `mod_offline` as well as the archive.
pub(crate) async fn run(ctx: &Ctx, runs: usize, offline: bool) -> Result<Vec<Row>> {
    let n = size(ctx);
    let limit = Duration::from_secs(120);
    let mut builder = users(&["alice", "bob"]);
    if !offline {
        // Replaces the harness's own list (s2s stays off).
        builder =
            builder.extra_config(r#"modules_disabled = { "s2s"; "s2s_auth_certs"; "offline" }"#);
    }
    let (mut stored, mut done, mut rate, mut fetched, mut bytes) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for run in 0..runs {
        // A fresh server per run: Prosody's file-based archive store reads
        // a user's whole archive for every page, so a reused one would make
        // every run slower than the one before.
        let prosody = start_server(builder.clone())?;
        let mut alice = Account::start(ctx, &prosody, "alice", Preset::Default, None).await?;
        let mut bob = Account::start(ctx, &prosody, "bob", Preset::Default, None).await?;
        alice.disconnect().await?;
        let prefix = format!("catch-up {run} ");
        bob.watch.clear();
        let mut ids = HashSet::new();
        for i in 0..n {
            ids.insert(bob.send(&alice.jid, format!("{prefix}{i}")).await?);
        }
        bob.watch
            .wait_count(limit, "of bob's messages acknowledged", n, |e| match e {
                Event::Delivery {
                    message_id,
                    delivery: Delivery::Acked,
                    ..
                } => Ok(ids.remove(message_id)),
                Event::Delivery {
                    message_id,
                    delivery: Delivery::Failed,
                    reason,
                    ..
                } => bail!("bob's message {message_id} failed: {reason:?}"),
                _ => Ok(false),
            })
            .await?;
        let caught_up = alice.daemon.count_in_log(CAUGHT_UP);
        alice.watch.clear();

        let start = Instant::now();
        alice.done(Request::Connect { account: None }).await?;
        let mut arrived = HashSet::new();
        let all_stored = alice
            .watch
            .wait_count(limit, "messages stored", n, |e| {
                Ok(matches!(e, Event::Message { message, .. }
                    if message.direction == Direction::In
                        && message.body.starts_with(&prefix)
                        && arrived.insert(message.body.clone())))
            })
            .await?;
        let (finished, line) = alice
            .daemon
            .wait_log(CAUGHT_UP, caught_up + 1, limit)
            .await?;
        if let Some(f) = log_field(&line, "fetched").and_then(|f| f.parse::<f64>().ok()) {
            fetched.push(f);
        }
        // The whole connection so far (login, roster, the catch-up),
        // spread over the messages it brought.
        if let Some(pid) = alice.daemon.pid() {
            let received = blocking(|| bytes_received(pid, prosody.port()))?;
            bytes.push(received as f64 / n as f64);
        }
        let to_stored = all_stored.saturating_duration_since(start);
        stored.push(to_stored.as_secs_f64());
        done.push(finished.saturating_duration_since(start).as_secs_f64());
        rate.push(n as f64 / to_stored.as_secs_f64().max(1e-6));
    }
    let fetched = median(&fetched).map_or_else(|| "?".into(), num);
    if offline {
        return Ok(vec![Row::new(
            format!("{TITLE} with mod_offline too, {n} msgs: connect → all stored"),
            "s",
            stored,
            format!(
                "Prosody's default: offline push + archive; catch-up done after median {} s, fetched median {fetched}",
                median(&done).map_or_else(|| "?".into(), num)
            ),
        )]);
    }
    Ok(vec![
        Row::new(
            format!("{TITLE}, {n} msgs: connect → all stored"),
            "s",
            stored,
            "archive only (mod_offline off); default preset",
        ),
        Row::new(
            format!("{TITLE}, {n} msgs: connect → catch-up done"),
            "s",
            done,
            format!("`caught up from the archive` logged; fetched median {fetched}"),
        ),
        Row::new(
            format!("{TITLE}, {n} msgs: bytes received per message"),
            "B",
            bytes,
            "everything the server sent on the new connection until the catch-up was done (TLS, login, roster, the archive pages; `ss` bytes_received) ÷ N",
        ),
        Row::new(
            format!("{TITLE}, {n} msgs: rate"),
            "msg/s",
            rate,
            "N / (connect → all stored)",
        ),
    ])
}
