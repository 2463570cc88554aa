//! The IPC server: one task per client that does the handshake, cuts and
//! checks frames, forwards requests to the core, and writes what the core
//! queued for it. A client that stops reading fills its bounded queue and is
//! cut off with a `lagged` error; it never slows the core or anyone else.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use interprocess::local_socket::tokio::{Listener, Stream};
use interprocess::local_socket::traits::tokio::Listener as _;
use tokio::io::AsyncWriteExt;
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::JoinSet;
use wimsy_ipc::{
    ClientFrame, ErrorBody, ErrorCode, FrameError, FrameReader, PROTOCOL_VERSION, Request,
    Response, Role, ServerFrame, decode_client_frame, encode_frame,
};

/// Numbers clients in logs and in the core.
pub(crate) type ClientId = u64;

/// What the IPC server hands the core.
pub(crate) enum CoreInput {
    Request {
        client: ClientHandle,
        id: u64,
        request: Request,
    },
    /// A frame the client task refused; the core queues the error so it
    /// keeps its place among the answers to earlier requests.
    Refused {
        client: ClientHandle,
        error: ServerFrame,
    },
    Gone(ClientId),
}

/// A frame on its way to a client.
pub(crate) struct Outbound {
    bytes: Arc<[u8]>,
    /// It is the one answer to a request (or refusal) of this client.
    answers: bool,
    /// An answer that is not ready yet: it keeps its place in the queue,
    /// and what comes after it waits for it (`bytes` is empty).
    later: Option<LaterAnswer>,
}

impl Outbound {
    /// The encoded frame, newline included (empty for an answer that comes
    /// later).
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The answer that comes later, if this is one.
    #[cfg(test)]
    pub(crate) fn later(self) -> Option<LaterAnswer> {
        self.later
    }
}

/// The place of an answer that comes later, in its client's queue.
pub(crate) struct LaterAnswer {
    id: u64,
    frame: oneshot::Receiver<Arc<[u8]>>,
}

impl LaterAnswer {
    /// The answer once it has come, for a caller that drains a queue
    /// itself (the core's tests).
    #[cfg(test)]
    pub(crate) async fn wait(self) -> Arc<[u8]> {
        self.bytes().await
    }

    /// The answer's bytes; an `internal` error for the request if the
    /// one who was to answer went away without a word (a bug).
    async fn bytes(self) -> Arc<[u8]> {
        let id = self.id;
        self.frame.await.unwrap_or_else(|_| lost_answer(Some(id)))
    }
}

fn lost_answer(id: Option<u64>) -> Arc<[u8]> {
    encode_for_clients(&error_frame(
        id,
        ErrorCode::Internal,
        "wimsyd lost its answer to this request",
    ))
}

/// Where a later answer goes: fill it once, from any task.
pub(crate) struct AnswerSlot {
    frame: oneshot::Sender<Arc<[u8]>>,
}

impl AnswerSlot {
    /// Put the answer in its place; a client that is gone needs none.
    pub(crate) fn fill(self, frame: &ServerFrame) {
        let _ = self.frame.send(encode_for_clients(frame));
    }
}

/// The core's way to reach one client.
#[derive(Clone)]
pub(crate) struct ClientHandle {
    pub(crate) id: ClientId,
    pub(crate) role: Role,
    out: mpsc::Sender<Outbound>,
    cut_off: Arc<Notify>,
}

/// The client's queue is full: it has been cut off.
#[derive(Debug)]
pub(crate) struct Lagged;

impl ClientHandle {
    /// A handle and the queue it fills, for a client task to drain.
    pub(crate) fn detached(
        id: ClientId,
        role: Role,
        queue: usize,
    ) -> (Self, mpsc::Receiver<Outbound>) {
        let (out, queued) = mpsc::channel(queue.max(1));
        let handle = Self {
            id,
            role,
            out,
            cut_off: Arc::new(Notify::new()),
        };
        (handle, queued)
    }

    /// Queue a frame, or cut the client off if its queue is full.
    pub(crate) fn send(&self, frame: &ServerFrame) -> Result<(), Lagged> {
        let answers = !matches!(frame, ServerFrame::Event { .. });
        self.queue(Outbound {
            bytes: encode_for_clients(frame),
            answers,
            later: None,
        })
    }

    /// Keep the place of the answer to request `id` in the queue, for an
    /// answer that is not ready yet (one that waits for a server). Frames
    /// queued after it wait for it, so this client's order holds, and no
    /// one else waits.
    pub(crate) fn answer_later(&self, id: u64) -> Result<AnswerSlot, Lagged> {
        let (slot, frame) = oneshot::channel();
        self.queue(Outbound {
            bytes: Arc::from(Vec::new()),
            answers: true,
            later: Some(LaterAnswer { id, frame }),
        })?;
        Ok(AnswerSlot { frame: slot })
    }

    /// Queue an event encoded once for every subscriber.
    pub(crate) fn send_event(&self, bytes: &Arc<[u8]>) -> Result<(), Lagged> {
        self.queue(Outbound {
            bytes: Arc::clone(bytes),
            answers: false,
            later: None,
        })
    }

    fn queue(&self, outbound: Outbound) -> Result<(), Lagged> {
        self.out.try_send(outbound).map_err(|_| {
            tracing::warn!(
                client = self.id,
                "client is not reading its events; cutting it off"
            );
            self.cut_off.notify_one();
            Lagged
        })
    }
}

/// A frame as bytes for the wire; a frame that cannot be encoded becomes
/// an `internal` error saying so (protocol values are plain data, so this
/// is a bug, not input).
pub(crate) fn encode_for_clients(frame: &ServerFrame) -> Arc<[u8]> {
    match encode_frame(frame) {
        Ok(bytes) => bytes.into(),
        Err(e) => {
            tracing::error!("cannot encode a frame: {e}");
            let fallback = ServerFrame::Error {
                id: None,
                error: ErrorBody::new(
                    ErrorCode::Internal,
                    format!("wimsyd could not encode its answer: {e}"),
                ),
            };
            encode_frame(&fallback)
                .unwrap_or_else(|_| {
                    br#"{"type":"error","error":{"code":"internal","message":"wimsyd could not encode its answer"}}
"#
                    .to_vec()
                })
                .into()
        }
    }
}

/// Tuning of the IPC server.
#[derive(Debug, Clone, Copy)]
pub struct IpcLimits {
    /// A client must say hello within this time.
    pub handshake_timeout: Duration,
    /// Frames queued for one client before it is cut off.
    pub client_queue: usize,
}

impl Default for IpcLimits {
    fn default() -> Self {
        Self {
            handshake_timeout: Duration::from_secs(10),
            client_queue: 4096,
        }
    }
}

/// Accept clients until `stopping` turns true, then let every client task
/// write what is queued for it and close.
pub(crate) async fn accept_loop(
    listener: Listener,
    core: mpsc::Sender<CoreInput>,
    limits: IpcLimits,
    mut stopping: watch::Receiver<bool>,
) {
    let next_id = AtomicU64::new(1);
    let mut clients = JoinSet::new();
    loop {
        tokio::select! {
            _ = stopping.changed() => break,
            Some(_) = clients.join_next(), if !clients.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok(stream) => {
                    let id = next_id.fetch_add(1, Ordering::Relaxed);
                    clients.spawn(serve_client(stream, id, core.clone(), limits, stopping.clone()));
                }
                Err(e) => {
                    // Usually EMFILE: back off briefly instead of spinning.
                    tracing::warn!("accepting an IPC client failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    drop(listener);
    let drained = async { while clients.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(2), drained)
        .await
        .is_err()
    {
        tracing::debug!("some clients did not take their last frames in time");
    }
}

async fn write_frame(write: &mut tokio::io::WriteHalf<Stream>, frame: &ServerFrame) -> bool {
    match encode_frame(frame) {
        Ok(bytes) => write.write_all(&bytes).await.is_ok(),
        Err(_) => false,
    }
}

fn error_frame(id: Option<u64>, code: ErrorCode, message: impl Into<String>) -> ServerFrame {
    ServerFrame::Error {
        id,
        error: ErrorBody::new(code, message),
    }
}

enum Next {
    Frame(ClientFrame),
    Rejected(ServerFrame),
    TooLarge(FrameError),
    Closed,
}

async fn next_request(reader: &mut FrameReader<tokio::io::ReadHalf<Stream>>) -> Next {
    match reader.next_frame().await {
        Ok(None) | Err(_) => Next::Closed,
        Ok(Some(Err(e))) => Next::TooLarge(e),
        Ok(Some(Ok(bytes))) => match decode_client_frame(&bytes) {
            Ok(frame) => Next::Frame(frame),
            Err(rejected) => Next::Rejected(ServerFrame::Error {
                id: rejected.id,
                error: rejected.error,
            }),
        },
    }
}

async fn handshake(
    reader: &mut FrameReader<tokio::io::ReadHalf<Stream>>,
    write: &mut tokio::io::WriteHalf<Stream>,
    id: ClientId,
) -> Option<Role> {
    loop {
        match next_request(reader).await {
            Next::Closed => return None,
            Next::TooLarge(e) => {
                write_frame(
                    write,
                    &error_frame(None, ErrorCode::FrameTooLarge, e.to_string()),
                )
                .await;
                return None;
            }
            Next::Rejected(frame) => {
                if !write_frame(write, &frame).await {
                    return None;
                }
            }
            Next::Frame(ClientFrame {
                id: request_id,
                request:
                    Request::Hello {
                        protocol,
                        role,
                        client,
                    },
            }) => {
                if protocol != PROTOCOL_VERSION {
                    let message = format!(
                        "this wimsyd speaks protocol {PROTOCOL_VERSION} but the client speaks {protocol}: \
                         quit wimsyd and start it again after an upgrade, so both are the same version"
                    );
                    tracing::warn!(client = id, %client, protocol, "protocol mismatch");
                    write_frame(
                        write,
                        &error_frame(Some(request_id), ErrorCode::ProtocolMismatch, message),
                    )
                    .await;
                    return None;
                }
                tracing::debug!(client = id, %client, ?role, "client attached");
                let hello = ServerFrame::Response {
                    id: request_id,
                    result: Response::Hello {
                        protocol: PROTOCOL_VERSION,
                        daemon: format!("wimsyd {}", env!("CARGO_PKG_VERSION")),
                    },
                };
                return write_frame(write, &hello).await.then_some(role);
            }
            Next::Frame(frame) => {
                let refusal = error_frame(
                    Some(frame.id),
                    ErrorCode::HandshakeRequired,
                    "send {\"id\":N,\"op\":\"hello\",\"protocol\":1,\"role\":\"cli\"} first",
                );
                if !write_frame(write, &refusal).await {
                    return None;
                }
            }
        }
    }
}

/// How much of a client's queue one write may carry.
const WRITE_BATCH_BYTES: usize = 64 * 1024;

/// `first` and the frames queued behind it, joined so that one write
/// carries many of them: during a burst the core queues events faster than
/// one write per frame goes out, and a client that reads at full speed
/// must not be cut off as if it did not read. A later answer ends the
/// batch and is left in `held`: what follows it must wait for it.
fn batch(
    first: Outbound,
    queue: &mut mpsc::Receiver<Outbound>,
    unanswered: &mut usize,
    held: &mut Option<Outbound>,
) -> Arc<[u8]> {
    let mut taken = |outbound: &Outbound| {
        if outbound.answers {
            *unanswered = unanswered.saturating_sub(1);
        }
    };
    taken(&first);
    if queue.is_empty() {
        return first.bytes;
    }
    let mut joined = first.bytes.to_vec();
    while joined.len() < WRITE_BATCH_BYTES {
        let Ok(next) = queue.try_recv() else { break };
        if next.later.is_some() {
            *held = Some(next);
            break;
        }
        taken(&next);
        joined.extend_from_slice(&next.bytes);
    }
    joined.into()
}

/// The next frame to write: one a batch left behind, else the queue's.
async fn next_outbound(
    held: &mut Option<Outbound>,
    queue: &mut mpsc::Receiver<Outbound>,
) -> Option<Outbound> {
    match held.take() {
        Some(outbound) => Some(outbound),
        None => queue.recv().await,
    }
}

/// The answer being waited for (never ready without one). Cancel-safe:
/// the answer stays in `waiting` until it has come.
async fn later_answer(waiting: &mut Option<LaterAnswer>) -> Arc<[u8]> {
    let came = match waiting.as_mut() {
        Some(later) => (&mut later.frame).await,
        None => std::future::pending().await,
    };
    let id = waiting.take().map(|later| later.id);
    came.unwrap_or_else(|_| lost_answer(id))
}

async fn serve_client(
    stream: Stream,
    id: ClientId,
    core: mpsc::Sender<CoreInput>,
    limits: IpcLimits,
    mut stopping: watch::Receiver<bool>,
) {
    // The socket's 0600 mode and 0700 directory keep others out; this
    // check also holds where those are bypassed (root, a leaked fd).
    #[cfg(unix)]
    if let Err(why) = crate::instance::peer_is_us(&stream) {
        tracing::warn!(client = id, "refused a connection: {why}");
        return;
    }
    let (read, mut write) = tokio::io::split(stream);
    let mut reader = FrameReader::new(read);
    let role = match tokio::time::timeout(
        limits.handshake_timeout,
        handshake(&mut reader, &mut write, id),
    )
    .await
    {
        Ok(Some(role)) => role,
        Ok(None) => return,
        Err(_) => {
            let message = format!(
                "no hello within {} s; closing",
                limits.handshake_timeout.as_secs()
            );
            write_frame(
                &mut write,
                &error_frame(None, ErrorCode::HandshakeRequired, message),
            )
            .await;
            return;
        }
    };
    let (handle, mut out_rx) = ClientHandle::detached(id, role, limits.client_queue);
    let cut_off = handle.cut_off.clone();
    // Requests handed to the core and not yet answered: a client may send
    // its requests and close its side at once (`printf ... | socat`), and
    // still gets every answer.
    let mut unanswered: usize = 0;
    let mut reading = true;
    // The frame being written and how much of it is out. Writes go out with
    // `write`, which is cancel-safe, so a cut-off or a stop never leaves half
    // a frame behind.
    let mut current: Option<(Arc<[u8]>, usize)> = None;
    // A frame a batch stopped at (a later answer), and the later answer
    // being waited for: nothing after it goes out before it.
    let mut held: Option<Outbound> = None;
    let mut waiting: Option<LaterAnswer> = None;
    let mut lagged = false;
    while reading || unanswered > 0 || current.is_some() || waiting.is_some() || held.is_some() {
        tokio::select! {
            biased;
            _ = stopping.changed() => break,
            () = cut_off.notified() => {
                lagged = true;
                break;
            }
            written = write.write(current.as_ref().map(|(b, at)| &b[*at..]).unwrap_or_default()), if current.is_some() => {
                match written {
                    Ok(0) | Err(_) => return gone(&core, id).await,
                    Ok(n) => {
                        if let Some((bytes, at)) = current.as_mut() {
                            *at += n;
                            if *at == bytes.len() {
                                current = None;
                            }
                        }
                    }
                }
            }
            bytes = later_answer(&mut waiting), if waiting.is_some() && current.is_none() => {
                current = Some((bytes, 0));
            }
            Some(mut outbound) = next_outbound(&mut held, &mut out_rx), if current.is_none() && waiting.is_none() => {
                match outbound.later.take() {
                    Some(later) => {
                        unanswered = unanswered.saturating_sub(1);
                        waiting = Some(later);
                    }
                    None => {
                        current = Some((batch(outbound, &mut out_rx, &mut unanswered, &mut held), 0));
                    }
                }
            }
            next = next_request(&mut reader), if reading => {
                let input = match next {
                    Next::Closed => {
                        reading = false;
                        continue;
                    }
                    Next::TooLarge(e) => {
                        let error = error_frame(None, ErrorCode::FrameTooLarge, format!("{e}; closing the connection"));
                        reading = false;
                        CoreInput::Refused { client: handle.clone(), error }
                    }
                    Next::Rejected(error) => CoreInput::Refused { client: handle.clone(), error },
                    Next::Frame(ClientFrame { id: request_id, request: Request::Hello { .. } }) => CoreInput::Refused {
                        client: handle.clone(),
                        error: error_frame(Some(request_id), ErrorCode::InvalidArgument, "hello was already done on this connection"),
                    },
                    Next::Frame(frame) => CoreInput::Request { client: handle.clone(), id: frame.id, request: frame.request },
                };
                if core.send(input).await.is_err() {
                    break;
                }
                unanswered += 1;
            }
        }
    }
    // What is already queued (a `quit` answer, the last events) or, for a
    // client cut off, the rest of its current frame and the `lagged`
    // error, gets a grace period to go out; a client that still does not
    // read is then closed.
    let mut tail: Vec<Outbound> = Vec::new();
    if let Some((bytes, at)) = current.take() {
        tail.push(ready(bytes[at..].into()));
    }
    if lagged {
        let error = error_frame(
            None,
            ErrorCode::Lagged,
            "this connection fell too far behind the event stream; reconnect and subscribe again",
        );
        if let Ok(bytes) = encode_frame(&error) {
            tail.push(ready(bytes.into()));
        }
    } else {
        if let Some(later) = waiting.take() {
            tail.push(Outbound {
                bytes: Arc::from(Vec::new()),
                answers: true,
                later: Some(later),
            });
        }
        tail.extend(held.take());
        while let Ok(outbound) = out_rx.try_recv() {
            tail.push(outbound);
        }
    }
    let flush = async {
        for outbound in tail {
            let bytes = match outbound.later {
                Some(later) => later.bytes().await,
                None => outbound.bytes,
            };
            if write.write_all(&bytes).await.is_err() {
                break;
            }
        }
    };
    if tokio::time::timeout(limits.handshake_timeout, flush)
        .await
        .is_err()
    {
        tracing::debug!(client = id, "client did not take its last frames; closing");
    }
    let _ = write.shutdown().await;
    gone(&core, id).await;
}

fn ready(bytes: Arc<[u8]>) -> Outbound {
    Outbound {
        bytes,
        answers: false,
        later: None,
    }
}

async fn gone(core: &mpsc::Sender<CoreInput>, id: ClientId) {
    let _ = core.send(CoreInput::Gone(id)).await;
}
