use super::{ME, incoming, outgoing, temp_store};
use crate::NewMessage;

const JULIET: &str = "juliet@example.net";
const ROMEO: &str = "romeo@example.net";
const NURSE: &str = "nurse@example.net";

#[test]
fn chats_are_newest_first_in_history_order() {
    let (_dir, _path, mut store) = temp_store();
    assert!(store.chats(ME).unwrap().is_empty());
    store.insert_message(&incoming(JULIET, "j1", 100)).unwrap();
    store.insert_message(&incoming(ROMEO, "r1", 200)).unwrap();
    store.insert_message(&outgoing(JULIET, "j2", 300)).unwrap();
    // Its sender's clock is behind; it still arrived last.
    store.insert_message(&incoming(NURSE, "n1", 50)).unwrap();
    store
        .insert_message(&NewMessage {
            account: "other@example.org",
            ..incoming(JULIET, "elsewhere", 1_000)
        })
        .unwrap();
    let summary = |store: &crate::Store| -> Vec<(String, String, u32)> {
        store
            .chats(ME)
            .unwrap()
            .iter()
            .map(|c| (c.peer.clone(), c.last.body.clone(), c.unread))
            .collect()
    };
    let row = |peer: &str, body: &str, unread| (peer.to_owned(), body.to_owned(), unread);
    assert_eq!(
        summary(&store),
        vec![
            row(NURSE, "n1", 1),
            row(JULIET, "j2", 1),
            row(ROMEO, "r1", 1)
        ]
    );

    // A catch-up brings a message the server had after all of these.
    store
        .insert_batch(
            &[NewMessage {
                stanza_id: Some("s-r0"),
                archived: true,
                ..incoming(ROMEO, "r0", 150)
            }],
            None,
        )
        .unwrap();
    assert_eq!(
        summary(&store),
        vec![
            row(ROMEO, "r0", 2),
            row(NURSE, "n1", 1),
            row(JULIET, "j2", 1)
        ]
    );
    // All accounts at once lists exactly what each account's own list does.
    let all = store.all_chats().unwrap();
    assert_eq!(
        all.keys().map(String::as_str).collect::<Vec<_>>(),
        [ME, "other@example.org"]
    );
    assert_eq!(all[ME], store.chats(ME).unwrap());
    assert_eq!(
        all["other@example.org"],
        store.chats("other@example.org").unwrap()
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
