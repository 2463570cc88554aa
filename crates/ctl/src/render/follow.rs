//! `wimsyctl follow`: the snapshot, then one line per event.

use serde::Serialize;
use wimsy_ipc::{Contact, Event, FrontendState, Snapshot};

use super::{
    arrow, delivery_word, hint, hint_lines, indented, inline, own_presence_text, presence_text,
    status_detail, status_text, table,
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
                a.status.state.as_str().to_owned(),
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
    }
    out
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
mod tests {
    use wimsy_ipc::{
        AccountSnapshot, ChatMessage, ChatSummary, ConnectionState, ConnectionStatus, Delivery,
        Direction, PresenceView,
    };

    use super::*;

    fn msg(id: i64, direction: Direction, body: &str) -> ChatMessage {
        ChatMessage {
            id,
            peer: "bob@example.net".into(),
            direction,
            body: body.into(),
            timestamp_ms: 1000 * id,
            origin_id: None,
            stanza_id: None,
            delivery: Delivery::Queued,
        }
    }

    fn bob(show: Option<&str>) -> Contact {
        Contact {
            jid: "bob@example.net".into(),
            name: Some("Bob".into()),
            subscription: "both".into(),
            groups: vec![],
            presence: PresenceView {
                available: true,
                show: show.map(Into::into),
                status: None,
            },
        }
    }

    fn snapshot() -> Snapshot {
        Snapshot {
            seq: 17,
            settings: Vec::new(),
            notifier: None,
            accounts: vec![AccountSnapshot {
                jid: "alice@example.org".into(),
                status: ConnectionStatus::new(ConnectionState::Connected, ""),
                contacts: vec![bob(None)],
                chats: vec![ChatSummary {
                    peer: "bob@example.net".into(),
                    last: msg(7, Direction::Out, "hi"),
                    unread: 2,
                }],
                subscription_requests: vec![],
                presence: Default::default(),
                mutes: vec![],
            }],
        }
    }

    fn state() -> FrontendState {
        FrontendState::from_snapshot(snapshot())
    }

    const A: &str = "alice@example.org";

    #[test]
    fn snapshot_summary() {
        assert_eq!(
            human_snapshot("wimsyd 0.1.0", &snapshot()),
            "following wimsyd 0.1.0 from event 17 (Ctrl-C to stop)\n\
             alice@example.org  connected  1 contacts (1 online)  2 unread"
        );
        assert_eq!(
            human_snapshot("wimsyd 0.1.0", &Snapshot::default()),
            "following wimsyd 0.1.0 from event 0 (Ctrl-C to stop)\nno accounts"
        );
    }

    #[test]
    fn requests_and_own_presence_in_the_summary_and_as_events() {
        let mut snapshot = snapshot();
        snapshot.accounts[0].subscription_requests = vec!["dave@example.org".into()];
        snapshot.accounts[0].presence = wimsy_ipc::OwnPresence {
            show: wimsy_ipc::Show::Away,
            status: Some("lunch".into()),
        };
        let summary = human_snapshot("wimsyd 0.1.0", &snapshot);
        assert!(
            summary.ends_with(
                "alice@example.org: you are away (lunch)\n\
                 alice@example.org dave@example.org asks to see your presence: \
                 `wimsyctl roster accept dave@example.org` or `wimsyctl roster deny dave@example.org`"
            ),
            "{summary}"
        );
        let asked = Event::SubscriptionRequest {
            account: A.into(),
            jid: "dave@example.org".into(),
        };
        assert!(
            human_event(&state(), &asked).starts_with("alice@example.org dave@example.org asks")
        );
        let gone = Event::SubscriptionRequestGone {
            account: A.into(),
            jid: "dave@example.org".into(),
        };
        assert_eq!(
            human_event(&state(), &gone),
            "alice@example.org request of dave@example.org to see your presence is settled"
        );
        let own = Event::OwnPresence {
            account: A.into(),
            presence: wimsy_ipc::OwnPresence {
                show: wimsy_ipc::Show::Dnd,
                status: None,
            },
        };
        assert_eq!(
            human_event(&state(), &own),
            "alice@example.org you are do not disturb"
        );
    }

    #[test]
    fn json_lines() {
        let line = json_snapshot_line(&snapshot());
        assert!(!line.contains('\n'));
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["snapshot"]["seq"], 17);
        assert_eq!(
            value["snapshot"]["accounts"][0]["status"]["state"],
            "connected"
        );
        let back: Snapshot = serde_json::from_value(value["snapshot"].clone()).unwrap();
        assert_eq!(back, snapshot());

        let event = Event::Connection {
            account: A.into(),
            status: ConnectionStatus::new(ConnectionState::Offline, "asked by the user"),
        };
        let line = json_event_line(18, &event);
        assert_eq!(
            line,
            r#"{"seq":18,"event":{"kind":"connection","account":"alice@example.org","status":{"state":"offline","reason":"asked by the user"}}}"#
        );
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        let back: Event = serde_json::from_value(value["event"].clone()).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn connection_events_name_the_account_and_state() {
        let mut status = ConnectionStatus::new(ConnectionState::Connecting, "stream reset");
        status.attempt = Some(2);
        status.retry_in_ms = Some(1500);
        let event = Event::Connection {
            account: A.into(),
            status,
        };
        assert_eq!(
            human_event(&state(), &event),
            "alice@example.org connecting: stream reset (attempt 2, next try in 2s)"
        );
        let event = Event::Connection {
            account: A.into(),
            status: ConnectionStatus::new(ConnectionState::Connected, ""),
        };
        assert_eq!(human_event(&state(), &event), "alice@example.org connected");
    }

    #[test]
    fn message_events_show_the_direction() {
        let incoming = Event::Message {
            account: A.into(),
            message: msg(8, Direction::In, "hello"),
        };
        assert_eq!(
            human_event(&state(), &incoming),
            "alice@example.org bob@example.net <- hello"
        );
        let outgoing = Event::Message {
            account: A.into(),
            message: msg(9, Direction::Out, "one\ntwo"),
        };
        assert_eq!(
            human_event(&state(), &outgoing),
            "alice@example.org bob@example.net -> one\n                                     two"
        );
    }

    #[test]
    fn delivery_events_find_their_chat() {
        let event = Event::Delivery {
            account: A.into(),
            message_id: 7,
            delivery: Delivery::Acked,
            reason: None,
        };
        assert_eq!(
            human_event(&state(), &event),
            "alice@example.org bob@example.net message 7 acked"
        );
        let event = Event::Delivery {
            account: A.into(),
            message_id: 99,
            delivery: Delivery::Failed,
            reason: Some("service-unavailable".into()),
        };
        assert_eq!(
            human_event(&state(), &event),
            "alice@example.org message 99 failed: service-unavailable"
        );
    }

    #[test]
    fn contact_events_tell_presence_from_roster_changes() {
        let away = Event::Contact {
            account: A.into(),
            contact: bob(Some("away")),
        };
        assert_eq!(
            human_event(&state(), &away),
            "alice@example.org bob@example.net is away"
        );
        let mut renamed = bob(None);
        renamed.name = Some("Robert".into());
        let event = Event::Contact {
            account: A.into(),
            contact: renamed,
        };
        assert_eq!(
            human_event(&state(), &event),
            "alice@example.org contact bob@example.net changed: name Robert, subscription both, online"
        );
        let carol = Contact {
            jid: "carol@example.com".into(),
            name: None,
            subscription: "none".into(),
            groups: vec![],
            presence: PresenceView::default(),
        };
        let event = Event::Contact {
            account: A.into(),
            contact: carol,
        };
        assert_eq!(
            human_event(&state(), &event),
            "alice@example.org contact carol@example.com added: subscription none, offline"
        );
        let event = Event::ContactRemoved {
            account: A.into(),
            jid: "bob@example.net".into(),
        };
        assert_eq!(
            human_event(&state(), &event),
            "alice@example.org contact bob@example.net removed"
        );
    }

    #[test]
    fn other_events() {
        let s = state();
        let cases = [
            (
                Event::AccountAdded {
                    account: "carol@example.com".into(),
                    status: ConnectionStatus::new(ConnectionState::Connecting, ""),
                },
                "carol@example.com added, connecting",
            ),
            (
                Event::AccountRemoved { account: A.into() },
                "alice@example.org removed",
            ),
            (
                Event::Unread {
                    account: A.into(),
                    peer: "bob@example.net".into(),
                    count: 0,
                },
                "alice@example.org bob@example.net unread 0",
            ),
            (Event::ShuttingDown, "wimsyd is shutting down"),
        ];
        for (event, text) in cases {
            assert_eq!(human_event(&s, &event), text);
        }
    }
}
