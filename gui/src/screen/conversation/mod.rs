//! The open chat: its history (opening at the newest message, older pages
//! loaded as the user scrolls up) and the composer.
//!
//! iced has no virtual list, so, like halloy, the view draws a slice of the
//! loaded messages: the newest `limit` rows. Scrolling near the top grows
//! the slice, and when every loaded message is drawn, asks for the next
//! older page. The scrollable is anchored to the bottom, so rows added at
//! the top do not move what the user is reading.

mod composer;
pub mod mute;
mod rows;

use iced::widget::scrollable::Viewport;
use iced::widget::{column, container, operation, row, scrollable, text, text_editor};
use iced::{Element, Fill, Task};

use crate::data::{ChatKey, Conversation, Older};

pub use composer::COMPOSER_ID;
#[cfg(test)]
pub use rows::LOAD_OLDER;

/// The history's scrollable id.
pub const HISTORY_ID: &str = "history";

/// Rows drawn when a chat opens, and added each time the user nears the
/// top. Enough to fill a tall window at scale 1.0 twice.
pub const STEP: usize = 60;

/// How close to the top (in pixels) counts as "near": one viewport height,
/// so the next rows are there before the user reaches them.
fn near_top(viewport: &Viewport) -> bool {
    viewport.absolute_offset_reversed().y <= viewport.bounds().height
}

/// The open chat's screen state.
#[derive(Debug)]
pub struct State {
    /// Which chat.
    pub chat: ChatKey,
    composer: text_editor::Content,
    limit: usize,
    at_bottom: bool,
    /// The mute choices are open.
    choosing_mute: bool,
}

/// What happens in the conversation.
#[derive(Debug, Clone)]
pub enum Message {
    /// Typing, moving, selecting in the composer.
    Edit(text_editor::Action),
    /// Enter in the composer.
    Send,
    /// The history was scrolled.
    Scrolled(Viewport),
    /// The "Load older messages" button at the top of the history.
    LoadOlder,
    /// The Retry button of a failed message.
    Retry(i64),
    /// Open or close the mute choices.
    MuteChoices(bool),
    /// Mute for this long (`None`: until unmuted).
    Mute(Option<std::time::Duration>),
    /// End the chat's mute.
    Unmute,
}

/// What the app must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Send this text to the chat.
    Send(String),
    /// Load the next older page.
    LoadOlder,
    /// Send this failed message again.
    Retry(i64),
    /// Mute the chat for this long (`None`: until unmuted).
    Mute(Option<std::time::Duration>),
    /// End the chat's mute.
    Unmute,
}

impl State {
    /// The screen for `chat`, its composer holding `draft`.
    pub fn new(chat: ChatKey, draft: &str) -> Self {
        Self {
            chat,
            composer: text_editor::Content::with_text(draft),
            limit: STEP,
            at_bottom: true,
            choosing_mute: false,
        }
    }

    /// What the composer holds (kept as the chat's draft).
    pub fn draft(&self) -> String {
        self.composer.text()
    }

    /// Put `text` back in an empty composer (a send that failed).
    pub fn restore(&mut self, text: &str) {
        if self.composer.text().trim().is_empty() {
            self.composer = text_editor::Content::with_text(text);
        }
    }

    /// Whether the newest message is on screen.
    pub fn at_bottom(&self) -> bool {
        self.at_bottom
    }

    /// How many of the loaded messages are drawn.
    pub fn shown(&self, conversation: &Conversation) -> usize {
        self.limit.min(conversation.messages().len())
    }

    /// Messages were added at the bottom: keep what the user reads in place
    /// when they are scrolled up (the slice would otherwise slide).
    pub fn grew_at_bottom(&mut self, added: usize) {
        if !self.at_bottom {
            self.limit += added;
        }
    }

    /// Focus the composer with its cursor at the end.
    pub fn focus_composer() -> Task<Message> {
        Task::batch([
            operation::focus(COMPOSER_ID),
            operation::move_cursor_to_end(COMPOSER_ID),
        ])
    }

    /// Apply a message.
    pub fn update(
        &mut self,
        message: Message,
        conversation: Option<&Conversation>,
    ) -> (Task<Message>, Option<Event>) {
        match message {
            Message::Edit(action) => {
                self.composer.perform(action);
                (Task::none(), None)
            }
            Message::Send => {
                let text = self.composer.text();
                let text = text.trim_end_matches('\n');
                if text.trim().is_empty() {
                    return (Task::none(), None);
                }
                let text = text.to_owned();
                self.composer = text_editor::Content::new();
                self.at_bottom = true;
                (operation::snap_to_end(HISTORY_ID), Some(Event::Send(text)))
            }
            Message::Scrolled(viewport) => {
                self.at_bottom = viewport.absolute_offset().y <= 4.0;
                if self.at_bottom && self.limit > STEP && !near_top(&viewport) {
                    // Back at the newest: draw only a screenful again, so a
                    // long read back does not slow every later frame. The
                    // view is anchored to the bottom, so nothing moves.
                    self.limit = STEP;
                }
                if !near_top(&viewport) {
                    return (Task::none(), None);
                }
                let loaded = conversation.map_or(0, |c| c.messages().len());
                if self.limit < loaded {
                    self.limit = (self.limit + STEP).min(loaded);
                    (Task::none(), None)
                } else if conversation.is_some_and(|c| matches!(c.older(), Older::More(_))) {
                    self.limit += STEP;
                    (Task::none(), Some(Event::LoadOlder))
                } else {
                    (Task::none(), None)
                }
            }
            Message::LoadOlder => {
                // Every loaded row is drawn already (the button shows only
                // then): the page's rows will be drawn when they come.
                let loaded = conversation.map_or(0, |c| c.messages().len());
                self.limit = loaded + STEP;
                (Task::none(), Some(Event::LoadOlder))
            }
            Message::Retry(id) => (Task::none(), Some(Event::Retry(id))),
            Message::MuteChoices(open) => {
                self.choosing_mute = open;
                (Task::none(), None)
            }
            Message::Mute(length) => {
                self.choosing_mute = false;
                (Task::none(), Some(Event::Mute(length)))
            }
            Message::Unmute => (Task::none(), Some(Event::Unmute)),
        }
    }

    /// Draw the conversation. `title` is the contact's name or JID,
    /// `subtitle` its presence and account, `muted` whether (and until
    /// when) the chat is muted, `attached` whether a daemon is there to
    /// ask for older messages.
    pub fn view<'a>(
        &'a self,
        conversation: Option<&'a Conversation>,
        title: String,
        subtitle: String,
        muted: Option<Option<i64>>,
        attached: bool,
    ) -> Element<'a, Message> {
        let names = column![
            text(title).size(18),
            text(subtitle).size(12).style(text::secondary)
        ]
        .spacing(2)
        .width(Fill);
        let header = row![names, mute::view(muted, self.choosing_mute)]
            .spacing(8)
            .align_y(iced::Center);
        let body: Element<'a, Message> = match conversation {
            None => text("Loading…").into(),
            Some(c) if c.messages().is_empty() => {
                let words = if c.is_loading() {
                    "Loading…".to_owned()
                } else if let Some(why) = c.failure() {
                    format!("Could not load this chat: {why}")
                } else {
                    "No messages yet. Say hello below.".to_owned()
                };
                container(text(words).style(text::secondary))
                    .center(Fill)
                    .into()
            }
            Some(c) => {
                let all = c.messages();
                let from = all.len() - self.shown(c);
                let top = match c.older() {
                    _ if from > 0 => rows::Top::Nothing,
                    Older::Loading { .. } | Older::Unknown => {
                        rows::Top::Words("Loading older messages…")
                    }
                    // Scrolling asks for the next page as the top comes
                    // near; a view already at the top (after a page that
                    // failed, or one too short to scroll) gets no scroll
                    // event, so the button is the way on.
                    Older::More(_) if attached => rows::Top::LoadOlder,
                    Older::More(_) => {
                        rows::Top::Words("Older messages load once the background service is back.")
                    }
                    Older::Start => rows::Top::Words("This is the start of the chat."),
                };
                let list = rows::history(&all[from..], top);
                scrollable(container(list).padding([8, 14]))
                    .id(HISTORY_ID)
                    .anchor_bottom()
                    .on_scroll(Message::Scrolled)
                    .height(Fill)
                    .width(Fill)
                    .into()
            }
        };
        column![
            container(header).padding([8, 14]),
            body,
            container(row![composer::view(&self.composer)]).padding(10),
        ]
        .height(Fill)
        .width(Fill)
        .into()
    }
}
