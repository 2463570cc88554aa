//! Scenario 6c: the TCP connection is cut (RST); how long until the session
//! is resumed?

use std::time::Instant;

use anyhow::{Result, bail};
use wimsy_ipc::ConnectionState;

use super::harness::{Account, Ctx, STEP, blocking, cut_connections, ms, server};
use super::preset::Preset;
use super::report::{Row, median, num};
use super::watch::{is_state, left_connected, reason};

pub(crate) const TITLE: &str = "6c. Recovery: connection cut";

pub(crate) const METHOD: &str = "\
One daemon (tight preset), one account, connected for longer than\n\
`stable_after` (2 s), so the loss is that of a stable connection and the\n\
daemon reconnects at once; with the default preset the same holds once a\n\
connection has been up for 10 s, and the figure is the same. The\n\
connection is killed with `ss -K dport = :PORT` (a RST both ways, as a\n\
vanished path or a NAT reset would). Measured from just before `ss` is\n\
started until the `connection` event `connected` whose reason says\n\
`session resumed` (XEP-0198: TCP, STARTTLS, SASL, `<resume/>`). `ss`\n\
itself takes a few milliseconds; its median is in the notes, as is when\n\
the daemon noticed the cut.";

pub(crate) async fn run(ctx: &Ctx, runs: usize) -> Result<Row> {
    let preset = Preset::Tight;
    let prosody = server(&["alice"])?;
    let mut alice = Account::start(ctx, &prosody, "alice", preset, None).await?;
    let (mut resumed, mut noticed, mut ss) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        alice.settle(preset).await;
        alice.watch.clear();
        let cut = Instant::now();
        blocking(|| cut_connections(prosody.port(), None))?;
        ss.push(ms(cut.elapsed()));
        let lost = alice
            .watch
            .wait_for(
                STEP,
                "departure from `connected` after the cut",
                left_connected,
            )
            .await?;
        noticed.push(ms(lost.at.saturating_duration_since(cut)));
        let up = alice
            .watch
            .wait_for(STEP, "`connected` after the cut", |e| {
                is_state(e, ConnectionState::Connected)
            })
            .await?;
        if !reason(&up.event).contains("resumed") {
            bail!(
                "the cut session was not resumed: {:?}{}",
                reason(&up.event),
                alice.daemon.log_tail()
            );
        }
        alice.connected_at = up.at;
        resumed.push(ms(up.at.saturating_duration_since(cut)));
    }
    let med = |v: &[f64]| median(v).map_or_else(|| "?".into(), num);
    Ok(Row::new(
        format!("{TITLE} → session resumed"),
        "ms",
        resumed,
        format!(
            "tight preset, stable connection; `ss -K` itself: median {} ms; cut noticed after median {} ms",
            med(&ss),
            med(&noticed)
        ),
    ))
}
