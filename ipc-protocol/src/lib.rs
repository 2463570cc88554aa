//! Wimsy's local IPC protocol, shared by `wimsyd` and every frontend.
//!
//! A connection goes like this (docs/ipc-protocol.md has the full spec and a
//! session typed by hand with `socat`):
//!
//! 1. The frontend connects to the daemon's local socket (see [`socket`]).
//! 2. Every frame is one JSON object on one line, at most
//!    [`MAX_FRAME_BYTES`] bytes. The client sends [`ClientFrame`]s
//!    (`{"id":1,"op":"status"}`), the daemon [`ServerFrame`]s.
//! 3. The first request must be `hello` with [`PROTOCOL_VERSION`]; a daemon
//!    speaking another version answers `protocol_mismatch` and closes.
//! 4. Each request gets exactly one `response` or `error` with its id.
//! 5. After `subscribe`, the answer carries a [`Snapshot`] as of event
//!    number `seq`, and every later [`Event`] follows in order, numbered
//!    `seq + 1`, `seq + 2`, ... A [`FrontendState`] rebuilds the state
//!    from them.
//! 6. A newer daemon may send kinds, states and fields this version does
//!    not know: they decode to explicit `Unknown` values ([`Event::Unknown`],
//!    [`ConnectionState::Unknown`], ...) that clients skip as
//!    docs/ipc-protocol.md says, never to a decoding error.
//!
//! This crate has no dependency on the rest of Wimsy.

#![warn(missing_docs)]

pub mod attention;
pub mod frame;
pub mod reducer;
pub mod settings;
pub mod socket;
pub mod types;

#[cfg(feature = "client")]
pub mod client;

pub use attention::{Mute, NotifierState, NotifierStatus};
pub use frame::{
    EncodeError, FrameDecoder, FrameError, KNOWN_OPS, MAX_FRAME_BYTES, RejectedFrame,
    decode_client_frame, decode_frame, encode_frame,
};
pub use reducer::{AccountView, Applied, FrontendState};
pub use settings::{Setting, SettingKind, SettingValue};
pub use socket::{SOCKET_ENV, default_socket_path, resolve_socket_path, start_command};
pub use types::*;

#[cfg(feature = "client")]
pub use client::{Client, ClientError, EventStream, FrameReader, Requester, connect_stream};

/// The protocol version spoken by this crate. Bumped only for changes that
/// break the compatibility rules in docs/ipc-protocol.md.
pub const PROTOCOL_VERSION: u32 = 1;

/// The largest page [`Request::History`] returns.
pub const MAX_HISTORY_PAGE: u32 = 500;
