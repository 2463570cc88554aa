//! The screens beside the chats: sign-in, contacts, settings, own
//! presence and the first-run notice. Each hands back requests as events;
//! here they are sent and their answers routed back to the screen.

use iced::Task;
use wimsy_ipc::Request;

use super::{App, Dialog, Message, Page};
use crate::data::ChatKey;
use crate::link::Answer;
use crate::screen::{first_run, presence, roster, settings, sign_in};

impl App {
    /// Send a screen's request; its answer comes back as `wrap(answered(..))`.
    fn screen_request<M: Send + 'static>(
        &self,
        request: Request,
        answered: fn(Answer) -> M,
        wrap: fn(M) -> Message,
    ) -> Task<Message> {
        if self.requester().is_none() {
            // No daemon to ask: the screen hears so at once, in its words.
            let gone = Err(crate::link::RequestError {
                code: None,
                message: "Wimsy's background service is not running".to_owned(),
            });
            return Task::done(wrap(answered(gone)));
        }
        self.ask(request, move |answer| wrap(answered(answer)))
    }

    /// Show a page in the main area.
    pub(super) fn show(&mut self, page: Page) -> Task<Message> {
        let task = match &page {
            Page::SignIn(_) => sign_in::State::opened().map(Message::SignIn),
            _ => Task::none(),
        };
        self.page = page;
        self.observe_screens();
        task
    }

    /// The screens follow the daemon's state after each event.
    pub(super) fn observe_screens(&mut self) {
        let Some(state) = (match &self.connection {
            super::Connection::Attached { state, .. } => Some(state),
            _ => None,
        }) else {
            return;
        };
        match &mut self.page {
            Page::SignIn(screen) => screen.observe(state),
            Page::Roster(screen) => screen.observe(state),
            Page::Chat | Page::Settings(_) => {}
        }
        if let Some(Dialog::Presence(screen)) = &mut self.dialog {
            screen.observe(state);
        }
    }

    /// With no account at all, the window is the sign-in form.
    pub(super) fn sign_in_if_no_account(&mut self) -> Task<Message> {
        let none = self.state().is_some_and(|s| s.accounts.is_empty());
        if none && !matches!(self.page, Page::SignIn(_)) {
            return self.show(Page::SignIn(Box::new(sign_in::State::new(
                sign_in::Purpose::FirstAccount,
            ))));
        }
        Task::none()
    }

    pub(super) fn on_sign_in(&mut self, message: sign_in::Message) -> Task<Message> {
        let Page::SignIn(screen) = &mut self.page else {
            return Task::none();
        };
        let (task, event) = screen.update(message);
        let task = task.map(Message::SignIn);
        let then = match event {
            None => Task::none(),
            Some(sign_in::Event::Request { request, answered }) => {
                self.screen_request(request, answered, Message::SignIn)
            }
            Some(sign_in::Event::SignedIn { account }) => {
                tracing::info!("{account} signed in");
                self.page = Page::Chat;
                Task::none()
            }
            Some(sign_in::Event::Cancelled) => {
                self.page = Page::Chat;
                Task::none()
            }
        };
        Task::batch([task, then])
    }

    pub(super) fn on_roster(&mut self, message: roster::Message) -> Task<Message> {
        let Page::Roster(screen) = &mut self.page else {
            return Task::none();
        };
        let (task, event) = screen.update(message);
        let task = task.map(Message::Roster);
        let then = match event {
            None => Task::none(),
            Some(roster::Event::Request { request, answered }) => {
                self.screen_request(request, answered, Message::Roster)
            }
            Some(roster::Event::OpenChat { account, peer }) => {
                self.page = Page::Chat;
                self.open_chat(ChatKey::new(&account, &peer), true)
            }
        };
        Task::batch([task, then])
    }

    pub(super) fn on_settings(&mut self, message: settings::Message) -> Task<Message> {
        let Page::Settings(screen) = &mut self.page else {
            return Task::none();
        };
        let (task, event) = screen.update(message);
        let task = task.map(Message::Settings);
        let then = match event {
            None => Task::none(),
            Some(settings::Event::Request { request, answered }) => {
                self.screen_request(request, answered, Message::Settings)
            }
        };
        Task::batch([task, then])
    }

    pub(super) fn on_presence(&mut self, message: presence::Message) -> Task<Message> {
        let Some(Dialog::Presence(screen)) = &mut self.dialog else {
            return Task::none();
        };
        let applied = matches!(message, presence::Message::Applied(Ok(_)));
        let (task, event) = screen.update(message);
        let task = task.map(Message::Presence);
        if applied {
            self.dialog = None;
        }
        let then = match event {
            None => Task::none(),
            Some(presence::Event::Request { request, answered }) => {
                self.screen_request(request, answered, Message::Presence)
            }
        };
        Task::batch([task, then])
    }

    pub(super) fn on_first_run(&mut self, message: first_run::Message) -> Task<Message> {
        let Some(screen) = &mut self.first_run else {
            return Task::none();
        };
        let (task, event) = screen.update(message);
        let task = task.map(Message::FirstRun);
        let then = match event {
            None | Some(first_run::Event::Dismissed) => Task::none(),
            Some(first_run::Event::Request { request, answered }) => {
                self.screen_request(request, answered, Message::FirstRun)
            }
        };
        Task::batch([task, then])
    }

    /// Open the own-presence picker for `account`.
    pub(super) fn show_presence(&mut self, account: &str) -> Task<Message> {
        let mut screen = presence::State::for_account(account);
        if let Some(state) = self.state() {
            screen.observe(state);
        }
        self.dialog = Some(Dialog::Presence(screen));
        Task::none()
    }

    /// The contacts of `account` (or the first).
    pub(super) fn show_roster(&mut self, account: Option<&str>) -> Task<Message> {
        let mut screen = match std::mem::replace(&mut self.page, Page::Chat) {
            Page::Roster(screen) => screen,
            _ => roster::State::default(),
        };
        if let Some(account) = account {
            screen.show_account(account);
        }
        self.show(Page::Roster(screen))
    }
}
