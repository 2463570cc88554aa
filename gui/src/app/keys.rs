//! The keyboard shortcuts and the window's own events (focus, close).

use iced::keyboard::{self, Key, key::Named};
use iced::{Subscription, Task, event, window};
use wimsy_ipc::Request;

use super::{App, Connection, Dialog, Message};
use crate::hooks;
use crate::screen::dialog::{self, Ask};

/// A keyboard shortcut of the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortcut {
    /// Ctrl+N: start a chat.
    StartChat,
    /// Ctrl+K: find a chat by typing.
    FindChat,
    /// Ctrl+Tab: the next chat in the list.
    NextChat,
    /// Ctrl+Shift+Tab: the previous one.
    PreviousChat,
    /// Ctrl+Q: quit.
    Quit,
    /// Escape: leave a dialog.
    Escape,
    /// Tab: the next field or button.
    FocusNext,
    /// Shift+Tab: the previous one.
    FocusPrevious,
}

/// Keys, focus and close requests.
pub(super) fn subscription() -> Subscription<Message> {
    Subscription::batch([
        event::listen_with(on_event),
        window::close_requests().map(Message::CloseRequested),
    ])
}

/// Shortcuts are taken whether or not a widget used the key press: the
/// editors leave Ctrl+letter and Ctrl+Tab alone, and Escape must leave a
/// dialog even from its text field.
fn on_event(event: iced::Event, status: event::Status, _window: window::Id) -> Option<Message> {
    match event {
        iced::Event::Keyboard(keyboard::Event::KeyPressed {
            key,
            modifiers,
            physical_key,
            ..
        }) => {
            if matches!(key.as_ref(), Key::Named(Named::Escape)) {
                return Some(Message::Shortcut(Shortcut::Escape));
            }
            if !modifiers.command() {
                // Plain Tab moves between fields, unless a widget took it.
                let tab = matches!(key.as_ref(), Key::Named(Named::Tab));
                if tab && status == event::Status::Ignored && !modifiers.alt() {
                    return Some(Message::Shortcut(if modifiers.shift() {
                        Shortcut::FocusPrevious
                    } else {
                        Shortcut::FocusNext
                    }));
                }
                return None;
            }
            if matches!(key.as_ref(), Key::Named(Named::Tab)) {
                return Some(Message::Shortcut(if modifiers.shift() {
                    Shortcut::PreviousChat
                } else {
                    Shortcut::NextChat
                }));
            }
            let shortcut = match key.to_latin(physical_key) {
                Some('n') => Shortcut::StartChat,
                Some('k') => Shortcut::FindChat,
                Some('q') => Shortcut::Quit,
                _ => return None,
            };
            Some(Message::Shortcut(shortcut))
        }
        iced::Event::Window(window::Event::Focused) => Some(Message::Focus(true)),
        iced::Event::Window(window::Event::Unfocused) => Some(Message::Focus(false)),
        _ => None,
    }
}

impl App {
    pub(super) fn on_shortcut(&mut self, shortcut: Shortcut) -> Task<Message> {
        match shortcut {
            Shortcut::FocusNext => iced::widget::operation::focus_next(),
            Shortcut::FocusPrevious => iced::widget::operation::focus_previous(),
            Shortcut::Escape => {
                let closed = if self.dialog.take().is_some() {
                    Task::none()
                } else {
                    // With no dialog, Escape is "Got it" on the first-run
                    // notice.
                    match &self.first_run {
                        Some(notice) if notice.is_showing() => {
                            self.on_first_run(crate::screen::first_run::Message::Dismiss)
                        }
                        _ => return Task::none(),
                    }
                };
                // Escape also took the focus from the field under the
                // dialog: writing goes on where it was.
                let back = match (&self.page, &self.open) {
                    (super::Page::Chat, Some(_)) => {
                        iced::widget::operation::focus(crate::screen::conversation::COMPOSER_ID)
                    }
                    _ => Task::none(),
                };
                Task::batch([closed, back])
            }
            // Other shortcuts wait while a question is asked.
            _ if matches!(self.dialog, Some(Dialog::Ask(_))) => Task::none(),
            Shortcut::StartChat => self.show_start_chat(),
            Shortcut::FindChat => {
                self.dialog = None;
                self.sidebar.focus_filter().map(Message::Sidebar)
            }
            Shortcut::NextChat | Shortcut::PreviousChat => {
                self.dialog = None;
                self.page = super::Page::Chat;
                self.switch_chat(shortcut == Shortcut::NextChat)
            }
            Shortcut::Quit => {
                self.dialog = Some(Dialog::Ask(Ask::Quit));
                Task::none()
            }
        }
    }

    /// Open the chat after (or before) the open one in the list.
    fn switch_chat(&mut self, forward: bool) -> Task<Message> {
        let Some(state) = self.state() else {
            return Task::none();
        };
        let rows = self.sidebar.rows(state, &self.activity);
        if rows.is_empty() {
            return Task::none();
        }
        let at = self
            .open
            .as_ref()
            .and_then(|o| rows.iter().position(|r| r.key == o.chat));
        let next = match (at, forward) {
            (None, _) => 0,
            (Some(i), true) => (i + 1) % rows.len(),
            (Some(i), false) => (i + rows.len() - 1) % rows.len(),
        };
        let key = rows[next].key.clone();
        self.open_chat(key, true)
    }

    pub(super) fn on_dialog(&mut self, answer: dialog::Message) -> Task<Message> {
        let Some(Dialog::Ask(_)) = self.dialog else {
            return Task::none();
        };
        self.dialog = None;
        match answer {
            dialog::Message::Cancel => Task::none(),
            dialog::Message::Confirm => self.quit(),
        }
    }

    /// Stop the daemon, then close; without a daemon, just close.
    fn quit(&mut self) -> Task<Message> {
        self.keep_draft();
        match &self.connection {
            Connection::Attached { .. } => self.ask(Request::Quit, Message::Quitted),
            _ => iced::exit(),
        }
    }

    pub(super) fn on_close_requested(&mut self, _id: window::Id) -> Task<Message> {
        hooks::say(|| "close-requested".to_owned());
        let attached = matches!(self.connection, Connection::Attached { .. });
        if self.keep_connected() || !attached {
            // The daemon keeps the accounts; this process has nothing left
            // to do.
            return iced::exit();
        }
        if self.close_asked {
            // Asked once already: a second close means it.
            return self.quit();
        }
        self.close_asked = true;
        self.dialog = Some(Dialog::Ask(Ask::Close));
        Task::none()
    }
}
