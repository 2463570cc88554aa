//! Starting the window (`wimsy`) on a chat, when the user clicks a
//! notification and no window is attached to open it in.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

/// How to start `wimsy` for this daemon.
#[derive(Debug, Clone)]
pub(crate) struct GuiLauncher {
    program: PathBuf,
    /// This daemon's socket, so the window attaches here.
    socket: PathBuf,
    /// This daemon's config directory: the window keeps its own small
    /// memory there (the notices it showed), as it does beside a daemon it
    /// finds on its own.
    config_dir: PathBuf,
    /// Where the window's output goes (it has no terminal).
    log: PathBuf,
}

impl GuiLauncher {
    pub(crate) fn new(socket: &Path, config_dir: &Path, data_dir: &Path) -> Self {
        Self {
            program: gui_program(),
            socket: socket.to_path_buf(),
            config_dir: config_dir.to_path_buf(),
            log: data_dir.join("wimsy.log"),
        }
    }

    /// Start `wimsy` detached, with `--chat PEER --account ACCOUNT` when
    /// a chat is given: it outlives nothing of the daemon's and is reaped
    /// when it ends.
    pub(crate) fn open(&self, chat: Option<(&str, &str)>) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .and_then(|out| Ok((out.try_clone()?, out)));
        let (stdout, stderr) = match log {
            Ok((out, err)) => (Stdio::from(out), Stdio::from(err)),
            Err(e) => {
                tracing::warn!("cannot write the window's log {}: {e}", self.log.display());
                (Stdio::null(), Stdio::null())
            }
        };
        let mut command = Command::new(&self.program);
        command.arg("--socket").arg(&self.socket);
        if let Some((account, peer)) = chat {
            command
                .arg("--chat")
                .arg(peer)
                .arg("--account")
                .arg(account);
        }
        command
            .env("WIMSY_CONFIG_DIR", &self.config_dir)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .kill_on_drop(false);
        #[cfg(unix)]
        command.process_group(0);
        match command.spawn() {
            Ok(mut child) => {
                tracing::info!(
                    pid = child.id(),
                    "started {} for the user; its output: {}",
                    self.program.display(),
                    self.log.display()
                );
                tokio::spawn(async move {
                    let _ = child.wait().await;
                });
            }
            Err(e) => tracing::warn!(
                "cannot start the Wimsy window {}: {e}. Install wimsy next to wimsyd or on your \
                 PATH",
                self.program.display()
            ),
        }
    }
}

/// `wimsy` beside this executable (an unpacked release, a cargo target
/// directory), else whatever the PATH finds.
fn gui_program() -> PathBuf {
    let name = if cfg!(windows) { "wimsy.exe" } else { "wimsy" };
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(name)))
        .filter(|path| path.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}
