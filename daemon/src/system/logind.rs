//! Sleep and wake from systemd-logind: its `PrepareForSleep(false)` on the
//! system bus says the machine has just woken. Without it a wake is seen
//! only by the clock-gap check (up to a minute later) or when a dead
//! stream's timeout fires (minutes later); with it every session probes its
//! stream at once and resumes or reconnects within seconds of the lid
//! opening.
//!
//! Idle cost: one D-Bus connection and one task awaiting the signal stream;
//! no polling. Where there is no system bus or no logind (containers, PID 1
//! not systemd), one info line is logged and the task ends.

use std::pin::Pin;
use std::time::Duration;

use tokio::sync::mpsc;
use zbus::export::futures_core::Stream;
use zbus::message::Type;
use zbus::{Connection, MatchRule, Message, MessageStream};

use super::SystemEvent;

const LOGIND: &str = "org.freedesktop.login1";
const PATH: &str = "/org/freedesktop/login1";
const INTERFACE: &str = "org.freedesktop.login1.Manager";
const SIGNAL: &str = "PrepareForSleep";

/// Connecting and subscribing must not hang on a bus that does not answer.
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);

/// The logind signal stream, or why there is none.
async fn subscribe() -> Result<MessageStream, String> {
    // Honours DBUS_SYSTEM_BUS_ADDRESS, else the default system bus socket.
    let conn = Connection::system()
        .await
        .map_err(|e| format!("no system bus: {e}"))?;
    let rule = MatchRule::builder()
        .msg_type(Type::Signal)
        .sender(LOGIND)
        .and_then(|b| b.path(PATH))
        .and_then(|b| b.interface(INTERFACE))
        .and_then(|b| b.member(SIGNAL))
        .map_err(|e| format!("bad match rule: {e}"))?
        .build();
    // Subscribe before asking whether logind is there, so a signal sent in
    // between is not lost. The bus daemon filters on the sender: only the
    // owner of org.freedesktop.login1 can reach this stream.
    let stream = MessageStream::for_match_rule(rule, &conn, Some(8))
        .await
        .map_err(|e| format!("cannot subscribe on the system bus: {e}"))?;
    if !logind_present(&conn).await? {
        return Err("no logind on the system bus".to_owned());
    }
    Ok(stream)
}

/// Whether logind runs, or the bus would start it on demand.
async fn logind_present(conn: &Connection) -> Result<bool, String> {
    let owned: bool = bus_call(conn, "NameHasOwner", &(LOGIND,)).await?;
    if owned {
        return Ok(true);
    }
    let activatable: Vec<String> = bus_call(conn, "ListActivatableNames", &()).await?;
    Ok(activatable.iter().any(|n| n == LOGIND))
}

/// Call `method` of the bus daemon itself and decode its reply.
async fn bus_call<B, R>(conn: &Connection, method: &str, body: &B) -> Result<R, String>
where
    B: serde::Serialize + zbus::zvariant::DynamicType,
    R: for<'d> zbus::zvariant::DynamicDeserialize<'d>,
{
    let reply = conn
        .call_method(
            Some("org.freedesktop.DBus"),
            "/org/freedesktop/DBus",
            Some("org.freedesktop.DBus"),
            method,
            body,
        )
        .await
        .map_err(|e| format!("the system bus {method} call failed: {e}"))?;
    reply
        .body()
        .deserialize()
        .map_err(|e| format!("odd {method} reply: {e}"))
}

async fn next(stream: &mut MessageStream) -> Option<zbus::Result<Message>> {
    std::future::poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
}

pub(crate) async fn watch(events: mpsc::Sender<SystemEvent>) {
    let mut stream = match tokio::time::timeout(SETUP_TIMEOUT, subscribe()).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(why)) => {
            tracing::info!("{why}; wake detection falls back to the clock-gap check");
            return;
        }
        Err(_) => {
            tracing::info!(
                "the system bus did not answer; wake detection falls back to the clock-gap check"
            );
            return;
        }
    };
    tracing::debug!("watching logind for sleep and wake");
    loop {
        let message = tokio::select! {
            message = next(&mut stream) => message,
            () = events.closed() => return,
        };
        let Some(message) = message else { break };
        let start: bool = match message.as_ref().map(|m| m.body().deserialize()) {
            Ok(Ok(start)) => start,
            Ok(Err(e)) => {
                tracing::debug!("ignoring a malformed PrepareForSleep: {e}");
                continue;
            }
            Err(e) => {
                tracing::debug!("system bus error: {e}");
                continue;
            }
        };
        if start {
            tracing::info!("going to sleep (logind)");
            continue;
        }
        tracing::info!("woke from sleep (logind); probing every stream now");
        // Probe at once rather than wait minutes for a dead stream to time
        // out: the server may have dropped us while we slept.
        if events
            .send(SystemEvent::Woke {
                gap: Duration::ZERO,
            })
            .await
            .is_err()
        {
            return;
        }
    }
    tracing::info!(
        "the system bus connection closed; wake detection falls back to the clock-gap check"
    );
}
