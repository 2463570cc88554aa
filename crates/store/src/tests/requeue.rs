use super::{ME, incoming, outgoing, temp_store};
use crate::{Delivery, NewMessage, Requeue};

const JULIET: &str = "juliet@example.net";

#[test]
fn a_failed_message_is_queued_again_with_its_origin_id_and_goes_back_to_the_outbox() {
    let (_dir, path, mut store) = temp_store();
    let sent = store
        .insert_message(&NewMessage {
            origin_id: Some("o1"),
            ..outgoing(JULIET, "hi", 1_000)
        })
        .unwrap()
        .into_message();
    store
        .advance_delivery(sent.id, Delivery::Failed, Some("the server refused it"))
        .unwrap()
        .unwrap();
    assert!(store.pending_outgoing(ME).unwrap().is_empty());

    let Requeue::Requeued(again) = store.requeue_failed(ME, sent.id).unwrap() else {
        panic!("expected a requeue");
    };
    assert_eq!(again.delivery, Delivery::Queued);
    assert_eq!(again.failure_reason, None);
    assert_eq!(again.origin_id.as_deref(), Some("o1"));
    assert_eq!(again.seq, sent.seq, "its place stays until it is written");
    assert_eq!(store.pending_outgoing(ME).unwrap(), vec![again.clone()]);

    // The session's progress moves it on as for any send, and a second
    // bounce fails it again.
    let moved = store
        .advance_delivery(sent.id, Delivery::Sent, None)
        .unwrap()
        .unwrap();
    assert_eq!(moved.delivery, Delivery::Sent);
    store
        .advance_delivery(sent.id, Delivery::Failed, Some("again"))
        .unwrap()
        .unwrap();
    drop(store);
    let mut store = crate::Store::open(&path).unwrap();
    assert!(matches!(
        store.requeue_failed(ME, sent.id).unwrap(),
        Requeue::Requeued(m) if m.delivery == Delivery::Queued
    ));
    assert_eq!(
        store.message(sent.id).unwrap().unwrap().delivery,
        Delivery::Queued,
        "stored"
    );
}

#[test]
fn only_a_failed_outgoing_message_of_the_account_is_requeued() {
    let (_dir, _path, mut store) = temp_store();
    let received = store
        .insert_message(&incoming(JULIET, "hello", 1_000))
        .unwrap()
        .into_message();
    let queued = store
        .insert_message(&outgoing(JULIET, "on its way", 2_000))
        .unwrap()
        .into_message();
    let acked = store
        .insert_message(&outgoing(JULIET, "arrived", 3_000))
        .unwrap()
        .into_message();
    store
        .advance_delivery(acked.id, Delivery::Acked, None)
        .unwrap()
        .unwrap();

    assert!(matches!(
        store.requeue_failed(ME, received.id).unwrap(),
        Requeue::NotOutgoing(m) if m.id == received.id
    ));
    assert!(matches!(
        store.requeue_failed(ME, queued.id).unwrap(),
        Requeue::NotFailed(m) if m.delivery == Delivery::Queued
    ));
    assert!(matches!(
        store.requeue_failed(ME, acked.id).unwrap(),
        Requeue::NotFailed(m) if m.delivery == Delivery::Acked
    ));
    assert_eq!(store.requeue_failed(ME, 9_999).unwrap(), Requeue::NotFound);

    store
        .advance_delivery(queued.id, Delivery::Failed, Some("bounced"))
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .requeue_failed("other@example.org", queued.id)
            .unwrap(),
        Requeue::NotFound,
        "another account's message is not found"
    );
    assert_eq!(
        store.message(queued.id).unwrap().unwrap().delivery,
        Delivery::Failed,
        "left alone"
    );
}
