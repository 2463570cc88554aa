//! Opening chats, paging their history, sending, marking read.

use iced::Task;
use wimsy_ipc::{Request, Response};

use super::{App, Dialog, Message, Page};
use crate::data::{ChatKey, Conversation, PAGE};
use crate::hooks;
use crate::link::Answer;
use crate::screen::{conversation, settings, sidebar, sign_in, start_chat};

impl App {
    /// Open `key`: its conversation (loading its newest page the first
    /// time), its draft in the composer, and with `focus` the composer
    /// focused.
    pub(super) fn open_chat(&mut self, key: ChatKey, focus: bool) -> Task<Message> {
        let focus_task = if focus {
            conversation::State::focus_composer().map(Message::Conversation)
        } else {
            Task::none()
        };
        if self.open.as_ref().is_some_and(|o| o.chat == key) {
            return focus_task;
        }
        self.keep_draft();
        self.notice = None;
        self.open = Some(conversation::State::new(key.clone(), self.drafts.get(&key)));
        self.last_showing = None;
        hooks::say(|| format!("open {} {}", key.account, key.peer));
        let load = if self.conversations.contains_key(&key) {
            Task::none()
        } else {
            let token = self.tokens.next();
            self.conversations
                .insert(key.clone(), Conversation::opening(token));
            self.ask_page(&key, token, None)
        };
        Task::batch([load, focus_task])
    }

    /// Keep the composer's text as the open chat's draft.
    pub(super) fn keep_draft(&mut self) {
        if let Some(open) = &self.open {
            self.drafts.set(&open.chat, open.draft());
        }
    }

    /// Ask for a page of `key`'s history: the newest, or the one before
    /// `cursor`.
    pub(super) fn ask_page(
        &self,
        key: &ChatKey,
        token: u64,
        cursor: Option<String>,
    ) -> Task<Message> {
        let older = cursor.is_some();
        let chat = key.clone();
        self.ask(
            Request::History {
                account: Some(key.account.clone()),
                peer: key.peer.clone(),
                limit: Some(PAGE),
                before: cursor,
            },
            move |answer| Message::Page {
                chat,
                token,
                older,
                answer,
            },
        )
    }

    pub(super) fn on_page(
        &mut self,
        chat: &ChatKey,
        token: u64,
        older: bool,
        answer: Answer,
    ) -> Task<Message> {
        let Some(conversation) = self.conversations.get_mut(chat) else {
            return Task::none();
        };
        match (answer, older) {
            (
                Ok(Response::History {
                    messages,
                    next_before,
                    ..
                }),
                false,
            ) => {
                conversation.newest_page(token, messages, next_before);
            }
            (
                Ok(Response::History {
                    messages,
                    next_before,
                    ..
                }),
                true,
            ) => {
                conversation.older_page(token, messages, next_before);
            }
            (Ok(other), _) => {
                tracing::warn!("history answered with something else: {other:?}");
                let why = "The background service answered something unexpected.".to_owned();
                conversation.newest_page_failed(token, why);
                conversation.older_page_failed(token);
            }
            (Err(e), false) => conversation.newest_page_failed(token, e.message),
            (Err(e), true) => {
                conversation.older_page_failed(token);
                self.notice = Some(format!("Could not load older messages: {}", e.message));
            }
        }
        Task::none()
    }

    pub(super) fn on_sidebar(&mut self, message: sidebar::Message) -> Task<Message> {
        let rows = match self.state() {
            Some(state) => self.sidebar.rows(state, &self.activity),
            None => Vec::new(),
        };
        let (task, event) = self.sidebar.update(message, &rows);
        let task = task.map(Message::Sidebar);
        let then = match event {
            None => Task::none(),
            Some(sidebar::Event::Open(key)) => {
                self.page = Page::Chat;
                self.open_chat(key, true)
            }
            Some(sidebar::Event::Contacts(account)) => self.show_roster(account.as_deref()),
            Some(sidebar::Event::Settings) => self.show(Page::Settings(settings::State::default())),
            Some(sidebar::Event::AddAccount) => self.show(Page::SignIn(Box::new(
                sign_in::State::new(sign_in::Purpose::AnotherAccount),
            ))),
            Some(sidebar::Event::Fix(account)) => {
                self.show(Page::SignIn(Box::new(sign_in::State::fix(&account))))
            }
            Some(sidebar::Event::Presence(account)) => self.show_presence(&account),
            Some(sidebar::Event::StartChat) => self.show_start_chat(),
            Some(sidebar::Event::Quit) => {
                self.dialog = Some(Dialog::Ask(crate::screen::dialog::Ask::Quit));
                Task::none()
            }
        };
        Task::batch([task, then])
    }

    pub(super) fn show_start_chat(&mut self) -> Task<Message> {
        let accounts: Vec<String> = self
            .state()
            .map(|s| s.accounts.keys().cloned().collect())
            .unwrap_or_default();
        // The account the user is looking at: the contacts shown, else the
        // open chat's.
        let preferred = match &self.page {
            Page::Roster(roster) => roster.account().map(str::to_owned),
            _ => None,
        }
        .or_else(|| self.open.as_ref().map(|o| o.chat.account.clone()));
        self.dialog = Some(Dialog::StartChat(start_chat::State::new(
            accounts,
            preferred.as_deref(),
        )));
        start_chat::State::focus().map(Message::StartChat)
    }

    pub(super) fn on_start_chat(&mut self, message: start_chat::Message) -> Task<Message> {
        let Some(Dialog::StartChat(dialog)) = &mut self.dialog else {
            return Task::none();
        };
        let (task, event) = dialog.update(message);
        let task = task.map(Message::StartChat);
        let then = match event {
            None => Task::none(),
            Some(start_chat::Event::Cancel) => {
                self.dialog = None;
                Task::none()
            }
            Some(start_chat::Event::Open { account, peer }) => {
                self.dialog = None;
                self.page = Page::Chat;
                self.open_chat(ChatKey::new(&account, &peer), true)
            }
        };
        Task::batch([task, then])
    }

    pub(super) fn on_conversation(&mut self, message: conversation::Message) -> Task<Message> {
        let Some(open) = self.open.as_mut() else {
            return Task::none();
        };
        let chat = open.chat.clone();
        let (task, event) = open.update(message, self.conversations.get(&chat));
        let task = task.map(Message::Conversation);
        let then = match event {
            None => Task::none(),
            Some(conversation::Event::Send(text)) => self.send(&chat, text),
            // Without a daemon nothing can answer: the chat stays ready to
            // ask (its button shows) instead of saying it is loading.
            Some(conversation::Event::LoadOlder) if self.requester().is_none() => Task::none(),
            Some(conversation::Event::LoadOlder) => {
                let token = self.tokens.next();
                let cursor = self
                    .conversations
                    .get_mut(&chat)
                    .and_then(|c| c.want_older(token));
                match cursor {
                    Some(cursor) => self.ask_page(&chat, token, Some(cursor)),
                    None => Task::none(),
                }
            }
            Some(conversation::Event::Retry(id)) => self.ask(
                Request::Retry {
                    account: Some(chat.account.clone()),
                    message_id: id,
                },
                Message::Done,
            ),
            Some(conversation::Event::Mute(length)) => {
                let until_ms = length.map(|length| {
                    let length =
                        chrono::Duration::from_std(length).unwrap_or(chrono::Duration::MAX);
                    (chrono::Utc::now() + length).timestamp_millis()
                });
                self.ask(
                    Request::Mute {
                        account: Some(chat.account.clone()),
                        peer: chat.peer.clone(),
                        until_ms,
                    },
                    Message::Done,
                )
            }
            Some(conversation::Event::Unmute) => self.ask(
                Request::Unmute {
                    account: Some(chat.account.clone()),
                    peer: chat.peer.clone(),
                },
                Message::Done,
            ),
        };
        Task::batch([task, then])
    }

    fn send(&mut self, chat: &ChatKey, text: String) -> Task<Message> {
        self.drafts.set(chat, String::new());
        if self.requester().is_none() {
            if let Some(open) = self.open.as_mut() {
                open.restore(&text);
            }
            self.notice =
                Some("Not sent: Wimsy is not connected to its background service.".to_owned());
            return Task::none();
        }
        let key = chat.clone();
        self.ask(
            Request::Send {
                account: Some(chat.account.clone()),
                to: chat.peer.clone(),
                body: text.clone(),
            },
            move |answer| Message::Sent {
                chat: key,
                text,
                answer,
            },
        )
    }

    pub(super) fn on_sent(&mut self, chat: &ChatKey, text: &str, answer: Answer) -> Task<Message> {
        match answer {
            Ok(Response::Sent { message, .. }) => {
                self.notice = None;
                hooks::say(|| format!("sent {} {} {}", chat.account, chat.peer, message.id));
                // The `message` event brings it into the conversation.
            }
            Ok(other) => tracing::warn!("send answered with something else: {other:?}"),
            Err(e) => {
                self.notice = Some(format!("Not sent: {}", e.message));
                if let Some(open) = self.open.as_mut().filter(|o| &o.chat == chat) {
                    open.restore(text);
                } else {
                    self.drafts.set(chat, text.to_owned());
                }
            }
        }
        Task::none()
    }

    /// Mark the open chat read when its newest message is on screen in a
    /// focused window and it has unread messages.
    pub(super) fn mark_read_if_seen(&mut self) -> Task<Message> {
        if !self.focused || self.dialog.is_some() {
            return Task::none();
        }
        let Some(open) = self.open.as_ref().filter(|o| o.at_bottom()) else {
            return Task::none();
        };
        let key = open.chat.clone();
        let Some(newest) = self.conversations.get(&key).and_then(|c| c.newest_id()) else {
            return Task::none();
        };
        let unread = self
            .state()
            .and_then(|s| s.accounts.get(&key.account))
            .and_then(|a| a.chats.get(&key.peer))
            .is_some_and(|c| c.unread > 0);
        if !unread || self.marked_read.get(&key) == Some(&newest) {
            return Task::none();
        }
        self.marked_read.insert(key.clone(), newest);
        self.ask(
            Request::MarkRead {
                account: Some(key.account),
                peer: key.peer,
            },
            Message::Done,
        )
    }

    /// The `showing` hook: what the open conversation shows, on change.
    pub(super) fn say_showing(&mut self) {
        if !hooks::enabled() {
            return;
        }
        let Some(open) = &self.open else {
            return;
        };
        let Some(conversation) = self.conversations.get(&open.chat) else {
            return;
        };
        if conversation.is_loading() && conversation.messages().is_empty() {
            return;
        }
        let line = format!(
            "showing {} {} {} {}",
            open.chat.account,
            open.chat.peer,
            open.shown(conversation),
            conversation
                .newest_id()
                .map_or_else(|| "none".to_owned(), |id| id.to_string())
        );
        if self.last_showing.as_ref() != Some(&line) {
            hooks::say(|| line.clone());
            self.last_showing = Some(line);
        }
    }
}
