//! An idle daemon hands the kernel back its program's pages (a second after
//! the last client left, with the tight preset), and still does its work
//! afterwards: the pages it runs come back on first use.
//!
//! The kernel only drops pages no other process maps, so the peer here is a
//! bare session in the test process, not a second daemon from the same
//! binary, and the daemon runs from a copy of the binary of its own: the
//! suite runs other tests' daemons from target/debug at the same time.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use wimsy_ipc::Direction;
use wimsy_session::{
    Jid, OutgoingMessage, SessionConfig, SessionEvent, SessionHandle, SessionState, Stored,
};
use wimsy_testkit::{Account, XmppServer};
use wimsy_tests::*;

const RELEASED: &str = "released the program's pages while idle";

/// `RssFile` of `pid`, in kB: its resident pages that are copies of files
/// (the program and its libraries).
fn rss_file_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("RssFile:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

/// `account` as a bare session, connected.
async fn bare_session<S: XmppServer + ?Sized>(server: &S, account: &Account) -> SessionHandle {
    let config = bare_account(server, &account.jid, &account.password, "peer");
    let (handle, mut events) =
        wimsy_session::spawn(config, SessionConfig::tight(), Stored::default());
    handle.connect().unwrap();
    tokio::time::timeout(DEADLINE, async {
        while let Some(event) = events.recv().await {
            if matches!(event, SessionEvent::State(SessionState::Connected { .. })) {
                return;
            }
        }
    })
    .await
    .unwrap();
    // Keep the events flowing; nothing here waits on them.
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    handle
}

/// `wimsyd` and `wimsyctl` copied into a directory of their own (on the
/// target directory's disk: a copy on tmpfs could not be paged out), so
/// that no other process maps this daemon's program pages.
fn private_binaries() -> tempfile::TempDir {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    for name in ["wimsyd", "wimsyctl"] {
        std::fs::copy(bin(name), dir.path().join(name)).unwrap();
    }
    dir
}

fn say(bob: &SessionHandle, to: &str, token: i64, body: &str) {
    bob.send(OutgoingMessage {
        token,
        to: Jid::new(to).unwrap(),
        body: body.to_owned(),
        origin_id: format!("memory-{token}"),
        in_doubt_since_ms: None,
    })
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_daemon_releases_its_program_pages_and_still_receives() {
    let server = wimsy_testkit::ServerKind::Prosody.shared().unwrap();
    let alice = server.new_account("alice").unwrap();
    let bob = server.new_account("bob").unwrap();
    let copy = private_binaries();
    let daemon = connect_account(
        Daemon::start_from(copy.path()).unwrap(),
        server,
        &alice.user,
        &alice.password,
    );
    let peer = bare_session(server, &bob).await;
    let pid = daemon.pid();

    // Wake it with work: a message in, stored and announced.
    say(&peer, &alice.jid, 1, "before");
    wimsy_testkit::wait_until(DEADLINE, "the message stored", || {
        daemon.log().contains("message stored")
    })
    .unwrap();
    let busy = rss_file_kb(pid);
    let released = daemon.log().matches(RELEASED).count();
    wimsy_testkit::wait_until(DEADLINE, "the pages released once nobody looks", || {
        daemon.log().matches(RELEASED).count() > released
    })
    .unwrap();
    let idle = rss_file_kb(pid);
    assert!(
        idle + 1024 < busy,
        "resident program pages: {busy} kB busy, {idle} kB idle; at least 1 MB should go"
    );

    // Still at work: a message arrives and is stored and listed.
    say(&peer, &alice.jid, 2, "after");
    let mut a = daemon.client().await;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let history = whole_history(&mut a, &bob.jid).await;
        let bodies: Vec<&str> = history
            .iter()
            .filter(|m| m.direction == Direction::In)
            .map(|m| m.body.as_str())
            .collect();
        if bodies == ["before", "after"] {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "alice's history with bob: {bodies:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
