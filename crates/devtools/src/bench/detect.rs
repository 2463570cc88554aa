//! Scenario 6a: how long a dead connection looks alive. The server is frozen
//! (SIGSTOP: the socket stays open, nothing is answered) right after its
//! last traffic, and a subscriber waits for the account to leave
//! `connected`.

use std::time::{Duration, Instant};

use anyhow::Result;
use wimsy_ipc::{ConnectionState, Delivery, Event};

use super::harness::{Account, Ctx, STEP, blocking, server};
use super::preset::Preset;
use super::report::Row;
use super::watch::{is_state, left_connected};

pub(crate) const TITLE: &str = "6a. Recovery: dead connection detected";

pub(crate) const METHOD: &str = "\
One daemon, one account, connected. To start from the worst case, the\n\
account sends a message (to an offline contact) and waits for the server's\n\
XEP-0198 acknowledgement, the last thing the server sends; the server is\n\
then frozen with SIGSTOP (`Prosody::freeze`: TCP stays up, nothing is\n\
answered). Measured: from the freeze until a subscribed client receives a\n\
`connection` event whose state is not `connected`. The bound is the\n\
preset's `idle_probe + probe_answer` (wimsy-session `Timeouts`): silence\n\
for `idle_probe`, then a probe (`<r/>`) unanswered for `probe_answer`.\n\
With the default timeouts one run takes about 4.5 minutes, so the full\n\
benchmark runs it once; the tight preset (`--tight-timeouts`, 3 s + 4 s)\n\
is measured too, and is the only one in `--quick`. Between tight runs the\n\
server is thawed and the account reconnects.";

/// `runs` freezes with `preset`, on one server and one daemon.
pub(crate) async fn run(ctx: &Ctx, preset: Preset, runs: usize) -> Result<Row> {
    let numbers = preset.numbers();
    let bound = numbers.idle_probe + numbers.probe_answer;
    // The wait is the bound plus room for a slow machine, never unbounded.
    let limit = bound + Duration::from_secs(30) + numbers.login;
    let prosody = server(&["alice", "bob"])?;
    let mut alice = Account::start(ctx, &prosody, "alice", preset, None).await?;
    let bob = prosody.jid("bob");
    let mut samples = Vec::new();
    let mut states = Vec::new();
    for run in 0..runs {
        if run > 0 {
            alice
                .watch
                .wait_for(STEP + numbers.login, "reconnection after the thaw", |e| {
                    is_state(e, ConnectionState::Connected)
                })
                .await?;
        }
        // Fresh server traffic: the acknowledgement of this message.
        let id = alice.send(&bob, format!("probe {run}")).await?;
        alice
            .watch
            .wait_for(STEP, "the acknowledgement of the last message", |e| {
                matches!(e, Event::Delivery { message_id, delivery: Delivery::Acked, .. } if *message_id == id)
            })
            .await?;
        let frozen = Instant::now();
        blocking(|| prosody.freeze())?;
        let left = alice
            .watch
            .wait_for(
                limit,
                "departure from `connected` after the freeze",
                left_connected,
            )
            .await;
        blocking(|| prosody.thaw())?;
        let left = left?;
        samples.push(left.at.saturating_duration_since(frozen).as_secs_f64());
        if let Event::Connection { status, .. } = &left.event {
            states.push(status.state.as_str());
        }
    }
    states.dedup();
    Ok(Row::new(
        format!("{TITLE} ({})", preset.label()),
        "s",
        samples,
        format!(
            "bound idle_probe {} s + probe_answer {} s = {} s; freeze right after the last server traffic (worst case); then `{}`",
            numbers.idle_probe.as_secs(),
            numbers.probe_answer.as_secs(),
            bound.as_secs(),
            states.join("`, `")
        ),
    ))
}
