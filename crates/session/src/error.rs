//! Why a connection attempt or a live stream failed, and whether retrying
//! can help.

use std::time::Duration;

/// What kind of failure, as frontends group them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Wrong credentials: retrying cannot help.
    Authentication,
    /// The certificate is not trusted: retrying cannot help.
    Certificate,
    /// DNS, TCP or a timeout: retrying may help.
    Network,
    /// The server closed the stream with an error.
    Stream,
    /// The server did something we cannot follow.
    Protocol,
    /// Local configuration is unusable (a CA file that cannot be read...).
    Config,
}

/// Why the server did not log us in.
#[derive(Debug, Clone, PartialEq)]
pub enum LoginRefusal {
    /// The server answered with this SASL condition.
    Sasl(xmpp_parsers::sasl::DefinedCondition),
    /// The server offers no login method we use: no SCRAM, and no PLAIN
    /// either (PLAIN only counts when there is no SCRAM).
    NoMechanism,
    /// The server's SCRAM answer did not prove that it knows the password.
    ServerUnproven,
    /// The server's SCRAM challenge could not be read.
    BadChallenge,
    /// We could not start the exchange (no randomness for the nonce).
    ClientFailed,
}

/// A failed connection attempt or stream.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The host name could not be resolved.
    #[error("could not find the server {host}: {detail}")]
    Resolve {
        /// The name looked up.
        host: String,
        /// What went wrong, in words.
        detail: String,
    },
    /// TCP connect failed.
    #[error("could not connect to {addr}: {}", crate::names::io_words(source))]
    Tcp {
        /// The address dialled.
        addr: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A step took too long.
    #[error("{step} took longer than {} s", after.as_secs_f32())]
    Timeout {
        /// The step.
        step: &'static str,
        /// The limit.
        after: Duration,
    },
    /// The server does not offer STARTTLS; we never talk in plaintext.
    #[error(
        "{host} does not offer an encrypted connection (STARTTLS), and Wimsy never logs in without one: ask the server's administrator to enable it"
    )]
    NoStartTls {
        /// The server.
        host: String,
    },
    /// The certificate did not verify, and none is pinned.
    #[error(
        "the certificate of {host} is not trusted: {detail}{}",
        untrusted_advice(fingerprint.as_deref())
    )]
    Certificate {
        /// The server name checked.
        host: String,
        /// The account's bare JID.
        account: String,
        /// Why, in words (`crate::tls` words it).
        detail: String,
        /// The offered certificate's fingerprint (`SHA256:AB:...`), when
        /// the verification got to see it.
        fingerprint: Option<String>,
    },
    /// The server offered another certificate than the pinned one.
    #[error(
        "the certificate of {host} changed: trusted {pinned}, offered now {offered}; this happens when the server renews its certificate, and also when someone intercepts the connection: check the new fingerprint with the server's administrator before trusting it"
    )]
    CertificateChanged {
        /// The server name.
        host: String,
        /// The account's bare JID.
        account: String,
        /// The fingerprint the user accepted.
        pinned: String,
        /// The fingerprint offered now.
        offered: String,
    },
    /// The extra CA file could not be used.
    #[error("could not use the CA file {path}: {detail}")]
    CaFile {
        /// The file.
        path: String,
        /// Why.
        detail: String,
    },
    /// The server did not log us in.
    #[error("{}", crate::names::login_words(refusal, *bound, text.as_deref()))]
    Authentication {
        /// Why.
        refusal: LoginRefusal,
        /// The server's own explanation, if it gave one.
        text: Option<String>,
        /// The login was bound to the TLS channel (`-PLUS`), so a refusal
        /// may also mean the channel was intercepted.
        bound: bool,
    },
    /// The server closed the stream with an error.
    #[error(
        "the server closed the connection: {}{}",
        crate::names::stream_words(condition),
        server_said(text.as_deref())
    )]
    Stream {
        /// The stream error condition; `names::stream_name` spells it.
        condition: xmpp_parsers::stream_error::DefinedCondition,
        /// The server's text, if any.
        text: Option<String>,
    },
    /// The connection broke.
    #[error("connection lost: {}", crate::names::io_words(.0))]
    Io(#[from] std::io::Error),
    /// The server closed the stream without an error.
    #[error("the server closed the connection")]
    Closed,
    /// Something did not follow the protocol.
    #[error("the server did something Wimsy cannot follow: {0}")]
    Protocol(String),
}

impl SessionError {
    /// The group this failure belongs to.
    pub fn kind(&self) -> FailureKind {
        use xmpp_parsers::sasl::DefinedCondition as Sasl;
        match self {
            Self::Authentication {
                refusal:
                    LoginRefusal::Sasl(
                        Sasl::NotAuthorized | Sasl::AccountDisabled | Sasl::CredentialsExpired,
                    ),
                ..
            } => FailureKind::Authentication,
            Self::Authentication {
                refusal: LoginRefusal::Sasl(Sasl::TemporaryAuthFailure | Sasl::Aborted),
                ..
            } => FailureKind::Network,
            Self::Authentication { .. } => FailureKind::Protocol,
            Self::Certificate { .. }
            | Self::CertificateChanged { .. }
            | Self::NoStartTls { .. } => FailureKind::Certificate,
            Self::CaFile { .. } => FailureKind::Config,
            Self::Stream { .. } => FailureKind::Stream,
            Self::Protocol(_) => FailureKind::Protocol,
            Self::Resolve { .. }
            | Self::Tcp { .. }
            | Self::Timeout { .. }
            | Self::Io(_)
            | Self::Closed => FailureKind::Network,
        }
    }

    /// The fingerprint of the certificate the server offered, when it was
    /// refused: what the user may check and then trust.
    pub fn fingerprint(&self) -> Option<&str> {
        match self {
            Self::Certificate { fingerprint, .. } => fingerprint.as_deref(),
            Self::CertificateChanged { offered, .. } => Some(offered),
            _ => None,
        }
    }

    /// Retrying without the user's action cannot help: wrong password,
    /// untrusted certificate, another client took over the resource, or the
    /// server revoked our authorization. A refused login is not retried
    /// unless the server said the failure was temporary: the same exchange
    /// would be refused again, and every refusal counts towards the
    /// server's ban of our address.
    pub fn is_terminal(&self) -> bool {
        use xmpp_parsers::sasl::DefinedCondition as Sasl;
        use xmpp_parsers::stream_error::DefinedCondition as Stream;
        match self {
            Self::Authentication { refusal, .. } => !matches!(
                refusal,
                LoginRefusal::Sasl(Sasl::TemporaryAuthFailure | Sasl::Aborted)
            ),
            Self::Certificate { .. }
            | Self::CertificateChanged { .. }
            | Self::NoStartTls { .. }
            | Self::CaFile { .. } => true,
            Self::Stream { condition, .. } => matches!(
                condition,
                Stream::Conflict
                    | Stream::NotAuthorized
                    | Stream::PolicyViolation
                    | Stream::HostUnknown
            ),
            _ => false,
        }
    }
}

/// What to do about an untrusted certificate: check and trust the one
/// offered, or give the CA that signed it. Frontends add how.
fn untrusted_advice(fingerprint: Option<&str>) -> String {
    match fingerprint {
        Some(fingerprint) => format!(
            "; if this is your server, check with its administrator that its certificate's fingerprint is {fingerprint}, then trust that certificate, or give the certificate of the authority that signed it (or the server's own certificate) as the account's CA file"
        ),
        None => "; if you run this server, give the certificate of the authority that signed its certificate as the account's CA file".to_owned(),
    }
}

pub(crate) fn server_said(text: Option<&str>) -> String {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        Some(text) => format!(" (the server said: \"{text}\")"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_errors_say_what_to_do_and_stay_terminal() {
        let fp = "SHA256:AB:CD";
        let untrusted = SessionError::Certificate {
            host: "example.org".into(),
            account: "a@example.org".into(),
            detail: "it is signed by an authority this computer does not know".into(),
            fingerprint: Some(fp.into()),
        };
        assert_eq!(
            untrusted.to_string(),
            "the certificate of example.org is not trusted: it is signed by an authority this \
             computer does not know; if this is your server, check with its administrator that \
             its certificate's fingerprint is SHA256:AB:CD, then trust that certificate, or give \
             the certificate of the authority that signed it (or the server's own certificate) \
             as the account's CA file"
        );
        assert_eq!(untrusted.fingerprint(), Some(fp));
        let changed = SessionError::CertificateChanged {
            host: "example.org".into(),
            account: "a@example.org".into(),
            pinned: "SHA256:01".into(),
            offered: fp.into(),
        };
        assert_eq!(
            changed.to_string(),
            "the certificate of example.org changed: trusted SHA256:01, offered now SHA256:AB:CD; \
             this happens when the server renews its certificate, and also when someone \
             intercepts the connection: check the new fingerprint with the server's \
             administrator before trusting it"
        );
        assert_eq!(changed.fingerprint(), Some(fp));
        for error in [&untrusted, &changed] {
            assert!(error.is_terminal());
            assert_eq!(error.kind(), FailureKind::Certificate);
            assert!(!error.to_string().contains("wimsyctl"));
        }
        let unverified = SessionError::Certificate {
            host: "example.org".into(),
            account: "a@example.org".into(),
            detail: "its signature does not verify".into(),
            fingerprint: None,
        };
        assert!(
            unverified.to_string().ends_with("as the account's CA file"),
            "{unverified}"
        );
        assert_eq!(unverified.fingerprint(), None);
    }

    #[test]
    fn every_other_error_reads_as_words() {
        let errors = [
            SessionError::Resolve {
                host: "example.org".into(),
                detail: "its name has no address".into(),
            },
            SessionError::Tcp {
                addr: "127.0.0.1:5222".into(),
                source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
            },
            SessionError::Timeout {
                step: "connecting and logging in",
                after: Duration::from_secs(20),
            },
            SessionError::NoStartTls {
                host: "example.org".into(),
            },
            SessionError::CaFile {
                path: "/tmp/ca.pem".into(),
                detail: "there is no such file".into(),
            },
            SessionError::Closed,
        ];
        for error in errors {
            let text = error.to_string();
            for bad in ["Other(", "http", "::", "{", "wimsyctl", "os error", "Kind("] {
                assert!(!text.contains(bad), "{bad:?} in {text}");
            }
        }
    }
}
