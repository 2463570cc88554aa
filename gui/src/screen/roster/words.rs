//! A contact's presence and subscription in words. The protocol's tokens
//! (`dnd`, `xa`, `both`, `from`) never reach the screen.

use wimsy_ipc::{Contact, PresenceView};

/// The contact's name, or its address when it has none.
pub fn display_name(contact: &Contact) -> &str {
    contact
        .name
        .as_deref()
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .unwrap_or(&contact.jid)
}

/// "Available", "Away: at lunch", "Offline"...
pub fn presence(presence: &PresenceView) -> String {
    if !presence.available {
        return "Offline".to_owned();
    }
    let show = match presence.show.as_deref() {
        Some("chat") => "Free to chat",
        Some("away") => "Away",
        Some("xa") => "Away for a while",
        Some("dnd") => "Do not disturb",
        // Plain online, or a value no server should send: online is true.
        _ => "Available",
    };
    match presence.status.as_deref().map(str::trim) {
        Some(status) if !status.is_empty() => format!("{show}: {status}"),
        _ => show.to_owned(),
    }
}

/// Who sees whose presence, from the user's side.
pub fn subscription(subscription: &str) -> &'static str {
    match subscription {
        "both" => "You see each other's status",
        "to" => "You see their status; they do not see yours",
        "from" => "They see your status; you do not see theirs",
        "none" => "Neither of you sees the other's status",
        _ => "Status sharing unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(show: Option<&str>, status: Option<&str>) -> PresenceView {
        PresenceView {
            available: true,
            show: show.map(str::to_owned),
            status: status.map(str::to_owned),
        }
    }

    #[test]
    fn presence_reads_as_words_with_the_status_text() {
        assert_eq!(presence(&PresenceView::default()), "Offline");
        assert_eq!(presence(&seen(None, None)), "Available");
        assert_eq!(
            presence(&seen(Some("dnd"), Some(" meeting "))),
            "Do not disturb: meeting"
        );
        assert_eq!(presence(&seen(Some("xa"), None)), "Away for a while");
        assert_eq!(presence(&seen(Some("chat"), Some(""))), "Free to chat");
        assert_eq!(presence(&seen(Some("weird"), None)), "Available");
    }

    #[test]
    fn no_subscription_word_is_a_wire_token() {
        for token in ["both", "to", "from", "none", "remove", ""] {
            let words = subscription(token);
            assert!(words.starts_with(char::is_uppercase), "{words}");
            assert!(!words.split(' ').any(|w| w == token), "{token}: {words}");
        }
    }

    #[test]
    fn a_contact_without_a_name_shows_its_address() {
        let mut contact = Contact {
            jid: "bob@example.org".to_owned(),
            name: None,
            subscription: "both".to_owned(),
            groups: Vec::new(),
            presence: PresenceView::default(),
        };
        assert_eq!(display_name(&contact), "bob@example.org");
        contact.name = Some("  ".to_owned());
        assert_eq!(display_name(&contact), "bob@example.org");
        contact.name = Some("Bob".to_owned());
        assert_eq!(display_name(&contact), "Bob");
    }
}
