//! Newline-delimited JSON framing, sans I/O.
//!
//! A frame is one JSON object on one line, at most [`MAX_FRAME_BYTES`]
//! bytes including its newline. The decoder never holds more than the limit
//! plus one read chunk, so a peer cannot make us allocate without bound.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::types::{ClientFrame, ErrorBody, ErrorCode};

/// The largest frame either side accepts, newline included.
pub const MAX_FRAME_BYTES: usize = 1024 * 1024;

/// A frame could not be cut from the byte stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A line grew past the limit before its newline arrived.
    #[error("frame exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit that was exceeded.
        limit: usize,
    },
}

/// Cuts a byte stream into frames.
#[derive(Debug)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    scanned: usize,
    limit: usize,
    discarding: bool,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new(MAX_FRAME_BYTES)
    }
}

impl FrameDecoder {
    /// A decoder that refuses frames longer than `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            buf: Vec::new(),
            scanned: 0,
            limit,
            discarding: false,
        }
    }

    /// Append bytes read from the peer. Call [`Self::next_frame`] until it
    /// returns `None` before feeding more.
    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete frame (without its newline), an error for an
    /// oversized one, or `None` when more bytes are needed. After
    /// [`FrameError::TooLarge`] the rest of that line is skipped, so the
    /// caller may go on reading if it wants to.
    pub fn next_frame(&mut self) -> Option<Result<Vec<u8>, FrameError>> {
        loop {
            match self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
                Some(offset) => {
                    let end = self.scanned + offset;
                    let mut line: Vec<u8> = self.buf.drain(..=end).collect();
                    self.scanned = 0;
                    line.pop();
                    if self.discarding {
                        self.discarding = false;
                        continue;
                    }
                    if line.len() + 1 > self.limit {
                        return Some(Err(FrameError::TooLarge { limit: self.limit }));
                    }
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    return Some(Ok(line));
                }
                None => {
                    self.scanned = self.buf.len();
                    if self.discarding {
                        self.buf.clear();
                        self.scanned = 0;
                        return None;
                    }
                    if self.buf.len() >= self.limit {
                        self.buf.clear();
                        self.scanned = 0;
                        self.discarding = true;
                        return Some(Err(FrameError::TooLarge { limit: self.limit }));
                    }
                    return None;
                }
            }
        }
    }

    /// Bytes received but not yet returned as a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}

/// A value could not be written as a frame.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// serde_json refused the value.
    #[error("could not encode frame: {0}")]
    Json(#[from] serde_json::Error),
    /// The encoded frame would exceed the limit.
    #[error("encoded frame of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
}

/// Encode one frame: compact JSON and a newline.
pub fn encode_frame<T: Serialize>(value: &T) -> Result<Vec<u8>, EncodeError> {
    let mut bytes = serde_json::to_vec(value)?;
    bytes.push(b'\n');
    if bytes.len() > MAX_FRAME_BYTES {
        return Err(EncodeError::TooLarge {
            size: bytes.len(),
            limit: MAX_FRAME_BYTES,
        });
    }
    Ok(bytes)
}

/// Decode a frame from the daemon (or any typed frame).
pub fn decode_frame<T: DeserializeOwned>(frame: &[u8]) -> Result<T, serde_json::Error> {
    serde_json::from_slice(frame)
}

/// A client frame the daemon could not accept, with the id to answer to
/// when one could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedFrame {
    /// The request id, if the frame had a readable one.
    pub id: Option<u64>,
    /// The error to send back.
    pub error: ErrorBody,
}

/// Decode a frame from a client, telling apart a broken frame, an unknown
/// operation and a known one with bad arguments, so each gets its own code.
pub fn decode_client_frame(frame: &[u8]) -> Result<ClientFrame, RejectedFrame> {
    let value: serde_json::Value = serde_json::from_slice(frame).map_err(|e| RejectedFrame {
        id: None,
        error: ErrorBody::new(
            ErrorCode::BadFrame,
            format!("frame is not valid JSON: {e}; send one JSON object per line"),
        ),
    })?;
    let Some(object) = value.as_object() else {
        return Err(RejectedFrame {
            id: None,
            error: ErrorBody::new(ErrorCode::BadFrame, "frame is not a JSON object"),
        });
    };
    let id = object.get("id").and_then(serde_json::Value::as_u64);
    let Some(op) = object
        .get("op")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
    else {
        return Err(RejectedFrame {
            id,
            error: ErrorBody::new(ErrorCode::BadFrame, "frame has no string field \"op\""),
        });
    };
    if id.is_none() {
        return Err(RejectedFrame {
            id: None,
            error: ErrorBody::new(
                ErrorCode::BadFrame,
                "frame has no unsigned integer field \"id\"",
            ),
        });
    }
    if !KNOWN_OPS.contains(&op.as_str()) {
        return Err(RejectedFrame {
            id,
            error: ErrorBody::new(
                ErrorCode::UnknownRequest,
                format!(
                    "unknown op {op:?}; this daemon knows: {}",
                    KNOWN_OPS.join(", ")
                ),
            ),
        });
    }
    serde_json::from_value(value).map_err(|e| RejectedFrame {
        id,
        error: ErrorBody::new(
            ErrorCode::InvalidArgument,
            format!("invalid arguments for {op:?}: {e}"),
        ),
    })
}

/// Every `op` of [`crate::Request`], as spelled on the wire.
pub const KNOWN_OPS: &[&str] = &[
    "hello",
    "status",
    "account_add",
    "account_list",
    "account_remove",
    "account_trust",
    "account_password",
    "connect",
    "disconnect",
    "roster",
    "roster_add",
    "roster_rename",
    "roster_remove",
    "subscription_answer",
    "set_presence",
    "send",
    "history",
    "mark_read",
    "subscribe",
    "set_visibility",
    "settings_get",
    "settings_set",
    "set_view",
    "retry",
    "mute",
    "unmute",
    "show_window",
    "quit",
    "fail",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(decoder: &mut FrameDecoder) -> Vec<Result<Vec<u8>, FrameError>> {
        std::iter::from_fn(|| decoder.next_frame()).collect()
    }

    #[test]
    fn splits_lines_across_chunks() {
        let mut d = FrameDecoder::new(64);
        d.feed(b"{\"a\":1}\n{\"b\"");
        assert_eq!(frames(&mut d), vec![Ok(b"{\"a\":1}".to_vec())]);
        d.feed(b":2}\r\n\n");
        assert_eq!(frames(&mut d), vec![Ok(b"{\"b\":2}".to_vec())]);
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn oversized_line_is_refused_without_waiting_for_its_end_and_then_skipped() {
        let mut d = FrameDecoder::new(16);
        d.feed(&[b'x'; 20]);
        assert_eq!(
            frames(&mut d),
            vec![Err(FrameError::TooLarge { limit: 16 })]
        );
        assert_eq!(d.buffered(), 0, "the oversized prefix is not kept");
        d.feed(&[b'x'; 40]);
        assert!(frames(&mut d).is_empty());
        d.feed(b"xx\n{}\n");
        assert_eq!(frames(&mut d), vec![Ok(b"{}".to_vec())]);
    }

    #[test]
    fn a_complete_line_over_the_limit_is_refused() {
        let mut d = FrameDecoder::new(8);
        d.feed(b"123456789\n{}\n");
        assert_eq!(
            frames(&mut d),
            vec![Err(FrameError::TooLarge { limit: 8 }), Ok(b"{}".to_vec())]
        );
    }

    #[test]
    fn client_frames_get_the_right_error_code() {
        let code = |s: &str| decode_client_frame(s.as_bytes()).map_err(|r| (r.id, r.error.code));
        assert_eq!(code("nope"), Err((None, ErrorCode::BadFrame)));
        assert_eq!(code("[1]"), Err((None, ErrorCode::BadFrame)));
        assert_eq!(code(r#"{"op":"status"}"#), Err((None, ErrorCode::BadFrame)));
        assert_eq!(
            code(r#"{"id":4,"op":"dance"}"#),
            Err((Some(4), ErrorCode::UnknownRequest))
        );
        assert_eq!(
            code(r#"{"id":5,"op":"send","to":"a@b"}"#),
            Err((Some(5), ErrorCode::InvalidArgument))
        );
        assert!(code(r#"{"id":6,"op":"status"}"#).is_ok());
    }
}
