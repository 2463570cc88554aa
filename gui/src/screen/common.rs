//! Small pieces the screens share: how a refused request reads, and how a
//! daemon reason becomes a sentence.

use wimsy_ipc::ErrorCode;

use crate::link::RequestError;

/// The daemon's reasons are written like log lines (lowercase, no final
/// stop: "authentication failed: not-authorized"); on a screen they read
/// as sentences.
pub fn sentence(text: &str) -> String {
    let text = text.trim();
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut out: String = first.to_uppercase().chain(chars).collect();
    if !out.ends_with(['.', '!', '?', '…']) {
        out.push('.');
    }
    out
}

/// What a person reads when a request did not go through: the daemon's
/// own words when it refused, or that the request never got an answer.
pub fn refusal(error: &RequestError) -> String {
    match error.code {
        Some(ErrorCode::ShuttingDown) => {
            "Wimsy's background service is stopping, so this was not done. Try again once \
             the window shows it is back."
                .to_owned()
        }
        Some(_) => sentence(&error.message),
        None => format!(
            "This did not reach Wimsy's background service ({}). Try again once the window \
             shows it is attached.",
            error.message.trim().trim_end_matches('.')
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_become_sentences() {
        assert_eq!(
            sentence("authentication failed: not-authorized"),
            "Authentication failed: not-authorized."
        );
        assert_eq!(sentence("  Done already. "), "Done already.");
        assert_eq!(sentence("été"), "Été.");
        assert_eq!(sentence(""), "");
    }

    #[test]
    fn refusals_say_who_refused() {
        let daemon = RequestError {
            code: Some(ErrorCode::InvalidJid),
            message: "\"x\" has no user part; a JID looks like user@example.org".to_owned(),
        };
        assert_eq!(
            refusal(&daemon),
            "\"x\" has no user part; a JID looks like user@example.org."
        );
        let lost = RequestError {
            code: None,
            message: "the connection to wimsyd closed".to_owned(),
        };
        assert!(refusal(&lost).starts_with(
            "This did not reach Wimsy's background service (the connection to wimsyd closed)."
        ));
    }
}
