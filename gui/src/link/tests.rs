//! The link against fake daemons on a real socket.

#![allow(clippy::unwrap_used)]

mod newer_daemon {
    use std::path::PathBuf;

    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use wimsy_ipc::{ConnectionState, Event};

    use super::super::attach::run;
    use super::super::attach::*;
    use iced::futures::StreamExt;
    use iced::futures::channel::mpsc;
    use std::time::Duration;

    fn future_frame(name: &str) -> String {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../ipc-protocol/tests/golden/future")
            .join(format!("{name}.json"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    const EVENTS: [&str; 5] = [
        "e_unknown_kind",
        "e_connection_hibernating",
        "e_delivery_unknown",
        "e_message_unknown_fields",
        "e_connection_known",
    ];

    /// A newer daemon's kinds, states and frame types reach the app as
    /// events on the one connection: the link neither drops it nor
    /// reattaches, and goes down only when the daemon closes.
    #[tokio::test]
    async fn the_link_stays_attached_through_a_newer_daemons_frames() {
        let dir = std::env::temp_dir().join(format!("wimsy-gui-link-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("d.sock");
        let listener = tokio::net::UnixListener::bind(&socket).unwrap();
        let daemon = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            let mut answer = async |reply: String| {
                let request = lines.next_line().await.unwrap().unwrap();
                let id = request
                    .split("\"id\":")
                    .nth(1)
                    .unwrap()
                    .split([',', '}'])
                    .next();
                let reply = reply.replace("\"id\":0", &format!("\"id\":{}", id.unwrap()));
                write.write_all(reply.as_bytes()).await.unwrap();
                write.write_all(b"\n").await.unwrap();
            };
            answer(r#"{"type":"response","id":0,"result":{"kind":"hello","protocol":1,"daemon":"wimsyd 9.0"}}"#.into()).await;
            answer(r#"{"type":"response","id":0,"result":{"kind":"done"}}"#.into()).await;
            let mut subscribed = future_frame("frame_unknown_type");
            subscribed.push_str(&future_frame("r_subscribed").replace("\"id\":8", "\"id\":0"));
            for name in EVENTS {
                subscribed.push_str(&future_frame(name));
                subscribed.push_str(&future_frame("frame_unknown_type"));
            }
            answer(subscribed.trim_end().to_owned()).await;
            // Dropping the stream closes the connection.
        });

        let (output, mut events) = mpsc::channel(64);
        let link = tokio::spawn(run(socket, false, output));
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let next = tokio::time::timeout_at(deadline, events.next())
                .await
                .expect("the link said nothing within 20 s")
                .expect("the link task ended");
            let down = matches!(next, LinkEvent::Down(_));
            seen.push(next);
            if down {
                break;
            }
        }
        link.abort();
        daemon.await.unwrap();
        std::fs::remove_dir_all(&dir).unwrap();

        assert!(matches!(seen[0], LinkEvent::Ready(_)));
        let LinkEvent::Attached { snapshot, .. } = &seen[1] else {
            panic!("{:?}", seen[1]);
        };
        assert_eq!(snapshot.accounts[0].status.state, ConnectionState::Unknown);
        let forwarded: Vec<(u64, &Event)> = seen[2..seen.len() - 1]
            .iter()
            .map(|e| match e {
                LinkEvent::Event { seq, event } => (*seq, event),
                other => panic!("the link did something else: {other:?}"),
            })
            .collect();
        assert_eq!(
            forwarded.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
            [101, 102, 103, 104, 105]
        );
        assert_eq!(forwarded[0].1, &Event::Unknown);
        assert!(
            matches!(seen.last(), Some(LinkEvent::Down(Down::Closed))),
            "down only because the daemon closed: {:?}",
            seen.last()
        );
    }
}

mod requester {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use wimsy_ipc::{ClientFrame, Request, Response, ServerFrame, Snapshot};

    use super::super::attach::run;
    use super::super::attach::*;
    use iced::futures::StreamExt;
    use iced::futures::channel::mpsc;
    use std::time::Duration;

    /// Once attached, the app's requester reaches the daemon on the same
    /// connection, with several requests in flight, while events flow.
    #[tokio::test]
    async fn the_attached_requester_pipelines_on_the_link() {
        let dir = std::env::temp_dir().join(format!("wimsy-gui-req-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("d.sock");
        let listener = tokio::net::UnixListener::bind(&socket).unwrap();
        let daemon = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            let mut seen = Vec::new();
            while let Ok(Some(line)) = lines.next_line().await {
                let frame: ClientFrame = serde_json_from(&line);
                let result = match frame.request {
                    Request::Hello { .. } => Response::Hello {
                        protocol: 1,
                        daemon: "fake".to_owned(),
                    },
                    Request::Subscribe => Response::Subscribed {
                        snapshot: Snapshot::default(),
                    },
                    Request::Status => Response::Status {
                        accounts: Vec::new(),
                        notifier: None,
                    },
                    _ => Response::Done,
                };
                seen.push(frame.id);
                let reply = ServerFrame::Response {
                    id: frame.id,
                    result,
                };
                let mut out = to_json(&reply);
                out.push('\n');
                write.write_all(out.as_bytes()).await.unwrap();
            }
            seen
        });

        let (output, mut events) = mpsc::channel(64);
        let link = tokio::spawn(run(socket, false, output));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let requester = loop {
            let next = tokio::time::timeout_at(deadline, events.next())
                .await
                .expect("not attached within 20 s")
                .expect("the link task ended");
            if let LinkEvent::Attached { requester, .. } = next {
                break requester;
            }
        };
        let (a, b) = tokio::join!(
            requester.request(Request::Status),
            requester.request(Request::MarkRead {
                account: None,
                peer: "bob@example.org".to_owned(),
            }),
        );
        assert!(matches!(a, Ok(Response::Status { .. })), "{a:?}");
        assert_eq!(b, Ok(Response::Done));
        link.abort();
        let _ = link.await;
        // The connection closes when nobody can ask or listen any more.
        drop(requester);
        let seen = daemon.await.unwrap();
        assert_eq!(seen.len(), 5, "hello, visibility, subscribe and two more");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn serde_json_from(line: &str) -> ClientFrame {
        wimsy_ipc::decode_client_frame(line.as_bytes()).unwrap()
    }

    fn to_json(frame: &ServerFrame) -> String {
        let bytes = wimsy_ipc::encode_frame(frame).unwrap();
        String::from_utf8(bytes).unwrap().trim_end().to_owned()
    }
}
