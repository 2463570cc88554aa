//! The window's words for every state the daemon reports. Wire tokens
//! (`waiting_for_network`, `dnd`) never reach the screen: each has its
//! words here, and a state a newer daemon added shows the daemon's own
//! human reason.

use wimsy_ipc::{ConnectionError, ConnectionState, ConnectionStatus, Delivery, PresenceView};

/// An account's status line: what is happening, and what to do when the
/// user must act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    /// A few words: "Connected", "Connecting (attempt 2, next try in 8 s)".
    pub headline: String,
    /// The daemon's reason and what to do, when there is something to say.
    pub detail: Option<String>,
    /// How it is coloured.
    pub tone: Tone,
}

/// A colour family, so views need not know the states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// All is well.
    Good,
    /// On its way.
    Pending,
    /// Nothing is wrong; nothing is happening.
    Quiet,
    /// The user must act.
    Bad,
}

/// The status line of an account.
pub fn status_line(status: &ConnectionStatus) -> StatusLine {
    let reason = Some(status.reason.trim())
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    match status.state {
        ConnectionState::Connected => StatusLine {
            headline: "Connected".to_owned(),
            detail: None,
            tone: Tone::Good,
        },
        ConnectionState::Connecting => {
            let headline = match (status.attempt, status.retry_in_ms) {
                (Some(n), Some(ms)) if n > 1 || ms > 0 => format!(
                    "Connecting (attempt {n}, next try in {} s)",
                    ms.div_ceil(1000)
                ),
                (Some(n), _) if n > 1 => format!("Connecting (attempt {n})"),
                _ => "Connecting…".to_owned(),
            };
            StatusLine {
                headline,
                // On a retry the reason says why the last attempt failed.
                detail: reason.filter(|_| status.attempt.is_some_and(|n| n > 1)),
                tone: Tone::Pending,
            }
        }
        ConnectionState::WaitingForNetwork => StatusLine {
            headline: "Waiting for network".to_owned(),
            detail: Some("Wimsy connects again by itself when the network is back.".to_owned()),
            tone: Tone::Pending,
        },
        ConnectionState::Offline => StatusLine {
            headline: "Offline".to_owned(),
            detail: Some("You chose to be offline. Connect to go online again.".to_owned()),
            tone: Tone::Quiet,
        },
        ConnectionState::Error => StatusLine {
            headline: "Error".to_owned(),
            detail: Some(join(
                reason.map(|r| what_happened(&r).to_owned()),
                what_to_do(status.error),
            )),
            tone: Tone::Bad,
        },
        ConnectionState::Unknown => StatusLine {
            headline: reason.clone().unwrap_or_else(|| "Unknown state".to_owned()),
            detail: None,
            tone: Tone::Quiet,
        },
    }
}

/// An account's line while the daemon is away: its state is not known.
pub fn while_away() -> StatusLine {
    StatusLine {
        headline: "Not known while the background service is away".to_owned(),
        detail: None,
        tone: Tone::Quiet,
    }
}

/// The banner's line when no daemon answers on a socket of the window's
/// own (`--socket`, `WIMSY_SOCKET`): the command that starts one there.
/// Plain `wimsyd` would listen on the default socket, where this window
/// does not look.
pub fn start_by_hand(socket: &std::path::Path) -> Option<String> {
    (socket != wimsy_ipc::default_socket_path()).then(|| {
        format!(
            "To start it in a terminal: {}",
            wimsy_ipc::start_command(socket)
        )
    })
}

/// What happened, without the advice the daemon's reason may carry after
/// a semicolon: that advice is written for the command line (a CA file,
/// a fingerprint to compare by hand), and the window gives its own, with
/// a button.
pub fn what_happened(reason: &str) -> &str {
    reason.split_once("; ").map_or(reason, |(what, _)| what)
}

fn join(reason: Option<String>, todo: &str) -> String {
    match reason {
        Some(reason) => {
            let reason = reason.trim_end_matches('.');
            let mut chars = reason.chars();
            let capital: String = chars
                .next()
                .into_iter()
                .flat_map(char::to_uppercase)
                .collect();
            format!("{capital}{}. {todo}", chars.as_str())
        }
        None => todo.to_owned(),
    }
}

/// What the user can do about an error.
fn what_to_do(error: Option<ConnectionError>) -> &'static str {
    match error {
        Some(ConnectionError::Authentication) => {
            "Check the address and enter the right password for this account."
        }
        Some(ConnectionError::Certificate) => {
            "Compare the certificate's fingerprint with the one your server's administrator gives you, and trust it only if they match."
        }
        Some(ConnectionError::Network) => {
            "Check the server's address and your connection, then connect again."
        }
        Some(ConnectionError::Stream) => {
            "Another client may be using this account. Connect again when you want this one online."
        }
        Some(ConnectionError::Protocol) => {
            "The server answered in a way Wimsy cannot follow. Connect again later, or tell the server's administrator."
        }
        Some(ConnectionError::Other) | None => "Connect again, or remove and add the account.",
    }
}

/// A delivery stage, as the mark beside an outgoing message says it.
/// Incoming messages have none.
pub fn delivery(stage: Delivery) -> Option<&'static str> {
    match stage {
        Delivery::Received => None,
        Delivery::Queued => Some("Waiting to send"),
        Delivery::Sent => Some("Sent"),
        Delivery::Acked => Some("On the server"),
        Delivery::Failed => Some("Not delivered"),
        Delivery::Unknown => None,
    }
}

/// A contact's presence in a word or two.
pub fn presence(presence: &PresenceView) -> &'static str {
    if !presence.available {
        return "Offline";
    }
    match presence.show.as_deref() {
        Some("away") => "Away",
        Some("xa") => "Away for a while",
        Some("dnd") => "Do not disturb",
        Some("chat") => "Free to chat",
        _ => "Available",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: ConnectionState, reason: &str) -> ConnectionStatus {
        ConnectionStatus::new(state, reason)
    }

    #[test]
    fn every_state_has_words_and_no_wire_token() {
        let mut connecting = status(ConnectionState::Connecting, "connection refused");
        connecting.attempt = Some(3);
        connecting.retry_in_ms = Some(11_200);
        let mut auth = status(ConnectionState::Error, "the server refused the password");
        auth.error = Some(ConnectionError::Authentication);
        let cases = [
            (status(ConnectionState::Connected, ""), "Connected"),
            (connecting, "Connecting (attempt 3, next try in 12 s)"),
            (
                status(ConnectionState::Connecting, "dialling"),
                "Connecting…",
            ),
            (
                status(ConnectionState::WaitingForNetwork, "no route"),
                "Waiting for network",
            ),
            (status(ConnectionState::Offline, ""), "Offline"),
            (auth, "Error"),
            (
                status(ConnectionState::Unknown, "Hibernating until spring"),
                "Hibernating until spring",
            ),
        ];
        for (status, headline) in cases {
            let line = status_line(&status);
            assert_eq!(line.headline, headline);
            let all = format!("{} {:?}", line.headline, line.detail);
            assert!(!all.contains('_'), "a wire token in {all}");
        }
    }

    #[test]
    fn an_error_says_what_happened_and_what_to_do() {
        let mut cert = status(ConnectionState::Error, "the certificate is not trusted.");
        cert.error = Some(ConnectionError::Certificate);
        let detail = status_line(&cert).detail.unwrap_or_default();
        assert!(detail.starts_with("The certificate is not trusted. Compare"));
        assert_eq!(status_line(&cert).tone, Tone::Bad);
    }

    #[test]
    fn an_error_leaves_the_command_lines_advice_out() {
        let status = ConnectionStatus {
            error: Some(ConnectionError::Certificate),
            ..status(
                ConnectionState::Error,
                "the certificate of localhost is not trusted: it is signed by an authority this \
                 computer does not know; if this is your server, check that its fingerprint is \
                 SHA256:00:11, then trust it",
            )
        };
        let line = status_line(&status);
        let detail = line.detail.unwrap_or_default();
        assert!(detail.starts_with("The certificate of localhost is not trusted"));
        assert!(!detail.contains("SHA256"), "{detail}");
        assert!(detail.contains("trust it only if they match"), "{detail}");
    }

    #[test]
    fn presence_and_delivery_words() {
        let mut p = PresenceView {
            available: true,
            show: Some("dnd".to_owned()),
            status: None,
        };
        assert_eq!(presence(&p), "Do not disturb");
        p.available = false;
        assert_eq!(presence(&p), "Offline");
        assert_eq!(delivery(Delivery::Acked), Some("On the server"));
        assert_eq!(delivery(Delivery::Received), None);
    }
}
