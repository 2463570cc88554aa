//! What the session acknowledges (XEP-0198 `h`) when its host confirms
//! batches stored, against both real servers: a batch the host has not
//! confirmed is not counted, so a resumed stream delivers it again, while
//! a confirmed one is not delivered twice.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use tokio::sync::mpsc::UnboundedReceiver;
use wimsy_session::*;
use wimsy_testkit::{ServerKind, both_servers};

/// A host that confirms every batch at once, except those holding a
/// message with body `withheld`; records every live message body in
/// arrival order, and whether the stream came back resumed.
struct Host {
    handle: SessionHandle,
    events: UnboundedReceiver<SessionEvent>,
    withheld: &'static str,
    bodies: Vec<String>,
    /// The state the last `State` event gave.
    state: Option<SessionState>,
}

impl Host {
    /// Reads events until `done` holds, within the test deadline.
    async fn until(&mut self, mut done: impl FnMut(&Self) -> bool) {
        tokio::time::timeout(DEADLINE, async {
            while !done(self) {
                match self.events.recv().await.expect("session ended") {
                    SessionEvent::Messages {
                        messages, batch, ..
                    } => {
                        let live = messages.iter().filter(|m| !m.archived);
                        self.bodies.extend(live.map(|m| m.body.clone()));
                        if !messages.iter().any(|m| m.body == self.withheld) {
                            self.handle.stored(batch).unwrap();
                        }
                    }
                    SessionEvent::State(SessionState::Failed { reason, .. }) => {
                        panic!("the session failed: {reason}")
                    }
                    SessionEvent::State(state) => self.state = Some(state),
                    _ => {}
                }
            }
        })
        .await
        .expect("in time");
    }

    fn count(&self, body: &str) -> usize {
        self.bodies.iter().filter(|b| *b == body).count()
    }
}

both_servers! {
    /// bob's host confirms "stored 1" but not "unstored 2"; the stream
    /// breaks (the server frozen past a probe) and is resumed: the server
    /// delivers "unstored 2" again, since bob never said he had it, and
    /// not "stored 1".
    #[tokio::test]
    async fn a_batch_not_confirmed_stored_is_not_acknowledged_and_comes_again_on_resume(
        kind: ServerKind,
    ) {
        let server = kind
            .builder()
            .account("alice", "a-pw")
            .account("bob", "b-pw")
            .start()
            .unwrap();
        let config = SessionConfig {
            confirm_stored: true,
            ..SessionConfig::tight()
        };
        let (bob, bob_events) = spawn(account(&*server, "bob", "b-pw"), config, Stored::default());
        let mut host = Host {
            handle: bob,
            events: bob_events,
            withheld: "unstored 2",
            bodies: Vec::new(),
            state: None,
        };
        host.handle.connect().unwrap();
        let (alice, mut alice_events) = spawn(
            account(&*server, "alice", "a-pw"),
            SessionConfig::tight(),
            Stored::default(),
        );
        alice.connect().unwrap();
        wait_for(&mut alice_events, connected).await;

        let bob_jid = server.jid("bob");
        let send = |token: i64, body: &str| {
            alice
                .send(OutgoingMessage {
                    token,
                    to: Jid::new(&bob_jid).unwrap(),
                    body: body.to_owned(),
                    origin_id: format!("o{token}"),
                    in_doubt_since_ms: None,
                })
                .unwrap();
        };
        send(1, "stored 1");
        host.until(|h| h.count("stored 1") == 1).await;
        send(2, "unstored 2");
        // Behind it, so the answer to the server's request after "unstored
        // 2" has been written before the freeze.
        send(3, "stored 3");
        host.until(|h| h.count("stored 3") == 1).await;
        assert_eq!(host.bodies, ["stored 1", "unstored 2", "stored 3"]);

        // The probe goes unanswered: the stream is lost, and resumed once
        // the server runs again.
        server.freeze().unwrap();
        host.handle.check_now().unwrap();
        host.until(|h| matches!(h.state, Some(SessionState::Connecting { .. })))
            .await;
        server.thaw().unwrap();
        host.until(|h| matches!(h.state, Some(SessionState::Connected { .. })))
            .await;
        assert!(
            matches!(host.state, Some(SessionState::Connected { resumed: true, .. })),
            "the stream was resumed: {:?}",
            host.state
        );
        // Anything resent on resumption comes before what is sent after it.
        send(4, "after");
        host.until(|h| h.count("after") == 1).await;
        assert_eq!(host.count("unstored 2"), 2, "{:?}", host.bodies);
        assert_eq!(host.count("stored 1"), 1, "{:?}", host.bodies);
    }
}
