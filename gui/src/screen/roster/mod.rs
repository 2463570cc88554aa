//! The contacts of an account: each with its name (or address), presence
//! and who sees whose status in words; adding, renaming and removing (after
//! a confirmation) a contact; and the requests from people who want to see
//! the user's status, with Accept and Deny.
//!
//! One request at a time: the answer to `roster_*` and
//! `subscription_answer` carries nothing that says which contact it was
//! for, and these are quick, rare actions, so the buttons wait for it.

#[cfg(test)]
mod tests;
mod view;
pub mod words;

use iced::Task;
use iced::widget::operation;
use wimsy_ipc::{FrontendState, Request};

use crate::link::Answer;
use crate::screen::address::check_address;
use crate::screen::common::refusal;

/// Widget ids, for focus and for tests.
pub mod ids {
    pub const ADD_JID: &str = "roster-add-jid";
    pub const ADD_NAME: &str = "roster-add-name";
    pub const RENAME: &str = "roster-rename";
}

/// The roster screen.
#[derive(Default)]
pub struct State {
    /// The account shown; kept valid by [`State::observe`].
    account: Option<String>,
    add_jid: String,
    add_name: String,
    /// The contact being renamed, with the name typed so far.
    renaming: Option<(String, String)>,
    /// The contact whose removal waits for a confirmation.
    removing: Option<String>,
    /// The request on its way, if any.
    pending: Option<Pending>,
    /// Why the last action failed.
    problem: Option<String>,
    /// What the last action did, when that is worth saying.
    done: Option<String>,
}

/// What the request on its way does, for the words when it is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pending {
    Add(String),
    Rename(String),
    Remove(String),
    Answer { jid: String, accept: bool },
}

/// What the user did, or a request's answer.
#[derive(Debug, Clone)]
pub enum Message {
    AccountChosen(String),
    AddJidChanged(String),
    AddNameChanged(String),
    Add,
    /// Start renaming the contact (its address, its name now).
    Rename(String, String),
    RenameChanged(String),
    SaveRename,
    CancelRename,
    Remove(String),
    ConfirmRemove,
    CancelRemove,
    Accept(String),
    Deny(String),
    OpenChat(String),
    /// The answer to whichever request was on its way.
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
    /// Open the chat with `peer`.
    OpenChat { account: String, peer: String },
}

impl State {
    /// Show `account`'s contacts (it is kept if it exists).
    pub fn show_account(&mut self, account: &str) {
        if self.account.as_deref() != Some(account) {
            self.account = Some(account.to_owned());
            self.renaming = None;
            self.removing = None;
            self.problem = None;
            self.done = None;
        }
    }

    /// The account shown.
    pub fn account(&self) -> Option<&str> {
        self.account.as_deref()
    }

    /// The shared state changed: keep the account and the contact being
    /// edited pointing at things that still exist.
    pub fn observe(&mut self, state: &FrontendState) {
        let Some(view) = self
            .account
            .as_ref()
            .and_then(|account| state.accounts.get(account))
        else {
            self.account = state.accounts.keys().next().cloned();
            self.renaming = None;
            self.removing = None;
            return;
        };
        if self
            .renaming
            .as_ref()
            .is_some_and(|(jid, _)| !view.contacts.contains_key(jid))
        {
            self.renaming = None;
        }
        if self
            .removing
            .as_ref()
            .is_some_and(|jid| !view.contacts.contains_key(jid))
        {
            self.removing = None;
        }
    }

    /// Apply a message.
    pub fn update(&mut self, message: Message) -> (Task<Message>, Option<Event>) {
        match message {
            Message::AccountChosen(account) => self.show_account(&account),
            Message::AddJidChanged(value) => self.add_jid = value,
            Message::AddNameChanged(value) => self.add_name = value,
            Message::Add => return self.add(),
            Message::Rename(jid, name) => {
                self.removing = None;
                self.renaming = Some((jid, name));
                // Typing replaces the name; the arrow keys keep it.
                let task = operation::focus(ids::RENAME).chain(operation::select_all(ids::RENAME));
                return (task, None);
            }
            Message::RenameChanged(value) => {
                if let Some((_, name)) = &mut self.renaming {
                    *name = value;
                }
            }
            Message::SaveRename => return self.save_rename(),
            Message::CancelRename => self.renaming = None,
            Message::Remove(jid) => {
                self.renaming = None;
                self.removing = Some(jid);
            }
            Message::ConfirmRemove => {
                if let Some(jid) = self.removing.clone() {
                    return self.send(Pending::Remove(jid.clone()), |account| {
                        Request::RosterRemove { account, jid }
                    });
                }
            }
            Message::CancelRemove => self.removing = None,
            Message::Accept(jid) => return self.answer(jid, true),
            Message::Deny(jid) => return self.answer(jid, false),
            Message::OpenChat(peer) => {
                if let Some(account) = self.account.clone() {
                    return (Task::none(), Some(Event::OpenChat { account, peer }));
                }
            }
            Message::Answered(answer) => self.answered(answer),
        }
        (Task::none(), None)
    }

    fn add(&mut self) -> (Task<Message>, Option<Event>) {
        if self.add_jid.trim().is_empty() {
            self.problem = Some("Type the contact's address, like bob@example.org.".to_owned());
            return (operation::focus(ids::ADD_JID), None);
        }
        let jid = match check_address(&self.add_jid) {
            Ok(jid) => jid,
            Err(problem) => {
                self.problem = Some(problem);
                return (operation::focus(ids::ADD_JID), None);
            }
        };
        let name = Some(self.add_name.trim().to_owned()).filter(|name| !name.is_empty());
        self.send(Pending::Add(jid.clone()), |account| Request::RosterAdd {
            account,
            jid,
            name,
        })
    }

    fn save_rename(&mut self) -> (Task<Message>, Option<Event>) {
        let Some((jid, name)) = self.renaming.clone() else {
            return (Task::none(), None);
        };
        // An empty name removes it: the address is shown instead.
        let name = name.trim().to_owned();
        self.send(Pending::Rename(jid.clone()), |account| {
            Request::RosterRename { account, jid, name }
        })
    }

    fn answer(&mut self, jid: String, accept: bool) -> (Task<Message>, Option<Event>) {
        let pending = Pending::Answer {
            jid: jid.clone(),
            accept,
        };
        self.send(pending, |account| Request::SubscriptionAnswer {
            account,
            jid,
            accept,
        })
    }

    /// Hand the parent `request` for the account shown, unless another
    /// request is still on its way.
    fn send(
        &mut self,
        pending: Pending,
        request: impl FnOnce(Option<String>) -> Request,
    ) -> (Task<Message>, Option<Event>) {
        if self.pending.is_some() {
            return (Task::none(), None);
        }
        let Some(account) = self.account.clone() else {
            return (Task::none(), None);
        };
        self.problem = None;
        self.done = None;
        self.pending = Some(pending);
        let event = Event::Request {
            request: request(Some(account)),
            answered: Message::Answered,
        };
        (Task::none(), Some(event))
    }

    fn answered(&mut self, answer: Answer) {
        let Some(pending) = self.pending.take() else {
            return;
        };
        if let Err(error) = answer {
            self.problem = Some(refusal(&error));
            return;
        }
        self.done = match pending {
            Pending::Add(jid) => {
                self.add_jid.clear();
                self.add_name.clear();
                Some(format!(
                    "{jid} is in your contacts now, and was asked to share their status \
                     with you."
                ))
            }
            Pending::Rename(_) => {
                self.renaming = None;
                None
            }
            Pending::Remove(jid) => {
                self.removing = None;
                Some(format!("{jid} is no longer in your contacts."))
            }
            Pending::Answer { jid, accept: true } => {
                Some(format!("{jid} can see your status now."))
            }
            Pending::Answer { jid, accept: false } => {
                Some(format!("{jid} was told no; they do not see your status."))
            }
        };
    }
}
