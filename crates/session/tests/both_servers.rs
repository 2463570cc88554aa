//! The session's promises about delivery and reconnection, against both
//! real servers (Prosody and ejabberd): messages in doubt are looked up in
//! the archive, a frozen server is noticed while an ack is outstanding, and
//! a short outage is followed by a prompt reconnect with the default
//! backoff.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use wimsy_session::*;
use wimsy_testkit::{ServerKind, both_servers};

both_servers! {
    /// A message that reached the server on a stream that then died, handed
    /// to a fresh session as "in doubt", is found in the archive and not
    /// sent again; one in doubt that never reached the server is sent; the
    /// order holds.
    #[tokio::test]
    async fn a_message_in_doubt_is_looked_up_in_the_archive_and_not_sent_twice(kind: ServerKind) {
        let server = kind.shared().unwrap();
        let alice = server.new_account("alice").unwrap();
        let bob = server.new_account("bob").unwrap();
        let (bob_session, mut bob_events) = spawn(
            account(server, &bob.user, &bob.password),
            SessionConfig::tight(),
            Stored::default(),
        );
        bob_session.connect().unwrap();
        wait_for(&mut bob_events, connected).await;

        let before_ms = now_ms() - 1000;
        let (first, mut first_events) = spawn(
            account(server, &alice.user, &alice.password),
            SessionConfig::tight(),
            Stored::default(),
        );
        first.send(outgoing(&bob.jid, 1, None)).unwrap();
        first.connect().unwrap();
        wait_for(&mut first_events, delivery(1, DeliveryStage::Acked)).await;
        first.shutdown().await.unwrap();

        // As a restarted daemon would: 1 was written (the server has it),
        // 2 was written too (it never got there), 3 was only queued.
        let (alice_session, mut alice_events) = spawn(
            account(server, &alice.user, &alice.password),
            SessionConfig::tight(),
            Stored::default(),
        );
        alice_session.send(outgoing(&bob.jid, 1, Some(before_ms))).unwrap();
        alice_session.send(outgoing(&bob.jid, 2, Some(before_ms))).unwrap();
        alice_session.send(outgoing(&bob.jid, 3, None)).unwrap();
        alice_session.connect().unwrap();
        let mut seen = Vec::new();
        tokio::time::timeout(DEADLINE, async {
            while seen.len() < 4 {
                match alice_events.recv().await.expect("session ended") {
                    SessionEvent::Delivery { token, stage }
                        if stage != DeliveryStage::Sent || token != 3 =>
                    {
                        seen.push((token, stage));
                    }
                    _ => {}
                }
            }
        })
        .await
        .expect("deliveries in time");
        assert_eq!(
            seen,
            [
                (1, DeliveryStage::Acked),
                (2, DeliveryStage::Sent),
                (2, DeliveryStage::Acked),
                (3, DeliveryStage::Acked),
            ],
            "1 is found in the archive without being sent; 2 and 3 go out in order"
        );

        // Bob's stream is ordered: once 3 is there, a second copy of 1
        // would have come before it.
        let mut bodies = Vec::new();
        while bodies.last().map(String::as_str) != Some("message 3") {
            bodies.extend(live_messages(&mut bob_events).await.into_iter().map(|m| m.body));
        }
        assert_eq!(bodies, ["message 1", "message 2", "message 3"]);
    }

    /// With the idle probe far away, a server that freezes while a message
    /// waits for its ack is noticed within the probe's answer time.
    #[tokio::test]
    async fn a_server_frozen_while_an_ack_is_outstanding_is_noticed_within_the_answer_time(
        kind: ServerKind,
    ) {
        let server = kind.builder().account("alice", "a-pw").start().unwrap();
        let mut config = SessionConfig::tight();
        config.timeouts.idle_probe = Duration::from_secs(600);
        config.timeouts.probe_answer = Duration::from_secs(2);
        let (alice, mut events) =
            spawn(account(&*server, "alice", "a-pw"), config, Stored::default());
        alice.connect().unwrap();
        wait_for(&mut events, connected).await;
        wait_for(&mut events, |e| matches!(e, SessionEvent::CatchUpDone { .. })).await;

        server.freeze().unwrap();
        alice.send(outgoing(&server.jid("alice"), 1, None)).unwrap();
        // Within the test deadline (20 s), far below the idle probe (600 s).
        let left = wait_for(&mut events, |e| {
            matches!(e, SessionEvent::State(s) if !matches!(s, SessionState::Connected { .. }))
        })
        .await;
        server.thaw().unwrap();
        assert!(
            matches!(left, SessionEvent::State(SessionState::Connecting { .. })),
            "{left:?}"
        );
        // Once it thaws, the message is delivered after all.
        wait_for(&mut events, delivery(1, DeliveryStage::Acked)).await;
    }

    /// The default backoff, after a working connection and a 10 s outage:
    /// the session is back within seconds of the server's return, not
    /// after a wait grown while the server was down.
    #[test]
    fn after_a_short_outage_the_session_is_back_within_seconds(kind: ServerKind) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let mut server = kind.builder().account("alice", "a-pw").start().unwrap();
        let config = SessionConfig {
            backoff: Backoff::default(),
            ..SessionConfig::tight()
        };
        let (alice, mut events) = runtime.block_on(async {
            let (alice, mut events) =
                spawn(account(&*server, "alice", "a-pw"), config, Stored::default());
            alice.connect().unwrap();
            wait_for(&mut events, connected).await;
            (alice, events)
        });
        // Long enough for the connection to count as working.
        std::thread::sleep(Backoff::default().stable_after);
        server.stop().unwrap();
        runtime.block_on(wait_for(&mut events, |e| {
            matches!(e, SessionEvent::State(SessionState::Connecting { .. }))
        }));
        // The outage itself is the scenario: the server stays down 10 s.
        std::thread::sleep(Duration::from_secs(10));
        server.start_again().unwrap();
        // At most 5 s of backoff (half of the 10 s run) plus a login.
        runtime.block_on(wait_for_within(Duration::from_secs(8), &mut events, connected));
        drop(alice);
    }
}
