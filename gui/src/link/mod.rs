//! The window's link to the daemon.

mod answer;

#[allow(unused_imports)] // used by the screens as they are built
pub use answer::{Answer, RequestError};
