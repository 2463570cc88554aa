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
    /// The certificate did not verify, and none is pinned.
    #[error(
        "the certificate of {host} is not trusted ({detail}){}",
        untrusted_advice(account, fingerprint.as_deref())
    )]
    Certificate {
        /// The server name checked.
        host: String,
        /// The account's bare JID, for the command that trusts the
        /// certificate.
        account: String,
        /// What rustls said.
        detail: String,
        /// The offered certificate's fingerprint (`SHA256:AB:...`), when
        /// the verification got to see it.
        fingerprint: Option<String>,
    },
    /// The server offered another certificate than the pinned one.
    #[error(
        "the certificate of {host} changed: pinned {pinned}, offered {offered}; if the server really changed its certificate, check the new fingerprint out of band, then `wimsyctl account trust {account} {offered}`"
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
    /// server revoked our authorization.
    pub fn is_terminal(&self) -> bool {
        match self {
            Self::Authentication { .. }
            | Self::Certificate { .. }
            | Self::CertificateChanged { .. }
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

/// What to do about an untrusted certificate: pin it once checked, or
/// give the CA that signed it.
fn untrusted_advice(account: &str, fingerprint: Option<&str>) -> String {
    match fingerprint {
        Some(fingerprint) => format!(
            "; if this is your server, check its fingerprint out of band, then trust it with `wimsyctl account trust {account} {fingerprint}`, or give its CA with --ca-file"
        ),
        None => "; if you run this server, give its CA with --ca-file".to_owned(),
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
            detail: "UnknownIssuer".into(),
            fingerprint: Some(fp.into()),
        };
        let text = untrusted.to_string();
        assert!(text.contains("not trusted (UnknownIssuer)"), "{text}");
        assert!(
            text.contains("`wimsyctl account trust a@example.org SHA256:AB:CD`"),
            "{text}"
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
            "the certificate of example.org changed: pinned SHA256:01, offered SHA256:AB:CD; \
             if the server really changed its certificate, check the new fingerprint out of \
             band, then `wimsyctl account trust a@example.org SHA256:AB:CD`"
        );
        assert_eq!(changed.fingerprint(), Some(fp));
        for error in [&untrusted, &changed] {
            assert!(error.is_terminal());
            assert_eq!(error.kind(), FailureKind::Certificate);
        }
        let unverified = SessionError::Certificate {
            host: "example.org".into(),
            account: "a@example.org".into(),
            detail: "BadSignature".into(),
            fingerprint: None,
        };
        assert!(
            unverified
                .to_string()
                .ends_with("give its CA with --ca-file")
        );
        assert_eq!(unverified.fingerprint(), None);
    }
}
