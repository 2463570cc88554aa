//! XMPP conditions and I/O errors in the words a person reads, each from
//! its typed enum (never from a `Debug` string). The XMPP spelling of a
//! stream condition stays available for logs and code that matches on it.

use std::io;

use minidom::Element;
use xmpp_parsers::sasl::DefinedCondition as Sasl;
use xmpp_parsers::stanza_error::DefinedCondition as Stanza;
use xmpp_parsers::stream_error::{DefinedCondition as Stream, ReceivedStreamError, StreamError};

use crate::error::{LoginRefusal, SessionError};

/// The longest server-supplied text we repeat.
const TEXT_LIMIT: usize = 200;

pub(crate) fn stream_error(error: &StreamError) -> SessionError {
    tracing::debug!(condition = stream_name(&error.condition), "stream error");
    SessionError::Stream {
        condition: error.condition.clone(),
        text: error.texts.values().next().map(|t| limited(t)),
    }
}

pub(crate) fn stream_error_element(el: Element) -> SessionError {
    match ReceivedStreamError::try_from(el) {
        Ok(error) => stream_error(&error.0),
        Err(_) => SessionError::Stream {
            condition: Stream::UndefinedCondition,
            text: None,
        },
    }
}

/// Server text, trimmed and cut to a readable length.
pub(crate) fn limited(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(TEXT_LIMIT) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

/// The XMPP spelling of a stream condition (RFC 6120 §4.9.3), for logs.
pub(crate) fn stream_name(condition: &Stream) -> &'static str {
    match condition {
        Stream::BadFormat => "bad-format",
        Stream::BadNamespacePrefix => "bad-namespace-prefix",
        Stream::Conflict => "conflict",
        Stream::ConnectionTimeout => "connection-timeout",
        Stream::HostGone => "host-gone",
        Stream::HostUnknown => "host-unknown",
        Stream::ImproperAddressing => "improper-addressing",
        Stream::InternalServerError => "internal-server-error",
        Stream::InvalidFrom => "invalid-from",
        Stream::InvalidNamespace => "invalid-namespace",
        Stream::InvalidXml => "invalid-xml",
        Stream::NotAuthorized => "not-authorized",
        Stream::NotWellFormed => "not-well-formed",
        Stream::PolicyViolation => "policy-violation",
        Stream::RemoteConnectionFailed => "remote-connection-failed",
        Stream::Reset => "reset",
        Stream::ResourceConstraint => "resource-constraint",
        Stream::RestrictedXml => "restricted-xml",
        Stream::SeeOtherHost(_) => "see-other-host",
        Stream::SystemShutdown => "system-shutdown",
        Stream::UndefinedCondition => "undefined-condition",
        Stream::UnsupportedEncoding => "unsupported-encoding",
        Stream::UnsupportedFeature => "unsupported-feature",
        Stream::UnsupportedStanzaType => "unsupported-stanza-type",
        Stream::UnsupportedVersion => "unsupported-version",
    }
}

/// Why the server closed the stream, and what to do when it is not obvious.
pub(crate) fn stream_words(condition: &Stream) -> &'static str {
    match condition {
        Stream::Conflict => {
            "another client logged in to this account with the same resource and took over; connect again to take it back"
        }
        Stream::ConnectionTimeout => "the connection was idle for too long",
        Stream::HostGone => "the server no longer serves this account's domain",
        Stream::HostUnknown => {
            "the server does not serve this account's domain: check the account's address and server"
        }
        Stream::InternalServerError => "the server had an internal error",
        Stream::NotAuthorized => {
            "the server no longer accepts this login (the password may have changed or the account may have been removed): check the account's password"
        }
        Stream::PolicyViolation => {
            "the server says this connection broke one of its rules (for instance by sending too much too fast)"
        }
        Stream::RemoteConnectionFailed => "the server could not reach a service it needs",
        Stream::Reset => "the server reset the connection",
        Stream::ResourceConstraint => "the server is too busy",
        Stream::SeeOtherHost(_) => "the server asked us to use another server",
        Stream::SystemShutdown => "the server is shutting down",
        Stream::UndefinedCondition => "the server gave no reason",
        Stream::BadFormat
        | Stream::BadNamespacePrefix
        | Stream::ImproperAddressing
        | Stream::InvalidFrom
        | Stream::InvalidNamespace
        | Stream::InvalidXml
        | Stream::NotWellFormed
        | Stream::RestrictedXml
        | Stream::UnsupportedEncoding
        | Stream::UnsupportedFeature
        | Stream::UnsupportedStanzaType
        | Stream::UnsupportedVersion => {
            "the server could not understand what Wimsy sent (a protocol error in Wimsy or in the server)"
        }
    }
}

/// Why the server or the recipient's server refused a stanza (a bounced
/// message, a refused request).
pub(crate) fn stanza_words(condition: &Stanza) -> &'static str {
    match condition {
        Stanza::BadRequest => "the server could not understand the request",
        Stanza::Conflict => "it conflicts with something that already exists",
        Stanza::FeatureNotImplemented => "the recipient does not support this",
        Stanza::Forbidden => "you are not allowed to do this",
        Stanza::Gone { .. } => "the recipient's address no longer exists",
        Stanza::InternalServerError => "the server had an internal error",
        Stanza::ItemNotFound => "the recipient does not exist",
        Stanza::JidMalformed => "the recipient's address is not valid",
        Stanza::NotAcceptable => "the server did not accept it",
        Stanza::NotAllowed => "the server does not allow this",
        Stanza::NotAuthorized => "you are not authorized to do this",
        Stanza::PolicyViolation => "it breaks one of the server's rules",
        Stanza::RecipientUnavailable => "the recipient is not available",
        Stanza::Redirect { .. } => "the recipient has moved to another address",
        Stanza::RegistrationRequired => "you must register with the recipient's service first",
        Stanza::RemoteServerNotFound => "the recipient's server could not be found",
        Stanza::RemoteServerTimeout => "the recipient's server did not answer in time",
        Stanza::ResourceConstraint => "the server is too busy",
        Stanza::ServiceUnavailable => "the recipient's server does not offer this service",
        Stanza::SubscriptionRequired => {
            "the recipient accepts this only from contacts who share presence with them"
        }
        Stanza::UndefinedCondition => "the server refused it without saying why",
        Stanza::UnexpectedRequest => "the server did not expect this request now",
    }
}

/// Why the login failed and what to do; never blames the password for
/// what is not about the password.
pub(crate) fn login_words(refusal: &LoginRefusal, bound: bool, text: Option<&str>) -> String {
    let words = match refusal {
        LoginRefusal::Sasl(Sasl::NotAuthorized) if bound => {
            "the server refused the login: the user name or password is wrong, or the connection's channel binding did not match (something between you and the server may be intercepting it): check the user name and password"
        }
        LoginRefusal::Sasl(Sasl::NotAuthorized) => {
            "the server refused the user name or password: check them"
        }
        LoginRefusal::Sasl(Sasl::AccountDisabled) => {
            "the server says this account is disabled: ask the server's administrator"
        }
        LoginRefusal::Sasl(Sasl::CredentialsExpired) => {
            "the server says the password has expired: set a new one with the server, then give it to the account"
        }
        LoginRefusal::Sasl(Sasl::EncryptionRequired) => {
            "the server wants an encrypted connection for this login although the connection is encrypted: ask the server's administrator"
        }
        LoginRefusal::Sasl(
            Sasl::IncorrectEncoding
            | Sasl::InvalidAuthzid
            | Sasl::InvalidMechanism
            | Sasl::MalformedRequest,
        ) if bound => {
            "the server refused the login's channel binding, which is not about the password: something between you and the server may be intercepting the connection, or the server computes channel binding differently; ask the server's administrator"
        }
        LoginRefusal::Sasl(
            Sasl::IncorrectEncoding
            | Sasl::InvalidAuthzid
            | Sasl::InvalidMechanism
            | Sasl::MalformedRequest,
        ) => {
            "the server could not understand the login request, which is not about the password (a protocol error in Wimsy or in the server): ask the server's administrator"
        }
        LoginRefusal::Sasl(Sasl::MechanismTooWeak) => {
            "the server wants a stronger login method than the ones it offers, which is not about the password: ask the server's administrator"
        }
        LoginRefusal::Sasl(Sasl::TemporaryAuthFailure) => {
            "the server could not check the password just now (a temporary problem on its side)"
        }
        LoginRefusal::Sasl(Sasl::Aborted) => "the server aborted the login",
        LoginRefusal::NoMechanism => {
            "the server offers no login method Wimsy can use safely (SCRAM, or PLAIN on a server without SCRAM): ask the server's administrator"
        }
        LoginRefusal::ServerUnproven => {
            "the server could not prove that it knows the account's password, so it may not be the real server: not logging in"
        }
        LoginRefusal::BadChallenge => {
            "the server's login answer could not be read (a protocol error in the server): ask the server's administrator"
        }
        LoginRefusal::ClientFailed => {
            "could not start the login: this computer gave no random numbers"
        }
    };
    // Servers explain a wrong password in their own jargon ("the response
    // provided by the client doesn't match..."): our words say it all.
    let text = match refusal {
        LoginRefusal::Sasl(Sasl::NotAuthorized) => None,
        _ => text,
    };
    format!("{words}{}", crate::error::server_said(text))
}

/// An I/O error in words, by its kind and, for the XML parser and TLS,
/// by the error inside it.
pub(crate) fn io_words(error: &io::Error) -> String {
    use io::ErrorKind as K;
    if let Some(inner) = error.get_ref() {
        if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
            return crate::tls::tls_words(tls);
        }
        if let Some(xml) = inner.downcast_ref::<rxml::Error>() {
            return match xml {
                rxml::Error::InvalidEof(_) => {
                    "the server closed the connection in the middle of the stream (it may have stopped or restarted)".to_owned()
                }
                _ => "the server sent data that is not valid XML".to_owned(),
            };
        }
    }
    match error.kind() {
        // rustls reports a close without TLS's close_notify as this kind.
        K::UnexpectedEof => {
            "the server closed the connection without ending the stream (it may have stopped or restarted)"
        }
        K::ConnectionReset => "the connection was reset (by the server or the network)",
        K::ConnectionAborted => "the connection was aborted on this computer",
        K::ConnectionRefused => "the server refused the connection (nothing listens on that port)",
        K::TimedOut => "the connection timed out",
        K::BrokenPipe => "the connection was closed while Wimsy was sending",
        K::NotConnected => "the connection is not open",
        K::NetworkUnreachable | K::NetworkDown => "the network is unreachable",
        K::HostUnreachable => "the server's address is unreachable",
        K::AddrNotAvailable => "this computer has no address to connect from",
        K::InvalidData => "the server sent data Wimsy cannot read",
        K::PermissionDenied => "this computer's firewall or settings do not allow the connection",
        K::OutOfMemory => "this computer ran out of memory",
        _ => "the connection failed",
    }
    .to_owned()
}

/// What a failed `tokio_xmpp` DNS lookup means, in words.
pub(crate) fn resolve_words(error: &tokio_xmpp::Error) -> String {
    match error {
        tokio_xmpp::Error::Io(e) => io_words(e),
        tokio_xmpp::Error::Disconnected => "none of the servers its DNS names answered".to_owned(),
        _ => "its name could not be looked up in DNS: check the domain and the network".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a person must never read.
    pub(crate) fn assert_readable(text: &str) {
        for bad in ["Other(", "http", "::", "{", "}", "Error", "os error"] {
            assert!(!text.contains(bad), "{bad:?} in {text:?}");
        }
        assert!(!text.is_empty());
        assert!(!text.ends_with('.'), "{text:?}");
    }

    fn all_stream() -> Vec<Stream> {
        vec![
            Stream::BadFormat,
            Stream::BadNamespacePrefix,
            Stream::Conflict,
            Stream::ConnectionTimeout,
            Stream::HostGone,
            Stream::HostUnknown,
            Stream::ImproperAddressing,
            Stream::InternalServerError,
            Stream::InvalidFrom,
            Stream::InvalidNamespace,
            Stream::InvalidXml,
            Stream::NotAuthorized,
            Stream::NotWellFormed,
            Stream::PolicyViolation,
            Stream::RemoteConnectionFailed,
            Stream::Reset,
            Stream::ResourceConstraint,
            Stream::RestrictedXml,
            Stream::SeeOtherHost("other.example".into()),
            Stream::SystemShutdown,
            Stream::UndefinedCondition,
            Stream::UnsupportedEncoding,
            Stream::UnsupportedFeature,
            Stream::UnsupportedStanzaType,
            Stream::UnsupportedVersion,
        ]
    }

    #[test]
    fn stream_conditions_have_words_and_their_xmpp_names() {
        for condition in all_stream() {
            let error = SessionError::Stream {
                condition: condition.clone(),
                text: None,
            };
            assert_readable(&error.to_string());
            // The name is the one xmpp-parsers writes on the wire.
            let wire = condition.to_string();
            assert!(wire.starts_with(stream_name(&condition)), "{wire}");
        }
        let conflict = SessionError::Stream {
            condition: Stream::Conflict,
            text: Some("  Replaced by new connection ".into()),
        };
        assert_eq!(
            conflict.to_string(),
            "the server closed the connection: another client logged in to this account with \
             the same resource and took over; connect again to take it back (the server said: \
             \"Replaced by new connection\")"
        );
        assert!(conflict.is_terminal());
    }

    #[test]
    fn stanza_conditions_have_words() {
        for condition in [
            Stanza::BadRequest,
            Stanza::Conflict,
            Stanza::FeatureNotImplemented,
            Stanza::Forbidden,
            Stanza::Gone { new_address: None },
            Stanza::InternalServerError,
            Stanza::ItemNotFound,
            Stanza::JidMalformed,
            Stanza::NotAcceptable,
            Stanza::NotAllowed,
            Stanza::NotAuthorized,
            Stanza::PolicyViolation,
            Stanza::RecipientUnavailable,
            Stanza::Redirect { new_address: None },
            Stanza::RegistrationRequired,
            Stanza::RemoteServerNotFound,
            Stanza::RemoteServerTimeout,
            Stanza::ResourceConstraint,
            Stanza::ServiceUnavailable,
            Stanza::SubscriptionRequired,
            Stanza::UndefinedCondition,
            Stanza::UnexpectedRequest,
        ] {
            assert_readable(stanza_words(&condition));
        }
        assert_eq!(
            stanza_words(&Stanza::RemoteServerNotFound),
            "the recipient's server could not be found"
        );
    }

    #[test]
    fn login_failures_say_whether_the_password_is_to_blame() {
        let all = [
            Sasl::Aborted,
            Sasl::AccountDisabled,
            Sasl::CredentialsExpired,
            Sasl::EncryptionRequired,
            Sasl::IncorrectEncoding,
            Sasl::InvalidAuthzid,
            Sasl::InvalidMechanism,
            Sasl::MalformedRequest,
            Sasl::MechanismTooWeak,
            Sasl::NotAuthorized,
            Sasl::TemporaryAuthFailure,
        ];
        let mut refusals: Vec<LoginRefusal> = all.into_iter().map(LoginRefusal::Sasl).collect();
        refusals.extend([
            LoginRefusal::NoMechanism,
            LoginRefusal::ServerUnproven,
            LoginRefusal::BadChallenge,
            LoginRefusal::ClientFailed,
        ]);
        for refusal in refusals {
            for bound in [false, true] {
                let error = SessionError::Authentication {
                    refusal: refusal.clone(),
                    text: None,
                    bound,
                };
                let text = error.to_string();
                assert_readable(&text);
                let about_password = matches!(
                    refusal,
                    LoginRefusal::Sasl(Sasl::NotAuthorized | Sasl::CredentialsExpired)
                );
                assert_eq!(
                    text.contains("check the user name and password")
                        || text.contains("check them")
                        || text.contains("password has expired"),
                    about_password,
                    "{text}"
                );
            }
        }
        let wrong = SessionError::Authentication {
            refusal: LoginRefusal::Sasl(Sasl::NotAuthorized),
            text: None,
            bound: false,
        };
        assert_eq!(
            wrong.to_string(),
            "the server refused the user name or password: check them"
        );
        assert!(wrong.is_terminal());
        assert_eq!(wrong.kind(), crate::FailureKind::Authentication);
        let temporary = SessionError::Authentication {
            refusal: LoginRefusal::Sasl(Sasl::TemporaryAuthFailure),
            text: Some("database down".into()),
            bound: false,
        };
        assert!(!temporary.is_terminal());
        assert!(
            temporary
                .to_string()
                .ends_with("(the server said: \"database down\")")
        );
        let binding = SessionError::Authentication {
            refusal: LoginRefusal::Sasl(Sasl::MalformedRequest),
            text: None,
            bound: true,
        };
        assert!(binding.is_terminal());
        assert_eq!(binding.kind(), crate::FailureKind::Protocol);
        assert!(binding.to_string().contains("not about the password"));
    }

    #[test]
    fn io_errors_are_worded_by_kind_and_cause() {
        use io::ErrorKind as K;
        let close_notify = io::Error::new(
            K::UnexpectedEof,
            "peer closed connection without sending TLS close_notify: https://docs.rs/rustls/latest/rustls/manual/_03_howto/index.html#unexpected-eof",
        );
        let eof_in_text = io::Error::new(K::InvalidData, rxml::Error::InvalidEof(None));
        let tls = io::Error::new(K::InvalidData, rustls::Error::DecryptError);
        for error in [
            close_notify,
            eof_in_text,
            tls,
            io::Error::from(K::ConnectionReset),
            io::Error::from(K::ConnectionRefused),
            io::Error::from(K::TimedOut),
            io::Error::from(K::BrokenPipe),
            io::Error::from(K::NetworkUnreachable),
            io::Error::from(K::HostUnreachable),
            io::Error::from_raw_os_error(111),
            io::Error::other("something odd"),
        ] {
            let text = SessionError::Io(error).to_string();
            assert_readable(&text);
            assert!(text.starts_with("connection lost: "), "{text}");
        }
        assert_eq!(
            SessionError::Io(io::Error::new(
                K::InvalidData,
                rxml::Error::InvalidEof(None)
            ))
            .to_string(),
            "connection lost: the server closed the connection in the middle of the stream (it \
             may have stopped or restarted)"
        );
    }

    #[test]
    fn server_text_is_cut_to_a_readable_length() {
        let long = "x".repeat(1000);
        assert_eq!(limited(&long).chars().count(), TEXT_LIMIT + 3);
        assert_eq!(limited(" short "), "short");
    }
}
