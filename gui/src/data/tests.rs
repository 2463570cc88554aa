//! The history merge and the chat list, without a window or a daemon.

use wimsy_ipc::{
    AccountSnapshot, ChatMessage, ChatSummary, ConnectionState, ConnectionStatus, Contact,
    Delivery, Direction, FrontendState, PresenceView, Snapshot,
};

use super::*;

fn msg(id: i64, delivery: Delivery) -> ChatMessage {
    ChatMessage {
        id,
        peer: "bob@example.org".to_owned(),
        direction: if delivery == Delivery::Received {
            Direction::In
        } else {
            Direction::Out
        },
        body: format!("message {id}"),
        timestamp_ms: id * 1000,
        origin_id: None,
        stanza_id: None,
        delivery,
    }
}

/// A page as `history` answers: newest first.
fn page(ids: &[i64]) -> Vec<ChatMessage> {
    ids.iter()
        .rev()
        .map(|id| msg(*id, Delivery::Received))
        .collect()
}

fn ids(c: &Conversation) -> Vec<i64> {
    c.messages().iter().map(|m| m.message.id).collect()
}

#[test]
fn the_newest_page_opens_the_chat_with_its_cursor() {
    let mut c = Conversation::opening(1);
    assert!(c.is_loading());
    assert!(c.newest_page(1, page(&[3, 4, 5]), Some("c3".to_owned())));
    assert_eq!(ids(&c), [3, 4, 5]);
    assert_eq!(c.older(), &Older::More("c3".to_owned()));
    assert!(!c.is_loading());
}

#[test]
fn a_page_not_awaited_changes_nothing() {
    let mut c = Conversation::opening(2);
    assert!(!c.newest_page(1, page(&[1]), None));
    assert!(c.messages().is_empty());
    assert!(c.is_loading());
}

/// Live messages that arrive before the page, some of which the page
/// already holds (the daemon read it after storing them) and some not.
#[test]
fn live_messages_before_the_page_are_kept_once_and_last() {
    let mut c = Conversation::opening(1);
    c.live_message(msg(5, Delivery::Received));
    c.live_message(msg(6, Delivery::Received));
    // The page was read after 5 was stored, before 6 was.
    c.newest_page(1, page(&[2, 3, 4, 5]), Some("c2".to_owned()));
    assert_eq!(ids(&c), [2, 3, 4, 5, 6]);
}

/// The same messages, with the page seen first: same result.
#[test]
fn live_messages_after_the_page_follow_it_without_duplicates() {
    let mut c = Conversation::opening(1);
    c.newest_page(1, page(&[2, 3, 4, 5]), None);
    // 5 was in the page already (its event was sent before the answer).
    c.live_message(msg(5, Delivery::Received));
    c.live_message(msg(6, Delivery::Received));
    assert_eq!(ids(&c), [2, 3, 4, 5, 6]);
    assert_eq!(c.older(), &Older::Start);
}

/// A message written to the server takes the last place in the store; an
/// event saying so before the page (read earlier) comes still puts it last.
#[test]
fn a_sent_message_moves_last_whichever_comes_first() {
    // Event first, then a page read before the move.
    let mut c = Conversation::opening(1);
    c.delivery(3, Delivery::Sent, None);
    let mut p = page(&[2, 3, 4]);
    p[1].delivery = Delivery::Queued;
    c.newest_page(1, p, None);
    assert_eq!(ids(&c), [2, 4, 3]);
    assert_eq!(c.messages()[2].message.delivery, Delivery::Sent);

    // Page first (read before the move), then the event.
    let mut c = Conversation::opening(1);
    let mut p = page(&[2, 3, 4]);
    p[1].delivery = Delivery::Queued;
    c.newest_page(1, p, None);
    c.delivery(3, Delivery::Sent, None);
    assert_eq!(ids(&c), [2, 4, 3]);
}

#[test]
fn an_old_stage_in_a_page_does_not_undo_an_event() {
    let mut c = Conversation::opening(1);
    c.live_message(msg(7, Delivery::Queued));
    c.delivery(7, Delivery::Sent, None);
    c.delivery(7, Delivery::Acked, None);
    let mut p = page(&[6, 7]);
    p[0].delivery = Delivery::Queued;
    c.newest_page(1, p, None);
    assert_eq!(ids(&c), [6, 7]);
    assert_eq!(c.messages()[1].message.delivery, Delivery::Acked);
}

#[test]
fn a_failure_keeps_its_reason_and_a_retry_queues_again() {
    let mut c = Conversation::opening(1);
    c.newest_page(1, vec![msg(4, Delivery::Sent)], None);
    assert!(c.delivery(4, Delivery::Failed, Some("the server refused".to_owned())));
    assert_eq!(c.messages()[0].message.delivery, Delivery::Failed);
    assert_eq!(
        c.messages()[0].failure.as_deref(),
        Some("the server refused")
    );
    c.delivery(4, Delivery::Queued, None);
    assert_eq!(c.messages()[0].message.delivery, Delivery::Queued);
    assert_eq!(c.messages()[0].failure, None);
}

#[test]
fn a_stage_a_newer_daemon_added_changes_nothing() {
    let mut c = Conversation::opening(1);
    c.newest_page(1, vec![msg(4, Delivery::Sent)], None);
    assert!(!c.delivery(4, Delivery::Unknown, None));
    assert_eq!(c.messages()[0].message.delivery, Delivery::Sent);
}

/// Paging up while live messages come in: older pages go before, live
/// messages after, nothing twice, nothing missing.
#[test]
fn older_pages_and_live_messages_interleave_without_gap_or_duplicate() {
    let mut c = Conversation::opening(1);
    c.newest_page(1, page(&[7, 8, 9]), Some("c7".to_owned()));
    assert_eq!(c.want_older(2).as_deref(), Some("c7"));
    // A second ask while one is on its way asks nothing.
    assert_eq!(c.want_older(3), None);
    c.live_message(msg(10, Delivery::Received));
    // The page overlaps what is loaded by one message: kept once.
    assert_eq!(
        c.older_page(2, page(&[4, 5, 6, 7]), Some("c4".to_owned())),
        3
    );
    c.live_message(msg(11, Delivery::Received));
    assert_eq!(ids(&c), [4, 5, 6, 7, 8, 9, 10, 11]);
    assert_eq!(c.want_older(4).as_deref(), Some("c4"));
    assert_eq!(c.older_page(4, page(&[1, 2, 3]), None), 3);
    assert_eq!(c.older(), &Older::Start);
    assert_eq!(c.want_older(5), None);
    assert_eq!(ids(&c), (1..=11).collect::<Vec<_>>());
}

#[test]
fn a_failed_older_page_can_be_asked_again() {
    let mut c = Conversation::opening(1);
    c.newest_page(1, page(&[7]), Some("c7".to_owned()));
    c.want_older(2);
    c.older_page_failed(2);
    assert_eq!(c.older(), &Older::More("c7".to_owned()));
    // A late answer to the failed ask is not applied.
    assert_eq!(c.older_page(2, page(&[6]), None), 0);
}

#[test]
fn a_reload_after_reattaching_keeps_what_is_shown_until_the_page_comes() {
    let mut c = Conversation::opening(1);
    c.newest_page(1, page(&[1, 2, 3]), None);
    c.reload(2);
    assert_eq!(ids(&c), [1, 2, 3]);
    // While the daemon was away, 4 was stored; 5 arrives live meanwhile.
    c.live_message(msg(5, Delivery::Received));
    c.newest_page(2, page(&[2, 3, 4]), Some("c2".to_owned()));
    assert_eq!(ids(&c), [2, 3, 4, 5]);
}

#[test]
fn a_failed_newest_page_says_why() {
    let mut c = Conversation::opening(1);
    c.newest_page_failed(1, "The background service went away.".to_owned());
    assert!(!c.is_loading());
    assert_eq!(c.failure(), Some("The background service went away."));
}

fn account(jid: &str, chats: Vec<ChatSummary>, contacts: Vec<Contact>) -> AccountSnapshot {
    AccountSnapshot {
        jid: jid.to_owned(),
        status: ConnectionStatus::new(ConnectionState::Connected, ""),
        contacts,
        chats,
        subscription_requests: Vec::new(),
        presence: Default::default(),
        mutes: Vec::new(),
    }
}

fn chat(peer: &str, id: i64, time: i64, unread: u32) -> ChatSummary {
    let mut last = msg(id, Delivery::Received);
    last.peer = peer.to_owned();
    last.timestamp_ms = time;
    ChatSummary {
        peer: peer.to_owned(),
        last,
        unread,
    }
}

fn keys(rows: &[ChatRow]) -> Vec<String> {
    rows.iter()
        .map(|r| format!("{}/{}", r.key.account, r.key.peer))
        .collect()
}

#[test]
fn the_chat_list_follows_the_stores_order_then_new_activity() {
    // The store's order says carol before dave even though dave's message
    // carries a later time (an archived message's clock).
    let snapshot = Snapshot {
        seq: 1,
        settings: Vec::new(),
        notifier: None,
        accounts: vec![
            account(
                "a@x",
                vec![chat("carol@x", 1, 100, 0), chat("dave@x", 2, 500, 0)],
                vec![],
            ),
            account("b@x", vec![chat("erin@x", 3, 300, 2)], vec![]),
        ],
    };
    let mut activity = Activity::from_snapshot(&snapshot);
    let state = FrontendState::from_snapshot(snapshot);
    let rows = chat_rows(&state, &activity, "");
    assert_eq!(keys(&rows), ["b@x/erin@x", "a@x/carol@x", "a@x/dave@x"]);
    assert_eq!(rows[0].unread, 2);

    activity.touch(ChatKey::new("a@x", "dave@x"));
    let rows = chat_rows(&state, &activity, "");
    assert_eq!(keys(&rows), ["a@x/dave@x", "b@x/erin@x", "a@x/carol@x"]);
}

#[test]
fn rows_show_names_presence_and_previews_and_filter_by_typing() {
    let contact = Contact {
        jid: "carol@x".to_owned(),
        name: Some("Carol".to_owned()),
        subscription: "both".to_owned(),
        groups: vec![],
        presence: PresenceView {
            available: true,
            show: Some("away".to_owned()),
            status: None,
        },
    };
    let mut mine = chat("dave@x", 2, 2, 0);
    mine.last.direction = Direction::Out;
    mine.last.body = "first line\nsecond".to_owned();
    let snapshot = Snapshot {
        seq: 1,
        settings: Vec::new(),
        notifier: None,
        accounts: vec![account(
            "a@x",
            vec![chat("carol@x", 1, 1, 1), mine],
            vec![contact],
        )],
    };
    let activity = Activity::from_snapshot(&snapshot);
    let state = FrontendState::from_snapshot(snapshot);
    let rows = chat_rows(&state, &activity, "");
    assert_eq!(rows[0].title, "Carol");
    assert!(rows[0].presence.as_ref().is_some_and(|p| p.available));
    assert_eq!(rows[0].preview, "message 1");
    assert_eq!(rows[1].title, "dave@x");
    assert_eq!(rows[1].preview, "You: first line…");
    assert_eq!(rows[1].presence, None);

    assert_eq!(keys(&chat_rows(&state, &activity, "car")), ["a@x/carol@x"]);
    assert_eq!(
        keys(&chat_rows(&state, &activity, " DAVE ")),
        ["a@x/dave@x"]
    );
    assert!(chat_rows(&state, &activity, "zed").is_empty());
}

#[test]
fn drafts_are_kept_per_chat_and_blank_ones_dropped() {
    let mut drafts = Drafts::default();
    let bob = ChatKey::new("a@x", "bob@x");
    let carol = ChatKey::new("a@x", "carol@x");
    drafts.set(&bob, "half a thought".to_owned());
    assert_eq!(drafts.get(&bob), "half a thought");
    assert_eq!(drafts.get(&carol), "");
    drafts.set(&bob, "  \n".to_owned());
    assert_eq!(drafts.get(&bob), "");
}
