//! When a chat notifies: the core's side of desktop notifications. The
//! notification task (`crate::notify`) only shows and withdraws what it is
//! told.
//!
//! - A live message from a contact notifies, unless notifications are off
//!   or a focused window shows its chat; the chat's one notification is
//!   replaced, saying how many messages are unread, with the latest.
//! - Messages an archive catch-up brings never notify one by one: the
//!   chats they land in are noted, and when the catch-up is done each
//!   still unread, unfocused chat gets one notification. The first
//!   catch-up of an account with no archive position is the history of a
//!   newly added account, not news: it notifies nothing.
//! - Carbons of the user's own messages (sent from another device) never
//!   notify.
//! - Reading a chat (`mark_read` from any frontend) withdraws its
//!   notification; turning notifications off withdraws them all.

use std::collections::BTreeMap;

use wimsy_session::{MessageDirection, ReceivedMessage};
use wimsy_store::Inserted;

use super::Core;
use crate::notify::{ChatKey, Content, Order, Preview};
use crate::settings::{NOTIFICATIONS_ENABLED, NOTIFICATIONS_PREVIEW, NOTIFICATIONS_SOUND};

/// What one account's archive catch-up brought so far.
#[derive(Debug, Default)]
pub(crate) struct CatchUpNews {
    /// The account had no archive position: this catch-up is its whole
    /// history, not news.
    history: bool,
    /// Chats with new incoming messages, with the latest one's text.
    chats: BTreeMap<String, String>,
}

impl Core {
    /// Notify for what a stored batch brought. `had_position`: the account
    /// had an archive position before the batch.
    pub(super) fn notify_stored(
        &mut self,
        account: &str,
        received: &[ReceivedMessage],
        inserted: &[Inserted],
        had_position: bool,
    ) {
        // Whether a catch-up is the account's history is known at its
        // first page, new messages in it or not.
        if received.iter().any(|m| m.archived) && !self.catch_up_news.contains_key(account) {
            self.catch_up_news.insert(
                account.to_owned(),
                CatchUpNews {
                    history: !had_position,
                    chats: BTreeMap::new(),
                },
            );
        }
        for (message, inserted) in received.iter().zip(inserted) {
            let Inserted::New(stored) = inserted else {
                continue;
            };
            if message.direction == MessageDirection::SentElsewhere {
                continue;
            }
            if message.archived {
                if let Some(news) = self.catch_up_news.get_mut(account) {
                    news.chats.insert(stored.peer.clone(), stored.body.clone());
                }
            } else {
                self.notify_chat(account, &stored.peer, &stored.body);
            }
        }
    }

    /// An archive catch-up ended: one notification per chat it brought
    /// news to, if that chat is still unread and not in view.
    pub(super) fn notify_caught_up(&mut self, account: &str) {
        let Some(news) = self.catch_up_news.remove(account) else {
            return;
        };
        if news.history {
            tracing::debug!(
                %account,
                chats = news.chats.len(),
                "first catch-up of this account: its history is not notified"
            );
            return;
        }
        for (peer, latest) in news.chats {
            self.notify_chat(account, &peer, &latest);
        }
    }

    /// Show (or replace) the chat's notification, counting its unread
    /// messages, when the settings and the windows allow.
    fn notify_chat(&mut self, account: &str, peer: &str, latest: &str) {
        if !self.settings.bool(NOTIFICATIONS_ENABLED) || self.chat_in_focus(account, peer) {
            return;
        }
        let unread = match self.store.unread_count(account, peer) {
            Ok(unread) => unread,
            Err(e) => {
                tracing::error!(%account, "could not count unread messages: {e}");
                1
            }
        };
        // Read meanwhile (in another frontend, before a catch-up ended).
        if unread == 0 {
            return;
        }
        let content = Content::new(
            Preview::from_setting(&self.settings.text(NOTIFICATIONS_PREVIEW)),
            &self.contact_name(account, peer),
            unread,
            latest,
            self.settings.bool(NOTIFICATIONS_SOUND),
        );
        self.notifier
            .order(Order::Show(chat(account, peer), content));
    }

    /// The chat was read: its notification goes.
    pub(super) fn withdraw_notification(&mut self, account: &str, peer: &str) {
        self.notifier.order(Order::Close(chat(account, peer)));
    }

    /// A setting changed to `value`: turning notifications off withdraws
    /// those showing.
    pub(super) fn on_notification_setting(&mut self, key: &str, enabled: Option<bool>) {
        if key == NOTIFICATIONS_ENABLED && enabled == Some(false) {
            self.notifier.order(Order::CloseAll);
        }
    }

    /// The name the user gave the contact, else its address.
    fn contact_name(&self, account: &str, peer: &str) -> String {
        let roster = self
            .store
            .roster(account)
            .map(|(_, items)| items)
            .unwrap_or_default();
        roster
            .into_iter()
            .find(|item| item.jid == peer)
            .and_then(|item| item.name)
            .filter(|name| !name.trim().is_empty())
            .unwrap_or_else(|| peer.to_owned())
    }
}

fn chat(account: &str, peer: &str) -> ChatKey {
    ChatKey {
        account: account.to_owned(),
        peer: peer.to_owned(),
    }
}
