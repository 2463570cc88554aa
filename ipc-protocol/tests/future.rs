//! A newer daemon speaking protocol 1 may add event kinds, states, delivery
//! stages, error codes, answer kinds, frame types and fields
//! (docs/ipc-protocol.md, "Versions and compatibility"). The hand-written
//! frames in `tests/golden/future/` stand for such a daemon: each must
//! decode with the real decoder, the reducer must take them and go on, and
//! a `Client` reading them from a socket must keep going.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use wimsy_ipc::*;

fn golden(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/future")
        .join(format!("{name}.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn frame(name: &str) -> ServerFrame {
    decode_frame(golden(name).trim_end().as_bytes())
        .unwrap_or_else(|e| panic!("{name} does not decode: {e}"))
}

fn event(name: &str) -> (u64, Event) {
    match frame(name) {
        ServerFrame::Event { seq, event } => (seq, event),
        other => panic!("{name} is not an event: {other:?}"),
    }
}

fn snapshot() -> Snapshot {
    match frame("r_subscribed") {
        ServerFrame::Response {
            result: Response::Subscribed { snapshot },
            ..
        } => snapshot,
        other => panic!("not a snapshot: {other:?}"),
    }
}

const EVENTS: [&str; 5] = [
    "e_unknown_kind",
    "e_connection_hibernating",
    "e_delivery_unknown",
    "e_message_unknown_fields",
    "e_connection_known",
];

#[test]
fn unknown_kinds_states_and_fields_decode_to_explicit_unknowns() {
    let snapshot = snapshot();
    assert_eq!(snapshot.seq, 100);
    let alice = &snapshot.accounts[0];
    assert_eq!(alice.status.state, ConnectionState::Unknown);
    assert_eq!(alice.status.reason, "sleeping until the server wakes us");
    assert_eq!(alice.chats[0].last.delivery, Delivery::Unknown);
    assert_eq!(alice.contacts[0].presence.show.as_deref(), Some("away"));
    let carol = &snapshot.accounts[1];
    assert_eq!(carol.status.state, ConnectionState::Error);
    assert_eq!(carol.status.error, Some(ConnectionError::Other));

    assert_eq!(event("e_unknown_kind"), (101, Event::Unknown));
    let (_, hibernating) = event("e_connection_hibernating");
    assert!(matches!(
        hibernating,
        Event::Connection { ref status, .. } if status.state == ConnectionState::Unknown
    ));
    let (_, displayed) = event("e_delivery_unknown");
    assert!(matches!(
        displayed,
        Event::Delivery {
            delivery: Delivery::Unknown,
            message_id: 7,
            ..
        }
    ));
    let (_, edited) = event("e_message_unknown_fields");
    let Event::Message { message, .. } = edited else {
        panic!("{edited:?}")
    };
    assert_eq!((message.id, message.body.as_str()), (8, "edited text"));

    assert_eq!(frame("frame_unknown_type"), ServerFrame::Unknown);
    assert_eq!(
        frame("r_unknown_kind"),
        ServerFrame::Response {
            id: 9,
            result: Response::Unknown
        }
    );
    let ServerFrame::Error { id, error } = frame("error_unknown_code") else {
        panic!()
    };
    assert_eq!((id, error.code), (Some(10), ErrorCode::Unknown));
    assert_eq!(error.message, "too many requests; wait a minute");
    let ServerFrame::Response {
        result: Response::Status { accounts, .. },
        ..
    } = frame("r_status")
    else {
        panic!()
    };
    assert_eq!(accounts[0].status.state, ConnectionState::Unknown);
    assert_eq!(accounts[0].unread, 1);
    let ServerFrame::Response {
        result: Response::History { messages, .. },
        ..
    } = frame("r_history")
    else {
        panic!()
    };
    assert_eq!(messages[0].direction, Direction::Unknown);
    assert_eq!(messages[0].body, "hello room");
}

#[test]
fn the_reducer_counts_unknown_events_and_keeps_what_it_knows() {
    let mut state = FrontendState::from_snapshot(snapshot());
    let outcomes: Vec<Applied> = EVENTS
        .iter()
        .map(|name| {
            let (seq, event) = event(name);
            state.apply(seq, &event)
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            Applied::Ignored,
            Applied::Applied,
            Applied::Applied,
            Applied::Applied,
            Applied::Applied
        ]
    );
    assert_eq!(state.seq, 105, "no gap: the unknown event's number counts");
    let alice = &state.accounts["alice@example.org"];
    assert_eq!(alice.status.state, ConnectionState::Unknown);
    assert_eq!(alice.status.reason, "sleeping until the server wakes us");
    let chat = &alice.chats["bob@example.org"];
    assert_eq!(chat.last.id, 8, "the message with unknown fields is taken");
    assert_eq!(
        state.accounts["carol@example.org"].status.state,
        ConnectionState::Connected
    );
}

#[test]
fn an_unknown_delivery_stage_keeps_the_last_known_one() {
    let mut snapshot = snapshot();
    snapshot.accounts[0].chats[0].last.delivery = Delivery::Acked;
    let mut state = FrontendState::from_snapshot(snapshot);
    let (seq, displayed) = event("e_delivery_unknown");
    assert_eq!(seq, 103);
    assert_eq!(state.apply(101, &Event::Unknown), Applied::Ignored);
    assert_eq!(state.apply(101, &Event::Unknown), Applied::Stale);
    assert_eq!(state.apply(102, &Event::Unknown), Applied::Ignored);
    assert_eq!(state.apply(seq, &displayed), Applied::Applied);
    assert_eq!(
        state.accounts["alice@example.org"].chats["bob@example.org"]
            .last
            .delivery,
        Delivery::Acked
    );
}

#[test]
fn settings_of_a_kind_or_value_type_this_version_does_not_know_still_read() {
    let snapshot = snapshot();
    let [keep, size] = &snapshot.settings[..] else {
        panic!("{:?}", snapshot.settings)
    };
    assert_eq!(keep.kind, SettingKind::Bool);
    assert_eq!(keep.value, SettingValue::Bool(false));
    assert_eq!(size.kind, SettingKind::Unknown);
    assert_eq!(size.value, SettingValue::Text("14".into()));
    assert_eq!(size.label, "Text size");

    let mut state = FrontendState::from_snapshot(snapshot);
    let (seq, changed) = event("e_setting_number");
    assert_eq!(state.apply(seq, &changed), Applied::Applied);
    assert_eq!(
        state.setting("display.font_size").map(|s| &s.value),
        Some(&SettingValue::Text("16".into()))
    );
    assert_eq!(
        state.setting("background.keep_connected").map(|s| &s.value),
        Some(&SettingValue::Bool(false)),
        "the other setting is untouched"
    );
}

/// A fake newer daemon on a real socket: it answers the handshake, then
/// sends every future frame, then a known event; the client must read
/// through to the end.
#[cfg(unix)]
#[tokio::test]
async fn a_client_keeps_going_through_a_newer_daemons_frames() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    let dir = tempfile_dir();
    let path = dir.join("future.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let daemon = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        let mut send = async |text: &str| write.write_all(text.as_bytes()).await.unwrap();
        // hello
        lines.next_line().await.unwrap().unwrap();
        send("{\"type\":\"response\",\"id\":1,\"result\":{\"kind\":\"hello\",\"protocol\":1,\"daemon\":\"wimsyd 9.0\",\"features\":[\"x\"]}}\n").await;
        // subscribe: a frame of an unknown type comes first, then the answer.
        lines.next_line().await.unwrap().unwrap();
        send(&golden("frame_unknown_type")).await;
        send(&golden("r_subscribed").replace("\"id\":8", "\"id\":2")).await;
        for name in EVENTS {
            send(&golden(name)).await;
            send(&golden("frame_unknown_type")).await;
        }
        // A request answered with a kind this client does not know.
        lines.next_line().await.unwrap().unwrap();
        send(&golden("r_unknown_kind").replace("\"id\":9", "\"id\":3")).await;
        // A request answered with a code it does not know.
        lines.next_line().await.unwrap().unwrap();
        send(&golden("error_unknown_code").replace("\"id\":10", "\"id\":4")).await;
        send("{\"type\":\"event\",\"seq\":106,\"event\":{\"kind\":\"shutting_down\"}}\n").await;
    });

    let mut client = Client::connect(&path, Role::Cli, "future-test")
        .await
        .unwrap();
    assert_eq!(client.daemon_version(), "wimsyd 9.0");
    let mut state = FrontendState::from_snapshot(client.subscribe().await.unwrap());
    for _ in EVENTS {
        let (seq, event) = client.next_event().await.unwrap().unwrap();
        let applied = state.apply(seq, &event);
        assert!(
            matches!(applied, Applied::Applied | Applied::Ignored),
            "{seq}: {applied:?}"
        );
    }
    assert_eq!(state.seq, 105);
    assert_eq!(
        client.request(Request::Status).await.unwrap(),
        Response::Unknown
    );
    let refused = client.request(Request::Status).await.unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::Unknown));
    let (seq, last) = client.next_event().await.unwrap().unwrap();
    assert_eq!(state.apply(seq, &last), Applied::Applied);
    assert!(state.shutting_down);
    daemon.await.unwrap();
    assert_eq!(client.next_event().await.unwrap(), None);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A private directory for the socket (no tempfile dependency here).
#[cfg(unix)]
fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wimsy-ipc-future-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
