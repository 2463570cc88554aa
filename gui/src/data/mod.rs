//! What only the window knows, kept apart from how it is drawn: the open
//! chats' messages (history pages merged with live events), drafts, which
//! chat is selected, and the chat list's order. Pure and unit-tested; the
//! daemon's own state lives in the shared reducer (`FrontendState`).

mod chats;
mod conversation;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

pub use chats::{Activity, ChatRow, chat_rows};
pub use conversation::{Conversation, Older, PAGE, Shown};

/// A chat: one of our accounts and the other party, both bare JIDs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChatKey {
    /// Our account.
    pub account: String,
    /// The other party.
    pub peer: String,
}

impl ChatKey {
    /// The chat of `account` with `peer`.
    pub fn new(account: &str, peer: &str) -> Self {
        Self {
            account: account.to_owned(),
            peer: peer.to_owned(),
        }
    }
}

/// Unsent text per chat. Kept for the life of the window, through daemon
/// restarts (a draft never travels to the daemon).
#[derive(Debug, Clone, Default)]
pub struct Drafts(HashMap<ChatKey, String>);

impl Drafts {
    /// The draft of `chat`, empty if none.
    pub fn get(&self, chat: &ChatKey) -> &str {
        self.0.get(chat).map_or("", String::as_str)
    }

    /// Keep `text` as the draft of `chat` (an empty or blank one is dropped).
    pub fn set(&mut self, chat: &ChatKey, text: String) {
        if text.trim().is_empty() {
            self.0.remove(chat);
        } else {
            self.0.insert(chat.clone(), text);
        }
    }
}

/// Numbers requests so an answer can be matched to what is still awaited.
#[derive(Debug, Clone, Default)]
pub struct Tokens(u64);

impl Tokens {
    /// A number not handed out before.
    pub fn next(&mut self) -> u64 {
        self.0 += 1;
        self.0
    }
}
