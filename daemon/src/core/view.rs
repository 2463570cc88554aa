//! What each frontend shows (`set_view`, and the older `set_visibility`):
//! kept per connection, dropped with it. The sessions are told whether
//! anyone is looking (XEP-0352); the notifications ask whether a focused
//! window already shows a chat.

use wimsy_ipc::{ChatRef, ErrorBody, Response};

use super::Core;
use super::requests::{Answer, bare_jid};
use crate::ipc_server::ClientId;

/// One connection's view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct View {
    /// A window of it is visible.
    pub(crate) visible: bool,
    /// That window has the keyboard focus.
    pub(crate) focused: bool,
    /// The chat open in it, JIDs normalized.
    pub(crate) chat: Option<ChatRef>,
}

impl Core {
    /// Answer `set_view` (and `set_visibility`, which is `set_view` with
    /// no focus and no chat).
    pub(super) fn set_view(
        &mut self,
        client: ClientId,
        visible: bool,
        focused: bool,
        chat: Option<ChatRef>,
    ) -> Answer {
        let chat = chat.map(normalized).transpose()?;
        self.record_view(
            client,
            View {
                visible,
                focused,
                chat,
            },
        );
        Ok(Response::Done)
    }

    /// Replace `client`'s view (a default one is the same as none: a
    /// closed connection leaves that); tell every session when that makes
    /// the user start or stop looking.
    pub(crate) fn record_view(&mut self, client: ClientId, view: View) {
        let was_active = self.anyone_looking();
        if view == View::default() {
            self.views.remove(&client);
        } else {
            self.views.insert(client, view);
        }
        let active = self.anyone_looking();
        if active != was_active {
            tracing::debug!(active, "user attention changed");
            for account in self.accounts.values() {
                if account.session.set_active(active).is_err() {
                    tracing::warn!(account = %account.entry.jid, "the session has ended");
                }
            }
        }
    }

    /// Some connection shows a visible window (CSI active).
    pub(crate) fn anyone_looking(&self) -> bool {
        self.views.values().any(|v| v.visible)
    }

    /// A visible, focused window shows the chat with `peer` of `account`
    /// (both bare JIDs): a new message there needs no notification.
    pub(crate) fn chat_in_focus(&self, account: &str, peer: &str) -> bool {
        self.views.values().any(|v| {
            v.visible
                && v.focused
                && v.chat
                    .as_ref()
                    .is_some_and(|c| c.account == account && c.peer == peer)
        })
    }
}

fn normalized(chat: ChatRef) -> Result<ChatRef, ErrorBody> {
    Ok(ChatRef {
        account: bare_jid(&chat.account)?.to_string(),
        peer: bare_jid(&chat.peer)?.to_string(),
    })
}
