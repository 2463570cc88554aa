//! What the tray shows, worked out from the daemon's state: pure, so it is
//! tested without a bus.

use wimsy_ipc::{ConnectionState, FrontendState, SettingValue};

/// The setting the tray's "Do not disturb" item switches.
pub const DO_NOT_DISTURB: &str = "notifications.do_not_disturb";

/// The one state the icon shows for all accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overall {
    /// Every account that should be online is.
    Connected,
    /// At least one is on its way (none in error).
    Connecting,
    /// None is online, and none is trying (taken offline, or no network).
    Offline,
    /// At least one needs the user (wrong password, certificate...).
    Error,
    /// No daemon answers.
    NotRunning,
}

impl Overall {
    /// The word for the tooltip's title.
    pub fn words(self) -> &'static str {
        match self {
            Self::Connected => "Connected",
            Self::Connecting => "Connecting",
            Self::Offline => "Offline",
            Self::Error => "Needs attention",
            Self::NotRunning => "Wimsy is not running",
        }
    }
}

/// One account's line in the menu and the tooltip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountLine {
    pub jid: String,
    /// Its state in words.
    pub state: String,
}

/// Everything the tray draws.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    pub overall: Overall,
    pub accounts: Vec<AccountLine>,
    /// Unread messages over all accounts.
    pub unread: u32,
    /// Whether do not disturb is on; `None` when the daemon does not offer
    /// it (an older one) or is not running.
    pub do_not_disturb: Option<bool>,
}

impl Model {
    /// No daemon answers.
    pub fn not_running() -> Self {
        Self {
            overall: Overall::NotRunning,
            accounts: Vec::new(),
            unread: 0,
            do_not_disturb: None,
        }
    }

    pub fn from_state(state: &FrontendState) -> Self {
        let states: Vec<ConnectionState> =
            state.accounts.values().map(|a| a.status.state).collect();
        let any = |s: ConnectionState| states.contains(&s);
        let overall = if any(ConnectionState::Error) {
            Overall::Error
        } else if any(ConnectionState::Connecting) {
            Overall::Connecting
        } else if any(ConnectionState::Connected) {
            Overall::Connected
        } else {
            Overall::Offline
        };
        let accounts = state
            .accounts
            .iter()
            .map(|(jid, view)| AccountLine {
                jid: jid.clone(),
                state: state_words(view.status.state).to_owned(),
            })
            .collect();
        let do_not_disturb = state.setting(DO_NOT_DISTURB).and_then(|s| match s.value {
            SettingValue::Bool(on) => Some(on),
            SettingValue::Text(_) => None,
        });
        Self {
            overall,
            accounts,
            unread: state.accounts.values().map(|a| a.unread_total()).sum(),
            do_not_disturb,
        }
    }

    /// Whether any account is online or trying to be: "Go offline" then,
    /// else "Go online".
    pub fn online(&self) -> bool {
        matches!(self.overall, Overall::Connected | Overall::Connecting)
    }

    /// The tooltip's title: the state, and the unread count.
    pub fn title(&self) -> String {
        match (self.overall, self.unread) {
            (Overall::NotRunning, _) => Overall::NotRunning.words().to_owned(),
            (overall, 0) => format!("Wimsy: {}", overall.words().to_lowercase()),
            (overall, 1) => format!(
                "Wimsy: {}, 1 unread message",
                overall.words().to_lowercase()
            ),
            (overall, n) => format!(
                "Wimsy: {}, {n} unread messages",
                overall.words().to_lowercase()
            ),
        }
    }

    /// The tooltip's body: a line per account.
    pub fn description(&self) -> String {
        if self.overall == Overall::NotRunning {
            return "Your accounts are offline. Choose Start Wimsy to connect them.".to_owned();
        }
        if self.accounts.is_empty() {
            return "No account yet. Open Wimsy to add one.".to_owned();
        }
        self.accounts
            .iter()
            .map(|a| format!("{}: {}", a.jid, a.state))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A connection state in words.
pub fn state_words(state: ConnectionState) -> &'static str {
    match state {
        ConnectionState::Connected => "connected",
        ConnectionState::Connecting => "connecting",
        ConnectionState::WaitingForNetwork => "waiting for the network",
        ConnectionState::Offline => "offline",
        ConnectionState::Error => "needs attention (open Wimsy)",
        ConnectionState::Unknown => "in a state this version does not know",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use wimsy_ipc::{
        AccountSnapshot, ChatMessage, ChatSummary, ConnectionStatus, Delivery, Direction, Setting,
        SettingKind, Snapshot,
    };

    fn account(jid: &str, state: ConnectionState, unread: u32) -> AccountSnapshot {
        AccountSnapshot {
            jid: jid.into(),
            status: ConnectionStatus::new(state, ""),
            contacts: vec![],
            chats: vec![ChatSummary {
                peer: "bob@example.org".into(),
                last: ChatMessage {
                    id: 1,
                    peer: "bob@example.org".into(),
                    direction: Direction::In,
                    body: "hi".into(),
                    timestamp_ms: 0,
                    origin_id: None,
                    stanza_id: None,
                    delivery: Delivery::Received,
                },
                unread,
            }],
            subscription_requests: vec![],
            presence: Default::default(),
            mutes: vec![],
        }
    }

    fn state(accounts: Vec<AccountSnapshot>, dnd: Option<bool>) -> FrontendState {
        FrontendState::from_snapshot(Snapshot {
            seq: 1,
            accounts,
            settings: dnd
                .map(|on| Setting {
                    key: DO_NOT_DISTURB.into(),
                    value: SettingValue::Bool(on),
                    default: SettingValue::Bool(false),
                    kind: SettingKind::Bool,
                    choices: None,
                    label: "Do not disturb".into(),
                    description: String::new(),
                })
                .into_iter()
                .collect(),
            notifier: None,
        })
    }

    #[test]
    fn the_worst_account_decides_and_unread_adds_up() {
        let m = Model::from_state(&state(
            vec![
                account("a@x", ConnectionState::Connected, 2),
                account("b@x", ConnectionState::Connecting, 1),
            ],
            Some(true),
        ));
        assert_eq!(m.overall, Overall::Connecting);
        assert_eq!(m.unread, 3);
        assert_eq!(m.do_not_disturb, Some(true));
        assert_eq!(m.title(), "Wimsy: connecting, 3 unread messages");
        assert_eq!(m.description(), "a@x: connected\nb@x: connecting");
        assert!(m.online());

        let m = Model::from_state(&state(
            vec![
                account("a@x", ConnectionState::Error, 0),
                account("b@x", ConnectionState::Connected, 0),
            ],
            None,
        ));
        assert_eq!(m.overall, Overall::Error);
        assert_eq!(m.do_not_disturb, None);
        assert_eq!(m.title(), "Wimsy: needs attention");

        let m = Model::from_state(&state(
            vec![account("a@x", ConnectionState::WaitingForNetwork, 1)],
            Some(false),
        ));
        assert_eq!(m.overall, Overall::Offline);
        assert!(!m.online());
        assert_eq!(m.title(), "Wimsy: offline, 1 unread message");
        assert_eq!(m.description(), "a@x: waiting for the network");
    }

    #[test]
    fn no_daemon_and_no_account_say_what_to_do() {
        let m = Model::not_running();
        assert_eq!(m.title(), "Wimsy is not running");
        assert!(m.description().contains("Start Wimsy"));
        let m = Model::from_state(&state(vec![], None));
        assert_eq!(m.overall, Overall::Offline);
        assert!(m.description().contains("Open Wimsy to add one"));
    }
}
