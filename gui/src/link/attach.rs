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
use wimsy_ipc::client::start::{Started, start_daemon};

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

impl Down {
    /// Why, for the log.
    fn in_words(&self) -> String {
        match self {
            Self::NoDaemon(why) => format!("none is running ({why})"),
            Self::Closed => "it closed the connection".to_owned(),
            Self::StartFailed(why) | Self::Failed(why) => why.clone(),
        }
    }
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

pub(super) async fn run(socket: PathBuf, autostart: bool, mut output: mpsc::Sender<LinkEvent>) {
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
                        "not attached to wimsyd at {}: {}; trying again every {} s",
                        socket.display(),
                        down.in_words(),
                        RETRY_EVERY.as_secs()
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
