//! A burst of live messages, on both servers (Prosody and ejabberd): the
//! daemon stores what arrives together in a few transactions (counted from
//! its log, not timed), every message once and in order; and killed
//! (SIGKILL) in the middle of a burst, restarted, it has each message once,
//! in order: nothing it acknowledged to the server was lost.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;
use wimsy_ipc::{Client, Direction};
use wimsy_session::{
    DeliveryStage, Jid, OutgoingMessage, SessionConfig, SessionEvent, SessionHandle, SessionState,
    Stored,
};
use wimsy_testkit::{Account, ServerKind, XmppServer, both_servers};
use wimsy_tests::*;

/// Storing a burst in a debug build takes longer than one ordinary step,
/// and so does ejabberd taking one: with its archive in mnesia, 2,000
/// messages to one user cost it some 40 s of CPU (45 s on the clock run
/// alone), and the suite runs other tests beside this one on two cores
/// (120 s was not always enough there).
const BURST_DEADLINE: Duration = Duration::from_secs(300);

/// The daemon's log line for each transaction of received messages.
const STORED_TOGETHER: &str = "messages stored together";

/// A bare session that sends.
struct Sender {
    handle: SessionHandle,
    events: UnboundedReceiver<SessionEvent>,
}

impl Sender {
    async fn start<S: XmppServer + ?Sized>(server: &S, account: &Account) -> Self {
        let config = bare_account(server, &account.jid, &account.password, "sender");
        // A server taking thousands of messages at once, on 2 busy cores,
        // may take longer than the tight preset's 4 s to answer the ack
        // request behind them; that is not a dead stream.
        let mut timeouts = SessionConfig::tight();
        timeouts.timeouts.probe_answer = BURST_DEADLINE;
        let (handle, events) = wimsy_session::spawn(config, timeouts, Stored::default());
        handle.connect().unwrap();
        let mut sender = Self { handle, events };
        sender
            .until(|e| matches!(e, SessionEvent::State(SessionState::Connected { .. })))
            .await;
        sender
    }

    async fn until(&mut self, mut wanted: impl FnMut(&SessionEvent) -> bool) {
        let mut states = Vec::new();
        let mut acked = 0;
        let found = tokio::time::timeout(BURST_DEADLINE, async {
            loop {
                let event = self.events.recv().await.expect("session ended");
                match &event {
                    SessionEvent::State(SessionState::Failed { reason, .. }) => {
                        panic!("the sending session failed: {reason}")
                    }
                    SessionEvent::State(state) => states.push(state.clone()),
                    SessionEvent::Delivery {
                        stage: DeliveryStage::Acked,
                        ..
                    } => acked += 1,
                    _ => {}
                }
                if wanted(&event) {
                    return;
                }
            }
        })
        .await;
        assert!(
            found.is_ok(),
            "the sender's event did not come within {BURST_DEADLINE:?}; \
             {acked} messages acked meanwhile; states: {states:?}"
        );
    }

    /// Sends `burst I` for each I in `range` to `to` and waits until the
    /// server has taken all of them (acked), so they all wait for the
    /// receiver.
    async fn burst(&mut self, to: &str, range: std::ops::Range<usize>) {
        let to = Jid::new(to).unwrap();
        let last = i64::try_from(range.end - 1).unwrap();
        for i in range {
            self.handle
                .send(OutgoingMessage {
                    token: i64::try_from(i).unwrap(),
                    to: to.clone(),
                    body: format!("burst {i}"),
                    origin_id: format!("burst-{i}"),
                    in_doubt_since_ms: None,
                })
                .unwrap();
        }
        self.until(|e| {
            matches!(e, SessionEvent::Delivery { token, stage: DeliveryStage::Acked } if *token == last)
        })
        .await;
    }
}

fn signal(pid: u32, name: &str) {
    let status = std::process::Command::new("kill")
        .args([name, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {name} {pid} failed");
}

/// How many new messages each batch the daemon stored held, from its log
/// (a batch may also hold copies, which the store drops).
fn batches(log: &str) -> Vec<usize> {
    log.lines()
        .filter(|l| l.contains(STORED_TOGETHER))
        .filter_map(|l| {
            let rest = &l[l.find(" new=")? + " new=".len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect()
}

/// Polls alice's history with `peer` until `n` incoming burst messages
/// are there; returns their bodies in history order.
async fn burst_history(client: &mut Client, peer: &str, n: usize) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + BURST_DEADLINE;
    loop {
        let bodies: Vec<String> = whole_history(client, peer)
            .await
            .into_iter()
            .filter(|m| m.direction == Direction::In && m.body.starts_with("burst "))
            .map(|m| m.body)
            .collect();
        if bodies.len() >= n {
            return bodies;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {n} messages stored within {BURST_DEADLINE:?}",
            bodies.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Each message once, in the order sent.
fn assert_once_in_order(bodies: &[String], n: usize) {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for body in bodies {
        *counts.entry(body.as_str()).or_default() += 1;
    }
    let twice: Vec<_> = counts.iter().filter(|(_, c)| **c > 1).collect();
    assert!(twice.is_empty(), "stored twice: {twice:?}");
    let expected: Vec<String> = (0..n).map(|i| format!("burst {i}")).collect();
    assert_eq!(bodies, expected, "every message once, in the order sent");
}

both_servers! {
    /// 1,000 messages wait at the server while alice's daemon is stopped
    /// (SIGSTOP); continued, it stores them all, once, in order, in far
    /// fewer transactions than messages.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_is_stored_complete_in_order_and_in_few_transactions(kind: ServerKind) {
        const N: usize = 1_000;
        let server = kind.shared().unwrap();
        let alice = server.new_account("alice").unwrap();
        let bob = server.new_account("bob").unwrap();
        let daemon = connected_daemon_with(server, &alice.user, &alice.password);
        let mut sender = Sender::start(server, &bob).await;
        let mut client = daemon.client().await;
        let before = batches(&daemon.log()).len();

        signal(daemon.pid(), "-STOP");
        sender.burst(&alice.jid, 0..N).await;
        signal(daemon.pid(), "-CONT");

        let bodies = burst_history(&mut client, &bob.jid, N).await;
        assert_once_in_order(&bodies, N);
        let sizes: Vec<usize> = batches(&daemon.log()).split_off(before);
        assert_eq!(sizes.iter().sum::<usize>(), N, "{sizes:?}");
        assert!(
            sizes.len() <= N / 10,
            "{N} messages that arrived together took {} transactions: {sizes:?}",
            sizes.len()
        );
    }

    /// alice's daemon is killed (SIGKILL) once it has stored part of a
    /// burst of 2,000; restarted, it has every message once, in order.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_daemon_killed_mid_burst_has_every_message_once_in_order_after_restart(
        kind: ServerKind,
    ) {
        const N: usize = 2_000;
        let server = kind.shared().unwrap();
        let alice = server.new_account("alice").unwrap();
        let bob = server.new_account("bob").unwrap();
        let mut daemon = connected_daemon_with(server, &alice.user, &alice.password);
        let mut sender = Sender::start(server, &bob).await;
        let before = batches(&daemon.log()).len();

        signal(daemon.pid(), "-STOP");
        sender.burst(&alice.jid, 0..N).await;
        signal(daemon.pid(), "-CONT");
        wait_until(BURST_DEADLINE, "a first batch of the burst stored", || {
            batches(&daemon.log()).len() > before
        })
        .unwrap();
        daemon.kill9();
        let stored: usize = batches(&daemon.log()).split_off(before).iter().sum();
        assert!(
            stored < N,
            "the daemon stored the whole burst before it was killed; the test needs a longer one"
        );

        daemon.spawn().unwrap();
        let mut client = daemon.client().await;
        burst_history(&mut client, &bob.jid, N).await;
        // A copy that came again (a resend, the archive) would come before
        // a message sent after the burst.
        sender.burst(&alice.jid, N..N + 1).await;
        let bodies = burst_history(&mut client, &bob.jid, N + 1).await;
        assert_once_in_order(&bodies, N + 1);
    }
}
