//! The `wimsy` window: a thin frontend that attaches to `wimsyd` over its
//! local socket (starting it when none runs), shows the accounts and chats
//! the daemon reports, and sends what the user writes. It holds no XMPP
//! session of its own, so closing it only detaches; the daemon keeps
//! running.

mod app;
mod data;
mod hooks;
mod link;
mod screen;
mod words;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use tracing_subscriber::EnvFilter;

use crate::app::{App, Launch};

/// Wimsy's window. Attaches to wimsyd (starting it if none is running) and
/// shows your chats; closing it leaves wimsyd running.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// wimsyd's socket [env: WIMSY_SOCKET; default $XDG_RUNTIME_DIR/wimsy/wimsyd.sock]
    #[arg(long)]
    socket: Option<PathBuf>,
    /// Open the chat with this address
    #[arg(long, value_name = "JID")]
    chat: Option<String>,
    /// With --chat: the account to chat from (default: the one that has the chat)
    #[arg(long, value_name = "JID", requires = "chat")]
    account: Option<String>,
    /// Do not start wimsyd when none is running; wait for one
    #[arg(long)]
    no_start: bool,
}

/// What is logged when `WIMSY_LOG` is not set.
const DEFAULT_LOG: &str = "error,wimsy=info";

fn init_logging() {
    // The libraries under the window (iced, winit, wgpu, cosmic-text) warn
    // about things a user can do nothing about, such as winit's "XRandR
    // reported that the display's 0mm in size" on a virtual or projector
    // screen: only their errors reach the terminal, our own crate logs from
    // info, and WIMSY_LOG (e.g. `WIMSY_LOG=warn` or `debug`) shows more.
    let filter =
        EnvFilter::try_from_env("WIMSY_LOG").unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn main() -> ExitCode {
    if let Some(code) = wimsy_clidocs::write_if_asked("wimsy", Args::command) {
        return code;
    }
    let args = Args::parse();
    init_logging();
    let socket = wimsy_ipc::resolve_socket_path(args.socket.as_deref());
    tracing::info!("wimsyd socket: {}", socket.display());

    let launch = Launch {
        socket,
        chat: args.chat.map(|peer| (args.account, peer)),
        autostart: !args.no_start,
        notices: true,
    };
    let result = iced::application(move || App::new(launch.clone()), App::update, App::view)
        .title(App::title)
        .subscription(App::subscription)
        .window_size((960.0, 640.0))
        .exit_on_close_request(false)
        .run();

    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wimsy: cannot open the window: {e}");
            ExitCode::FAILURE
        }
    }
}
