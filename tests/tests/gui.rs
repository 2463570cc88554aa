//! The real `wimsy` window on a private X server (Xvfb), attached to a
//! real daemon connected to a real Prosody, driven as a person would:
//! keys through XTEST, the close button as the `WM_DELETE_WINDOW` a
//! window manager sends. What the window shows is read from its test
//! hooks (`WIMSY_TEST_HOOKS=1`); screenshots of each step are kept under
//! `target/test-artifacts/gui/<test>/` for a person to look at.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;
use wimsy_ipc::ChatMessage;
use wimsy_session::{
    Jid, OutgoingMessage, SessionConfig, SessionEvent, SessionHandle, SessionState, Stored,
};
use wimsy_testkit::{Frames, Hook, Prosody, Screenshots, Wimsy, X11, Xvfb};
use wimsy_tests::*;

/// How long the screen must stay unchanged to count as drawn.
const QUIET: Duration = Duration::from_millis(150);

/// The X server and the test's hands and eyes on it.
struct Desk {
    xvfb: Xvfb,
    x: X11,
    frames: Frames,
    shots: Screenshots,
    /// What the screen shows with no window on it.
    blank: u64,
}

impl Desk {
    fn new(test: &str) -> Self {
        let xvfb = Xvfb::start().unwrap();
        let x = xvfb.connect().unwrap();
        let frames = xvfb.frames().unwrap();
        let blank = x.screen_digest().unwrap();
        Self {
            blank,
            x,
            frames,
            shots: gui_screenshots(test),
            xvfb,
        }
    }

    /// A screenshot once the window has finished drawing what it was
    /// told.
    fn shot(&mut self, step: &str) {
        self.frames.settle(QUIET, DEADLINE).unwrap();
        self.shots.take(&self.x, step).unwrap();
    }
}

/// A window on `x`, started and attached, its window found.
struct Window {
    gui: Wimsy,
    window: u32,
}

fn open_window(daemon: &Daemon, desk: &Desk, args: &[&str]) -> Window {
    let mut gui = wimsy_command(daemon, desk.xvfb.display())
        .args(args)
        .spawn(&desk.shots.dir().join("wimsy.log"))
        .unwrap();
    gui.wait_hook(DEADLINE, "being attached", |h| {
        matches!(h, Hook::Attached { .. })
    })
    .unwrap();
    let window = desk.x.wait_window(gui.pid(), DEADLINE).unwrap();
    // Attached and mapped is not yet drawn: the first frame comes later.
    assert!(
        desk.x.wait_screen_change(desk.blank, DEADLINE).unwrap(),
        "the window drew nothing within {DEADLINE:?}"
    );
    Window { gui, window }
}

#[test]
fn the_close_button_ends_the_window_and_the_session_stays_up() {
    let prosody = prosody_with(&["alice"]);
    let daemon = connected_daemon(&prosody, "alice");
    let mut desk = Desk::new("close-button");

    let Window { mut gui, window } = open_window(&daemon, &desk, &[]);
    let attached = gui.seen().first().map(|l| l.hook.clone());
    assert_eq!(attached, Some(Hook::Attached { accounts: 1 }));
    assert_eq!(desk.x.title(window).unwrap(), "Wimsy");
    desk.shot("attached");

    desk.x.close(window).unwrap();
    let status = gui.wait_exit(DEADLINE).unwrap();
    assert!(status.success(), "wimsy exited with {status}");
    desk.shot("closed");
    assert!(
        !desk.x.is_viewable(window).unwrap(),
        "the window is still shown after its process exited"
    );

    let (state, _) = daemon.state_of(&prosody.jid("alice")).unwrap();
    assert_eq!(
        state, "connected",
        "closing the window never touches the connection"
    );
}

#[test]
fn the_window_reattaches_by_itself_when_the_daemon_comes_back() {
    let prosody = prosody_with(&["alice", "bob"]);
    let mut daemon = connected_daemon(&prosody, "alice");
    let (alice, bob) = (prosody.jid("alice"), prosody.jid("bob"));
    let mut desk = Desk::new("daemon-restart");

    let Window { mut gui, window } = open_window(&daemon, &desk, &["--chat", &bob]);
    gui.wait_hook(DEADLINE, "the chat with bob open", |h| {
        *h == Hook::Open {
            account: alice.clone(),
            peer: bob.clone(),
        }
    })
    .unwrap();
    // A draft in the composer, which has the focus when a chat opens; the
    // screenshots show whether it outlives the daemon's absence.
    desk.x.focus(window).unwrap();
    // The first-run notice read ("Got it"), so the shots show the chat.
    desk.x.key("Escape").unwrap();
    desk.frames.settle(QUIET, DEADLINE).unwrap();
    desk.x
        .type_text("A draft that outlives the daemon")
        .unwrap();
    desk.shot("attached-with-a-draft");

    let killed = std::time::Instant::now();
    daemon.kill9();
    // The window says the daemon is gone; there is no hook for that, the
    // screenshot shows it once it has been redrawn.
    desk.frames.first_after(killed, DEADLINE).unwrap();
    desk.shot("daemon-gone");
    daemon.spawn().unwrap();
    gui.wait_hook(DEADLINE, "being attached again", |h| {
        matches!(h, Hook::Attached { accounts: 1 })
    })
    .unwrap();
    assert!(gui.is_running());
    daemon.wait_state(&alice, "connected").unwrap();
    desk.shot("reattached");
}

/// bob as a bare session: it keeps every copy of every message the server
/// delivers (a daemon would drop a duplicate before anyone saw it), and
/// sends as any other client would.
struct Bob {
    runtime: tokio::runtime::Runtime,
    handle: SessionHandle,
    events: UnboundedReceiver<SessionEvent>,
    received: Vec<String>,
    sent: i64,
}

impl Bob {
    fn start(prosody: &Prosody) -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let config = bare_account(prosody, &prosody.jid("bob"), "bob-pw", "bare");
        let (handle, events) = {
            let _runtime = runtime.enter();
            let (handle, events) =
                wimsy_session::spawn(config, SessionConfig::tight(), Stored::default());
            handle.connect().unwrap();
            (handle, events)
        };
        let mut bob = Self {
            runtime,
            handle,
            events,
            received: Vec::new(),
            sent: 0,
        };
        bob.until("being connected", |e| {
            matches!(e, SessionEvent::State(SessionState::Connected { .. }))
        });
        bob.until("catching up", |e| {
            matches!(e, SessionEvent::CatchUpDone { .. })
        });
        bob
    }

    /// Reads events, keeping live message bodies, until `wanted` accepts
    /// one.
    fn until(&mut self, what: &str, mut wanted: impl FnMut(&SessionEvent) -> bool) {
        let Self {
            runtime,
            events,
            received,
            ..
        } = self;
        // The timer is made inside the runtime, which it needs.
        runtime
            .block_on(async {
                tokio::time::timeout(DEADLINE, async {
                    loop {
                        let event = events.recv().await.expect("bob's session ended");
                        if let SessionEvent::Messages { messages, .. } = &event {
                            received.extend(
                                messages
                                    .iter()
                                    .filter(|m| !m.archived)
                                    .map(|m| m.body.clone()),
                            );
                        }
                        if wanted(&event) {
                            return;
                        }
                    }
                })
                .await
            })
            .unwrap_or_else(|_| panic!("bob: no {what} within {DEADLINE:?}"));
    }

    /// Waits until `body` has arrived; how many copies did.
    fn received(&mut self, body: &str) -> usize {
        while !self.received.iter().any(|b| b == body) {
            self.until("message", |e| matches!(e, SessionEvent::Messages { .. }));
        }
        self.received.iter().filter(|b| *b == body).count()
    }

    fn send(&mut self, to: &str, body: &str) {
        self.sent += 1;
        let _runtime = self.runtime.enter();
        self.handle
            .send(OutgoingMessage {
                token: self.sent,
                to: Jid::new(to).unwrap(),
                body: body.to_owned(),
                origin_id: format!("bob-{}", self.sent),
                in_doubt_since_ms: None,
            })
            .unwrap();
    }
}

/// The daemon's stored conversation with `peer`, oldest first.
fn stored(daemon: &Daemon, peer: &str) -> Vec<ChatMessage> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut client = daemon.client().await;
        whole_history(&mut client, peer).await
    })
}

/// Waits until the daemon has stored a message from `peer` with `body`;
/// the whole conversation then.
fn stored_until(daemon: &Daemon, peer: &str, body: &str) -> Vec<ChatMessage> {
    let mut history = Vec::new();
    wait_until(DEADLINE, &format!("{body:?} to be stored"), || {
        history = stored(daemon, peer);
        history.iter().any(|m| m.body == body)
    })
    .unwrap();
    history
}

fn is_showing(hook: &Hook, account: &str, peer: &str, newest: &ChatMessage) -> bool {
    matches!(hook, Hook::Showing { account: a, peer: p, newest_id, .. }
        if a == account && p == peer && *newest_id == newest.id.to_string())
}

/// A person's whole visit: open a chat with the keyboard, write, read the
/// answer, close the window; what arrives meanwhile is stored by the
/// daemon and shown when the window opens again at that chat.
#[test]
fn a_chat_from_the_keyboard_survives_closing_the_window() {
    let prosody = prosody_with(&["alice", "bob"]);
    let daemon = connected_daemon(&prosody, "alice");
    let (alice, bob_jid) = (prosody.jid("alice"), prosody.jid("bob"));
    let mut bob = Bob::start(&prosody);
    let mut desk = Desk::new("chat");

    let Window { mut gui, window } = open_window(&daemon, &desk, &[]);
    // A first window shows the notice about closing it; Escape is its
    // "Got it", remembered in Wimsy's config dir.
    desk.shot("first-run-notice");
    desk.x.focus(window).unwrap();
    desk.x.key("Escape").unwrap();
    desk.shot("attached");

    // Ctrl+N, bob's address, Enter: the chat opens with the composer
    // focused.
    desk.x.focus(window).unwrap();
    desk.x.key("ctrl+n").unwrap();
    desk.shot("start-a-chat");
    desk.x.type_text(&bob_jid).unwrap();
    desk.shot("address-typed");
    desk.x.key("Return").unwrap();
    gui.wait_hook(DEADLINE, "the chat with bob open", |h| {
        *h == Hook::Open {
            account: alice.clone(),
            peer: bob_jid.clone(),
        }
    })
    .unwrap();
    desk.shot("chat-open");

    let hello = "Hello bob, typed in the window";
    desk.x.type_text(hello).unwrap();
    desk.shot("message-typed");
    desk.x.key("Return").unwrap();
    let sent = gui
        .wait_hook(DEADLINE, "the message sent", |h| {
            matches!(h, Hook::Sent { account, peer, .. } if *account == alice && *peer == bob_jid)
        })
        .unwrap();
    assert_eq!(bob.received(hello), 1, "bob got it once");
    let history = stored(&daemon, &bob_jid);
    let mine = history.iter().find(|m| m.body == hello).unwrap();
    assert_eq!(
        sent.hook,
        Hook::Sent {
            account: alice.clone(),
            peer: bob_jid.clone(),
            id: mine.id.to_string(),
        }
    );
    desk.shot("message-sent");

    let answer = "Hello alice, from bob";
    bob.send(&alice, answer);
    let history = stored_until(&daemon, &bob_jid, answer);
    let newest = history.last().unwrap();
    assert_eq!(newest.body, answer);
    gui.wait_hook(DEADLINE, "bob's answer shown", |h| {
        is_showing(h, &alice, &bob_jid, newest)
    })
    .unwrap();
    desk.shot("answer-shown");

    // The close button: the window is gone, the session is not.
    desk.x.close(window).unwrap();
    gui.wait_hook(DEADLINE, "the close request", |h| {
        *h == Hook::CloseRequested
    })
    .unwrap();
    let status = gui.wait_exit(DEADLINE).unwrap();
    assert!(status.success(), "wimsy exited with {status}");
    desk.shot("closed");
    assert_eq!(daemon.state_of(&alice).unwrap().0, "connected");

    let meanwhile = ["While you were away 1", "While you were away 2", "And 3"];
    for body in meanwhile {
        bob.send(&alice, body);
    }
    let history = stored_until(&daemon, &bob_jid, meanwhile[2]);
    let newest = history.last().unwrap();
    assert_eq!(newest.body, meanwhile[2]);
    for body in meanwhile {
        assert_eq!(
            history.iter().filter(|m| m.body == body).count(),
            1,
            "{body:?} stored once"
        );
    }

    // Opened again straight at bob's chat: everything is there.
    let Window { mut gui, .. } = open_window(&daemon, &desk, &["--chat", &bob_jid]);
    let shown = gui
        .wait_hook(DEADLINE, "the messages from while it was closed", |h| {
            is_showing(h, &alice, &bob_jid, newest)
        })
        .unwrap();
    let Hook::Showing { count, .. } = shown.hook else {
        unreachable!()
    };
    assert_eq!(
        count,
        history.len(),
        "the whole (short) conversation is shown"
    );
    desk.shot("reopened");
    assert_eq!(bob.received(hello), 1, "and bob still got it once");
}

/// A long chat read back across a daemon restart: while the daemon is
/// away the view reaches its top, where no older page can be asked and
/// the window says so (instead of "Loading…" forever); once the daemon is
/// back the chat opens at its newest again and scrolling up loads the
/// older pages to the start of the chat.
#[test]
fn reading_back_through_a_daemon_restart_reaches_the_start_of_the_chat() {
    const SENT: usize = 150;
    let prosody = prosody_with(&["alice", "bob"]);
    let mut daemon = connected_daemon(&prosody, "alice");
    let (alice, bob_jid) = (prosody.jid("alice"), prosody.jid("bob"));
    let mut bob = Bob::start(&prosody);
    for n in 1..=SENT {
        bob.send(&alice, &format!("Older message {n}"));
    }
    let last = format!("Older message {SENT}");
    let history = stored_until(&daemon, &bob_jid, &last);
    assert_eq!(history.len(), SENT, "each stored once");
    let newest = history.last().unwrap().clone();

    let mut desk = Desk::new("read-back");
    let Window { mut gui, window } = open_window(&daemon, &desk, &["--chat", &bob_jid]);
    gui.wait_hook(DEADLINE, "the newest messages", |h| {
        is_showing(h, &alice, &bob_jid, &newest)
    })
    .unwrap();
    desk.x.focus(window).unwrap();
    desk.x.key("Escape").unwrap();
    let (x, y, width, height) = desk.x.geometry(window).unwrap();
    let (width, height) = (width as i16, height as i16);
    desk.x
        .pointer_to(x + width / 4 * 3, y + height / 2)
        .unwrap();
    desk.shot("newest");

    let killed = std::time::Instant::now();
    daemon.kill9();
    desk.frames.first_after(killed, DEADLINE).unwrap();
    // Up through the loaded page (100 messages) and on against the top.
    assert_eq!(scroll_up_until(&desk, &mut gui, 100), 100);
    for _ in 0..20 {
        desk.x.wheel(true).unwrap();
    }
    desk.shot("top-without-the-daemon");

    daemon.spawn().unwrap();
    gui.wait_hook(DEADLINE, "being attached again", |h| {
        matches!(h, Hook::Attached { accounts: 1 })
    })
    .unwrap();
    daemon.wait_state(&alice, "connected").unwrap();
    gui.wait_hook(DEADLINE, "the newest messages again", |h| {
        is_showing(h, &alice, &bob_jid, &newest)
    })
    .unwrap();
    desk.shot("daemon-back");
    assert_eq!(
        scroll_up_until(&desk, &mut gui, SENT),
        SENT,
        "every message, down to the first"
    );
    // On to the top, where the window says the chat starts.
    for _ in 0..60 {
        desk.x.wheel(true).unwrap();
    }
    desk.shot("start-of-the-chat");
}

/// Turns the wheel up (the pointer over the history) until the window
/// shows `count` messages or 400 clicks went by; what it shows then.
fn scroll_up_until(desk: &Desk, gui: &mut Wimsy, count: usize) -> usize {
    let mut showing = 0;
    for _ in 0..400 {
        desk.x.wheel(true).unwrap();
        for line in gui.poll() {
            if let Hook::Showing { count, .. } = line.hook {
                showing = count;
            }
        }
        if showing >= count {
            break;
        }
        // The next click once this one is drawn; a page on its way may
        // draw nothing for a moment.
        let _ = desk.frames.next(Duration::from_millis(100));
    }
    showing
}

/// Iced's light palette, as the window paints its buttons: "Trust this
/// certificate" is the one danger button, "Continue" the one primary.
const DANGER: [u8; 3] = [0xc3, 0x42, 0x3f];
const PRIMARY: [u8; 3] = [0x58, 0x65, 0xf2];

/// Where the one button painted `colour` is, once it is drawn.
fn button_drawn(desk: &Desk, colour: [u8; 3], what: &str) -> (i16, i16) {
    button_drawn_where(desk, colour, what, |_| true)
}

/// The same, once it is drawn where `place` accepts.
fn button_drawn_where(
    desk: &Desk,
    colour: [u8; 3],
    what: &str,
    place: impl Fn((i16, i16)) -> bool,
) -> (i16, i16) {
    let end = std::time::Instant::now() + DEADLINE;
    loop {
        if let Some(at) = desk.x.find_colour(colour).unwrap().filter(|&at| place(at)) {
            return at;
        }
        assert!(
            std::time::Instant::now() < end,
            "no {what} button was drawn within {DEADLINE:?}"
        );
        // Looked at again after the next drawing, or every half second.
        let _ = desk.frames.next(Duration::from_millis(500));
    }
}

/// A first window with no account: the sign-in form, filled from the
/// keyboard (Tab between fields), the server's certificate refused and
/// shown with its fingerprint, trusted with the button after the user
/// compared it, and the account connected in the daemon.
#[test]
fn the_first_window_signs_in_and_trusts_the_certificate_it_showed() {
    let prosody = prosody_with(&["alice"]);
    let alice = prosody.jid("alice");
    let daemon = Daemon::start().unwrap();
    let mut desk = Desk::new("sign-in");
    // Away from every button, so none is drawn as hovered.
    desk.x.pointer_to(1020, 760).unwrap();

    let Window { gui: _gui, window } = open_window(&daemon, &desk, &[]);
    desk.shot("sign-in-form");
    desk.x.focus(window).unwrap();
    // The address has the focus when the form opens.
    // Tab moves the focus once the window has handled it (the next
    // frame), as it has when a person types.
    let port = prosody.port().to_string();
    for (i, field) in [alice.as_str(), "alice-pw", "127.0.0.1", &port]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            desk.x.key("Tab").unwrap();
            desk.frames.settle(QUIET, DEADLINE).unwrap();
        }
        desk.x.type_text(field).unwrap();
    }
    desk.shot("sign-in-filled");
    desk.x.key("Return").unwrap();

    // Prosody's certificate comes from its own test CA: not trusted
    // until the user says so.
    let reason = daemon.wait_state(&alice, "error").unwrap();
    assert!(reason.contains("certificate"), "{reason}");
    let trust = button_drawn(&desk, DANGER, "Trust this certificate");
    desk.shot("certificate-shown");
    desk.x.click_at(trust.0, trust.1).unwrap();
    daemon.wait_state(&alice, "connected").unwrap();

    let next = button_drawn(&desk, PRIMARY, "Continue");
    desk.shot("connected");
    desk.x.click_at(next.0, next.1).unwrap();
    // The chats come back with the first-run notice over them: its "Got
    // it" is the one primary button now, elsewhere.
    button_drawn_where(&desk, PRIMARY, "Got it", |at| at != next);
    desk.shot("chats-with-the-first-run-notice");
    let out = daemon.ctl(&["account", "list"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&alice),
        "the account is the daemon's"
    );
}
