//! Exactly once, counted at the receiver, on both servers (Prosody and
//! ejabberd): a daemon killed while it sends and receives delivers every
//! message once in each direction, in order; a message bounced by the
//! server ends `failed` and stays so.
//!
//! The receiver that counts what the daemon sent is a bare session
//! (`wimsy-session` without a store): it reports every copy the server
//! delivers, where a second daemon would drop duplicates in its store
//! before anyone saw them.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;
use wimsy_ipc::{ChatMessage, Client, Delivery, Direction, Event, Request, Response};
use wimsy_session::{
    DeliveryStage, Jid, OutgoingMessage, SessionConfig, SessionEvent, SessionHandle, SessionState,
    Stored,
};
use wimsy_testkit::{Account, ServerKind, XmppServer, both_servers};
use wimsy_tests::*;

/// Bursts and recoveries take longer than one ordinary step.
const BURST_DEADLINE: Duration = Duration::from_secs(90);

/// The daemon's log lines that tell how a recovery went (resumes, the
/// archive check of messages in doubt, probes), for a failure's message.
fn recovery_lines(log: &str) -> String {
    const WORDS: [&str; 8] = [
        "resum", "doubt", "archive", "probe", "stream", "connect", "acked", "WARN",
    ];
    log.lines()
        .filter(|l| WORDS.iter().any(|w| l.contains(w)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `received` holds each of `expected` once, in order; a failure names
/// what came twice, with the sender's recovery log lines from `log`.
fn each_once_in_order(received: &[String], expected: &[String], log: &str) {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for body in received {
        *counts.entry(body.as_str()).or_default() += 1;
    }
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "bob received twice: {twice:?}; what alice's daemon did:\n{}",
        recovery_lines(log)
    );
    assert_eq!(received, expected, "bob received each once, in order");
}

/// A bare session that records the body of every message it receives
/// live, every copy, in arrival order, whatever else it waits for.
struct Counter {
    handle: SessionHandle,
    events: UnboundedReceiver<SessionEvent>,
    received: Vec<String>,
}

impl Counter {
    /// `account` on `server`, connected and caught up.
    async fn start<S: XmppServer + ?Sized>(server: &S, account: &Account) -> Self {
        let config = bare_account(server, &account.jid, &account.password, "counter");
        let (handle, events) =
            wimsy_session::spawn(config, SessionConfig::tight(), Stored::default());
        handle.connect().unwrap();
        let mut counter = Self {
            handle,
            events,
            received: Vec::new(),
        };
        counter
            .until(|e| matches!(e, SessionEvent::State(SessionState::Connected { .. })))
            .await;
        counter
            .until(|e| matches!(e, SessionEvent::CatchUpDone { .. }))
            .await;
        counter
    }

    /// Reads events until `wanted` accepts one, within [`BURST_DEADLINE`].
    async fn until(&mut self, mut wanted: impl FnMut(&SessionEvent) -> bool) -> SessionEvent {
        let Self {
            events, received, ..
        } = self;
        tokio::time::timeout(BURST_DEADLINE, async {
            loop {
                let event = events.recv().await.expect("session ended");
                match &event {
                    SessionEvent::State(SessionState::Failed { reason, .. }) => {
                        panic!("the counting session failed: {reason}")
                    }
                    SessionEvent::Messages { messages, .. } => received.extend(
                        messages
                            .iter()
                            .filter(|m| !m.archived)
                            .map(|m| m.body.clone()),
                    ),
                    _ => {}
                }
                if wanted(&event) {
                    return event;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no matching session event within {BURST_DEADLINE:?}"))
    }

    /// Waits until a message with body `last` has arrived.
    async fn received_until(&mut self, last: &str) -> &[String] {
        while !self.received.iter().any(|b| b == last) {
            self.until(|e| matches!(e, SessionEvent::Messages { .. }))
                .await;
        }
        &self.received
    }
}

async fn send(client: &mut Client, to: &str, body: String) -> ChatMessage {
    let request = Request::Send {
        account: None,
        to: to.to_owned(),
        body,
    };
    match client.request(request).await.unwrap() {
        Response::Sent { message, .. } => message,
        other => panic!("{other:?}"),
    }
}

/// Polls the daemon's history with `peer` until `done` holds for it.
async fn history_until(
    client: &mut Client,
    peer: &str,
    what: &str,
    mut done: impl FnMut(&[ChatMessage]) -> bool,
) -> Vec<ChatMessage> {
    let deadline = tokio::time::Instant::now() + BURST_DEADLINE;
    loop {
        let history = whole_history(client, peer).await;
        if done(&history) {
            return history;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} not reached within {BURST_DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn bodies(history: &[ChatMessage], direction: Direction, prefix: &str) -> Vec<String> {
    history
        .iter()
        .filter(|m| m.direction == direction && m.body.starts_with(prefix))
        .map(|m| m.body.clone())
        .collect()
}

fn numbered(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix} {i}")).collect()
}

both_servers! {
    /// alice's daemon sends 300 messages to bob and is killed (SIGKILL)
    /// while they go out and while bob sends 300 back; restarted, it
    /// delivers each of its 300 exactly once, in order, as counted by bob's
    /// bare session, and its history holds each of bob's 300 once, in the
    /// order bob sent them, whether they came live or from the archive.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_daemon_killed_mid_send_delivers_every_message_exactly_once_both_ways(
        kind: ServerKind,
    ) {
        let server = kind.shared().unwrap();
        let alice = server.new_account("alice").unwrap();
        let bob = server.new_account("bob").unwrap();
        let mut daemon = connected_daemon_with(server, &alice.user, &alice.password);
        let mut bob_counter = Counter::start(server, &bob).await;
        let to_alice = Jid::new(&alice.jid).unwrap();
        let bob_sends = |counter: &Counter, range: std::ops::Range<usize>| {
            for i in range {
                counter
                    .handle
                    .send(OutgoingMessage {
                        token: i64::try_from(i).unwrap(),
                        to: to_alice.clone(),
                        body: format!("b2a {i}"),
                        origin_id: format!("b2a-{i}"),
                        in_doubt_since_ms: None,
                    })
                    .unwrap();
            }
        };

        {
            let mut a = daemon.client().await;
            for i in 0..300 {
                send(&mut a, &bob.jid, format!("a2b {i}")).await;
            }
        }
        bob_sends(&bob_counter, 0..150);
        // Killed with its outbox partly written, partly acked, partly
        // queued, and bob's messages partly received.
        daemon.kill9();
        bob_sends(&bob_counter, 150..300);
        bob_counter
            .until(|e| {
                matches!(e, SessionEvent::Delivery { token: 299, stage: DeliveryStage::Acked })
            })
            .await;
        daemon.spawn().unwrap();

        let mut a = daemon.client().await;
        bob_counter.received_until("a2b 299").await;
        // A copy sent after 299 (299 itself resent) would come before a
        // message sent after it on the same stream.
        send(&mut a, &bob.jid, "barrier".to_owned()).await;
        let mut all = bob_counter.received_until("barrier").await.to_vec();
        assert_eq!(all.pop().as_deref(), Some("barrier"));
        each_once_in_order(&all, &numbered("a2b", 0..300), &daemon.log());

        let history = history_until(&mut a, &bob.jid, "300 messages from bob and every send acked", |h| {
            bodies(h, Direction::In, "b2a").len() >= 300
                && h.iter()
                    .filter(|m| m.direction == Direction::Out)
                    .all(|m| m.delivery == Delivery::Acked)
        })
        .await;
        assert_eq!(
            bodies(&history, Direction::In, "b2a"),
            numbered("b2a", 0..300),
            "alice stored each of bob's messages once, in the order he sent them"
        );
        assert_eq!(bodies(&history, Direction::Out, "a2b"), numbered("a2b", 0..300));
    }

    /// A daemon that gives the server 20 ms to answer a probe declares a
    /// busy but live stream dead again and again in the middle of a burst
    /// of 300, and resumes it each time while the old connection still
    /// carries messages: ejabberd 23.01 then handles a few of them after
    /// it reported `h`. Every message still reaches bob's bare session
    /// once, in order, and alice's history keeps them in that order.
    ///
    /// A stress test, run by hand (`-- --ignored`): the archive check after
    /// a resume narrows ejabberd's window but cannot close it, and with ten
    /// resumes a second on a loaded machine the old session is sometimes
    /// still handling its last messages when the archive answers (seen 2
    /// runs in 4 beside a full suite; without the check, every run).
    #[ignore = "stress test: ten resumes a second; run by hand with --ignored"]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn streams_resumed_mid_burst_deliver_every_message_once(kind: ServerKind) {
        let server = kind.shared().unwrap();
        let alice = server.new_account("alice").unwrap();
        let bob = server.new_account("bob").unwrap();
        let daemon = Daemon::start_args(&["--probe-answer-ms", "20"]).unwrap();
        let out = daemon.add_account(server, &alice.user, &alice.password);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        daemon.wait_state(&alice.jid, "connected").unwrap();
        let mut bob_counter = Counter::start(server, &bob).await;

        let mut a = daemon.client().await;
        for i in 0..300 {
            send(&mut a, &bob.jid, format!("a2b {i}")).await;
        }
        send(&mut a, &bob.jid, "barrier".to_owned()).await;
        let mut all = bob_counter.received_until("barrier").await.to_vec();
        assert_eq!(all.pop().as_deref(), Some("barrier"));
        let log = daemon.log();
        assert!(
            log.contains("stream resumed"),
            "the server answered every probe within 20 ms, so nothing was resumed \
             and this test checked nothing:\n{}",
            recovery_lines(&log)
        );
        each_once_in_order(&all, &numbered("a2b", 0..300), &log);
        let history = history_until(&mut a, &bob.jid, "every send acked", |h| {
            h.iter()
                .filter(|m| m.direction == Direction::Out)
                .all(|m| m.delivery == Delivery::Acked)
        })
        .await;
        let mut expected = numbered("a2b", 0..300);
        expected.push("barrier".to_owned());
        let out: Vec<String> = history
            .iter()
            .filter(|m| m.direction == Direction::Out)
            .map(|m| m.body.clone())
            .collect();
        assert_eq!(out, expected, "alice's history in the order she sent them");
    }

    /// A message to a domain that does not exist comes back as a bounce:
    /// `failed` with the reason in words, and an ack of the same stanza
    /// (which arrives around the same time) does not undo it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_bounce_from_a_domain_that_does_not_exist_fails_the_message(kind: ServerKind) {
        let server = kind.shared().unwrap();
        let alice = server.new_account("alice").unwrap();
        let bob = server.new_account("bob").unwrap();
        let daemon = connected_daemon_with(server, &alice.user, &alice.password);
        let mut watch = daemon.client().await;
        watch.request(Request::Subscribe).await.unwrap();
        let mut a = daemon.client().await;
        let void = "nobody@nowhere.invalid";
        let lost = send(&mut a, void, "into the void".to_owned()).await;
        let failed = next_matching(&mut watch, |e| {
            matches!(e, Event::Delivery { message_id, delivery: Delivery::Failed, .. } if *message_id == lost.id)
        })
        .await;
        let Event::Delivery { reason, .. } = failed else { unreachable!() };
        let reason = reason.expect("a failed delivery says why");
        for jargon in ["(", "{", "::", "http", "-"] {
            assert!(!reason.contains(jargon), "reason in words, not {jargon:?}: {reason}");
        }
        // Acks come in order: once a later message is acked, the bounced
        // one's ack has been handled too.
        let later = send(&mut a, &bob.jid, "still here".to_owned()).await;
        next_matching(&mut watch, |e| {
            matches!(e, Event::Delivery { message_id, delivery: Delivery::Acked, .. } if *message_id == later.id)
        })
        .await;
        let history = whole_history(&mut a, void).await;
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].delivery, Delivery::Failed, "{:?}", history[0]);
    }
}
