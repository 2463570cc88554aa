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

/// A failed connection attempt or stream.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The host name could not be resolved.
    #[error("could not resolve {host}: {detail}")]
    Resolve {
        /// The name looked up.
        host: String,
        /// What the resolver said.
        detail: String,
    },
    /// TCP connect failed.
    #[error("could not connect to {addr}: {source}")]
    Tcp {
        /// The address dialled.
        addr: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A step took too long.
    #[error("{step} timed out after {} s", after.as_secs_f32())]
    Timeout {
        /// The step.
        step: &'static str,
        /// The limit.
        after: Duration,
    },
    /// The server does not offer STARTTLS; we never talk in plaintext.
    #[error("{host} does not offer STARTTLS; Wimsy only connects with TLS")]
    NoStartTls {
        /// The server.
        host: String,
    },
    /// The certificate chain did not verify.
    #[error(
        "the certificate of {host} is not trusted ({detail}); if you run this server, give its CA with --ca-file"
    )]
    Certificate {
        /// The server name checked.
        host: String,
        /// What rustls said.
        detail: String,
    },
    /// The extra CA file could not be used.
    #[error("could not use CA file {path}: {detail}")]
    CaFile {
        /// The file.
        path: String,
        /// Why.
        detail: String,
    },
    /// The server refused our credentials.
    #[error("authentication failed ({condition}): check the account's password")]
    Authentication {
        /// The SASL condition, e.g. `not-authorized`.
        condition: String,
    },
    /// The server closed the stream with an error.
    #[error("the server closed the stream: {condition}{}", text.as_deref().map(|t| format!(" ({t})")).unwrap_or_default())]
    Stream {
        /// The stream error condition, e.g. `conflict`.
        condition: String,
        /// The server's text, if any.
        text: Option<String>,
    },
    /// The connection broke.
    #[error("connection lost: {0}")]
    Io(#[from] std::io::Error),
    /// The server closed the stream without an error.
    #[error("the server closed the stream")]
    Closed,
    /// Something did not follow the protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
}

impl SessionError {
    /// The group this failure belongs to.
    pub fn kind(&self) -> FailureKind {
        match self {
            Self::Authentication { .. } => FailureKind::Authentication,
            Self::Certificate { .. } | Self::NoStartTls { .. } => FailureKind::Certificate,
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

    /// Retrying without the user's action cannot help: wrong password,
    /// untrusted certificate, another client took over the resource, or the
    /// server revoked our authorization.
    pub fn is_terminal(&self) -> bool {
        match self {
            Self::Authentication { .. }
            | Self::Certificate { .. }
            | Self::NoStartTls { .. }
            | Self::CaFile { .. } => true,
            Self::Stream { condition, .. } => matches!(
                condition.as_str(),
                "conflict" | "not-authorized" | "policy-violation" | "host-unknown"
            ),
            _ => false,
        }
    }
}
