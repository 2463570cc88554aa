//! The window's link to the daemon, as an iced subscription.
//!
//! iced keeps a subscription's stream running for as long as the app keeps
//! returning it (identified by the socket path), so one task owns the link
//! for the whole life of the window (`attach.rs`): it attaches, starting the
//! daemon first if none answers (`start.rs`), hands the app a pipelined
//! [`Requester`] for the connection, forwards the snapshot and every event,
//! and when the daemon goes away says so and attaches again by itself.
//! Closing the window drops the stream and with it the socket: the daemon
//! just sees a frontend detach.

mod answer;
mod attach;
mod requester;
#[cfg(all(test, unix))]
mod tests;

pub use answer::Answer;
#[allow(unused_imports)] // the screens that ask the daemon carry it
pub use answer::RequestError;
pub use attach::{Down, Link, LinkEvent, RETRY_EVERY, connect};
pub use requester::Requester;

#[cfg(test)]
pub use requester::testing;

/// The name this frontend gives the daemon in its hello.
const CLIENT_NAME: &str = concat!("wimsy ", env!("CARGO_PKG_VERSION"));
