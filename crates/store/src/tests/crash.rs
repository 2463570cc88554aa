//! Durability against the process dying: a child process (this test binary
//! again) stores messages and aborts without closing anything; the parent
//! then finds them.

use std::process::{Command, Stdio};

use super::{ME, incoming};
use crate::Store;

const CHILD_ENV: &str = "WIMSY_STORE_CRASH_CHILD_DB";

#[test]
fn committed_messages_survive_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.db");
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "tests::crash::crash_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "the child should have aborted");

    let store = Store::open(&path).unwrap();
    let page = store.history(ME, "juliet@example.net", None, 100).unwrap();
    assert_eq!(page.messages.len(), 20);
    assert_eq!(store.unread_count(ME, "juliet@example.net").unwrap(), 20);
}

/// Does nothing unless started by the test above.
#[test]
fn crash_child() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let mut store = Store::open(std::path::Path::new(&path)).unwrap();
    for ts in 0..20 {
        store
            .insert_message(&incoming("juliet@example.net", "m", ts))
            .unwrap();
    }
    // No destructors, no checkpoint, no close: like SIGKILL.
    std::process::abort();
}
