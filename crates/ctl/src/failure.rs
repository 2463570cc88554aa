//! Why a command failed, the exit code that tells it, and how it is printed.

use std::io;

use wimsy_ipc::{ClientError, ErrorCode};

use crate::login::{Action, Outcome, failure_advice, failure_text};

/// Exit code: done.
pub const EXIT_OK: u8 = 0;
/// Exit code: the daemon refused or the request failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: usage error (also clap's own code for bad arguments).
pub const EXIT_USAGE: u8 = 2;
/// Exit code: no daemon reachable at the socket.
pub const EXIT_NO_DAEMON: u8 = 3;

/// A command that did not get done.
#[derive(Debug)]
pub enum Failure {
    /// Talking to the daemon failed, or the daemon refused.
    Client(ClientError),
    /// The command line or its inputs cannot be used (a missing CA file, no
    /// password).
    Usage(String),
    /// A login wimsyctl waited for did not end connected (the account
    /// stays configured).
    Login {
        /// Which command started it.
        action: Action,
        /// The account.
        jid: String,
        /// How it ended.
        outcome: Box<Outcome>,
    },
    /// Autostart could not be set up, undone or asked about; the words
    /// say what to do.
    Autostart(String),
    /// Something on this side failed: writing stdout, starting the runtime.
    Local {
        /// What was being done, lowercase ("writing to stdout").
        what: &'static str,
        /// The error.
        source: io::Error,
    },
}

impl From<ClientError> for Failure {
    fn from(err: ClientError) -> Self {
        Self::Client(err)
    }
}

impl Failure {
    /// The process exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Client(err) => client_exit_code(err),
            Self::Usage(_) => EXIT_USAGE,
            Self::Login { .. } | Self::Local { .. } | Self::Autostart(_) => EXIT_FAILED,
        }
    }

    /// The machine-readable code printed with `--json`: the daemon's own
    /// code when it refused, else one of `no_daemon`, `io`, `closed`,
    /// `bad_reply`, `usage`, and for a login waited for `login_failed`,
    /// `not_connected` or `still_trying`.
    pub fn code(&self) -> String {
        match self {
            Self::Client(ClientError::Remote(body)) => error_code_word(body.code),
            Self::Client(ClientError::NoDaemon { .. }) => "no_daemon".into(),
            Self::Client(ClientError::Io(_)) => "io".into(),
            Self::Client(ClientError::Closed) => "closed".into(),
            Self::Client(
                ClientError::Decode(_) | ClientError::Frame(_) | ClientError::Unexpected(_),
            ) => "bad_reply".into(),
            Self::Usage(_) => "usage".into(),
            Self::Login { outcome, .. } => outcome.code().into(),
            Self::Local { .. } => "io".into(),
            Self::Autostart(_) => "autostart".into(),
        }
    }

    /// What the user reads: what failed and, where we know, what to do.
    pub fn message(&self) -> String {
        match self {
            Self::Client(err) => err.to_string(),
            Self::Usage(message) => message.clone(),
            Self::Login {
                action,
                jid,
                outcome,
            } => failure_text(*action, jid, outcome),
            Self::Local { what, source } => format!("{what} failed: {source}"),
            Self::Autostart(message) => message.clone(),
        }
    }

    /// What wimsyctl adds for people to a refusal from wimsyd: its own
    /// commands that help (wimsyd's messages name none).
    fn hint(&self) -> Option<String> {
        match self {
            Self::Client(ClientError::Remote(body)) => match body.code {
                ErrorCode::UnknownAccount => Some(
                    "`wimsyctl account list` shows the configured accounts, \
                     `wimsyctl account add JID` adds one"
                        .into(),
                ),
                ErrorCode::AccountRequired => Some("say which with --account JID".into()),
                ErrorCode::NotConnected => {
                    Some("`wimsyctl status` says why; `wimsyctl connect` tries again now".into())
                }
                ErrorCode::UnknownSetting => {
                    Some("`wimsyctl settings get` lists them with what they do".into())
                }
                _ => None,
            },
            Self::Login { jid, outcome, .. } => failure_advice(jid, outcome),
            _ => None,
        }
    }

    /// Stdout was closed by the reader (`wimsyctl follow | head -1`): not
    /// worth a message or a failing exit code.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Self::Local { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// The exit code for a failed call to the daemon.
pub fn client_exit_code(err: &ClientError) -> u8 {
    match err {
        ClientError::NoDaemon { .. } => EXIT_NO_DAEMON,
        ClientError::Remote(_)
        | ClientError::Io(_)
        | ClientError::Decode(_)
        | ClientError::Frame(_)
        | ClientError::Closed
        | ClientError::Unexpected(_) => EXIT_FAILED,
    }
}

/// An error code as it is spelled on the wire (`unknown_account`).
pub fn error_code_word(code: ErrorCode) -> String {
    match serde_json::to_value(code) {
        Ok(serde_json::Value::String(word)) => word,
        _ => "unknown".into(),
    }
}

/// The `--json` form of a failure: `{"error":{"code":...,"message":...}}`,
/// and for a login that was waited for its `account` and last `status`.
pub fn json_error(failure: &Failure) -> String {
    let mut error = serde_json::json!({ "code": failure.code(), "message": failure.message() });
    if let Failure::Login { jid, outcome, .. } = failure {
        error["account"] = serde_json::json!(jid);
        if let Some(status) = outcome.status() {
            error["status"] = serde_json::to_value(status).unwrap_or_default();
        }
    }
    serde_json::json!({ "error": error }).to_string()
}

/// The human form of a failure, for stderr.
pub fn human_error(failure: &Failure) -> String {
    match (failure, failure.hint()) {
        // A login's advice is a sentence of its own.
        (Failure::Login { .. }, Some(hint)) => format!("wimsyctl: {}\n{hint}", failure.message()),
        (_, Some(hint)) => format!("wimsyctl: {}; {hint}", failure.message()),
        (_, None) => format!("wimsyctl: {}", failure.message()),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use wimsy_ipc::{ErrorBody, FrameError};

    use super::*;

    fn no_daemon() -> Failure {
        Failure::Client(ClientError::NoDaemon {
            path: PathBuf::from("/nonexistent/x.sock"),
            source: io::Error::from(io::ErrorKind::NotFound),
        })
    }

    fn remote(code: ErrorCode, message: &str) -> Failure {
        Failure::Client(ClientError::Remote(ErrorBody::new(code, message)))
    }

    #[test]
    fn exit_codes() {
        assert_eq!(no_daemon().exit_code(), 3);
        assert_eq!(
            remote(ErrorCode::UnknownAccount, "no such account").exit_code(),
            1
        );
        assert_eq!(
            remote(ErrorCode::ProtocolMismatch, "upgrade").exit_code(),
            1
        );
        assert_eq!(Failure::Client(ClientError::Closed).exit_code(), 1);
        assert_eq!(
            Failure::Client(ClientError::Io(io::ErrorKind::ConnectionReset.into())).exit_code(),
            1
        );
        assert_eq!(
            Failure::Client(ClientError::Decode("x".into())).exit_code(),
            1
        );
        assert_eq!(
            Failure::Client(ClientError::Frame(FrameError::TooLarge { limit: 1 })).exit_code(),
            1
        );
        assert_eq!(
            Failure::Client(ClientError::Unexpected("x".into())).exit_code(),
            1
        );
        assert_eq!(Failure::Usage("no password".into()).exit_code(), 2);
        assert_eq!(
            Failure::Local {
                what: "writing to stdout",
                source: io::ErrorKind::Other.into()
            }
            .exit_code(),
            1
        );
    }

    #[test]
    fn codes_use_the_wire_spelling() {
        assert_eq!(
            remote(ErrorCode::UnknownAccount, "m").code(),
            "unknown_account"
        );
        assert_eq!(remote(ErrorCode::TestFailure, "m").code(), "test_failure");
        assert_eq!(remote(ErrorCode::Unknown, "m").code(), "unknown");
        assert_eq!(no_daemon().code(), "no_daemon");
        assert_eq!(Failure::Client(ClientError::Closed).code(), "closed");
        assert_eq!(
            Failure::Client(ClientError::Unexpected("x".into())).code(),
            "bad_reply"
        );
        assert_eq!(Failure::Usage("x".into()).code(), "usage");
    }

    #[test]
    fn no_daemon_message_names_the_socket_and_the_fix() {
        let message = no_daemon().message();
        assert!(
            message.contains("no wimsyd is running at /nonexistent/x.sock"),
            "{message}"
        );
        assert!(
            message.contains("start it with `wimsyd --socket /nonexistent/x.sock`"),
            "{message}"
        );
        assert_eq!(human_error(&no_daemon()), format!("wimsyctl: {message}"));
    }

    #[test]
    fn the_daemons_message_is_shown_as_it_is() {
        let failure = remote(
            ErrorCode::AccountRequired,
            "several accounts: pass --account JID",
        );
        assert_eq!(failure.message(), "several accounts: pass --account JID");
    }

    #[test]
    fn json_error_shape() {
        let failure = remote(ErrorCode::InvalidJid, "not a JID: \"x\"");
        let value: serde_json::Value = serde_json::from_str(&json_error(&failure)).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"error": {"code": "invalid_jid", "message": "not a JID: \"x\""}})
        );
        let value: serde_json::Value = serde_json::from_str(&json_error(&no_daemon())).unwrap();
        assert_eq!(value["error"]["code"], "no_daemon");
        assert!(
            value["error"]["message"]
                .as_str()
                .unwrap()
                .contains("/nonexistent/x.sock")
        );
    }

    #[test]
    fn broken_pipe_is_recognised() {
        let pipe = Failure::Local {
            what: "writing to stdout",
            source: io::ErrorKind::BrokenPipe.into(),
        };
        assert!(pipe.is_broken_pipe());
        assert!(!Failure::Usage("x".into()).is_broken_pipe());
    }
}
