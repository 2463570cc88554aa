//! The connection to wimsyd, as an iced subscription.
//!
//! iced keeps a subscription's stream running for as long as the app keeps
//! returning it (identified by the socket path), so this task owns the one
//! IPC connection for the whole life of the window: it attaches, forwards
//! the snapshot and every event as [`LinkEvent`]s, and when the daemon is
//! missing or goes away it says so and tries again every [`RETRY_EVERY`].
//! Closing the window drops the stream and with it the socket: the daemon
//! just sees a frontend detach.
//!
//! The reducer lives in the app, not here, so the app decides when the event
//! stream has a gap; it asks for a fresh snapshot through the [`Link`] handle
//! this task hands over first.

use std::path::{Path, PathBuf};
use std::time::Duration;

use iced::Subscription;
use iced::futures::channel::mpsc;
use iced::futures::{SinkExt, StreamExt};
use wimsy_ipc::{Client, ClientError, ErrorCode, Event, Role, Snapshot};

/// How long to wait between attempts while no daemon answers. Long enough
/// not to spin, short enough that starting `wimsyd` shows up quickly.
pub const RETRY_EVERY: Duration = Duration::from_secs(3);

/// The name this frontend gives the daemon in its hello.
const CLIENT_NAME: &str = concat!("wimsy ", env!("CARGO_PKG_VERSION"));

/// What the link tells the app.
#[derive(Debug, Clone)]
pub enum LinkEvent {
    /// The link task started; this is how to reach it.
    Ready(Link),
    /// Attached and subscribed: the state as of `snapshot.seq`. Events that
    /// follow belong to this connection until the next `Attached` or `Down`.
    Attached {
        /// Counts connections, so a request about an old one is ignored.
        connection: u64,
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
    /// Not attached; the link retries after [`RETRY_EVERY`].
    Down(Down),
}

/// Why the link is not attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Down {
    /// Nothing answered at the socket; the text is what connecting said.
    NoDaemon(String),
    /// The daemon closed the connection (it stopped or restarted).
    Closed,
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
        while let Ok(Command::Resubscribe { connection }) = self.0.try_recv() {
            asked.push(connection);
        }
        asked
    }
}

#[derive(Debug, Clone, Copy)]
enum Command {
    Resubscribe { connection: u64 },
}

/// The subscription that keeps the app attached to the daemon at `socket`.
pub fn connect(socket: PathBuf) -> Subscription<LinkEvent> {
    Subscription::run_with(socket, |socket| {
        let socket = socket.clone();
        iced::stream::channel(64, async move |output| run(socket, output).await)
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

async fn run(socket: PathBuf, mut output: mpsc::Sender<LinkEvent>) {
    let (commands_tx, mut commands) = mpsc::unbounded();
    if output
        .send(LinkEvent::Ready(Link(commands_tx)))
        .await
        .is_err()
    {
        return;
    }
    let mut connection = 0;
    // Logged when it changes, not on every retry, so a window left open
    // without a daemon does not fill the log.
    let mut last_down = None;
    loop {
        connection += 1;
        match attach(&socket, connection, &mut output, &mut commands).await {
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
                tokio::time::sleep(RETRY_EVERY).await;
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
    let mut client = match Client::connect(socket, Role::Gui, CLIENT_NAME).await {
        Ok(client) => client,
        Err(ClientError::NoDaemon { source, .. }) => {
            return Ended::Down(Down::NoDaemon(source.to_string()));
        }
        Err(e) => return Ended::Down(Down::Failed(e.to_string())),
    };
    // The window is on screen while the GUI runs; the daemon tells servers
    // the user is looking (XEP-0352) for as long as this connection lives.
    // Minimised and hidden states come with the full GUI.
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
    let attached = LinkEvent::Attached {
        connection,
        daemon: client.daemon_version().to_owned(),
        snapshot,
    };
    if output.send(attached).await.is_err() {
        return Ended::AppGone;
    }

    let mut commands_open = true;
    loop {
        // `next_event` only feeds its decoder after a read completes, so
        // dropping it here when a command wins loses no bytes.
        tokio::select! {
            next = client.next_event() => match next {
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
                Some(Command::Resubscribe { .. }) => {}
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
        let link = tokio::spawn(run(socket, output));
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
