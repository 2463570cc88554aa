//! The user's own presence for an account: available, away or do not
//! disturb, with an optional status message. The daemon keeps it across
//! reconnects and restarts and reports it back (`own_presence`), so the
//! picker follows the shared state until the user starts changing it.

use iced::widget::{button, column, container, radio, row, text, text_input};
use iced::{Element, Length, Task};
use wimsy_ipc::{FrontendState, OwnPresence, Request, Show};

use crate::link::Answer;
use crate::screen::common::refusal;

/// Widget ids, for tests.
pub mod ids {
    pub const STATUS: &str = "presence-status";
}

/// What the user can pick; [`Show`] also has `Unknown` for a newer
/// daemon's value, which is not offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Available,
    Away,
    DoNotDisturb,
}

impl Choice {
    const ALL: [Self; 3] = [Self::Available, Self::Away, Self::DoNotDisturb];

    fn of(show: Show) -> Option<Self> {
        match show {
            Show::Available => Some(Self::Available),
            Show::Away => Some(Self::Away),
            Show::Dnd => Some(Self::DoNotDisturb),
            Show::Unknown => None,
        }
    }

    fn show(self) -> Show {
        match self {
            Self::Available => Show::Available,
            Self::Away => Show::Away,
            Self::DoNotDisturb => Show::Dnd,
        }
    }

    /// Its radio button's id, for tests (a radio's label is not text a
    /// selector can find).
    pub fn id(self) -> &'static str {
        match self {
            Self::Available => "presence-available",
            Self::Away => "presence-away",
            Self::DoNotDisturb => "presence-dnd",
        }
    }

    /// The word on the screen.
    pub fn words(self) -> &'static str {
        match self {
            Self::Available => "Available",
            Self::Away => "Away",
            Self::DoNotDisturb => "Do not disturb",
        }
    }
}

/// How an own presence reads: "Away: at lunch".
pub fn words(presence: &OwnPresence) -> String {
    let show = Choice::of(presence.show).map_or("Set by a newer Wimsy", Choice::words);
    match presence.status.as_deref().map(str::trim) {
        Some(status) if !status.is_empty() => format!("{show}: {status}"),
        _ => show.to_owned(),
    }
}

/// The presence picker.
#[derive(Default)]
pub struct State {
    /// The account it is for; kept valid by [`State::observe`].
    account: Option<String>,
    /// What the picker shows: the daemon's presence until the user edits.
    choice: Option<Choice>,
    status: String,
    /// The user changed something not yet set.
    edited: bool,
    /// `set_presence` is on its way.
    pending: bool,
    problem: Option<String>,
}

/// What the user did, or the answer.
#[derive(Debug, Clone)]
pub enum Message {
    Chosen(Choice),
    StatusChanged(String),
    Apply,
    Applied(Answer),
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

impl State {
    /// The picker for `account`.
    pub fn for_account(account: &str) -> Self {
        Self {
            account: Some(account.to_owned()),
            ..Self::default()
        }
    }

    /// The shared state changed: follow the account's presence, unless
    /// the user is in the middle of changing it.
    pub fn observe(&mut self, state: &FrontendState) {
        if !self
            .account
            .as_ref()
            .is_some_and(|a| state.accounts.contains_key(a))
        {
            self.account = state.accounts.keys().next().cloned();
            self.edited = false;
        }
        if self.edited || self.pending {
            return;
        }
        if let Some(view) = self.account.as_ref().and_then(|a| state.accounts.get(a)) {
            self.choice = Choice::of(view.presence.show);
            self.status = view.presence.status.clone().unwrap_or_default();
        }
    }

    /// Apply a message.
    pub fn update(&mut self, message: Message) -> (Task<Message>, Option<Event>) {
        match message {
            Message::Chosen(choice) => {
                self.choice = Some(choice);
                self.edited = true;
            }
            Message::StatusChanged(status) => {
                self.status = status;
                self.edited = true;
            }
            Message::Apply => {
                if self.pending {
                    return (Task::none(), None);
                }
                let Some(choice) = self.choice else {
                    self.problem = Some("Pick Available, Away or Do not disturb.".to_owned());
                    return (Task::none(), None);
                };
                let status = Some(self.status.trim().to_owned()).filter(|s| !s.is_empty());
                self.pending = true;
                self.problem = None;
                let request = Request::SetPresence {
                    account: self.account.clone(),
                    show: choice.show(),
                    status,
                };
                return (
                    Task::none(),
                    Some(Event::Request {
                        request,
                        answered: Message::Applied,
                    }),
                );
            }
            Message::Applied(answer) => {
                self.pending = false;
                match answer {
                    // The daemon's `own_presence` event brings it back.
                    Ok(_) => self.edited = false,
                    Err(error) => self.problem = Some(refusal(&error)),
                }
            }
        }
        (Task::none(), None)
    }

    /// Draw the picker; `state` says what is set now.
    pub fn view<'a>(&'a self, state: &'a FrontendState) -> Element<'a, Message> {
        let now = self
            .account
            .as_ref()
            .and_then(|a| state.accounts.get(a))
            .map(|view| words(&view.presence));
        let mut page = column![text("Your status").size(18)].spacing(10);
        if let Some(now) = now {
            page = page.push(text(format!("Others see: {now}")).style(text::secondary));
        }
        let choices = Choice::ALL.into_iter().map(|c| {
            container(radio(c.words(), c, self.choice, Message::Chosen))
                .id(c.id())
                .into()
        });
        page = page
            .push(row(choices).spacing(18).wrap().vertical_spacing(8))
            .push(
                text_input("Status message (optional)", &self.status)
                    .id(ids::STATUS)
                    .on_input(Message::StatusChanged)
                    .on_submit(Message::Apply)
                    .width(Length::Fill),
            )
            .push(
                button("Set status")
                    .style(button::primary)
                    .on_press_maybe((!self.pending && self.edited).then_some(Message::Apply)),
            );
        if let Some(problem) = &self.problem {
            page = page.push(text(problem).style(text::danger));
        }
        page.into()
    }
}

#[cfg(test)]
mod tests {
    use wimsy_ipc::{ConnectionState, ConnectionStatus, Event as Wire, Response};

    use super::*;
    use crate::screen::testing::{apply, click, click_id, interact, shows, state_with, type_into};

    const A: &str = "alice@example.org";

    fn daemon_state(show: Show, status: Option<&str>) -> FrontendState {
        let mut state = state_with(&[(A, ConnectionStatus::new(ConnectionState::Connected, ""))]);
        apply(
            &mut state,
            Wire::OwnPresence {
                account: A.to_owned(),
                presence: OwnPresence {
                    show,
                    status: status.map(str::to_owned),
                },
            },
        );
        state
    }

    #[test]
    fn picking_away_with_a_message_sends_set_presence() {
        let state = daemon_state(Show::Available, None);
        let mut picker = State::default();
        picker.observe(&state);
        assert!(shows(picker.view(&state), "Others see: Available"));
        let messages = interact(picker.view(&state), |ui| {
            click_id(ui, Choice::Away.id());
            type_into(ui, ids::STATUS, "at lunch");
        });
        for message in messages {
            let _ = picker.update(message);
        }
        // The button wakes up once something changed, so it is clicked on
        // the view drawn after the edits.
        let messages = interact(picker.view(&state), |ui| click(ui, "Set status"));
        let events: Vec<Event> = messages
            .into_iter()
            .filter_map(|m| picker.update(m).1)
            .collect();
        match events.as_slice() {
            [Event::Request { request, .. }] => assert_eq!(
                *request,
                Request::SetPresence {
                    account: Some(A.to_owned()),
                    show: Show::Away,
                    status: Some("at lunch".to_owned()),
                }
            ),
            other => panic!("{other:?}"),
        }
        let _ = picker.update(Message::Applied(Ok(Response::Done)));
        let state = daemon_state(Show::Away, Some("at lunch"));
        picker.observe(&state);
        assert!(shows(picker.view(&state), "Others see: Away: at lunch"));
    }

    #[test]
    fn do_not_disturb_reads_in_words_and_follows_the_daemon() {
        let state = daemon_state(Show::Dnd, Some("focus"));
        let mut picker = State::for_account(A);
        picker.observe(&state);
        assert!(shows(
            picker.view(&state),
            "Others see: Do not disturb: focus"
        ));
        assert!(!shows(picker.view(&state), "dnd"));
        assert_eq!(picker.choice, Some(Choice::DoNotDisturb));
        assert_eq!(picker.status, "focus");
        // While the user edits, another frontend's change does not
        // overwrite what they typed.
        let _ = picker.update(Message::StatusChanged("typing".to_owned()));
        picker.observe(&daemon_state(Show::Away, None));
        assert_eq!(picker.status, "typing");
    }
}
