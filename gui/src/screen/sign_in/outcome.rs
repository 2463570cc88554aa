//! How a sign-in went, judged from the account's status in the shared
//! state, and how each outcome reads. Pure, like wimsyctl's login watch
//! (crates/ctl/src/login.rs), but fed with states rather than events: the
//! window is told about state changes.

use wimsy_ipc::{ConnectionError, ConnectionState, ConnectionStatus, FrontendState};

/// Where a sign-in stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Asked; the account has not started connecting yet.
    Starting,
    /// Dialling or logging in, with no failure so far.
    Connecting,
    /// An attempt failed; the daemon tries again by itself.
    Retrying {
        reason: String,
        attempt: Option<u32>,
        retry_in_ms: Option<u64>,
    },
    /// Logged in.
    Connected { reason: String },
    /// The server refused the password (or does not know the account).
    WrongPassword { reason: String },
    /// The server's certificate is not trusted.
    Untrusted {
        reason: String,
        fingerprint: Option<String>,
    },
    /// The daemon gave up reaching the server.
    Unreachable { reason: String },
    /// No network; the daemon goes on when it is back.
    NoNetwork { reason: String },
    /// Taken offline before it logged in.
    Offline,
    /// Any other error, or a state this version does not know.
    Failed { reason: String },
    /// The account was removed meanwhile.
    Removed,
}

/// Follows one account's status after a request that (re)starts its login.
#[derive(Debug, Clone)]
pub struct Watch {
    jid: String,
    /// The account has been in the state since the watch began.
    seen: bool,
    /// It went through `connecting` since the watch began: a new session
    /// says `offline` before it dials, and an error seen before that is
    /// the previous login's.
    started: bool,
    /// The account's status when the watch (re)began; an error equal to it
    /// is old news until the session has started again.
    stale: Option<ConnectionStatus>,
    /// The latest status seen.
    last: Option<ConnectionStatus>,
}

impl Watch {
    /// Watch `jid`, an account that does not exist yet or whose status is
    /// not known.
    pub fn new(jid: &str) -> Self {
        Self {
            jid: jid.to_owned(),
            seen: false,
            started: false,
            stale: None,
            last: None,
        }
    }

    /// Watch an account whose current status is already the outcome to
    /// show (opening the screen to fix an account in error).
    pub fn existing(jid: &str) -> Self {
        Self {
            started: true,
            ..Self::new(jid)
        }
    }

    /// The account as the daemon spells it, once seen; as typed before.
    pub fn jid(&self) -> &str {
        &self.jid
    }

    /// Another request restarted the login (a new password, a trusted
    /// certificate): what is shown now is the previous attempt's.
    pub fn restart(&mut self) {
        self.started = false;
        self.stale = self.last.clone();
    }

    /// The request that restarted the login was refused: the status shown
    /// before it is the current one after all.
    pub fn resume(&mut self) {
        self.started = true;
        self.stale = None;
    }

    /// The outcome as `state` tells it.
    pub fn observe(&mut self, state: &FrontendState) -> Outcome {
        // The daemon lowercases the address; the user may not have.
        let found = state
            .accounts
            .iter()
            .find(|(jid, _)| jid.to_lowercase() == self.jid.to_lowercase());
        let Some((jid, view)) = found else {
            return if self.seen {
                Outcome::Removed
            } else {
                Outcome::Starting
            };
        };
        self.seen = true;
        self.jid.clone_from(jid);
        let status = &view.status;
        self.last = Some(status.clone());
        if status.state == ConnectionState::Connecting {
            self.started = true;
        }
        let fresh = self.started || self.stale.as_ref() != Some(status);
        match status.state {
            ConnectionState::Connected => Outcome::Connected {
                reason: status.reason.clone(),
            },
            ConnectionState::Connecting => {
                // A wait before the next attempt, or an attempt after the
                // first, means one failed; the reason says why.
                if status.retry_in_ms.is_some() || status.attempt.is_some_and(|n| n > 1) {
                    Outcome::Retrying {
                        reason: status.reason.clone(),
                        attempt: status.attempt,
                        retry_in_ms: status.retry_in_ms,
                    }
                } else {
                    Outcome::Connecting
                }
            }
            ConnectionState::Offline if self.started => Outcome::Offline,
            ConnectionState::Offline => Outcome::Starting,
            _ if !fresh => Outcome::Starting,
            ConnectionState::WaitingForNetwork => Outcome::NoNetwork {
                reason: status.reason.clone(),
            },
            ConnectionState::Error => error_outcome(status),
            ConnectionState::Unknown => Outcome::Failed {
                reason: status.reason.clone(),
            },
        }
    }
}

fn error_outcome(status: &ConnectionStatus) -> Outcome {
    let reason = status.reason.clone();
    match status.error {
        Some(ConnectionError::Authentication) => Outcome::WrongPassword { reason },
        Some(ConnectionError::Certificate) => Outcome::Untrusted {
            reason,
            fingerprint: status
                .fingerprint
                .as_deref()
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(str::to_owned),
        },
        Some(ConnectionError::Network) => Outcome::Unreachable { reason },
        _ => Outcome::Failed { reason },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screen::testing::state_with;

    const A: &str = "alice@example.org";

    fn state(status: Option<ConnectionStatus>) -> FrontendState {
        match status {
            Some(status) => state_with(&[(A, status)]),
            None => FrontendState::default(),
        }
    }

    fn status(state: ConnectionState, reason: &str) -> ConnectionStatus {
        ConnectionStatus::new(state, reason)
    }

    fn error(kind: ConnectionError, reason: &str) -> ConnectionStatus {
        ConnectionStatus {
            error: Some(kind),
            ..status(ConnectionState::Error, reason)
        }
    }

    #[test]
    fn a_new_account_goes_from_starting_to_connected() {
        let mut watch = Watch::new("Alice@Example.org");
        assert_eq!(watch.observe(&state(None)), Outcome::Starting);
        let offline = status(ConnectionState::Offline, "not connected");
        assert_eq!(
            watch.observe(&state(Some(offline.clone()))),
            Outcome::Starting
        );
        assert_eq!(watch.jid(), A, "the daemon's spelling wins");
        let first = ConnectionStatus {
            attempt: Some(1),
            ..status(ConnectionState::Connecting, "connecting")
        };
        assert_eq!(watch.observe(&state(Some(first))), Outcome::Connecting);
        let up = status(
            ConnectionState::Connected,
            "connected as alice@example.org/x",
        );
        assert_eq!(
            watch.observe(&state(Some(up))),
            Outcome::Connected {
                reason: "connected as alice@example.org/x".to_owned()
            }
        );
        assert_eq!(watch.observe(&state(None)), Outcome::Removed);
    }

    #[test]
    fn errors_are_told_apart() {
        let mut cert = error(ConnectionError::Certificate, "not trusted");
        cert.fingerprint = Some("SHA256:AB:CD".to_owned());
        let cases = [
            (
                error(ConnectionError::Authentication, "not-authorized"),
                Outcome::WrongPassword {
                    reason: "not-authorized".to_owned(),
                },
            ),
            (
                cert,
                Outcome::Untrusted {
                    reason: "not trusted".to_owned(),
                    fingerprint: Some("SHA256:AB:CD".to_owned()),
                },
            ),
            (
                error(ConnectionError::Network, "no route"),
                Outcome::Unreachable {
                    reason: "no route".to_owned(),
                },
            ),
            (
                error(ConnectionError::Stream, "conflict"),
                Outcome::Failed {
                    reason: "conflict".to_owned(),
                },
            ),
        ];
        for (status, outcome) in cases {
            assert_eq!(Watch::new(A).observe(&state(Some(status))), outcome);
        }
    }

    #[test]
    fn after_a_restart_the_old_error_is_not_the_outcome() {
        let refused = error(ConnectionError::Authentication, "not-authorized");
        let mut watch = Watch::existing(A);
        assert!(matches!(
            watch.observe(&state(Some(refused.clone()))),
            Outcome::WrongPassword { .. }
        ));
        watch.restart();
        assert_eq!(
            watch.observe(&state(Some(refused.clone()))),
            Outcome::Starting
        );
        let dialling = status(ConnectionState::Connecting, "connecting");
        assert_eq!(watch.observe(&state(Some(dialling))), Outcome::Connecting);
        assert!(matches!(
            watch.observe(&state(Some(refused))),
            Outcome::WrongPassword { .. }
        ));
    }

    #[test]
    fn a_failed_attempt_reads_as_retrying_with_the_wait() {
        let retrying = ConnectionStatus {
            attempt: Some(3),
            retry_in_ms: Some(4_200),
            ..status(
                ConnectionState::Connecting,
                "could not connect to example.org",
            )
        };
        let outcome = Watch::new(A).observe(&state(Some(retrying)));
        let words = outcome.words(A);
        assert_eq!(words.headline, "Cannot reach the server yet");
        let detail = words.detail.unwrap_or_default();
        assert!(
            detail.starts_with(
                "Could not connect to example.org. Wimsy tries again in 5 s (attempt 3)."
            ),
            "{detail}"
        );
    }
}
