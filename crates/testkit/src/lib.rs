//! Shared real-server harness for Wimsy's end-to-end tests.
//!
//! [`Prosody`] runs a private Prosody 0.12 (`/usr/bin/prosody`) on a free
//! 127.0.0.1 port, with everything (config, data, pidfile, logs, TLS
//! material) in its own temporary directory. TLS uses a test CA generated in
//! process; clients trust [`Prosody::ca_file`]. Nothing outside that
//! directory and 127.0.0.1 is touched: the system config and the system
//! instance are never used, and s2s is disabled so the server never
//! resolves or contacts a remote domain.
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
//! Set `WIMSY_TESTKIT_KEEP=1` to keep an instance's directory (and its log)
//! after the test; its path is printed to stderr on drop.
//!
//! Config choices worth knowing in tests:
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

mod login;
mod netns;
mod process;
mod prosody;
mod tls;

pub use netns::NetNs;
pub use process::{free_loopback_port, wait_until};
pub use prosody::{Prosody, ProsodyBuilder};
pub use tls::untrusted_ca_file;

/// The only virtual host of every instance.
pub const DOMAIN: &str = "localhost";
