//! A small async client: connect, say hello, make requests, follow events.
//! [`Client::split`] turns it into a pipelined requester plus an event
//! stream, for frontends that ask many things at once.

use std::collections::VecDeque;
use std::io;
use std::path::{Path, PathBuf};

use interprocess::local_socket::tokio::Stream;
use interprocess::local_socket::traits::tokio::Stream as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};

mod pipeline;
pub mod start;

pub use pipeline::{EventStream, Requester};

use crate::PROTOCOL_VERSION;
use crate::frame::{FrameDecoder, FrameError, decode_frame, encode_frame};
use crate::types::{
    ClientFrame, ErrorBody, ErrorCode, Event, Request, Response, Role, ServerFrame, Snapshot,
};

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing listens at the socket.
    #[error(
        "no wimsyd is running at {path} ({source}); start it with `{}`",
        crate::socket::start_command(.path)
    )]
    NoDaemon {
        /// The socket tried.
        path: PathBuf,
        /// What connecting said.
        source: io::Error,
    },
    /// Reading or writing the socket failed.
    #[error("talking to wimsyd failed: {0}")]
    Io(#[from] io::Error),
    /// The daemon sent something that is not a frame of this protocol.
    #[error("wimsyd sent a frame this client cannot read: {0}")]
    Decode(String),
    /// The daemon sent a frame over the size limit.
    #[error("wimsyd sent a frame over the size limit: {0}")]
    Frame(#[from] FrameError),
    /// The daemon answered with an error.
    #[error("{0}")]
    Remote(ErrorBody),
    /// The daemon closed the connection.
    #[error("wimsyd closed the connection")]
    Closed,
    /// The daemon answered something that does not fit the request.
    #[error("wimsyd answered unexpectedly: {0}")]
    Unexpected(String),
}

impl ClientError {
    /// The daemon's error code, when the daemon refused.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Remote(body) => Some(body.code),
            _ => None,
        }
    }
}

/// A frame reader over any async byte source.
#[derive(Debug)]
pub struct FrameReader<R> {
    source: R,
    decoder: FrameDecoder,
    chunk: Box<[u8]>,
}

impl<R: tokio::io::AsyncRead + Unpin> FrameReader<R> {
    /// Read frames from `source`.
    pub fn new(source: R) -> Self {
        Self {
            source,
            decoder: FrameDecoder::default(),
            chunk: vec![0; 8192].into_boxed_slice(),
        }
    }

    /// The next frame's bytes, or `None` at a clean end of stream.
    pub async fn next_frame(&mut self) -> io::Result<Option<Result<Vec<u8>, FrameError>>> {
        loop {
            if let Some(frame) = self.decoder.next_frame() {
                return Ok(Some(frame));
            }
            let n = self.source.read(&mut self.chunk).await?;
            if n == 0 {
                return Ok(None);
            }
            self.decoder.feed(&self.chunk[..n]);
        }
    }
}

/// A connection to the daemon, after the handshake.
pub struct Client {
    reader: FrameReader<ReadHalf<Stream>>,
    writer: WriteHalf<Stream>,
    next_id: u64,
    queued_events: VecDeque<(u64, Event)>,
    daemon: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("daemon", &self.daemon)
            .finish_non_exhaustive()
    }
}

/// Open a local socket stream to `path`.
pub async fn connect_stream(path: &Path) -> io::Result<Stream> {
    #[cfg(unix)]
    {
        use interprocess::local_socket::{GenericFilePath, ToFsName};
        let name = path.to_fs_name::<GenericFilePath>()?;
        Stream::connect(name).await
    }
    #[cfg(windows)]
    {
        use interprocess::local_socket::{GenericNamespaced, ToNsName};
        let pipe = path.to_string_lossy();
        let pipe = pipe.trim_start_matches(r"\\.\pipe\").to_owned();
        let name = pipe.to_ns_name::<GenericNamespaced>()?;
        Stream::connect(name).await
    }
}

impl Client {
    /// Connect to the daemon at `path` and complete the handshake.
    pub async fn connect(path: &Path, role: Role, client_name: &str) -> Result<Self, ClientError> {
        let stream = connect_stream(path)
            .await
            .map_err(|source| ClientError::NoDaemon {
                path: path.to_path_buf(),
                source,
            })?;
        let (recv, send) = tokio::io::split(stream);
        let mut client = Self {
            reader: FrameReader::new(recv),
            writer: send,
            next_id: 1,
            queued_events: VecDeque::new(),
            daemon: String::new(),
        };
        let hello = Request::Hello {
            protocol: PROTOCOL_VERSION,
            role,
            client: client_name.to_owned(),
        };
        match client.request(hello).await? {
            Response::Hello { daemon, .. } => client.daemon = daemon,
            other => return Err(ClientError::Unexpected(format!("{other:?}"))),
        }
        Ok(client)
    }

    /// The daemon's name and version, from its hello.
    pub fn daemon_version(&self) -> &str {
        &self.daemon
    }

    /// Send a request and wait for its answer. Events that arrive meanwhile
    /// are kept for [`Self::next_event`].
    pub async fn request(&mut self, request: Request) -> Result<Response, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        let bytes = encode_frame(&ClientFrame { id, request })
            .map_err(|e| ClientError::Unexpected(e.to_string()))?;
        self.writer.write_all(&bytes).await?;
        loop {
            match self.read_frame().await? {
                ServerFrame::Response { id: got, result } if got == id => return Ok(result),
                ServerFrame::Error { id: got, error } if got == Some(id) || got.is_none() => {
                    return Err(ClientError::Remote(error));
                }
                ServerFrame::Event { seq, event } => self.queued_events.push_back((seq, event)),
                // A newer daemon's kind of frame: nothing this client can
                // act on, and not an answer to anything it asked.
                ServerFrame::Unknown => {}
                other => return Err(ClientError::Unexpected(format!("{other:?}"))),
            }
        }
    }

    /// Subscribe: the snapshot now, then events through [`Self::next_event`].
    pub async fn subscribe(&mut self) -> Result<Snapshot, ClientError> {
        match self.request(Request::Subscribe).await? {
            Response::Subscribed { snapshot } => Ok(snapshot),
            other => Err(ClientError::Unexpected(format!("{other:?}"))),
        }
    }

    /// The next event with its sequence number; `Ok(None)` when the daemon
    /// closed the connection cleanly. An event of a kind this version does
    /// not know comes as [`Event::Unknown`] (give it to the reducer, which
    /// counts its number); frames of an unknown type are skipped.
    pub async fn next_event(&mut self) -> Result<Option<(u64, Event)>, ClientError> {
        if let Some(queued) = self.queued_events.pop_front() {
            return Ok(Some(queued));
        }
        loop {
            return match self.read_frame().await {
                Ok(ServerFrame::Event { seq, event }) => Ok(Some((seq, event))),
                Ok(ServerFrame::Error { error, .. }) => Err(ClientError::Remote(error)),
                Ok(ServerFrame::Unknown) => continue,
                Ok(other) => Err(ClientError::Unexpected(format!("{other:?}"))),
                Err(ClientError::Closed) => Ok(None),
                Err(e) => Err(e),
            };
        }
    }

    /// The events that arrived while the last requests waited for their
    /// answers, taken out of what [`Self::next_event`] returns. They were
    /// published before those answers: a client that waits for what a
    /// request started (a login, say) drops them and reads on.
    pub fn take_queued_events(&mut self) -> Vec<(u64, Event)> {
        self.queued_events.drain(..).collect()
    }

    async fn read_frame(&mut self) -> Result<ServerFrame, ClientError> {
        match self.reader.next_frame().await? {
            None => Err(ClientError::Closed),
            Some(Err(e)) => Err(ClientError::Frame(e)),
            Some(Ok(bytes)) => decode_frame(&bytes).map_err(|e| ClientError::Decode(e.to_string())),
        }
    }
}
