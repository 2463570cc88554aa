//! The core: the one owner of the daemon's state. Requests from clients and
//! events from sessions are drained by one loop; responses and events reach
//! clients through their queues in the order the core produced them, which
//! is what makes "snapshot, then every later event" hold.

mod attention;
#[cfg(test)]
mod attention_tests;
mod contacts;
#[cfg(test)]
mod contacts_tests;
mod convert;
mod idle;
pub(crate) use idle::IdleRelease;
#[cfg(test)]
mod notification_tests;
mod notifications;
mod password;
mod presence;
mod read_markers;
#[cfg(test)]
mod read_markers_tests;
mod reload;
mod requests;
mod retry;
mod roster;
mod sessions;
mod settings;
mod trust;
#[cfg(test)]
mod user_tests;
mod view;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use tokio::sync::mpsc;
use wimsy_ipc::{ConnectionStatus, Event, ServerFrame};
use wimsy_session::{BareJid, SessionConfig, SessionEvent, SessionHandle};
use wimsy_store::Store;

use crate::accounts::{AccountEntry, AccountStore};
use crate::ipc_server::{ClientHandle, ClientId, CoreInput};
use crate::secrets::Secrets;
use contacts::ContactBook;
use presence::PresenceBook;

/// One account while the daemon runs.
pub(crate) struct AccountRuntime {
    pub(crate) entry: AccountEntry,
    pub(crate) session: SessionHandle,
    /// Tells this session's events apart from a removed namesake's.
    pub(crate) generation: u64,
    pub(crate) status: ConnectionStatus,
    /// The roster, loaded from the store when the session starts and
    /// changed with it (`contacts.rs`).
    pub(crate) contacts: ContactBook,
    pub(crate) presence: PresenceBook,
    /// The fingerprint of the certificate the server last offered and we
    /// refused, to compare with what the user then trusts.
    pub(crate) offered_fingerprint: Option<String>,
    /// Who asked to see our presence and has no answer yet (`roster.rs`).
    pub(crate) subscription_requests: std::collections::BTreeSet<String>,
    /// The presence the user chose, sent at every login.
    pub(crate) own_presence: wimsy_ipc::OwnPresence,
}

/// A configured account that could not start.
pub(crate) struct Dormant {
    pub(crate) entry: AccountEntry,
    /// Why, in words.
    pub(crate) why: String,
    /// Its password could not be read: setting a new one starts it.
    pub(crate) password_unreadable: bool,
}

/// Events from every session, tagged with their account.
pub(crate) struct TaggedEvent {
    pub(crate) account: String,
    pub(crate) generation: u64,
    pub(crate) event: SessionEvent,
}

pub(crate) struct Core {
    pub(crate) store: Store,
    pub(crate) account_files: AccountStore,
    pub(crate) secrets: Secrets,
    pub(crate) accounts: BTreeMap<String, AccountRuntime>,
    /// Configured accounts that could not start (their password could not
    /// be read, say). They stay in the accounts file, in `status` and in
    /// snapshots until the user gives a password, re-adds or removes them.
    pub(crate) dormant: BTreeMap<String, Dormant>,
    pub(crate) subscribers: HashMap<ClientId, ClientHandle>,
    /// The machine has a network route.
    network_up: bool,
    /// What each connection said it shows (`set_view`); a connection
    /// that said nothing, or closed, has none.
    views: HashMap<ClientId, view::View>,
    /// The user's settings (`settings.toml`).
    pub(crate) settings: crate::settings::Settings,
    pub(crate) seq: u64,
    pub(crate) session_config: SessionConfig,
    session_events: mpsc::UnboundedSender<TaggedEvent>,
    next_generation: u64,
    /// Shows and withdraws desktop notifications, off the core's loop.
    notifier: crate::notify::Notifier,
    /// What each account's archive catch-up under way brought, notified
    /// at its end (`notifications.rs`).
    catch_up_news: HashMap<String, notifications::CatchUpNews>,
    /// Mutes, do not disturb, quiet hours and their timer (`attention.rs`).
    pub(crate) attention: attention::Attention,
    /// Starts a window on a chat when a notification is clicked and none
    /// is attached; none in tests of the core alone.
    pub(crate) gui_launcher: Option<crate::gui_launch::GuiLauncher>,
    /// Whether notifications can be shown, as the notification task last
    /// said.
    notifier_status: Option<wimsy_ipc::NotifierStatus>,
    /// When the program's pages go back to the kernel (`idle.rs`).
    pub(crate) idle: idle::IdleRelease,
    /// Events published while a session event is handled, sent after it
    /// a few at a time (`publish_held`); `None` outside one.
    held_events: Option<Vec<Event>>,
}

/// Until `at`, or for ever.
async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The notification task's next report; for ever when there is no task.
async fn next_report(
    reports: &mut Option<mpsc::UnboundedReceiver<crate::notify::Report>>,
) -> Option<crate::notify::Report> {
    match reports {
        Some(reports) => reports.recv().await,
        None => std::future::pending().await,
    }
}

/// Why the core loop ended.
pub(crate) enum Exit {
    /// A client asked to quit.
    Quit,
    /// A signal or the host asked.
    Signal,
}

impl Core {
    pub(crate) fn new(
        store: Store,
        account_files: AccountStore,
        secrets: Secrets,
        settings: crate::settings::Settings,
        session_config: SessionConfig,
        session_events: mpsc::UnboundedSender<TaggedEvent>,
        notifier: crate::notify::Notifier,
    ) -> Self {
        Self {
            store,
            account_files,
            secrets,
            accounts: BTreeMap::new(),
            dormant: BTreeMap::new(),
            subscribers: HashMap::new(),
            views: HashMap::new(),
            settings,
            network_up: crate::system::network_available(),
            seq: 0,
            session_config,
            session_events,
            next_generation: 0,
            notifier,
            catch_up_news: HashMap::new(),
            attention: attention::Attention::new(),
            gui_launcher: None,
            notifier_status: None,
            held_events: None,
            idle: idle::IdleRelease::new(crate::IdleOptions::default().release_pages_after),
        }
    }

    /// Start a session for `entry` and connect it; its stored outbox goes
    /// out again with the same origin-ids.
    pub(crate) fn start_account(
        &mut self,
        entry: AccountEntry,
        password: wimsy_session::Password,
    ) -> Result<(), String> {
        let jid =
            BareJid::new(&entry.jid).map_err(|e| format!("invalid JID {:?}: {e}", entry.jid))?;
        let server = entry
            .server
            .as_deref()
            .map(wimsy_session::ServerOverride::parse)
            .transpose()?;
        let account = wimsy_session::AccountConfig {
            jid,
            password,
            server,
            ca_file: entry.ca_file.as_ref().map(Into::into),
            pinned_sha256: entry
                .pinned_sha256
                .as_deref()
                .map(wimsy_session::Fingerprint::parse)
                .transpose()
                .map_err(|e| format!("invalid pinned_sha256 in the accounts file: {e}"))?
                .map(|pin| pin.bytes()),
            resource: None,
        };
        // Without a version the session fetches the whole roster at
        // login, which fills the book again.
        let (roster_ver, contacts) = match self.store.roster(&entry.jid) {
            Ok((ver, items)) => (ver, ContactBook::from_items(items)),
            Err(e) => {
                tracing::warn!(account = %entry.jid, "could not read the stored roster: {e}");
                (None, ContactBook::default())
            }
        };
        let archive_position = match self.store.archive_position(&entry.jid) {
            Ok(position) => position,
            Err(e) => {
                tracing::warn!(account = %entry.jid, "could not read the archive position: {e}");
                None
            }
        };
        let stored = wimsy_session::Stored {
            roster_ver,
            archive_position,
        };
        // The core confirms every batch once committed (`sessions.rs`), so
        // the server is never told we have what a crash would lose.
        let config = SessionConfig {
            confirm_stored: true,
            ..self.session_config
        };
        let (session, mut events) = wimsy_session::spawn(account, config, stored);
        self.next_generation += 1;
        let generation = self.next_generation;
        let forward = self.session_events.clone();
        let account_name = entry.jid.clone();
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                let tagged = TaggedEvent {
                    account: account_name.clone(),
                    generation,
                    event,
                };
                if forward.send(tagged).is_err() {
                    break;
                }
            }
        });
        match self.store.pending_outgoing(&entry.jid) {
            Ok(pending) => {
                for message in pending {
                    sessions::resend(&session, &message, sessions::Handover::Earlier);
                }
            }
            Err(e) => tracing::error!(account = %entry.jid, "could not read the outbox: {e}"),
        }
        // Before connecting, so the first presence sent is the chosen one.
        let own_presence = self.stored_presence(&entry.jid);
        if session.set_active(self.anyone_looking()).is_err()
            || session.network_available(self.network_up).is_err()
            || session
                .set_presence(roster::to_session(&own_presence))
                .is_err()
        {
            return Err("the session ended at once".to_owned());
        }
        // An account the user took offline stays offline across restarts.
        let offline = self.offline_by_user(&entry.jid);
        if !offline && session.connect().is_err() {
            return Err("the session ended at once".to_owned());
        }
        self.accounts.insert(
            entry.jid.clone(),
            AccountRuntime {
                entry,
                session,
                generation,
                status: if offline {
                    ConnectionStatus::new(wimsy_ipc::ConnectionState::Offline, "not connected")
                } else {
                    ConnectionStatus::new(wimsy_ipc::ConnectionState::Connecting, "connecting")
                },
                contacts,
                presence: PresenceBook::default(),
                offered_fingerprint: None,
                subscription_requests: std::collections::BTreeSet::new(),
                own_presence,
            },
        );
        Ok(())
    }

    fn offline_key(jid: &str) -> String {
        format!("account.{jid}.offline")
    }

    pub(crate) fn offline_by_user(&self, jid: &str) -> bool {
        matches!(self.store.setting(&Self::offline_key(jid)), Ok(Some(v)) if v == "true")
    }

    /// Remember whether the user wants `jid` offline, and act on it.
    pub(crate) fn set_online(&mut self, jid: &str, online: bool) {
        let value = if online { "false" } else { "true" };
        if let Err(e) = self.store.set_setting(&Self::offline_key(jid), value) {
            tracing::error!(account = %jid, "could not remember the online choice: {e}");
        }
        if let Some(a) = self.accounts.get(jid) {
            let sent = if online {
                a.session.connect()
            } else {
                a.session.disconnect()
            };
            if sent.is_err() {
                tracing::warn!(account = %jid, "the session has ended");
            }
        }
    }

    fn on_system_event(&mut self, event: crate::system::SystemEvent) {
        use crate::system::SystemEvent;
        for account in self.accounts.values() {
            let told = match event {
                SystemEvent::NetworkAvailable(up) => account.session.network_available(up),
                SystemEvent::NetworkChanged | SystemEvent::Woke { .. } => {
                    account.session.check_now()
                }
                // Async, so the loop itself awaits it (`Core::reload`).
                SystemEvent::Reload => Ok(()),
            };
            if told.is_err() {
                tracing::warn!(account = %account.entry.jid, "the session has ended");
            }
        }
        if let SystemEvent::NetworkAvailable(up) = event {
            self.network_up = up;
        }
    }

    /// An account's status as frontends should see it now.
    pub(crate) fn status_of(&self, jid: &str) -> ConnectionStatus {
        self.accounts
            .get(jid)
            .map(|a| a.status.clone())
            .unwrap_or_else(|| {
                ConnectionStatus::new(wimsy_ipc::ConnectionState::Connecting, "connecting")
            })
    }

    /// Every configured account as the accounts file must list it, with
    /// `replacing` standing in for its namesake (or added).
    pub(crate) fn configured_entries(&self, replacing: Option<&AccountEntry>) -> Vec<AccountEntry> {
        let mut entries: BTreeMap<String, AccountEntry> = self
            .accounts
            .values()
            .map(|a| (a.entry.jid.clone(), a.entry.clone()))
            .chain(
                self.dormant
                    .values()
                    .map(|d| (d.entry.jid.clone(), d.entry.clone())),
            )
            .collect();
        if let Some(entry) = replacing {
            entries.insert(entry.jid.clone(), entry.clone());
        }
        entries.into_values().collect()
    }

    /// Number the event and queue it for every subscriber; a subscriber
    /// whose queue is full is dropped (it gets a `lagged` error).
    pub(crate) fn publish(&mut self, event: Event) {
        if let Some(held) = &mut self.held_events {
            held.push(event);
            return;
        }
        self.seq += 1;
        let frame = ServerFrame::Event {
            seq: self.seq,
            event,
        };
        // Encoded once, shared by every subscriber's queue.
        let bytes = crate::ipc_server::encode_for_clients(&frame);
        self.subscribers
            .retain(|_, client| client.send_event(&bytes).is_ok());
    }

    /// Send what a session event produced, in order, letting the clients'
    /// writers run after every few: a batch of hundreds of messages must
    /// not fill the queue of a client that reads at full speed, which would
    /// then be cut off as if it did not read. Nothing else is handled
    /// meanwhile, so no answer or event comes between them.
    async fn publish_held(&mut self, held: Vec<Event>) {
        const BETWEEN_YIELDS: usize = 8;
        for (i, event) in held.into_iter().enumerate() {
            if i > 0 && i % BETWEEN_YIELDS == 0 {
                tokio::task::yield_now().await;
            }
            self.publish(event);
        }
        tokio::task::yield_now().await;
    }

    pub(crate) async fn run(
        &mut self,
        mut inputs: mpsc::Receiver<CoreInput>,
        mut session_events: mpsc::UnboundedReceiver<TaggedEvent>,
        mut system_events: mpsc::Receiver<crate::system::SystemEvent>,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Exit {
        tokio::pin!(shutdown);
        let mut reports = self.notifier.take_reports();
        self.rearm();
        self.idle.arm(tokio::time::Instant::now());
        loop {
            let wake_at = self.attention.wake_at;
            let release_at = self.idle.at;
            tokio::select! {
                () = &mut shutdown => return Exit::Signal,
                () = sleep_until(wake_at) => self.on_wake(),
                () = sleep_until(release_at) => self.idle.fire(),
                Some(report) = next_report(&mut reports) => self.on_notifier_report(report),
                Some(input) = inputs.recv() => match input {
                    CoreInput::Request { client, id, request } => {
                        if self.handle_request(&client, id, request).await {
                            return Exit::Quit;
                        }
                    }
                    CoreInput::Refused { client, error } => {
                        // A client that cannot take its own error is cut off
                        // by `send` itself; nothing more to do.
                        let _ = client.send(&error);
                    }
                    CoreInput::Gone(client) => {
                        self.subscribers.remove(&client);
                        self.record_view(client, view::View::default());
                        self.idle.arm(tokio::time::Instant::now());
                    }
                },
                Some(tagged) = session_events.recv() => {
                    self.held_events = Some(Vec::new());
                    self.on_session_event(tagged);
                    let held = self.held_events.take().unwrap_or_default();
                    self.publish_held(held).await;
                }
                Some(event) = system_events.recv() => match event {
                    crate::system::SystemEvent::Reload => self.reload().await,
                    other => {
                        // The timer stood still while the machine slept.
                        let woke = matches!(other, crate::system::SystemEvent::Woke { .. });
                        self.on_system_event(other);
                        if woke {
                            self.on_wake();
                        }
                    }
                },
            }
        }
    }

    /// Tell subscribers, close every session cleanly, and let the store
    /// flush (it is dropped with the core).
    pub(crate) async fn shutdown(&mut self, close_timeout: Duration) {
        self.publish(Event::ShuttingDown);
        let sessions: Vec<(String, SessionHandle)> = self
            .accounts
            .iter()
            .map(|(jid, a)| (jid.clone(), a.session.clone()))
            .collect();
        let mut closing = tokio::task::JoinSet::new();
        for (jid, session) in sessions {
            closing.spawn(async move {
                if tokio::time::timeout(close_timeout, session.shutdown())
                    .await
                    .is_err()
                {
                    tracing::warn!(account = %jid, "session did not close in time");
                }
            });
        }
        while closing.join_next().await.is_some() {}
        self.subscribers.clear();
    }
}
