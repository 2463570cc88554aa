//! One module per screen. Each has a `State`, a `Message`, an `update` that
//! returns a task and maybe an `Event` for its parent (the app), and a
//! `view`. Screens never talk to the daemon themselves: they return an
//! event, and the app sends the request and routes the answer back.

pub mod conversation;
pub mod dialog;
pub mod sidebar;
pub mod start_chat;
pub mod style;
