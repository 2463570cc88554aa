//! `wimsy-tray`: the tray icon of a background Wimsy. It attaches to
//! wimsyd like any frontend: the icon shows whether the accounts are
//! connected and whether messages are unread, a click opens the window,
//! the menu takes the accounts online or offline, switches do not disturb
//! and quits Wimsy. Closing the tray changes nothing of the connection.

mod icon;
#[cfg(target_os = "linux")]
mod link;
mod model;
#[cfg(target_os = "linux")]
mod sni;
#[cfg(target_os = "linux")]
mod watcher;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

/// The tray icon of Wimsy: shows whether your accounts are connected and
/// whether messages wait, opens the window, and quits Wimsy.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// wimsyd's socket [env: WIMSY_SOCKET; default $XDG_RUNTIME_DIR/wimsy/wimsyd.sock]
    #[arg(long)]
    socket: Option<PathBuf>,
    /// Only say whether this desktop shows tray icons: exit 0 when a tray
    /// host is present, 1 when not
    #[arg(long)]
    check: bool,
}

fn main() -> ExitCode {
    if let Some(code) = wimsy_clidocs::write_if_asked("wimsy-tray", Args::command) {
        return code;
    }
    let args = Args::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("wimsy-tray: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(args))
}

#[cfg(target_os = "linux")]
async fn run(args: Args) -> ExitCode {
    if args.check {
        return match watcher::host_present().await {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => {
                eprintln!("no tray host on this desktop (no StatusNotifierWatcher with a host)");
                ExitCode::FAILURE
            }
            Err(why) => {
                eprintln!("cannot tell whether this desktop has a tray: {why}");
                ExitCode::FAILURE
            }
        };
    }
    let socket = wimsy_ipc::resolve_socket_path(args.socket.as_deref());
    match tray::run(&socket).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wimsy-tray: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(target_os = "linux"))]
async fn run(_args: Args) -> ExitCode {
    eprintln!("wimsy-tray runs on Linux desktops only for now");
    ExitCode::FAILURE
}

#[cfg(target_os = "linux")]
mod tray {
    use std::path::Path;
    use std::time::Duration;

    use anyhow::Context;
    use ksni::TrayMethods;
    use tokio::sync::mpsc::UnboundedSender;

    use crate::link::{self, Show};
    use crate::model::Model;
    use crate::sni::{Command, WimsyTray};

    /// How long to wait before putting the item on the bus again after a
    /// watcher appeared but did not take it.
    const AGAIN_AFTER: Duration = Duration::from_millis(500);

    /// The item on the bus, replaced when it must register again.
    struct Item {
        handle: tokio::sync::Mutex<ksni::Handle<WimsyTray>>,
        model: std::sync::Mutex<Model>,
        commands: UnboundedSender<Command>,
        again: UnboundedSender<()>,
    }

    impl Item {
        fn tray(&self) -> WimsyTray {
            WimsyTray {
                model: self
                    .model
                    .lock()
                    .map(|m| m.clone())
                    .unwrap_or_else(|_| Model::not_running()),
                commands: self.commands.clone(),
                again: self.again.clone(),
            }
        }
    }

    impl Show for Item {
        async fn show(&self, model: Model) {
            if let Ok(mut shown) = self.model.lock() {
                *shown = model.clone();
            }
            self.handle
                .lock()
                .await
                .update(|tray| tray.model = model)
                .await;
        }
    }

    async fn spawn(tray: WimsyTray) -> anyhow::Result<ksni::Handle<WimsyTray>> {
        // A desktop without a tray yet (or ever): keep the item and
        // register as soon as a watcher appears.
        tray.assume_sni_available(true)
            .spawn()
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))
            .context("cannot put the icon on the session bus")
    }

    pub async fn run(socket: &Path) -> anyhow::Result<()> {
        let (commands, mut commands_rx) = tokio::sync::mpsc::unbounded_channel();
        let (again, mut again_rx) = tokio::sync::mpsc::unbounded_channel();
        let first = WimsyTray {
            model: Model::not_running(),
            commands: commands.clone(),
            again: again.clone(),
        };
        let item = Item {
            handle: tokio::sync::Mutex::new(spawn(first).await?),
            model: std::sync::Mutex::new(Model::not_running()),
            commands,
            again,
        };
        let respawning = async {
            while again_rx.recv().await.is_some() {
                tokio::time::sleep(AGAIN_AFTER).await;
                while again_rx.try_recv().is_ok() {}
                if !matches!(crate::watcher::watcher_present().await, Ok(true)) {
                    // ksni registers by itself when one appears.
                    continue;
                }
                tracing::info!("registering the icon with the tray again");
                match spawn(item.tray()).await {
                    Ok(new) => {
                        let old = std::mem::replace(&mut *item.handle.lock().await, new);
                        old.shutdown().await;
                    }
                    Err(e) => tracing::warn!("{e:#}"),
                }
            }
        };
        tokio::select! {
            () = link::run(socket, &item, &mut commands_rx) => {}
            () = respawning => {}
        }
        item.handle.lock().await.shutdown().await;
        Ok(())
    }
}

fn init_logging() {
    use tracing_subscriber::filter::LevelFilter;
    // Warnings only, unless WIMSY_LOG names a level: a tray started at
    // login has nobody reading its terminal. A plain level rather than an
    // EnvFilter: the filter's parser is most of what this small process
    // would otherwise keep resident.
    let level = std::env::var("WIMSY_LOG")
        .ok()
        .and_then(|level| level.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::WARN);
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .try_init();
}
