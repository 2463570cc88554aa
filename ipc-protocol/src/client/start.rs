//! Starting `wimsyd` when no daemon answers, for every frontend: through
//! its systemd user unit when one is installed and `systemctl --user`
//! works, else as a detached child of this process that outlives it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::{Client, Role};
use tokio::process::Command;
use tokio::time::Instant;

/// How long a started daemon has to answer on its socket. Opening the
/// store and the keyring takes well under a second; a slow keyring probe
/// can take 5 s.
pub const READY_WITHIN: Duration = Duration::from_secs(15);

/// How a daemon was started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// `systemctl --user start` of this unit.
    Systemd(&'static str),
    /// Spawned as a detached child.
    Spawned {
        /// Where its output goes.
        log: PathBuf,
    },
}

/// Start a daemon for `socket` and wait until it answers there. The error
/// is a sentence to show as it is.
pub async fn start_daemon(socket: &Path) -> Result<Started, String> {
    // A unit listens on the default socket; one given with --socket or
    // WIMSY_SOCKET is another daemon's, so it gets its own child.
    if socket == crate::default_socket_path()
        && let Some(unit) = installed_unit().await
    {
        match systemctl(&["start", unit]).await {
            Ok(()) => {
                tracing::info!("started wimsyd with systemctl --user start {unit}");
                wait_ready(socket, None).await?;
                return Ok(Started::Systemd(unit));
            }
            Err(e) => tracing::info!("systemctl --user start {unit} failed ({e}); spawning wimsyd"),
        }
    }
    spawn(&daemon_program(), &log_path(), socket).await
}

/// The user unit to start, if one is installed: the socket unit first, so
/// the daemon is started the way the user set it up.
async fn installed_unit() -> Option<&'static str> {
    for unit in ["wimsyd.socket", "wimsyd.service"] {
        let out = Command::new("systemctl")
            .args(["--user", "show", "--property=LoadState", unit])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output();
        let Ok(Ok(out)) = tokio::time::timeout(Duration::from_secs(5), out).await else {
            return None;
        };
        if !out.status.success() {
            // No user manager (as on a machine without systemd as PID 1).
            return None;
        }
        if String::from_utf8_lossy(&out.stdout).trim() == "LoadState=loaded" {
            return Some(unit);
        }
    }
    None
}

async fn systemctl(args: &[&str]) -> Result<(), String> {
    let run = Command::new("systemctl")
        .arg("--user")
        .args(args)
        .stdin(Stdio::null())
        .output();
    match tokio::time::timeout(Duration::from_secs(10), run).await {
        Err(_) => Err("it did not finish within 10 s".to_owned()),
        Ok(Err(e)) => Err(e.to_string()),
        Ok(Ok(out)) if out.status.success() => Ok(()),
        Ok(Ok(out)) => Err(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
    }
}

/// Spawn `wimsyd` detached: in its own process group (a Ctrl+C meant for
/// the window does not stop it), no terminal, its log in a file.
async fn spawn(program: &Path, log: &Path, socket: &Path) -> Result<Started, String> {
    let log_file = open_log(log).map_err(|e| {
        format!(
            "Could not start the background service: cannot write its log {}: {e}.",
            log.display()
        )
    })?;
    let err_file = log_file
        .try_clone()
        .map_err(|e| format!("Could not start the background service: {e}."))?;
    let mut command = Command::new(program);
    command
        .arg("--socket")
        .arg(socket)
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(err_file)
        .kill_on_drop(false);
    #[cfg(unix)]
    command.process_group(0);
    let child = command.spawn().map_err(|e| {
        format!(
            "Could not start the background service {}: {e}. Install wimsyd next to this program or on your PATH.",
            program.display()
        )
    })?;
    tracing::info!(
        "started {} (pid {:?}); its log: {}",
        program.display(),
        child.id(),
        log.display()
    );
    let mut child = child;
    let ready = wait_ready(socket, Some((&mut child, log))).await;
    // Reap it when it ends, so it never lingers as a zombie of this window.
    tokio::spawn(async move {
        let _ = child.wait().await;
    });
    ready.map(|()| Started::Spawned {
        log: log.to_path_buf(),
    })
}

/// `wimsyd` beside this executable (an unpacked release, a cargo target
/// directory), else whatever the PATH finds.
fn daemon_program() -> PathBuf {
    let name = format!("wimsyd{}", std::env::consts::EXE_SUFFIX);
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(&name)))
        .filter(|candidate| candidate.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// Where a daemon started by the window writes its log (README, "Where
/// files live"): `$XDG_STATE_HOME/wimsy/wimsyd.log`, by default
/// `~/.local/state/wimsy/wimsyd.log`.
pub fn log_path() -> PathBuf {
    let state = match std::env::var_os("XDG_STATE_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => match std::env::var_os("HOME") {
            Some(home) if !home.is_empty() => PathBuf::from(home).join(".local/state"),
            _ => std::env::temp_dir(),
        },
    };
    state.join("wimsy").join("wimsyd.log")
}

fn open_log(path: &Path) -> std::io::Result<std::fs::File> {
    if let Some(dir) = path.parent() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Poll the socket until a daemon answers a hello, the child exits, or
/// [`READY_WITHIN`] passes.
async fn wait_ready(
    socket: &Path,
    mut child: Option<(&mut tokio::process::Child, &Path)>,
) -> Result<(), String> {
    let deadline = Instant::now() + READY_WITHIN;
    loop {
        if Client::connect(socket, Role::Other, "wimsyd start check")
            .await
            .is_ok()
        {
            return Ok(());
        }
        if let Some((child, log)) = child.as_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            return Err(format!(
                "The background service stopped at once ({status}). Its log is {}.",
                log.display()
            ));
        }
        if Instant::now() >= deadline {
            let log = child
                .as_ref()
                .map(|(_, log)| format!(" Its log is {}.", log.display()))
                .unwrap_or_default();
            return Err(format!(
                "The background service did not answer within {} s.{log}",
                READY_WITHIN.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("wimsy-ipc-start-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A daemon that exits at once is reported at once (not after the
    /// deadline), with where its log is.
    #[tokio::test]
    async fn a_daemon_that_stops_at_once_is_reported_with_its_log() {
        let dir = scratch("false");
        let log = dir.join("state/wimsy/wimsyd.log");
        let started = std::time::Instant::now();
        let err = spawn(Path::new("/bin/false"), &log, &dir.join("d.sock"))
            .await
            .unwrap_err();
        assert!(err.contains("stopped at once"), "{err}");
        assert!(err.contains(&log.display().to_string()), "{err}");
        assert!(started.elapsed() < READY_WITHIN);
        assert!(
            log.is_file(),
            "the log file is made before the daemon starts"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_missing_daemon_says_where_to_install_it() {
        let dir = scratch("missing");
        let err = spawn(
            &dir.join("no-such-wimsyd"),
            &dir.join("wimsyd.log"),
            &dir.join("d.sock"),
        )
        .await
        .unwrap_err();
        assert!(
            err.contains("Install wimsyd next to this program or on your PATH"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_log_goes_under_the_state_directory() {
        let path = log_path();
        assert!(path.ends_with("wimsy/wimsyd.log"), "{}", path.display());
    }
}
