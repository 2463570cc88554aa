//! Network loss in a real network namespace: the daemon and Prosody run in
//! it and talk over its loopback; the test takes its default route away and
//! gives it back, as an unplugged cable or a lost Wi-Fi would.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use wimsy_testkit::{NetNs, Prosody};
use wimsy_tests::*;

fn login_attempts(prosody: &Prosody) -> usize {
    prosody
        .log()
        .matches("Received[c2s_unauthed]: <starttls")
        .count()
}

#[test]
fn without_a_route_the_account_waits_without_attempts_and_comes_back_with_it() {
    let ns = NetNs::create().unwrap();
    let prosody = Prosody::builder()
        .account("alice", "alice-pw")
        .netns(ns.name())
        .start()
        .unwrap();
    let daemon = Daemon::start_in(ns.name()).unwrap();
    let jid = prosody.jid("alice");
    assert!(
        daemon
            .add_account(&prosody, "alice", "alice-pw")
            .status
            .success()
    );
    daemon.wait_state(&jid, "connected").unwrap();

    ns.remove_default_route().unwrap();
    wait_until(DEADLINE, "the daemon to see the route go", || {
        daemon
            .log()
            .contains("network route changed available=false")
    })
    .unwrap();
    // The route is gone but the stream lives on (loopback), so it stays
    // connected; when the stream also breaks, it must not retry.
    ns.exec(&["ss", "-K", "dport", "=", &format!(":{}", prosody.port())])
        .unwrap();
    let reason = daemon.wait_state(&jid, "waiting_for_network").unwrap();
    assert!(reason.contains("no network connection"), "{reason}");
    let before = login_attempts(&prosody);
    // A negative check needs a window: a retrying daemon would have tried
    // several times in one second with the tight backoff (<= 100-400 ms).
    let window = Instant::now() + Duration::from_secs(1);
    while Instant::now() < window {
        assert_eq!(daemon.state_of(&jid).unwrap().0, "waiting_for_network");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        login_attempts(&prosody),
        before,
        "no attempts without a route"
    );

    ns.add_default_route().unwrap();
    let reason = daemon.wait_state(&jid, "connected").unwrap();
    assert!(
        reason.contains("resumed"),
        "back at once, resuming the session: {reason}"
    );
}
