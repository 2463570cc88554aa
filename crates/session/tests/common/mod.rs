//! What the session's tests against real servers share: an account on a
//! server of either kind, and waiting for session events with a deadline.

#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;
use wimsy_session::*;
use wimsy_testkit::XmppServer;

pub const DEADLINE: Duration = Duration::from_secs(20);

/// `user`'s account on `server`, trusting the test CA.
pub fn account<S: XmppServer + ?Sized>(server: &S, user: &str, password: &str) -> AccountConfig {
    AccountConfig {
        jid: BareJid::new(&server.jid(user)).unwrap(),
        password: Password::new(password),
        server: Some(ServerOverride::parse(&server.server()).unwrap()),
        ca_file: Some(server.ca_file().to_path_buf()),
        pinned_sha256: None,
        resource: Some("test".into()),
    }
}

/// The next event `wanted` accepts, within [`DEADLINE`].
pub async fn wait_for(
    events: &mut UnboundedReceiver<SessionEvent>,
    wanted: impl FnMut(&SessionEvent) -> bool,
) -> SessionEvent {
    wait_for_within(DEADLINE, events, wanted).await
}

/// The next event `wanted` accepts, within `deadline`.
pub async fn wait_for_within(
    deadline: Duration,
    events: &mut UnboundedReceiver<SessionEvent>,
    mut wanted: impl FnMut(&SessionEvent) -> bool,
) -> SessionEvent {
    tokio::time::timeout(deadline, async {
        loop {
            let event = events.recv().await.expect("session ended");
            if wanted(&event) {
                return event;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no matching session event within {deadline:?}"))
}

pub fn connected(e: &SessionEvent) -> bool {
    matches!(e, SessionEvent::State(SessionState::Connected { .. }))
}

pub fn delivery(token: i64, stage: DeliveryStage) -> impl FnMut(&SessionEvent) -> bool {
    move |e| matches!(e, SessionEvent::Delivery { token: t, stage: s } if *t == token && *s == stage)
}

/// The live messages of the next event that has any (a catch-up may
/// report copies; messages that arrive together come in one event).
pub async fn live_messages(events: &mut UnboundedReceiver<SessionEvent>) -> Vec<ReceivedMessage> {
    loop {
        let SessionEvent::Messages { messages, .. } = wait_for(events, |e| {
            matches!(e, SessionEvent::Messages { messages, .. } if messages.iter().any(|m| !m.archived))
        })
        .await
        else {
            unreachable!()
        };
        let live: Vec<_> = messages.into_iter().filter(|m| !m.archived).collect();
        if !live.is_empty() {
            return live;
        }
    }
}

/// A message to `to` with body `message TOKEN` and origin-id
/// `origin-TOKEN`.
pub fn outgoing(to: &str, token: i64, in_doubt_since_ms: Option<i64>) -> OutgoingMessage {
    OutgoingMessage {
        token,
        to: Jid::new(to).unwrap(),
        body: format!("message {token}"),
        origin_id: format!("origin-{token}"),
        in_doubt_since_ms,
    }
}

pub fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since_epoch.as_millis()).unwrap()
}

/// The first state that is `Connected` or `Failed`.
pub async fn outcome(events: &mut UnboundedReceiver<SessionEvent>) -> SessionState {
    let SessionEvent::State(state) = wait_for(events, |e| {
        matches!(
            e,
            SessionEvent::State(SessionState::Connected { .. } | SessionState::Failed { .. })
        )
    })
    .await
    else {
        unreachable!()
    };
    state
}

/// Spawns a session of `account`, connects, and returns its first
/// outcome (connected or failed).
pub async fn log_in(account: AccountConfig) -> (SessionHandle, SessionState) {
    let (handle, mut events) = spawn(account, SessionConfig::tight(), Stored::default());
    handle.connect().unwrap();
    let state = outcome(&mut events).await;
    (handle, state)
}
