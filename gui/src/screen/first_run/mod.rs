//! The first-run notice: what closing the window does, and where to change
//! it. Shown until the user dismisses it once; [`seen`] remembers that.
//!
//! With `background.keep_connected` on (the default) it says "Wimsy stays
//! connected when you close this window; to disconnect, use Quit Wimsy",
//! with the setting's switch beside it so the choice is made right there.

pub mod seen;
#[cfg(test)]
mod tests;

use iced::Task;
use iced::widget::{button, column, container, text, toggler};
use iced::{Element, Length};
use wimsy_ipc::{FrontendState, Request, SettingValue};

use crate::link::Answer;
use crate::screen::common::refusal;

use seen::Seen;

/// The setting the notice is about.
pub const KEEP_CONNECTED: &str = "background.keep_connected";

/// The switch's id, for tests (its label is not text a selector finds).
pub const SWITCH: &str = "first-run-keep-connected";

/// The notice's name in [`Seen`]'s file.
pub const NOTICE: &str = "keep-connected";

/// The notice.
pub struct State {
    seen: Option<Seen>,
    showing: bool,
    /// The switch's change on its way.
    pending: Option<bool>,
    problem: Option<String>,
}

/// What the user did, or the answer.
#[derive(Debug, Clone)]
pub enum Message {
    /// The switch for keep_connected.
    KeepConnected(bool),
    Answered(Answer),
    /// "Got it".
    Dismiss,
}

/// What the parent is asked to do.
#[derive(Debug)]
pub enum Event {
    /// Send `request` to the daemon and hand its answer back as
    /// `answered(answer)`.
    Request {
        request: Request,
        answered: fn(Answer) -> Message,
    },
    /// The notice was read and is gone for good.
    Dismissed,
}

impl State {
    /// The notice, showing unless `seen` remembers it was dismissed
    /// (without a place to remember, it shows every time: better than
    /// never).
    pub fn new(seen: Option<Seen>) -> Self {
        let showing = seen.as_ref().is_none_or(|seen| !seen.has(NOTICE));
        Self {
            seen,
            showing,
            pending: None,
            problem: None,
        }
    }

    /// The notice as remembered in Wimsy's config directory.
    pub fn from_config_dir() -> Self {
        Self::new(Seen::in_config_dir())
    }

    /// Whether the parent should show it.
    pub fn is_showing(&self) -> bool {
        self.showing
    }

    /// Apply a message.
    pub fn update(&mut self, message: Message) -> (Task<Message>, Option<Event>) {
        match message {
            Message::KeepConnected(on) => {
                if self.pending.is_some() {
                    return (Task::none(), None);
                }
                self.pending = Some(on);
                self.problem = None;
                let request = Request::SettingsSet {
                    key: KEEP_CONNECTED.to_owned(),
                    value: SettingValue::Bool(on),
                };
                return (
                    Task::none(),
                    Some(Event::Request {
                        request,
                        answered: Message::Answered,
                    }),
                );
            }
            Message::Answered(answer) => {
                self.pending = None;
                if let Err(error) = answer {
                    self.problem = Some(refusal(&error));
                }
            }
            Message::Dismiss => {
                self.showing = false;
                if let Some(seen) = &self.seen
                    && let Err(error) = seen.mark(NOTICE)
                {
                    tracing::warn!("cannot remember that the notice was read: {error}");
                }
                return (Task::none(), Some(Event::Dismissed));
            }
        }
        (Task::none(), None)
    }

    /// Draw the notice; `state` has the setting's current value.
    pub fn view<'a>(&'a self, state: &'a FrontendState) -> Element<'a, Message> {
        let setting = state.setting(KEEP_CONNECTED);
        let on = self
            .pending
            .unwrap_or_else(|| setting.and_then(|s| s.value.as_bool()).unwrap_or(true));
        let explanation = if on {
            "Wimsy stays connected when you close this window: messages keep arriving, and \
             you find them here when you open it again. To disconnect, use Quit Wimsy."
        } else {
            "When you close this window, Wimsy disconnects your accounts and its background \
             service stops; new messages wait on your server until you open Wimsy again."
        };
        let mut notice =
            column![text("Closing this window").size(20), text(explanation),].spacing(12);
        // An older daemon does not offer the setting: then it always stays
        // connected, and there is nothing to switch.
        if let Some(setting) = setting {
            notice = notice.push(
                container(
                    toggler(on)
                        .label(setting.label.as_str())
                        .on_toggle_maybe(self.pending.is_none().then_some(Message::KeepConnected))
                        .width(Length::Fill),
                )
                .id(SWITCH),
            );
        }
        if let Some(problem) = &self.problem {
            notice = notice.push(text(problem).style(text::danger));
        }
        notice = notice.push(
            text("You can change this later in Settings.")
                .size(14)
                .style(text::secondary),
        );
        notice = notice.push(
            button("Got it")
                .style(button::primary)
                .on_press(Message::Dismiss),
        );
        container(notice).padding(16).max_width(560).into()
    }
}
