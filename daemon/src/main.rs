//! The `wimsyd` binary: arguments, logging and signals around `wimsyd::run`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

/// Wimsy's background daemon: keeps your XMPP accounts connected whether or
/// not a window is open. The window (wimsy), the tray icon (wimsy-tray) and
/// the command line (wimsyctl) attach to it.
#[derive(Debug, Parser)]
#[command(version, after_help = EXIT_STATUS)]
struct Args {
    /// Configuration directory [env: WIMSY_CONFIG_DIR; default ~/.config/wimsy]
    #[arg(long)]
    config_dir: Option<PathBuf>,
    /// Data directory [env: WIMSY_DATA_DIR; default ~/.local/share/wimsy]
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// IPC socket [env: WIMSY_SOCKET; default $XDG_RUNTIME_DIR/wimsy/wimsyd.sock]
    #[arg(long)]
    socket: Option<PathBuf>,
    /// Use short timeouts and retry waits (for tests on loopback)
    #[arg(long, hide = true)]
    tight_timeouts: bool,
    /// How long a new client has to say hello, in ms (tests)
    #[arg(long, hide = true)]
    handshake_timeout_ms: Option<u64>,
    /// How long the server has to answer a probe, in ms (tests: shorter
    /// than a busy server takes, so live streams are resumed mid-burst)
    #[arg(long, hide = true)]
    probe_answer_ms: Option<u64>,
    /// Frames queued for one client before it is cut off (tests)
    #[arg(long, hide = true)]
    client_queue: Option<usize>,
}

const EXIT_STATUS: &str = "\
Signals:
  SIGTERM, SIGINT  stop: close the sessions, then exit 0
  SIGHUP           read the accounts and settings files again (systemctl --user reload wimsyd)

Exit status:
  0  stopped as asked (a client's quit, SIGTERM or SIGINT)
  1  failed: could not start, or failed while running (the last line says why)
  2  the command line is wrong
  3  another wimsyd already serves this user
  4  a file or directory you control cannot be used (the accounts file, the socket's directory, the home directory)";

/// SIGTERM or Ctrl-C. The handlers are installed when this is called, not
/// when the future is first polled (that is only once the core loop runs,
/// after the socket answers): a SIGTERM sent as soon as the daemon answers
/// must stop it cleanly, not kill it. Call it inside the runtime.
fn stop_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let interrupt = signal(SignalKind::interrupt());
        async move {
            match (term, interrupt) {
                (Ok(mut term), Ok(mut interrupt)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = interrupt.recv() => {}
                    }
                }
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!("cannot watch SIGTERM and SIGINT: {e}");
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn main() -> ExitCode {
    if let Some(code) = wimsy_clidocs::write_if_asked("wimsyd", Args::command) {
        return code;
    }
    let args = Args::parse();
    wimsyd::logging::init();
    let paths = match wimsyd::Paths::resolve(
        args.config_dir.as_deref(),
        args.data_dir.as_deref(),
        args.socket.as_deref(),
    ) {
        Ok(paths) => paths,
        Err(e) => {
            wimsyd::logging::fatal(&e);
            return ExitCode::from(wimsyd::exit::CONFIGURATION);
        }
    };
    let mut session = if args.tight_timeouts {
        wimsyd::SessionConfig::tight()
    } else {
        wimsyd::SessionConfig::default()
    };
    if let Some(ms) = args.probe_answer_ms {
        session.timeouts.probe_answer = std::time::Duration::from_millis(ms);
    }
    let mut ipc = wimsyd::IpcLimits::default();
    if let Some(ms) = args.handshake_timeout_ms {
        ipc.handshake_timeout = std::time::Duration::from_millis(ms);
    }
    if let Some(frames) = args.client_queue {
        ipc.client_queue = frames;
    }
    let notify = if args.tight_timeouts {
        wimsyd::NotifyOptions::tight()
    } else {
        wimsyd::NotifyOptions::default()
    };
    let idle = if args.tight_timeouts {
        wimsyd::IdleOptions::tight()
    } else {
        wimsyd::IdleOptions::default()
    };
    let options = wimsyd::DaemonOptions {
        paths,
        session,
        ipc,
        notify,
        idle,
    };
    // One thread: the daemon mostly waits, and one thread keeps its memory
    // and wakeups low.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            wimsyd::logging::fatal(&format_args!("cannot start the async runtime: {e}"));
            return ExitCode::from(wimsyd::exit::FAILED);
        }
    };
    match runtime.block_on(async { wimsyd::run(options, stop_signal()).await }) {
        Ok(()) => ExitCode::from(wimsyd::exit::STOPPED),
        Err(e) => {
            wimsyd::logging::fatal(&e);
            ExitCode::from(e.exit_code())
        }
    }
}
