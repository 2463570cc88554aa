//! freedesktop Notifications on the session bus, through zbus on the
//! daemon's tokio runtime.
//!
//! One bus connection serves every notification: servers such as dunst
//! send `ActionInvoked` only to the connection that showed the
//! notification, so the one that shows them must also be the one that
//! listens. (notify-rust, used before, opens a connection per
//! notification and can wait for its click only by blocking or panicking
//! on bus errors; the calls are few enough to make here, typed by the
//! proxy below.)
//!
//! One notification per chat: a chat's next one is sent with the id of
//! the one it shows (`replaces_id`), so the server replaces it in place
//! instead of stacking another. A click on it (the default action) is
//! reported to the core, which opens the chat.
//!
//! No server (or no bus) is said once in the log and reported to the core
//! (frontends show it); the daemon goes on receiving and storing, and uses
//! a server as soon as one appears on the bus.

use std::collections::HashMap;
use std::pin::Pin;
use std::time::Duration;

use tokio::sync::mpsc;
use wimsy_ipc::{NotifierState, NotifierStatus};
use zbus::export::futures_core::Stream;
use zbus::zvariant::Value;

use super::{Batch, ChatKey, Content, Order, Report};

/// The name notifications are shown under.
const APP_NAME: &str = "Wimsy";
/// The GUI's desktop entry (`wimsy.desktop`), so the desktop shows its
/// icon and can group, and so the user can set rules for it.
const DESKTOP_ENTRY: &str = "wimsy";
/// The freedesktop category of a received chat message.
const CATEGORY: &str = "im.received";
/// The sound theme's name for a received chat message.
const SOUND: &str = "message-new-instant";
/// The spec's key of the action a click on the notification's body runs.
const DEFAULT_ACTION: &str = "default";
/// Let the server choose how long a notification stays.
const SERVER_DEFAULT_TIMEOUT: i32 = -1;

/// How long one call to the notification server may take. A server that
/// hangs must not hold back the next chat's notification for long.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

#[zbus::proxy(
    interface = "org.freedesktop.Notifications",
    default_service = "org.freedesktop.Notifications",
    default_path = "/org/freedesktop/Notifications",
    gen_blocking = false
)]
trait Notifications {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: &str,
        replaces_id: u32,
        app_icon: &str,
        summary: &str,
        body: &str,
        actions: &[&str],
        hints: HashMap<&str, Value<'_>>,
        expire_timeout: i32,
    ) -> zbus::Result<u32>;

    fn close_notification(&self, id: u32) -> zbus::Result<()>;

    fn get_capabilities(&self) -> zbus::Result<Vec<String>>;

    #[zbus(signal)]
    fn action_invoked(&self, id: u32, action_key: String) -> zbus::Result<()>;

    #[zbus(signal)]
    fn notification_closed(&self, id: u32, reason: u32) -> zbus::Result<()>;
}

/// What the task hears from the bus.
struct Signals {
    actions: ActionInvokedStream,
    closed: NotificationClosedStream,
    owner: zbus::proxy::OwnerChangedStream<'static>,
}

enum Heard {
    Clicked(u32),
    Closed(u32),
    /// The server's name got a new owner (a server started) or lost it.
    Owner(bool),
    /// The connection went away.
    Lost,
    /// A signal that asks for nothing (another action, one unreadable).
    Nothing,
}

async fn next<S: Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
    std::future::poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
}

/// The next thing heard; never, without a connection.
async fn hear(signals: &mut Option<Signals>) -> Heard {
    let Some(s) = signals else {
        return std::future::pending().await;
    };
    tokio::select! {
        action = next(&mut s.actions) => match action.map(|a| a.args().map(|a| (a.id, a.action_key))) {
            Some(Ok((id, key))) if key == DEFAULT_ACTION => Heard::Clicked(id),
            // Another action, or one that cannot be read: nothing to do.
            Some(_) => Heard::Nothing,
            None => Heard::Lost,
        },
        closed = next(&mut s.closed) => match closed.map(|c| c.args().map(|c| c.id)) {
            Some(Ok(id)) => Heard::Closed(id),
            Some(Err(_)) => Heard::Nothing,
            None => Heard::Lost,
        },
        owner = next(&mut s.owner) => match owner {
            Some(owner) => Heard::Owner(owner.is_some()),
            None => Heard::Lost,
        },
    }
}

/// The task's state.
struct Task {
    reports: mpsc::UnboundedSender<Report>,
    proxy: Option<NotificationsProxy<'static>>,
    /// Each chat's notification id, as the server numbered it.
    shown: HashMap<ChatKey, u32>,
    /// The server renders markup in bodies (`body-markup`), so a message's
    /// `<` and `&` must be escaped; `None` until asked.
    markup: Option<bool>,
    /// What the core was last told.
    status: Option<NotifierStatus>,
}

pub(super) async fn run(
    mut orders: mpsc::UnboundedReceiver<Order>,
    reports: mpsc::UnboundedSender<Report>,
) {
    let mut task = Task {
        reports,
        proxy: None,
        shown: HashMap::new(),
        markup: None,
        status: None,
    };
    let mut signals = task.connect().await;
    task.probe().await;
    loop {
        tokio::select! {
            batch = super::next_orders(&mut orders) => {
                let Some(batch) = batch else { return };
                if task.proxy.is_none() {
                    signals = task.connect().await;
                }
                task.apply(batch).await;
            }
            heard = hear(&mut signals) => match heard {
                Heard::Nothing => {}
                Heard::Clicked(id) => task.clicked(id),
                Heard::Closed(id) => task.shown.retain(|_, shown| *shown != id),
                Heard::Owner(true) => task.probe().await,
                Heard::Owner(false) => {
                    // A gone server's ids mean nothing to the next one.
                    task.shown.clear();
                    task.markup = None;
                    task.set_status(missing_server());
                }
                Heard::Lost => {
                    signals = None;
                    task.proxy = None;
                    task.shown.clear();
                    tracing::info!("the session bus closed the connection");
                    task.set_status(no_bus());
                }
            },
        }
    }
}

impl Task {
    /// Connect to the session bus and listen; on failure, say why.
    async fn connect(&mut self) -> Option<Signals> {
        let setup = async {
            let connection = zbus::Connection::session().await?;
            let proxy = NotificationsProxy::builder(&connection)
                .cache_properties(zbus::proxy::CacheProperties::No)
                .build()
                .await?;
            let signals = Signals {
                actions: proxy.receive_action_invoked().await?,
                closed: proxy.receive_notification_closed().await?,
                owner: proxy.inner().receive_owner_changed().await?,
            };
            zbus::Result::Ok((proxy, signals))
        };
        match tokio::time::timeout(CALL_TIMEOUT, setup).await {
            Ok(Ok((proxy, signals))) => {
                self.proxy = Some(proxy);
                Some(signals)
            }
            Ok(Err(e)) => {
                tracing::info!("no session bus for notifications: {e}");
                self.set_status(no_bus());
                None
            }
            Err(_) => {
                tracing::info!("the session bus did not answer within {CALL_TIMEOUT:?}");
                self.set_status(no_bus());
                None
            }
        }
    }

    /// Ask the server what it can do, and tell the core.
    async fn probe(&mut self) {
        let Some(proxy) = &self.proxy else { return };
        match tokio::time::timeout(CALL_TIMEOUT, proxy.get_capabilities()).await {
            Ok(Ok(capabilities)) => {
                let has = |c: &str| capabilities.iter().any(|have| have == c);
                self.markup = Some(has("body-markup"));
                self.set_status(if has("actions") {
                    NotifierStatus {
                        state: NotifierState::Ready,
                        detail: "Notifications are shown; clicking one opens its chat.".to_owned(),
                    }
                } else {
                    NotifierStatus {
                        state: NotifierState::NoActions,
                        detail: "Notifications are shown, but this desktop's notification \
                                 server does not tell Wimsy when one is clicked: open the chat \
                                 from the Wimsy window."
                            .to_owned(),
                    }
                });
            }
            Ok(Err(e)) => {
                self.markup = None;
                self.set_status(failed(&e));
            }
            Err(_) => self.set_status(silent_server()),
        }
    }

    /// Tell the core when the status changed, and log it once.
    fn set_status(&mut self, status: NotifierStatus) {
        if self.status.as_ref() == Some(&status) {
            return;
        }
        match status.state {
            NotifierState::Ready | NotifierState::Unchecked | NotifierState::Unknown => {
                tracing::info!("desktop notifications: {}", status.detail);
            }
            NotifierState::NoActions | NotifierState::Missing => {
                tracing::warn!("desktop notifications: {}", status.detail);
            }
        }
        self.status = Some(status.clone());
        let _ = self.reports.send(Report::Status(status));
    }

    fn clicked(&mut self, id: u32) {
        let chat = self
            .shown
            .iter()
            .find(|(_, shown)| **shown == id)
            .map(|(chat, _)| chat.clone());
        if let Some(chat) = chat {
            let _ = self.reports.send(Report::Clicked(chat));
        }
    }

    async fn apply(&mut self, batch: Batch) {
        let going: Vec<ChatKey> = self
            .shown
            .keys()
            .filter(|chat| batch.closes(chat))
            .cloned()
            .collect();
        for chat in going {
            if let Some(id) = self.shown.remove(&chat) {
                self.close(id).await;
            }
        }
        let Batch { chats, .. } = batch;
        for (chat, content) in chats {
            match content {
                Some(content) => {
                    let previous = self.shown.get(&chat).copied();
                    if let Some(id) = self.show(&content, previous).await {
                        self.shown.insert(chat, id);
                    }
                }
                None => {
                    if let Some(id) = self.shown.remove(&chat) {
                        self.close(id).await;
                    }
                }
            }
        }
    }

    async fn show(&mut self, content: &Content, replaces: Option<u32>) -> Option<u32> {
        // Not asked yet, or the server was missing: it may be there now.
        let working = self
            .status
            .as_ref()
            .is_some_and(|s| matches!(s.state, NotifierState::Ready | NotifierState::NoActions));
        if self.markup.is_none() || !working {
            self.probe().await;
        }
        let proxy = self.proxy.as_ref()?;
        let body = if self.markup == Some(true) {
            escape_markup(&content.body)
        } else {
            content.body.clone()
        };
        let mut hints: HashMap<&str, Value<'_>> = HashMap::new();
        hints.insert("category", Value::from(CATEGORY));
        hints.insert("desktop-entry", Value::from(DESKTOP_ENTRY));
        if content.sound {
            hints.insert("sound-name", Value::from(SOUND));
        } else {
            hints.insert("suppress-sound", Value::from(true));
        }
        let call = proxy.notify(
            APP_NAME,
            replaces.unwrap_or(0),
            "",
            &content.summary,
            &body,
            &[DEFAULT_ACTION, "Open chat"],
            hints,
            SERVER_DEFAULT_TIMEOUT,
        );
        match tokio::time::timeout(CALL_TIMEOUT, call).await {
            Ok(Ok(id)) => {
                tracing::debug!(id, replaces, "notification shown");
                Some(id)
            }
            Ok(Err(e)) => {
                self.markup = None;
                self.set_status(failed(&e));
                None
            }
            Err(_) => {
                self.set_status(silent_server());
                None
            }
        }
    }

    async fn close(&self, id: u32) {
        let Some(proxy) = &self.proxy else { return };
        // An unanswered close leaves the notification up; nothing else
        // waits on it.
        match tokio::time::timeout(CALL_TIMEOUT, proxy.close_notification(id)).await {
            Ok(Ok(())) => tracing::debug!(id, "notification withdrawn"),
            Ok(Err(e)) => tracing::debug!(id, "the notification server refused a close: {e}"),
            Err(_) => tracing::debug!(id, "the notification server did not answer a close in time"),
        }
    }
}

/// What a failed call says about the server; the library's words go to
/// the log only.
fn failed(error: &zbus::Error) -> NotifierStatus {
    let text = error.to_string();
    if text.contains("ServiceUnknown") || text.contains("NameHasNoOwner") {
        missing_server()
    } else {
        tracing::info!("the notification server refused: {text}");
        refused()
    }
}

const STILL_STORED: &str = "Messages are still received and counted as unread.";

fn missing_server() -> NotifierStatus {
    NotifierStatus {
        state: NotifierState::Missing,
        detail: format!(
            "No notification server runs on this desktop, so Wimsy shows no notifications. \
             {STILL_STORED} Start one (your desktop's own, or one like dunst) and Wimsy uses it \
             at once."
        ),
    }
}

/// The library's words for why stay in the log: they name socket paths
/// and D-Bus internals, not what a person can act on.
fn no_bus() -> NotifierStatus {
    NotifierStatus {
        state: NotifierState::Missing,
        detail: format!(
            "Wimsy cannot reach the desktop's session bus, so it shows no notifications. \
             {STILL_STORED} This is usual when wimsyd was started outside a desktop session."
        ),
    }
}

fn refused() -> NotifierStatus {
    NotifierStatus {
        state: NotifierState::Missing,
        detail: format!(
            "The desktop's notification server refused Wimsy's notifications. {STILL_STORED} \
             Wimsy tries again at the next message."
        ),
    }
}

fn silent_server() -> NotifierStatus {
    NotifierStatus {
        state: NotifierState::Missing,
        detail: format!(
            "The desktop's notification server did not answer within {} s, so notifications \
             may not show. {STILL_STORED}",
            CALL_TIMEOUT.as_secs()
        ),
    }
}

/// The body as markup that shows `text` as it is.
pub(super) fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            other => out.push(other),
        }
    }
    out
}
