//! Drawing the window: a banner when something needs saying, the sidebar,
//! the open conversation, and a dialog over them.

use iced::widget::{
    button, center, column, container, mouse_area, opaque, row, rule, scrollable, stack, text,
};
use iced::{Color, Element, Fill, Length};

use super::{App, Connection, Dialog, Message, Page};
use crate::link::{Down, RETRY_EVERY};
use crate::screen::{dialog, style};
use crate::words;

/// A dialog's widest, at scale 1.0.
const MODAL_WIDTH: f32 = 560.0;

/// The sidebar's width at scale 1.0.
const SIDEBAR_WIDTH: f32 = 300.0;

impl App {
    /// The window's title: the unread total, so a glance at the task bar
    /// tells.
    pub fn title(&self) -> String {
        let unread: u32 = self
            .state()
            .map(|s| s.accounts.values().map(|a| a.unread_total()).sum())
            .unwrap_or(0);
        if unread > 0 {
            format!("Wimsy ({unread} unread)")
        } else {
            "Wimsy".to_owned()
        }
    }

    /// Draw the window.
    pub fn view(&self) -> Element<'_, Message> {
        let sidebar = container(
            self.sidebar
                .view(
                    self.state(),
                    self.attached(),
                    &self.activity,
                    self.open.as_ref().map(|o| &o.chat),
                )
                .map(Message::Sidebar),
        )
        .width(Length::Fixed(SIDEBAR_WIDTH))
        .height(Fill);
        let main = row![sidebar, rule::vertical(1), self.main_view()].height(Fill);
        let mut page = column![];
        if let Some(banner) = self.banner() {
            page = page.push(banner);
        }
        if let Some(notice) = &self.notice {
            page = page.push(
                container(text(notice.as_str()).size(13).style(text::danger))
                    .padding([4, 12])
                    .width(Fill),
            );
        }
        let base: Element<'_, Message> = page.push(main).into();
        let dialog = match (&self.dialog, self.state()) {
            (Some(Dialog::Presence(screen)), Some(state)) => Some((
                screen.view(state).map(Message::Presence),
                Some(Message::Shortcut(super::Shortcut::Escape)),
            )),
            (Some(Dialog::Presence(_)), None) => None,
            (Some(Dialog::StartChat(state)), _) => Some((
                state.view().map(Message::StartChat),
                Some(Message::Shortcut(super::Shortcut::Escape)),
            )),
            (Some(Dialog::Ask(ask)), _) => Some((
                dialog::view(*ask).map(Message::Dialog),
                Some(Message::Dialog(dialog::Message::Cancel)),
            )),
            (None, _) => self.first_run_notice(),
        };
        match dialog {
            None => base,
            Some((content, dismiss)) => stack![base, modal(content, dismiss)].into(),
        }
    }

    /// The first-run notice, once attached to a daemon with accounts and
    /// while nothing else is asked.
    fn first_run_notice(&self) -> Option<(Element<'_, Message>, Option<Message>)> {
        let notice = self.first_run.as_ref().filter(|n| n.is_showing())?;
        let state = match &self.connection {
            Connection::Attached { state, .. } if !state.accounts.is_empty() => state,
            _ => return None,
        };
        if matches!(self.page, Page::SignIn(_)) {
            return None;
        }
        // Dismissing it is its own button ("Got it", or Escape): a click
        // beside it must not lose it before it was read.
        Some((notice.view(state).map(Message::FirstRun), None))
    }

    fn main_view(&self) -> Element<'_, Message> {
        let state = self.state();
        let other: Option<Element<'_, Message>> = match (&self.page, state) {
            (Page::Chat, _) => None,
            (Page::SignIn(screen), _) => Some(screen.view().map(Message::SignIn)),
            (Page::Roster(screen), Some(state)) => Some(screen.view(state).map(Message::Roster)),
            (Page::Settings(screen), Some(state)) => {
                Some(screen.view(state).map(Message::Settings))
            }
            (Page::Roster(_) | Page::Settings(_), None) => None,
        };
        if let Some(other) = other {
            let back = button(text("Back to chats").size(13))
                .on_press(Message::ShowChats)
                .style(button::secondary);
            let no_accounts = state.is_some_and(|s| s.accounts.is_empty());
            // Leaving in the middle of a login would hide its outcome.
            let signing_in = match &self.page {
                Page::SignIn(screen) => screen.outcome().is_some_and(|o| o.is_pending()),
                _ => false,
            };
            let mut page = column![].spacing(8).padding(12).height(Fill).width(Fill);
            if !no_accounts && !signing_in {
                page = page.push(back);
            }
            return page.push(scrollable(other).height(Fill)).into();
        }
        let Some(open) = &self.open else {
            let words = match self.state() {
                Some(state) if state.accounts.is_empty() => {
                    "No account yet. Add one to start chatting."
                }
                Some(_) => "Pick a chat on the left, or start one with Ctrl+N.",
                None => "",
            };
            return center(text(words).style(text::secondary)).into();
        };
        let state = self.state();
        let account = state.and_then(|s| s.accounts.get(&open.chat.account));
        let contact = account.and_then(|a| a.contacts.get(&open.chat.peer));
        let title = contact
            .and_then(|c| c.name.clone())
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| open.chat.peer.clone());
        let mut subtitle = Vec::new();
        if let Some(contact) = contact {
            subtitle.push(words::presence(&contact.presence).to_owned());
        }
        if title != open.chat.peer {
            subtitle.push(open.chat.peer.clone());
        }
        if state.is_some_and(|s| s.accounts.len() > 1) {
            subtitle.push(format!("from {}", open.chat.account));
        }
        let muted = state
            .and_then(|s| s.accounts.get(&open.chat.account))
            .and_then(|view| view.mutes.get(&open.chat.peer).copied());
        open.view(
            self.conversations.get(&open.chat),
            title,
            subtitle.join(" · "),
            muted,
            self.requester().is_some(),
        )
        .map(Message::Conversation)
    }

    /// What the top of the window says about the daemon, when not simply
    /// attached.
    fn banner(&self) -> Option<Element<'_, Message>> {
        let retry = format!("Wimsy tries again every {} s.", RETRY_EVERY.as_secs());
        let (headline, detail, offer_start): (String, Option<String>, bool) = match &self.connection
        {
            Connection::Starting => (
                "Connecting to Wimsy's background service…".to_owned(),
                None,
                false,
            ),
            Connection::StartingDaemon => (
                "Starting Wimsy's background service…".to_owned(),
                None,
                false,
            ),
            Connection::Down(Down::NoDaemon(_)) => (
                "Wimsy's background service is not running.".to_owned(),
                Some(format!("Your accounts are offline. {retry}")),
                true,
            ),
            Connection::Down(Down::Closed) => (
                "Wimsy's background service went away.".to_owned(),
                Some(format!("Your drafts and the open chat are kept. {retry}")),
                true,
            ),
            Connection::Down(Down::StartFailed(why)) => (
                "Wimsy's background service could not be started.".to_owned(),
                Some(why.clone()),
                true,
            ),
            Connection::Down(Down::Failed(why)) => (
                "Cannot reach Wimsy's background service.".to_owned(),
                Some(format!("{why} {retry}")),
                false,
            ),
            Connection::Attached {
                state, resyncing, ..
            } => {
                if state.shutting_down {
                    (
                        "Wimsy's background service is stopping.".to_owned(),
                        None,
                        false,
                    )
                } else if *resyncing {
                    (
                        "Missed some updates; fetching the current state…".to_owned(),
                        None,
                        false,
                    )
                } else {
                    return None;
                }
            }
        };
        let mut lines = column![text(headline).size(15)].spacing(2).width(Fill);
        if let Some(detail) = detail {
            lines = lines.push(text(detail).size(13));
        }
        let daemon_missing = matches!(
            self.connection,
            Connection::Down(Down::NoDaemon(_) | Down::Closed)
        );
        if daemon_missing && let Some(command) = words::start_by_hand(&self.launch.socket) {
            lines = lines.push(text(command).size(13));
        }
        let mut bar = row![lines].spacing(12);
        if offer_start {
            bar = bar.push(button(text("Start it now").size(13)).on_press(Message::StartDaemon));
        }
        Some(
            container(bar)
                .padding([8, 12])
                .width(Fill)
                .style(style::banner)
                .into(),
        )
    }
}

/// `content` centred over a dimmed window; a click outside it dismisses.
fn modal<'a>(content: Element<'a, Message>, dismiss: Option<Message>) -> Element<'a, Message> {
    // A card of a readable width, not a band across the window.
    let card = container(content)
        .max_width(MODAL_WIDTH)
        .style(container::rounded_box);
    let backdrop = center(opaque(card))
        .padding(16)
        .style(|_theme| container::Style {
            background: Some(
                Color {
                    a: 0.6,
                    ..Color::BLACK
                }
                .into(),
            ),
            ..container::Style::default()
        });
    match dismiss {
        Some(dismiss) => opaque(mouse_area(backdrop).on_press(dismiss)),
        None => opaque(backdrop),
    }
}
