use std::collections::HashSet;

use super::{ME, incoming, outgoing, temp_store};
use crate::{Cursor, NewMessage};

const JULIET: &str = "juliet@example.net";

#[test]
fn pages_through_a_thousand_messages_exactly_once_in_order() {
    let (_dir, _path, mut store) = temp_store();
    const N: i64 = 1_000;
    // Timestamps in a scrambled order (7919 is coprime with 1000, so this
    // is a permutation) with three messages per timestamp: history follows
    // the order of storing, not the timestamps.
    let mut stored = Vec::new();
    for i in 0..N {
        let k = (i * 7919) % N;
        let ts = 1_700_000_000_000 + k / 3;
        let m = if k % 2 == 0 {
            incoming(JULIET, "m", ts)
        } else {
            outgoing(JULIET, "m", ts)
        };
        stored.push(store.insert_message(&m).unwrap().message().id);
    }
    // Noise in other chats must not show up.
    store
        .insert_message(&incoming("romeo@example.net", "x", 1_700_000_000_100))
        .unwrap();
    store
        .insert_message(&NewMessage {
            account: "other@example.org",
            ..incoming(JULIET, "x", 1_700_000_000_100)
        })
        .unwrap();

    let mut seen = Vec::new();
    let mut before: Option<Cursor> = None;
    let mut pages = 0;
    loop {
        let page = store.history(ME, JULIET, before, 37).unwrap();
        pages += 1;
        assert!(!page.messages.is_empty());
        assert!(page.messages.len() <= 37);
        seen.extend(page.messages.iter().map(|m| (m.seq, m.id)));
        match page.next_before {
            // Through the string form, as a frontend would hand it back.
            Some(c) => before = Some(c.to_string().parse().unwrap()),
            None => break,
        }
    }
    assert_eq!(pages, 28); // ceil(1000 / 37)
    assert_eq!(seen.len(), N as usize);
    let distinct: HashSet<i64> = seen.iter().map(|&(_, id)| id).collect();
    assert_eq!(distinct.len(), N as usize);
    assert!(
        seen.windows(2).all(|w| w[0].0 > w[1].0),
        "not strictly newest first"
    );
    let ids: Vec<i64> = seen.iter().rev().map(|&(_, id)| id).collect();
    assert_eq!(ids, stored, "not in the order stored");
}

#[test]
fn last_page_that_fills_exactly_says_it_is_the_last() {
    let (_dir, _path, mut store) = temp_store();
    for ts in 0..10 {
        store.insert_message(&incoming(JULIET, "m", ts)).unwrap();
    }
    let first = store.history(ME, JULIET, None, 5).unwrap();
    assert_eq!(first.messages.len(), 5);
    let cursor = first.next_before.unwrap();
    let oldest = first.messages.last().unwrap();
    assert_eq!(cursor, Cursor { seq: oldest.seq });
    let second = store.history(ME, JULIET, Some(cursor), 5).unwrap();
    assert_eq!(second.messages.len(), 5);
    assert_eq!(second.next_before, None);
    assert_eq!(second.messages.last().unwrap().timestamp_ms, 0);
}

#[test]
fn empty_chat_and_zero_limit() {
    let (_dir, _path, mut store) = temp_store();
    let page = store.history(ME, JULIET, None, 20).unwrap();
    assert!(page.messages.is_empty());
    assert_eq!(page.next_before, None);

    for ts in 0..3 {
        store.insert_message(&incoming(JULIET, "m", ts)).unwrap();
    }
    let page = store.history(ME, JULIET, None, 0).unwrap();
    assert_eq!(page.messages.len(), 1);
    assert!(page.next_before.is_some());
}

#[test]
fn new_messages_do_not_shift_older_pages() {
    let (_dir, _path, mut store) = temp_store();
    for ts in 0..6 {
        store.insert_message(&incoming(JULIET, "m", ts)).unwrap();
    }
    let first = store.history(ME, JULIET, None, 3).unwrap();
    // Arrivals between page loads would shift an OFFSET-based page.
    for ts in 100..110 {
        store.insert_message(&incoming(JULIET, "new", ts)).unwrap();
    }
    let second = store.history(ME, JULIET, first.next_before, 3).unwrap();
    let ts: Vec<i64> = second.messages.iter().map(|m| m.timestamp_ms).collect();
    assert_eq!(ts, vec![2, 1, 0]);
    assert_eq!(second.next_before, None);
}
