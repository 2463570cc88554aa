//! What a session needs to know: the account and the timeouts.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use xmpp_parsers::jid::BareJid;

/// A password kept in memory; its `Debug` never shows it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Wrap a password.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Where to dial instead of the JID's domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerOverride {
    /// Host name or IP address.
    pub host: String,
    /// TCP port (5222 when not given).
    pub port: u16,
}

impl ServerOverride {
    /// Parse `host` or `host:port`.
    pub fn parse(value: &str) -> Result<Self, String> {
        let (host, port) = match value.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') || host.starts_with('[') => {
                let port = port
                    .parse::<u16>()
                    .map_err(|_| format!("invalid port {port:?} in server {value:?}"))?;
                (host.trim_matches(['[', ']']), port)
            }
            _ => (value, 5222),
        };
        if host.is_empty() {
            return Err(format!("server {value:?} has no host"));
        }
        if !is_host(host) {
            return Err(format!(
                "server {value:?}: {host:?} is neither an IP address nor a host name \
                 (write an IPv6 address with a port as [::1]:5222)"
            ));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
        })
    }
}

/// An IP address, or a DNS name made of letters, digits, hyphens and dots
/// (underscores too, which some internal names use).
fn is_host(host: &str) -> bool {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    // A fully qualified name may end with a dot.
    let name = host.strip_suffix('.').unwrap_or(host);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

impl fmt::Display for ServerOverride {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// One account.
#[derive(Debug, Clone)]
pub struct AccountConfig {
    /// The account's bare JID.
    pub jid: BareJid,
    /// Its password.
    pub password: Password,
    /// Dial this instead of resolving the domain.
    pub server: Option<ServerOverride>,
    /// Extra CA certificates (PEM) trusted for this account only.
    pub ca_file: Option<PathBuf>,
    /// SHA-256 of the server's end-entity certificate (DER) the user
    /// accepted: with it, exactly that certificate is accepted and any
    /// other refused, and `ca_file` is not used.
    pub pinned_sha256: Option<[u8; 32]>,
    /// The resource to bind; the server picks one when `None`.
    pub resource: Option<String>,
}

/// How long each step may take. `Default` is tuned for a laptop; `tight()`
/// is for tests on loopback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP connect plus STARTTLS plus login plus bind.
    pub login: Duration,
    /// Silence on the stream before we probe it (XEP-0198 `<r/>` or a ping).
    pub idle_probe: Duration,
    /// How long a probe may go unanswered before the stream is dead.
    pub probe_answer: Duration,
    /// How long an IQ we sent may go unanswered.
    pub iq: Duration,
    /// Sending our closing presence and stream footer at disconnect.
    pub close: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            login: Duration::from_secs(30),
            // Probing every 4 minutes keeps NAT mappings alive and costs a
            // wake-up rarely enough for a laptop; a dead socket is noticed
            // within 4.5 minutes even with no traffic at all.
            idle_probe: Duration::from_secs(240),
            probe_answer: Duration::from_secs(20),
            iq: Duration::from_secs(60),
            close: Duration::from_secs(3),
        }
    }
}

impl Timeouts {
    /// Short timeouts for tests against a server on loopback.
    pub fn tight() -> Self {
        Self {
            login: Duration::from_secs(5),
            idle_probe: Duration::from_secs(3),
            // Seconds, not the default's twenty, but not so few that a
            // 2-core machine running the whole suite stalls a loopback
            // server past it and tests that count resumes see extra ones
            // (a test that wants them passes `--probe-answer-ms`).
            probe_answer: Duration::from_secs(4),
            iq: Duration::from_secs(10),
            close: Duration::from_secs(2),
        }
    }
}

/// The reconnection policy's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first retry waits up to this long.
    pub initial: Duration,
    /// No retry waits longer than this.
    pub max: Duration,
    /// After failing for this long without a success, stop retrying and
    /// wait for a network change or the user.
    pub retry_window: Duration,
    /// A connection that lived shorter than this did not really work: its
    /// loss continues the backoff instead of restarting it, so a server
    /// that kicks us off at once is slowed down, not hammered.
    pub stable_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(300),
            retry_window: Duration::from_secs(30 * 60),
            // Long enough to tell "kicked off at once" from "worked, then a
            // server restart", short enough that a chat of a few seconds
            // counts as working.
            stable_after: Duration::from_secs(10),
        }
    }
}

impl Backoff {
    /// Short waits for tests.
    pub fn tight() -> Self {
        Self {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
            retry_window: Duration::from_secs(60),
            stable_after: Duration::from_secs(2),
        }
    }
}

/// Everything that tunes a session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionConfig {
    /// Step timeouts.
    pub timeouts: Timeouts,
    /// Retry waits.
    pub backoff: Backoff,
    /// The host confirms every [`SessionEvent::Messages`](crate::SessionEvent::Messages)
    /// batch it stored ([`SessionHandle::stored`](crate::SessionHandle::stored)), and
    /// the count of stanzas we tell the server we handled (XEP-0198 `h`,
    /// in `<a/>` and when resuming) stops before the first message of the
    /// oldest batch not confirmed. So a crash before storing loses nothing
    /// the server was told we have: it keeps those stanzas and, when the
    /// stream is resumed, sends them again. Off: counted when read (for a
    /// host that keeps nothing).
    pub confirm_stored: bool,
}

impl SessionConfig {
    /// The preset for tests.
    pub fn tight() -> Self {
        Self {
            timeouts: Timeouts::tight(),
            backoff: Backoff::tight(),
            confirm_stored: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_override_parses_host_and_port() {
        assert_eq!(
            ServerOverride::parse("127.0.0.1:5300"),
            Ok(ServerOverride {
                host: "127.0.0.1".into(),
                port: 5300
            })
        );
        assert_eq!(
            ServerOverride::parse("example.org").map(|s| s.port),
            Ok(5222)
        );
        assert!(ServerOverride::parse("host:notaport").is_err());
        assert!(ServerOverride::parse(":5222").is_err());
        for bad in [
            "::::",
            "a b:5222",
            "a..b",
            ".",
            "[fe80::zz]:5222",
            "exa/mple.org",
        ] {
            assert!(ServerOverride::parse(bad).is_err(), "{bad}");
        }
        for good in [
            "::1",
            "[::1]:5223",
            "xmpp.example.org.",
            "my_host:5222",
            "10.0.0.1",
        ] {
            assert!(ServerOverride::parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn password_debug_is_redacted() {
        assert!(!format!("{:?}", Password::new("hunter2")).contains("hunter2"));
    }
}
