//! The account list as the window shows it, computed from the reducer's
//! state alone so it can be tested without a window or a daemon.

use wimsy_ipc::{ConnectionState, FrontendState};

/// One line of the account list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// Bare JID.
    pub jid: String,
    /// The state word, as `wimsyctl` and the protocol spell it.
    pub state: &'static str,
    /// The daemon's human reason; may be empty.
    pub reason: String,
    /// Unread messages over all of the account's chats.
    pub unread: u32,
    /// How the state word is coloured.
    pub tone: Tone,
}

/// A colour family for a state word, so the view need not know the states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Connected.
    Good,
    /// On its way: connecting or waiting for the network.
    Pending,
    /// Offline because the user asked; nothing is wrong.
    Quiet,
    /// Stopped on an error the user must act on.
    Bad,
}

impl Tone {
    fn of(state: ConnectionState) -> Self {
        match state {
            ConnectionState::Connected => Self::Good,
            ConnectionState::Connecting | ConnectionState::WaitingForNetwork => Self::Pending,
            ConnectionState::Offline => Self::Quiet,
            ConnectionState::Error => Self::Bad,
            // A newer daemon's state: its reason is shown, nothing is
            // claimed about it.
            ConnectionState::Unknown => Self::Quiet,
        }
    }
}

/// Every account, ordered by JID (the reducer keeps them sorted, so the
/// list does not jump around as states change).
pub fn account_rows(state: &FrontendState) -> Vec<AccountRow> {
    state
        .accounts
        .iter()
        .map(|(jid, view)| AccountRow {
            jid: jid.clone(),
            state: view.status.state.as_str(),
            reason: view.status.reason.clone(),
            unread: view.unread_total(),
            tone: Tone::of(view.status.state),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wimsy_ipc::{
        AccountSnapshot, ChatMessage, ChatSummary, ConnectionStatus, Delivery, Direction, Event,
        Snapshot,
    };

    fn account(jid: &str, state: ConnectionState, reason: &str) -> AccountSnapshot {
        AccountSnapshot {
            jid: jid.to_owned(),
            status: ConnectionStatus::new(state, reason),
            contacts: Vec::new(),
            chats: Vec::new(),
        }
    }

    fn chat(peer: &str, unread: u32) -> ChatSummary {
        ChatSummary {
            peer: peer.to_owned(),
            last: ChatMessage {
                id: 1,
                peer: peer.to_owned(),
                direction: Direction::In,
                body: "hi".to_owned(),
                timestamp_ms: 0,
                origin_id: None,
                stanza_id: None,
                delivery: Delivery::Received,
            },
            unread,
        }
    }

    #[test]
    fn no_accounts_no_rows() {
        assert!(account_rows(&FrontendState::default()).is_empty());
    }

    #[test]
    fn rows_carry_jid_state_reason_and_unread_sorted_by_jid() {
        let mut bob = account(
            "bob@example.org",
            ConnectionState::Error,
            "authentication failed",
        );
        bob.chats = vec![chat("carol@example.org", 2), chat("dave@example.org", 3)];
        let state = FrontendState::from_snapshot(Snapshot {
            seq: 7,
            settings: Vec::new(),
            accounts: vec![
                bob,
                account("alice@example.org", ConnectionState::Connected, ""),
            ],
        });

        let rows = account_rows(&state);

        assert_eq!(
            rows,
            vec![
                AccountRow {
                    jid: "alice@example.org".to_owned(),
                    state: "connected",
                    reason: String::new(),
                    unread: 0,
                    tone: Tone::Good,
                },
                AccountRow {
                    jid: "bob@example.org".to_owned(),
                    state: "error",
                    reason: "authentication failed".to_owned(),
                    unread: 5,
                    tone: Tone::Bad,
                },
            ]
        );
    }

    #[test]
    fn every_state_has_its_word_and_tone() {
        let cases = [
            (ConnectionState::Connected, "connected", Tone::Good),
            (ConnectionState::Connecting, "connecting", Tone::Pending),
            (
                ConnectionState::WaitingForNetwork,
                "waiting_for_network",
                Tone::Pending,
            ),
            (ConnectionState::Offline, "offline", Tone::Quiet),
            (ConnectionState::Error, "error", Tone::Bad),
            (ConnectionState::Unknown, "unknown", Tone::Quiet),
        ];
        for (state, word, tone) in cases {
            let frontend = FrontendState::from_snapshot(Snapshot {
                seq: 0,
                settings: Vec::new(),
                accounts: vec![account("a@example.org", state, "why")],
            });
            let rows = account_rows(&frontend);
            assert_eq!((rows[0].state, rows[0].tone), (word, tone), "{state:?}");
        }
    }

    #[test]
    fn rows_follow_events() {
        let mut state = FrontendState::from_snapshot(Snapshot {
            seq: 1,
            settings: Vec::new(),
            accounts: vec![account(
                "a@example.org",
                ConnectionState::Connecting,
                "dialling",
            )],
        });
        state.apply(
            2,
            &Event::Connection {
                account: "a@example.org".to_owned(),
                status: ConnectionStatus::new(ConnectionState::WaitingForNetwork, "no route"),
            },
        );
        let rows = account_rows(&state);
        assert_eq!(rows[0].state, "waiting_for_network");
        assert_eq!(rows[0].reason, "no route");
    }
}
