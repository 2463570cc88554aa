//! freedesktop Notifications on the session bus (notify-rust on zbus, on
//! the daemon's tokio runtime).
//!
//! One notification per chat: a chat's next one is sent with the id of
//! the one it shows (`replaces_id`), so the server replaces it in place
//! instead of stacking another. Each shown notification's handle is kept:
//! it withdraws it (`CloseNotification`), and its connection is the one
//! the server sends the notification's signals to.
//!
//! No server (or no bus) is said once in the log; the daemon goes on
//! receiving and storing, and tries again at the next notification.

use std::collections::HashMap;
use std::time::Duration;

use notify_rust::{Hint, Notification, NotificationHandle};
use tokio::sync::mpsc;

use super::{Batch, ChatKey, Content, Order};

/// The name notifications are shown under.
const APP_NAME: &str = "Wimsy";
/// The GUI's desktop entry (`wimsy.desktop`), so the desktop shows its
/// icon and can group, and so the user can set rules for it.
const DESKTOP_ENTRY: &str = "wimsy";
/// The freedesktop category of a received chat message.
const CATEGORY: &str = "im.received";
/// The sound theme's name for a received chat message.
const SOUND: &str = "message-new-instant";

/// How long one call to the notification server may take. A server that
/// hangs must not hold back the next chat's notification for long.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// What the task knows of the notification server.
#[derive(Debug, Default)]
struct Server {
    /// It renders markup in bodies (`body-markup`), so a message's `<` and
    /// `&` must be escaped; `None` until asked.
    markup: Option<bool>,
    /// The last attempt failed and that was logged: stay quiet about the
    /// next failures, say so when it works again.
    missing_logged: bool,
}

pub(super) async fn run(mut orders: mpsc::UnboundedReceiver<Order>) {
    let mut shown: HashMap<ChatKey, NotificationHandle> = HashMap::new();
    let mut server = Server::default();
    while let Some(batch) = super::next_orders(&mut orders).await {
        let going: Vec<ChatKey> = shown
            .keys()
            .filter(|chat| batch.closes(chat))
            .cloned()
            .collect();
        for chat in going {
            if let Some(handle) = shown.remove(&chat) {
                close(&handle).await;
            }
        }
        let Batch { chats, .. } = batch;
        for (chat, content) in chats {
            match content {
                Some(content) => {
                    let previous = shown.get(&chat).map(NotificationHandle::id);
                    if let Some(handle) = show(&mut server, &content, previous).await {
                        shown.insert(chat, handle);
                    }
                }
                None => {
                    if let Some(handle) = shown.remove(&chat) {
                        close(&handle).await;
                    }
                }
            }
        }
    }
}

async fn show(
    server: &mut Server,
    content: &Content,
    replaces: Option<u32>,
) -> Option<NotificationHandle> {
    if server.markup.is_none() {
        server.markup = match tokio::time::timeout(CALL_TIMEOUT, capabilities()).await {
            Ok(Ok(capabilities)) => Some(capabilities.iter().any(|c| c == "body-markup")),
            // The Notify below fails the same way and says why.
            _ => None,
        };
    }
    let body = if server.markup == Some(true) {
        escape_markup(&content.body)
    } else {
        content.body.clone()
    };
    let mut notification = Notification::new();
    notification
        .appname(APP_NAME)
        .summary(&content.summary)
        .body(&body)
        .action("default", "Open chat")
        .hint(Hint::Category(CATEGORY.to_owned()))
        .hint(Hint::DesktopEntry(DESKTOP_ENTRY.to_owned()));
    if content.sound {
        notification.hint(Hint::SoundName(SOUND.to_owned()));
    } else {
        notification.hint(Hint::SuppressSound(true));
    }
    if let Some(id) = replaces {
        notification.id(id);
    }
    let failure = match tokio::time::timeout(CALL_TIMEOUT, notification.show_async()).await {
        Ok(Ok(handle)) => {
            if server.missing_logged {
                tracing::info!("desktop notifications are shown again");
                server.missing_logged = false;
            }
            tracing::debug!(id = handle.id(), replaces, "notification shown");
            return Some(handle);
        }
        Ok(Err(e)) => why_not(&e.to_string()),
        Err(_) => format!(
            "the notification server did not answer within {} s",
            CALL_TIMEOUT.as_secs()
        ),
    };
    // Another server may be there next time.
    server.markup = None;
    if server.missing_logged {
        tracing::debug!("no desktop notification: {failure}");
    } else {
        tracing::warn!(
            "desktop notifications cannot be shown: {failure}. Messages are still received \
             and stored; wimsyd tries again at the next message"
        );
        server.missing_logged = true;
    }
    None
}

/// Why a notification could not be shown, in words.
fn why_not(error: &str) -> String {
    if error.contains("ServiceUnknown") || error.contains("NameHasNoOwner") {
        "no notification server runs on the session bus (a desktop's own, or one like dunst, \
         shows them)"
            .to_owned()
    } else if error.contains("No such file") || error.contains("DBUS_SESSION_BUS_ADDRESS") {
        format!("the session bus cannot be reached ({error})")
    } else {
        format!("the notification server refused it ({error})")
    }
}

/// The server's capabilities. notify-rust's own call blocks; this is the
/// same call, awaited.
async fn capabilities() -> zbus::Result<Vec<String>> {
    let connection = zbus::Connection::session().await?;
    let reply = connection
        .call_method(
            Some("org.freedesktop.Notifications"),
            "/org/freedesktop/Notifications",
            Some("org.freedesktop.Notifications"),
            "GetCapabilities",
            &(),
        )
        .await?;
    reply.body().deserialize()
}

async fn close(handle: &NotificationHandle) {
    let id = handle.id();
    // An unanswered close leaves the notification up; nothing else waits on it.
    if tokio::time::timeout(CALL_TIMEOUT, handle.close_async())
        .await
        .is_err()
    {
        tracing::debug!(id, "the notification server did not answer a close in time");
    } else {
        tracing::debug!(id, "notification withdrawn");
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
