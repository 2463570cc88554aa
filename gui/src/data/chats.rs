//! The chat list: every chat of every account, newest activity first, with
//! what a row shows. Computed from the reducer's state plus the order this
//! window has seen chats become active in.

use std::collections::HashMap;

use wimsy_ipc::{ChatMessage, Direction, FrontendState, PresenceView, Snapshot};

use super::ChatKey;

/// The order chats were last active in, newest first. The reducer keeps
/// chats by peer; the store's order (history order, not timestamps) comes
/// from the snapshot's chat lists and then from each `message` event.
#[derive(Debug, Clone, Default)]
pub struct Activity {
    /// Higher is newer.
    rank: HashMap<ChatKey, u64>,
    next: u64,
}

impl Activity {
    /// The order a snapshot gives. Each account's chats come newest first;
    /// accounts have no common order, so their lists are interleaved by the
    /// time of each chat's last message, the only thing they share.
    pub fn from_snapshot(snapshot: &Snapshot) -> Self {
        let mut lists: Vec<std::collections::VecDeque<(ChatKey, i64)>> = snapshot
            .accounts
            .iter()
            .map(|account| {
                account
                    .chats
                    .iter()
                    .map(|chat| {
                        (
                            ChatKey::new(&account.jid, &chat.peer),
                            chat.last.timestamp_ms,
                        )
                    })
                    .collect()
            })
            .collect();
        let total: usize = lists.iter().map(|l| l.len()).sum();
        let mut rank = HashMap::with_capacity(total);
        let mut next = total as u64;
        // Take the newest head each time: a merge of sorted lists.
        while let Some(list) = lists
            .iter_mut()
            .filter(|l| !l.is_empty())
            .max_by_key(|l| l.front().map(|(_, t)| *t))
        {
            if let Some((key, _)) = list.pop_front() {
                rank.insert(key, next);
                next = next.saturating_sub(1);
            }
        }
        Self {
            rank,
            next: total as u64 + 1,
        }
    }

    /// A message was stored in this chat: it is the newest active.
    pub fn touch(&mut self, key: ChatKey) {
        self.rank.insert(key, self.next);
        self.next += 1;
    }

    fn of(&self, key: &ChatKey) -> u64 {
        self.rank.get(key).copied().unwrap_or(0)
    }
}

/// One row of the chat list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatRow {
    /// Which chat.
    pub key: ChatKey,
    /// The contact's name, else the JID.
    pub title: String,
    /// The contact's presence, if it is in the roster.
    pub presence: Option<PresenceView>,
    /// The last message's first line, prefixed "You: " when it was ours.
    pub preview: String,
    /// Unread messages.
    pub unread: u32,
    /// The chat is muted.
    pub muted: bool,
}

/// Every chat whose title, JID or account matches `filter` (any case),
/// newest activity first.
pub fn chat_rows(state: &FrontendState, activity: &Activity, filter: &str) -> Vec<ChatRow> {
    let filter = filter.trim().to_lowercase();
    let mut rows: Vec<(u64, ChatRow)> = Vec::new();
    for (account, view) in &state.accounts {
        for (peer, chat) in &view.chats {
            let contact = view.contacts.get(peer);
            let title = contact
                .and_then(|c| c.name.clone())
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| peer.clone());
            if !filter.is_empty()
                && !title.to_lowercase().contains(&filter)
                && !peer.to_lowercase().contains(&filter)
            {
                continue;
            }
            let key = ChatKey::new(account, peer);
            rows.push((
                activity.of(&key),
                ChatRow {
                    key,
                    title,
                    presence: contact.map(|c| c.presence.clone()),
                    preview: preview(&chat.last),
                    unread: chat.unread,
                    muted: view.is_muted(peer),
                },
            ));
        }
    }
    rows.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.key.cmp(&b.1.key)));
    rows.into_iter().map(|(_, row)| row).collect()
}

/// A message's first line, cut to fit a row.
pub fn preview(message: &ChatMessage) -> String {
    const MAX: usize = 80;
    let line = message.body.lines().next().unwrap_or("").trim();
    let mut cut: String = line.chars().take(MAX).collect();
    if line.chars().count() > MAX || message.body.lines().nth(1).is_some() {
        cut.push('…');
    }
    match message.direction {
        Direction::Out => format!("You: {cut}"),
        _ => cut,
    }
}
