//! The window's state, how messages change it, and how it is drawn.
//!
//! All daemon state comes through [`FrontendState`], the same reducer every
//! frontend uses, so the window shows what `wimsyctl follow` would.

use std::path::{Path, PathBuf};

use iced::widget::{column, container, row, scrollable, text};
use iced::{Element, Length, Subscription};
use wimsy_ipc::{Applied, FrontendState};

use crate::accounts::{AccountRow, Tone, account_rows};
use crate::daemon_link::{self, Down, Link, LinkEvent, RETRY_EVERY};
use crate::hooks;

/// Everything the window knows.
pub struct App {
    socket: PathBuf,
    /// Reaches the link task; `None` until it has started.
    link: Option<Link>,
    connection: Connection,
}

/// Where the connection to the daemon stands.
#[derive(Debug)]
enum Connection {
    /// The first attempt has not finished yet.
    Starting,
    /// Not attached; the link retries on its own.
    Down(Down),
    /// Attached and following events.
    Attached {
        /// The link's number for this connection.
        connection: u64,
        /// The daemon's name and version.
        daemon: String,
        /// Rebuilt from the snapshot and every event since.
        state: FrontendState,
        /// Events were missed and a fresh snapshot is on its way; events
        /// until then cannot be applied.
        resyncing: bool,
    },
}

/// Something that happened.
#[derive(Debug, Clone)]
pub enum Message {
    /// From the daemon link.
    Link(LinkEvent),
}

impl App {
    /// A window for the daemon at `socket`, not yet attached.
    pub fn new(socket: PathBuf) -> Self {
        Self {
            socket,
            link: None,
            connection: Connection::Starting,
        }
    }

    /// Apply one message.
    pub fn update(&mut self, message: Message) {
        let Message::Link(event) = message;
        match event {
            LinkEvent::Ready(link) => self.link = Some(link),
            LinkEvent::Attached {
                connection,
                daemon,
                snapshot,
            } => {
                let state = FrontendState::from_snapshot(snapshot);
                // So an end-to-end test sees the window attached without
                // reading pixels.
                hooks::say(|| attached_line(state.accounts.len()));
                self.connection = Connection::Attached {
                    connection,
                    daemon,
                    state,
                    resyncing: false,
                };
            }
            LinkEvent::Event { seq, event } => {
                let Connection::Attached {
                    connection,
                    state,
                    resyncing,
                    ..
                } = &mut self.connection
                else {
                    // Left over from a connection already reported down.
                    return;
                };
                if *resyncing {
                    return;
                }
                match state.apply(seq, &event) {
                    Applied::Applied | Applied::Stale => {}
                    // A newer daemon's kind of event: counted, nothing to draw.
                    Applied::Ignored => {
                        tracing::debug!(
                            seq,
                            "skipped an event of a kind this version does not know"
                        );
                    }
                    Applied::Gap { expected, got } => {
                        tracing::warn!("missed events {expected} to {}; resubscribing", got - 1);
                        *resyncing = true;
                        if let Some(link) = &self.link {
                            link.resubscribe(*connection);
                        }
                    }
                }
            }
            LinkEvent::Down(down) => self.connection = Connection::Down(down),
        }
    }

    /// The daemon link, for as long as the window is open.
    pub fn subscription(&self) -> Subscription<Message> {
        daemon_link::connect(self.socket.clone()).map(Message::Link)
    }

    /// Draw the window.
    pub fn view(&self) -> Element<'_, Message> {
        let banner = banner(&self.socket, &self.connection);
        let mut page = column![text(banner.headline).size(20)].spacing(12);
        if let Some(detail) = banner.detail {
            page = page.push(text(detail).style(text::secondary));
        }
        if let Connection::Attached { state, .. } = &self.connection {
            let rows = account_rows(state);
            if rows.is_empty() {
                page = page.push(text(
                    "No accounts yet. Add one with `wimsyctl account add`.",
                ));
            } else {
                page = page.push(scrollable(
                    column(rows.into_iter().map(account_line)).spacing(14),
                ));
            }
        }
        container(page).padding(20).width(Length::Fill).into()
    }
}

/// One account: the JID with its state word and unread total on one line,
/// the daemon's reason under it (reasons can be long, and a table column
/// would squeeze both them and long JIDs).
fn account_line(account: AccountRow) -> Element<'static, Message> {
    let tone = match account.tone {
        Tone::Good => text::success,
        Tone::Pending => text::warning,
        Tone::Quiet => text::secondary,
        Tone::Bad => text::danger,
    };
    let mut lines = column![
        row![
            text(account.jid).width(Length::Fill),
            text(account.state).style(tone),
            text(format!("{} unread", account.unread)),
        ]
        .spacing(16)
    ]
    .spacing(2);
    if !account.reason.is_empty() {
        lines = lines.push(text(account.reason).size(14).style(text::secondary));
    }
    lines.into()
}

/// The top of the window: where the connection stands.
#[derive(Debug, PartialEq, Eq)]
struct Banner {
    headline: String,
    detail: Option<String>,
}

fn banner(socket: &Path, connection: &Connection) -> Banner {
    let socket = socket.display();
    let retry = format!("Retrying every {} s.", RETRY_EVERY.as_secs());
    match connection {
        Connection::Starting => Banner {
            headline: format!("Attaching to wimsyd at {socket}…"),
            detail: None,
        },
        Connection::Down(Down::NoDaemon(why)) => Banner {
            headline: format!("No wimsyd running at {socket}"),
            detail: Some(format!("Start it with `wimsyd`. {retry} ({why})")),
        },
        Connection::Down(Down::Closed) => Banner {
            headline: format!("wimsyd at {socket} closed the connection"),
            detail: Some(retry),
        },
        Connection::Down(Down::Failed(why)) => Banner {
            headline: format!("Cannot attach to wimsyd at {socket}"),
            detail: Some(format!("{why}\n{retry}")),
        },
        Connection::Attached {
            daemon,
            state,
            resyncing,
            ..
        } => Banner {
            headline: format!("Attached to {daemon}"),
            detail: if state.shutting_down {
                Some("wimsyd is shutting down.".to_owned())
            } else if *resyncing {
                Some("Missed some updates; fetching the current state…".to_owned())
            } else {
                None
            },
        },
    }
}

/// The line an end-to-end test waits for.
fn attached_line(accounts: usize) -> String {
    format!("attached {accounts} accounts")
}

#[cfg(test)]
mod tests {
    use super::*;
    use wimsy_ipc::{AccountSnapshot, ConnectionState, ConnectionStatus, Event, Snapshot};

    fn snapshot(seq: u64) -> Snapshot {
        Snapshot {
            seq,
            settings: Vec::new(),
            accounts: vec![AccountSnapshot {
                jid: "a@example.org".to_owned(),
                status: ConnectionStatus::new(ConnectionState::Connecting, "dialling"),
                contacts: Vec::new(),
                chats: Vec::new(),
            }],
        }
    }

    fn attached(app: &mut App, connection: u64, seq: u64) {
        app.update(Message::Link(LinkEvent::Attached {
            connection,
            daemon: "wimsyd 0.1.0".to_owned(),
            snapshot: snapshot(seq),
        }));
    }

    fn connected(seq: u64) -> Message {
        Message::Link(LinkEvent::Event {
            seq,
            event: Event::Connection {
                account: "a@example.org".to_owned(),
                status: ConnectionStatus::new(ConnectionState::Connected, ""),
            },
        })
    }

    fn states(app: &App) -> Vec<&'static str> {
        match &app.connection {
            Connection::Attached { state, .. } => {
                account_rows(state).iter().map(|r| r.state).collect()
            }
            other => panic!("not attached: {other:?}"),
        }
    }

    #[test]
    fn no_daemon_banner_names_the_socket() {
        let b = banner(
            Path::new("/tmp/nonexistent.sock"),
            &Connection::Down(Down::NoDaemon("No such file or directory".to_owned())),
        );
        assert_eq!(b.headline, "No wimsyd running at /tmp/nonexistent.sock");
        assert!(b.detail.is_some_and(|d| d.contains("Retrying")));
    }

    #[test]
    fn closed_banner_says_so() {
        let b = banner(Path::new("/s"), &Connection::Down(Down::Closed));
        assert_eq!(b.headline, "wimsyd at /s closed the connection");
    }

    #[test]
    fn snapshot_then_events_update_the_rows() {
        let mut app = App::new(PathBuf::from("/s"));
        attached(&mut app, 1, 10);
        assert_eq!(states(&app), ["connecting"]);
        app.update(connected(11));
        assert_eq!(states(&app), ["connected"]);
        // An event already seen changes nothing.
        app.update(Message::Link(LinkEvent::Event {
            seq: 11,
            event: Event::AccountRemoved {
                account: "a@example.org".to_owned(),
            },
        }));
        assert_eq!(states(&app), ["connected"]);
    }

    #[test]
    fn a_gap_asks_the_link_for_a_fresh_snapshot_once() {
        let (link, mut requests) = Link::for_test();
        let mut app = App::new(PathBuf::from("/s"));
        app.update(Message::Link(LinkEvent::Ready(link)));
        attached(&mut app, 4, 10);

        app.update(connected(13));
        app.update(connected(14));

        assert_eq!(requests.resubscribes(), [4]);
        // Nothing after the gap is applied until the new snapshot.
        assert_eq!(states(&app), ["connecting"]);
        assert_eq!(
            banner(&app.socket, &app.connection).detail.as_deref(),
            Some("Missed some updates; fetching the current state…")
        );

        attached(&mut app, 5, 20);
        app.update(connected(21));
        assert_eq!(states(&app), ["connected"]);
    }

    #[test]
    fn down_forgets_the_accounts_and_late_events_are_ignored() {
        let mut app = App::new(PathBuf::from("/s"));
        attached(&mut app, 1, 0);
        app.update(Message::Link(LinkEvent::Down(Down::Closed)));
        app.update(connected(1));
        assert!(matches!(app.connection, Connection::Down(Down::Closed)));
    }

    #[test]
    fn attached_line_is_what_tests_wait_for() {
        assert_eq!(attached_line(2), "attached 2 accounts");
    }
}
