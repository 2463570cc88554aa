//! Waiting for a login that `account add` or `account password` started:
//! which events tell its outcome, and how each outcome reads. Pure; the
//! socket side is in `commands::account`.

use std::time::Duration;

use wimsy_ipc::{ConnectionState, ConnectionStatus, Event};

use crate::render::hint::hint;
use crate::render::{duration, inline, shell_word, status_detail};

/// Which command started the login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `account add`.
    Added,
    /// `account password`.
    NewPassword,
}

/// How a login ended, or where it stood when the wait ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Logged in.
    Connected(ConnectionStatus),
    /// Stopped on an error the user must act on (wrong password, untrusted
    /// certificate...).
    Refused(ConnectionStatus),
    /// Not trying now: waiting for the network, or taken offline.
    Idle(ConnectionStatus),
    /// Neither connected nor refused when the wait ran out; the last failed
    /// attempt's status, if any.
    StillTrying {
        /// How long was waited.
        waited: Duration,
        /// The last failed attempt.
        last: Option<ConnectionStatus>,
    },
    /// The account was removed meanwhile.
    Removed,
}

/// Follows one account's events after the request that started its login.
#[derive(Debug, Clone)]
pub struct Watch {
    jid: String,
    last_failure: Option<ConnectionStatus>,
    /// A new session says `offline` before it starts connecting; only an
    /// `offline` after that means someone took the account offline.
    started: bool,
}

impl Watch {
    /// Watch `jid` (as the daemon spells it, i.e. normalized).
    pub fn new(jid: &str) -> Self {
        Self {
            jid: jid.to_owned(),
            last_failure: None,
            started: false,
        }
    }

    /// The outcome, if `event` tells it.
    pub fn see(&mut self, event: &Event) -> Option<Outcome> {
        match event {
            Event::AccountAdded { account, status } | Event::Connection { account, status }
                if *account == self.jid =>
            {
                self.status(status)
            }
            Event::AccountRemoved { account } if *account == self.jid => Some(Outcome::Removed),
            _ => None,
        }
    }

    fn status(&mut self, status: &ConnectionStatus) -> Option<Outcome> {
        match status.state {
            ConnectionState::Connected => Some(Outcome::Connected(status.clone())),
            ConnectionState::Error => Some(Outcome::Refused(status.clone())),
            ConnectionState::WaitingForNetwork => Some(Outcome::Idle(status.clone())),
            ConnectionState::Offline if self.started => Some(Outcome::Idle(status.clone())),
            ConnectionState::Offline => None,
            ConnectionState::Connecting => {
                self.started = true;
                // A wait before the next attempt, or an attempt after the
                // first, means one failed; its reason says why.
                if status.retry_in_ms.is_some() || status.attempt.is_some_and(|n| n > 1) {
                    self.last_failure = Some(status.clone());
                }
                None
            }
            // A newer daemon's state: not an outcome this version can judge.
            ConnectionState::Unknown => None,
        }
    }

    /// The outcome when the wait ran out after `waited`.
    pub fn timed_out(self, waited: Duration) -> Outcome {
        Outcome::StillTrying {
            waited,
            last: self.last_failure,
        }
    }
}

impl Outcome {
    /// The status it ended in, where there is one.
    pub fn status(&self) -> Option<&ConnectionStatus> {
        match self {
            Self::Connected(s) | Self::Refused(s) | Self::Idle(s) => Some(s),
            Self::StillTrying { last, .. } => last.as_ref(),
            Self::Removed => None,
        }
    }

    /// The `--json` error code of an outcome that is not a success.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Connected(_) => "connected",
            Self::Refused(_) => "login_failed",
            Self::Idle(_) | Self::Removed => "not_connected",
            Self::StillTrying { .. } => "still_trying",
        }
    }
}

/// The line printed when the login succeeded.
pub fn success_text(action: Action, jid: &str, status: &ConnectionStatus) -> String {
    let reason = match status.reason.trim() {
        "" => "connected".to_owned(),
        reason => inline(reason),
    };
    match action {
        Action::Added => format!("account {} added; {reason}", inline(jid)),
        Action::NewPassword => format!("new password for {} stored; {reason}", inline(jid)),
    }
}

/// What happened, when the login did not succeed (for `--json` too): the
/// reason in words and that the account stays.
pub fn failure_text(action: Action, jid: &str, outcome: &Outcome) -> String {
    let who = match action {
        Action::Added => format!("{} is added but", inline(jid)),
        Action::NewPassword => format!("{} has its new password but", inline(jid)),
    };
    match outcome {
        Outcome::Connected(status) => success_text(action, jid, status),
        Outcome::Refused(status) => format!(
            "{who} could not log in: {}; the account stays configured",
            status_detail(status)
        ),
        Outcome::Idle(status) => {
            let what = match status.state {
                ConnectionState::Offline => "is offline",
                _ => "is not connected",
            };
            format!("{who} {what}: {}", status_detail(status))
        }
        Outcome::StillTrying { waited, last } => {
            let last = last
                .as_ref()
                .map(status_detail)
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| "no answer from the server yet".to_owned());
            format!(
                "{who} is not connected after {}; still trying: {last}",
                duration(u64::try_from(waited.as_millis()).unwrap_or(u64::MAX))
            )
        }
        Outcome::Removed => format!(
            "{} was removed while wimsyctl waited for its login",
            inline(jid)
        ),
    }
}

/// What the user can do about it, in wimsyctl's commands (human output
/// only).
pub fn failure_advice(jid: &str, outcome: &Outcome) -> Option<String> {
    let remove = format!("`wimsyctl account remove {}`", shell_word(jid));
    match outcome {
        Outcome::Connected(_) | Outcome::Removed => None,
        Outcome::Refused(status) => Some(match hint(jid, status) {
            Some(fix) => format!("{fix}, or remove it with {remove}"),
            None => format!("remove it with {remove} if it is not needed"),
        }),
        Outcome::Idle(status) => hint(jid, status).or_else(|| {
            (status.state == ConnectionState::Offline)
                .then(|| format!("`wimsyctl connect {}` brings it online", shell_word(jid)))
        }),
        Outcome::StillTrying { .. } => Some(format!(
            "it keeps trying by itself: `wimsyctl status` shows how it goes, {remove} gives up"
        )),
    }
}

#[cfg(test)]
mod tests {
    use wimsy_ipc::ConnectionError;

    use super::*;

    const A: &str = "a@example.org";

    fn connection(status: ConnectionStatus) -> Event {
        Event::Connection {
            account: A.into(),
            status,
        }
    }

    fn retrying(reason: &str) -> ConnectionStatus {
        ConnectionStatus {
            attempt: Some(2),
            retry_in_ms: Some(800),
            ..ConnectionStatus::new(ConnectionState::Connecting, reason)
        }
    }

    #[test]
    fn connected_and_refused_end_the_wait() {
        let mut watch = Watch::new(A);
        let first = ConnectionStatus {
            attempt: Some(1),
            ..ConnectionStatus::new(ConnectionState::Connecting, "connecting")
        };
        assert_eq!(watch.see(&connection(first)), None);
        let up = ConnectionStatus::new(ConnectionState::Connected, "connected as a@example.org/x");
        assert_eq!(
            watch.see(&connection(up.clone())),
            Some(Outcome::Connected(up))
        );
        let refused = ConnectionStatus {
            error: Some(ConnectionError::Authentication),
            ..ConnectionStatus::new(ConnectionState::Error, "authentication failed")
        };
        assert_eq!(
            Watch::new(A).see(&connection(refused.clone())),
            Some(Outcome::Refused(refused))
        );
    }

    #[test]
    fn offline_counts_only_after_the_session_started_connecting() {
        let mut watch = Watch::new(A);
        let offline = ConnectionStatus::new(ConnectionState::Offline, "not connected");
        assert_eq!(
            watch.see(&connection(offline.clone())),
            None,
            "a new session"
        );
        assert_eq!(watch.see(&connection(retrying("refused"))), None);
        assert_eq!(
            watch.see(&connection(offline.clone())),
            Some(Outcome::Idle(offline))
        );
    }

    #[test]
    fn other_accounts_and_unknown_things_are_not_an_outcome() {
        let mut watch = Watch::new(A);
        let other = Event::Connection {
            account: "b@example.org".into(),
            status: ConnectionStatus::new(ConnectionState::Error, "x"),
        };
        assert_eq!(watch.see(&other), None);
        assert_eq!(watch.see(&Event::Unknown), None);
        assert_eq!(
            watch.see(&connection(ConnectionStatus::new(
                ConnectionState::Unknown,
                "hibernating"
            ))),
            None
        );
        assert_eq!(
            watch.see(&Event::AccountRemoved { account: A.into() }),
            Some(Outcome::Removed)
        );
    }

    #[test]
    fn a_timeout_reports_the_last_failed_attempt() {
        let mut watch = Watch::new(A);
        assert_eq!(watch.see(&connection(retrying("connection refused"))), None);
        let outcome = watch.timed_out(Duration::from_secs(40));
        assert_eq!(outcome.code(), "still_trying");
        let text = failure_text(Action::Added, A, &outcome);
        assert!(
            text.starts_with(
                "a@example.org is added but is not connected after 40s; still trying: connection refused"
            ),
            "{text}"
        );
        let advice = failure_advice(A, &outcome).unwrap();
        assert!(advice.contains("wimsyctl status"), "{advice}");
        let silent = Watch::new(A).timed_out(Duration::from_secs(3));
        assert!(failure_text(Action::NewPassword, A, &silent).contains(
            "has its new password but is not connected after 3s; still trying: no answer"
        ),);
    }

    #[test]
    fn a_refusal_says_why_that_the_account_stays_and_how_to_fix_it() {
        let refused = Outcome::Refused(ConnectionStatus {
            error: Some(ConnectionError::Authentication),
            ..ConnectionStatus::new(
                ConnectionState::Error,
                "authentication failed: the server refused the user name or password",
            )
        });
        assert_eq!(refused.code(), "login_failed");
        assert_eq!(
            failure_text(Action::Added, A, &refused),
            "a@example.org is added but could not log in: authentication failed: the server \
             refused the user name or password; the account stays configured"
        );
        assert_eq!(
            failure_advice(A, &refused).unwrap(),
            "set the right password with `wimsyctl account password a@example.org`, or remove \
             it with `wimsyctl account remove a@example.org`"
        );
    }

    #[test]
    fn success_reads_short() {
        let up = ConnectionStatus::new(ConnectionState::Connected, "connected as a@example.org/x");
        assert_eq!(
            success_text(Action::Added, A, &up),
            "account a@example.org added; connected as a@example.org/x"
        );
        assert_eq!(
            success_text(Action::NewPassword, A, &up),
            "new password for a@example.org stored; connected as a@example.org/x"
        );
    }
}
