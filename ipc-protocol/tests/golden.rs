//! Golden files pin the wire format of protocol version 1: each sample
//! frame must serialize to exactly its file, and the file must parse back
//! to the same value. A change that breaks this breaks third-party
//! frontends: bump PROTOCOL_VERSION and add a v2 directory instead.
//!
//! `WIMSY_BLESS=1 cargo test -p wimsy-ipc --test golden` rewrites the files
//! (only for a new version or a new sample, never to paper over a change).

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use wimsy_ipc::*;

const FINGERPRINT: &str = "SHA256:3A:7B:1C:5D:9E:0F:21:43:65:87:A9:CB:ED:0F:12:34:\
                           56:78:9A:BC:DE:F0:11:22:33:44:55:66:77:88:99:AA";

fn message() -> ChatMessage {
    ChatMessage {
        id: 7,
        peer: "bob@example.org".into(),
        direction: Direction::In,
        body: "hi".into(),
        timestamp_ms: 1_700_000_000_000,
        origin_id: Some("o-1".into()),
        stanza_id: Some("s-1".into()),
        delivery: Delivery::Received,
    }
}

fn contact() -> Contact {
    Contact {
        jid: "bob@example.org".into(),
        name: Some("Bob".into()),
        subscription: "both".into(),
        groups: vec!["Friends".into()],
        presence: PresenceView {
            available: true,
            show: Some("away".into()),
            status: Some("lunch".into()),
        },
    }
}

fn keep_connected(value: bool) -> Setting {
    Setting {
        key: "background.keep_connected".into(),
        value: SettingValue::Bool(value),
        default: SettingValue::Bool(true),
        kind: SettingKind::Bool,
        choices: None,
        label: "Keep connected when all windows are closed".into(),
        description: "Stay online and keep receiving messages after the last window closes.".into(),
    }
}

fn preview_setting() -> Setting {
    Setting {
        key: "notifications.preview".into(),
        value: SettingValue::Text("sender".into()),
        default: SettingValue::Text("full".into()),
        kind: SettingKind::Choice,
        choices: Some(vec!["full".into(), "sender".into(), "none".into()]),
        label: "What a notification shows".into(),
        description: "The sender and the message, the sender only, or nothing.".into(),
    }
}

fn client_samples() -> Vec<(&'static str, ClientFrame)> {
    let f = |id, request| ClientFrame { id, request };
    vec![
        (
            "hello",
            f(
                1,
                Request::Hello {
                    protocol: 1,
                    role: Role::Cli,
                    client: "wimsyctl 0.1.0".into(),
                },
            ),
        ),
        ("status", f(2, Request::Status)),
        (
            "account_add",
            f(
                3,
                Request::AccountAdd {
                    jid: "alice@example.org".into(),
                    password: Secret::new("pw"),
                    server: Some("127.0.0.1:5222".into()),
                    ca_file: Some("/etc/ca.pem".into()),
                },
            ),
        ),
        ("account_list", f(4, Request::AccountList)),
        (
            "account_remove",
            f(
                5,
                Request::AccountRemove {
                    jid: "alice@example.org".into(),
                },
            ),
        ),
        ("connect", f(6, Request::Connect { account: None })),
        (
            "disconnect",
            f(
                7,
                Request::Disconnect {
                    account: Some("alice@example.org".into()),
                },
            ),
        ),
        ("roster", f(8, Request::Roster { account: None })),
        (
            "send",
            f(
                9,
                Request::Send {
                    account: None,
                    to: "bob@example.org".into(),
                    body: "hi".into(),
                },
            ),
        ),
        (
            "history",
            f(
                10,
                Request::History {
                    account: None,
                    peer: "bob@example.org".into(),
                    limit: Some(20),
                    before: Some("1700000000000-7".into()),
                },
            ),
        ),
        (
            "mark_read",
            f(
                11,
                Request::MarkRead {
                    account: None,
                    peer: "bob@example.org".into(),
                },
            ),
        ),
        ("subscribe", f(12, Request::Subscribe)),
        (
            "set_visibility",
            f(15, Request::SetVisibility { visible: true }),
        ),
        ("quit", f(13, Request::Quit)),
        ("fail", f(14, Request::Fail)),
        (
            "account_trust",
            f(
                16,
                Request::AccountTrust {
                    jid: "alice@example.org".into(),
                    fingerprint: FINGERPRINT.into(),
                },
            ),
        ),
        (
            "account_password",
            f(
                17,
                Request::AccountPassword {
                    jid: "alice@example.org".into(),
                    password: Secret::new("new-pw"),
                },
            ),
        ),
        ("settings_get", f(18, Request::SettingsGet { key: None })),
        (
            "settings_get_key",
            f(
                19,
                Request::SettingsGet {
                    key: Some("background.keep_connected".into()),
                },
            ),
        ),
        (
            "settings_set",
            f(
                20,
                Request::SettingsSet {
                    key: "background.keep_connected".into(),
                    value: SettingValue::Bool(false),
                },
            ),
        ),
        (
            "settings_set_text",
            f(
                21,
                Request::SettingsSet {
                    key: "notifications.preview".into(),
                    value: SettingValue::Text("sender".into()),
                },
            ),
        ),
        (
            "set_view",
            f(
                22,
                Request::SetView {
                    visible: true,
                    focused: true,
                    chat: Some(ChatRef {
                        account: "alice@example.org".into(),
                        peer: "bob@example.org".into(),
                    }),
                },
            ),
        ),
        (
            "set_view_hidden",
            f(
                23,
                Request::SetView {
                    visible: false,
                    focused: false,
                    chat: None,
                },
            ),
        ),
        (
            "retry",
            f(
                24,
                Request::Retry {
                    account: Some("alice@example.org".into()),
                    message_id: 8,
                },
            ),
        ),
        // Roster and own presence.
        (
            "roster_add",
            f(
                30,
                Request::RosterAdd {
                    account: None,
                    jid: "bob@example.org".into(),
                    name: Some("Bob".into()),
                },
            ),
        ),
        (
            "roster_rename",
            f(
                31,
                Request::RosterRename {
                    account: Some("alice@example.org".into()),
                    jid: "bob@example.org".into(),
                    name: "Bobby".into(),
                },
            ),
        ),
        (
            "roster_remove",
            f(
                32,
                Request::RosterRemove {
                    account: None,
                    jid: "bob@example.org".into(),
                },
            ),
        ),
        (
            "subscription_answer",
            f(
                33,
                Request::SubscriptionAnswer {
                    account: None,
                    jid: "carol@example.org".into(),
                    accept: true,
                },
            ),
        ),
        (
            "set_presence",
            f(
                34,
                Request::SetPresence {
                    account: None,
                    show: Show::Away,
                    status: Some("at lunch".into()),
                },
            ),
        ),
        (
            "mute",
            f(
                35,
                Request::Mute {
                    account: None,
                    peer: "bob@example.org".into(),
                    until_ms: Some(1_800_000_000_000),
                },
            ),
        ),
        (
            "mute_until_unmuted",
            f(
                36,
                Request::Mute {
                    account: Some("alice@example.org".into()),
                    peer: "bob@example.org".into(),
                    until_ms: None,
                },
            ),
        ),
        ("show_window", f(38, Request::ShowWindow)),
        (
            "unmute",
            f(
                37,
                Request::Unmute {
                    account: None,
                    peer: "bob@example.org".into(),
                },
            ),
        ),
    ]
}

fn own_presence() -> OwnPresence {
    OwnPresence {
        show: Show::Dnd,
        status: Some("in a meeting".into()),
    }
}

fn server_samples() -> Vec<(&'static str, ServerFrame)> {
    let status = ConnectionStatus {
        attempt: Some(2),
        retry_in_ms: Some(1500),
        ..ConnectionStatus::new(
            ConnectionState::Connecting,
            "could not connect; attempt 2 in 1.5 s",
        )
    };
    let error_status = ConnectionStatus {
        error: Some(ConnectionError::Authentication),
        ..ConnectionStatus::new(
            ConnectionState::Error,
            "authentication failed (not-authorized)",
        )
    };
    let response = |id, result| ServerFrame::Response { id, result };
    let event = |seq, event| ServerFrame::Event { seq, event };
    vec![
        (
            "r_hello",
            response(
                1,
                Response::Hello {
                    protocol: 1,
                    daemon: "wimsyd 0.1.0".into(),
                },
            ),
        ),
        ("r_done", response(2, Response::Done)),
        (
            "r_status",
            response(
                3,
                Response::Status {
                    accounts: vec![AccountStatus {
                        jid: "alice@example.org".into(),
                        status: status.clone(),
                        unread: 3,
                    }],
                    notifier: None,
                },
            ),
        ),
        (
            "r_accounts",
            response(
                4,
                Response::Accounts {
                    accounts: vec![AccountInfo {
                        jid: "alice@example.org".into(),
                        server: Some("127.0.0.1:5222".into()),
                        ca_file: None,
                        pinned_fingerprint: None,
                    }],
                },
            ),
        ),
        (
            "r_accounts_pinned",
            response(
                10,
                Response::Accounts {
                    accounts: vec![AccountInfo {
                        jid: "alice@example.org".into(),
                        server: None,
                        ca_file: None,
                        pinned_fingerprint: Some(FINGERPRINT.into()),
                    }],
                },
            ),
        ),
        (
            "r_roster",
            response(
                5,
                Response::Roster {
                    account: "alice@example.org".into(),
                    contacts: vec![contact()],
                    subscription_requests: vec![],
                },
            ),
        ),
        (
            "r_sent",
            response(
                6,
                Response::Sent {
                    account: "alice@example.org".into(),
                    message: ChatMessage {
                        direction: Direction::Out,
                        delivery: Delivery::Queued,
                        stanza_id: None,
                        ..message()
                    },
                },
            ),
        ),
        (
            "r_history",
            response(
                7,
                Response::History {
                    account: "alice@example.org".into(),
                    peer: "bob@example.org".into(),
                    messages: vec![message()],
                    next_before: Some("1700000000000-7".into()),
                },
            ),
        ),
        (
            "r_subscribed",
            response(
                8,
                Response::Subscribed {
                    snapshot: Snapshot {
                        seq: 41,
                        accounts: vec![AccountSnapshot {
                            jid: "alice@example.org".into(),
                            status: error_status.clone(),
                            contacts: vec![contact()],
                            chats: vec![ChatSummary {
                                peer: "bob@example.org".into(),
                                last: message(),
                                unread: 1,
                            }],
                            subscription_requests: vec![],
                            presence: OwnPresence::default(),
                            mutes: vec![],
                        }],
                        settings: Vec::new(),
                        notifier: None,
                    },
                },
            ),
        ),
        (
            "r_subscribed_settings",
            response(
                11,
                Response::Subscribed {
                    snapshot: Snapshot {
                        seq: 41,
                        accounts: Vec::new(),
                        settings: vec![keep_connected(true), preview_setting()],
                        notifier: None,
                    },
                },
            ),
        ),
        (
            "r_settings",
            response(
                12,
                Response::Settings {
                    settings: vec![keep_connected(false)],
                },
            ),
        ),
        (
            "error_unknown_setting",
            ServerFrame::Error {
                id: Some(13),
                error: ErrorBody::new(
                    ErrorCode::UnknownSetting,
                    "there is no setting \"background.keep\"; the settings are: \
                     background.keep_connected",
                ),
            },
        ),
        (
            "error",
            ServerFrame::Error {
                id: Some(9),
                error: ErrorBody::new(ErrorCode::UnknownAccount, "no account x@example.org"),
            },
        ),
        (
            "error_no_id",
            ServerFrame::Error {
                id: None,
                error: ErrorBody::new(
                    ErrorCode::FrameTooLarge,
                    "frame exceeds the limit of 1048576 bytes",
                ),
            },
        ),
        (
            "e_account_added",
            event(
                42,
                Event::AccountAdded {
                    account: "alice@example.org".into(),
                    status,
                },
            ),
        ),
        (
            "e_account_removed",
            event(
                43,
                Event::AccountRemoved {
                    account: "alice@example.org".into(),
                },
            ),
        ),
        (
            "e_connection",
            event(
                44,
                Event::Connection {
                    account: "alice@example.org".into(),
                    status: error_status,
                },
            ),
        ),
        (
            "e_message",
            event(
                45,
                Event::Message {
                    account: "alice@example.org".into(),
                    message: message(),
                },
            ),
        ),
        (
            "e_delivery",
            event(
                46,
                Event::Delivery {
                    account: "alice@example.org".into(),
                    message_id: 8,
                    delivery: Delivery::Failed,
                    reason: Some("service-unavailable".into()),
                },
            ),
        ),
        (
            "e_contact",
            event(
                47,
                Event::Contact {
                    account: "alice@example.org".into(),
                    contact: contact(),
                },
            ),
        ),
        (
            "e_contact_removed",
            event(
                48,
                Event::ContactRemoved {
                    account: "alice@example.org".into(),
                    jid: "bob@example.org".into(),
                },
            ),
        ),
        (
            "e_unread",
            event(
                49,
                Event::Unread {
                    account: "alice@example.org".into(),
                    peer: "bob@example.org".into(),
                    count: 0,
                },
            ),
        ),
        ("e_shutting_down", event(50, Event::ShuttingDown)),
        (
            "e_setting",
            event(
                52,
                Event::Setting {
                    key: "background.keep_connected".into(),
                    value: SettingValue::Bool(false),
                },
            ),
        ),
        (
            "e_delivery_queued",
            event(
                53,
                Event::Delivery {
                    account: "alice@example.org".into(),
                    message_id: 8,
                    delivery: Delivery::Queued,
                    reason: None,
                },
            ),
        ),
        (
            "e_connection_certificate",
            event(
                51,
                Event::Connection {
                    account: "alice@example.org".into(),
                    status: ConnectionStatus {
                        error: Some(ConnectionError::Certificate),
                        fingerprint: Some(FINGERPRINT.into()),
                        ..ConnectionStatus::new(
                            ConnectionState::Error,
                            format!(
                                "the certificate of example.org is not trusted (UnknownIssuer); \
                                 if this is your server, check its fingerprint out of band, then \
                                 trust it with `wimsyctl account trust alice@example.org {FINGERPRINT}`"
                            ),
                        )
                    },
                },
            ),
        ),
        // Roster and own presence.
        (
            "r_roster_requests",
            response(
                30,
                Response::Roster {
                    account: "alice@example.org".into(),
                    contacts: vec![contact()],
                    subscription_requests: vec!["carol@example.org".into()],
                },
            ),
        ),
        (
            "r_subscribed_roster",
            response(
                31,
                Response::Subscribed {
                    snapshot: Snapshot {
                        seq: 70,
                        accounts: vec![AccountSnapshot {
                            jid: "alice@example.org".into(),
                            status: ConnectionStatus::new(
                                ConnectionState::Connected,
                                "connected as alice@example.org/wimsy",
                            ),
                            contacts: vec![contact()],
                            chats: vec![],
                            subscription_requests: vec!["carol@example.org".into()],
                            presence: own_presence(),
                            mutes: vec![],
                        }],
                        settings: Vec::new(),
                        notifier: None,
                    },
                },
            ),
        ),
        (
            "e_subscription_request",
            event(
                71,
                Event::SubscriptionRequest {
                    account: "alice@example.org".into(),
                    jid: "dave@example.org".into(),
                },
            ),
        ),
        (
            "e_subscription_request_gone",
            event(
                72,
                Event::SubscriptionRequestGone {
                    account: "alice@example.org".into(),
                    jid: "carol@example.org".into(),
                },
            ),
        ),
        (
            "e_own_presence",
            event(
                73,
                Event::OwnPresence {
                    account: "alice@example.org".into(),
                    presence: OwnPresence {
                        show: Show::Away,
                        status: None,
                    },
                },
            ),
        ),
        (
            "e_muted",
            event(
                74,
                Event::Muted {
                    account: "alice@example.org".into(),
                    mute: Mute {
                        peer: "bob@example.org".into(),
                        until_ms: Some(1_800_000_000_000),
                    },
                },
            ),
        ),
        (
            "e_unmuted",
            event(
                75,
                Event::Unmuted {
                    account: "alice@example.org".into(),
                    peer: "bob@example.org".into(),
                },
            ),
        ),
        (
            "e_open_chat",
            event(
                76,
                Event::OpenChat {
                    account: "alice@example.org".into(),
                    peer: "bob@example.org".into(),
                },
            ),
        ),
        ("e_show_window", event(78, Event::ShowWindow)),
        (
            "e_notifier",
            event(
                77,
                Event::Notifier {
                    status: NotifierStatus {
                        state: NotifierState::NoActions,
                        detail: "Notifications are shown, but clicks are not reported.".into(),
                    },
                },
            ),
        ),
        (
            "r_status_notifier",
            response(
                38,
                Response::Status {
                    accounts: vec![],
                    notifier: Some(NotifierStatus {
                        state: NotifierState::Missing,
                        detail: "No notification server runs on this desktop.".into(),
                    }),
                },
            ),
        ),
    ]
}

fn check<T>(name: &str, value: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/v1/{name}.json"));
    let encoded = String::from_utf8(encode_frame(value).unwrap()).unwrap();
    if std::env::var_os("WIMSY_BLESS").is_some() {
        std::fs::write(&path, &encoded).unwrap();
    }
    let golden = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (WIMSY_BLESS=1 creates it)", path.display()));
    assert_eq!(encoded, golden, "wire format of {name} changed");
    let parsed: T = decode_frame(golden.trim_end().as_bytes()).unwrap();
    assert_eq!(&parsed, value, "{name} does not parse back");
}

#[test]
fn client_frames_match_golden_files() {
    for (name, frame) in client_samples() {
        check(name, &frame);
        let decoded = decode_client_frame(encode_frame(&frame).unwrap().trim_ascii_end()).unwrap();
        assert_eq!(decoded, frame);
    }
}

#[test]
fn server_frames_match_golden_files() {
    for (name, frame) in server_samples() {
        check(name, &frame);
    }
}

#[test]
fn every_request_op_is_known_and_sampled() {
    let sampled: Vec<String> = client_samples()
        .iter()
        .map(|(_, f)| {
            serde_json::to_value(f).unwrap()["op"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let mut known: Vec<&str> = KNOWN_OPS.to_vec();
    known.sort_unstable();
    let mut sampled_sorted: Vec<&str> = sampled.iter().map(String::as_str).collect();
    sampled_sorted.sort_unstable();
    // Some ops have several samples (with and without optional fields).
    sampled_sorted.dedup();
    assert_eq!(known, sampled_sorted);
}

#[test]
fn unknown_fields_and_codes_are_tolerated() {
    let frame: ServerFrame = decode_frame(
        br#"{"type":"error","id":1,"error":{"code":"something_new","message":"m"},"extra":true}"#,
    )
    .unwrap();
    let ServerFrame::Error { error, .. } = frame else {
        panic!()
    };
    assert_eq!(error.code, ErrorCode::Unknown);
    let status: ConnectionStatus =
        serde_json::from_str(r#"{"state":"offline","future_field":1}"#).unwrap();
    assert_eq!(status.state, ConnectionState::Offline);
    assert_eq!(status.reason, "");
}

#[test]
fn secrets_never_show_in_debug() {
    let frame = ClientFrame {
        id: 1,
        request: Request::AccountAdd {
            jid: "a@b".into(),
            password: Secret::new("hunter2"),
            server: None,
            ca_file: None,
        },
    };
    assert!(!format!("{frame:?}").contains("hunter2"));
}

#[test]
fn reducer_applies_events_in_order_and_detects_gaps() {
    let ServerFrame::Response {
        result: Response::Subscribed { snapshot },
        ..
    } = &server_samples()
        .into_iter()
        .find(|(name, _)| *name == "r_subscribed")
        .unwrap()
        .1
    else {
        panic!()
    };
    let mut state = FrontendState::from_snapshot(snapshot.clone());
    assert_eq!(state.accounts["alice@example.org"].unread_total(), 1);
    for (_, frame) in server_samples() {
        if let ServerFrame::Event { seq, event } = frame {
            if seq == 45 {
                assert_eq!(state.apply(seq, &event), Applied::Applied);
                assert_eq!(state.apply(seq, &event), Applied::Stale);
            } else if seq < 50 {
                let _ = state.apply(seq, &event);
            }
        }
    }
    assert_eq!(state.seq, 49);
    assert_eq!(
        state.apply(60, &Event::ShuttingDown),
        Applied::Gap {
            expected: 50,
            got: 60
        }
    );
}

#[test]
fn reducer_keeps_subscription_requests_and_own_presence() {
    let samples = server_samples();
    let find = |name: &str| samples.iter().find(|(n, _)| *n == name).unwrap().1.clone();
    let ServerFrame::Response {
        result: Response::Subscribed { snapshot },
        ..
    } = find("r_subscribed_roster")
    else {
        panic!()
    };
    let mut state = FrontendState::from_snapshot(snapshot);
    let alice = |state: &FrontendState| state.accounts["alice@example.org"].clone();
    assert_eq!(alice(&state).presence, own_presence());
    assert!(
        alice(&state)
            .subscription_requests
            .contains("carol@example.org")
    );
    for name in [
        "e_subscription_request",
        "e_subscription_request_gone",
        "e_own_presence",
    ] {
        let ServerFrame::Event { seq, event } = find(name) else {
            panic!()
        };
        assert_eq!(state.apply(seq, &event), Applied::Applied, "{name}");
    }
    let view = alice(&state);
    assert_eq!(
        view.subscription_requests.iter().collect::<Vec<_>>(),
        ["dave@example.org"]
    );
    assert_eq!(view.presence.show, Show::Away);
    assert_eq!(view.presence.status, None);
}

#[test]
fn an_absent_own_presence_is_available_and_an_unknown_show_is_tolerated() {
    let account: AccountSnapshot =
        serde_json::from_str(r#"{"jid":"a@b","status":{"state":"offline"}}"#).unwrap();
    assert!(account.presence.is_default());
    assert!(account.subscription_requests.is_empty());
    let presence: OwnPresence = serde_json::from_str(r#"{"show":"xa","mood":"sleepy"}"#).unwrap();
    assert_eq!(presence.show, Show::Unknown);
}
