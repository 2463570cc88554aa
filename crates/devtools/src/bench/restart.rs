//! Scenario 6b: the server restarts; how long after it accepts again is the
//! session back (and caught up)?

use std::time::Instant;

use anyhow::{Context, Result};
use wimsy_ipc::ConnectionState;
use wimsy_testkit::Prosody;

use super::harness::{Account, CAUGHT_UP, Ctx, STEP, blocking, ms};
use super::preset::Preset;
use super::report::{Row, median, num};
use super::watch::{is_state, reason};

pub(crate) const TITLE: &str = "6b. Recovery: server restart";

pub(crate) const METHOD: &str = "\
One daemon, one account, connected for longer than the preset's\n\
`stable_after` (so the loss counts as the loss of a stable connection, not\n\
flapping). Prosody is stopped cleanly (the daemon gets `system-shutdown`\n\
and starts retrying) and started again on the same port with the same\n\
data. Measured from the moment `Prosody::start_again` has seen the server\n\
ready and accepting TCP: until the `connection` event `connected`, and\n\
until the daemon logs `caught up from the archive` (the session is fully\n\
usable: roster, presence, outbox and archive catch-up done). The server\n\
forgot the XEP-0198 session, so the daemon's resume is refused and it\n\
starts a fresh session, which includes a MAM catch-up (here of nothing\n\
new). What dominates is the reconnection backoff: retries while the\n\
server is down push the next attempt up to a jittered ceiling (tight: 100,\n\
200, 400 ms...; default: 1, 2, 4 s..., never more than half the time the\n\
server has been down). The tight preset is measured in\n\
every mode; the full benchmark also measures the default backoff, on a\n\
connection up for more than 10 s (`stable_after`) before each restart (3 runs).";

/// `runs` restarts with `preset`.
pub(crate) async fn run(ctx: &Ctx, preset: Preset, runs: usize) -> Result<Vec<Row>> {
    let numbers = preset.numbers();
    // Backoff can reach its cap while the server is away; then a login.
    let limit = numbers.backoff_max + numbers.login + STEP;
    let mut prosody = blocking(|| Prosody::builder().account("alice", "alice-pw").start())
        .context("starting Prosody")?;
    let mut alice = Account::start(ctx, &prosody, "alice", preset, None).await?;
    let (mut connected, mut synced, mut down) = (Vec::new(), Vec::new(), Vec::new());
    let (mut early, mut resumed) = (0, 0);
    for _ in 0..runs {
        alice.settle(preset).await;
        let caught_up = alice.daemon.count_in_log(CAUGHT_UP);
        alice.watch.clear();
        let stopping = Instant::now();
        blocking(|| prosody.stop()).context("stopping Prosody")?;
        blocking(|| prosody.start_again()).context("starting Prosody again")?;
        let back = Instant::now();
        down.push(ms(back - stopping));
        let up = alice
            .watch
            .wait_for(limit, "`connected` after the restart", |e| {
                is_state(e, ConnectionState::Connected)
            })
            .await?;
        alice.connected_at = up.at;
        if up.at < back {
            early += 1;
        }
        if reason(&up.event).contains("resumed") {
            resumed += 1;
        }
        let (done, _) = alice
            .daemon
            .wait_log(CAUGHT_UP, caught_up + 1, STEP)
            .await?;
        connected.push(ms(up.at.saturating_duration_since(back)));
        synced.push(ms(done.saturating_duration_since(back)));
    }
    let refused = alice.daemon.count_in_log("resume refused");
    let mut notes = format!(
        "{}; server down (stop + start) median {} ms; resume refused {refused} of {runs} times, fresh session",
        preset.label(),
        median(&down).map_or_else(|| "?".into(), num),
    );
    if resumed > 0 {
        notes.push_str(&format!("; RESUMED {resumed} times (unexpected)"));
    }
    if early > 0 {
        notes.push_str(&format!(
            "; {early} runs connected before the harness saw the server ready (counted as 0)"
        ));
    }
    let label = preset.label();
    Ok(vec![
        Row::new(
            format!("{TITLE}: server back → `connected` ({label})"),
            "ms",
            connected,
            notes,
        ),
        Row::new(
            format!("{TITLE}: server back → caught up ({label})"),
            "ms",
            synced,
            "fresh session + MAM catch-up done (log line)",
        ),
    ])
}
