//! `wimsyctl follow`: the snapshot, then one line per event.

use serde::Serialize;
use wimsy_ipc::{ChatSummary, Contact, Event, FrontendState, Snapshot};

use super::{
    arrow, delivery_word, hint, hint_lines, indented, inline, own_presence_text, presence_text,
    state_word, status_detail, status_text, table,
};

/// What `follow` prints for an event this version cannot read.
pub const UNKNOWN_EVENT: &str =
    "(an event of a kind this wimsyctl does not know: wimsyd is newer; skipped)";

/// The first `--json` line: `{"snapshot": <Snapshot>}`.
pub fn json_snapshot_line(snapshot: &Snapshot) -> String {
    #[derive(Serialize)]
    struct Line<'a> {
        snapshot: &'a Snapshot,
    }
    to_line(&Line { snapshot })
}

/// Each later `--json` line: `{"seq": N, "event": <Event>}`.
pub fn json_event_line(seq: u64, event: &Event) -> String {
    #[derive(Serialize)]
    struct Line<'a> {
        seq: u64,
        event: &'a Event,
    }
    to_line(&Line { seq, event })
}

fn to_line(value: &impl Serialize) -> String {
    // Protocol values are plain data (strings, numbers, enums): they always
    // serialize.
    serde_json::to_string(value).unwrap_or_else(|e| {
        serde_json::json!({"error": {"code": "internal", "message": e.to_string()}}).to_string()
    })
}

/// A summary of the state the events start from.
pub fn human_snapshot(daemon: &str, snapshot: &Snapshot) -> String {
    let mut out = format!(
        "following {} from event {} (Ctrl-C to stop)",
        inline(daemon),
        snapshot.seq
    );
    if snapshot.accounts.is_empty() {
        out.push_str("\nno accounts");
        return out;
    }
    let rows: Vec<Vec<String>> = snapshot
        .accounts
        .iter()
        .map(|a| {
            let online = a.contacts.iter().filter(|c| c.presence.available).count();
            let unread: u32 = a.chats.iter().map(|c| c.unread).sum();
            vec![
                inline(&a.jid),
                state_word(a.status.state).to_owned(),
                format!("{} contacts ({online} online)", a.contacts.len()),
                format!("{unread} unread"),
                status_detail(&a.status),
            ]
        })
        .collect();
    out.push('\n');
    out.push_str(&table(&rows));
    let hints = hint_lines(
        snapshot
            .accounts
            .iter()
            .map(|a| (a.jid.as_str(), &a.status)),
    );
    if !hints.is_empty() {
        out.push('\n');
        out.push_str(&hints);
    }
    for account in &snapshot.accounts {
        let jid = inline(&account.jid);
        if !account.presence.is_default() {
            out.push_str(&format!(
                "\n{jid}: you are {}",
                own_presence_text(&account.presence)
            ));
        }
        for asker in &account.subscription_requests {
            out.push('\n');
            out.push_str(&request_line(&jid, asker));
        }
        for chat in account.chats.iter().filter(|chat| chat.unread > 0) {
            out.push('\n');
            out.push_str(&unread_line(&jid, chat));
        }
    }
    out
}

/// An unread chat in the summary, with its latest message: a message that
/// came before `follow` started is read here, not only counted.
fn unread_line(account: &str, chat: &ChatSummary) -> String {
    let count = match chat.unread {
        1 => String::new(),
        n => format!(" ({n} unread, the latest)"),
    };
    let prefix = format!(
        "{account} {}{count} {} ",
        inline(&chat.peer),
        arrow(chat.last.direction)
    );
    indented(&prefix, &chat.last.body)
}

/// `alice bob asks to see your presence (...)`.
fn request_line(account: &str, asker: &str) -> String {
    let asker = inline(asker);
    format!(
        "{account} {asker} asks to see your presence: `wimsyctl roster accept {asker}` \
         or `wimsyctl roster deny {asker}`"
    )
}

/// One event as a line (or a few, for a message of several lines).
/// `state` is the state *before* the event is applied: it tells a new
/// contact from a changed one, and which chat a delivery belongs to.
pub fn human_event(state: &FrontendState, event: &Event) -> String {
    match event {
        Event::AccountAdded { account, status } => with_hint(
            format!("{} added, {}", inline(account), status_text(status)),
            account,
            status,
        ),
        Event::AccountRemoved { account } => format!("{} removed", inline(account)),
        Event::Connection { account, status } => with_hint(
            format!("{} {}", inline(account), status_text(status)),
            account,
            status,
        ),
        Event::Message { account, message } => {
            let prefix = format!(
                "{} {} {} ",
                inline(account),
                inline(&message.peer),
                arrow(message.direction)
            );
            indented(&prefix, &message.body)
        }
        Event::Delivery {
            account,
            message_id,
            delivery,
            reason,
        } => {
            let peer = state.accounts.get(account).and_then(|view| {
                view.chats
                    .values()
                    .find(|chat| chat.last.id == *message_id)
                    .map(|chat| chat.peer.as_str())
            });
            let mut line = match peer {
                Some(peer) => format!("{} {} message {message_id}", inline(account), inline(peer)),
                None => format!("{} message {message_id}", inline(account)),
            };
            line.push(' ');
            line.push_str(delivery_word(*delivery));
            if let Some(reason) = reason.as_deref().filter(|r| !r.trim().is_empty()) {
                line.push_str(": ");
                line.push_str(&inline(reason));
            }
            line
        }
        Event::Contact { account, contact } => {
            let before = state
                .accounts
                .get(account)
                .and_then(|view| view.contacts.get(&contact.jid));
            contact_line(account, before, contact)
        }
        Event::ContactRemoved { account, jid } => {
            format!("{} contact {} removed", inline(account), inline(jid))
        }
        Event::Unread {
            account,
            peer,
            count,
        } => format!("{} {} unread {count}", inline(account), inline(peer)),
        Event::SubscriptionRequest { account, jid } => request_line(&inline(account), jid),
        Event::SubscriptionRequestGone { account, jid } => format!(
            "{} request of {} to see your presence is settled",
            inline(account),
            inline(jid)
        ),
        Event::OwnPresence { account, presence } => format!(
            "{} you are {}",
            inline(account),
            own_presence_text(presence)
        ),
        Event::Setting { key, value } => super::settings::event_line(key, value),
        Event::Muted { account, mute } => format!(
            "{} {} muted {}",
            inline(account),
            inline(&mute.peer),
            crate::mute::end_text(mute.until_ms, chrono::Local::now())
        ),
        Event::Unmuted { account, peer } => {
            format!("{} {} no longer muted", inline(account), inline(peer))
        }
        Event::OpenChat { account, peer } => format!(
            "{} {} asked to be opened (a notification was clicked)",
            inline(account),
            inline(peer)
        ),
        Event::ShowWindow => "the window was asked to come forward".into(),
        Event::Notifier { status } => format!("notifications: {}", inline(&status.detail)),
        Event::ShuttingDown => "wimsyd is shutting down".into(),
        Event::Unknown => UNKNOWN_EVENT.into(),
    }
}

/// `line`, and under it what to do about `status`, if anything.
fn with_hint(line: String, account: &str, status: &wimsy_ipc::ConnectionStatus) -> String {
    match hint::hint(account, status) {
        Some(hint) => format!("{line}\n  {hint}"),
        None => line,
    }
}

/// A presence change reads `account contact is away`; a new or edited
/// roster entry shows all of it.
fn contact_line(account: &str, before: Option<&Contact>, contact: &Contact) -> String {
    let account = inline(account);
    let jid = inline(&contact.jid);
    let presence = presence_text(&contact.presence);
    let entry_unchanged = before.is_some_and(|old| {
        old.name == contact.name
            && old.subscription == contact.subscription
            && old.groups == contact.groups
    });
    if entry_unchanged {
        return format!("{account} {jid} is {presence}");
    }
    let what = if before.is_some() { "changed" } else { "added" };
    let name = contact
        .name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .map(|n| format!("name {}, ", inline(n)))
        .unwrap_or_default();
    format!(
        "{account} contact {jid} {what}: {name}subscription {}, {presence}",
        inline(&contact.subscription)
    )
}

#[cfg(test)]
mod tests;
