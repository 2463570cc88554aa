//! Shared real-server harness for Wimsy's end-to-end tests: the two major
//! XMPP servers, from Debian, private to the test.
//!
//! [`Prosody`] runs a private Prosody 0.12 (`/usr/bin/prosody`) and
//! [`Ejabberd`] a private ejabberd 23.01 (`ejabberdctl foreground`, as the
//! `ejabberd` user) on a free 127.0.0.1 port, with everything (config, data,
//! logs, TLS material) in its own temporary directory. TLS uses a test CA
//! generated in process; clients trust `ca_file()`. Nothing outside that
//! directory and 127.0.0.1 is touched: the system configs and the packaged
//! services are never used, and s2s is disabled so a server never resolves
//! or contacts a remote domain.
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! let server = wimsy_testkit::Prosody::builder()
//!     .account("alice", "alice-pw")
//!     .account("bob", "bob-pw")
//!     .hibernation_secs(5)
//!     .start()?;
//! let addr = server.server(); // "127.0.0.1:PORT"
//! let jid = server.jid("alice"); // "alice@localhost"
//! # let _ = (addr, jid);
//! # Ok(())
//! # }
//! ```
//!
//! A test written once for both servers takes a [`ServerKind`] (see
//! [`both_servers!`]) and talks to either through [`XmppServer`]. A test
//! that leaves the server as it found it uses the instance shared by its
//! test binary, [`ServerKind::shared`], with accounts of its own from
//! [`XmppServer::new_account`]; ejabberd takes seconds to start, so this is
//! the default there. A test that stops, restarts or freezes the server
//! starts a private one ([`ServerKind::start`] or a builder).
//!
//! ```no_run
//! use wimsy_testkit::{ServerKind, XmppServer};
//! # fn main() -> anyhow::Result<()> {
//! let server = ServerKind::Ejabberd.shared()?;
//! let alice = server.new_account("alice")?; // alice-N@localhost, unique
//! assert!(server.check_login(&alice.user, &alice.password)?);
//!
//! let mut private = ServerKind::Ejabberd.builder().resume_secs(5).start()?;
//! private.freeze()?;
//! private.thaw()?;
//! # Ok(())
//! # }
//! ```
//!
//! Every instance is killed and its directory removed when it is dropped,
//! and, through a watchdog, at once if the test process dies without
//! dropping it (the shared instances, never dropped, go that way when the
//! test binary exits). Set `WIMSY_TESTKIT_KEEP=1` to keep an instance's
//! directory (and its log) after the test; its path is printed to stderr
//! on drop.
//!
//! Prosody config choices worth knowing in tests:
//! - modules: roster, saslauth, tls, disco, carbons, smacks, mam (every 1:1
//!   chat archived, never expired), csi_simple, ping, blocklist, plus the
//!   auto-loaded presence/message/iq/offline/c2s/posix; s2s is disabled, so
//!   a stanza to another domain bounces at once with `not-allowed`;
//! - `network_settings = { nagle = false; shutdown_deadline = 0.2 }`: no
//!   delayed-ACK stalls, and a stop with clients connected takes ~0.2 s
//!   instead of ~1 s (connections still get their `system-shutdown` error
//!   first);
//! - a helper module (`mod_wimsy_testkit`) logs when the server is ready and
//!   shuts the server down if the process that started it dies without
//!   dropping it (`wimsy_testkit_watchdog = false` in
//!   [`ProsodyBuilder::extra_config`] turns that off).
//!
//! ejabberd's, in the same spirit:
//! - modules: admin_extra (for ejabberdctl), blocking (with privacy, which
//!   23.01 needs for it), carboncopy, client_state, disco, mam (`default:
//!   always`, Mnesia), offline, ping, roster (versioning), stream_mgmt
//!   (`resume_timeout`, unacked stanzas to offline storage on timeout);
//!   more with [`EjabberdBuilder::module`]. `s2s_access: none`: a stanza
//!   to another domain bounces at once with `forbidden`;
//! - passwords stored as SCRAM; it offers PLAIN, SCRAM-SHA-1-PLUS (whose
//!   channel binding is `tls-unique` only, which does not exist on TLS
//!   1.3) and SCRAM-SHA-1; DIGEST-MD5 and X-OAUTH2 are withheld as in
//!   Debian's config, and [`EjabberdBuilder::disable_sasl_mechanism`]
//!   withholds more (Prosody 0.12 here offers PLAIN and SCRAM-SHA-1 only;
//!   `sasl_mechanisms()` on either tells);
//! - no shaper, no fail2ban (tests fail logins on purpose); idle Erlang
//!   schedulers do not busy-wait;
//! - start to ready takes 2-3 s alone and about 5 s beside other starts on
//!   2 cores; a clean stop about 1 s; `ejabberdctl` calls (register,
//!   change_password) about 0.5 s each.
//!
//! The client side has its harness too: [`Wimsyd`] runs the real `wimsyd`
//! binary with private directories, socket and log, for the end-to-end
//! tests and `cargo xtask bench` alike; [`Wimsy`] runs the `wimsy` window
//! with its test hooks on a private X server, [`Xvfb`], which [`X11`]
//! types into, photographs and closes as a person would.

mod bus;
mod ejabberd;
mod gui;
mod login;
mod netns;
mod process;
mod prosody;
mod server;
mod tls;
mod wimsyd;
mod x11;

pub use bus::SessionBus;
pub use ejabberd::{Ejabberd, EjabberdBuilder};
pub use gui::{Hook, HookLine, Wimsy, WimsyCommand};
pub use netns::NetNs;
pub use process::{KillOnDrop, free_loopback_port, wait_until};
pub use prosody::{Prosody, ProsodyBuilder};
pub use server::{Account, ServerBuilder, ServerKind, XmppServer};
pub use tls::untrusted_ca_file;
pub use wimsyd::{Wimsyd, WimsydBuilder, log_tail as wimsyd_log_tail};
pub use x11::{Frames, Screenshots, X11, Xvfb, named_keysym, save_argb_png};

/// The only virtual host of every instance.
pub const DOMAIN: &str = "localhost";
