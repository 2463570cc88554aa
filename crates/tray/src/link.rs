//! The tray's link to wimsyd: attach like any frontend, keep the model in
//! step with the daemon's events, carry out the menu's commands, and
//! attach again by itself when the daemon comes back.

use std::path::Path;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;
use wimsy_ipc::{Applied, Client, FrontendState, Request, Role, SettingValue};

use crate::model::{DO_NOT_DISTURB, Model};
use crate::sni::Command;

const CLIENT_NAME: &str = concat!("wimsy-tray ", env!("CARGO_PKG_VERSION"));

/// How often a tray without a daemon looks for one.
pub const RETRY_EVERY: Duration = Duration::from_secs(1);

/// Where the link shows what it learns.
pub trait Show {
    fn show(&self, model: Model) -> impl std::future::Future<Output = ()> + Send;
}

/// Run until the user quits. Returns when the daemon stopped after Quit.
pub async fn run(socket: &Path, shown: &impl Show, commands: &mut UnboundedReceiver<Command>) {
    let mut was_attached = true;
    loop {
        match attached(socket, shown, commands).await {
            Ended::Quit => return,
            Ended::Lost => {
                if was_attached {
                    tracing::info!("wimsyd is not running; trying again every {RETRY_EVERY:?}");
                }
                was_attached = false;
                shown.show(Model::not_running()).await;
            }
        }
        // Not running: wait, or do what the user asks meanwhile.
        let wait = tokio::time::sleep(RETRY_EVERY);
        tokio::pin!(wait);
        loop {
            tokio::select! {
                () = &mut wait => break,
                command = commands.recv() => match command {
                    None | Some(Command::Quit) => return,
                    Some(Command::StartDaemon | Command::OpenWindow) => {
                        match wimsy_ipc::client::start::start_daemon(socket).await {
                            Ok(started) => tracing::info!("started wimsyd: {started:?}"),
                            Err(why) => eprintln!("wimsy-tray: {why}"),
                        }
                        break;
                    }
                    // Nothing to switch without a daemon.
                    Some(_) => {}
                },
            }
        }
    }
}

enum Ended {
    /// The user quit and the daemon stopped.
    Quit,
    /// No daemon, or it went away.
    Lost,
}

async fn attached(
    socket: &Path,
    shown: &impl Show,
    commands: &mut UnboundedReceiver<Command>,
) -> Ended {
    let Ok(mut client) = Client::connect(socket, Role::Tray, CLIENT_NAME).await else {
        return Ended::Lost;
    };
    let Ok(snapshot) = client.subscribe().await else {
        return Ended::Lost;
    };
    tracing::info!("attached to {}", client.daemon_version());
    let mut state = FrontendState::from_snapshot(snapshot);
    shown.show(Model::from_state(&state)).await;
    let (requester, mut events) = client.split();
    let mut quitting = false;
    loop {
        tokio::select! {
            event = events.next_event() => match event {
                Ok(Some((seq, event))) => match state.apply(seq, &event) {
                    Applied::Applied => shown.show(Model::from_state(&state)).await,
                    Applied::Ignored | Applied::Stale => {}
                    // Missed events: attach again for a fresh snapshot.
                    Applied::Gap { .. } => return Ended::Lost,
                },
                Ok(None) | Err(_) => {
                    return if quitting { Ended::Quit } else { Ended::Lost };
                }
            },
            command = commands.recv() => {
                let request = match command {
                    None => return Ended::Quit,
                    Some(Command::Quit) => {
                        quitting = true;
                        Request::Quit
                    }
                    Some(Command::OpenWindow | Command::StartDaemon) => Request::ShowWindow,
                    Some(Command::Online(true)) => Request::Connect { account: None },
                    Some(Command::Online(false)) => Request::Disconnect { account: None },
                    Some(Command::DoNotDisturb(on)) => Request::SettingsSet {
                        key: DO_NOT_DISTURB.to_owned(),
                        value: SettingValue::Bool(on),
                    },
                };
                let answer = requester.request(request);
                tokio::spawn(async move {
                    if let Err(e) = answer.await {
                        eprintln!("wimsy-tray: wimsyd refused: {e}");
                    }
                });
            }
        }
    }
}
