//! Desktop notifications: what a notification says ([`Content`]) and the
//! task that shows and withdraws them ([`Notifier`]).
//!
//! The core decides *whether* a chat notifies (settings, focus, carbons,
//! catch-up) and hands orders to this task over a channel, so it never
//! waits on the session bus. The task keeps one notification per chat and
//! replaces it in place. On Linux it speaks freedesktop Notifications on
//! the session bus (`freedesktop.rs`); elsewhere it only logs
//! (`log_only.rs`) until a platform backend exists.

#[cfg(target_os = "linux")]
mod freedesktop;
#[cfg(not(target_os = "linux"))]
mod log_only;
pub(crate) mod quiet;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use tokio::sync::mpsc;

/// One chat: the account and the other party, both bare JIDs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ChatKey {
    pub(crate) account: String,
    pub(crate) peer: String,
}

/// How much a notification shows (`notifications.preview`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Preview {
    /// Who wrote, and the text.
    Full,
    /// Who wrote only.
    Sender,
    /// Neither: only that something arrived.
    None,
}

impl Preview {
    /// The setting's choices, in the order a settings screen shows them.
    pub(crate) const CHOICES: &'static [&'static str] = &["full", "sender", "none"];

    /// From the setting's stored word; an unknown one shows least.
    pub(crate) fn from_setting(word: &str) -> Self {
        match word {
            "full" => Self::Full,
            "sender" => Self::Sender,
            _ => Self::None,
        }
    }
}

/// What one chat's notification says.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Content {
    pub(crate) summary: String,
    pub(crate) body: String,
    /// Play the theme's message sound (`notifications.sound`).
    pub(crate) sound: bool,
}

// By hand: the body is a message's text, which stays out of logs.
impl std::fmt::Debug for Content {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Content")
            .field("summary_len", &self.summary.len())
            .field("body_len", &self.body.len())
            .field("sound", &self.sound)
            .finish()
    }
}

impl Content {
    /// The notification of a chat with `unread` new messages from `sender`
    /// (a name or a JID), the latest being `latest`.
    pub(crate) fn new(
        preview: Preview,
        sender: &str,
        unread: u32,
        latest: &str,
        sound: bool,
    ) -> Self {
        let count = if unread > 1 {
            format!("{unread} new messages")
        } else {
            "New message".to_owned()
        };
        let (summary, body) = match preview {
            Preview::Full if unread > 1 => (sender.to_owned(), format!("{count}\n{latest}")),
            Preview::Full => (sender.to_owned(), latest.to_owned()),
            Preview::Sender => (sender.to_owned(), count),
            Preview::None => (count, String::new()),
        };
        Self {
            summary,
            body,
            sound,
        }
    }
}

/// An order for the notification task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Order {
    /// Show the chat's notification, replacing the one it has.
    Show(ChatKey, Content),
    /// Withdraw the chat's notification, if it has one.
    Close(ChatKey),
    /// Withdraw every notification of this account (it was removed).
    CloseAccount(String),
    /// Withdraw every notification (notifications were turned off).
    CloseAll,
}

/// What the notification task tells the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Report {
    /// The user clicked the chat's notification (its default action).
    Clicked(ChatKey),
    /// Whether notifications can be shown changed.
    Status(wimsy_ipc::NotifierStatus),
}

/// The core's end of the notification task. Sending never waits.
#[derive(Debug)]
pub(crate) struct Notifier {
    orders: mpsc::UnboundedSender<Order>,
    /// Taken by the core's loop when it starts.
    reports: Option<mpsc::UnboundedReceiver<Report>>,
}

/// The task's end of a [`Notifier`] made by [`Notifier::detached`]: what
/// tests read the orders from and send reports with.
#[derive(Debug)]
pub(crate) struct TaskEnd {
    pub(crate) orders: mpsc::UnboundedReceiver<Order>,
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) reports: mpsc::UnboundedSender<Report>,
}

impl Notifier {
    /// Start the task that shows notifications on this platform.
    pub(crate) fn spawn() -> Self {
        let (notifier, end) = Self::detached();
        #[cfg(target_os = "linux")]
        tokio::spawn(freedesktop::run(end.orders, end.reports));
        #[cfg(not(target_os = "linux"))]
        tokio::spawn(log_only::run(end.orders, end.reports));
        notifier
    }

    /// A notifier whose orders are read by the caller (tests, the fuzzing
    /// harness) instead of a task.
    pub(crate) fn detached() -> (Self, TaskEnd) {
        let (orders, orders_rx) = mpsc::unbounded_channel();
        let (reports_tx, reports) = mpsc::unbounded_channel();
        (
            Self {
                orders,
                reports: Some(reports),
            },
            TaskEnd {
                orders: orders_rx,
                reports: reports_tx,
            },
        )
    }

    pub(crate) fn order(&self, order: Order) {
        // The task ends only with the runtime; nothing is left to show then.
        let _ = self.orders.send(order);
    }

    /// The task's reports, once.
    pub(crate) fn take_reports(&mut self) -> Option<mpsc::UnboundedReceiver<Report>> {
        self.reports.take()
    }
}

/// Wait for the next orders and fold everything already queued into them:
/// a chat's later order replaces its earlier ones, so a burst of messages
/// costs one call per chat. `None` when the core is gone.
async fn next_orders(rx: &mut mpsc::UnboundedReceiver<Order>) -> Option<Batch> {
    let first = rx.recv().await?;
    let mut batch = Batch::default();
    batch.add(first);
    while let Ok(order) = rx.try_recv() {
        batch.add(order);
    }
    Some(batch)
}

/// Orders folded: close everything (if asked), then every chat of the
/// accounts to close, then each chat's last order.
#[derive(Debug, Default, PartialEq, Eq)]
struct Batch {
    close_all: bool,
    close_accounts: BTreeSet<String>,
    chats: BTreeMap<ChatKey, Option<Content>>,
}

impl Batch {
    /// Whether `chat` is to go by a close-all or its account's close.
    fn closes(&self, chat: &ChatKey) -> bool {
        self.close_all || self.close_accounts.contains(&chat.account)
    }
}

impl Batch {
    fn add(&mut self, order: Order) {
        match order {
            Order::Show(chat, content) => {
                self.chats.insert(chat, Some(content));
            }
            Order::Close(chat) => {
                self.chats.insert(chat, None);
            }
            Order::CloseAccount(account) => {
                self.chats.retain(|chat, _| chat.account != account);
                self.close_accounts.insert(account);
            }
            Order::CloseAll => {
                self.close_all = true;
                self.close_accounts.clear();
                self.chats.clear();
            }
        }
    }
}
