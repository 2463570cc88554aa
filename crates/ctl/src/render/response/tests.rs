use wimsy_ipc::{ConnectionState, ConnectionStatus, PresenceView, Secret, Snapshot};

use super::*;

fn message(id: i64, direction: Direction, body: &str, ts: i64, delivery: Delivery) -> ChatMessage {
    ChatMessage {
        id,
        peer: "bob@example.net".into(),
        direction,
        body: body.into(),
        timestamp_ms: ts,
        origin_id: None,
        stanza_id: None,
        delivery,
    }
}

fn history_request(limit: Option<u32>, account: Option<&str>) -> Request {
    Request::History {
        account: account.map(Into::into),
        peer: "bob@example.net".into(),
        limit,
        before: None,
    }
}

fn accounts() -> Vec<AccountStatus> {
    let mut connecting = ConnectionStatus::new(ConnectionState::Connecting, "connection refused");
    connecting.attempt = Some(3);
    connecting.retry_in_ms = Some(4000);
    vec![
        AccountStatus {
            jid: "alice@example.org".into(),
            status: ConnectionStatus::new(ConnectionState::Connected, ""),
            unread: 0,
        },
        AccountStatus {
            jid: "bob@example.net".into(),
            status: connecting,
            unread: 12,
        },
        AccountStatus {
            jid: "carol@example.com".into(),
            status: ConnectionStatus::new(
                ConnectionState::WaitingForNetwork,
                "no route to the server",
            ),
            unread: 1,
        },
    ]
}

#[test]
fn status_is_a_table_with_state_words_reasons_and_unread() {
    let text = human(
        &Request::Status,
        &Response::Status {
            accounts: accounts(),
            notifier: Some(wimsy_ipc::NotifierStatus {
                state: wimsy_ipc::NotifierState::Missing,
                detail: "No notification server runs on this desktop.".into(),
            }),
        },
        Clock::Utc,
    );
    assert_eq!(
        text,
        "\
ACCOUNT            STATE                UNREAD  DETAIL
alice@example.org  connected            0
bob@example.net    connecting           12      connection refused (attempt 3, next try in 4s)
carol@example.com  waiting for network  1       no route to the server

carol@example.com: `wimsyctl connect carol@example.com` tries again now
notifications: No notification server runs on this desktop."
    );
    let empty = human(
        &Request::Status,
        &Response::Status {
            accounts: vec![],
            notifier: None,
        },
        Clock::Utc,
    );
    assert_eq!(empty, NO_ACCOUNTS);
}

#[test]
fn status_json_is_the_protocol_value() {
    let response = Response::Status {
        accounts: accounts(),
        notifier: None,
    };
    let value: serde_json::Value = serde_json::from_str(&json(&response)).unwrap();
    assert_eq!(value["kind"], "status");
    assert_eq!(value["accounts"][0]["jid"], "alice@example.org");
    assert_eq!(value["accounts"][0]["status"]["state"], "connected");
    assert_eq!(value["accounts"][1]["status"]["state"], "connecting");
    assert_eq!(
        value["accounts"][1]["status"]["reason"],
        "connection refused"
    );
    assert_eq!(value["accounts"][1]["status"]["attempt"], 3);
    assert_eq!(value["accounts"][1]["status"]["retry_in_ms"], 4000);
    assert_eq!(value["accounts"][1]["unread"], 12);
    assert_eq!(
        value["accounts"][2]["status"]["state"],
        "waiting_for_network"
    );
    let back: Response = serde_json::from_value(value).unwrap();
    assert_eq!(back, response);
    assert!(!json(&response).contains('\n'));
}

#[test]
fn account_list() {
    let response = Response::Accounts {
        accounts: vec![
            AccountInfo {
                jid: "alice@example.org".into(),
                server: Some("localhost:5222".into()),
                ca_file: Some("/home/a/ca.pem".into()),
                pinned_fingerprint: None,
            },
            AccountInfo {
                jid: "bob@example.net".into(),
                server: None,
                ca_file: None,
                pinned_fingerprint: Some("SHA256:AB:CD".into()),
            },
        ],
    };
    assert_eq!(
        human(&Request::AccountList, &response, Clock::Utc),
        "\
ACCOUNT            SERVER          CA FILE         PINNED CERTIFICATE
alice@example.org  localhost:5222  /home/a/ca.pem  -
bob@example.net    -               -               SHA256:AB:CD"
    );
    assert_eq!(
        json(&response),
        r#"{"kind":"accounts","accounts":[{"jid":"alice@example.org","server":"localhost:5222","ca_file":"/home/a/ca.pem"},{"jid":"bob@example.net","pinned_fingerprint":"SHA256:AB:CD"}]}"#
    );
    let empty = Response::Accounts { accounts: vec![] };
    assert_eq!(
        human(&Request::AccountList, &empty, Clock::Utc),
        NO_ACCOUNTS
    );
}

#[test]
fn done_says_what_was_done() {
    let cases = [
        (
            Request::AccountAdd {
                jid: "a@example.org".into(),
                password: Secret::new("hunter2"),
                server: None,
                ca_file: None,
            },
            "account a@example.org added; it connects now (see `wimsyctl status`)",
        ),
        (
            Request::AccountRemove {
                jid: "a@example.org".into(),
            },
            "account a@example.org removed",
        ),
        (
            Request::AccountTrust {
                jid: "a@example.org".into(),
                fingerprint: " SHA256:AB:CD\n".into(),
            },
            "a@example.org now trusts only the certificate SHA256:AB:CD; \
                 it reconnects now (see `wimsyctl status`)",
        ),
        (
            Request::Connect { account: None },
            "connecting every account",
        ),
        (
            Request::Connect {
                account: Some("a@example.org".into()),
            },
            "connecting a@example.org",
        ),
        (
            Request::Disconnect { account: None },
            "every account is offline",
        ),
        (
            Request::Disconnect {
                account: Some("a@example.org".into()),
            },
            "a@example.org is offline",
        ),
        (
            Request::MarkRead {
                account: None,
                peer: "b@example.org".into(),
            },
            "chat with b@example.org marked read",
        ),
        (Request::Quit, "wimsyd is stopping"),
        (Request::Status, "done"),
    ];
    for (request, text) in cases {
        assert_eq!(human(&request, &Response::Done, Clock::Utc), text);
        assert!(!human(&request, &Response::Done, Clock::Utc).contains("hunter2"));
    }
    assert_eq!(json(&Response::Done), r#"{"kind":"done"}"#);
}

#[test]
fn roster_shows_name_subscription_presence() {
    let response = Response::Roster {
        account: "alice@example.org".into(),
        contacts: vec![
            Contact {
                jid: "bob@example.net".into(),
                name: Some("Bob".into()),
                subscription: "both".into(),
                groups: vec!["Friends".into()],
                presence: PresenceView {
                    available: true,
                    show: Some("away".into()),
                    status: Some("lunch".into()),
                },
            },
            Contact {
                jid: "carol@example.com".into(),
                name: None,
                subscription: "to".into(),
                groups: vec![],
                presence: PresenceView::default(),
            },
        ],
        subscription_requests: vec![],
    };
    let request = Request::Roster { account: None };
    assert_eq!(
        human(&request, &response, Clock::Utc),
        "\
alice@example.org: 2 contacts
CONTACT            NAME  SUBSCRIPTION  PRESENCE
bob@example.net    Bob   both          away (lunch)
carol@example.com  -     to            offline"
    );
    let value: serde_json::Value = serde_json::from_str(&json(&response)).unwrap();
    assert_eq!(value["kind"], "roster");
    assert_eq!(value["account"], "alice@example.org");
    assert_eq!(value["contacts"][0]["presence"]["show"], "away");
    assert_eq!(value["contacts"][1]["presence"]["available"], false);
    let empty = Response::Roster {
        account: "alice@example.org".into(),
        contacts: vec![],
        subscription_requests: vec![],
    };
    assert_eq!(
        human(&request, &empty, Clock::Utc),
        "alice@example.org has no contacts"
    );
    let asked = Response::Roster {
        account: "alice@example.org".into(),
        contacts: vec![],
        subscription_requests: vec!["dave@example.org".into()],
    };
    assert_eq!(
        human(&request, &asked, Clock::Utc),
        "\
alice@example.org has no contacts

asking to see your presence (1):
  dave@example.org
answer with `wimsyctl roster accept JID` or `wimsyctl roster deny JID`"
    );
}

#[test]
fn roster_and_presence_changes_say_what_happened() {
    let bob = || "b@example.org".to_owned();
    let cases = [
        (
            Request::RosterAdd {
                account: None,
                jid: bob(),
                name: None,
            },
            "b@example.org added to your contacts and asked to share their presence",
        ),
        (
            Request::RosterRename {
                account: None,
                jid: bob(),
                name: "Bob".into(),
            },
            "b@example.org is now called Bob",
        ),
        (
            Request::RosterRename {
                account: None,
                jid: bob(),
                name: " ".into(),
            },
            "b@example.org has no name now",
        ),
        (
            Request::RosterRemove {
                account: None,
                jid: bob(),
            },
            "b@example.org removed from your contacts",
        ),
        (
            Request::SubscriptionAnswer {
                account: None,
                jid: bob(),
                accept: true,
            },
            "b@example.org may now see your presence (and is asked to share theirs)",
        ),
        (
            Request::SubscriptionAnswer {
                account: None,
                jid: bob(),
                accept: false,
            },
            "b@example.org may not see your presence",
        ),
        (
            Request::SetPresence {
                account: None,
                show: wimsy_ipc::Show::Away,
                status: Some("at lunch".into()),
            },
            "every account is now away (at lunch)",
        ),
        (
            Request::SetPresence {
                account: Some("a@example.org".into()),
                show: wimsy_ipc::Show::Dnd,
                status: None,
            },
            "a@example.org is now do not disturb",
        ),
    ];
    for (request, text) in cases {
        assert_eq!(human(&request, &Response::Done, Clock::Utc), text);
    }
}

#[test]
fn sent_prints_id_and_delivery() {
    let response = Response::Sent {
        account: "alice@example.org".into(),
        message: message(42, Direction::Out, "hi", 0, Delivery::Queued),
    };
    let request = Request::Send {
        account: None,
        to: "bob@example.net".into(),
        body: "hi".into(),
    };
    assert_eq!(
        human(&request, &response, Clock::Utc),
        "message 42 to bob@example.net: queued"
    );
    let value: serde_json::Value = serde_json::from_str(&json(&response)).unwrap();
    assert_eq!(value["kind"], "sent");
    assert_eq!(value["message"]["id"], 42);
    assert_eq!(value["message"]["delivery"], "queued");
    assert_eq!(value["message"]["direction"], "out");
}

#[test]
fn history_reads_oldest_first_with_a_hint_for_older_pages() {
    let minute = 60_000;
    let response = Response::History {
        account: "alice@example.org".into(),
        peer: "bob@example.net".into(),
        messages: vec![
            message(3, Direction::Out, "not yet", 2 * minute, Delivery::Queued),
            message(2, Direction::Out, "fine,\nthanks", minute, Delivery::Acked),
            message(1, Direction::In, "how are you?", 0, Delivery::Received),
        ],
        next_before: Some("c-1".into()),
    };
    assert_eq!(
        human(&history_request(None, None), &response, Clock::Utc),
        "\
1970-01-01 00:00 <- how are you?
1970-01-01 00:01 -> fine,
                    thanks
1970-01-01 00:02 -> not yet [queued]
older: wimsyctl history bob@example.net --before c-1"
    );
    let with_flags = human(
        &history_request(Some(20), Some("alice@example.org")),
        &response,
        Clock::Utc,
    );
    assert!(with_flags.ends_with(
            "older: wimsyctl history bob@example.net --before c-1 --limit 20 --account alice@example.org"
        ));
    let value: serde_json::Value = serde_json::from_str(&json(&response)).unwrap();
    assert_eq!(value["kind"], "history");
    assert_eq!(
        value["messages"][0]["id"], 3,
        "JSON keeps the protocol's newest-first order"
    );
    assert_eq!(value["next_before"], "c-1");
}

#[test]
fn history_without_more_pages_has_no_hint() {
    let response = Response::History {
        account: "alice@example.org".into(),
        peer: "bob@example.net".into(),
        messages: vec![message(
            1,
            Direction::In,
            "\u{1b}[2Jhi",
            0,
            Delivery::Received,
        )],
        next_before: None,
    };
    assert_eq!(
        human(&history_request(None, None), &response, Clock::Utc),
        "1970-01-01 00:00 <- \\u{1b}[2Jhi"
    );
    assert!(!json(&response).contains("next_before"));
    let empty = Response::History {
        account: "alice@example.org".into(),
        peer: "bob@example.net".into(),
        messages: vec![],
        next_before: None,
    };
    assert_eq!(
        human(&history_request(None, None), &empty, Clock::Utc),
        "no messages with bob@example.net"
    );
}

#[test]
fn hello_and_subscribed_render_too() {
    let hello = Response::Hello {
        protocol: 1,
        daemon: "wimsyd 0.1.0".into(),
    };
    assert_eq!(
        human(&Request::Status, &hello, Clock::Utc),
        "wimsyd 0.1.0 (protocol 1)"
    );
    let subscribed = Response::Subscribed {
        snapshot: Snapshot::default(),
    };
    assert!(human(&Request::Subscribe, &subscribed, Clock::Utc).contains("no accounts"));
    assert_eq!(
        json(&subscribed),
        r#"{"kind":"subscribed","snapshot":{"seq":0,"accounts":[]}}"#
    );
}
