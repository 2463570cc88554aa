use wimsy_ipc::{
    AccountSnapshot, ChatMessage, ChatSummary, ConnectionState, ConnectionStatus, Delivery,
    Direction, PresenceView,
};

use super::*;

fn msg(id: i64, direction: Direction, body: &str) -> ChatMessage {
    ChatMessage {
        id,
        peer: "bob@example.net".into(),
        direction,
        body: body.into(),
        timestamp_ms: 1000 * id,
        origin_id: None,
        stanza_id: None,
        delivery: Delivery::Queued,
    }
}

fn bob(show: Option<&str>) -> Contact {
    Contact {
        jid: "bob@example.net".into(),
        name: Some("Bob".into()),
        subscription: "both".into(),
        groups: vec![],
        presence: PresenceView {
            available: true,
            show: show.map(Into::into),
            status: None,
        },
    }
}

fn snapshot() -> Snapshot {
    Snapshot {
        seq: 17,
        settings: Vec::new(),
        notifier: None,
        accounts: vec![AccountSnapshot {
            jid: "alice@example.org".into(),
            status: ConnectionStatus::new(ConnectionState::Connected, ""),
            contacts: vec![bob(None)],
            chats: vec![ChatSummary {
                peer: "bob@example.net".into(),
                last: msg(7, Direction::In, "hi"),
                unread: 2,
            }],
            subscription_requests: vec![],
            presence: Default::default(),
            mutes: vec![],
        }],
    }
}

fn state() -> FrontendState {
    FrontendState::from_snapshot(snapshot())
}

const A: &str = "alice@example.org";

#[test]
fn snapshot_summary() {
    assert_eq!(
        human_snapshot("wimsyd 0.1.0", &snapshot()),
        "following wimsyd 0.1.0 from event 17 (Ctrl-C to stop)\n\
         alice@example.org  connected  1 contacts (1 online)  2 unread\n\
         alice@example.org bob@example.net (2 unread, the latest) <- hi"
    );
    assert_eq!(
        human_snapshot("wimsyd 0.1.0", &Snapshot::default()),
        "following wimsyd 0.1.0 from event 0 (Ctrl-C to stop)\nno accounts"
    );
}

#[test]
fn the_summary_shows_what_unread_chats_last_said() {
    let mut snapshot = snapshot();
    snapshot.accounts[0].chats[0].unread = 1;
    snapshot.accounts[0].chats[0].last = msg(8, Direction::In, "hello from bob\nsecond line");
    snapshot.accounts[0].chats.push(ChatSummary {
        peer: "carol@example.com".into(),
        last: msg(9, Direction::In, "read already"),
        unread: 0,
    });
    let summary = human_snapshot("wimsyd 0.1.0", &snapshot);
    assert!(
        summary.ends_with(
            "1 unread\n\
             alice@example.org bob@example.net <- hello from bob\n                                     \
             second line"
        ),
        "{summary}"
    );
    assert!(!summary.contains("read already"), "{summary}");
}

#[test]
fn requests_and_own_presence_in_the_summary_and_as_events() {
    let mut snapshot = snapshot();
    snapshot.accounts[0].subscription_requests = vec!["dave@example.org".into()];
    snapshot.accounts[0].presence = wimsy_ipc::OwnPresence {
        show: wimsy_ipc::Show::Away,
        status: Some("lunch".into()),
    };
    let summary = human_snapshot("wimsyd 0.1.0", &snapshot);
    assert!(
        summary.contains(
            "alice@example.org: you are away (lunch)\n\
             alice@example.org dave@example.org asks to see your presence: \
             `wimsyctl roster accept dave@example.org` or `wimsyctl roster deny dave@example.org`"
        ),
        "{summary}"
    );
    let asked = Event::SubscriptionRequest {
        account: A.into(),
        jid: "dave@example.org".into(),
    };
    assert!(human_event(&state(), &asked).starts_with("alice@example.org dave@example.org asks"));
    let gone = Event::SubscriptionRequestGone {
        account: A.into(),
        jid: "dave@example.org".into(),
    };
    assert_eq!(
        human_event(&state(), &gone),
        "alice@example.org request of dave@example.org to see your presence is settled"
    );
    let own = Event::OwnPresence {
        account: A.into(),
        presence: wimsy_ipc::OwnPresence {
            show: wimsy_ipc::Show::Dnd,
            status: None,
        },
    };
    assert_eq!(
        human_event(&state(), &own),
        "alice@example.org you are do not disturb"
    );
}

#[test]
fn json_lines() {
    let line = json_snapshot_line(&snapshot());
    assert!(!line.contains('\n'));
    let value: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(value["snapshot"]["seq"], 17);
    assert_eq!(
        value["snapshot"]["accounts"][0]["status"]["state"],
        "connected"
    );
    let back: Snapshot = serde_json::from_value(value["snapshot"].clone()).unwrap();
    assert_eq!(back, snapshot());

    let event = Event::Connection {
        account: A.into(),
        status: ConnectionStatus::new(ConnectionState::Offline, "asked by the user"),
    };
    let line = json_event_line(18, &event);
    assert_eq!(
        line,
        r#"{"seq":18,"event":{"kind":"connection","account":"alice@example.org","status":{"state":"offline","reason":"asked by the user"}}}"#
    );
    let value: serde_json::Value = serde_json::from_str(&line).unwrap();
    let back: Event = serde_json::from_value(value["event"].clone()).unwrap();
    assert_eq!(back, event);
}

#[test]
fn connection_events_name_the_account_and_state() {
    let mut status = ConnectionStatus::new(ConnectionState::Connecting, "stream reset");
    status.attempt = Some(2);
    status.retry_in_ms = Some(1500);
    let event = Event::Connection {
        account: A.into(),
        status,
    };
    assert_eq!(
        human_event(&state(), &event),
        "alice@example.org connecting: stream reset (attempt 2, next try in 2s)"
    );
    let event = Event::Connection {
        account: A.into(),
        status: ConnectionStatus::new(ConnectionState::Connected, ""),
    };
    assert_eq!(human_event(&state(), &event), "alice@example.org connected");
}

#[test]
fn message_events_show_the_direction() {
    let incoming = Event::Message {
        account: A.into(),
        message: msg(8, Direction::In, "hello"),
    };
    assert_eq!(
        human_event(&state(), &incoming),
        "alice@example.org bob@example.net <- hello"
    );
    let outgoing = Event::Message {
        account: A.into(),
        message: msg(9, Direction::Out, "one\ntwo"),
    };
    assert_eq!(
        human_event(&state(), &outgoing),
        "alice@example.org bob@example.net -> one\n                                     two"
    );
}

#[test]
fn delivery_events_find_their_chat() {
    let event = Event::Delivery {
        account: A.into(),
        message_id: 7,
        delivery: Delivery::Acked,
        reason: None,
    };
    assert_eq!(
        human_event(&state(), &event),
        "alice@example.org bob@example.net message 7 acked"
    );
    let event = Event::Delivery {
        account: A.into(),
        message_id: 99,
        delivery: Delivery::Failed,
        reason: Some("service-unavailable".into()),
    };
    assert_eq!(
        human_event(&state(), &event),
        "alice@example.org message 99 failed: service-unavailable"
    );
}

#[test]
fn contact_events_tell_presence_from_roster_changes() {
    let away = Event::Contact {
        account: A.into(),
        contact: bob(Some("away")),
    };
    assert_eq!(
        human_event(&state(), &away),
        "alice@example.org bob@example.net is away"
    );
    let mut renamed = bob(None);
    renamed.name = Some("Robert".into());
    let event = Event::Contact {
        account: A.into(),
        contact: renamed,
    };
    assert_eq!(
        human_event(&state(), &event),
        "alice@example.org contact bob@example.net changed: name Robert, subscription both, online"
    );
    let carol = Contact {
        jid: "carol@example.com".into(),
        name: None,
        subscription: "none".into(),
        groups: vec![],
        presence: PresenceView::default(),
    };
    let event = Event::Contact {
        account: A.into(),
        contact: carol,
    };
    assert_eq!(
        human_event(&state(), &event),
        "alice@example.org contact carol@example.com added: subscription none, offline"
    );
    let event = Event::ContactRemoved {
        account: A.into(),
        jid: "bob@example.net".into(),
    };
    assert_eq!(
        human_event(&state(), &event),
        "alice@example.org contact bob@example.net removed"
    );
}

#[test]
fn other_events() {
    let s = state();
    let cases = [
        (
            Event::AccountAdded {
                account: "carol@example.com".into(),
                status: ConnectionStatus::new(ConnectionState::Connecting, ""),
            },
            "carol@example.com added, connecting",
        ),
        (
            Event::AccountRemoved { account: A.into() },
            "alice@example.org removed",
        ),
        (
            Event::Unread {
                account: A.into(),
                peer: "bob@example.net".into(),
                count: 0,
            },
            "alice@example.org bob@example.net unread 0",
        ),
        (Event::ShuttingDown, "wimsyd is shutting down"),
    ];
    for (event, text) in cases {
        assert_eq!(human_event(&s, &event), text);
    }
}
