//! Configuring and first start of a [`Prosody`].

use std::fs;
use std::time::Duration;

use anyhow::{Context as _, anyhow};

use super::config::Paths;
use super::{DEFAULT_START_TIMEOUT, HELPER_MODULE, PORT_ATTEMPTS, Prosody};
use crate::login::{check_password, check_user};
use crate::process::{StartError, free_loopback_port, write_file};
use crate::tls::TestTls;

/// Configures and starts a [`Prosody`]; see [`Prosody::builder`].
#[derive(Debug, Clone)]
pub struct ProsodyBuilder {
    accounts: Vec<(String, String)>,
    hibernation_secs: u64,
    extra_config: String,
    start_timeout: Duration,
    netns: Option<String>,
}

impl Default for ProsodyBuilder {
    fn default() -> Self {
        Self {
            accounts: Vec::new(),
            hibernation_secs: 600,
            extra_config: String::new(),
            start_timeout: DEFAULT_START_TIMEOUT,
            netns: None,
        }
    }
}

impl ProsodyBuilder {
    /// An account `user@localhost` registered (with prosodyctl) before the
    /// server starts.
    pub fn account(mut self, user: &str, password: &str) -> Self {
        self.accounts.push((user.to_owned(), password.to_owned()));
        self
    }

    /// `smacks_hibernation_time`: how long a cut XEP-0198 session stays
    /// resumable (Prosody's default is 600 s).
    pub fn hibernation_secs(mut self, secs: u64) -> Self {
        self.hibernation_secs = secs;
        self
    }

    /// Lua appended to the global section of the config (before the
    /// `VirtualHost`). Later settings override the harness's own (a new
    /// `network_settings` replaces the whole table); do not redefine `log`,
    /// the interfaces or the port lists.
    pub fn extra_config(mut self, lua: &str) -> Self {
        self.extra_config.push_str(lua);
        self.extra_config.push('\n');
        self
    }

    /// Run the server inside network namespace `name` (see
    /// [`NetNs`](crate::NetNs)); it listens on that namespace's loopback.
    pub fn netns(mut self, name: &str) -> Self {
        self.netns = Some(name.to_owned());
        self
    }

    /// How long [`start`](Self::start) and [`Prosody::start_again`] wait for
    /// the server to be ready (default 10 s).
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = timeout;
        self
    }

    /// Creates the instance directory and TLS material, registers the
    /// accounts, and starts the server on a free loopback port (another
    /// port is tried if the chosen one was taken in the meantime).
    pub fn start(self) -> anyhow::Result<Prosody> {
        self.start_with_ports(free_loopback_port)
    }

    pub(super) fn start_with_ports(
        self,
        mut next_port: impl FnMut() -> u16,
    ) -> anyhow::Result<Prosody> {
        for (user, password) in &self.accounts {
            check_user(user)?;
            check_password(password)?;
        }
        let dir = tempfile::Builder::new()
            .prefix("wimsy-prosody-")
            .tempdir()
            .context("creating the instance's temporary directory")?;
        let root = dir.path().to_path_buf();
        let paths = Paths::new(&root);
        for d in [&paths.data_dir, &paths.certs_dir, &paths.plugins_dir] {
            fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
        }
        write_file(
            &paths.plugins_dir.join("mod_wimsy_testkit.lua"),
            HELPER_MODULE,
        )?;
        let tls = TestTls::generate()?;
        write_file(&paths.ca_file, &tls.ca_pem)?;
        write_file(&paths.cert_file, &tls.leaf_pem)?;
        write_file(&paths.key_file, &tls.leaf_key_pem)?;

        let mut prosody = Prosody {
            port: 0,
            paths,
            hibernation_secs: self.hibernation_secs,
            extra_config: self.extra_config,
            start_timeout: self.start_timeout,
            netns: self.netns,
            child: None,
            dir: Some(dir),
        };
        let mut last_err = None;
        for attempt in 0..PORT_ATTEMPTS {
            prosody.port = next_port();
            prosody.write_config()?;
            if attempt == 0 {
                for (user, password) in &self.accounts {
                    prosody.register(user, password)?;
                }
            }
            match prosody.spawn_and_wait() {
                Ok(()) => return Ok(prosody),
                Err(StartError::PortInUse(e)) => last_err = Some(e),
                Err(StartError::Other(e)) => return Err(e),
            }
        }
        Err(last_err
            .unwrap_or_else(|| anyhow!("no attempt made"))
            .context(format!(
                "prosody could not bind a free loopback port in {PORT_ATTEMPTS} attempts"
            )))
    }
}
