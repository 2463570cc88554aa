//! One open chat's messages: history pages from the store merged with live
//! `message` and `delivery` events, in the store's order, with no duplicate
//! and no gap.
//!
//! The merge cannot lean on arrival order. Events reach the app in the
//! daemon's order, but an answer to a `history` request comes back on its
//! own task, so the app may see a page before or after events the daemon
//! sent before or after computing it. Three rules make the result the same
//! either way:
//! - a message is identified by its store id, so one seen twice is kept once;
//! - the last `delivery` event about a message wins over what a page says
//!   (events come in the daemon's order; a page may have been read before
//!   the newest of them, and a retry moves `failed` back to `queued`);
//! - while the newest page is awaited, every message an event placed last
//!   (a new message, or one just written to the server, which the store
//!   moves to the end of history) is remembered in order, and laid after
//!   the page when it comes.

use std::collections::{HashMap, HashSet};

use wimsy_ipc::{ChatMessage, Delivery};

/// How many messages one `history` request asks for. A screenful at scale
/// 1.0 is about 30 rows; a page covers a few, and stays small enough to
/// answer at once from a 10,000-message chat.
pub const PAGE: u32 = 100;

/// A message as the conversation shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// The stored message, with the newest known delivery stage.
    pub message: ChatMessage,
    /// Why it failed, when it did and the daemon said.
    pub failure: Option<String>,
}

/// What is known about the messages older than the oldest loaded one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Older {
    /// The newest page has not come yet.
    Unknown,
    /// More exist; this cursor fetches the next page.
    More(String),
    /// A page was asked with request number `token`.
    Loading {
        /// The request's number.
        token: u64,
        /// Its cursor, to ask again if it fails.
        cursor: String,
    },
    /// The oldest loaded message is the first of the chat.
    Start,
}

/// One open chat.
#[derive(Debug, Clone)]
pub struct Conversation {
    /// Oldest first.
    messages: Vec<Shown>,
    older: Older,
    /// The request number of the awaited newest page, if one is awaited.
    newest_page: Option<u64>,
    /// While the newest page is awaited: ids events placed last, in order.
    tail: Vec<i64>,
    /// The newest stage (and failure reason) events told, per message.
    stages: HashMap<i64, (Delivery, Option<String>)>,
    /// The newest page failed with these words.
    failed: Option<String>,
}

impl Conversation {
    /// A chat whose newest page was asked with request number `token`.
    pub fn opening(token: u64) -> Self {
        Self {
            messages: Vec::new(),
            older: Older::Unknown,
            newest_page: Some(token),
            tail: Vec::new(),
            stages: HashMap::new(),
            failed: None,
        }
    }

    /// Ask the newest page again (after a reconnection, when events may
    /// have been missed): what is loaded stays shown until it comes.
    pub fn reload(&mut self, token: u64) {
        self.newest_page = Some(token);
        self.tail.clear();
        self.failed = None;
    }

    /// Loaded messages, oldest first.
    pub fn messages(&self) -> &[Shown] {
        &self.messages
    }

    /// The newest loaded message's id.
    pub fn newest_id(&self) -> Option<i64> {
        self.messages.last().map(|m| m.message.id)
    }

    /// Whether the newest page is still awaited.
    pub fn is_loading(&self) -> bool {
        self.newest_page.is_some()
    }

    /// What is known of older messages.
    pub fn older(&self) -> &Older {
        &self.older
    }

    /// Why the newest page could not be loaded, if it could not.
    pub fn failure(&self) -> Option<&str> {
        self.failed.as_deref()
    }

    /// The newest page came: `messages` newest first, as `history` answers.
    /// Returns false (and changes nothing) for a page not awaited.
    pub fn newest_page(
        &mut self,
        token: u64,
        messages: Vec<ChatMessage>,
        next_before: Option<String>,
    ) -> bool {
        if self.newest_page != Some(token) {
            return false;
        }
        self.newest_page = None;
        let tail: Vec<i64> = std::mem::take(&mut self.tail);
        let tail_set: HashSet<i64> = tail.iter().copied().collect();
        let mut known: HashMap<i64, Shown> =
            self.messages.drain(..).map(|m| (m.message.id, m)).collect();
        let mut merged: Vec<Shown> = Vec::with_capacity(messages.len() + tail.len());
        let mut page_ids = HashSet::new();
        for message in messages.into_iter().rev() {
            page_ids.insert(message.id);
            let shown = self.with_stage(message);
            if tail_set.contains(&shown.message.id) {
                // Placed later by an event; laid with the tail below.
                known.entry(shown.message.id).or_insert(shown);
            } else {
                known.remove(&shown.message.id);
                merged.push(shown);
            }
        }
        for id in tail {
            if let Some(shown) = known.remove(&id) {
                merged.push(shown);
            }
        }
        self.older = match next_before {
            Some(cursor) => Older::More(cursor),
            None => Older::Start,
        };
        self.messages = merged;
        true
    }

    /// The newest page failed; `why` is for the screen.
    pub fn newest_page_failed(&mut self, token: u64, why: String) {
        if self.newest_page == Some(token) {
            self.newest_page = None;
            self.failed = Some(why);
        }
    }

    /// Start loading the next older page as request `token`: its cursor,
    /// or `None` when there is nothing to load or a page is on its way.
    pub fn want_older(&mut self, token: u64) -> Option<String> {
        let Older::More(cursor) = &self.older else {
            return None;
        };
        let cursor = cursor.clone();
        self.older = Older::Loading {
            token,
            cursor: cursor.clone(),
        };
        Some(cursor)
    }

    /// An older page came, newest first. Returns how many messages it
    /// added (0 for a page not awaited).
    pub fn older_page(
        &mut self,
        token: u64,
        messages: Vec<ChatMessage>,
        next_before: Option<String>,
    ) -> usize {
        if !matches!(self.older, Older::Loading { token: t, .. } if t == token) {
            return 0;
        }
        let present: HashSet<i64> = self.messages.iter().map(|m| m.message.id).collect();
        let mut older: Vec<Shown> = messages
            .into_iter()
            .rev()
            .filter(|m| !present.contains(&m.id))
            .map(|m| self.with_stage(m))
            .collect();
        let added = older.len();
        older.append(&mut self.messages);
        self.messages = older;
        self.older = match next_before {
            Some(cursor) => Older::More(cursor),
            None => Older::Start,
        };
        added
    }

    /// An older page failed: it can be asked again.
    pub fn older_page_failed(&mut self, token: u64) {
        if let Older::Loading { token: t, cursor } = &self.older
            && *t == token
        {
            self.older = Older::More(cursor.clone());
        }
    }

    /// A `message` event for this chat: a newly stored message, last in
    /// history.
    pub fn live_message(&mut self, message: ChatMessage) {
        let id = message.id;
        let shown = self.with_stage(message);
        match self.messages.iter_mut().find(|m| m.message.id == id) {
            // Already shown (a page computed after the event came first).
            Some(present) => *present = shown,
            None => self.messages.push(shown),
        }
        if self.newest_page.is_some() {
            self.place_in_tail(id);
        }
    }

    /// A `delivery` event. Returns whether a loaded message changed.
    pub fn delivery(&mut self, id: i64, delivery: Delivery, reason: Option<String>) -> bool {
        if delivery == Delivery::Unknown {
            // A newer daemon's stage: the last known one stays shown.
            return false;
        }
        self.stages.insert(id, (delivery, reason.clone()));
        // Written to the server: the store gives it the last place.
        let moved = delivery == Delivery::Sent;
        if moved && self.newest_page.is_some() {
            self.place_in_tail(id);
        }
        let Some(at) = self.messages.iter().position(|m| m.message.id == id) else {
            return false;
        };
        self.messages[at].message.delivery = delivery;
        self.messages[at].failure = reason;
        if moved {
            let shown = self.messages.remove(at);
            self.messages.push(shown);
        }
        true
    }

    fn place_in_tail(&mut self, id: i64) {
        self.tail.retain(|t| *t != id);
        self.tail.push(id);
    }

    /// `message` with the stage the last event about it told.
    fn with_stage(&self, mut message: ChatMessage) -> Shown {
        let mut failure = None;
        if let Some((stage, reason)) = self.stages.get(&message.id) {
            message.delivery = *stage;
            failure.clone_from(reason);
        }
        Shown { message, failure }
    }
}
