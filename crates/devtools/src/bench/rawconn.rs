//! An IPC connection driven by hand, for timing requests without the
//! benchmark's own decoding in the figure.

use std::path::Path;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use wimsy_ipc::{
    ClientFrame, MAX_FRAME_BYTES, Request, Response, Role, ServerFrame, decode_frame, encode_frame,
};

use super::harness::STEP;

/// The most one read takes from the socket.
const READ_CHUNK: usize = 64 * 1024;

/// An IPC connection driven by hand: requests are written as ready-made
/// frames and the clock stops when the answer's last byte is in. The
/// benchmark runs as a dev build, where decoding a page of JSON costs a
/// good part of a millisecond that a release frontend would not spend, so
/// decoding happens after the clock has stopped, and is timed on its own.
pub(super) struct RawConn {
    stream: UnixStream,
    buf: Vec<u8>,
    chunk: Box<[u8]>,
}

impl RawConn {
    /// Connects, without the `hello` (send it with [`Self::exchange`]).
    pub(super) async fn connect(socket: &Path) -> Result<Self> {
        let stream = tokio::time::timeout(STEP, UnixStream::connect(socket))
            .await
            .with_context(|| format!("connecting to {}: no answer", socket.display()))?
            .with_context(|| format!("connecting to {}", socket.display()))?;
        Ok(Self {
            stream,
            buf: Vec::with_capacity(READ_CHUNK),
            chunk: vec![0; READ_CHUNK].into_boxed_slice(),
        })
    }

    /// A connection that has said `hello`.
    pub(super) async fn attach(socket: &Path, role: Role) -> Result<Self> {
        let mut conn = Self::connect(socket).await?;
        let hello = Self::hello(role)?;
        let frame = conn.exchange(&hello).await.context("hello")?;
        match Self::answer(&frame, 1).context("hello")? {
            Response::Hello { .. } => Ok(conn),
            other => bail!("hello: unexpected answer {other:?}"),
        }
    }

    /// The `hello` request frame (id 1).
    pub(super) fn hello(role: Role) -> Result<Vec<u8>> {
        encode_frame(&ClientFrame {
            id: 1,
            request: Request::Hello {
                protocol: wimsy_ipc::PROTOCOL_VERSION,
                role,
                client: "xtask-bench".to_owned(),
            },
        })
        .context("encoding hello")
    }

    /// Writes `request` (one frame) and reads until the end of a frame;
    /// the answer's frame. Whatever was read before (events) is dropped.
    pub(super) async fn exchange(&mut self, request: &[u8]) -> Result<Vec<u8>> {
        match tokio::time::timeout(STEP, self.exchange_inner(request)).await {
            Ok(result) => result,
            Err(_) => bail!("no answer within {STEP:?}"),
        }
    }

    async fn exchange_inner(&mut self, request: &[u8]) -> Result<Vec<u8>> {
        self.buf.clear();
        self.stream
            .write_all(request)
            .await
            .context("writing a request")?;
        // Frames are single JSON lines and the answer is the first to
        // come, so a read that ends with a newline has completed it: only
        // the last byte need be looked at, not every byte read.
        loop {
            let n = self
                .stream
                .read(&mut self.chunk)
                .await
                .context("reading an answer")?;
            if n == 0 {
                bail!("the daemon closed the connection");
            }
            self.buf.extend_from_slice(&self.chunk[..n]);
            if self.buf.len() > MAX_FRAME_BYTES * 4 {
                bail!("{} bytes without an answer's end", self.buf.len());
            }
            if self.buf.last() == Some(&b'\n') {
                break;
            }
        }
        let end = self
            .buf
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.buf.len(), |i| i + 1);
        Ok(self.buf[..end].to_vec())
    }

    /// Decodes the answer to request `id`.
    pub(super) fn answer(frame: &[u8], id: u64) -> Result<Response> {
        match decode_frame::<ServerFrame>(frame).context("decoding an answer")? {
            ServerFrame::Response { id: got, result } if got == id => Ok(result),
            ServerFrame::Error { error, .. } => {
                bail!("the daemon answered with an error: {error:?}")
            }
            other => bail!("not the answer to request {id}: {other:?}"),
        }
    }
}
