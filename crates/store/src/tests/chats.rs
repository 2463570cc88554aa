use super::{ME, incoming, outgoing, temp_store};
use crate::NewMessage;

const JULIET: &str = "juliet@example.net";
const ROMEO: &str = "romeo@example.net";
const NURSE: &str = "nurse@example.net";

#[test]
fn chats_are_newest_first_with_their_newest_message() {
    let (_dir, _path, mut store) = temp_store();
    assert!(store.chats(ME).unwrap().is_empty());
    store.insert_message(&incoming(JULIET, "j1", 100)).unwrap();
    store.insert_message(&incoming(ROMEO, "r1", 200)).unwrap();
    store.insert_message(&outgoing(JULIET, "j2", 300)).unwrap();
    store.insert_message(&incoming(NURSE, "n1", 50)).unwrap();
    // Backfilled from the archive: newer id, older timestamp. It must not
    // become the chat's last message.
    store.insert_message(&incoming(ROMEO, "r0", 150)).unwrap();
    store
        .insert_message(&NewMessage {
            account: "other@example.org",
            ..incoming(JULIET, "elsewhere", 1_000)
        })
        .unwrap();

    let chats = store.chats(ME).unwrap();
    let summary: Vec<(&str, &str, u32)> = chats
        .iter()
        .map(|c| (c.peer.as_str(), c.last.body.as_str(), c.unread))
        .collect();
    assert_eq!(
        summary,
        vec![(JULIET, "j2", 1), (ROMEO, "r1", 2), (NURSE, "n1", 1)]
    );
}

#[test]
fn equal_timestamps_pick_the_later_id_as_last() {
    let (_dir, _path, mut store) = temp_store();
    store
        .insert_message(&incoming(JULIET, "first", 100))
        .unwrap();
    store
        .insert_message(&incoming(JULIET, "second", 100))
        .unwrap();
    assert_eq!(store.chats(ME).unwrap()[0].last.body, "second");
}

#[test]
fn unread_counts_incoming_after_the_marker() {
    let (_dir, _path, mut store) = temp_store();
    assert_eq!(store.unread_count(ME, JULIET).unwrap(), 0);
    // Marking a chat without messages read is harmless.
    store.mark_read(ME, JULIET).unwrap();
    assert!(store.chats(ME).unwrap().is_empty());

    store.insert_message(&incoming(JULIET, "a", 1)).unwrap();
    store.insert_message(&incoming(JULIET, "b", 2)).unwrap();
    store.insert_message(&outgoing(JULIET, "mine", 3)).unwrap();
    store.insert_message(&incoming(ROMEO, "r", 4)).unwrap();
    assert_eq!(store.unread_count(ME, JULIET).unwrap(), 2);
    assert_eq!(store.unread_count(ME, ROMEO).unwrap(), 1);
    assert_eq!(store.unread_count("other@example.org", JULIET).unwrap(), 0);

    store.mark_read(ME, JULIET).unwrap();
    assert_eq!(store.unread_count(ME, JULIET).unwrap(), 0);
    assert_eq!(store.unread_count(ME, ROMEO).unwrap(), 1);

    // Late archive arrivals are unread even though they are older.
    store.insert_message(&incoming(JULIET, "late", 0)).unwrap();
    store.insert_message(&incoming(JULIET, "c", 5)).unwrap();
    assert_eq!(store.unread_count(ME, JULIET).unwrap(), 2);
    let juliet = store
        .chats(ME)
        .unwrap()
        .into_iter()
        .find(|c| c.peer == JULIET)
        .unwrap();
    assert_eq!(juliet.unread, 2);
    assert_eq!(juliet.last.body, "c");

    store.mark_read(ME, JULIET).unwrap();
    store.mark_read(ME, JULIET).unwrap();
    assert_eq!(store.unread_count(ME, JULIET).unwrap(), 0);
    assert!(
        store
            .chats(ME)
            .unwrap()
            .iter()
            .all(|c| c.peer != JULIET || c.unread == 0)
    );
}

#[test]
fn duplicates_do_not_count_as_unread() {
    let (_dir, _path, mut store) = temp_store();
    let m = NewMessage {
        stanza_id: Some("s1"),
        ..incoming(JULIET, "a", 1)
    };
    store.insert_message(&m).unwrap();
    store.insert_message(&m).unwrap();
    assert_eq!(store.unread_count(ME, JULIET).unwrap(), 1);
}
