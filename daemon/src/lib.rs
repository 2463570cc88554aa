//! `wimsyd`: holds every account's XMPP session, the message store and the
//! IPC server that frontends attach to. The binary is a thin edge around
//! [`run`]; tests start the daemon in-process through the same function.

mod accounts;
#[cfg(unix)]
mod activation;
mod core;
#[doc(hidden)]
pub mod fuzzing;
mod gui_launch;
mod instance;
mod ipc_server;
pub mod logging;
mod notify;
mod paths;
mod private_fs;
mod secrets;
mod settings;
mod system;

use std::future::Future;

use tokio::sync::{mpsc, watch};

pub use accounts::{AccountEntry, AccountStore, AccountsError};
pub use instance::InstanceError;
pub use ipc_server::IpcLimits;
pub use paths::{NoHome, Paths};
pub use private_fs::FileError;
pub use wimsy_session::SessionConfig;

/// Everything that tunes a daemon.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// Where its files are.
    pub paths: Paths,
    /// Session timeouts and backoff.
    pub session: SessionConfig,
    /// IPC limits.
    pub ipc: IpcLimits,
    /// Notification timing.
    pub notify: NotifyOptions,
    /// What the daemon does while nobody looks.
    pub idle: IdleOptions,
}

/// What the daemon does while nobody looks.
#[derive(Debug, Clone, Copy)]
pub struct IdleOptions {
    /// How long after it started, or after a client left, it hands the
    /// kernel back its program's pages.
    pub release_pages_after: std::time::Duration,
}

impl Default for IdleOptions {
    fn default() -> Self {
        Self {
            release_pages_after: std::time::Duration::from_secs(60),
        }
    }
}

impl IdleOptions {
    /// A second, for tests.
    pub fn tight() -> Self {
        Self {
            release_pages_after: std::time::Duration::from_secs(1),
        }
    }
}

/// How long notifications wait.
#[derive(Debug, Clone, Copy)]
pub struct NotifyOptions {
    /// How long a chat stays quiet after the user wrote in it from another
    /// device.
    pub reply_grace: std::time::Duration,
}

impl Default for NotifyOptions {
    fn default() -> Self {
        Self {
            reply_grace: std::time::Duration::from_secs(120),
        }
    }
}

impl NotifyOptions {
    /// Seconds instead of minutes, for tests.
    pub fn tight() -> Self {
        Self {
            reply_grace: std::time::Duration::from_secs(4),
        }
    }
}

/// The daemon could not start or failed while running.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// Another instance, or the socket, is in the way.
    #[error(transparent)]
    Instance(#[from] InstanceError),
    /// The message store could not be opened.
    #[error("could not open the message store: {0}")]
    Store(#[from] wimsy_store::StoreError),
    /// The accounts file could not be read.
    #[error(transparent)]
    Accounts(#[from] AccountsError),
}

/// How `wimsyd` exits (`wimsyd --help` and docs/ARCHITECTURE.md list them;
/// wimsyd.service's `RestartPreventExitStatus=` names the ones a restart
/// cannot mend).
pub mod exit {
    /// Stopped as asked: a client's `quit`, SIGTERM or SIGINT.
    pub const STOPPED: u8 = 0;
    /// Failed: could not start, or failed while running.
    pub const FAILED: u8 = 1;
    /// The command line is wrong (clap's own code).
    pub const USAGE: u8 = 2;
    /// Another wimsyd already serves this user.
    pub const ALREADY_RUNNING: u8 = 3;
    /// A file or setting the user controls is unusable (the accounts file,
    /// the socket's directory, the home directory, the unit's socket).
    pub const CONFIGURATION: u8 = 4;
}

impl DaemonError {
    /// The exit code that tells this failure apart (see [`exit`]).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Instance(
                InstanceError::AlreadyRunning { .. } | InstanceError::SocketInUse { .. },
            ) => exit::ALREADY_RUNNING,
            Self::Instance(
                InstanceError::UnsafeSocketDir { .. } | InstanceError::Activation { .. },
            )
            | Self::Accounts(_) => exit::CONFIGURATION,
            Self::Instance(InstanceError::Io { .. }) | Self::Store(_) => exit::FAILED,
        }
    }
}

/// Run the daemon until `shutdown` completes or a client sends `quit`.
/// Returns after every session has closed and the store is flushed.
pub async fn run(
    options: DaemonOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DaemonError> {
    let paths = &options.paths;
    let _lock = instance::lock(&paths.data_dir)?;
    let store = wimsy_store::Store::open(&paths.store_file())?;
    let account_files = AccountStore::new(&paths.config_dir);
    let entries = account_files.load()?;
    let settings = settings::Settings::load(&paths.config_dir);
    let listening = instance::listen(&paths.socket).await?;
    tracing::info!(
        socket = %listening.path.display(),
        activated = listening.activated,
        accounts = entries.len(),
        "wimsyd listening"
    );

    let secrets = secrets::Secrets::open(&paths.config_dir).await;

    let (session_tx, session_rx) = mpsc::unbounded_channel();
    let mut core = core::Core::new(
        store,
        account_files,
        secrets,
        settings,
        options.session,
        session_tx,
        notify::Notifier::spawn(),
    );
    core.gui_launcher = Some(gui_launch::GuiLauncher::new(
        &listening.path,
        &paths.config_dir,
        &paths.data_dir,
    ));
    core.attention.reply_grace = options.notify.reply_grace;
    core.idle = core::IdleRelease::new(options.idle.release_pages_after);
    for entry in entries {
        core.start_configured(entry).await;
    }

    let (input_tx, input_rx) = mpsc::channel(256);
    let (stopping_tx, stopping_rx) = watch::channel(false);
    let server = tokio::spawn(ipc_server::accept_loop(
        listening.listener,
        input_tx,
        options.ipc,
        stopping_rx,
    ));

    let (system_tx, system_rx) = mpsc::channel(16);
    system::spawn(system_tx);
    #[cfg(unix)]
    activation::ready(&format!("serving on {}", listening.path.display()));
    let exit = core.run(input_rx, session_rx, system_rx, shutdown).await;
    #[cfg(unix)]
    activation::stopping();
    match exit {
        core::Exit::Quit => tracing::info!("quit requested by a client; stopping"),
        core::Exit::Signal => tracing::info!("stop signal received; stopping"),
    }
    core.shutdown(options.session.timeouts.close * 2).await;
    let _ = stopping_tx.send(true);
    if server.await.is_err() {
        tracing::warn!("the IPC server task ended abnormally");
    }
    drop(core);
    if !listening.activated {
        remove_socket(&listening.path);
    }
    tracing::info!("wimsyd stopped");
    Ok(())
}

fn remove_socket(path: &std::path::Path) {
    #[cfg(unix)]
    if let Err(e) = std::fs::remove_file(path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(socket = %path.display(), "could not remove the socket: {e}");
    }
    #[cfg(not(unix))]
    let _ = path;
}
