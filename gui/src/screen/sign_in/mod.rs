//! Signing in: the first-run form (address, password, optional server and
//! port), then the account's login followed in words until it is connected
//! or needs the user: a wrong password to retype, an untrusted certificate
//! to compare and trust, a server that cannot be reached. Also used to add
//! another account.
//!
//! The parent sends the requests this screen hands it and calls
//! [`State::observe`] whenever the shared state changes; the login's
//! outcome is read from the account's status there, the way wimsyctl's
//! `account add` reads it from events.

mod form;
mod outcome;
#[cfg(test)]
mod tests;
mod view;
mod words;

use iced::Task;
use iced::widget::operation;
use wimsy_ipc::{FrontendState, Request, Secret};

use crate::link::Answer;
use crate::screen::common::refusal;

use form::Form;
pub use outcome::Outcome;
use outcome::Watch;

/// Widget ids, for focus and for tests.
pub mod ids {
    pub const JID: &str = "sign-in-jid";
    pub const PASSWORD: &str = "sign-in-password";
    pub const SERVER: &str = "sign-in-server";
    pub const PORT: &str = "sign-in-port";
}

/// Why the screen is shown; only the title and the Cancel button differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// No account yet: there is nothing else to go back to.
    FirstAccount,
    /// Adding another account next to the ones there are.
    AnotherAccount,
}

/// The sign-in screen.
pub struct State {
    purpose: Purpose,
    form: Form,
    /// What to correct, or why the daemon refused the last request.
    problem: Option<String>,
    stage: Stage,
}

// There is one of these per window, so the size of the larger variant
// costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
enum Stage {
    /// Filling in the form.
    Editing,
    /// The account is (being) added; its login is followed.
    Watching {
        watch: Watch,
        outcome: Outcome,
        /// A request is on its way; the buttons wait for its answer.
        busy: bool,
        /// What was shown before a request restarted the login, shown
        /// again if the request is refused.
        before: Option<Outcome>,
    },
}

/// What the user did, or a request's answer.
#[derive(Debug, Clone)]
pub enum Message {
    JidChanged(String),
    PasswordChanged(Secret),
    ServerChanged(String),
    PortChanged(String),
    /// Check the form and send `account_add`.
    SignIn,
    Added(Answer),
    /// Send the retyped password (`account_password`).
    TryPassword,
    PasswordSet(Answer),
    /// Trust the certificate shown (`account_trust`).
    Trust,
    Trusted(Answer),
    /// Remove the account that did not work out and edit the form again.
    StartOver,
    RemovedForRetry(Answer),
    /// Leave the screen with the account connected.
    Finish,
    /// Leave the screen without adding an account.
    Cancel,
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
    /// The account is connected and the user moved on.
    SignedIn { account: String },
    /// The user went back without adding an account.
    Cancelled,
}

impl State {
    /// An empty form.
    pub fn new(purpose: Purpose) -> Self {
        Self {
            purpose,
            form: Form::default(),
            problem: None,
            stage: Stage::Editing,
        }
    }

    /// The screen for an account that exists and needs the user (a wrong
    /// password, an untrusted certificate): its current status is shown
    /// at the next [`State::observe`].
    pub fn fix(account: &str) -> Self {
        Self {
            purpose: Purpose::AnotherAccount,
            form: Form {
                jid: account.to_owned(),
                ..Form::default()
            },
            problem: None,
            stage: Stage::Watching {
                watch: Watch::existing(account),
                outcome: Outcome::Starting,
                busy: false,
                before: None,
            },
        }
    }

    /// The task to run when the screen opens: the cursor in the first
    /// field, so typing starts at once.
    pub fn opened() -> Task<Message> {
        operation::focus(ids::JID)
    }

    /// Where the login stands, once one was asked for.
    pub fn outcome(&self) -> Option<&Outcome> {
        match &self.stage {
            Stage::Editing => None,
            Stage::Watching { outcome, .. } => Some(outcome),
        }
    }

    /// The shared state changed: see how the login goes. Call it after
    /// every event the app applies, not once per batch: a restarted login
    /// shows as a new status between two alike errors, and the error after
    /// it is only told apart from the one before by that.
    pub fn observe(&mut self, state: &FrontendState) {
        let Stage::Watching { watch, outcome, .. } = &mut self.stage else {
            return;
        };
        let next = watch.observe(state);
        let newly_refused = matches!(next, Outcome::WrongPassword { .. })
            && !matches!(outcome, Outcome::WrongPassword { .. });
        // The password field is empty for the retry, and no password stays
        // in memory once it worked.
        if newly_refused || matches!(next, Outcome::Connected { .. }) {
            self.form.password = Secret::new("");
        }
        *outcome = next;
    }

    /// Apply a message.
    pub fn update(&mut self, message: Message) -> (Task<Message>, Option<Event>) {
        match message {
            Message::JidChanged(value) => self.form.jid = value,
            Message::PasswordChanged(value) => self.form.password = value,
            Message::ServerChanged(value) => self.form.server = value,
            Message::PortChanged(value) => self.form.port = value,
            Message::SignIn => return self.sign_in(),
            Message::TryPassword => return self.try_password(),
            Message::Trust => return self.trust(),
            Message::StartOver => return self.start_over(),
            Message::Added(answer) => {
                if let Err(error) = answer {
                    self.stage = Stage::Editing;
                    self.problem = Some(refusal(&error));
                    return (operation::focus(ids::JID), None);
                }
                self.settled(None);
            }
            Message::PasswordSet(answer) | Message::Trusted(answer) => {
                self.settled(answer.err().map(|e| refusal(&e)));
            }
            Message::RemovedForRetry(answer) => match answer {
                Ok(_) => {
                    self.stage = Stage::Editing;
                    return (operation::focus(ids::JID), None);
                }
                Err(error) => self.settled(Some(refusal(&error))),
            },
            Message::Finish => {
                return (
                    Task::none(),
                    Some(Event::SignedIn {
                        account: self.account().unwrap_or_default().to_owned(),
                    }),
                );
            }
            Message::Cancel => return (Task::none(), Some(Event::Cancelled)),
        }
        (Task::none(), None)
    }

    fn sign_in(&mut self) -> (Task<Message>, Option<Event>) {
        if !matches!(self.stage, Stage::Editing) {
            return (Task::none(), None);
        }
        let checked = match self.form.check() {
            Ok(checked) => checked,
            Err(problem) => {
                self.problem = Some(problem);
                return (Task::none(), None);
            }
        };
        self.problem = None;
        self.stage = Stage::Watching {
            watch: Watch::new(&checked.jid),
            outcome: Outcome::Starting,
            busy: true,
            before: None,
        };
        let request = Request::AccountAdd {
            jid: checked.jid,
            password: self.form.password.clone(),
            server: checked.server,
            ca_file: None,
        };
        (Task::none(), Some(request_event(request, Message::Added)))
    }

    fn try_password(&mut self) -> (Task<Message>, Option<Event>) {
        if self.form.password.expose().is_empty() {
            self.problem = Some("Type your password.".to_owned());
            return (operation::focus(ids::PASSWORD), None);
        }
        let password = self.form.password.clone();
        self.restart(|jid| Request::AccountPassword {
            jid: jid.to_owned(),
            password,
        })
        .map_or((Task::none(), None), |request| {
            (
                Task::none(),
                Some(request_event(request, Message::PasswordSet)),
            )
        })
    }

    fn trust(&mut self) -> (Task<Message>, Option<Event>) {
        let Some(Outcome::Untrusted {
            fingerprint: Some(fingerprint),
            ..
        }) = self.outcome().cloned()
        else {
            return (Task::none(), None);
        };
        self.restart(|jid| Request::AccountTrust {
            jid: jid.to_owned(),
            fingerprint,
        })
        .map_or((Task::none(), None), |request| {
            (Task::none(), Some(request_event(request, Message::Trusted)))
        })
    }

    fn start_over(&mut self) -> (Task<Message>, Option<Event>) {
        let Stage::Watching {
            watch,
            outcome,
            busy,
            ..
        } = &mut self.stage
        else {
            return (Task::none(), None);
        };
        if *busy {
            return (Task::none(), None);
        }
        self.problem = None;
        // Keep what was typed: the point is usually to change the server
        // or the address.
        self.form.jid = watch.jid().to_owned();
        if *outcome == Outcome::Removed {
            self.stage = Stage::Editing;
            return (operation::focus(ids::JID), None);
        }
        *busy = true;
        let request = Request::AccountRemove {
            jid: watch.jid().to_owned(),
        };
        (
            Task::none(),
            Some(request_event(request, Message::RemovedForRetry)),
        )
    }

    /// Mark a request that restarts the login as sent, and build it for
    /// the watched account; `None` while another one is on its way.
    fn restart(&mut self, request: impl FnOnce(&str) -> Request) -> Option<Request> {
        let Stage::Watching {
            watch,
            outcome,
            busy,
            before,
        } = &mut self.stage
        else {
            return None;
        };
        if *busy {
            return None;
        }
        self.problem = None;
        *busy = true;
        watch.restart();
        *before = Some(std::mem::replace(outcome, Outcome::Starting));
        Some(request(watch.jid()))
    }

    /// A request's answer came: the buttons work again. A refusal is shown
    /// and what was shown before the request comes back.
    fn settled(&mut self, refused: Option<String>) {
        let Stage::Watching {
            watch,
            outcome,
            busy,
            before,
        } = &mut self.stage
        else {
            return;
        };
        *busy = false;
        let before = before.take();
        if let Some(problem) = refused {
            self.problem = Some(problem);
            if let Some(previous) = before {
                watch.resume();
                *outcome = previous;
            }
        }
    }

    /// The account being signed in, once there is one.
    fn account(&self) -> Option<&str> {
        match &self.stage {
            Stage::Editing => None,
            Stage::Watching { watch, .. } => Some(watch.jid()),
        }
    }
}

fn request_event(request: Request, answered: fn(Answer) -> Message) -> Event {
    Event::Request { request, answered }
}
