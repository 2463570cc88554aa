//! What the archive is asked for, on both servers: our own messages, once
//! acknowledged, are not fetched back by the next catch-up.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use wimsy_ipc::{Delivery, Direction, Request, Response};
use wimsy_testkit::{ServerKind, both_servers};
use wimsy_tests::*;

const DEADLINE: Duration = Duration::from_secs(60);

/// What each `caught up from the archive` line in `log` says it fetched.
fn fetched_per_catch_up(log: &str) -> Vec<u32> {
    log.lines()
        .filter(|l| l.contains("caught up from the archive"))
        .filter_map(|l| l.split("fetched=").nth(1))
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .collect()
}

both_servers! {
    /// Forty messages to a peer with nothing received after them: once
    /// they are acknowledged the position moves past them (twenty at once,
    /// the rest when the stream idles), so the catch-up after a restart
    /// fetches none of them back, and each is stored once, in order.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_catch_up_does_not_fetch_back_our_own_acknowledged_messages(kind: ServerKind) {
        let server = kind.shared().unwrap();
        let alice = server.new_account("alice").unwrap();
        let bob = server.new_account("bob").unwrap();
        let mut daemon = connected_daemon(server, &alice.user);
        wimsy_testkit::wait_until(DEADLINE, "the first catch-up", || {
            fetched_per_catch_up(&daemon.log()).len() == 1
        })
        .unwrap();
        {
            let mut a = daemon.client().await;
            for i in 0..40 {
                let request = Request::Send {
                    account: None,
                    to: bob.jid.clone(),
                    body: format!("own {i}"),
                };
                assert!(matches!(a.request(request).await.unwrap(), Response::Sent { .. }));
            }
        }
        // All forty covered (at once after twenty, the rest once the stream
        // idles), and the last move stored.
        wimsy_testkit::wait_until(DEADLINE, "the position to move past all our messages", || {
            let log = daemon.log();
            let covered: u32 = log
                .lines()
                .filter(|l| l.contains("archive position moved past our own messages"))
                .filter_map(|l| l.split("sent=").nth(1)?.split_whitespace().next()?.parse::<u32>().ok())
                .sum();
            covered == 40
                && log
                    .rsplit_once("archive position moved past our own messages")
                    .is_some_and(|(_, after)| after.contains("archive position stored"))
        })
        .unwrap();

        daemon.kill9();
        daemon.spawn().unwrap();
        wimsy_testkit::wait_until(DEADLINE, "the catch-up after the restart", || {
            fetched_per_catch_up(&daemon.log()).len() == 2
        })
        .unwrap();
        let fetched = fetched_per_catch_up(&daemon.log());
        assert_eq!(fetched[1], 0, "nothing fetched back; per catch-up: {fetched:?}");

        let mut a = daemon.client().await;
        let history = whole_history(&mut a, &bob.jid).await;
        let bodies: Vec<&str> = history
            .iter()
            .filter(|m| m.direction == Direction::Out)
            .map(|m| m.body.as_str())
            .collect();
        let expected: Vec<String> = (0..40).map(|i| format!("own {i}")).collect();
        assert_eq!(bodies, expected, "each stored once, in order");
        assert!(history.iter().all(|m| m.delivery == Delivery::Acked));
    }
}
