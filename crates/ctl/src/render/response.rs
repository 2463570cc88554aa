//! One request's answer, for people and for scripts.

use wimsy_ipc::{
    AccountInfo, AccountStatus, ChatMessage, Contact, Delivery, Direction, Request, Response,
};

use super::{
    Clock, arrow, delivery_word, hint_lines, indented, inline, own_presence_text, presence_text,
    shell_word, state_word, status_detail, table,
};

const NO_ACCOUNTS: &str = "no accounts; add one with `wimsyctl account add JID`";

/// The `--json` document: the daemon's answer as the protocol spells it,
/// e.g. `{"kind":"status","accounts":[...]}`.
pub fn json(response: &Response) -> String {
    // A Response is plain data (strings, numbers, enums): it always serializes.
    serde_json::to_string(response).unwrap_or_else(|e| {
        serde_json::json!({"error": {"code": "internal", "message": e.to_string()}}).to_string()
    })
}

/// The human text for `response`, the answer to `request`.
pub fn human(request: &Request, response: &Response, clock: Clock) -> String {
    match response {
        Response::Hello { protocol, daemon } => {
            format!("{} (protocol {protocol})", inline(daemon))
        }
        Response::Done => done(request),
        Response::Status { accounts, notifier } => {
            let mut text = status(accounts);
            if let Some(notifier) = notifier {
                text.push_str(&format!("\nnotifications: {}", inline(&notifier.detail)));
            }
            text
        }
        Response::Accounts { accounts } => account_list(accounts),
        Response::Roster {
            account,
            contacts,
            subscription_requests,
        } => roster(account, contacts, subscription_requests),
        Response::Sent {
            account: _,
            message,
        } => sent(message),
        Response::History {
            account: _,
            peer,
            messages,
            next_before,
        } => history(request, peer, messages, next_before.as_deref(), clock),
        Response::Subscribed { snapshot } => super::follow::human_snapshot("wimsyd", snapshot),
        Response::Settings { settings } => super::settings::human(
            settings,
            matches!(request, Request::SettingsGet { key: Some(_) }),
        ),
        Response::Unknown => "done; wimsyd answered in a form this wimsyctl does not know \
                              (wimsyd is newer: upgrade wimsyctl to see it)"
            .into(),
    }
}

/// What a request without an answer of its own did.
fn done(request: &Request) -> String {
    match request {
        Request::AccountAdd { jid, .. } => {
            format!(
                "account {} added; it connects now (see `wimsyctl status`)",
                inline(jid)
            )
        }
        Request::AccountRemove { jid } => format!("account {} removed", inline(jid)),
        Request::AccountPassword { jid, .. } => format!(
            "new password for {} stored; it logs in again now (see `wimsyctl status`)",
            inline(jid)
        ),
        Request::AccountTrust { jid, fingerprint } => format!(
            "{} now trusts only the certificate {}; it reconnects now (see `wimsyctl status`)",
            inline(jid),
            inline(fingerprint.trim())
        ),
        Request::Mute { peer, until_ms, .. } => format!(
            "{} muted {}; its messages are still received and counted as unread",
            inline(peer),
            crate::mute::end_text(*until_ms, chrono::Local::now())
        ),
        Request::ShowWindow => "the window was asked to come forward".into(),
        Request::Unmute { peer, .. } => format!("{} is not muted", inline(peer)),
        Request::Connect { account: None } => "connecting every account".into(),
        Request::Connect { account: Some(jid) } => format!("connecting {}", inline(jid)),
        Request::Disconnect { account: None } => "every account is offline".into(),
        Request::Disconnect { account: Some(jid) } => format!("{} is offline", inline(jid)),
        Request::MarkRead { peer, .. } => format!("chat with {} marked read", inline(peer)),
        Request::RosterAdd { jid, .. } => format!(
            "{} added to your contacts and asked to share their presence",
            inline(jid)
        ),
        Request::RosterRename { jid, name, .. } if name.trim().is_empty() => {
            format!("{} has no name now", inline(jid))
        }
        Request::RosterRename { jid, name, .. } => {
            format!("{} is now called {}", inline(jid), inline(name.trim()))
        }
        Request::RosterRemove { jid, .. } => format!("{} removed from your contacts", inline(jid)),
        Request::SubscriptionAnswer {
            jid, accept: true, ..
        } => format!(
            "{} may now see your presence (and is asked to share theirs)",
            inline(jid)
        ),
        Request::SubscriptionAnswer {
            jid, accept: false, ..
        } => format!("{} may not see your presence", inline(jid)),
        Request::SetPresence {
            account,
            show,
            status,
        } => {
            let presence = own_presence_text(&wimsy_ipc::OwnPresence {
                show: *show,
                status: status.clone(),
            });
            match account {
                Some(jid) => format!("{} is now {presence}", inline(jid)),
                None => format!("every account is now {presence}"),
            }
        }
        Request::Quit => "wimsyd is stopping".into(),
        _ => "done".into(),
    }
}

fn status(accounts: &[AccountStatus]) -> String {
    if accounts.is_empty() {
        return NO_ACCOUNTS.into();
    }
    let mut rows = vec![cells(["ACCOUNT", "STATE", "UNREAD", "DETAIL"])];
    rows.extend(accounts.iter().map(|a| {
        vec![
            inline(&a.jid),
            state_word(a.status.state).to_owned(),
            a.unread.to_string(),
            status_detail(&a.status),
        ]
    }));
    let hints = hint_lines(accounts.iter().map(|a| (a.jid.as_str(), &a.status)));
    if hints.is_empty() {
        table(&rows)
    } else {
        format!("{}\n\n{hints}", table(&rows))
    }
}

fn account_list(accounts: &[AccountInfo]) -> String {
    if accounts.is_empty() {
        return NO_ACCOUNTS.into();
    }
    let mut rows = vec![cells([
        "ACCOUNT",
        "SERVER",
        "CA FILE",
        "PINNED CERTIFICATE",
    ])];
    rows.extend(accounts.iter().map(|a| {
        vec![
            inline(&a.jid),
            a.server.as_deref().map_or_else(|| "-".into(), inline),
            a.ca_file.as_deref().map_or_else(|| "-".into(), inline),
            a.pinned_fingerprint
                .as_deref()
                .map_or_else(|| "-".into(), inline),
        ]
    }));
    table(&rows)
}

fn roster(account: &str, contacts: &[Contact], requests: &[String]) -> String {
    let list = contact_list(account, contacts);
    if requests.is_empty() {
        return list;
    }
    let mut out = vec![list, String::new()];
    out.push(format!("asking to see your presence ({}):", requests.len()));
    out.extend(requests.iter().map(|jid| format!("  {}", inline(jid))));
    out.push("answer with `wimsyctl roster accept JID` or `wimsyctl roster deny JID`".into());
    out.join("\n")
}

fn contact_list(account: &str, contacts: &[Contact]) -> String {
    let account = inline(account);
    if contacts.is_empty() {
        return format!("{account} has no contacts");
    }
    let plural = if contacts.len() == 1 { "" } else { "s" };
    let mut rows = vec![cells(["CONTACT", "NAME", "SUBSCRIPTION", "PRESENCE"])];
    rows.extend(contacts.iter().map(|c| {
        vec![
            inline(&c.jid),
            c.name
                .as_deref()
                .filter(|n| !n.trim().is_empty())
                .map_or_else(|| "-".into(), inline),
            inline(&c.subscription),
            presence_text(&c.presence),
        ]
    }));
    format!(
        "{account}: {} contact{plural}\n{}",
        contacts.len(),
        table(&rows)
    )
}

fn sent(message: &ChatMessage) -> String {
    format!(
        "message {} to {}: {}",
        message.id,
        inline(&message.peer),
        delivery_word(message.delivery)
    )
}

/// Oldest first, as one reads; the page comes newest first.
fn history(
    request: &Request,
    peer: &str,
    messages: &[ChatMessage],
    next_before: Option<&str>,
    clock: Clock,
) -> String {
    let mut out: Vec<String> = messages
        .iter()
        .rev()
        .map(|m| history_line(m, clock))
        .collect();
    if out.is_empty() {
        out.push(match next_before {
            Some(_) => format!("no messages with {} on this page", inline(peer)),
            None => format!("no messages with {}", inline(peer)),
        });
    }
    if let Some(cursor) = next_before {
        let mut hint = format!(
            "older: wimsyctl history {} --before {}",
            shell_word(peer),
            shell_word(cursor)
        );
        if let Request::History { account, limit, .. } = request {
            if let Some(limit) = limit {
                hint.push_str(&format!(" --limit {limit}"));
            }
            if let Some(account) = account {
                hint.push_str(&format!(" --account {}", shell_word(account)));
            }
        }
        out.push(hint);
    }
    out.join("\n")
}

/// `2024-05-01 14:03 <- body`, with `[queued]` or `[failed]` after an
/// outgoing message that has not gone out.
fn history_line(message: &ChatMessage, clock: Clock) -> String {
    let prefix = format!(
        "{} {} ",
        clock.format(message.timestamp_ms),
        arrow(message.direction)
    );
    let mut line = indented(&prefix, &message.body);
    if message.direction == Direction::Out
        && matches!(message.delivery, Delivery::Queued | Delivery::Failed)
    {
        line.push_str(&format!(" [{}]", delivery_word(message.delivery)));
    }
    line
}

fn cells<const N: usize>(words: [&str; N]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

#[cfg(test)]
mod tests;
