//! The window's state, how messages change it, and how it is drawn.
//!
//! Daemon state comes through [`FrontendState`], the reducer every frontend
//! shares; what only the window knows lives in `crate::data`; each screen
//! has its own state and messages (`crate::screen`). This module routes
//! between them: `link.rs` handles the daemon link, `chats.rs` the open
//! chat, `keys.rs` the keyboard and window events, `view.rs` the drawing.

mod chats;
mod keys;
mod link;
mod screens;
mod view;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::PathBuf;

use iced::{Subscription, Task, window};
use wimsy_ipc::FrontendState;

use crate::data::{Activity, ChatKey, Conversation, Drafts, Tokens};
use crate::link::{Answer, Down, Link, LinkEvent, Requester};
use crate::screen::{
    conversation, dialog, first_run, presence, roster, settings, sidebar, sign_in, start_chat,
};

pub use keys::Shortcut;

pub use crate::screen::first_run::KEEP_CONNECTED;

/// How the window was asked to start.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// wimsyd's socket.
    pub socket: PathBuf,
    /// Open this chat once attached (`--chat`), with this account
    /// (`--account`) or the one that has it.
    pub chat: Option<(Option<String>, String)>,
    /// Start the daemon when none answers.
    pub autostart: bool,
    /// Show the first-run notice unless Wimsy's config dir says it was
    /// read (off in tests, which have no config dir of their own).
    pub notices: bool,
}

/// Everything the window knows.
pub struct App {
    launch: Launch,
    link: Option<Link>,
    connection: Connection,
    /// What the daemon last said, kept while it is away so the chat list
    /// and the open chat stay on screen.
    last_state: Option<FrontendState>,
    /// The chat list's order.
    activity: Activity,
    /// Chats opened in this window, kept while it lives so switching back
    /// is instant.
    conversations: HashMap<ChatKey, Conversation>,
    /// The open chat's screen.
    open: Option<conversation::State>,
    /// What the main area shows.
    page: Page,
    /// The first-run notice about closing the window.
    first_run: Option<first_run::State>,
    drafts: Drafts,
    sidebar: sidebar::State,
    dialog: Option<Dialog>,
    tokens: Tokens,
    /// The window has the keyboard focus.
    focused: bool,
    /// What was last reported with `set_view`/`set_visibility`.
    reported_view: Option<View>,
    /// The daemon does not take `set_view` (an older one).
    view_fallback: bool,
    /// The newest message a `mark_read` was sent for, per chat.
    marked_read: HashMap<ChatKey, i64>,
    /// A word for the user about the last thing that went wrong.
    notice: Option<String>,
    /// The last `showing` hook line, so it is printed only on change.
    last_showing: Option<String>,
    /// Closing was asked about once already.
    close_asked: bool,
}

/// Where the connection to the daemon stands.
#[derive(Debug)]
enum Connection {
    /// The first attempt has not finished yet.
    Starting,
    /// No daemon answered; one is being started.
    StartingDaemon,
    /// Not attached; the link retries on its own.
    Down(Down),
    /// Attached and following events.
    Attached {
        /// Asks the daemon things on this connection.
        requester: Requester,
        /// Rebuilt from the snapshot and every event since.
        state: FrontendState,
        /// Events were missed and a fresh snapshot is on its way.
        resyncing: bool,
    },
}

/// A dialog over the window.
enum Dialog {
    StartChat(start_chat::State),
    Ask(dialog::Ask),
    Presence(presence::State),
}

/// What the main area shows beside the sidebar.
enum Page {
    /// The open chat (or a hint to open one).
    Chat,
    /// Adding an account, or fixing one.
    SignIn(Box<sign_in::State>),
    /// Contacts and subscription requests.
    Roster(roster::State),
    /// The daemon's settings.
    Settings(settings::State),
}

/// What `set_view` says.
#[derive(Debug, Clone, PartialEq, Eq)]
struct View {
    visible: bool,
    focused: bool,
    chat: Option<ChatKey>,
}

/// Something that happened.
#[derive(Debug, Clone)]
pub enum Message {
    /// From the daemon link.
    Link(LinkEvent),
    /// The sidebar.
    Sidebar(sidebar::Message),
    /// The open conversation.
    Conversation(conversation::Message),
    /// The "start a chat" dialog.
    StartChat(start_chat::Message),
    /// A question's answer.
    Dialog(dialog::Message),
    /// The sign-in screen.
    SignIn(sign_in::Message),
    /// The contacts screen.
    Roster(roster::Message),
    /// The settings screen.
    Settings(settings::Message),
    /// The own-presence picker.
    Presence(presence::Message),
    /// The first-run notice.
    FirstRun(first_run::Message),
    /// Back to the chats from another page.
    ShowChats,
    /// A keyboard shortcut.
    Shortcut(Shortcut),
    /// The window gained (true) or lost the keyboard focus.
    Focus(bool),
    /// The window's close button.
    CloseRequested(window::Id),
    /// "Start the background service" in the banner.
    StartDaemon,
    /// A history page for `chat` came back; `older` tells which kind.
    Page {
        /// Which chat.
        chat: ChatKey,
        /// The request's number.
        token: u64,
        /// An older page (else the newest).
        older: bool,
        /// The answer.
        answer: Answer,
    },
    /// The answer to a `send` of `text` to `chat`.
    Sent {
        /// Which chat.
        chat: ChatKey,
        /// What was sent (put back in the composer if it failed).
        text: String,
        /// The answer.
        answer: Answer,
    },
    /// An answer that needs nothing but a word when it failed.
    Done(Answer),
    /// The answer to `set_view`.
    ViewReported(Answer),
    /// The answer to `quit`: close the window.
    Quitted(Answer),
}

impl App {
    /// A window as `launch` says, not yet attached.
    pub fn new(launch: Launch) -> Self {
        Self {
            first_run: launch.notices.then(first_run::State::from_config_dir),
            launch,
            link: None,
            connection: Connection::Starting,
            last_state: None,
            activity: Activity::default(),
            conversations: HashMap::new(),
            open: None,
            page: Page::Chat,
            drafts: Drafts::default(),
            sidebar: sidebar::State::default(),
            dialog: None,
            tokens: Tokens::default(),
            focused: true,
            reported_view: None,
            view_fallback: false,
            marked_read: HashMap::new(),
            notice: None,
            last_showing: None,
            close_asked: false,
        }
    }

    /// Apply one message.
    pub fn update(&mut self, message: Message) -> Task<Message> {
        let task = match message {
            Message::Link(event) => self.on_link(event),
            Message::Sidebar(message) => self.on_sidebar(message),
            Message::Conversation(message) => self.on_conversation(message),
            Message::StartChat(message) => self.on_start_chat(message),
            Message::Dialog(answer) => self.on_dialog(answer),
            Message::SignIn(message) => self.on_sign_in(message),
            Message::Roster(message) => self.on_roster(message),
            Message::Settings(message) => self.on_settings(message),
            Message::Presence(message) => self.on_presence(message),
            Message::FirstRun(message) => self.on_first_run(message),
            Message::ShowChats => {
                self.page = Page::Chat;
                Task::none()
            }
            Message::Shortcut(shortcut) => self.on_shortcut(shortcut),
            Message::Focus(focused) => {
                self.focused = focused;
                Task::none()
            }
            Message::CloseRequested(id) => self.on_close_requested(id),
            Message::StartDaemon => {
                if let Some(link) = &self.link {
                    link.start_daemon();
                }
                Task::none()
            }
            Message::Page {
                chat,
                token,
                older,
                answer,
            } => self.on_page(&chat, token, older, answer),
            Message::Sent { chat, text, answer } => self.on_sent(&chat, &text, answer),
            Message::Done(answer) => {
                if let Err(e) = answer {
                    self.notice = Some(e.message);
                }
                Task::none()
            }
            Message::ViewReported(answer) => self.on_view_reported(answer),
            Message::Quitted(answer) => {
                if let Err(e) = answer {
                    tracing::warn!("quit: {}", e.message);
                }
                iced::exit()
            }
        };
        // Whatever changed, these follow: the daemon learns what is on
        // screen, a chat read on screen is marked read, tests hear it.
        let follow = Task::batch([self.report_view(), self.mark_read_if_seen()]);
        self.say_showing();
        Task::batch([task, follow])
    }

    /// The daemon link, keys and window events, for as long as the window
    /// is open.
    pub fn subscription(&self) -> Subscription<Message> {
        Subscription::batch([
            crate::link::connect(self.launch.socket.clone(), self.launch.autostart)
                .map(Message::Link),
            keys::subscription(),
        ])
    }

    /// The daemon's state: live when attached, else as it was last seen.
    fn state(&self) -> Option<&FrontendState> {
        match &self.connection {
            Connection::Attached { state, .. } => Some(state),
            _ => self.last_state.as_ref(),
        }
    }

    /// Whether [`Self::state`] is live.
    fn attached(&self) -> bool {
        matches!(self.connection, Connection::Attached { .. })
    }

    fn requester(&self) -> Option<&Requester> {
        match &self.connection {
            Connection::Attached { requester, .. } => Some(requester),
            _ => None,
        }
    }

    /// Send `request` and turn its answer into a message; nothing when not
    /// attached (the caller says so where it matters).
    fn ask(
        &self,
        request: wimsy_ipc::Request,
        answered: impl FnOnce(Answer) -> Message + Send + 'static,
    ) -> Task<Message> {
        match self.requester() {
            Some(requester) => Task::perform(requester.request(request), answered),
            None => Task::none(),
        }
    }

    /// Whether the daemon keeps accounts connected once the window closes
    /// (`background.keep_connected`; a daemon that does not offer it
    /// behaves as if it were on).
    fn keep_connected(&self) -> bool {
        self.state()
            .and_then(|s| s.setting(KEEP_CONNECTED))
            .and_then(|s| s.value.as_bool())
            .unwrap_or(true)
    }
}
