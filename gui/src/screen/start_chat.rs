//! "Start a chat": type a JID (and pick the account when there are
//! several); Enter opens the chat with the composer focused.

use iced::widget::{button, column, container, operation, pick_list, row, text, text_input};
use iced::{Element, Fill, Task};

/// The JID field's id, focused when the dialog opens (Ctrl+N).
pub const JID_ID: &str = "start-chat-jid";

/// The dialog's state.
#[derive(Debug, Clone)]
pub struct State {
    jid: String,
    accounts: Vec<String>,
    account: Option<String>,
    error: Option<String>,
}

/// What happens in the dialog.
#[derive(Debug, Clone)]
pub enum Message {
    /// The JID text changed.
    Jid(String),
    /// An account was picked.
    Account(String),
    /// Enter, or the Open button.
    Open,
    /// Cancel.
    Cancel,
}

/// What the app must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Open the chat of `account` with `peer`.
    Open {
        /// Our account.
        account: String,
        /// The bare JID typed.
        peer: String,
    },
    /// Close the dialog.
    Cancel,
}

impl State {
    /// The dialog for these accounts, the first one picked.
    pub fn new(accounts: Vec<String>, preferred: Option<&str>) -> Self {
        let account = preferred
            .filter(|p| accounts.iter().any(|a| a == p))
            .map(str::to_owned)
            .or_else(|| accounts.first().cloned());
        Self {
            jid: String::new(),
            accounts,
            account,
            error: None,
        }
    }

    /// Focus the JID field.
    pub fn focus() -> Task<Message> {
        operation::focus(JID_ID)
    }

    /// Apply a message.
    pub fn update(&mut self, message: Message) -> (Task<Message>, Option<Event>) {
        match message {
            Message::Jid(jid) => {
                self.jid = jid;
                self.error = None;
                (Task::none(), None)
            }
            Message::Account(account) => {
                self.account = Some(account);
                (Task::none(), None)
            }
            Message::Cancel => (Task::none(), Some(Event::Cancel)),
            Message::Open => match (check_jid(&self.jid), &self.account) {
                (Err(why), _) => {
                    self.error = Some(why.to_owned());
                    (Task::none(), None)
                }
                (Ok(_), None) => {
                    self.error =
                        Some("Add an account first: there is none to chat from.".to_owned());
                    (Task::none(), None)
                }
                (Ok(peer), Some(account)) => (
                    Task::none(),
                    Some(Event::Open {
                        account: account.clone(),
                        peer,
                    }),
                ),
            },
        }
    }

    /// Draw the dialog.
    pub fn view(&self) -> Element<'_, Message> {
        let mut page = column![
            text("Start a chat").size(18),
            text("Type the address of the person to write to, like alice@example.org.").size(13),
            text_input("name@example.org", &self.jid)
                .id(JID_ID)
                .on_input(Message::Jid)
                .on_submit(Message::Open)
                .padding(6),
        ]
        .spacing(10);
        if self.accounts.len() > 1 {
            page = page.push(
                row![
                    text("From").size(13),
                    pick_list(
                        self.accounts.as_slice(),
                        self.account.clone(),
                        Message::Account
                    )
                ]
                .spacing(8),
            );
        }
        if let Some(error) = &self.error {
            page = page.push(text(error.as_str()).size(13).style(text::danger));
        }
        page = page.push(
            row![
                button(text("Cancel"))
                    .on_press(Message::Cancel)
                    .style(button::secondary),
                button(text("Open chat")).on_press(Message::Open),
            ]
            .spacing(8),
        );
        container(page)
            .padding(20)
            .max_width(460)
            .width(Fill)
            .into()
    }
}

/// A bare JID, lower-cased where XMPP compares without case, or why not.
fn check_jid(typed: &str) -> Result<String, &'static str> {
    let jid = typed.trim();
    let Some((local, domain)) = jid.split_once('@') else {
        return Err("An address has the form name@example.org.");
    };
    if local.is_empty() || domain.is_empty() || domain.contains(['@', '/', ' ']) {
        return Err("An address has the form name@example.org, without spaces.");
    }
    if local.contains(' ') {
        return Err("An address has no spaces.");
    }
    Ok(format!("{local}@{}", domain.to_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enter_opens_a_well_formed_address_and_refuses_others() {
        let mut s = State::new(vec!["me@x".to_owned()], None);
        let _ = s.update(Message::Jid(" Bob@Example.ORG ".to_owned()));
        let (_, event) = s.update(Message::Open);
        assert_eq!(
            event,
            Some(Event::Open {
                account: "me@x".to_owned(),
                peer: "Bob@example.org".to_owned()
            })
        );
        let _ = s.update(Message::Jid("bob".to_owned()));
        let (_, event) = s.update(Message::Open);
        assert_eq!(event, None);
        assert!(s.error.is_some());
    }
}
