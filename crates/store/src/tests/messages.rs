use super::{ME, incoming, outgoing, temp_store};
use crate::{Delivery, Direction, Inserted, NewMessage, StoreError};

const JULIET: &str = "juliet@example.net";
const ROMEO: &str = "romeo@example.net";

#[test]
fn new_message_is_stored_as_given() {
    let (_dir, _path, mut store) = temp_store();
    let m = NewMessage {
        origin_id: Some("o1"),
        stanza_id: Some("s1"),
        ..incoming(JULIET, "hello", 1_700_000_000_000)
    };
    let Inserted::New(stored) = store.insert_message(&m).unwrap() else {
        panic!("expected a new message");
    };
    assert_eq!(stored.account, ME);
    assert_eq!(stored.peer, JULIET);
    assert_eq!(stored.direction, Direction::In);
    assert_eq!(stored.body, "hello");
    assert_eq!(stored.timestamp_ms, 1_700_000_000_000);
    assert!(stored.received_ms > 1_600_000_000_000);
    assert_eq!(stored.origin_id.as_deref(), Some("o1"));
    assert_eq!(stored.stanza_id.as_deref(), Some("s1"));
    assert_eq!(stored.delivery, Delivery::Received);
    assert_eq!(stored.failure_reason, None);
    assert_eq!(store.message(stored.id).unwrap(), Some(stored));
    assert_eq!(store.message(9_999).unwrap(), None);
}

#[test]
fn duplicate_by_stanza_id_fills_in_origin_id() {
    let (_dir, _path, mut store) = temp_store();
    let first = store
        .insert_message(&NewMessage {
            stanza_id: Some("s1"),
            ..incoming(JULIET, "hello", 1_000)
        })
        .unwrap();
    assert!(first.is_new());

    // The same message again (say, from the archive), now with an origin-id
    // and a different local view of the body and time.
    let again = store
        .insert_message(&NewMessage {
            stanza_id: Some("s1"),
            origin_id: Some("o1"),
            ..incoming(JULIET, "hello (edited copy)", 2_000)
        })
        .unwrap();
    let Inserted::Duplicate(dup) = again else {
        panic!("expected a duplicate");
    };
    assert_eq!(dup.id, first.message().id);
    assert_eq!(dup.origin_id.as_deref(), Some("o1"));
    assert_eq!(dup.body, "hello", "the first stored body stays");
    assert_eq!(dup.timestamp_ms, 1_000);
    assert_eq!(store.message(dup.id).unwrap(), Some(dup));
    assert_eq!(
        store.history(ME, JULIET, None, 10).unwrap().messages.len(),
        1
    );
}

#[test]
fn duplicate_by_origin_id_fills_in_stanza_id() {
    let (_dir, _path, mut store) = temp_store();
    let sent = store
        .insert_message(&NewMessage {
            origin_id: Some("o1"),
            ..outgoing(JULIET, "hi", 1_000)
        })
        .unwrap()
        .into_message();
    assert_eq!(sent.stanza_id, None);

    // Our own message reflected back by the server's archive.
    let Inserted::Duplicate(dup) = store
        .insert_message(&NewMessage {
            origin_id: Some("o1"),
            stanza_id: Some("s9"),
            delivery: Delivery::Sent,
            ..outgoing(JULIET, "hi", 1_001)
        })
        .unwrap()
    else {
        panic!("expected a duplicate");
    };
    assert_eq!(dup.id, sent.id);
    assert_eq!(dup.stanza_id.as_deref(), Some("s9"));
    // The archive has it, so it must not stay in the outbox to be resent.
    assert_eq!(dup.delivery, Delivery::Sent);
    assert_eq!(store.message(sent.id).unwrap(), Some(dup));

    // Now matching by the stanza-id alone finds it too.
    let third = store
        .insert_message(&NewMessage {
            stanza_id: Some("s9"),
            ..outgoing(JULIET, "hi", 1_001)
        })
        .unwrap();
    assert!(!third.is_new());
    assert_eq!(third.message().id, sent.id);
}

#[test]
fn duplicates_never_move_delivery_backwards() {
    let (_dir, _path, mut store) = temp_store();
    let id = store
        .insert_message(&NewMessage {
            origin_id: Some("o1"),
            ..outgoing(JULIET, "hi", 1)
        })
        .unwrap()
        .message()
        .id;
    store.set_delivery(id, Delivery::Acked, None).unwrap();
    let dup = store
        .insert_message(&NewMessage {
            origin_id: Some("o1"),
            delivery: Delivery::Sent,
            ..outgoing(JULIET, "hi", 1)
        })
        .unwrap();
    assert_eq!(dup.message().delivery, Delivery::Acked);

    store
        .set_delivery(id, Delivery::Failed, Some("bounced"))
        .unwrap();
    let dup = store
        .insert_message(&NewMessage {
            origin_id: Some("o1"),
            delivery: Delivery::Sent,
            ..outgoing(JULIET, "hi", 1)
        })
        .unwrap();
    assert_eq!(dup.message().delivery, Delivery::Failed);
    assert_eq!(dup.message().failure_reason.as_deref(), Some("bounced"));
}

#[test]
fn same_ids_in_other_accounts_peers_or_directions_do_not_collide() {
    let (_dir, _path, mut store) = temp_store();
    let base = NewMessage {
        origin_id: Some("o1"),
        stanza_id: None,
        ..incoming(JULIET, "x", 1)
    };
    let variants = [
        base,
        NewMessage {
            account: "other@example.org",
            ..base
        },
        NewMessage {
            peer: ROMEO,
            ..base
        },
        NewMessage {
            direction: Direction::Out,
            delivery: Delivery::Queued,
            ..base
        },
    ];
    for v in &variants {
        assert!(store.insert_message(v).unwrap().is_new(), "{v:?}");
    }
    for v in &variants {
        assert!(!store.insert_message(v).unwrap().is_new(), "{v:?}");
    }

    // stanza-ids are per account: another peer with the same one is the
    // same message, another account is not.
    let s = NewMessage {
        stanza_id: Some("s1"),
        origin_id: None,
        ..incoming(JULIET, "y", 2)
    };
    assert!(store.insert_message(&s).unwrap().is_new());
    assert!(
        store
            .insert_message(&NewMessage {
                account: "other@example.org",
                ..s
            })
            .unwrap()
            .is_new()
    );
    assert!(
        !store
            .insert_message(&NewMessage { peer: ROMEO, ..s })
            .unwrap()
            .is_new()
    );
}

#[test]
fn messages_without_ids_or_with_empty_ids_are_never_duplicates() {
    let (_dir, _path, mut store) = temp_store();
    for _ in 0..2 {
        assert!(
            store
                .insert_message(&incoming(JULIET, "same", 1))
                .unwrap()
                .is_new()
        );
    }
    for _ in 0..2 {
        let m = store
            .insert_message(&NewMessage {
                origin_id: Some(""),
                stanza_id: Some(""),
                ..incoming(JULIET, "same", 1)
            })
            .unwrap();
        assert!(m.is_new());
        assert_eq!(m.message().origin_id, None);
        assert_eq!(m.message().stanza_id, None);
    }
}

#[test]
fn set_delivery_and_stanza_id() {
    let (_dir, _path, mut store) = temp_store();
    let a = store
        .insert_message(&outgoing(JULIET, "a", 1))
        .unwrap()
        .into_message();
    let b = store
        .insert_message(&outgoing(JULIET, "b", 2))
        .unwrap()
        .into_message();

    let failed = store
        .set_delivery(a.id, Delivery::Failed, Some("service-unavailable"))
        .unwrap()
        .unwrap();
    assert_eq!(failed.delivery, Delivery::Failed);
    assert_eq!(
        failed.failure_reason.as_deref(),
        Some("service-unavailable")
    );
    let retried = store
        .set_delivery(a.id, Delivery::Queued, None)
        .unwrap()
        .unwrap();
    assert_eq!(retried.failure_reason, None);
    assert_eq!(
        store.set_delivery(12_345, Delivery::Acked, None).unwrap(),
        None
    );

    let with_sid = store.set_stanza_id(a.id, "s1").unwrap().unwrap();
    assert_eq!(with_sid.stanza_id.as_deref(), Some("s1"));
    assert_eq!(store.set_stanza_id(12_345, "s2").unwrap(), None);
    assert!(matches!(
        store.set_stanza_id(a.id, ""),
        Err(StoreError::EmptyStanzaId { .. })
    ));
    // The same stanza-id on a second row means the message is stored twice.
    let err = store.set_stanza_id(b.id, "s1").unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("setting the stanza id of message {}", b.id)),
        "{err}"
    );
    assert!(err.contains("UNIQUE"), "{err}");
}

#[test]
fn message_by_origin_id_finds_outgoing_only() {
    let (_dir, _path, mut store) = temp_store();
    store
        .insert_message(&NewMessage {
            origin_id: Some("o1"),
            ..incoming(JULIET, "theirs", 1)
        })
        .unwrap();
    assert_eq!(store.message_by_origin_id(ME, "o1").unwrap(), None);
    let mine = store
        .insert_message(&NewMessage {
            origin_id: Some("o1"),
            ..outgoing(JULIET, "mine", 2)
        })
        .unwrap()
        .into_message();
    assert_eq!(store.message_by_origin_id(ME, "o1").unwrap(), Some(mine));
    assert_eq!(
        store
            .message_by_origin_id("other@example.org", "o1")
            .unwrap(),
        None
    );
}

#[test]
fn outbox_lists_queued_and_sent_in_send_order() {
    let (_dir, _path, mut store) = temp_store();
    // Timestamps deliberately out of order: send order is insertion order.
    let ids: Vec<i64> = [(JULIET, 50), (ROMEO, 10), (JULIET, 30), (ROMEO, 40)]
        .iter()
        .map(|&(peer, ts)| {
            store
                .insert_message(&outgoing(peer, "m", ts))
                .unwrap()
                .message()
                .id
        })
        .collect();
    store.insert_message(&incoming(JULIET, "in", 60)).unwrap();
    store
        .insert_message(&NewMessage {
            account: "other@example.org",
            ..outgoing(JULIET, "m", 1)
        })
        .unwrap();
    store.set_delivery(ids[1], Delivery::Sent, None).unwrap();
    store.set_delivery(ids[2], Delivery::Acked, None).unwrap();
    store
        .set_delivery(ids[3], Delivery::Failed, Some("x"))
        .unwrap();

    let pending: Vec<i64> = store
        .pending_outgoing(ME)
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(pending, vec![ids[0], ids[1]]);
}

#[test]
fn debug_output_never_contains_the_body() {
    let (_dir, _path, mut store) = temp_store();
    let secret = "the eagle lands at midnight";
    let new = incoming(JULIET, secret, 1);
    let stored = store.insert_message(&new).unwrap();
    for dbg in [
        format!("{new:?}"),
        format!("{stored:?}"),
        format!("{:?}", store.chats(ME).unwrap()),
        format!("{:?}", store.history(ME, JULIET, None, 5).unwrap()),
    ] {
        assert!(!dbg.contains("eagle"), "{dbg}");
        assert!(dbg.contains("body_len"), "{dbg}");
    }
}

#[test]
fn delivery_only_moves_forward_and_failed_is_final() {
    let (_dir, _path, mut store) = temp_store();
    let id = store
        .insert_message(&outgoing(JULIET, "hi", 1))
        .unwrap()
        .message()
        .id;
    let step = |store: &mut crate::Store, d: Delivery, reason: Option<&str>| {
        store
            .advance_delivery(id, d, reason)
            .unwrap()
            .map(|m| (m.delivery, m.failure_reason))
    };
    assert_eq!(step(&mut store, Delivery::Queued, None), None);
    assert_eq!(
        step(&mut store, Delivery::Sent, None),
        Some((Delivery::Sent, None))
    );
    assert_eq!(step(&mut store, Delivery::Sent, None), None, "no change");
    assert_eq!(
        step(&mut store, Delivery::Acked, None),
        Some((Delivery::Acked, None))
    );
    // A resend's "sent" does not undo the ack.
    assert_eq!(step(&mut store, Delivery::Sent, None), None);
    // A bounce after the server's ack: the ack only meant "taken".
    assert_eq!(
        step(
            &mut store,
            Delivery::Failed,
            Some("the address does not exist")
        ),
        Some((Delivery::Failed, Some("the address does not exist".into())))
    );
    // Whatever comes after a bounce leaves it failed, reason and all.
    for d in [Delivery::Sent, Delivery::Acked, Delivery::Failed] {
        assert_eq!(step(&mut store, d, Some("other")), None, "{d}");
    }
    let m = store.message(id).unwrap().unwrap();
    assert_eq!(m.delivery, Delivery::Failed);
    assert_eq!(
        m.failure_reason.as_deref(),
        Some("the address does not exist")
    );

    // A bounce before anything else is final too.
    let other = store
        .insert_message(&outgoing(JULIET, "b", 2))
        .unwrap()
        .message()
        .id;
    store
        .advance_delivery(other, Delivery::Failed, Some("bounced"))
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .advance_delivery(other, Delivery::Acked, None)
            .unwrap(),
        None
    );
    // Incoming messages have no delivery path, and unknown ids no row.
    let incoming_id = store
        .insert_message(&incoming(JULIET, "in", 3))
        .unwrap()
        .message()
        .id;
    assert_eq!(
        store
            .advance_delivery(incoming_id, Delivery::Failed, Some("x"))
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .advance_delivery(9_999, Delivery::Acked, None)
            .unwrap(),
        None
    );
}
