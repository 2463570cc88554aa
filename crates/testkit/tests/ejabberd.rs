//! The harness against the real ejabberd (Debian's 23.01), and the
//! kind-independent layer (`XmppServer`, `ServerKind`, `both_servers!`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use wimsy_testkit::{Ejabberd, Prosody, ServerKind, both_servers, wait_until};

/// Processes named `beam.smp` whose command line names `node`.
fn beams_of(node: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let zombie = stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'));
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline);
        if !zombie && stat.contains("(beam.smp)") && cmdline.contains(node) {
            found.push(pid);
        }
    }
    found
}

fn is_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

/// What the server sends within `wait` after a stream header (TCP connects
/// succeed even when it is frozen, through the listen backlog).
fn stream_answer(server: &Ejabberd, wait: Duration) -> String {
    let mut tcp = TcpStream::connect(server.server()).expect("connect");
    tcp.write_all(
        b"<?xml version='1.0'?><stream:stream to='localhost' version='1.0' \
          xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>",
    )
    .expect("write the stream header");
    let deadline = Instant::now() + wait;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline && !String::from_utf8_lossy(&got).contains("</stream:features>")
    {
        tcp.set_read_timeout(Some(
            deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1)),
        ))
        .expect("set a read timeout");
        match tcp.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn accounts_logins_restart_freeze_and_drop() {
    let t = Instant::now();
    let mut server = Ejabberd::builder()
        .account("alice", "alice-pw")
        .resume_timeout_secs(7)
        .disable_sasl_mechanism("SCRAM-SHA-1-PLUS")
        .start()
        .unwrap();
    eprintln!("ejabberd cold start with one account: {:?}", t.elapsed());
    let node = server.node().to_owned();
    let dir = server.dir().to_path_buf();
    let first_pid = server.pid().unwrap();
    assert_eq!(beams_of(&node), vec![first_pid]);
    assert_eq!(server.domain(), "localhost");
    assert_eq!(server.server(), format!("127.0.0.1:{}", server.port()));
    assert_eq!(server.jid("alice"), "alice@localhost");
    let config = std::fs::read_to_string(server.config_file()).unwrap();
    assert!(config.contains("resume_timeout: 7"), "{config}");
    assert!(config.contains("ip: \"127.0.0.1\""), "{config}");
    assert_eq!(
        server.sasl_mechanisms().unwrap(),
        ["PLAIN", "SCRAM-SHA-1"],
        "-PLUS withheld, and never X-OAUTH2 or DIGEST-MD5"
    );

    // STARTTLS verifies against the test CA; SASL works and refuses.
    let t = Instant::now();
    server.register("bob", "bob-pw").unwrap();
    eprintln!("ejabberdctl register: {:?}", t.elapsed());
    assert!(server.check_login("alice", "alice-pw").unwrap());
    assert!(server.check_login("bob", "bob-pw").unwrap());
    assert!(!server.check_login("alice", "wrong").unwrap());
    assert!(!server.check_login("nobody", "alice-pw").unwrap());
    // Registering again sets the password, as Prosody's harness does.
    server.register("bob", "bob-pw2").unwrap();
    assert!(server.check_login("bob", "bob-pw2").unwrap());
    server.set_password("alice", "alice-pw2").unwrap();
    assert!(server.check_login("alice", "alice-pw2").unwrap());
    assert!(!server.check_login("alice", "alice-pw").unwrap());
    assert!(server.set_password("carol", "x").is_err());

    // Restart keeps accounts and port.
    let port = server.port();
    let t = Instant::now();
    server.restart().unwrap();
    eprintln!("ejabberd restart (stop + warm start): {:?}", t.elapsed());
    assert_eq!(server.port(), port);
    assert!(!is_alive(first_pid));
    assert_ne!(server.pid().unwrap(), first_pid);
    assert!(server.check_login("alice", "alice-pw2").unwrap());
    assert!(server.check_login("bob", "bob-pw2").unwrap());

    // Freeze: the VM stops answering; thaw: it answers again.
    server.freeze().unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", server.pid().unwrap())).unwrap();
    assert!(
        stat.rsplit(')')
            .next()
            .unwrap()
            .trim_start()
            .starts_with('T'),
        "{stat}"
    );
    assert_eq!(stream_answer(&server, Duration::from_millis(500)), "");
    server.thaw().unwrap();
    assert!(stream_answer(&server, Duration::from_secs(5)).contains("<stream:features"));
    assert!(server.check_login("alice", "alice-pw2").unwrap());

    // Stop and start again.
    let t = Instant::now();
    server.stop().unwrap();
    eprintln!("ejabberd clean stop: {:?}", t.elapsed());
    assert!(!server.is_running());
    assert_eq!(server.pid(), None);
    assert!(beams_of(&node).is_empty());
    assert!(TcpStream::connect(server.server()).is_err());
    assert!(server.log().contains("is stopped in the node"));
    server.stop().unwrap(); // idempotent
    assert!(server.freeze().is_err());
    assert!(server.register("carol", "pw").is_err());
    server.start_again().unwrap();
    assert!(server.is_running());
    assert!(server.start_again().is_err());
    assert!(server.check_login("bob", "bob-pw2").unwrap());

    // Drop, even frozen, leaves nothing behind.
    server.freeze().unwrap();
    drop(server);
    assert!(beams_of(&node).is_empty(), "a beam.smp of {node} survived");
    assert!(!dir.exists(), "{} still exists", dir.display());
}

#[test]
fn two_private_instances_run_at_once_on_their_own_ports() {
    let t = Instant::now();
    let handles: Vec<_> = (0..2)
        .map(|i| {
            thread::spawn(move || {
                let user = format!("user{i}");
                let server = Ejabberd::builder().account(&user, "pw").start().unwrap();
                (server, user)
            })
        })
        .collect();
    let servers: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    eprintln!("2 parallel ejabberd cold starts: {:?}", t.elapsed());
    assert_ne!(servers[0].0.port(), servers[1].0.port());
    assert_ne!(servers[0].0.node(), servers[1].0.node());
    for (server, user) in &servers {
        assert!(server.check_login(user, "pw").unwrap());
    }
    // Data is private to each instance.
    assert!(!servers[0].0.check_login(&servers[1].1, "pw").unwrap());
    assert!(!servers[1].0.check_login(&servers[0].1, "pw").unwrap());
    let nodes: Vec<String> = servers.iter().map(|(s, _)| s.node().to_owned()).collect();
    drop(servers);
    for node in nodes {
        assert!(beams_of(&node).is_empty(), "a beam.smp of {node} survived");
    }
}

/// The shared instance: whichever of these two runs first starts it, the
/// other reuses it.
fn shared_instance_used_by(prefix: &str) {
    let server = Ejabberd::shared().expect("the shared ejabberd");
    let again = Ejabberd::shared().expect("the shared ejabberd, again");
    assert!(std::ptr::eq(server, again));
    let account = server.new_account(prefix).expect("a new account");
    assert!(account.user.starts_with(&format!("{prefix}-")));
    assert_eq!(account.jid, server.jid(&account.user));
    assert!(
        server
            .check_login(&account.user, &account.password)
            .expect("a login")
    );
    eprintln!("shared ejabberd pid {:?}", server.pid());
}

#[test]
fn shared_instance_first_user() {
    shared_instance_used_by("first");
}

#[test]
fn shared_instance_second_user() {
    shared_instance_used_by("second");
}

both_servers! {
    /// Runs on both servers through the common trait, on the shared
    /// instances.
    #[test]
    fn fresh_accounts_log_in(kind: ServerKind) {
        let server = kind.shared().unwrap();
        assert_eq!(server.kind(), kind);
        let a = server.new_account("alice").unwrap();
        let b = server.new_account("alice").unwrap();
        assert_ne!(a.user, b.user);
        assert!(server.check_login(&a.user, &a.password).unwrap());
        assert!(!server.check_login(&a.user, &b.password).unwrap());
        let mechanisms = server.sasl_mechanisms().unwrap();
        eprintln!("{kind} offers {mechanisms:?}");
        assert!(mechanisms.iter().any(|m| m == "SCRAM-SHA-1"), "{mechanisms:?}");
    }

    /// A private instance of either kind, restarted; async, as most
    /// end-to-end tests are.
    #[tokio::test]
    async fn private_instance_keeps_accounts_over_a_restart(kind: ServerKind) -> anyhow::Result<()> {
        let mut server = kind.builder().account("alice", "alice-pw").resume_secs(5).start()?;
        let bob = server.new_account("bob")?;
        server.restart()?;
        assert!(server.is_running());
        assert!(server.check_login("alice", "alice-pw")?);
        assert!(server.check_login(&bob.user, &bob.password)?);
        server.freeze()?;
        server.thaw()?;
        assert!(server.check_login(&bob.user, &bob.password)?);
        Ok(())
    }
}

/// Not a test by itself: run by `no_server_outlives_a_killed_test_process`
/// in a child process, which it then kills.
#[test]
#[ignore = "helper, run by another test"]
fn watchdog_helper_child() {
    if std::env::var_os("WIMSY_TESTKIT_WATCHDOG_CHILD").is_none() {
        return;
    }
    let private = Ejabberd::builder().start().unwrap();
    let shared = Ejabberd::shared().unwrap();
    let prosody = Prosody::shared().unwrap();
    println!(
        "SERVERS {} {} {} {} {} {}",
        private.node(),
        private.dir().display(),
        shared.node(),
        shared.dir().display(),
        prosody.pid().unwrap(),
        prosody.dir().display(),
    );
    thread::sleep(Duration::from_secs(120));
}

/// The private ejabberd, the shared one (never dropped, by design) and the
/// shared Prosody all go, with their directories, as soon as the test
/// process is killed.
#[test]
fn no_server_outlives_a_killed_test_process() {
    use std::io::{BufRead, BufReader};

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "watchdog_helper_child",
            "--ignored",
            "--nocapture",
        ])
        .env("WIMSY_TESTKIT_WATCHDOG_CHILD", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    while !line.starts_with("SERVERS ") {
        line.clear();
        assert_ne!(
            stdout.read_line(&mut line).unwrap(),
            0,
            "helper gave no servers"
        );
    }
    let words: Vec<&str> = line.split_whitespace().skip(1).collect();
    let ejabberds = [(words[0], words[1]), (words[2], words[3])];
    let prosody_pid: u32 = words[4].parse().unwrap();
    let prosody_dir = std::path::Path::new(words[5]);
    for (node, _) in ejabberds {
        assert_eq!(beams_of(node).len(), 1, "{node}");
    }
    assert!(is_alive(prosody_pid));

    child.kill().unwrap(); // SIGKILL: no Drop runs in the helper
    child.wait().unwrap();

    let t = Instant::now();
    for (node, dir) in ejabberds {
        wait_until(
            Duration::from_secs(5),
            "the orphaned ejabberd to exit",
            || beams_of(node).is_empty(),
        )
        .unwrap();
        wait_until(
            Duration::from_secs(5),
            "its directory to be removed",
            || !std::path::Path::new(dir).exists(),
        )
        .unwrap();
    }
    wait_until(Duration::from_secs(5), "the shared prosody to exit", || {
        !is_alive(prosody_pid)
    })
    .unwrap();
    wait_until(
        Duration::from_secs(5),
        "its directory to be removed",
        || !prosody_dir.exists(),
    )
    .unwrap();
    eprintln!("orphans and their directories gone after {:?}", t.elapsed());
}
