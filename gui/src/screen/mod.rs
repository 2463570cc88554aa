//! The window's screens. Each one has its own `State`, `Message`, `update`
//! (which returns a task and maybe an event for its parent, the app) and
//! `view`. Screens never talk to the daemon themselves: one that needs it
//! hands the app an `Event::Request` whose answer comes back as one of its
//! own messages.

pub mod address;
pub mod common;
pub mod conversation;
pub mod dialog;
pub mod first_run;
pub mod presence;
pub mod roster;
pub mod settings;
pub mod sidebar;
pub mod sign_in;
pub mod start_chat;
pub mod style;
#[cfg(test)]
mod testing;
