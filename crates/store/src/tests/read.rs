//! Reading a chat up to a message a read marker names.

use super::*;
use crate::{ReadMarks, ReadOutcome, ReadUpTo};

const JULIET: &str = "juliet@example.net";

fn markable<'a>(body: &'a str, marker: &'a str, stanza_id: &'a str) -> NewMessage<'a> {
    NewMessage {
        marker_id: Some(marker),
        stanza_id: Some(stanza_id),
        ..incoming(JULIET, body, 1)
    }
}

#[test]
fn the_newest_marks_name_what_a_marker_and_the_node_say() {
    let (_dir, _path, mut store) = temp_store();
    assert_eq!(store.read_marks(ME, JULIET).unwrap(), ReadMarks::default());
    store.insert_message(&markable("a", "m1", "s1")).unwrap();
    store
        .insert_message(&NewMessage {
            stanza_id: Some("s2"),
            ..incoming(JULIET, "no markers asked", 2)
        })
        .unwrap();
    store.insert_message(&outgoing(JULIET, "mine", 3)).unwrap();
    assert_eq!(
        store.read_marks(ME, JULIET).unwrap(),
        ReadMarks {
            marker_id: Some("m1".into()),
            stanza_id: Some("s2".into()),
        },
        "the newest that asked for a marker; the newest with a stanza-id"
    );
}

#[test]
fn reading_up_to_a_message_leaves_the_later_ones_unread() {
    let (_dir, _path, mut store) = temp_store();
    store.insert_message(&markable("a", "m1", "s1")).unwrap();
    store.insert_message(&markable("b", "m2", "s2")).unwrap();
    store.insert_message(&markable("c", "m3", "s3")).unwrap();
    assert_eq!(store.unread_count(ME, JULIET).unwrap(), 3);

    assert_eq!(
        store
            .read_up_to(ME, JULIET, ReadUpTo::MarkerId("m2"))
            .unwrap(),
        ReadOutcome::Moved
    );
    assert_eq!(store.unread_count(ME, JULIET).unwrap(), 1);
    assert_eq!(
        store
            .read_up_to(ME, JULIET, ReadUpTo::StanzaId("s1"))
            .unwrap(),
        ReadOutcome::Unchanged,
        "never back"
    );
    assert_eq!(
        store
            .read_up_to(ME, JULIET, ReadUpTo::StanzaId("s9"))
            .unwrap(),
        ReadOutcome::NotFound
    );
    assert_eq!(
        store
            .read_up_to(ME, "romeo@example.net", ReadUpTo::StanzaId("s3"))
            .unwrap(),
        ReadOutcome::NotFound,
        "another chat's message does not read this one"
    );
    assert_eq!(
        store
            .read_up_to(ME, JULIET, ReadUpTo::StanzaId("s3"))
            .unwrap(),
        ReadOutcome::Moved
    );
    assert_eq!(store.unread_count(ME, JULIET).unwrap(), 0);
    assert!(!store.mark_read(ME, JULIET).unwrap(), "nothing left unread");
}

#[test]
fn a_duplicate_fills_in_the_marker_id() {
    let (_dir, _path, mut store) = temp_store();
    store
        .insert_message(&NewMessage {
            stanza_id: Some("s1"),
            ..incoming(JULIET, "a", 1)
        })
        .unwrap();
    store.insert_message(&markable("a", "m1", "s1")).unwrap();
    assert_eq!(
        store.read_marks(ME, JULIET).unwrap().marker_id.as_deref(),
        Some("m1")
    );
}
