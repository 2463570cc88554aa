//! A question with two answers: quitting, or closing the window when that
//! stops the background service.

use iced::widget::{button, column, container, row, text};
use iced::{Element, Fill};

/// Which question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// Quit Wimsy (menu or Ctrl+Q).
    Quit,
    /// The window's close button, while "keep connected when windows
    /// close" is off.
    Close,
}

/// The answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    /// Go ahead: stop the background service and close.
    Confirm,
    /// Keep everything as it is.
    Cancel,
}

/// Draw the question.
pub fn view<'a>(ask: Ask) -> Element<'a, Message> {
    let (title, body) = match ask {
        Ask::Quit => (
            "Quit Wimsy?",
            "This disconnects all your accounts and stops Wimsy's background service. Until you open Wimsy again, you receive no messages and others see you offline.",
        ),
        Ask::Close => (
            "Close Wimsy and go offline?",
            "\"Keep connected when windows close\" is off, so closing the window also disconnects your accounts and stops Wimsy's background service. Turn the setting on in Settings to stay connected with the window closed.",
        ),
    };
    let confirm = match ask {
        Ask::Quit => "Quit Wimsy",
        Ask::Close => "Close and go offline",
    };
    container(
        column![
            text(title).size(18),
            text(body).size(14),
            row![
                button(text("Cancel"))
                    .on_press(Message::Cancel)
                    .style(button::secondary),
                button(text(confirm))
                    .on_press(Message::Confirm)
                    .style(button::danger),
            ]
            .spacing(8),
        ]
        .spacing(12),
    )
    .padding(20)
    .max_width(480)
    .width(Fill)
    .into()
}
