//! Rebuilds a frontend's state from a snapshot and the events after it, the
//! same way in every frontend.

use std::collections::{BTreeMap, BTreeSet};

use crate::attention::NotifierStatus;
use crate::settings::Setting;
use crate::types::{
    ChatMessage, ChatSummary, ConnectionStatus, Contact, Delivery, Event, OwnPresence, Snapshot,
};

/// What a frontend knows about the daemon.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrontendState {
    /// Number of the last event applied.
    pub seq: u64,
    /// Accounts by bare JID.
    pub accounts: BTreeMap<String, AccountView>,
    /// The daemon said it is stopping.
    pub shutting_down: bool,
    /// Every setting the daemon offers, in its order.
    pub settings: Vec<Setting>,
    /// Whether desktop notifications can be shown, if the daemon says.
    pub notifier: Option<NotifierStatus>,
}

/// One account as a frontend sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountView {
    /// Connection state.
    pub status: ConnectionStatus,
    /// Contacts by bare JID.
    pub contacts: BTreeMap<String, Contact>,
    /// Chats by peer.
    pub chats: BTreeMap<String, ChatSummary>,
    /// Bare JIDs asking to see our presence, not answered yet.
    pub subscription_requests: BTreeSet<String>,
    /// The presence the user chose for this account.
    pub presence: OwnPresence,
    /// Muted chats: peer to when the mute ends (ms since the epoch;
    /// `None`: until unmuted).
    pub mutes: BTreeMap<String, Option<i64>>,
}

impl AccountView {
    fn new(status: ConnectionStatus) -> Self {
        Self {
            status,
            contacts: BTreeMap::new(),
            chats: BTreeMap::new(),
            subscription_requests: BTreeSet::new(),
            presence: OwnPresence::default(),
            mutes: BTreeMap::new(),
        }
    }

    /// Whether the chat with `peer` is muted.
    pub fn is_muted(&self, peer: &str) -> bool {
        self.mutes.contains_key(peer)
    }

    /// Unread messages over all chats.
    pub fn unread_total(&self) -> u32 {
        self.chats.values().map(|c| c.unread).sum()
    }
}

/// The outcome of applying one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The state changed (or the event was acknowledged).
    Applied,
    /// An event of a kind this version does not know (a newer daemon's):
    /// its number was taken, nothing else changed. Not an error: go on.
    Ignored,
    /// An event at or below the current number: already seen, ignored.
    Stale,
    /// Events were skipped: subscribe again for a fresh snapshot.
    Gap {
        /// The number expected.
        expected: u64,
        /// The number received.
        got: u64,
    },
}

impl FrontendState {
    /// The state a snapshot describes.
    pub fn from_snapshot(snapshot: Snapshot) -> Self {
        let accounts = snapshot
            .accounts
            .into_iter()
            .map(|a| {
                let mut view = AccountView::new(a.status);
                view.contacts = a.contacts.into_iter().map(|c| (c.jid.clone(), c)).collect();
                view.chats = a.chats.into_iter().map(|c| (c.peer.clone(), c)).collect();
                view.subscription_requests = a.subscription_requests.into_iter().collect();
                view.presence = a.presence;
                view.mutes = a.mutes.into_iter().map(|m| (m.peer, m.until_ms)).collect();
                (a.jid, view)
            })
            .collect();
        Self {
            seq: snapshot.seq,
            accounts,
            shutting_down: false,
            settings: snapshot.settings,
            notifier: snapshot.notifier,
        }
    }

    /// The setting with this key, if the daemon offers it.
    pub fn setting(&self, key: &str) -> Option<&Setting> {
        self.settings.iter().find(|s| s.key == key)
    }

    /// Apply event number `seq`.
    pub fn apply(&mut self, seq: u64, event: &Event) -> Applied {
        if seq <= self.seq {
            return Applied::Stale;
        }
        if seq != self.seq + 1 {
            return Applied::Gap {
                expected: self.seq + 1,
                got: seq,
            };
        }
        self.seq = seq;
        match event {
            Event::AccountAdded { account, status } => {
                // Re-adding an account that is already listed (one that
                // could not start, say) keeps its chats and contacts.
                self.accounts
                    .entry(account.clone())
                    .and_modify(|view| view.status = status.clone())
                    .or_insert_with(|| AccountView::new(status.clone()));
            }
            Event::AccountRemoved { account } => {
                self.accounts.remove(account);
            }
            Event::Connection { account, status } => {
                if let Some(view) = self.accounts.get_mut(account) {
                    view.status = status.clone();
                }
            }
            Event::Message { account, message } => {
                if let Some(view) = self.accounts.get_mut(account) {
                    record_message(view, message);
                }
            }
            Event::Delivery {
                account,
                message_id,
                delivery,
                ..
            } => {
                // A stage this version does not know says nothing it can
                // show: the last known one stays.
                if *delivery == Delivery::Unknown {
                    return Applied::Applied;
                }
                if let Some(view) = self.accounts.get_mut(account) {
                    for chat in view.chats.values_mut() {
                        if chat.last.id == *message_id {
                            chat.last.delivery = *delivery;
                        }
                    }
                }
            }
            Event::Contact { account, contact } => {
                if let Some(view) = self.accounts.get_mut(account) {
                    view.contacts.insert(contact.jid.clone(), contact.clone());
                }
            }
            Event::ContactRemoved { account, jid } => {
                if let Some(view) = self.accounts.get_mut(account) {
                    view.contacts.remove(jid);
                }
            }
            Event::SubscriptionRequest { account, jid } => {
                if let Some(view) = self.accounts.get_mut(account) {
                    view.subscription_requests.insert(jid.clone());
                }
            }
            Event::SubscriptionRequestGone { account, jid } => {
                if let Some(view) = self.accounts.get_mut(account) {
                    view.subscription_requests.remove(jid);
                }
            }
            Event::OwnPresence { account, presence } => {
                if let Some(view) = self.accounts.get_mut(account) {
                    view.presence = presence.clone();
                }
            }
            Event::Unread {
                account,
                peer,
                count,
            } => {
                if let Some(chat) = self
                    .accounts
                    .get_mut(account)
                    .and_then(|view| view.chats.get_mut(peer))
                {
                    chat.unread = *count;
                }
            }
            Event::Setting { key, value } => {
                // A key the snapshot did not offer has no words to show
                // it with: nothing to update.
                if let Some(setting) = self.settings.iter_mut().find(|s| s.key == *key) {
                    setting.value = value.clone();
                }
            }
            Event::Muted { account, mute } => {
                if let Some(view) = self.accounts.get_mut(account) {
                    view.mutes.insert(mute.peer.clone(), mute.until_ms);
                }
            }
            Event::Unmuted { account, peer } => {
                if let Some(view) = self.accounts.get_mut(account) {
                    view.mutes.remove(peer);
                }
            }
            // A request to the frontend, not a change of state.
            Event::OpenChat { .. } | Event::ShowWindow => {}
            Event::Notifier { status } => self.notifier = Some(status.clone()),
            Event::ShuttingDown => self.shutting_down = true,
            Event::Unknown => return Applied::Ignored,
        }
        Applied::Applied
    }
}

fn record_message(view: &mut AccountView, message: &ChatMessage) {
    match view.chats.get_mut(&message.peer) {
        // A `message` event is a newly stored message, and the daemon puts
        // each one last in history order, which is not timestamp order (a
        // message from the archive may carry an older time).
        Some(chat) => chat.last = message.clone(),
        None => {
            view.chats.insert(
                message.peer.clone(),
                ChatSummary {
                    peer: message.peer.clone(),
                    last: message.clone(),
                    unread: 0,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{SettingKind, SettingValue};

    fn keep_connected(value: bool) -> Setting {
        Setting {
            key: "background.keep_connected".into(),
            value: SettingValue::Bool(value),
            default: SettingValue::Bool(true),
            kind: SettingKind::Bool,
            choices: None,
            label: "Keep connected when all windows are closed".into(),
            description: String::new(),
        }
    }

    fn state_with_settings() -> FrontendState {
        FrontendState::from_snapshot(Snapshot {
            seq: 5,
            accounts: Vec::new(),
            settings: vec![keep_connected(true)],
            notifier: None,
        })
    }

    #[test]
    fn the_snapshot_settings_are_kept_and_a_setting_event_changes_one() {
        let mut state = state_with_settings();
        assert_eq!(
            state.setting("background.keep_connected"),
            Some(&keep_connected(true))
        );
        let event = Event::Setting {
            key: "background.keep_connected".into(),
            value: SettingValue::Bool(false),
        };
        assert_eq!(state.apply(6, &event), Applied::Applied);
        assert_eq!(state.settings, vec![keep_connected(false)]);
        assert_eq!(state.apply(6, &event), Applied::Stale);
    }

    #[test]
    fn a_setting_event_for_a_key_not_offered_changes_nothing_but_counts() {
        let mut state = state_with_settings();
        let event = Event::Setting {
            key: "notifications.sound".into(),
            value: SettingValue::Bool(false),
        };
        assert_eq!(state.apply(6, &event), Applied::Applied);
        assert_eq!(state.seq, 6);
        assert_eq!(state.settings, vec![keep_connected(true)]);
        assert_eq!(state.setting("notifications.sound"), None);
    }
}
