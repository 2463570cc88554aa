//! The session crate driven directly, without IPC or a daemon, against a
//! real Prosody.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use tokio::sync::mpsc::UnboundedReceiver;
use wimsy_session::*;
use wimsy_testkit::Prosody;

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
                ..
            } => batches.push((messages, archive_position)),
            _ => return batches,
        }
    }
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
    let [received] = &live_messages(&mut bob_events).await[..] else {
        panic!("one message")
    };
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
        bodies.extend(
            live_messages(&mut bob_events)
                .await
                .into_iter()
                .map(|m| m.body),
        );
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
        |e| matches!(e, SessionEvent::Messages { messages, .. } if messages.iter().any(|m| m.body == "live")),
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
