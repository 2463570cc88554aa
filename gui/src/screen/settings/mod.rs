//! The daemon's settings, drawn from what it offers (a newer daemon's
//! settings show up without a new window): a switch for an on/off
//! setting, a list for a choice, a field with Apply for text. Changes go
//! to the daemon (`settings_set`); the `setting` event brings the new value
//! to every frontend. A refusal is shown under its setting, in words.
//!
//! One change at a time: an error answer does not say which setting it was
//! for, so the screen remembers the one on its way.

#[cfg(test)]
mod tests;
mod view;

use std::collections::BTreeMap;

use iced::Task;
use wimsy_ipc::{Request, Response, Setting, SettingValue};

use crate::link::{Answer, RequestError};
use crate::screen::common::refusal;

/// The settings screen.
#[derive(Default)]
pub struct State {
    /// Text typed into a text setting and not applied yet, by key.
    drafts: BTreeMap<String, String>,
    /// The change on its way: shown at once, confirmed by the answer.
    pending: Option<(String, SettingValue)>,
    /// Why the daemon refused a change, by key.
    problems: BTreeMap<String, RequestError>,
}

/// What the user did, or the answer.
#[derive(Debug, Clone)]
pub enum Message {
    /// An on/off setting was switched.
    Toggled(String, bool),
    /// A choice was picked.
    Chosen(String, Choice),
    /// A text setting's field changed.
    Edited(String, String),
    /// Send a text setting's field.
    Apply(String),
    Answered(Answer),
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
}

/// One entry of a choice setting's list: the value the daemon knows and
/// the words shown for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub value: String,
    pub words: String,
}

impl std::fmt::Display for Choice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.words)
    }
}

impl Choice {
    /// The protocol gives choices as values only (`sender_only`); until it
    /// gives words for them, they read as words this way ("Sender only").
    pub fn of(value: &str) -> Self {
        let spaced = value.replace(['_', '-', '.'], " ");
        let mut chars = spaced.trim().chars();
        let words = chars
            .next()
            .map(|first| first.to_uppercase().chain(chars).collect())
            .unwrap_or_default();
        Self {
            value: value.to_owned(),
            words,
        }
    }
}

impl State {
    /// Apply a message.
    pub fn update(&mut self, message: Message) -> (Task<Message>, Option<Event>) {
        let (key, value) = match message {
            Message::Toggled(key, on) => (key, SettingValue::Bool(on)),
            Message::Chosen(key, choice) => (key, SettingValue::Text(choice.value)),
            Message::Edited(key, text) => {
                self.drafts.insert(key, text);
                return (Task::none(), None);
            }
            Message::Apply(key) => {
                let Some(text) = self.drafts.get(&key) else {
                    return (Task::none(), None);
                };
                let text = text.clone();
                (key, SettingValue::Text(text))
            }
            Message::Answered(answer) => {
                self.answered(answer);
                return (Task::none(), None);
            }
        };
        if self.pending.is_some() {
            return (Task::none(), None);
        }
        self.problems.remove(&key);
        self.pending = Some((key.clone(), value.clone()));
        let event = Event::Request {
            request: Request::SettingsSet { key, value },
            answered: Message::Answered,
        };
        (Task::none(), Some(event))
    }

    fn answered(&mut self, answer: Answer) {
        let Some((key, _)) = self.pending.take() else {
            return;
        };
        match answer {
            Ok(Response::Settings { settings }) => {
                // What the daemon stored (it may tidy text, e.g. trim it):
                // the field shows that from now on.
                if settings.iter().any(|s| s.key == key) {
                    self.drafts.remove(&key);
                }
            }
            Ok(_) => {
                self.drafts.remove(&key);
            }
            Err(error) => {
                self.problems.insert(key, error);
            }
        }
    }

    /// The value to show for `setting`: the change on its way, else the
    /// daemon's.
    fn shown<'a>(&'a self, setting: &'a Setting) -> &'a SettingValue {
        match &self.pending {
            Some((key, value)) if *key == setting.key => value,
            _ => &setting.value,
        }
    }

    /// A refusal for `setting`, with its key replaced by its label (the
    /// daemon's words name the key, which means little on a screen).
    fn problem(&self, setting: &Setting) -> Option<String> {
        self.problems.get(&setting.key).map(|error| {
            refusal(&RequestError {
                code: error.code,
                message: error
                    .message
                    .replace(&setting.key, &format!("“{}”", setting.label)),
            })
        })
    }

    /// Whether a change is on its way (the controls wait for it).
    fn busy(&self) -> bool {
        self.pending.is_some()
    }
}
