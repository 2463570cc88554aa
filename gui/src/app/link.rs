//! What the daemon link says: attaching, events, going away.

use iced::Task;
use wimsy_ipc::{Applied, ChatRef, ErrorCode, Event, FrontendState, Request};

use super::{App, Connection, Message, View};
use crate::data::{Activity, ChatKey};
use crate::hooks;
use crate::link::{Answer, LinkEvent};

impl App {
    pub(super) fn on_link(&mut self, event: LinkEvent) -> Task<Message> {
        match event {
            LinkEvent::Ready(link) => {
                self.link = Some(link);
                Task::none()
            }
            LinkEvent::Starting => {
                self.connection = Connection::StartingDaemon;
                Task::none()
            }
            LinkEvent::Started(started) => {
                tracing::info!("background service started: {started:?}");
                Task::none()
            }
            LinkEvent::Attached {
                requester,
                daemon,
                snapshot,
            } => {
                tracing::debug!("attached to {daemon}");
                self.activity = Activity::from_snapshot(&snapshot);
                let state = FrontendState::from_snapshot(snapshot);
                // So an end-to-end test sees the window attached without
                // reading pixels.
                hooks::say(|| attached_line(state.accounts.len()));
                self.last_state = None;
                self.connection = Connection::Attached {
                    requester,
                    state,
                    resyncing: false,
                };
                self.notice = None;
                // A new connection knows nothing of this window's view.
                self.reported_view = None;
                self.view_fallback = false;
                self.marked_read.clear();
                self.observe_screens();
                Task::batch([
                    self.reload_conversations(),
                    self.open_from_launch(),
                    self.sign_in_if_no_account(),
                ])
            }
            LinkEvent::Event { seq, event } => self.on_event(seq, event),
            LinkEvent::Down(down) => {
                let was = std::mem::replace(&mut self.connection, Connection::Down(down));
                if let Connection::Attached { state, .. } = was {
                    self.last_state = Some(state);
                }
                Task::none()
            }
        }
    }

    fn on_event(&mut self, seq: u64, event: Event) -> Task<Message> {
        let task = self.apply_event(seq, event);
        self.observe_screens();
        Task::batch([task, self.sign_in_if_no_account()])
    }

    fn apply_event(&mut self, seq: u64, event: Event) -> Task<Message> {
        let Connection::Attached {
            requester,
            state,
            resyncing,
            ..
        } = &mut self.connection
        else {
            // Left over from a connection already reported down.
            return Task::none();
        };
        if *resyncing {
            return Task::none();
        }
        match state.apply(seq, &event) {
            Applied::Applied => {}
            Applied::Stale => return Task::none(),
            // A newer daemon's kind of event: counted, nothing to draw.
            Applied::Ignored => {
                tracing::debug!(seq, "skipped an event of a kind this version does not know");
                return Task::none();
            }
            Applied::Gap { expected, got } => {
                tracing::warn!("missed events {expected} to {}; resubscribing", got - 1);
                *resyncing = true;
                if let Some(link) = &self.link {
                    link.resubscribe(requester.connection);
                }
                return Task::none();
            }
        }
        match event {
            Event::Message { account, message } => {
                let key = ChatKey::new(&account, &message.peer);
                self.activity.touch(key.clone());
                if let Some(conversation) = self.conversations.get_mut(&key) {
                    conversation.live_message(message);
                    if let Some(open) = self.open.as_mut().filter(|o| o.chat == key) {
                        open.grew_at_bottom(1);
                    }
                }
            }
            Event::Delivery {
                account,
                message_id,
                delivery,
                reason,
            } => {
                // The event does not name the chat; only open ones matter.
                for (key, conversation) in &mut self.conversations {
                    if key.account == account
                        && conversation.delivery(message_id, delivery, reason.clone())
                    {
                        break;
                    }
                }
            }
            // A click on the chat's notification: show it, in front.
            Event::OpenChat { account, peer } => {
                self.dialog = None;
                self.page = super::Page::Chat;
                let open = self.open_chat(ChatKey::new(&account, &peer), true);
                let raise = iced::window::latest().and_then(iced::window::gain_focus);
                return Task::batch([open, raise]);
            }
            Event::ShowWindow => {
                return iced::window::latest().and_then(iced::window::gain_focus);
            }
            Event::AccountRemoved { account } => {
                self.conversations.retain(|key, _| key.account != account);
                if self
                    .open
                    .as_ref()
                    .is_some_and(|o| o.chat.account == account)
                {
                    self.open = None;
                }
            }
            _ => {}
        }
        Task::none()
    }

    /// Ask again for the newest page of every chat this window has open:
    /// events may have been missed while the daemon was away.
    fn reload_conversations(&mut self) -> Task<Message> {
        let keys: Vec<ChatKey> = self.conversations.keys().cloned().collect();
        let mut tasks = Vec::new();
        for key in keys {
            let token = self.tokens.next();
            if let Some(conversation) = self.conversations.get_mut(&key) {
                conversation.reload(token);
            }
            tasks.push(self.ask_page(&key, token, None));
        }
        Task::batch(tasks)
    }

    /// Open the chat `--chat` named, once the accounts are known.
    fn open_from_launch(&mut self) -> Task<Message> {
        let Some((account, peer)) = self.launch.chat.take() else {
            return Task::none();
        };
        let Some(state) = self.state() else {
            return Task::none();
        };
        let account = account
            .filter(|a| state.accounts.contains_key(a))
            .or_else(|| {
                state
                    .accounts
                    .iter()
                    .find(|(_, view)| view.chats.contains_key(&peer))
                    .map(|(jid, _)| jid.clone())
            })
            .or_else(|| state.accounts.keys().next().cloned());
        match account {
            Some(account) => self.open_chat(ChatKey::new(&account, &peer), true),
            None => {
                self.notice = Some(format!(
                    "Cannot open the chat with {peer}: there is no account yet."
                ));
                Task::none()
            }
        }
    }

    /// Tell the daemon whether the window is seen and which chat is open,
    /// when that changed.
    pub(super) fn report_view(&mut self) -> Task<Message> {
        if self.requester().is_none() {
            return Task::none();
        }
        let view = View {
            visible: true,
            focused: self.focused,
            chat: self.open.as_ref().map(|o| o.chat.clone()),
        };
        if self.reported_view.as_ref() == Some(&view) {
            return Task::none();
        }
        self.reported_view = Some(view.clone());
        let request = if self.view_fallback {
            Request::SetVisibility {
                visible: view.visible,
            }
        } else {
            Request::SetView {
                visible: view.visible,
                focused: view.focused,
                chat: view.chat.map(|c| ChatRef {
                    account: c.account,
                    peer: c.peer,
                }),
            }
        };
        self.ask(request, Message::ViewReported)
    }

    /// A daemon older than `set_view` refuses it; it still takes
    /// `set_visibility`, which says the one thing it can use.
    pub(super) fn on_view_reported(&mut self, answer: Answer) -> Task<Message> {
        match answer {
            Err(e) if e.code == Some(ErrorCode::UnknownRequest) && !self.view_fallback => {
                tracing::info!("the daemon does not take set_view; reporting visibility only");
                self.view_fallback = true;
                self.reported_view = None;
                self.report_view()
            }
            Err(e) => {
                tracing::debug!("reporting the view failed: {}", e.message);
                Task::none()
            }
            Ok(_) => Task::none(),
        }
    }
}

/// The line an end-to-end test waits for.
pub(super) fn attached_line(accounts: usize) -> String {
    format!("attached {accounts} accounts")
}
