//! The link task: attach, start the daemon if none answers, forward what
//! the daemon says, and attach again when it goes away.
//!
//! The reducer lives in the app, not here, so the app decides when the event
//! stream has a gap; it asks for a fresh snapshot through the [`Link`]
//! handle this task hands over first.

use std::path::{Path, PathBuf};
use std::time::Duration;

use iced::Subscription;
use iced::futures::channel::mpsc;
use iced::futures::{SinkExt, StreamExt};
use wimsy_ipc::{Client, ClientError, ErrorCode, Event, EventStream, Role, Snapshot};

use super::requester::Requester;
use super::start::{Started, start_daemon};

/// How long to wait between attempts while no daemon answers. Short, so a
/// daemon that restarts is back in the window at once; an attempt costs one
/// failed connect.
pub const RETRY_EVERY: Duration = Duration::from_secs(1);

/// What the link tells the app.
#[derive(Debug, Clone)]
pub enum LinkEvent {
    /// The link task started; this is how to reach it.
    Ready(Link),
    /// No daemon answered, so the link is starting one.
    Starting,
    /// The daemon was started this way and answers now; attaching follows.
    Started(Started),
    /// Attached and subscribed: the state as of `snapshot.seq`. Events that
    /// follow belong to this connection until the next `Attached` or `Down`.
    Attached {
        /// Asks the daemon things on this connection.
        requester: Requester,
        /// The daemon's name and version, from its hello.
        daemon: String,
        /// Everything to draw.
        snapshot: Snapshot,
    },
    /// One event, numbered as the daemon numbered it.
    Event {
        /// Its sequence number.
        seq: u64,
        /// The change.
        event: Event,
    },
    /// Not attached; the link tries again every [`RETRY_EVERY`].
    Down(Down),
}

/// Why the link is not attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Down {
    /// Nothing answered at the socket; the text is what connecting said.
    NoDaemon(String),
    /// The daemon closed the connection (it stopped or restarted).
    Closed,
    /// Starting the daemon failed; the text says why, in words.
    StartFailed(String),
    /// Something else went wrong, said by the text.
    Failed(String),
}

/// The app's handle on the link task.
#[derive(Debug, Clone)]
pub struct Link(mpsc::UnboundedSender<Command>);

impl Link {
    /// Ask for a fresh snapshot because connection `connection` missed
    /// events. Ignored if that connection is already gone.
    pub fn resubscribe(&self, connection: u64) {
        // The task only goes away with the subscription, i.e. with the app,
        // so a failed send has no one left to tell.
        let _ = self.0.unbounded_send(Command::Resubscribe { connection });
    }

    /// Start the daemon now (the user asked), if none answers.
    pub fn start_daemon(&self) {
        let _ = self.0.unbounded_send(Command::Start);
    }
}

#[cfg(test)]
impl Link {
    /// A handle not backed by a task, and what was asked through it.
    pub fn for_test() -> (Self, TestRequests) {
        let (tx, rx) = mpsc::unbounded();
        (Self(tx), TestRequests(rx))
    }
}

/// What the app asked of a [`Link::for_test`].
#[cfg(test)]
pub struct TestRequests(mpsc::UnboundedReceiver<Command>);

#[cfg(test)]
impl TestRequests {
    /// The connections a resubscribe was asked for, so far.
    pub fn resubscribes(&mut self) -> Vec<u64> {
        let mut asked = Vec::new();
        while let Ok(command) = self.0.try_recv() {
            if let Command::Resubscribe { connection } = command {
                asked.push(connection);
            }
        }
        asked
    }
}

#[derive(Debug, Clone, Copy)]
enum Command {
    Resubscribe { connection: u64 },
    Start,
}

/// The subscription that keeps the app attached to the daemon at `socket`.
/// With `autostart`, a daemon is started when none answers the first
/// attempt (later outages only re-attach: the user may have stopped it).
pub fn connect(socket: PathBuf, autostart: bool) -> Subscription<LinkEvent> {
    Subscription::run_with((socket, autostart), |(socket, autostart)| {
        let socket = socket.clone();
        let autostart = *autostart;
        iced::stream::channel(64, async move |output| run(socket, autostart, output).await)
    })
}

/// What ended one connection.
enum Ended {
    /// Tell the app and wait before the next attempt.
    Down(Down),
    /// Attach again at once (the app or the daemon asked for a resync).
    Reattach,
    /// The app stopped listening: stop.
    AppGone,
}

async fn run(socket: PathBuf, autostart: bool, mut output: mpsc::Sender<LinkEvent>) {
    let (commands_tx, mut commands) = mpsc::unbounded();
    if output
        .send(LinkEvent::Ready(Link(commands_tx)))
        .await
        .is_err()
    {
        return;
    }
    let mut connection = 0;
    let mut start_now = autostart;
    // Logged when it changes, not on every retry, so a window left open
    // without a daemon does not fill the log.
    let mut last_down = None;
    loop {
        connection += 1;
        let mut ended = attach(&socket, connection, &mut output, &mut commands).await;
        if start_now && matches!(ended, Ended::Down(Down::NoDaemon(_))) {
            if output.send(LinkEvent::Starting).await.is_err() {
                return;
            }
            ended = match start_daemon(&socket).await {
                Ok(started) => {
                    if output.send(LinkEvent::Started(started)).await.is_err() {
                        return;
                    }
                    Ended::Reattach
                }
                Err(why) => {
                    tracing::warn!("{why}");
                    Ended::Down(Down::StartFailed(why))
                }
            };
        }
        // Only the first outage starts a daemon by itself.
        start_now = false;
        match ended {
            Ended::AppGone => return,
            Ended::Reattach => last_down = None,
            Ended::Down(down) => {
                if last_down.as_ref() != Some(&down) {
                    tracing::info!(
                        "not attached to wimsyd at {}: {down:?}; retrying every {RETRY_EVERY:?}",
                        socket.display()
                    );
                    last_down = Some(down.clone());
                }
                if output.send(LinkEvent::Down(down)).await.is_err() {
                    return;
                }
                // Wait, unless the user asks to start the daemon now.
                let wait = tokio::time::sleep(RETRY_EVERY);
                tokio::pin!(wait);
                loop {
                    tokio::select! {
                        () = &mut wait => break,
                        command = commands.next() => match command {
                            Some(Command::Start) => {
                                start_now = true;
                                break;
                            }
                            Some(Command::Resubscribe { .. }) => {}
                            None => return,
                        },
                    }
                }
            }
        }
    }
}

/// Attach, subscribe and forward events until the connection ends.
async fn attach(
    socket: &Path,
    connection: u64,
    output: &mut mpsc::Sender<LinkEvent>,
    commands: &mut mpsc::UnboundedReceiver<Command>,
) -> Ended {
    let mut client = match Client::connect(socket, Role::Gui, super::CLIENT_NAME).await {
        Ok(client) => client,
        Err(ClientError::NoDaemon { source, .. }) => {
            return Ended::Down(Down::NoDaemon(source.to_string()));
        }
        Err(e) => return Ended::Down(Down::Failed(e.to_string())),
    };
    // The window is on screen while the GUI runs; the daemon tells servers
    // the user is looking (XEP-0352) for as long as this connection lives.
    // The app reports focus and the open chat once attached.
    if let Err(e) = client
        .request(wimsy_ipc::Request::SetVisibility { visible: true })
        .await
    {
        return down_from(e);
    }
    let snapshot = match client.subscribe().await {
        Ok(snapshot) => snapshot,
        Err(e) => return down_from(e),
    };
    tracing::info!(
        "attached to {} at {}",
        client.daemon_version(),
        socket.display()
    );
    let daemon = client.daemon_version().to_owned();
    let (requester, mut events) = client.split();
    let attached = LinkEvent::Attached {
        requester: Requester::new(requester, connection),
        daemon,
        snapshot,
    };
    if output.send(attached).await.is_err() {
        return Ended::AppGone;
    }
    forward(connection, &mut events, output, commands).await
}

async fn forward(
    connection: u64,
    events: &mut EventStream,
    output: &mut mpsc::Sender<LinkEvent>,
    commands: &mut mpsc::UnboundedReceiver<Command>,
) -> Ended {
    let mut commands_open = true;
    loop {
        tokio::select! {
            next = events.next_event() => match next {
                Ok(Some((seq, event))) => {
                    if output.send(LinkEvent::Event { seq, event }).await.is_err() {
                        return Ended::AppGone;
                    }
                }
                Ok(None) => return Ended::Down(Down::Closed),
                Err(e) => return down_from(e),
            },
            command = commands.next(), if commands_open => match command {
                Some(Command::Resubscribe { connection: asked }) if asked == connection => {
                    // A new connection gives a snapshot with no doubt about
                    // which events it already includes.
                    tracing::warn!("missed events from wimsyd; attaching again");
                    return Ended::Reattach;
                }
                Some(_) => {}
                None => commands_open = false,
            },
        }
    }
}

fn down_from(error: ClientError) -> Ended {
    match error {
        // The daemon dropped us for reading too slowly; the state is still
        // good to fetch again straight away.
        ClientError::Remote(body) if body.code == ErrorCode::Lagged => {
            tracing::warn!("{}", body.message);
            Ended::Reattach
        }
        ClientError::Closed => Ended::Down(Down::Closed),
        ClientError::Remote(body) if body.code == ErrorCode::ShuttingDown => {
            Ended::Down(Down::Closed)
        }
        other => Ended::Down(Down::Failed(other.to_string())),
    }
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::PathBuf;

    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use wimsy_ipc::{ConnectionState, Event};

    use super::*;

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

#[cfg(all(test, unix))]
mod requester_tests {
    #![allow(clippy::unwrap_used)]

    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use wimsy_ipc::{ClientFrame, Request, Response, ServerFrame};

    use super::*;

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
