//! Read anywhere means read everywhere, end to end: alice on two devices
//! (two real wimsyd, two resources of one account; the one that notifies
//! on a private session bus with python3-dbusmock's notification server),
//! bob as a bare session that sees every stanza the daemons send him, and a
//! real Prosody or ejabberd.
//!
//! - Reading on one device clears the unread count on the other (seen
//!   through its IPC events) and withdraws its notification
//!   (CloseNotification), and bob gets a displayed marker naming his
//!   message: both servers, then on a Prosody without PEP (the marker's
//!   carbon alone).
//! - Message displayed synchronization (XEP-0490) alone: a device that
//!   only publishes to the node, live and while the daemon is away.
//! - `privacy.send_read_markers` off: bob gets no marker.
//!
//! Needs the Debian packages `dbus` and `python3-dbusmock`.

#![allow(clippy::unwrap_used)]

use tokio::sync::mpsc::UnboundedReceiver;
use wimsy_ipc::{Client, Event, Request, Response, Role};
use wimsy_session::{
    BareJid, Displayed, Jid, MarkDisplayed, MessageRef, OutgoingMessage, ReceivedMessage,
    SessionConfig, SessionEvent, SessionHandle, SessionState, Stored,
};
use wimsy_testkit::{Account, Prosody, ServerKind, XmppServer, both_servers};
use wimsy_tests::notify_bus::{Bus, BusDaemon, MockServer};
use wimsy_tests::*;

/// A bare session of `account`: what a daemon sends it arrives as the
/// session parsed it, every stanza, nothing stored or dropped.
struct Bare {
    handle: SessionHandle,
    events: UnboundedReceiver<SessionEvent>,
    next_token: i64,
}

impl Bare {
    /// Connected, with its catch-up done.
    async fn start<S: XmppServer + ?Sized>(server: &S, account: &Account, resource: &str) -> Bare {
        let config = bare_account(server, &account.jid, &account.password, resource);
        let (handle, events) =
            wimsy_session::spawn(config, SessionConfig::tight(), Stored::default());
        handle.connect().unwrap();
        let mut bare = Bare {
            handle,
            events,
            next_token: 0,
        };
        bare.until(|e| matches!(e, SessionEvent::CatchUpDone { .. }))
            .await;
        bare
    }

    /// Send `body` to `to`; its origin-id (what a marker names).
    fn send(&mut self, to: &str, body: &str) -> String {
        self.next_token += 1;
        let origin_id = format!("bare-{}-{body}", self.next_token).replace(' ', "-");
        self.handle
            .send(OutgoingMessage {
                token: self.next_token,
                to: Jid::new(to).unwrap(),
                body: body.to_owned(),
                origin_id: origin_id.clone(),
                in_doubt_since_ms: None,
            })
            .unwrap();
        origin_id
    }

    /// Events until `wanted` accepts one (within [`DEADLINE`]); every
    /// event before it too.
    async fn until(&mut self, mut wanted: impl FnMut(&SessionEvent) -> bool) -> Vec<SessionEvent> {
        let mut seen = Vec::new();
        let found = tokio::time::timeout(DEADLINE, async {
            loop {
                let event = self.events.recv().await.expect("the bare session ended");
                if let SessionEvent::State(SessionState::Failed { reason, .. }) = &event {
                    panic!("the bare session failed: {reason}");
                }
                let done = wanted(&event);
                seen.push(event);
                if done {
                    return;
                }
            }
        })
        .await;
        assert!(found.is_ok(), "not seen within {DEADLINE:?}; saw {seen:#?}");
        seen
    }

    /// The live message with `body`, waited for.
    async fn message(&mut self, body: &str) -> ReceivedMessage {
        let seen = self
            .until(|e| matches!(e, SessionEvent::Messages { messages, .. } if messages.iter().any(|m| m.body == body)))
            .await;
        let Some(SessionEvent::Messages { messages, .. }) = seen.into_iter().last() else {
            unreachable!()
        };
        messages.into_iter().find(|m| m.body == body).unwrap()
    }
}

fn is_marker_from(event: &SessionEvent, peer: &str, id: &str) -> bool {
    matches!(event, SessionEvent::Displayed(Displayed {
        peer: p,
        up_to: MessageRef::MarkerId(m),
        by_own_device: false,
    }) if p.as_str() == peer && m == id)
}

/// A subscribed client of `daemon`.
async fn subscribed(daemon: &Daemon) -> Client {
    let mut client = daemon.client().await;
    client.request(Request::Subscribe).await.unwrap();
    client
}

/// Wait for the `Unread` event of `peer`'s chat with `count`.
async fn unread(client: &mut Client, peer: &str, count: u32) {
    next_matching(
        client,
        |e| matches!(e, Event::Unread { peer: p, count: c, .. } if p == peer && *c == count),
    )
    .await;
}

async fn mark_read(daemon: &Daemon, peer: &str) {
    daemon
        .client()
        .await
        .request(Request::MarkRead {
            account: None,
            peer: peer.to_owned(),
        })
        .await
        .unwrap();
}

fn has_message(daemon: &Daemon, peer: &str, body: &str) -> bool {
    let page = daemon.ctl_json(&["history", peer, "--limit", "100"]);
    page["messages"]
        .as_array()
        .is_some_and(|m| m.iter().any(|m| m["body"] == body))
}

/// The unread count of `peer`'s chat, from a fresh snapshot.
async fn unread_of(daemon: &Daemon, account: &str, peer: &str) -> Option<u32> {
    let Ok(Response::Subscribed { snapshot }) =
        daemon.client().await.request(Request::Subscribe).await
    else {
        return None;
    };
    let account = snapshot.accounts.into_iter().find(|a| a.jid == account)?;
    account
        .chats
        .into_iter()
        .find_map(|c| (c.peer == peer).then_some(c.unread))
}

/// alice reads on her phone; her laptop's unread count and notification
/// go, and bob learns what she read. The whole of it on `server`; the
/// phone's daemon, for its log.
async fn read_on_the_phone_clears_the_laptop(server: &dyn XmppServer) -> Daemon {
    let (a, b) = (
        server.new_account("alice").unwrap(),
        server.new_account("bob").unwrap(),
    );
    let bus = Bus::start().unwrap();
    let mock = MockServer::start(&bus).await;
    let laptop = bus.daemon(server, &a.user);
    let phone = connected_daemon(server, &a.user);
    let mut bob = Bare::start(server, &b, "bare").await;
    let mut laptop_events = subscribed(&laptop).await;

    let hello = bob.send(&a.jid, "hello alice");
    assert_eq!(mock.notify(1).await.body, "hello alice");
    unread(&mut laptop_events, &b.jid, 1).await;
    wait_until(DEADLINE, "the message on the phone", || {
        has_message(&phone, &b.jid, "hello alice")
    })
    .unwrap();

    mark_read(&phone, &b.jid).await;
    unread(&mut laptop_events, &b.jid, 0).await;
    assert_eq!(mock.close(2).await, 1, "the laptop's notification goes");
    bob.until(|e| is_marker_from(e, &a.jid, &hello)).await;
    phone
}

both_servers! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reading_on_one_device_clears_unread_and_the_notification_on_the_other(kind: ServerKind) {
        let phone = read_on_the_phone_clears_the_laptop(kind.shared().unwrap()).await;
        assert!(
            !phone.log().contains("does not keep what was read"),
            "this server has the synchronization node"
        );
    }
}

/// Without PEP there is no synchronization node: the marker's carbon alone
/// carries the read state, and the phone says the node is missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_pep_the_marker_carbon_alone_clears_the_other_device() {
    let server = Prosody::builder()
        // The last assignment wins: s2s stays off, and pep goes too.
        .extra_config(r#"modules_disabled = { "s2s"; "s2s_auth_certs"; "pep" }"#)
        .start()
        .unwrap();
    let phone = read_on_the_phone_clears_the_laptop(&server).await;
    const NO_NODE: &str = "the server does not keep what was read for the user's other devices";
    wait_until(DEADLINE, "the phone to say the server has no node", || {
        phone.log().contains(NO_NODE)
    })
    .unwrap();
    assert_eq!(phone.log().matches(NO_NODE).count(), 1, "said once");
}

both_servers! {
    /// A device that only publishes to the synchronization node (no
    /// marker, so no carbon): the daemon reads the chat when the node
    /// tells it (live), and when it comes back after being away.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_synchronization_node_alone_reads_the_chat_live_and_after_a_time_away(kind: ServerKind) {
        let server = kind.shared().unwrap();
        let (a, b) = (
            server.new_account("alice").unwrap(),
            server.new_account("bob").unwrap(),
        );
        let bus = Bus::start().unwrap();
        let mock = MockServer::start(&bus).await;
        let mut laptop = bus.daemon(server, &a.user);
        let mut tablet = Bare::start(server, &a, "tablet").await;
        let mut bob = Bare::start(server, &b, "bare").await;
        let mut laptop_events = subscribed(&laptop).await;
        // A window open (not on bob's chat): the session is active (CSI).
        // While inactive, ejabberd holds PEP notifications back until
        // something urgent comes (mod_client_state's queue_pep), so the
        // live part would wait for bob's next message there.
        let mut window = Client::connect(&laptop.socket, Role::Gui, "test-gui")
            .await
            .unwrap();
        window
            .request(Request::SetView {
                visible: true,
                focused: false,
                chat: None,
            })
            .await
            .unwrap();

        bob.send(&a.jid, "seen on the tablet");
        let arrived = tablet.message("seen on the tablet").await;
        let stanza_id = arrived.stanza_id.expect("alice's server gives a stanza-id");
        mock.notify(1).await;
        unread(&mut laptop_events, &b.jid, 1).await;
        let read = |stanza_id: String| MarkDisplayed {
            peer: BareJid::new(&b.jid).unwrap(),
            marker_id: None,
            stanza_id: Some(stanza_id),
        };
        tablet.handle.mark_displayed(read(stanza_id)).unwrap();
        unread(&mut laptop_events, &b.jid, 0).await;
        assert_eq!(mock.close(2).await, 1);
        drop(laptop_events);
        drop(window);

        // Away: the tablet reads what came meanwhile; back, the laptop
        // fetches the node after its catch-up, before the catch-up's
        // summary would notify.
        assert_eq!(laptop.terminate().unwrap().code(), Some(0));
        bob.send(&a.jid, "while the laptop was off");
        let arrived = tablet.message("while the laptop was off").await;
        tablet
            .handle
            .mark_displayed(read(arrived.stanza_id.unwrap()))
            .unwrap();
        // The node has it once the tablet hears its own notification.
        tablet
            .until(|e| matches!(e, SessionEvent::Displayed(d) if d.by_own_device))
            .await;
        laptop.spawn().unwrap();
        laptop.wait_state(&a.jid, "connected").unwrap();
        let end = std::time::Instant::now() + DEADLINE;
        while !(has_message(&laptop, &b.jid, "while the laptop was off")
            && unread_of(&laptop, &a.jid, &b.jid).await == Some(0))
        {
            assert!(
                std::time::Instant::now() < end,
                "the laptop never had the message read; log:\n{}",
                laptop.log()
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        bob.send(&a.jid, "and now");
        let next = mock.notify(3).await;
        assert_eq!(
            next.body, "and now",
            "the next call is this message's, alone: the one read on the tablet never notified"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_read_markers_off_the_contact_gets_none() {
    let server = ServerKind::Prosody.shared().unwrap();
    let (a, b) = (
        server.new_account("alice").unwrap(),
        server.new_account("bob").unwrap(),
    );
    let alice = connected_daemon(server, &a.user);
    let mut bob = Bare::start(server, &b, "bare").await;
    let set = |value: &str| {
        let out = alice.ctl(&["settings", "set", "privacy.send_read_markers", value]);
        assert!(
            out.status.success(),
            "settings set: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };

    set("off");
    bob.send(&a.jid, "read quietly");
    wait_until(DEADLINE, "the message at alice's", || {
        has_message(&alice, &b.jid, "read quietly")
    })
    .unwrap();
    mark_read(&alice, &b.jid).await;
    // Written after the marker would have been: everything before it has
    // arrived when it does.
    let out = alice.ctl(&["send", &b.jid, "after reading"]);
    assert!(out.status.success());
    let seen = bob
        .until(|e| matches!(e, SessionEvent::Messages { messages, .. } if messages.iter().any(|m| m.body == "after reading")))
        .await;
    assert!(
        !seen.iter().any(|e| matches!(e, SessionEvent::Displayed(_))),
        "no marker: {seen:#?}"
    );

    // The same with the setting on does send one: the check above can fail.
    set("on");
    let asked = bob.send(&a.jid, "read openly");
    wait_until(DEADLINE, "the message at alice's", || {
        has_message(&alice, &b.jid, "read openly")
    })
    .unwrap();
    mark_read(&alice, &b.jid).await;
    bob.until(|e| is_marker_from(e, &a.jid, &asked)).await;
}
