//! Scenario 6d: the network goes away and comes back (a default route
//! removed and restored in a network namespace); how long after it is
//! back is the session resumed?

use std::time::{Instant, SystemTime};

use anyhow::{Context, Result, bail};
use wimsy_ipc::ConnectionState;
use wimsy_testkit::{NetNs, Prosody};

use super::harness::{Account, Ctx, STEP, blocking, cut_connections, log_time, ms};
use super::preset::Preset;
use super::report::{Row, median, num};
use super::watch::{is_state, reason};

pub(crate) const TITLE: &str = "6d. Recovery: network back";

pub(crate) const METHOD: &str = "\
Prosody and the daemon (tight preset) run in a private network namespace\n\
(`wimsy_testkit::NetNs`, root) and talk over its loopback; the namespace\n\
also has a default route over a dummy veth pair, which stands for \"the\n\
network\". After the connection has been up for longer than\n\
`stable_after`, the default route is removed (the daemon logs `network\n\
route changed available=false` from its netlink watch), the connection is\n\
cut with `ss -K` inside the namespace, and the daemon settles in\n\
`waiting_for_network` without retrying. Measured from just before `ip\n\
route add default` is started until the `connection` event `connected`\n\
with `session resumed`: the route change reaches the daemon over netlink,\n\
the waiting session retries at once and resumes. Starting `ip netns exec\n\
... ip route add` takes a few milliseconds itself; its median is in the\n\
notes, and so is when the daemon logged the route back (its netlink watch\n\
acts on a default route at once; only a link that came and went twice\n\
within 2 s waits for 300 ms of quiet). The preset does not matter here: a\n\
returning route resets the backoff.";

pub(crate) async fn run(ctx: &Ctx, runs: usize) -> Result<Row> {
    let preset = Preset::Tight;
    let ns = blocking(NetNs::create).context("creating a network namespace (needs root)")?;
    let prosody = blocking(|| {
        Prosody::builder()
            .account("alice", "alice-pw")
            .netns(ns.name())
            .start()
    })
    .context("starting Prosody in the namespace")?;
    let mut alice = Account::start(ctx, &prosody, "alice", preset, Some(ns.name())).await?;
    let (mut back, mut ip, mut noticed) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        alice.settle(preset).await;
        let gone = alice
            .daemon
            .count_in_log("network route changed available=false");
        blocking(|| ns.remove_default_route())?;
        alice
            .daemon
            .wait_log("network route changed available=false", gone + 1, STEP)
            .await?;
        alice.watch.clear();
        blocking(|| cut_connections(prosody.port(), Some(ns.name())))?;
        alice
            .watch
            .wait_for(STEP, "`waiting_for_network` after the cut", |e| {
                is_state(e, ConnectionState::WaitingForNetwork)
            })
            .await?;
        let returned = alice
            .daemon
            .count_in_log("network route changed available=true");
        let (restoring, restoring_wall) = (Instant::now(), SystemTime::now());
        blocking(|| ns.add_default_route())?;
        ip.push(ms(restoring.elapsed()));
        let up = alice
            .watch
            .wait_for(STEP, "`connected` after the route came back", |e| {
                is_state(e, ConnectionState::Connected)
            })
            .await?;
        if !reason(&up.event).contains("resumed") {
            bail!(
                "the session was not resumed: {:?}{}",
                reason(&up.event),
                alice.daemon.log_tail()
            );
        }
        alice.connected_at = up.at;
        back.push(ms(up.at.saturating_duration_since(restoring)));
        // When the daemon acted on the route (its log's own clock).
        let (_, line) = alice
            .daemon
            .wait_log("network route changed available=true", returned + 1, STEP)
            .await?;
        if let Some(at) = log_time(&line) {
            noticed.push(ms(at.duration_since(restoring_wall).unwrap_or_default()));
        }
    }
    Ok(Row::new(
        format!("{TITLE} → session resumed"),
        "ms",
        back,
        format!(
            "network namespace; `ip route add` itself: median {} ms; the daemon logged the route back after median {} ms",
            median(&ip).map_or_else(|| "?".into(), num),
            median(&noticed).map_or_else(|| "?".into(), num)
        ),
    ))
}
