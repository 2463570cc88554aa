//! "A server" whatever its kind: the operations Prosody and ejabberd share,
//! so that an end-to-end test is written once and run on both
//! ([`both_servers!`](crate::both_servers)).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::{DOMAIN, Ejabberd, Prosody};

/// An account made by [`XmppServer::new_account`]: a name unique in this
/// process, so tests sharing one server never meet each other's accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The local part, e.g. `alice-7`.
    pub user: String,
    /// `user@localhost`.
    pub jid: String,
    /// Its password.
    pub password: String,
}

impl Account {
    pub(crate) fn unique(prefix: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let user = format!("{prefix}-{n}");
        Self {
            jid: format!("{user}@{DOMAIN}"),
            password: format!("{user}-pw"),
            user,
        }
    }
}

/// The two XMPP servers the tests run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerKind {
    /// Prosody 0.12 (Debian's `prosody`).
    Prosody,
    /// ejabberd 23.01 (Debian's `ejabberd`).
    Ejabberd,
}

impl ServerKind {
    /// Both kinds.
    pub const ALL: [ServerKind; 2] = [ServerKind::Prosody, ServerKind::Ejabberd];

    /// `"prosody"` or `"ejabberd"`.
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::Prosody => "prosody",
            ServerKind::Ejabberd => "ejabberd",
        }
    }

    /// A private instance with the defaults, for a test that stops,
    /// restarts or freezes it.
    pub fn start(self) -> anyhow::Result<Box<dyn XmppServer>> {
        self.builder().start()
    }

    /// A builder for a private instance, with the settings both kinds have.
    pub fn builder(self) -> ServerBuilder {
        ServerBuilder {
            kind: self,
            accounts: Vec::new(),
            resume_secs: None,
            start_timeout: None,
        }
    }

    /// The instance of this kind shared by every test of the test binary
    /// (see [`Prosody::shared`], [`Ejabberd::shared`]). Create accounts on
    /// it with [`XmppServer::new_account`]; never stop or freeze it.
    pub fn shared(self) -> anyhow::Result<&'static dyn XmppServer> {
        Ok(match self {
            ServerKind::Prosody => Prosody::shared()?,
            ServerKind::Ejabberd => Ejabberd::shared()?,
        })
    }
}

impl std::fmt::Display for ServerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Starts a private server of either kind; see [`ServerKind::builder`].
#[derive(Debug, Clone)]
pub struct ServerBuilder {
    kind: ServerKind,
    accounts: Vec<(String, String)>,
    resume_secs: Option<u64>,
    start_timeout: Option<Duration>,
}

impl ServerBuilder {
    /// An account `user@localhost`, there once the server has started.
    pub fn account(mut self, user: &str, password: &str) -> Self {
        self.accounts.push((user.to_owned(), password.to_owned()));
        self
    }

    /// How long a cut XEP-0198 session stays resumable (Prosody's
    /// `smacks_hibernation_time`, ejabberd's `resume_timeout`; 600 s by
    /// default on both).
    pub fn resume_secs(mut self, secs: u64) -> Self {
        self.resume_secs = Some(secs);
        self
    }

    /// How long the start may take (defaults: 10 s Prosody, 30 s ejabberd).
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = Some(timeout);
        self
    }

    /// Starts it.
    pub fn start(self) -> anyhow::Result<Box<dyn XmppServer>> {
        Ok(match self.kind {
            ServerKind::Prosody => {
                let mut b = Prosody::builder();
                for (user, password) in &self.accounts {
                    b = b.account(user, password);
                }
                if let Some(secs) = self.resume_secs {
                    b = b.hibernation_secs(secs);
                }
                if let Some(timeout) = self.start_timeout {
                    b = b.start_timeout(timeout);
                }
                Box::new(b.start()?)
            }
            ServerKind::Ejabberd => {
                let mut b = Ejabberd::builder();
                for (user, password) in &self.accounts {
                    b = b.account(user, password);
                }
                if let Some(secs) = self.resume_secs {
                    b = b.resume_timeout_secs(secs);
                }
                if let Some(timeout) = self.start_timeout {
                    b = b.start_timeout(timeout);
                }
                Box::new(b.start()?)
            }
        })
    }
}

/// What a test can do with a server of either kind. Both [`Prosody`] and
/// [`Ejabberd`] have these as inherent methods too; this trait is for code
/// that does not know which one it has (`Box<dyn XmppServer>` from
/// [`ServerKind::start`], `&'static dyn XmppServer` from
/// [`ServerKind::shared`]).
pub trait XmppServer: std::fmt::Debug + Send + Sync {
    /// Which server this is.
    fn kind(&self) -> ServerKind;

    /// The XMPP domain, `"localhost"`.
    fn domain(&self) -> &str {
        DOMAIN
    }

    /// The client-to-server port on 127.0.0.1 (STARTTLS required).
    fn port(&self) -> u16;

    /// `"127.0.0.1:PORT"`, for a client's host:port override.
    fn server(&self) -> String {
        format!("127.0.0.1:{}", self.port())
    }

    /// The server address as a `SocketAddr`.
    fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port()))
    }

    /// PEM of the test CA clients must trust.
    fn ca_file(&self) -> &Path;

    /// `"user@localhost"`.
    fn jid(&self, user: &str) -> String {
        format!("{user}@{DOMAIN}")
    }

    /// Registers `user@localhost`, or sets its password if it exists.
    fn register(&self, user: &str, password: &str) -> anyhow::Result<()>;

    /// Sets the password of an existing account.
    fn set_password(&self, user: &str, password: &str) -> anyhow::Result<()>;

    /// A new account whose name, made from `prefix`, is unique in this
    /// process (`alice` gives `alice-7`), registered now.
    fn new_account(&self, prefix: &str) -> anyhow::Result<Account> {
        let account = Account::unique(prefix);
        self.register(&account.user, &account.password)?;
        Ok(account)
    }

    /// A blocking STARTTLS + SASL PLAIN login: `Ok(true)` on success,
    /// `Ok(false)` when the server refuses the credentials.
    fn check_login(&self, user: &str, password: &str) -> anyhow::Result<bool>;

    /// The SASL mechanisms offered after STARTTLS, in the server's order.
    fn sasl_mechanisms(&self) -> anyhow::Result<Vec<String>>;

    /// The server's log so far.
    fn log(&self) -> String;

    /// The instance's temporary directory.
    fn dir(&self) -> &Path;

    /// The serving process's id while it runs (Prosody's process, or
    /// ejabberd's Erlang VM).
    fn pid(&self) -> Option<u32>;

    /// Clean stop (SIGTERM, wait); nothing if not running.
    fn stop(&mut self) -> anyhow::Result<()>;

    /// Starts it again after `stop`, same port and data.
    fn start_again(&mut self) -> anyhow::Result<()>;

    /// `stop` then `start_again`.
    fn restart(&mut self) -> anyhow::Result<()> {
        self.stop()?;
        self.start_again()
    }

    /// SIGSTOP to the serving process.
    fn freeze(&self) -> anyhow::Result<()>;

    /// SIGCONT, undoing `freeze`.
    fn thaw(&self) -> anyhow::Result<()>;

    /// Whether the server process is running.
    fn is_running(&mut self) -> bool;
}

/// The trait's methods forwarded to the inherent ones of the same name.
macro_rules! forward_xmpp_server {
    ($ty:ty, $kind:expr) => {
        impl XmppServer for $ty {
            fn kind(&self) -> ServerKind {
                $kind
            }
            fn port(&self) -> u16 {
                <$ty>::port(self)
            }
            fn ca_file(&self) -> &Path {
                <$ty>::ca_file(self)
            }
            fn register(&self, user: &str, password: &str) -> anyhow::Result<()> {
                <$ty>::register(self, user, password)
            }
            fn set_password(&self, user: &str, password: &str) -> anyhow::Result<()> {
                <$ty>::set_password(self, user, password)
            }
            fn check_login(&self, user: &str, password: &str) -> anyhow::Result<bool> {
                <$ty>::check_login(self, user, password)
            }
            fn sasl_mechanisms(&self) -> anyhow::Result<Vec<String>> {
                <$ty>::sasl_mechanisms(self)
            }
            fn log(&self) -> String {
                <$ty>::log(self)
            }
            fn dir(&self) -> &Path {
                <$ty>::dir(self)
            }
            fn pid(&self) -> Option<u32> {
                <$ty>::pid(self)
            }
            fn stop(&mut self) -> anyhow::Result<()> {
                <$ty>::stop(self)
            }
            fn start_again(&mut self) -> anyhow::Result<()> {
                <$ty>::start_again(self)
            }
            fn freeze(&self) -> anyhow::Result<()> {
                <$ty>::freeze(self)
            }
            fn thaw(&self) -> anyhow::Result<()> {
                <$ty>::thaw(self)
            }
            fn is_running(&mut self) -> bool {
                <$ty>::is_running(self)
            }
        }
    };
}

forward_xmpp_server!(Prosody, ServerKind::Prosody);
forward_xmpp_server!(Ejabberd, ServerKind::Ejabberd);

/// Writes a test once and runs it on both servers: each function becomes a
/// module of that name holding two tests, `prosody` and `ejabberd`, which
/// call the body with [`ServerKind::Prosody`] and [`ServerKind::Ejabberd`].
/// The attributes (`#[tokio::test]`, `#[test]`, `#[ignore]`, ...) go on both
/// tests; `async fn` and plain `fn` both work, returning `()` or a
/// `Result`. `cargo test login_works` runs both, `cargo test
/// login_works::ejabberd` one, `cargo test ejabberd` every ejabberd variant.
///
/// ```
/// use wimsy_testkit::{ServerKind, XmppServer, both_servers};
///
/// both_servers! {
///     /// Doc comments and attributes are kept.
///     #[test]
///     fn login_works(kind: ServerKind) {
///         let server = kind.shared().unwrap();
///         let alice = server.new_account("alice").unwrap();
///         assert!(server.check_login(&alice.user, &alice.password).unwrap());
///     }
///
///     #[tokio::test]
///     async fn restart_keeps_accounts(kind: ServerKind) -> anyhow::Result<()> {
///         let mut server = kind.start()?; // private: this test restarts it
///         let bob = server.new_account("bob")?;
///         server.restart()?;
///         assert!(server.check_login(&bob.user, &bob.password)?);
///         Ok(())
///     }
/// }
/// # fn main() {}
/// ```
// The example shows how tests use it; as a doctest it is only compiled.
#[allow(clippy::test_attr_in_doctest)]
#[macro_export]
macro_rules! both_servers {
    () => {};
    (
        $(#[$attr:meta])*
        async fn $name:ident($kind:ident : $kty:ty $(,)?) $(-> $ret:ty)? $body:block
        $($rest:tt)*
    ) => {
        // Test code, as the functions would be without the macro.
        #[allow(unused_imports, clippy::unwrap_used)]
        mod $name {
            use super::*;

            async fn __both_servers_body($kind: $kty) $(-> $ret)? $body

            $(#[$attr])*
            async fn prosody() $(-> $ret)? {
                __both_servers_body($crate::ServerKind::Prosody).await
            }

            $(#[$attr])*
            async fn ejabberd() $(-> $ret)? {
                __both_servers_body($crate::ServerKind::Ejabberd).await
            }
        }
        $crate::both_servers! { $($rest)* }
    };
    (
        $(#[$attr:meta])*
        fn $name:ident($kind:ident : $kty:ty $(,)?) $(-> $ret:ty)? $body:block
        $($rest:tt)*
    ) => {
        // Test code, as the functions would be without the macro.
        #[allow(unused_imports, clippy::unwrap_used)]
        mod $name {
            use super::*;

            fn __both_servers_body($kind: $kty) $(-> $ret)? $body

            $(#[$attr])*
            fn prosody() $(-> $ret)? {
                __both_servers_body($crate::ServerKind::Prosody)
            }

            $(#[$attr])*
            fn ejabberd() $(-> $ret)? {
                __both_servers_body($crate::ServerKind::Ejabberd)
            }
        }
        $crate::both_servers! { $($rest)* }
    };
}
