//! Small styles the screens share.

use iced::widget::container;
use iced::{Border, Theme};

/// The unread count's pill.
pub fn badge(theme: &Theme) -> container::Style {
    let palette = theme.extended_palette();
    container::Style {
        background: Some(palette.primary.strong.color.into()),
        text_color: Some(palette.primary.strong.text),
        border: Border::default().rounded(8),
        ..container::Style::default()
    }
}

/// Our own messages: a faint tint, so the two sides read apart.
pub fn own_message(theme: &Theme) -> container::Style {
    let palette = theme.extended_palette();
    container::Style {
        background: Some(palette.background.weak.color.into()),
        border: Border::default().rounded(6),
        ..container::Style::default()
    }
}

/// A banner across the top of the window (the daemon is away, say).
pub fn banner(theme: &Theme) -> container::Style {
    let palette = theme.extended_palette();
    container::Style {
        background: Some(palette.warning.weak.color.into()),
        text_color: Some(palette.warning.weak.text),
        ..container::Style::default()
    }
}
