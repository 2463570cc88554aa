//! History is in the server's order, whatever the timestamps say: live
//! messages carry the local receive time in milliseconds, archived ones
//! the server's time, in whole seconds on Prosody 0.12.

use super::{ME, incoming, outgoing, set_position, temp_store};
use crate::{ArchiveMove, Delivery, Direction, NewMessage, Store};

const JULIET: &str = "juliet@example.net";

/// Local receive times, in milliseconds.
const LOCAL_MS: i64 = 1_700_000_000_000;

fn sid(n: usize) -> String {
    format!("s{n}")
}

/// Every message of the chat, oldest first, paging `limit` at a time
/// through the cursor's string form, as a frontend does.
fn read_all(store: &Store, limit: u32) -> Vec<String> {
    let mut bodies = Vec::new();
    let mut before = None;
    loop {
        let page = store.history(ME, JULIET, before, limit).unwrap();
        bodies.extend(page.messages.iter().map(|m| m.body.clone()));
        match page.next_before {
            Some(c) => before = Some(c.to_string().parse().unwrap()),
            None => break,
        }
    }
    bodies.reverse();
    bodies
}

fn expected() -> Vec<String> {
    (1..=105).map(|n| n.to_string()).collect()
}

#[test]
fn a_catch_up_puts_history_back_in_the_servers_order() {
    let (_dir, path, mut store) = temp_store();
    let bodies: Vec<String> = (0..=105).map(|n| n.to_string()).collect();
    let ids: Vec<String> = (0..=105).map(sid).collect();
    let origin_100 = "o-100";

    // 1-5 arrive live, stamped with the local time.
    for n in 1..=5 {
        let m = NewMessage {
            stanza_id: Some(&ids[n]),
            ..incoming(JULIET, &bodies[n], LOCAL_MS + n as i64 * 1_000 + 123)
        };
        store.insert_message(&m).unwrap();
    }
    set_position(&mut store, ME, "s5");
    // The connection drops while 6-94 are sent; after a reconnect 95-105
    // arrive live (100 is ours, sent from here) before the catch-up's
    // answer does.
    for n in 95..=105 {
        let local = LOCAL_MS + 600_000 + n as i64 * 10 + 7;
        let m = if n == 100 {
            NewMessage {
                origin_id: Some(origin_100),
                ..outgoing(JULIET, &bodies[n], local)
            }
        } else {
            NewMessage {
                stanza_id: Some(&ids[n]),
                ..incoming(JULIET, &bodies[n], local)
            }
        };
        store.insert_message(&m).unwrap();
    }
    // The catch-up from 5 returns 6-105 in archive order, all stamped
    // with the same whole second of the server's clock, which runs ahead.
    let server_second = (LOCAL_MS + 700_000) / 1_000 * 1_000;
    let archived: Vec<NewMessage<'_>> = (6..=105)
        .map(|n| {
            let m = NewMessage {
                stanza_id: Some(ids[n].as_str()),
                archived: true,
                ..incoming(JULIET, &bodies[n], server_second)
            };
            if n == 100 {
                NewMessage {
                    direction: Direction::Out,
                    delivery: Delivery::Acked,
                    origin_id: Some(origin_100),
                    ..m
                }
            } else {
                m
            }
        })
        .collect();
    for (page, from) in archived
        .chunks(40)
        .zip([Some("s5"), Some("s45"), Some("s85")])
    {
        let last = page.last().unwrap().stanza_id.unwrap();
        let batch = store
            .insert_batch(
                page,
                Some(ArchiveMove {
                    account: ME,
                    from,
                    to: last,
                }),
            )
            .unwrap();
        assert!(batch.position_moved);
    }
    assert_eq!(store.archive_position(ME).unwrap().as_deref(), Some("s105"));

    for limit in [1, 7, 10, 500] {
        assert_eq!(read_all(&store, limit), expected(), "pages of {limit}");
    }
    // Nothing stored twice, and the chat's last message is the server's.
    let chats = store.chats(ME).unwrap();
    assert_eq!(chats.len(), 1);
    assert_eq!(chats[0].last.body, "105");
    assert_eq!(chats[0].unread, 104, "every incoming message, once");
    // Our own message kept its delivery state and gained the stanza-id.
    let ours = store.message_by_origin_id(ME, origin_100).unwrap().unwrap();
    assert_eq!(ours.stanza_id.as_deref(), Some("s100"));
    assert_eq!(ours.delivery, Delivery::Acked);
    // Display times stay what they were.
    assert_eq!(
        store.history(ME, JULIET, None, 1).unwrap().messages[0].timestamp_ms,
        LOCAL_MS + 600_000 + 105 * 10 + 7
    );

    // The order is stored, not computed: the same after a reopen, and a
    // second catch-up over the same range changes nothing.
    drop(store);
    let mut store = Store::open(&path).unwrap();
    assert_eq!(read_all(&store, 10), expected());
    store.insert_batch(&archived, None).unwrap();
    assert_eq!(read_all(&store, 10), expected());
}

#[test]
fn pages_stay_stable_while_a_catch_up_lays_messages_again() {
    let (_dir, _path, mut store) = temp_store();
    let bodies: Vec<String> = (0..30).map(|n| n.to_string()).collect();
    let ids: Vec<String> = (0..30).map(sid).collect();
    for n in 0..20 {
        store
            .insert_message(&NewMessage {
                stanza_id: Some(&ids[n]),
                ..incoming(JULIET, &bodies[n], LOCAL_MS + n as i64)
            })
            .unwrap();
    }
    let first = store.history(ME, JULIET, None, 5).unwrap();
    let cursor = first.next_before.unwrap();
    // A catch-up lays 18-19 again and brings 20-29 while the frontend
    // reads: the older pages do not move.
    let archived: Vec<NewMessage<'_>> = (18..30)
        .map(|n| NewMessage {
            stanza_id: Some(ids[n].as_str()),
            archived: true,
            ..incoming(JULIET, &bodies[n], LOCAL_MS)
        })
        .collect();
    store.insert_batch(&archived, None).unwrap();
    let second = store.history(ME, JULIET, Some(cursor), 5).unwrap();
    let got: Vec<&str> = second.messages.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(got, ["14", "13", "12", "11", "10"]);
    let all: Vec<String> = read_all(&store, 4);
    let want: Vec<String> = (0..30).map(|n| n.to_string()).collect();
    assert_eq!(all, want);
}

/// A message queued while offline is written after the catch-up brought
/// in what came meanwhile: it takes its place when written, after them,
/// and becomes the chat's last message.
#[test]
fn an_outgoing_message_takes_its_place_when_it_is_written() {
    let (_dir, _path, mut store) = temp_store();
    let queued = store
        .insert_message(&outgoing(JULIET, "queued while offline", LOCAL_MS))
        .unwrap()
        .into_message();
    for (n, body) in ["came meanwhile 1", "came meanwhile 2"].iter().enumerate() {
        let id = sid(n);
        let m = NewMessage {
            stanza_id: Some(&id),
            archived: true,
            ..incoming(JULIET, body, LOCAL_MS + 1_000)
        };
        store.insert_message(&m).unwrap();
    }
    assert_eq!(read_all(&store, 10)[0], "queued while offline");
    let placed = store.place_last(queued.id).unwrap().unwrap();
    assert!(placed.seq > queued.seq);
    assert_eq!(
        read_all(&store, 10),
        [
            "came meanwhile 1",
            "came meanwhile 2",
            "queued while offline"
        ]
    );
    assert_eq!(store.chats(ME).unwrap()[0].last.id, queued.id);
    // Already last: nothing moves.
    assert_eq!(
        store.place_last(queued.id).unwrap().unwrap().seq,
        placed.seq
    );
    assert_eq!(store.place_last(9_999).unwrap(), None);
}
