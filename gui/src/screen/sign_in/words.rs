//! Each sign-in outcome in words: a headline, and what it means or what to
//! do. No wire token reaches the screen.

use crate::screen::common::sentence;

use super::Outcome;

/// How an outcome is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Good,
    Pending,
    Bad,
}

/// An outcome in words: a headline and what it means or what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Words {
    pub headline: String,
    pub detail: Option<String>,
    pub tone: Tone,
}

impl Outcome {
    /// The login is still under way, with nothing for the user to do.
    pub fn is_pending(&self) -> bool {
        matches!(self, Self::Starting | Self::Connecting)
    }

    /// What the screen says about it.
    pub fn words(&self, jid: &str) -> Words {
        let (headline, detail, tone) = match self {
            Self::Starting => (format!("Signing in as {jid}…"), None, Tone::Pending),
            Self::Connecting => ("Connecting to the server…".to_owned(), None, Tone::Pending),
            Self::Retrying {
                reason,
                attempt,
                retry_in_ms,
            } => {
                let mut next = match retry_in_ms {
                    Some(ms) => format!("Wimsy tries again in {}", seconds(*ms)),
                    None => "Wimsy is trying again".to_owned(),
                };
                if let Some(n) = attempt {
                    next.push_str(&format!(" (attempt {n})"));
                }
                (
                    "Cannot reach the server yet".to_owned(),
                    Some(format!(
                        "{} {next}. If the server needs another name or port, remove this \
                         account and sign in again with them.",
                        sentence(reason)
                    )),
                    Tone::Pending,
                )
            }
            Self::Connected { reason } => (
                "You are signed in".to_owned(),
                Some(match reason.trim() {
                    "" => format!("{jid} is connected."),
                    reason => sentence(reason),
                }),
                Tone::Good,
            ),
            Self::WrongPassword { reason } => (
                "The server did not accept this password".to_owned(),
                Some(format!(
                    "{} Type the right password and try again; if the address is wrong, \
                     remove this account and start over.",
                    sentence(reason)
                )),
                Tone::Bad,
            ),
            Self::Untrusted {
                reason,
                fingerprint,
            } => (
                "The server's certificate is not trusted".to_owned(),
                Some(match fingerprint {
                    Some(_) => format!(
                        "{} If this is a server you know that uses its own certificate, ask \
                         its admin for the certificate's SHA-256 fingerprint and compare it \
                         with the one below. Trust it only if they are the same: otherwise \
                         someone may be listening in.",
                        sentence(crate::words::what_happened(reason))
                    ),
                    None => format!(
                        "{} The server sent no certificate fingerprint to check, so it cannot \
                         be trusted from here.",
                        sentence(reason)
                    ),
                }),
                Tone::Bad,
            ),
            Self::Unreachable { reason } => (
                "The server cannot be reached".to_owned(),
                Some(format!(
                    "{} Check the address, and the server and port if you gave them.",
                    sentence(reason)
                )),
                Tone::Bad,
            ),
            Self::NoNetwork { reason } => (
                "No network".to_owned(),
                Some(format!(
                    "{} Wimsy signs in as soon as the network is back.",
                    sentence(reason)
                )),
                Tone::Pending,
            ),
            Self::Offline => (
                "The account is offline".to_owned(),
                Some("It was taken offline before it signed in.".to_owned()),
                Tone::Bad,
            ),
            Self::Failed { reason } => (
                "Could not sign in".to_owned(),
                Some(sentence(reason)).filter(|r| !r.is_empty()),
                Tone::Bad,
            ),
            Self::Removed => (
                "The account was removed".to_owned(),
                Some("It was removed while it was signing in.".to_owned()),
                Tone::Bad,
            ),
        };
        Words {
            headline,
            detail,
            tone,
        }
    }
}

/// "4 s", "1 min 5 s".
fn seconds(ms: u64) -> String {
    let s = ms.div_ceil(1000);
    if s < 60 {
        format!("{s} s")
    } else if s.is_multiple_of(60) {
        format!("{} min", s / 60)
    } else {
        format!("{} min {} s", s / 60, s % 60)
    }
}

/// A fingerprint in lines of eight bytes, so two people can compare it
/// piece by piece and it never runs off a narrow window.
pub fn fingerprint_lines(fingerprint: &str) -> Vec<String> {
    let hex = fingerprint
        .trim()
        .strip_prefix("SHA256:")
        .unwrap_or(fingerprint.trim());
    let bytes: Vec<&str> = hex.split(':').collect();
    bytes.chunks(8).map(|chunk| chunk.join(":")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "alice@example.org";

    #[test]
    fn no_outcome_reads_as_a_wire_token() {
        let outcomes = [
            Outcome::Starting,
            Outcome::Connecting,
            Outcome::NoNetwork {
                reason: "no route to the server".to_owned(),
            },
            Outcome::Offline,
            Outcome::Removed,
            Outcome::Untrusted {
                reason: "x".to_owned(),
                fingerprint: None,
            },
        ];
        for outcome in outcomes {
            let words = outcome.words(A);
            let all = format!("{} {}", words.headline, words.detail.unwrap_or_default());
            for token in ["waiting_for_network", "_", "Some(", "None"] {
                assert!(!all.contains(token), "{outcome:?}: {all}");
            }
        }
    }

    #[test]
    fn waits_read_in_seconds_and_minutes() {
        assert_eq!(seconds(1), "1 s");
        assert_eq!(seconds(59_000), "59 s");
        assert_eq!(seconds(120_000), "2 min");
        assert_eq!(seconds(65_000), "1 min 5 s");
    }

    #[test]
    fn fingerprints_break_into_lines_of_eight_bytes() {
        let fp = format!(
            "SHA256:{}",
            (0..32)
                .map(|i| format!("{i:02X}"))
                .collect::<Vec<_>>()
                .join(":")
        );
        let lines = fingerprint_lines(&fp);
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0], "00:01:02:03:04:05:06:07");
        assert_eq!(lines[3], "18:19:1A:1B:1C:1D:1E:1F");
    }
}
