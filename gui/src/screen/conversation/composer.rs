//! The composer: a multi-line editor where Enter sends and Shift+Enter
//! starts a new line (halloy's input view does the same).

use iced::Element;
use iced::keyboard::{Key, key::Named};
use iced::widget::text_editor::{self, Binding, KeyPress};

use super::Message;

/// The composer's id, focused when a chat opens from the keyboard.
pub const COMPOSER_ID: &str = "composer";

/// Draw the composer.
pub fn view(content: &text_editor::Content) -> Element<'_, Message> {
    iced::widget::text_editor(content)
        .id(COMPOSER_ID)
        .placeholder("Write a message. Enter sends, Shift+Enter starts a new line.")
        .on_action(Message::Edit)
        .key_binding(binding)
        .max_height(160.0)
        .padding(8)
        .into()
}

fn binding(press: KeyPress) -> Option<Binding<Message>> {
    if !matches!(press.status, text_editor::Status::Focused { .. }) {
        return None;
    }
    let enter = matches!(press.key.as_ref(), Key::Named(Named::Enter));
    if enter && press.modifiers.shift() {
        return Some(Binding::Enter);
    }
    if enter && !press.modifiers.control() && !press.modifiers.alt() {
        return Some(Binding::Custom(Message::Send));
    }
    // The window's shortcuts (Ctrl+N, Ctrl+K, Ctrl+Tab, Ctrl+Q) pass through
    // to the app.
    if press.modifiers.control()
        && !matches!(
            press.key.to_latin(press.physical_key),
            Some('a' | 'c' | 'v' | 'x')
        )
    {
        return None;
    }
    Binding::from_key_press(press)
}
