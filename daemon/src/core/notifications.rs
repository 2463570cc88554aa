//! When a chat notifies: the core's side of desktop notifications. The
//! notification task (`crate::notify`) only shows and withdraws what it is
//! told.
//!
//! - A live message from a contact notifies, unless notifications are off
//!   or a focused window shows its chat; the chat's one notification is
//!   replaced, saying how many messages are unread, with the latest.
//! - While an archive catch-up is under way (after a time offline), no
//!   message notifies one by one, the ones delivered live meanwhile (the
//!   server's offline storage) included: the chats they land in are noted,
//!   and when the catch-up ends each still unread, unfocused chat gets one
//!   notification. An account's first complete catch-up is the history
//!   of a newly added account, not news: what the archive holds then
//!   notifies nothing.
//! - Carbons of the user's own messages (sent from another device) never
//!   notify.
//! - Reading a chat (`mark_read` from any frontend) withdraws its
//!   notification; turning notifications off withdraws them all.

use std::collections::BTreeMap;

use wimsy_session::{MessageDirection, ReceivedMessage};
use wimsy_store::Inserted;

use super::Core;
use super::attention::Hush;
use crate::notify::{ChatKey, Content, Order, Preview};
use crate::settings::{NOTIFICATIONS_ENABLED, NOTIFICATIONS_PREVIEW, NOTIFICATIONS_SOUND};

/// What one account's archive catch-up brought so far. No `Debug`: it
/// holds message text.
pub(crate) struct CatchUpNews {
    /// The account never completed a catch-up: what the archive brings is
    /// its whole history, not news (what arrives live still is).
    history: bool,
    /// Chats with new incoming messages, with the latest one's text.
    chats: BTreeMap<String, String>,
}

impl Core {
    /// A catch-up began: gather its news until it ends.
    pub(super) fn catch_up_started(&mut self, account: &str) {
        // The position alone does not tell: an archive that was empty at
        // the first catch-up leaves none.
        let history = matches!(self.store.archive_position(account), Ok(None))
            && !self.history_fetched(account);
        self.catch_up_news
            .entry(account.to_owned())
            .or_insert_with(|| CatchUpNews {
                history,
                chats: BTreeMap::new(),
            });
    }

    /// Notify for what a stored batch brought, or note it for the end of
    /// the catch-up under way. A chat's notification is replaced in place,
    /// so a batch notifies each chat once, with its newest message (not
    /// once per message, each reading the unread count and the roster):
    /// only a carbon (our reply from elsewhere) in between ends a chat's
    /// run, since the quiet spell it starts applies after it.
    pub(super) fn notify_stored(
        &mut self,
        account: &str,
        received: &[ReceivedMessage],
        inserted: &[Inserted],
    ) {
        // Chats to notify, in the order of their first message, each with
        // its newest.
        let mut newest: Vec<(String, String)> = Vec::new();
        for (message, inserted) in received.iter().zip(inserted) {
            let Inserted::New(stored) = inserted else {
                continue;
            };
            if message.direction == MessageDirection::SentElsewhere {
                if !message.archived {
                    if let Some(at) = newest.iter().position(|(peer, _)| *peer == stored.peer) {
                        let (peer, body) = newest.remove(at);
                        self.notify_chat(account, &peer, &body);
                    }
                    self.replied_elsewhere(account, &stored.peer);
                }
                continue;
            }
            match self.catch_up_news.get_mut(account) {
                Some(news) if message.archived && news.history => {}
                Some(news) => {
                    news.chats.insert(stored.peer.clone(), stored.body.clone());
                }
                // The archive is only read in a catch-up; should its
                // messages come outside one, they are still not news.
                None if message.archived => {}
                None => match newest.iter_mut().find(|(peer, _)| *peer == stored.peer) {
                    Some((_, body)) => body.clone_from(&stored.body),
                    None => newest.push((stored.peer.clone(), stored.body.clone())),
                },
            }
        }
        for (peer, body) in newest {
            self.notify_chat(account, &peer, &body);
        }
    }

    /// A catch-up read the whole archive: the account's history is in.
    pub(super) fn catch_up_done(&mut self, account: &str) {
        if !self.history_fetched(account)
            && let Err(e) = self.store.set_setting(&history_key(account), "true")
        {
            tracing::error!(%account, "could not remember that the history is fetched: {e}");
        }
        self.notify_caught_up(account);
    }

    fn history_fetched(&self, account: &str) -> bool {
        matches!(self.store.setting(&history_key(account)), Ok(Some(v)) if v == "true")
    }

    /// An archive catch-up ended (or its connection did): one
    /// notification per chat it brought news to, if that chat is still
    /// unread and not in view.
    pub(super) fn notify_caught_up(&mut self, account: &str) {
        let Some(news) = self.catch_up_news.remove(account) else {
            return;
        };
        for (peer, latest) in news.chats {
            self.notify_chat(account, &peer, &latest);
        }
    }

    /// Show (or replace) the chat's notification, counting its unread
    /// messages, when the settings, the windows and the user's mutes and
    /// quiet times allow; hold it during do not disturb or quiet hours.
    fn notify_chat(&mut self, account: &str, peer: &str, latest: &str) {
        if !self.settings.bool(NOTIFICATIONS_ENABLED) || self.chat_in_focus(account, peer) {
            return;
        }
        match self.hush(account, peer) {
            Some(Hush::Drop) => {}
            Some(Hush::Hold) => self.hold(account, peer, latest),
            None => self.notify_chat_now(account, peer, latest, false),
        }
    }

    /// Show the chat's notification unless it was read meanwhile or is in
    /// view; `silent` asks for no sound whatever the setting.
    pub(super) fn notify_chat_now(
        &mut self,
        account: &str,
        peer: &str,
        latest: &str,
        silent: bool,
    ) {
        if !self.settings.bool(NOTIFICATIONS_ENABLED)
            || self.chat_in_focus(account, peer)
            || self.hush(account, peer) == Some(Hush::Drop)
        {
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
            self.settings.bool(NOTIFICATIONS_SOUND) && !silent,
        );
        self.notifier
            .order(Order::Show(chat(account, peer), content));
    }

    /// The chat was read: its notification goes.
    pub(super) fn withdraw_notification(&mut self, account: &str, peer: &str) {
        self.forget_held(account, peer);
        self.notifier.order(Order::Close(chat(account, peer)));
    }

    /// A setting changed to `value`: turning notifications off withdraws
    /// those showing.
    pub(super) fn on_notification_setting(&mut self, key: &str, enabled: Option<bool>) {
        if key == NOTIFICATIONS_ENABLED && enabled == Some(false) {
            self.notifier.order(Order::CloseAll);
        }
    }

    /// The account was removed: its notifications go, and so does what
    /// its catch-up gathered.
    pub(super) fn forget_notifications(&mut self, account: &str) {
        self.catch_up_news.remove(account);
        self.forget_attention(account);
        self.notifier.order(Order::CloseAccount(account.to_owned()));
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

/// Where the store remembers that an account's first catch-up is done.
fn history_key(account: &str) -> String {
    format!("account.{account}.history_fetched")
}

fn chat(account: &str, peer: &str) -> ChatKey {
    ChatKey {
        account: account.to_owned(),
        peer: peer.to_owned(),
    }
}
