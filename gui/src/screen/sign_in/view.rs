//! How the sign-in screen is drawn. One narrow column in a scrollable, so
//! it reads the same in a small window and at twice the scale.

use iced::widget::{Column, button, column, container, row, scrollable, text, text_input};
use iced::{Element, Font, Length};
use wimsy_ipc::Secret;

use super::words::{Tone, fingerprint_lines};
use super::{Message, Outcome, Purpose, Stage, State, ids};

/// Wide enough for a fingerprint line at the default text size.
const MAX_WIDTH: f32 = 560.0;

impl State {
    /// Draw the screen.
    pub fn view(&self) -> Element<'_, Message> {
        let title = match self.purpose {
            Purpose::FirstAccount => "Sign in to Wimsy",
            Purpose::AnotherAccount => "Add an account",
        };
        let mut page = column![text(title).size(24)].spacing(14);
        page = match &self.stage {
            Stage::Editing => self.form_view(page),
            Stage::Watching {
                watch,
                outcome,
                busy,
                ..
            } => self.outcome_view(page, watch.jid(), outcome, *busy),
        };
        if let Some(problem) = &self.problem {
            page = page.push(text(problem).style(text::danger));
        }
        scrollable(
            container(page.max_width(MAX_WIDTH))
                .padding(24)
                .center_x(Length::Fill),
        )
        .into()
    }

    fn form_view<'a>(&'a self, page: Column<'a, Message>) -> Column<'a, Message> {
        let form = &self.form;
        let sign_in = button("Sign in")
            .style(button::primary)
            .on_press(Message::SignIn);
        let mut buttons = row![sign_in].spacing(12);
        if self.purpose == Purpose::AnotherAccount {
            buttons = buttons.push(
                button("Cancel")
                    .style(button::secondary)
                    .on_press(Message::Cancel),
            );
        }
        page.push(text(
            "Sign in with your XMPP address (also called a Jabber ID) and its password.",
        ))
        .push(field(
            "Address",
            text_input("alice@example.org", &form.jid)
                .id(ids::JID)
                .on_input(Message::JidChanged)
                .on_submit(Message::SignIn),
        ))
        .push(field(
            "Password",
            password_input(form.password.expose(), Message::SignIn),
        ))
        .push(
            text("Server and port: only if your provider tells you to use them.")
                .size(14)
                .style(text::secondary),
        )
        .push(
            row![
                text_input("Server (optional)", &form.server)
                    .id(ids::SERVER)
                    .on_input(Message::ServerChanged)
                    .on_submit(Message::SignIn),
                text_input("Port", &form.port)
                    .id(ids::PORT)
                    .width(Length::Fixed(110.0))
                    .on_input(Message::PortChanged)
                    .on_submit(Message::SignIn),
            ]
            .spacing(10),
        )
        .push(buttons)
    }

    fn outcome_view<'a>(
        &'a self,
        page: Column<'a, Message>,
        jid: &'a str,
        outcome: &'a Outcome,
        busy: bool,
    ) -> Column<'a, Message> {
        let words = outcome.words(jid);
        let tone = match words.tone {
            Tone::Good => text::success,
            Tone::Pending => text::primary,
            Tone::Bad => text::danger,
        };
        let mut page = page
            .push(text(jid).style(text::secondary))
            .push(text(words.headline).size(20).style(tone));
        if let Some(detail) = words.detail {
            page = page.push(text(detail));
        }
        // While a request is on its way, its buttons wait for the answer.
        let act = |message: Message| (!busy).then_some(message);
        let remove = button("Remove this account and start over")
            .style(button::secondary)
            .on_press_maybe(act(Message::StartOver));
        match outcome {
            Outcome::Starting | Outcome::Connecting => page,
            Outcome::Connected { .. } => page.push(
                button("Continue")
                    .style(button::primary)
                    .on_press(Message::Finish),
            ),
            Outcome::WrongPassword { .. } => page
                .push(field(
                    "Password",
                    password_input(self.form.password.expose(), Message::TryPassword),
                ))
                .push(
                    row![
                        button("Try this password")
                            .style(button::primary)
                            .on_press_maybe(act(Message::TryPassword)),
                        remove,
                    ]
                    .spacing(12)
                    .wrap()
                    .vertical_spacing(12),
                ),
            Outcome::Untrusted {
                fingerprint: Some(fingerprint),
                ..
            } => page.push(fingerprint_view(fingerprint)).push(
                row![
                    button("Trust this certificate")
                        .style(button::danger)
                        .on_press_maybe(act(Message::Trust)),
                    remove,
                ]
                .spacing(12)
                .wrap()
                .vertical_spacing(12),
            ),
            Outcome::Removed => page.push(
                button("Start over")
                    .style(button::primary)
                    .on_press(Message::StartOver),
            ),
            Outcome::Retrying { .. }
            | Outcome::Untrusted { .. }
            | Outcome::Unreachable { .. }
            | Outcome::NoNetwork { .. }
            | Outcome::Offline
            | Outcome::Failed { .. } => page.push(remove),
        }
    }
}

/// A label above its input.
fn field<'a>(label: &'a str, input: impl Into<Element<'a, Message>>) -> Element<'a, Message> {
    column![text(label).size(14), input.into()]
        .spacing(4)
        .into()
}

fn password_input(value: &str, submit: Message) -> Element<'_, Message> {
    text_input("Password", value)
        .id(ids::PASSWORD)
        .secure(true)
        .on_input(|value| Message::PasswordChanged(Secret::new(value)))
        .on_submit(submit)
        .into()
}

/// The fingerprint in a box, in lines of eight bytes, monospaced so the
/// columns line up with what the admin reads out.
fn fingerprint_view(fingerprint: &str) -> Element<'_, Message> {
    let lines = fingerprint_lines(fingerprint)
        .into_iter()
        .map(|line| text(line).font(Font::MONOSPACE).into());
    column![
        text("The certificate's SHA-256 fingerprint:").size(14),
        container(column(lines).spacing(2))
            .padding(10)
            .style(container::bordered_box),
    ]
    .spacing(6)
    .into()
}
