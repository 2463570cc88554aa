//! Configuring and first start of an [`Ejabberd`].

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};

use super::config::{Paths, new_cookie};
use super::{DEFAULT_START_TIMEOUT, Ejabberd, PORT_ATTEMPTS, USER};
use crate::login::{check_password, check_user};
use crate::process::{StartError, free_loopback_port, is_root, write_file};
use crate::tls::TestTls;

/// Configures and starts an [`Ejabberd`]; see [`Ejabberd::builder`].
#[derive(Debug, Clone)]
pub struct EjabberdBuilder {
    accounts: Vec<(String, String)>,
    resume_secs: u64,
    extra_config: String,
    extra_modules: Vec<(String, String)>,
    disabled_mechanisms: Vec<String>,
    start_timeout: Duration,
}

impl Default for EjabberdBuilder {
    fn default() -> Self {
        Self {
            accounts: Vec::new(),
            resume_secs: 600,
            extra_config: String::new(),
            extra_modules: Vec::new(),
            disabled_mechanisms: vec!["DIGEST-MD5".to_owned(), "X-OAUTH2".to_owned()],
            start_timeout: DEFAULT_START_TIMEOUT,
        }
    }
}

impl EjabberdBuilder {
    /// An account `user@localhost`, registered (with ejabberdctl) once the
    /// server has started.
    pub fn account(mut self, user: &str, password: &str) -> Self {
        self.accounts.push((user.to_owned(), password.to_owned()));
        self
    }

    /// `mod_stream_mgmt`'s `resume_timeout` (and `max_resume_timeout`):
    /// how long a cut XEP-0198 session stays resumable (default 600 s, as
    /// Prosody's).
    pub fn resume_timeout_secs(mut self, secs: u64) -> Self {
        self.resume_secs = secs;
        self
    }

    /// YAML appended to the top level of ejabberd.yml, for options the
    /// harness does not write itself (e.g. `disable_sasl_mechanisms`); a
    /// key the harness writes must not be repeated. Modules go through
    /// [`module`](Self::module).
    pub fn extra_config(mut self, yaml: &str) -> Self {
        self.extra_config.push_str(yaml);
        self.extra_config.push('\n');
        self
    }

    /// Enables module `name` with `options` (YAML, unindented; empty for
    /// none), or replaces the options of one the harness enables. For
    /// example `.module("mod_muc", "host: conference.localhost")`.
    pub fn module(mut self, name: &str, options: &str) -> Self {
        self.extra_modules
            .push((name.to_owned(), options.to_owned()));
        self
    }

    /// Stops offering SASL mechanism `name` (e.g. `"SCRAM-SHA-1-PLUS"`, to
    /// see a client log in to an ejabberd without channel binding). DIGEST-MD5
    /// and X-OAUTH2 are never offered, as in Debian's default config.
    pub fn disable_sasl_mechanism(mut self, name: &str) -> Self {
        self.disabled_mechanisms.push(name.to_owned());
        self
    }

    /// How long [`start`](Self::start) and [`Ejabberd::start_again`] wait
    /// for the server to be ready (default 30 s; it usually takes 2-6 s).
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = timeout;
        self
    }

    /// Creates the instance directory, TLS material and cookie, starts the
    /// server on free loopback ports (others are tried if one was taken in
    /// the meantime) and registers the accounts.
    pub fn start(self) -> anyhow::Result<Ejabberd> {
        for (user, password) in &self.accounts {
            check_user(user)?;
            check_password(password)?;
        }
        if !is_root() {
            bail!(
                "ejabberd tests must run as root: ejabberd refuses to run as root, so the \
                 harness starts it as the {USER} user, which only root can do"
            );
        }
        let (uid, gid) = match nix::unistd::User::from_name(USER) {
            Ok(Some(user)) => (user.uid.as_raw(), user.gid.as_raw()),
            Ok(None) => {
                bail!("there is no {USER} system user; install ejabberd (apt-get install ejabberd)")
            }
            Err(e) => return Err(anyhow!(e)).context(format!("looking up the {USER} user")),
        };
        let dir = tempfile::Builder::new()
            .prefix("wimsy-ejabberd-")
            .tempdir()
            .context("creating the instance's temporary directory")?;
        let paths = Paths::new(dir.path());
        for d in [&paths.spool, &paths.logs] {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
        }
        let tls = TestTls::generate()?;
        write_file(&paths.ca_file, &tls.ca_pem)?;
        write_file(
            &paths.server_pem,
            &format!("{}{}{}", tls.leaf_key_pem, tls.leaf_pem, tls.ca_pem),
        )?;
        write_file(&paths.cookie, &new_cookie()?)?;
        std::fs::set_permissions(
            &paths.cookie,
            std::os::unix::fs::PermissionsExt::from_mode(0o400),
        )
        .context("making the Erlang cookie private")?;

        static INSTANCES: AtomicU32 = AtomicU32::new(0);
        let n = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let mut server = Ejabberd {
            port: 0,
            dist_port: 0,
            node: format!("wimsy{}n{n}@localhost", std::process::id()),
            paths,
            uid,
            gid,
            resume_secs: self.resume_secs,
            extra_config: self.extra_config,
            extra_modules: self.extra_modules,
            disabled_mechanisms: self.disabled_mechanisms,
            start_timeout: self.start_timeout,
            child: None,
            beam: None,
            watchdog: None,
            dir: Some(dir),
        };
        let mut last_err = None;
        for _ in 0..PORT_ATTEMPTS {
            server.port = free_loopback_port();
            server.dist_port = free_loopback_port();
            if server.dist_port == server.port {
                continue;
            }
            server.write_config()?;
            match server.spawn_and_wait() {
                Ok(()) => {
                    last_err = None;
                    break;
                }
                Err(StartError::PortInUse(e)) => last_err = Some(e),
                Err(StartError::Other(e)) => return Err(e),
            }
        }
        if server.child.is_none() {
            return Err(last_err
                .unwrap_or_else(|| anyhow!("no attempt made"))
                .context(format!(
                    "ejabberd could not bind free loopback ports in {PORT_ATTEMPTS} attempts"
                )));
        }
        for (user, password) in &self.accounts {
            server.register(user, password)?;
        }
        Ok(server)
    }
}
