//! A connection split in two: a cloneable [`Requester`] that may have many
//! requests in flight, and the [`EventStream`] of what the daemon publishes.
//!
//! A window cannot wait for one answer before asking the next thing (a
//! history page must not hold up a send), so one task owns both halves of
//! the socket: it writes each request with the next id, remembers who asked,
//! and hands every answer to its asker and every event to the stream. The
//! daemon answers in request order, but nothing here relies on it: answers
//! are matched by id.

use std::collections::HashMap;

use interprocess::local_socket::tokio::Stream;
use tokio::io::{AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::{mpsc, oneshot};

use super::{Client, ClientError, FrameReader};
use crate::frame::{decode_frame, encode_frame};
use crate::types::{ClientFrame, ErrorBody, Event, Request, Response, ServerFrame};

/// One request waiting to be written, with where its answer goes.
type Ask = (Request, oneshot::Sender<Result<Response, ClientError>>);

/// Sends requests on a split connection; clone it freely. Every clone
/// shares the one connection.
#[derive(Debug, Clone)]
pub struct Requester {
    asks: mpsc::UnboundedSender<Ask>,
}

impl Requester {
    /// Send `request` and wait for its answer. The request is queued for
    /// writing at this call, not when the future is first polled, so
    /// requests go out in the order of the calls even when their answers
    /// are awaited elsewhere. Other requests may be sent meanwhile, from
    /// this or other clones. Fails with [`ClientError::Closed`] when the
    /// connection is gone before the answer came (the request may or may
    /// not have been carried out).
    pub fn request(
        &self,
        request: Request,
    ) -> impl Future<Output = Result<Response, ClientError>> + Send + 'static {
        let (answer_tx, answer_rx) = oneshot::channel();
        let queued = self.asks.send((request, answer_tx)).is_ok();
        async move {
            if !queued {
                return Err(ClientError::Closed);
            }
            answer_rx.await.unwrap_or(Err(ClientError::Closed))
        }
    }

    /// Whether the connection has ended (no request can succeed any more).
    pub fn is_closed(&self) -> bool {
        self.asks.is_closed()
    }
}

/// The events of a split connection, in the daemon's order.
#[derive(Debug)]
pub struct EventStream {
    events: mpsc::UnboundedReceiver<Result<(u64, Event), ClientError>>,
}

impl EventStream {
    /// The next event with its sequence number; `Ok(None)` when the daemon
    /// closed the connection cleanly. Same rules as [`Client::next_event`].
    /// Dropping the stream does not stop the requester: answers still come.
    pub async fn next_event(&mut self) -> Result<Option<(u64, Event)>, ClientError> {
        match self.events.recv().await {
            Some(Ok(event)) => Ok(Some(event)),
            Some(Err(e)) => Err(e),
            None => Ok(None),
        }
    }
}

impl Client {
    /// Split the connection into a requester and an event stream. Events
    /// that arrived while earlier requests waited come first on the stream.
    ///
    /// Spawns the task that owns the socket on the current tokio runtime;
    /// the task ends when the connection closes, or when the stream and
    /// every requester clone are dropped.
    pub fn split(self) -> (Requester, EventStream) {
        let (asks_tx, asks_rx) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        for queued in self.queued_events {
            // The receiver is right here; this cannot fail.
            let _ = events_tx.send(Ok(queued));
        }
        let task = Pump {
            reader: self.reader,
            writer: self.writer,
            next_id: self.next_id,
            pending: HashMap::new(),
            events: events_tx,
        };
        tokio::spawn(task.run(asks_rx));
        (
            Requester { asks: asks_tx },
            EventStream { events: events_rx },
        )
    }
}

/// The task behind a split connection.
struct Pump {
    reader: FrameReader<ReadHalf<Stream>>,
    writer: WriteHalf<Stream>,
    next_id: u64,
    pending: HashMap<u64, oneshot::Sender<Result<Response, ClientError>>>,
    events: mpsc::UnboundedSender<Result<(u64, Event), ClientError>>,
}

impl Pump {
    async fn run(mut self, mut asks: mpsc::UnboundedReceiver<Ask>) {
        let mut asks_open = true;
        let end = loop {
            if !asks_open && self.events.is_closed() && self.pending.is_empty() {
                // Nobody can ask or listen any more.
                return;
            }
            tokio::select! {
                // `next_frame` feeds its decoder only after a read has
                // completed, so losing this race drops no bytes.
                frame = self.reader.next_frame() => match frame {
                    Ok(None) => break None,
                    Ok(Some(Err(e))) => break Some(ClientError::Frame(e)),
                    Err(e) => break Some(ClientError::Io(e)),
                    Ok(Some(Ok(bytes))) => match decode_frame(&bytes) {
                        Ok(frame) => {
                            if let Some(error) = self.route(frame) {
                                break Some(error);
                            }
                        }
                        Err(e) => break Some(ClientError::Decode(e.to_string())),
                    },
                },
                ask = asks.recv(), if asks_open => match ask {
                    Some((request, answer)) => {
                        if let Err(e) = self.write(request, answer).await {
                            break Some(e);
                        }
                    }
                    None => asks_open = false,
                },
                () = self.events.closed(), if !asks_open && self.pending.is_empty() => return,
            }
        };
        self.finish(end, &mut asks);
    }

    async fn write(
        &mut self,
        request: Request,
        answer: oneshot::Sender<Result<Response, ClientError>>,
    ) -> Result<(), ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        let bytes = match encode_frame(&ClientFrame { id, request }) {
            Ok(bytes) => bytes,
            Err(e) => {
                // Only this request is bad; the connection is fine.
                let _ = answer.send(Err(ClientError::Unexpected(e.to_string())));
                return Ok(());
            }
        };
        self.pending.insert(id, answer);
        self.writer.write_all(&bytes).await?;
        Ok(())
    }

    /// Deliver one frame; an error that ends the connection is returned.
    fn route(&mut self, frame: ServerFrame) -> Option<ClientError> {
        match frame {
            ServerFrame::Response { id, result } => self.answer(id, Ok(result)),
            ServerFrame::Error {
                id: Some(id),
                error,
            } => {
                self.answer(id, Err(ClientError::Remote(error)));
            }
            // About the connection itself (`lagged`, say): it is over.
            ServerFrame::Error { id: None, error } => return Some(ClientError::Remote(error)),
            ServerFrame::Event { seq, event } => {
                // A dropped stream only means nobody follows events.
                let _ = self.events.send(Ok((seq, event)));
            }
            // A newer daemon's kind of frame: nothing to act on.
            ServerFrame::Unknown => {}
        }
        None
    }

    fn answer(&mut self, id: u64, answer: Result<Response, ClientError>) {
        // No asker: an answer to an id nobody asked (a daemon bug) or one
        // already given, harmless here. An asker that stopped waiting is
        // its own business.
        if let Some(asker) = self.pending.remove(&id) {
            let _ = asker.send(answer);
        }
    }

    /// The connection ended (`None`: cleanly). Every request still waiting,
    /// and every one asked from now on, fails; the stream gets the error
    /// once and then ends.
    fn finish(self, end: Option<ClientError>, asks: &mut mpsc::UnboundedReceiver<Ask>) {
        asks.close();
        let remote: Option<ErrorBody> = match &end {
            Some(ClientError::Remote(body)) => Some(body.clone()),
            _ => None,
        };
        let failure = || match &remote {
            Some(body) => ClientError::Remote(body.clone()),
            None => ClientError::Closed,
        };
        for (_, asker) in self.pending {
            let _ = asker.send(Err(failure()));
        }
        while let Ok((_, asker)) = asks.try_recv() {
            let _ = asker.send(Err(failure()));
        }
        if let Some(error) = end {
            let _ = self.events.send(Err(error));
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::PathBuf;
    use std::time::Duration;

    use tokio::io::{AsyncBufReadExt, BufReader};
    use tokio::net::UnixListener;
    use tokio::net::unix::OwnedWriteHalf;

    use super::*;
    use crate::types::{ErrorCode, Role};

    /// A socket in a fresh directory of its own.
    fn socket(name: &str) -> (PathBuf, UnixListener) {
        let dir = std::env::temp_dir().join(format!("wimsy-ipc-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("d.sock");
        let listener = UnixListener::bind(&path).unwrap();
        (path, listener)
    }

    fn id_of(line: &str) -> u64 {
        let frame: ClientFrame = serde_json::from_str(line).unwrap();
        frame.id
    }

    async fn say(write: &mut OwnedWriteHalf, frame: &ServerFrame) {
        let mut line = serde_json::to_string(frame).unwrap();
        line.push('\n');
        write.write_all(line.as_bytes()).await.unwrap();
    }

    fn hello(id: u64) -> ServerFrame {
        ServerFrame::Response {
            id,
            result: Response::Hello {
                protocol: crate::PROTOCOL_VERSION,
                daemon: "fake".to_owned(),
            },
        }
    }

    fn event(seq: u64) -> ServerFrame {
        ServerFrame::Event {
            seq,
            event: Event::ShuttingDown,
        }
    }

    async fn within<T>(what: impl Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(20), what)
            .await
            .expect("no answer within 20 s")
    }

    /// Three requests in flight at once, answered in reverse order with
    /// events in between: each asker gets its own answer, the stream gets
    /// every event in order.
    #[tokio::test]
    async fn answers_reach_their_askers_whatever_the_order() {
        let (path, listener) = socket("pipeline-order");
        let daemon = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            let first = lines.next_line().await.unwrap().unwrap();
            say(&mut write, &hello(id_of(&first))).await;
            let mut ids = Vec::new();
            for _ in 0..3 {
                let line = lines.next_line().await.unwrap().unwrap();
                ids.push((id_of(&line), line.contains("\"fail\"")));
            }
            for (n, (id, fail)) in ids.into_iter().rev().enumerate() {
                say(&mut write, &event(n as u64 + 1)).await;
                let frame = if fail {
                    ServerFrame::Error {
                        id: Some(id),
                        error: ErrorBody::new(ErrorCode::TestFailure, "as asked"),
                    }
                } else {
                    ServerFrame::Response {
                        id,
                        result: Response::Status {
                            accounts: Vec::new(),
                            notifier: None,
                        },
                    }
                };
                say(&mut write, &frame).await;
            }
            // Keep the connection open until the client is done.
            let _ = lines.next_line().await;
        });

        let client = within(Client::connect(&path, Role::Cli, "test"))
            .await
            .unwrap();
        let (requester, mut events) = client.split();
        let other = requester.clone();
        let (status, failed, done) = within(async {
            tokio::join!(
                requester.request(Request::Status),
                other.request(Request::Fail),
                requester.request(Request::Status),
            )
        })
        .await;
        assert!(matches!(status, Ok(Response::Status { .. })), "{status:?}");
        assert_eq!(failed.unwrap_err().code(), Some(ErrorCode::TestFailure));
        assert!(matches!(done, Ok(Response::Status { .. })), "{done:?}");
        for seq in 1..=3 {
            let (got, _) = within(events.next_event()).await.unwrap().unwrap();
            assert_eq!(got, seq);
        }
        drop(requester);
        drop(other);
        drop(events);
        daemon.await.unwrap();
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    /// The daemon goes away with a request unanswered: the asker hears
    /// `Closed`, the stream ends cleanly, later requests fail at once.
    #[tokio::test]
    async fn a_closed_connection_fails_what_waits_and_ends_the_stream() {
        let (path, listener) = socket("pipeline-closed");
        let daemon = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            let first = lines.next_line().await.unwrap().unwrap();
            say(&mut write, &hello(id_of(&first))).await;
            // Read the request, then hang up without answering.
            lines.next_line().await.unwrap().unwrap();
            say(&mut write, &event(1)).await;
        });

        let client = within(Client::connect(&path, Role::Cli, "test"))
            .await
            .unwrap();
        let (requester, mut events) = client.split();
        let answer = within(requester.request(Request::Status)).await;
        assert!(matches!(answer, Err(ClientError::Closed)), "{answer:?}");
        assert_eq!(within(events.next_event()).await.unwrap().unwrap().0, 1);
        assert!(within(events.next_event()).await.unwrap().is_none());
        let later = within(requester.request(Request::Status)).await;
        assert!(matches!(later, Err(ClientError::Closed)), "{later:?}");
        assert!(requester.is_closed());
        daemon.await.unwrap();
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    /// `lagged` (an error about the connection) fails what waits with the
    /// daemon's words, and reaches the stream as an error.
    #[tokio::test]
    async fn a_connection_error_reaches_askers_and_the_stream() {
        let (path, listener) = socket("pipeline-lagged");
        let daemon = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            let first = lines.next_line().await.unwrap().unwrap();
            say(&mut write, &hello(id_of(&first))).await;
            lines.next_line().await.unwrap().unwrap();
            let lagged = ServerFrame::Error {
                id: None,
                error: ErrorBody::new(ErrorCode::Lagged, "too slow"),
            };
            say(&mut write, &lagged).await;
        });

        let client = within(Client::connect(&path, Role::Cli, "test"))
            .await
            .unwrap();
        let (requester, mut events) = client.split();
        let answer = within(requester.request(Request::Status)).await;
        assert_eq!(answer.unwrap_err().code(), Some(ErrorCode::Lagged));
        let error = within(events.next_event()).await.unwrap_err();
        assert_eq!(error.code(), Some(ErrorCode::Lagged));
        daemon.await.unwrap();
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}
