//! The left column: each account with its status line, then the chat list
//! (newest activity first, filtered by typing), and the menu.

use iced::widget::{
    Column, button, column, container, operation, row, rule, scrollable, text, text_input,
};
use iced::{Element, Fill, Task};
use wimsy_ipc::{AccountView, ConnectionError, ConnectionState, FrontendState};

use crate::data::{Activity, ChatKey, ChatRow, chat_rows};
use crate::screen::{first_run, presence, style};
use crate::words::{self, Tone};

/// The filter field's id, focused by Ctrl+K.
pub const FILTER_ID: &str = "chat-filter";

/// The sidebar's own state.
#[derive(Debug, Clone, Default)]
pub struct State {
    filter: String,
    menu_open: bool,
}

/// What happens in the sidebar.
#[derive(Debug, Clone)]
pub enum Message {
    /// The filter text changed.
    Filter(String),
    /// Enter in the filter: open the first match.
    FilterSubmitted,
    /// A chat row was clicked.
    Open(ChatKey),
    /// The menu button.
    ToggleMenu,
    /// "Start a chat…".
    StartChat,
    /// "Quit Wimsy".
    Quit,
    /// "Contacts".
    Contacts,
    /// "Settings".
    Settings,
    /// "Add an account".
    AddAccount,
    /// An account's presence line was clicked.
    Presence(String),
    /// An account's "Fix…" button.
    Fix(String),
    /// An account's "contact requests" button.
    Requests(String),
}

/// What the app must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Open this chat.
    Open(ChatKey),
    /// Show the "start a chat" dialog.
    StartChat,
    /// Ask to quit.
    Quit,
    /// Show the contacts (of this account, if one is named).
    Contacts(Option<String>),
    /// Show the settings.
    Settings,
    /// Show the sign-in form for another account.
    AddAccount,
    /// Pick this account's own presence.
    Presence(String),
    /// Fix this account (password, certificate).
    Fix(String),
}

impl State {
    /// Apply a message; `rows` is the list as shown.
    pub fn update(&mut self, message: Message, rows: &[ChatRow]) -> (Task<Message>, Option<Event>) {
        match message {
            Message::Filter(filter) => {
                self.filter = filter;
                (Task::none(), None)
            }
            Message::FilterSubmitted => {
                let first = rows.first().map(|r| Event::Open(r.key.clone()));
                if first.is_some() {
                    self.filter.clear();
                }
                (Task::none(), first)
            }
            Message::Open(key) => (Task::none(), Some(Event::Open(key))),
            Message::ToggleMenu => {
                self.menu_open = !self.menu_open;
                (Task::none(), None)
            }
            Message::StartChat => {
                self.menu_open = false;
                (Task::none(), Some(Event::StartChat))
            }
            Message::Quit => {
                self.menu_open = false;
                (Task::none(), Some(Event::Quit))
            }
            Message::Contacts => {
                self.menu_open = false;
                (Task::none(), Some(Event::Contacts(None)))
            }
            Message::Settings => {
                self.menu_open = false;
                (Task::none(), Some(Event::Settings))
            }
            Message::AddAccount => {
                self.menu_open = false;
                (Task::none(), Some(Event::AddAccount))
            }
            Message::Presence(account) => (Task::none(), Some(Event::Presence(account))),
            Message::Fix(account) => (Task::none(), Some(Event::Fix(account))),
            Message::Requests(account) => (Task::none(), Some(Event::Contacts(Some(account)))),
        }
    }

    /// Focus the filter field (Ctrl+K).
    pub fn focus_filter(&self) -> Task<Message> {
        Task::batch([
            operation::focus(FILTER_ID),
            operation::select_all(FILTER_ID),
        ])
    }

    /// The chat list as shown.
    pub fn rows(&self, state: &FrontendState, activity: &Activity) -> Vec<ChatRow> {
        chat_rows(state, activity, &self.filter)
    }

    /// Draw the sidebar. Without `live`, `state` is what the daemon last
    /// said before it went away: its chats still show, its account states
    /// are not claimed.
    pub fn view<'a>(
        &'a self,
        state: Option<&'a FrontendState>,
        live: bool,
        activity: &Activity,
        open: Option<&ChatKey>,
    ) -> Element<'a, Message> {
        let mut header = row![text("Wimsy").size(20).width(Fill)].spacing(8);
        header = header.push(
            button(text("Menu"))
                .on_press(Message::ToggleMenu)
                .style(button::secondary),
        );
        let mut page = Column::new().spacing(10).padding(12).push(header);
        if self.menu_open {
            page = page.push(
                container(
                    column![
                        menu_item("Start a chat…  Ctrl+N", Message::StartChat),
                        menu_item("Contacts", Message::Contacts),
                        menu_item("Add an account…", Message::AddAccount),
                        menu_item("Settings", Message::Settings),
                        menu_item("Quit Wimsy  Ctrl+Q", Message::Quit),
                    ]
                    .spacing(2),
                )
                .style(container::bordered_box)
                .padding(4),
            );
        }
        let Some(state) = state else {
            return container(page).height(Fill).into();
        };
        for (jid, account) in &state.accounts {
            page = page.push(account_block(jid, account, live));
        }
        if live && !state.accounts.is_empty() {
            // What closing the window does, always in sight; a click leads
            // to the setting that changes it.
            page = page.push(
                button(text(closing_words(state)).size(12).style(text::secondary))
                    .on_press(Message::Settings)
                    .padding(0)
                    .style(button::text),
            );
        }
        page = page.push(rule::horizontal(1));
        page = page.push(
            text_input("Filter chats (Ctrl+K)", &self.filter)
                .id(FILTER_ID)
                .on_input(Message::Filter)
                .on_submit(Message::FilterSubmitted)
                .padding(6),
        );
        let several = state.accounts.len() > 1;
        let rows = chat_rows(state, activity, &self.filter);
        if rows.is_empty() {
            let empty = if self.filter.trim().is_empty() {
                "No chats yet. Start one with Ctrl+N."
            } else {
                "No chat matches."
            };
            page = page.push(text(empty).size(13).style(text::secondary));
        }
        let list =
            Column::with_children(rows.into_iter().map(|r| chat_row(r, open, several))).spacing(2);
        page = page.push(scrollable(list).height(Fill));
        container(page).height(Fill).into()
    }
}

/// Whether the accounts stay connected when the window closes, in words.
pub fn closing_words(state: &FrontendState) -> &'static str {
    let keep = state
        .setting(first_run::KEEP_CONNECTED)
        .and_then(|s| s.value.as_bool());
    // A daemon without the setting always stays connected.
    if keep.unwrap_or(true) {
        "Stays connected when this window closes"
    } else {
        "Goes offline when this window closes"
    }
}

fn menu_item(label: &str, message: Message) -> Element<'_, Message> {
    button(text(label))
        .on_press(message)
        .width(Fill)
        .style(button::text)
        .into()
}

/// An account: its JID, its status line in words (and what to do), its
/// own presence (click to change), and what waits for the user.
fn account_block<'a>(jid: &'a str, account: &'a AccountView, live: bool) -> Element<'a, Message> {
    let line = if live {
        words::status_line(&account.status)
    } else {
        words::while_away()
    };
    let mut block = column![
        row![
            text(jid).size(14).width(Fill),
            button(text(presence::words(&account.presence)).size(12))
                .on_press(Message::Presence(jid.to_owned()))
                .padding([1, 6])
                .style(button::text),
        ]
        .spacing(4),
        text(line.headline).size(13).style(tone_style(line.tone)),
    ]
    .spacing(2);
    if let Some(detail) = line.detail {
        block = block.push(text(detail).size(12).style(text::secondary));
    }
    let fixable = live
        && account.status.state == ConnectionState::Error
        && matches!(
            account.status.error,
            Some(ConnectionError::Authentication | ConnectionError::Certificate)
        );
    if fixable {
        block = block.push(
            button(text("Fix…").size(13))
                .on_press(Message::Fix(jid.to_owned()))
                .padding([2, 8]),
        );
    }
    let requests = account.subscription_requests.len();
    if requests > 0 {
        let words = if requests == 1 {
            "1 contact request".to_owned()
        } else {
            format!("{requests} contact requests")
        };
        block = block.push(
            button(text(words).size(13))
                .on_press(Message::Requests(jid.to_owned()))
                .padding([2, 8]),
        );
    }
    block.into()
}

fn chat_row<'a>(row_: ChatRow, open: Option<&ChatKey>, several: bool) -> Element<'a, Message> {
    let selected = open == Some(&row_.key);
    let mut top = row![text(row_.title).size(15).width(Fill)].spacing(6);
    if row_.unread > 0 {
        top = top.push(
            container(text(row_.unread.to_string()).size(12))
                .padding([1, 6])
                .style(style::badge),
        );
    }
    let mut second = Vec::new();
    if row_.muted {
        second.push("Muted".to_owned());
    }
    if let Some(presence) = &row_.presence {
        second.push(words::presence(presence).to_owned());
    }
    if several {
        second.push(row_.key.account.clone());
    }
    // Grey on the selection's colour would be hard to read: take the
    // button's own text colour.
    let quiet = if selected {
        text::default
    } else {
        text::secondary
    };
    let mut lines = column![top].spacing(1);
    if !second.is_empty() {
        lines = lines.push(text(second.join(" · ")).size(11).style(quiet));
    }
    lines = lines.push(text(row_.preview).size(12).style(quiet));
    button(lines)
        .on_press(Message::Open(row_.key))
        .width(Fill)
        .padding(6)
        .style(if selected {
            button::primary
        } else {
            button::text
        })
        .into()
}

/// A status line's colour.
pub fn tone_style(tone: Tone) -> fn(&iced::Theme) -> text::Style {
    match tone {
        Tone::Good => text::success,
        Tone::Pending => text::warning,
        Tone::Quiet => text::secondary,
        Tone::Bad => text::danger,
    }
}
