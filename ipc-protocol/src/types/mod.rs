//! Every message that crosses the socket, as Rust types.
//!
//! Compatibility rules (see docs/ipc-protocol.md): names are never renamed;
//! a new field always has a serde default so older peers keep parsing; a
//! change that breaks either rule bumps [`crate::PROTOCOL_VERSION`].

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::attention::{Mute, NotifierStatus};
use crate::settings::{Setting, SettingValue};

mod chat;
mod event;
mod request;
mod response;
mod status;

pub use chat::*;
pub use event::*;
pub use request::*;
pub use response::*;
pub use status::*;
