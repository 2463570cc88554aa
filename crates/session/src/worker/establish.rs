//! Establishing a stream: a fresh session or a resumed one (XEP-0198), and
//! what each leaves for the next.

use xmpp_parsers::jid::FullJid;

use crate::config::{AccountConfig, ServerOverride, Timeouts};
use crate::connect::{self, LoggedIn, Resumption, Xml};
use crate::error::SessionError;

use super::*;

/// A connection attempt's result.
pub(super) enum Established {
    Fresh {
        logged_in: LoggedIn,
        /// From a failed resume: how many of our stanzas the old stream's
        /// server handled, so they are not sent twice.
        old_h: Option<u32>,
    },
    Resumed {
        stream: Xml,
        jid: FullJid,
        h: u32,
        csi: bool,
    },
}

pub(super) async fn connect_once(
    account: AccountConfig,
    timeouts: Timeouts,
    resume: Option<ResumeState>,
    jid: Option<FullJid>,
) -> Result<Established, SessionError> {
    connect::within_login(&timeouts, async {
        let location = resume.as_ref().and_then(|r| r.location.clone());
        let authenticated = match connect::authenticate(&account, &timeouts, location.as_ref()).await {
            Ok(a) => a,
            // The location the server named may be gone; the usual address
            // still leads to the same server.
            Err(e) if location.is_some() && !e.is_terminal() => {
                tracing::debug!("resume location unreachable ({e}); using the usual address");
                connect::authenticate(&account, &timeouts, None).await?
            }
            Err(e) => return Err(e),
        };
        let (Some(resume), Some(jid)) = (resume, jid) else {
            let logged_in = connect::establish(authenticated, account.resource.clone()).await?;
            return Ok(Established::Fresh { logged_in, old_h: None });
        };
        match connect::resume(authenticated, &resume.id, resume.handled).await? {
            Resumption::Resumed { stream, h, csi } => Ok(Established::Resumed { stream, jid, h, csi }),
            Resumption::Failed {
                authenticated,
                h,
                condition,
            } => {
                tracing::info!(account = %account.jid, "resume refused ({condition}); starting a fresh session");
                let logged_in = connect::establish(authenticated, account.resource.clone()).await?;
                Ok(Established::Fresh { logged_in, old_h: h })
            }
        }
    })
    .await
}

impl Worker {
    pub(super) async fn run_connected(&mut self, established: Established) -> End {
        let (mut live, resumed, early) = match established {
            Established::Fresh { logged_in, old_h } => {
                let LoggedIn {
                    stream,
                    jid,
                    sm,
                    csi,
                    early,
                } = logged_in;
                self.resumable = None;
                match old_h {
                    // The old stream's server said how far it got: what
                    // is left was certainly not handled.
                    Some(h) => {
                        self.on_ack(h);
                        self.requeue_unacked(false);
                    }
                    None => self.requeue_unacked(true),
                }
                if let Some(enabled) = &sm {
                    tracing::debug!(
                        account = %self.account.jid,
                        id = ?enabled.id,
                        location = ?enabled.location,
                        resumable = enabled.resume,
                        "stream management enabled"
                    );
                }
                let resume = sm.as_ref().filter(|e| e.resume).and_then(|e| {
                    let location = e
                        .location
                        .as_deref()
                        .and_then(|l| ServerOverride::parse(l).ok());
                    e.id.clone().map(|id| (id, location))
                });
                let counters = sm.map(|_| StreamCounters::default());
                let live = Live::new(stream, jid, counters, resume, csi, self.config.timeouts.iq);
                (live, false, early)
            }
            Established::Resumed {
                stream,
                jid,
                h,
                csi,
            } => {
                let Some(previous) = self.resumable.take() else {
                    return End::Lost(SessionError::Protocol(
                        "it resumed a session Wimsy did not ask to resume".into(),
                    ));
                };
                tracing::info!(account = %self.account.jid, "stream resumed");
                tracing::debug!(
                    account = %self.account.jid,
                    h,
                    unacked = self.unacked.len(),
                    first = ?self.unacked.front().map(|u| u.seq),
                    last = ?self.unacked.back().map(|u| u.seq),
                    "the server's count of our stanzas on resume"
                );
                self.on_ack(h);
                // What the server had not handled goes out again on the
                // resumed stream, but only once the archive has been asked:
                // when the old connection was alive after all (a server
                // too slow for the probe), ejabberd 23.01 reports `h` and
                // then goes on handling what it had already read from the
                // old connection, so a message past `h` may have been
                // delivered (seen in tests/exactly_once.rs, five or six
                // messages per resume).
                self.requeue_unacked(true);
                let counters = StreamCounters {
                    handled: previous.handled,
                    sent: h,
                    reported: previous.handled,
                    ..StreamCounters::default()
                };
                let resume = Some((previous.id, previous.location));
                let live = Live::new(
                    stream,
                    jid,
                    Some(counters),
                    resume,
                    csi,
                    self.config.timeouts.iq,
                );
                (live, true, Vec::new())
            }
        };
        self.jid = Some(live.jid.clone());
        let end = self.serve(&mut live, early, resumed).await;
        if let End::Lost(_) = &end {
            match (&live.resume, &live.sm) {
                (Some((id, location)), Some(counters)) => {
                    self.resumable = Some(ResumeState {
                        id: id.clone(),
                        location: location.clone(),
                        // Not what we read: what the host stored.
                        handled: counters.acknowledgeable(),
                    });
                }
                _ => self.forget_stream(),
            }
        }
        end
    }
}
