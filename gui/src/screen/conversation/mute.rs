//! The conversation header's mute control: "Mute…" opens the choices,
//! a muted chat says until when and offers "Unmute".

use std::time::Duration;

use chrono::{Local, TimeZone};
use iced::Element;
use iced::widget::{button, row, text};

use super::Message;

/// The lengths offered, in the order shown.
pub const CHOICES: &[(&str, Option<Duration>)] = &[
    ("1 hour", Some(Duration::from_secs(3600))),
    ("8 hours", Some(Duration::from_secs(8 * 3600))),
    ("1 day", Some(Duration::from_secs(24 * 3600))),
    ("Until I unmute", None),
];

/// `muted`: `None` when the chat is not muted, else when the mute ends
/// (ms since the epoch; `None` inside: until unmuted).
pub fn view<'a>(muted: Option<Option<i64>>, choosing: bool) -> Element<'a, Message> {
    let small = |label: String| text(label).size(13);
    match muted {
        Some(until) => row![
            small(muted_words(until)).style(text::secondary),
            button(small("Unmute".to_owned()))
                .on_press(Message::Unmute)
                .padding([2, 8])
        ]
        .spacing(8)
        .align_y(iced::Center)
        .into(),
        None if choosing => {
            let mut choices = row![small("Mute for:".to_owned()).style(text::secondary)]
                .spacing(6)
                .align_y(iced::Center);
            for (label, length) in CHOICES {
                choices = choices.push(
                    button(small((*label).to_owned()))
                        .on_press(Message::Mute(*length))
                        .padding([2, 8]),
                );
            }
            choices
                .push(
                    button(small("Cancel".to_owned()))
                        .on_press(Message::MuteChoices(false))
                        .padding([2, 8])
                        .style(button::text),
                )
                .into()
        }
        None => button(small("Mute…".to_owned()))
            .on_press(Message::MuteChoices(true))
            .padding([2, 8])
            .style(button::secondary)
            .into(),
    }
}

/// "Muted until 18:30", "Muted until Fri 07:00", or "Muted".
pub fn muted_words(until: Option<i64>) -> String {
    let Some(at) = until.and_then(|ms| Local.timestamp_millis_opt(ms).single()) else {
        return "Muted: no notifications".to_owned();
    };
    if at.date_naive() == Local::now().date_naive() {
        format!("Muted until {}", at.format("%H:%M"))
    } else {
        format!("Muted until {}", at.format("%a %-d %b %H:%M"))
    }
}
