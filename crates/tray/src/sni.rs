//! The item on the desktop's tray (StatusNotifierItem through ksni): the
//! icon, its tooltip and its menu. Clicks and menu choices only queue a
//! [`Command`]; the link (`link.rs`) carries them out.

use std::sync::atomic::{AtomicBool, Ordering};

use ksni::menu::{CheckmarkItem, StandardItem};
use ksni::{MenuItem, ToolTip};
use tokio::sync::mpsc::UnboundedSender;

use crate::icon;
use crate::model::{Model, Overall};

/// What the user asked of the tray.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Open (or raise) the window.
    OpenWindow,
    /// Start the daemon (none is running).
    StartDaemon,
    /// Take every account online, or offline.
    Online(bool),
    /// Turn do not disturb on or off.
    DoNotDisturb(bool),
    /// Stop the daemon cleanly, then the tray.
    Quit,
}

pub struct WimsyTray {
    pub model: Model,
    pub commands: UnboundedSender<Command>,
    /// Asks for the item to be put on the bus again: registering failed
    /// while a watcher may be there (see `watcher_offline`).
    pub again: UnboundedSender<()>,
}

/// Whether "no tray on this desktop" was said already: once per run.
static SAID_NO_WATCHER: AtomicBool = AtomicBool::new(false);

impl WimsyTray {
    fn ask(&self, command: Command) {
        // The link ends only when the tray does.
        let _ = self.commands.send(command);
    }
}

fn item(label: &str, command: Command) -> MenuItem<WimsyTray> {
    StandardItem {
        label: label.to_owned(),
        activate: Box::new(move |tray: &mut WimsyTray| tray.ask(command)),
        ..Default::default()
    }
    .into()
}

fn line(label: String) -> MenuItem<WimsyTray> {
    StandardItem {
        label,
        enabled: false,
        ..Default::default()
    }
    .into()
}

impl ksni::Tray for WimsyTray {
    fn id(&self) -> String {
        "wimsy".to_owned()
    }

    fn title(&self) -> String {
        "Wimsy".to_owned()
    }

    fn category(&self) -> ksni::Category {
        ksni::Category::Communications
    }

    fn activate(&mut self, _x: i32, _y: i32) {
        self.ask(if self.model.overall == Overall::NotRunning {
            Command::StartDaemon
        } else {
            Command::OpenWindow
        });
    }

    fn icon_pixmap(&self) -> Vec<ksni::Icon> {
        icon::SIZES
            .iter()
            .map(|&size| {
                let p = icon::draw(self.model.overall, self.model.unread > 0, size);
                ksni::Icon {
                    width: p.width as i32,
                    height: p.height as i32,
                    data: p.argb,
                }
            })
            .collect()
    }

    fn tool_tip(&self) -> ToolTip {
        ToolTip {
            title: self.model.title(),
            description: self.model.description(),
            ..Default::default()
        }
    }

    fn menu(&self) -> Vec<MenuItem<Self>> {
        let model = &self.model;
        let mut menu = Vec::new();
        if model.overall == Overall::NotRunning {
            menu.push(line("Wimsy is not running".to_owned()));
            menu.push(item("Start Wimsy", Command::StartDaemon));
            return menu;
        }
        if model.accounts.is_empty() {
            menu.push(line("No account yet".to_owned()));
        }
        for account in &model.accounts {
            menu.push(line(format!("{}: {}", account.jid, account.state)));
        }
        menu.push(MenuItem::Separator);
        menu.push(item("Open Wimsy", Command::OpenWindow));
        if model.online() {
            menu.push(item("Go offline", Command::Online(false)));
        } else {
            menu.push(item("Go online", Command::Online(true)));
        }
        if let Some(on) = model.do_not_disturb {
            menu.push(
                CheckmarkItem {
                    label: "Do not disturb".to_owned(),
                    checked: on,
                    activate: Box::new(move |tray: &mut WimsyTray| {
                        tray.ask(Command::DoNotDisturb(!on));
                    }),
                    ..Default::default()
                }
                .into(),
            );
        }
        menu.push(MenuItem::Separator);
        menu.push(item("Quit Wimsy", Command::Quit));
        menu
    }

    fn watcher_online(&self) {
        tracing::info!("a tray host appeared; the icon is shown");
    }

    fn watcher_offline(&self, reason: ksni::OfflineReason) -> bool {
        // A watcher that has just taken its name may not answer yet, and
        // ksni tries only once: ask for another try, which the tray makes
        // if a watcher is there by then.
        if matches!(reason, ksni::OfflineReason::Error(_)) {
            let _ = self.again.send(());
        }
        if !SAID_NO_WATCHER.swap(true, Ordering::Relaxed) {
            eprintln!(
                "wimsy-tray: this desktop shows no tray icons now (no StatusNotifierWatcher on \
                 the session bus; on GNOME, the AppIndicator extension adds one). Wimsy keeps \
                 running; the icon appears as soon as a tray does."
            );
        }
        tracing::debug!("tray host offline: {reason:?}");
        // Keep the item: it registers again when a watcher comes back.
        true
    }
}
