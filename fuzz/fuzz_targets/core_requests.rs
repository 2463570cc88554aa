//! The daemon's core answering arbitrary requests from a client that has
//! said hello: accounts added and removed, messages queued, history paged,
//! trust given, quit, in any order and with any arguments, while the
//! sessions it starts fail against a closed loopback port. The harness
//! (wimsyd::fuzzing) panics when an answer is missing, doubled, undecodable
//! or carries a password, when events skip a number, or when the accounts
//! file and the core disagree.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// A loopback port where nothing listens (bound once, then released).
fn closed_port() -> u16 {
    static PORT: OnceLock<u16> = OnceLock::new();
    *PORT.get_or_init(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        listener.local_addr().expect("its address").port()
    })
}

fuzz_target!(|script: &[u8]| {
    // tmpfs when there is one: a fresh directory per input.
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .expect("a temporary directory");
    wimsyd::fuzzing::run_script(dir.path(), closed_port(), script);
});
