//! The daemon's core driven by arbitrary client bytes, for the fuzz target
//! `core_requests` (fuzz/) and for this crate's own tests of it. Not an API:
//! hidden from the docs and used by nothing else.
//!
//! One [`run_script`] call is one fresh daemon core (in-memory store,
//! accounts and password files in the given directory) that receives every
//! line of the script as a frame from one client that has said hello, the
//! way the IPC server hands frames to the core. Between requests the
//! sessions the script started get to run and their events reach the core.
//! It panics if the core breaks a promise the protocol makes:
//! - every request gets exactly one answer, carrying its id, in order;
//! - every frame the client receives decodes as a server frame, and events
//!   are numbered without gaps;
//! - no frame carries a password the script gave;
//! - the accounts file lists exactly the accounts the core knows.
//!
//! No session may reach anything but a closed loopback port: every server
//! the script names that would parse is replaced by one, accounts without a
//! server get one too (otherwise the JID's domain would be resolved), and CA
//! files are dropped so no file of the machine is read.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use tokio::sync::mpsc;
use wimsy_ipc::{ErrorCode, Request, Role, Secret, ServerFrame, decode_client_frame, decode_frame};

use crate::accounts::AccountStore;
use crate::core::Core;
use crate::ipc_server::{ClientHandle, Outbound};
use crate::secrets::Secrets;

/// Every password the script gives (but an empty one) is replaced by this,
/// so that a leak is found by looking for one string.
pub const CANARY_PASSWORD: &str = "fuzz-canary-5b1e9c";

/// Frames queued for the client before it would be cut off; large enough
/// that a script's answers and events never overflow it.
const CLIENT_QUEUE: usize = 1 << 16;

/// Run `script` (newline-separated client frames) against a fresh core
/// whose files live in `dir` (which must be empty and private).
/// `closed_port` is a port of 127.0.0.1 where nothing listens: every
/// session the script starts dials it.
///
/// # Panics
///
/// When the core breaks one of the promises listed in the module docs, or
/// the runtime cannot be built.
pub fn run_script(dir: &Path, closed_port: u16, script: &[u8]) -> Outcome {
    // Only the fuzz target and tests call this: a panic is the report.
    #[allow(clippy::expect_used)]
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    runtime.block_on(drive(dir, closed_port, script))
}

/// What the client received, by kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Successful answers.
    pub responses: usize,
    /// Error answers (with or without id).
    pub errors: usize,
    /// Events.
    pub events: usize,
}

async fn drive(dir: &Path, closed_port: u16, script: &[u8]) -> Outcome {
    let Ok(store) = wimsy_store::Store::open_in_memory() else {
        panic!("an in-memory store must open");
    };
    let account_files = AccountStore::new(dir);
    let secrets = Secrets::files_only(dir);
    let (session_tx, mut session_rx) = mpsc::unbounded_channel();
    let mut core = Core::new(
        store,
        account_files,
        secrets,
        crate::settings::Settings::load(dir),
        crate::SessionConfig::tight(),
        session_tx,
        crate::notify::Notifier::detached().0,
    );
    let (client, mut out) = ClientHandle::detached(1, Role::Cli, CLIENT_QUEUE);
    let mut frames = Frames::default();
    let dead_server = format!("127.0.0.1:{closed_port}");

    for line in script.split(|&b| b == b'\n') {
        if line.is_empty() {
            continue;
        }
        let expected_id = match decode_client_frame(line) {
            Ok(frame) => {
                let id = frame.id;
                let request = confine(frame.request, &dead_server);
                if core.handle_request(&client, id, request).await {
                    frames.take(&mut out, Some(id));
                    break;
                }
                Some(id)
            }
            Err(rejected) => {
                let id = rejected.id;
                let _ = client.send(&ServerFrame::Error {
                    id: rejected.id,
                    error: rejected.error,
                });
                id
            }
        };
        frames.take(&mut out, expected_id);
        // Let the sessions run (they fail to connect) and hand their events
        // to the core, as its loop would.
        for _ in 0..4 {
            tokio::task::yield_now().await;
            while let Ok(tagged) = session_rx.try_recv() {
                core.on_session_event(tagged);
            }
        }
        frames.take_events(&mut out);
        check_accounts_file(&core);
    }
    core.shutdown(Duration::from_millis(200)).await;
    frames.take_events(&mut out);
    frames.seen
}

/// Keep the script's sessions off the network and the machine's files.
fn confine(request: Request, dead_server: &str) -> Request {
    match request {
        Request::AccountAdd {
            jid,
            password,
            server,
            ..
        } => {
            let server = match server {
                Some(s) if wimsy_session::ServerOverride::parse(&s).is_err() => Some(s),
                _ => Some(dead_server.to_owned()),
            };
            Request::AccountAdd {
                jid,
                // An empty one stays empty: the core must refuse it.
                password: if password.expose().is_empty() {
                    password
                } else {
                    Secret::new(CANARY_PASSWORD)
                },
                server,
                ca_file: None,
            }
        }
        other => other,
    }
}

/// What the client has received so far, checked as it arrives.
#[derive(Default)]
struct Frames {
    last_seq: Option<u64>,
    seen: Outcome,
}

impl Frames {
    /// The answer to the request just handled, and any events before it.
    fn take(&mut self, out: &mut mpsc::Receiver<Outbound>, id: Option<u64>) {
        let mut answers = Vec::new();
        while let Ok(outbound) = out.try_recv() {
            if let Some(answer) = self.check(&outbound) {
                answers.push(answer);
            }
        }
        assert_eq!(
            answers,
            vec![id],
            "one request must get exactly one answer, carrying its id"
        );
    }

    fn take_events(&mut self, out: &mut mpsc::Receiver<Outbound>) {
        while let Ok(outbound) = out.try_recv() {
            if let Some(id) = self.check(&outbound) {
                panic!("an answer ({id:?}) arrived without a request");
            }
        }
    }

    /// Checks one frame; the id of an answer (`Some(None)` for an error
    /// without id), `None` for an event.
    fn check(&mut self, outbound: &Outbound) -> Option<Option<u64>> {
        let bytes = outbound.bytes();
        let text = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("frame is not UTF-8: {e}"));
        assert!(
            !text.contains(CANARY_PASSWORD),
            "a password reached a client: {text}"
        );
        assert!(text.ends_with('\n'), "a frame must end its line: {text:?}");
        let frame: ServerFrame = decode_frame(text.trim_end().as_bytes())
            .unwrap_or_else(|e| panic!("the client could not decode {text:?}: {e}"));
        match frame {
            ServerFrame::Response { id, .. } => {
                self.seen.responses += 1;
                Some(Some(id))
            }
            ServerFrame::Error { id, error } => {
                self.seen.errors += 1;
                assert!(
                    error.code != ErrorCode::Internal || !error.message.contains("encode"),
                    "an answer could not be encoded: {}",
                    error.message
                );
                Some(id)
            }
            ServerFrame::Event { seq, .. } => {
                self.seen.events += 1;
                if let Some(last) = self.last_seq {
                    assert_eq!(seq, last + 1, "events must be numbered without gaps");
                }
                self.last_seq = Some(seq);
                None
            }
            ServerFrame::Unknown => {
                panic!("the daemon sent a frame its own protocol does not know: {text}")
            }
        }
    }
}

/// The accounts file must say what the core knows, or a restart would
/// bring back a removed account or lose an added one.
fn check_accounts_file(core: &Core) {
    let on_disk: BTreeSet<String> = match core.account_files.load() {
        Ok(entries) => entries.into_iter().map(|e| e.jid).collect(),
        Err(e) => panic!("the accounts file must stay readable: {e}"),
    };
    let known: BTreeSet<String> = core
        .accounts
        .keys()
        .chain(core.dormant.keys())
        .cloned()
        .collect();
    assert_eq!(on_disk, known, "accounts file and core disagree");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn closed_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    fn seed(name: &str) -> Outcome {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/seeds/core_requests")
            .join(name);
        let script = std::fs::read(&path).unwrap();
        let dir = tempfile::tempdir().unwrap();
        run_script(dir.path(), closed_port(), &script)
    }

    /// The scripts the fuzz target is seeded with hold, and they reach
    /// deep enough (accounts added, messages queued, events published)
    /// for the fuzzer to start from somewhere interesting.
    #[test]
    fn seed_scripts_keep_every_promise() {
        let lifecycle = seed("lifecycle.ndjson");
        assert_eq!(
            (lifecycle.responses, lifecycle.errors),
            (12, 0),
            "{lifecycle:?}"
        );
        assert!(lifecycle.events >= 4, "{lifecycle:?}");
        let two = seed("two_accounts.ndjson");
        assert_eq!((two.responses, two.errors), (8, 2), "{two:?}");
        let trust = seed("trust.ndjson");
        assert_eq!((trust.responses, trust.errors), (4, 1), "{trust:?}");
        let hostile = seed("hostile.ndjson");
        assert_eq!(hostile.responses, 3, "{hostile:?}");
        assert_eq!(hostile.errors, 11, "{hostile:?}");
        let quit = seed("quit.ndjson");
        assert_eq!((quit.responses, quit.errors), (4, 0), "{quit:?}");
        // Settings, views and retries: each refusal is an error, not a
        // dropped answer.
        let user = seed("user.ndjson");
        assert_eq!((user.responses, user.errors), (7, 5), "{user:?}");
        assert!(user.events >= 3, "{user:?}");
        // Roster changes and presence: an account that is not connected
        // refuses roster changes at once, in words; presence is kept.
        let roster = seed("roster.ndjson");
        assert_eq!((roster.responses, roster.errors), (5, 7), "{roster:?}");
        assert!(roster.events >= 3, "{roster:?}");
    }

    #[test]
    #[should_panic(expected = "exactly one answer")]
    fn an_answer_that_is_missing_is_caught() {
        let (client, mut out) = ClientHandle::detached(1, Role::Cli, 4);
        drop(client);
        Frames::default().take(&mut out, Some(1));
    }

    #[test]
    #[should_panic(expected = "a password reached a client")]
    fn a_leaked_password_is_caught() {
        let (client, mut out) = ClientHandle::detached(1, Role::Cli, 4);
        let _ = client.send(&ServerFrame::Error {
            id: Some(1),
            error: wimsy_ipc::ErrorBody::new(ErrorCode::Internal, CANARY_PASSWORD),
        });
        Frames::default().take(&mut out, Some(1));
    }
}
