//! The window's screens. Each one has its own `State`, `Message`, `update`
//! (which returns a task and an event for its parent) and `view`; a screen
//! that needs the daemon hands its parent an `Event::Request` whose answer
//! comes back as one of its own messages.

pub mod address;
pub mod common;
pub mod first_run;
pub mod presence;
pub mod roster;
pub mod settings;
pub mod sign_in;
#[cfg(test)]
mod testing;
