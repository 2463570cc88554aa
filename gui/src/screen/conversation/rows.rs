//! The history's rows: day separators, then each message with its time and,
//! for our own, its delivery mark (with the reason and Retry when it failed).
//! Rows are keyed by message id, so rows added above keep their widgets.

use chrono::{DateTime, Datelike, Local, NaiveDate};
use iced::widget::{Column, button, column, container, keyed_column, row, text};
use iced::{Element, Fill};
use wimsy_ipc::{Delivery, Direction};

use super::Message;
use crate::data::Shown;
use crate::screen::style;
use crate::words;

/// A row's key: a message's store id, or (negative) a day separator's day.
type RowKey = i64;

/// What the history shows above its oldest drawn row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Top {
    /// Nothing: there are more loaded rows to draw as the user scrolls.
    Nothing,
    /// A line of words (loading, the start of the chat).
    Words(&'static str),
    /// A button that asks for the next older page.
    LoadOlder,
}

/// The label of [`Top::LoadOlder`].
pub const LOAD_OLDER: &str = "Load older messages";

/// The rows of `messages` (oldest first), under what is above them.
pub fn history<'a>(messages: &'a [Shown], top: Top) -> Column<'a, Message> {
    let mut rows: Vec<(RowKey, Element<'a, Message>)> = Vec::with_capacity(messages.len() * 2);
    let mut day: Option<NaiveDate> = None;
    for shown in messages {
        let when = local(shown.message.timestamp_ms);
        let this_day = when.map(|w| w.date_naive());
        if this_day.is_some() && this_day != day {
            if let Some(date) = this_day {
                let key = -i64::from(date.num_days_from_ce());
                rows.push((key, separator(date)));
            }
            day = this_day;
        }
        rows.push((shown.message.id, message_row(shown, when)));
    }
    let mut page = Column::new().spacing(6).width(Fill);
    match top {
        Top::Nothing => {}
        Top::Words(words) => {
            page = page.push(
                container(text(words).size(12).style(text::secondary))
                    .center_x(Fill)
                    .padding(6),
            );
        }
        Top::LoadOlder => {
            page = page.push(
                container(
                    button(text(LOAD_OLDER).size(12))
                        .on_press(Message::LoadOlder)
                        .style(button::primary)
                        .padding([4, 10]),
                )
                .center_x(Fill)
                .padding(6),
            );
        }
    }
    page.push(keyed_column(rows.into_iter().map(|(key, row)| (key, same_kind(row)))).spacing(6))
}

/// `row` in a one-child column, so that every row of the keyed column is
/// the same kind of widget. iced 0.14's keyed column guesses which old row
/// a new one continues by looking for one run of inserted or removed keys,
/// and then diffs the pair without checking that it is the same kind of
/// widget (`Widget::diff`, not `Tree::diff`). Rows added above the top and
/// a day separator moving among them are more than one run, so a separator
/// (a text) could be laid out on a message's state and the window panicked
/// ("Downcast on stateless state") deep into a long chat. Under a column,
/// the pairing's mistake is caught one level down, where diffing checks
/// the kind and rebuilds what differs.
fn same_kind(row: Element<'_, Message>) -> Element<'_, Message> {
    Column::new().push(row).into()
}

fn local(ms: i64) -> Option<DateTime<Local>> {
    DateTime::from_timestamp_millis(ms).map(|t| t.with_timezone(&Local))
}

fn separator<'a>(date: NaiveDate) -> Element<'a, Message> {
    let today = Local::now().date_naive();
    let words = if date == today {
        "Today".to_owned()
    } else if Some(date) == today.pred_opt() {
        "Yesterday".to_owned()
    } else {
        date.format("%A %-d %B %Y").to_string()
    };
    container(text(words).size(12).style(text::secondary))
        .center_x(Fill)
        .padding([6, 0])
        .into()
}

fn message_row<'a>(shown: &'a Shown, when: Option<DateTime<Local>>) -> Element<'a, Message> {
    let message = &shown.message;
    let time = when
        .map(|w| w.format("%H:%M").to_string())
        .unwrap_or_default();
    let ours = message.direction == Direction::Out;
    let mut meta = row![text(time).size(11).style(text::secondary)].spacing(8);
    if let Some(mark) = words::delivery(message.delivery) {
        let style = if message.delivery == Delivery::Failed {
            text::danger
        } else {
            text::secondary
        };
        meta = meta.push(text(mark).size(11).style(style));
    }
    let mut block = column![text(message.body.as_str()).size(15), meta].spacing(2);
    if message.delivery == Delivery::Failed {
        let mut failed = row![].spacing(8);
        if let Some(reason) = &shown.failure {
            failed = failed.push(text(reason.as_str()).size(12).style(text::danger));
        }
        failed = failed.push(
            button(text("Retry").size(12))
                .on_press(Message::Retry(message.id))
                .padding([2, 8]),
        );
        block = block.push(failed);
    }
    let bubble = container(block).padding([4, 8]).max_width(640);
    if ours {
        container(bubble.style(style::own_message))
            .align_right(Fill)
            .into()
    } else {
        container(bubble).width(Fill).into()
    }
}

#[cfg(test)]
mod tests {
    use iced_core::widget::Tree;
    use wimsy_ipc::ChatMessage;

    use super::*;

    fn shown(id: i64) -> Shown {
        Shown {
            message: ChatMessage {
                id,
                peer: "bob@example.org".to_owned(),
                direction: if id % 3 == 0 {
                    Direction::Out
                } else {
                    Direction::In
                },
                body: format!("message {id}"),
                // 20 minutes apart: 200 messages span three days or more,
                // in any time zone.
                timestamp_ms: 1_700_000_000_000 + id * 20 * 60_000,
                origin_id: None,
                stanza_id: None,
                delivery: Delivery::Received,
            },
            failure: None,
        }
    }

    /// The kinds of widget state in `tree`, depth first.
    fn kinds(tree: &Tree, out: &mut Vec<String>) {
        out.push(format!("{:?}", tree.tag));
        for child in &tree.children {
            kinds(child, out);
        }
    }

    /// What the window does as the user scrolls up: the drawn slice grows
    /// at the top, across day separators, and the state kept from the last
    /// frame must end up shaped as a fresh one would be (where it did not,
    /// the window panicked laying a text out on a message's state).
    #[test]
    fn rows_added_above_and_across_days_keep_each_rows_own_state() {
        let all: Vec<Shown> = (1..=200).map(shown).collect();
        let first = history(&all[160..], Top::Nothing);
        let first: Element<'_, Message> = first.into();
        let mut tree = Tree::new(first.as_widget());
        for from in [100, 40, 0, 120, 10] {
            let next: Element<'_, Message> = history(&all[from..], Top::LoadOlder).into();
            tree.diff(next.as_widget());
            let (mut kept, mut fresh) = (Vec::new(), Vec::new());
            kinds(&tree, &mut kept);
            kinds(&Tree::new(next.as_widget()), &mut fresh);
            let differs = kept.iter().zip(&fresh).position(|(k, f)| k != f);
            assert!(
                kept.len() == fresh.len() && differs.is_none(),
                "the rows from {from} on: the state kept differs from a fresh one \
                 at node {differs:?} ({} nodes kept, {} fresh)",
                kept.len(),
                fresh.len()
            );
        }
    }
}
