//! The `wimsy` window: a thin frontend that attaches to `wimsyd` over its
//! local socket and shows what the daemon reports. It holds no XMPP session
//! of its own, so closing it only detaches; the daemon keeps running.

mod accounts;
mod app;
mod daemon_link;
mod hooks;
mod link;
// The screens are wired into the app on the gui-core branch; until that
// lands, nothing outside their tests calls them.
#[allow(dead_code)]
mod screen;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::app::App;

/// Wimsy's window. Attaches to a running wimsyd and shows your accounts;
/// closing it leaves wimsyd running.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// wimsyd's socket [env: WIMSY_SOCKET; default $XDG_RUNTIME_DIR/wimsy/wimsyd.sock]
    #[arg(long)]
    socket: Option<PathBuf>,
}

fn init_logging() {
    // iced, winit and cosmic-text are chatty at info; only our own crate
    // logs that low unless WIMSY_LOG says otherwise.
    let filter =
        EnvFilter::try_from_env("WIMSY_LOG").unwrap_or_else(|_| EnvFilter::new("warn,wimsy=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn main() -> ExitCode {
    let args = Args::parse();
    init_logging();
    let socket = wimsy_ipc::resolve_socket_path(args.socket.as_deref());
    tracing::info!("wimsyd socket: {}", socket.display());

    let result = iced::application(move || App::new(socket.clone()), App::update, App::view)
        .title("Wimsy")
        .subscription(App::subscription)
        .window_size((640.0, 400.0))
        .run();

    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wimsy: cannot open the window: {e}");
            ExitCode::FAILURE
        }
    }
}
