//! The session crate driven directly, without IPC or a daemon, against a
//! real Prosody.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;
use wimsy_session::*;
use wimsy_testkit::Prosody;

const DEADLINE: Duration = Duration::from_secs(20);

fn account(prosody: &Prosody, user: &str, password: &str) -> AccountConfig {
    AccountConfig {
        jid: BareJid::new(&prosody.jid(user)).unwrap(),
        password: Password::new(password),
        server: Some(ServerOverride::parse(&prosody.server()).unwrap()),
        ca_file: Some(prosody.ca_file().to_path_buf()),
        pinned_sha256: None,
        resource: Some("test".into()),
    }
}

async fn wait_for(
    events: &mut UnboundedReceiver<SessionEvent>,
    mut wanted: impl FnMut(&SessionEvent) -> bool,
) -> SessionEvent {
    tokio::time::timeout(DEADLINE, async {
        loop {
            let event = events.recv().await.expect("session ended");
            if wanted(&event) {
                return event;
            }
        }
    })
    .await
    .expect("no matching session event in time")
}

/// The next message that arrived live (a catch-up may report copies).
async fn live_message(events: &mut UnboundedReceiver<SessionEvent>) -> ReceivedMessage {
    loop {
        let SessionEvent::Messages { mut messages, .. } = wait_for(events, |e| {
            matches!(e, SessionEvent::Messages { messages, .. }
                if messages.len() == 1 && !messages[0].archived)
        })
        .await
        else {
            unreachable!()
        };
        if let Some(m) = messages.pop() {
            return m;
        }
    }
}

/// Every `Messages` event until the catch-up is done.
async fn catch_up(
    events: &mut UnboundedReceiver<SessionEvent>,
) -> Vec<(Vec<ReceivedMessage>, Option<ArchiveStep>)> {
    let mut batches = Vec::new();
    loop {
        match wait_for(events, |e| {
            matches!(
                e,
                SessionEvent::Messages { .. } | SessionEvent::CatchUpDone { .. }
            )
        })
        .await
        {
            SessionEvent::Messages {
                messages,
                archive_position,
            } => batches.push((messages, archive_position)),
            _ => return batches,
        }
    }
}

fn connected(e: &SessionEvent) -> bool {
    matches!(e, SessionEvent::State(SessionState::Connected { .. }))
}

#[tokio::test]
async fn two_sessions_chat_with_acks_roster_and_presence() {
    let prosody = Prosody::builder()
        .account("alice", "a-pw")
        .account("bob", "b-pw")
        .start()
        .unwrap();
    let (alice, mut alice_events) = spawn(
        account(&prosody, "alice", "a-pw"),
        SessionConfig::tight(),
        Stored::default(),
    );
    let (bob, mut bob_events) = spawn(
        account(&prosody, "bob", "b-pw"),
        SessionConfig::tight(),
        Stored::default(),
    );
    alice.connect().unwrap();
    bob.connect().unwrap();
    let SessionEvent::State(SessionState::Connected { jid, .. }) =
        wait_for(&mut alice_events, connected).await
    else {
        unreachable!()
    };
    assert_eq!(jid.to_string(), format!("{}/test", prosody.jid("alice")));
    wait_for(&mut alice_events, |e| {
        matches!(e, SessionEvent::RosterReplaced { .. })
    })
    .await;
    wait_for(&mut bob_events, connected).await;

    alice
        .send(OutgoingMessage {
            token: 1,
            to: Jid::new(&prosody.jid("bob")).unwrap(),
            body: "hello bob".into(),
            origin_id: "origin-1".into(),
            in_doubt_since_ms: None,
        })
        .unwrap();
    let received = live_message(&mut bob_events).await;
    assert_eq!(received.body, "hello bob");
    assert_eq!(received.peer.to_string(), prosody.jid("alice"));
    assert_eq!(received.direction, MessageDirection::Incoming);
    assert_eq!(received.origin_id.as_deref(), Some("origin-1"));
    assert!(
        received.stanza_id.is_some(),
        "Prosody's mod_mam stamps a stanza-id"
    );
    wait_for(&mut alice_events, |e| {
        matches!(
            e,
            SessionEvent::Delivery {
                token: 1,
                stage: DeliveryStage::Acked
            }
        )
    })
    .await;

    // A message to a user that does not exist bounces; the bounce is
    // matched to the message by its id.
    alice
        .send(OutgoingMessage {
            token: 2,
            to: Jid::new(&format!("nobody@{}", prosody.domain())).unwrap(),
            body: "anyone?".into(),
            origin_id: "origin-2".into(),
            in_doubt_since_ms: None,
        })
        .unwrap();
    let failed = wait_for(&mut alice_events, |e| {
        matches!(
            e,
            SessionEvent::Delivery {
                token: 2,
                stage: DeliveryStage::Failed(_)
            }
        )
    })
    .await;
    assert_eq!(
        failed,
        SessionEvent::Delivery {
            token: 2,
            stage: DeliveryStage::Failed(
                "the recipient's server does not offer this service".into()
            )
        }
    );

    bob.disconnect().unwrap();
    wait_for(&mut bob_events, |e| {
        matches!(e, SessionEvent::State(SessionState::Offline))
    })
    .await;
    alice.shutdown().await.unwrap();
    assert!(
        alice.connect().is_err(),
        "a shut-down session refuses commands"
    );
}

#[tokio::test]
async fn messages_sent_while_offline_go_out_on_connect() {
    let prosody = Prosody::builder()
        .account("alice", "a-pw")
        .account("bob", "b-pw")
        .start()
        .unwrap();
    let (alice, mut alice_events) = spawn(
        account(&prosody, "alice", "a-pw"),
        SessionConfig::tight(),
        Stored::default(),
    );
    let (bob, mut bob_events) = spawn(
        account(&prosody, "bob", "b-pw"),
        SessionConfig::tight(),
        Stored::default(),
    );
    bob.connect().unwrap();
    wait_for(&mut bob_events, connected).await;
    for i in 0..3 {
        alice
            .send(OutgoingMessage {
                token: i,
                to: Jid::new(&prosody.jid("bob")).unwrap(),
                body: format!("queued {i}"),
                origin_id: format!("q{i}"),
                in_doubt_since_ms: None,
            })
            .unwrap();
    }
    alice.connect().unwrap();
    let mut bodies = Vec::new();
    while bodies.len() < 3 {
        bodies.push(live_message(&mut bob_events).await.body);
    }
    assert_eq!(bodies, ["queued 0", "queued 1", "queued 2"]);
    wait_for(&mut alice_events, |e| {
        matches!(
            e,
            SessionEvent::Delivery {
                token: 2,
                stage: DeliveryStage::Acked
            }
        )
    })
    .await;
}

#[tokio::test]
async fn wrong_password_fails_once_and_waits_for_the_user() {
    let prosody = Prosody::builder().account("alice", "a-pw").start().unwrap();
    let (alice, mut events) = spawn(
        account(&prosody, "alice", "nope"),
        SessionConfig::tight(),
        Stored::default(),
    );
    alice.connect().unwrap();
    let failed = wait_for(&mut events, |e| {
        matches!(e, SessionEvent::State(SessionState::Failed { .. }))
    })
    .await;
    let SessionEvent::State(SessionState::Failed { kind, reason, .. }) = failed else {
        unreachable!()
    };
    assert_eq!(kind, FailureKind::Authentication);
    assert_eq!(
        reason,
        "the server refused the user name or password: check them"
    );
    // After a terminal failure the worker waits: the next event can only
    // come from our own command.
    alice.disconnect().unwrap();
    let next = wait_for(&mut events, |_| true).await;
    assert_eq!(next, SessionEvent::State(SessionState::Offline));
}

#[tokio::test]
async fn a_catch_up_reports_its_page_with_the_position_and_a_rewind_fetches_it_again() {
    let prosody = Prosody::builder()
        .account("alice", "a-pw")
        .account("bob", "b-pw")
        .start()
        .unwrap();
    let (alice, mut alice_events) = spawn(
        account(&prosody, "alice", "a-pw"),
        SessionConfig::tight(),
        Stored::default(),
    );
    alice.connect().unwrap();
    wait_for(&mut alice_events, connected).await;
    // Bob is offline: these wait in his archive.
    for i in 0..3 {
        alice
            .send(OutgoingMessage {
                token: i,
                to: Jid::new(&prosody.jid("bob")).unwrap(),
                body: format!("while away {i}"),
                origin_id: format!("w{i}"),
                in_doubt_since_ms: None,
            })
            .unwrap();
    }
    wait_for(&mut alice_events, |e| {
        matches!(
            e,
            SessionEvent::Delivery {
                token: 2,
                stage: DeliveryStage::Acked
            }
        )
    })
    .await;

    let (bob, mut bob_events) = spawn(
        account(&prosody, "bob", "b-pw"),
        SessionConfig::tight(),
        Stored::default(),
    );
    let check = |batches: Vec<(Vec<ReceivedMessage>, Option<ArchiveStep>)>| -> String {
        // One page: one batch, the position moving from where it was (no
        // position yet) to the page's last message.
        let archived: Vec<_> = batches
            .iter()
            .filter(|(messages, _)| messages.iter().all(|m| m.archived))
            .collect();
        assert_eq!(archived.len(), 1, "{batches:?}");
        let (messages, step) = archived[0];
        let bodies: Vec<&str> = messages.iter().map(|m| m.body.as_str()).collect();
        assert_eq!(bodies, ["while away 0", "while away 1", "while away 2"]);
        let step = step.clone().expect("the page moves the position");
        assert_eq!(step.from, None);
        assert_eq!(Some(&step.to), messages[2].stanza_id.as_ref());
        step.to
    };
    bob.connect().unwrap();
    wait_for(&mut bob_events, connected).await;
    let position = check(catch_up(&mut bob_events).await);

    // Caught up: a live message moves the position on from there.
    alice
        .send(OutgoingMessage {
            token: 9,
            to: Jid::new(&prosody.jid("bob")).unwrap(),
            body: "live".into(),
            origin_id: "l9".into(),
            in_doubt_since_ms: None,
        })
        .unwrap();
    let SessionEvent::Messages {
        archive_position: Some(step),
        ..
    } = wait_for(
        &mut bob_events,
        |e| matches!(e, SessionEvent::Messages { messages, .. } if messages[0].body == "live"),
    )
    .await
    else {
        panic!("a live message after the catch-up moves the position");
    };
    assert_eq!(step.from.as_ref(), Some(&position));

    // The host lost all of it: after a rewind, the next session fetches
    // everything again, from the start.
    bob.disconnect().unwrap();
    wait_for(&mut bob_events, |e| {
        matches!(e, SessionEvent::State(SessionState::Offline))
    })
    .await;
    bob.rewind_archive(None).unwrap();
    bob.connect().unwrap();
    wait_for(&mut bob_events, connected).await;
    let again = catch_up(&mut bob_events).await;
    let all: Vec<&str> = again
        .iter()
        .flat_map(|(messages, _)| messages.iter().map(|m| m.body.as_str()))
        .collect();
    assert_eq!(
        all,
        ["while away 0", "while away 1", "while away 2", "live"]
    );
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0].1.as_ref().map(|s| s.from.clone()), Some(None));
}

fn outgoing(prosody: &Prosody, token: i64, in_doubt_since_ms: Option<i64>) -> OutgoingMessage {
    OutgoingMessage {
        token,
        to: Jid::new(&prosody.jid("bob")).unwrap(),
        body: format!("message {token}"),
        origin_id: format!("origin-{token}"),
        in_doubt_since_ms,
    }
}

fn delivery(token: i64, stage: DeliveryStage) -> impl FnMut(&SessionEvent) -> bool {
    move |e| matches!(e, SessionEvent::Delivery { token: t, stage: s } if *t == token && *s == stage)
}

/// A message that reached the server on a stream that then died, handed
/// to a fresh session as "in doubt", is found in the archive and not sent
/// again; one in doubt that never reached the server is sent; the order
/// holds.
#[tokio::test]
async fn a_message_in_doubt_is_looked_up_in_the_archive_and_not_sent_twice() {
    let prosody = Prosody::builder()
        .account("alice", "a-pw")
        .account("bob", "b-pw")
        .start()
        .unwrap();
    let (bob, mut bob_events) = spawn(
        account(&prosody, "bob", "b-pw"),
        SessionConfig::tight(),
        Stored::default(),
    );
    bob.connect().unwrap();
    wait_for(&mut bob_events, connected).await;

    let before_ms = chrono_now_ms() - 1000;
    let (first, mut first_events) = spawn(
        account(&prosody, "alice", "a-pw"),
        SessionConfig::tight(),
        Stored::default(),
    );
    first.send(outgoing(&prosody, 1, None)).unwrap();
    first.connect().unwrap();
    wait_for(&mut first_events, delivery(1, DeliveryStage::Acked)).await;
    first.shutdown().await.unwrap();

    // As a restarted daemon would: 1 was written (the server has it), 2
    // was written too (it never got there), 3 was only queued.
    let (alice, mut alice_events) = spawn(
        account(&prosody, "alice", "a-pw"),
        SessionConfig::tight(),
        Stored::default(),
    );
    alice.send(outgoing(&prosody, 1, Some(before_ms))).unwrap();
    alice.send(outgoing(&prosody, 2, Some(before_ms))).unwrap();
    alice.send(outgoing(&prosody, 3, None)).unwrap();
    alice.connect().unwrap();
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

    // Bob's stream is ordered: once 3 is there, a second copy of 1 would
    // have come before it.
    let mut bodies = Vec::new();
    while bodies.last().map(String::as_str) != Some("message 3") {
        bodies.push(live_message(&mut bob_events).await.body);
    }
    assert_eq!(bodies, ["message 1", "message 2", "message 3"]);
}

fn chrono_now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since_epoch.as_millis()).unwrap()
}

/// With the idle probe far away, a server that freezes while a message
/// waits for its ack is noticed within the probe's answer time.
#[tokio::test]
async fn a_server_frozen_while_an_ack_is_outstanding_is_noticed_within_the_answer_time() {
    let prosody = Prosody::builder()
        .account("alice", "a-pw")
        .account("bob", "b-pw")
        .start()
        .unwrap();
    let mut config = SessionConfig::tight();
    config.timeouts.idle_probe = Duration::from_secs(600);
    config.timeouts.probe_answer = Duration::from_secs(2);
    let (alice, mut events) = spawn(
        account(&prosody, "alice", "a-pw"),
        config,
        Stored::default(),
    );
    alice.connect().unwrap();
    wait_for(&mut events, connected).await;
    wait_for(&mut events, |e| {
        matches!(e, SessionEvent::CatchUpDone { .. })
    })
    .await;

    prosody.freeze().unwrap();
    alice.send(outgoing(&prosody, 1, None)).unwrap();
    // Within the test deadline (20 s), far below the idle probe (600 s).
    wait_for(
        &mut events,
        |e| matches!(e, SessionEvent::State(s) if !matches!(s, SessionState::Connected { .. })),
    )
    .await;
    prosody.thaw().unwrap();
    // Once it thaws, the message is delivered after all.
    wait_for(&mut events, delivery(1, DeliveryStage::Acked)).await;
}

#[tokio::test]
async fn a_server_that_stops_and_a_closed_port_are_reported_in_words() {
    let mut prosody = Prosody::builder().account("alice", "a-pw").start().unwrap();
    let (alice, mut events) = spawn(
        account(&prosody, "alice", "a-pw"),
        SessionConfig::tight(),
        Stored::default(),
    );
    alice.connect().unwrap();
    wait_for(&mut events, connected).await;
    prosody.stop().unwrap();
    let mut reasons = Vec::new();
    wait_for(&mut events, |e| {
        if let SessionEvent::State(SessionState::Connecting {
            last_error: Some(reason),
            ..
        }) = e
            && !reasons.contains(reason)
        {
            reasons.push(reason.clone());
        }
        reasons.len() == 2
    })
    .await;
    // Prosody going away mid-stream used to read "connection lost: invalid
    // eof in text node" (the XML parser's error), or without TLS's
    // close_notify a rustls message with a docs.rs URL.
    assert!(
        reasons[0].starts_with("connection lost: the server closed the connection")
            && reasons[0].ends_with("(it may have stopped or restarted)"),
        "{}",
        reasons[0]
    );
    assert_eq!(
        reasons[1],
        format!(
            "could not connect to {}: the server refused the connection (nothing listens on \
             that port)",
            prosody.addr()
        )
    );
}
