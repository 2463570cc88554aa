//! The harness against the real Prosody.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::kill;
use nix::unistd::Pid;
use wimsy_testkit::{Prosody, free_loopback_port, untrusted_ca_file, wait_until};

/// `openssl s_client -starttls xmpp` against the server with `ca`; returns its output.
fn s_client(server: &Prosody, ca: &Path) -> String {
    let out = Command::new("openssl")
        .args([
            "s_client",
            "-starttls",
            "xmpp",
            "-xmpphost",
            "localhost",
            "-CAfile",
        ])
        .arg(ca)
        .args(["-verify_return_error", "-connect"])
        .arg(server.server())
        .stdin(Stdio::null())
        .output()
        .expect("run openssl s_client");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn pid_alive(pid: u32) -> bool {
    kill(Pid::from_raw(pid as i32), None).is_ok()
}

#[test]
fn starttls_verifies_against_the_test_ca() {
    let t = Instant::now();
    let server = Prosody::builder()
        .account("alice", "alice-pw")
        .hibernation_secs(7)
        .extra_config("-- extra line from the test")
        .start()
        .unwrap();
    eprintln!("cold start with one account: {:?}", t.elapsed());

    assert_eq!(server.domain(), "localhost");
    assert_eq!(server.jid("alice"), "alice@localhost");
    assert_eq!(server.server(), format!("127.0.0.1:{}", server.port()));
    let config = std::fs::read_to_string(server.config_file()).unwrap();
    assert!(config.contains("smacks_hibernation_time = 7"), "{config}");
    assert!(config.contains("-- extra line from the test"), "{config}");

    let out = s_client(&server, server.ca_file());
    assert!(out.contains("Verify return code: 0 (ok)"), "{out}");

    let dir = tempfile::tempdir().unwrap();
    let untrusted = untrusted_ca_file(dir.path()).unwrap();
    let out = s_client(&server, &untrusted);
    assert!(!out.contains("Verify return code: 0 (ok)"), "{out}");
    assert!(
        out.contains("unable to get local issuer certificate"),
        "{out}"
    );

    // rustls (what the client uses) accepts the chain too, and SASL works.
    assert!(server.check_login("alice", "alice-pw").unwrap());
    assert!(!server.check_login("alice", "wrong").unwrap());
    assert!(!server.check_login("nobody", "alice-pw").unwrap());

    let log = server.log();
    assert!(log.contains("wimsy-testkit: server started"), "{log}");
    assert!(log.contains("TLS handshake complete"), "{log}");
}

#[test]
fn restart_keeps_accounts_and_port_and_passwords_change_live() {
    let mut server = Prosody::builder()
        .account("alice", "alice-pw")
        .start()
        .unwrap();
    let port = server.port();
    let first_pid = server.pid().unwrap();

    // While running: a new account and a new password are seen at once.
    server.register("bob", "bob-pw").unwrap();
    assert!(server.check_login("bob", "bob-pw").unwrap());
    server.set_password("alice", "alice-pw2").unwrap();
    assert!(server.check_login("alice", "alice-pw2").unwrap());
    assert!(!server.check_login("alice", "alice-pw").unwrap());
    assert!(server.set_password("carol", "x").is_err());

    let t = Instant::now();
    server.restart().unwrap();
    eprintln!("restart (stop + warm start): {:?}", t.elapsed());
    assert_eq!(server.port(), port);
    assert_ne!(server.pid().unwrap(), first_pid);
    assert!(!pid_alive(first_pid));
    assert!(server.check_login("alice", "alice-pw2").unwrap());
    assert!(server.check_login("bob", "bob-pw").unwrap());

    let t = Instant::now();
    server.stop().unwrap();
    eprintln!("clean stop: {:?}", t.elapsed());
    assert_eq!(server.pid(), None);
    assert!(!server.is_running());
    assert!(TcpStream::connect(server.server()).is_err());
    assert!(server.log().contains("Shutdown complete"));
    server.stop().unwrap(); // idempotent
    assert!(server.freeze().is_err());
    server.start_again().unwrap();
    assert!(server.start_again().is_err());
    assert!(server.check_login("bob", "bob-pw").unwrap());
}

#[test]
fn parallel_instances_get_their_own_ports() {
    let t = Instant::now();
    let handles: Vec<_> = (0..3)
        .map(|i| {
            thread::spawn(move || {
                let user = format!("user{i}");
                let server = Prosody::builder().account(&user, "pw").start().unwrap();
                (server, user)
            })
        })
        .collect();
    let servers: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    eprintln!("3 parallel cold starts: {:?}", t.elapsed());

    let mut ports: Vec<u16> = servers.iter().map(|(s, _)| s.port()).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 3);
    for (server, user) in &servers {
        assert!(server.check_login(user, "pw").unwrap());
        // Data is private to each instance.
        for (other, other_user) in &servers {
            if other.port() != server.port() {
                assert!(!server.check_login(other_user, "pw").unwrap());
                assert_ne!(other.data_dir(), server.data_dir());
            }
        }
    }
}

#[test]
fn drop_kills_even_a_frozen_server_and_removes_its_dir() {
    let server = Prosody::builder().start().unwrap();
    let pid = server.pid().unwrap();
    let dir = server.dir().to_path_buf();
    assert!(pid_alive(pid));
    assert!(dir.join("prosody.cfg.lua").exists());

    server.freeze().unwrap();
    // Frozen: TCP connects still succeed through the backlog.
    assert!(TcpStream::connect(server.server()).is_ok());
    server.thaw().unwrap();
    server.freeze().unwrap();

    drop(server);
    assert!(!pid_alive(pid), "prosody {pid} still alive after drop");
    assert!(!dir.exists(), "{} still exists", dir.display());
}

#[test]
fn wait_until_names_what_it_waited_for() {
    let mut n = 0;
    wait_until(Duration::from_secs(1), "three polls", || {
        n += 1;
        n >= 3
    })
    .unwrap();
    let err = wait_until(Duration::from_millis(30), "the moon", || false).unwrap_err();
    assert!(err.to_string().contains("the moon"), "{err}");
}

#[test]
fn free_loopback_port_is_bindable() {
    let port = free_loopback_port();
    assert_ne!(port, 0);
    std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
}

/// Not a test by itself: run by `a_server_outlives_a_killed_test_process_by_a_second_at_most`
/// in a child process, which it then kills.
#[test]
#[ignore = "helper, run by another test"]
fn watchdog_helper_child() {
    if std::env::var_os("WIMSY_TESTKIT_WATCHDOG_CHILD").is_none() {
        return;
    }
    let server = Prosody::builder().start().unwrap();
    println!(
        "PROSODY {} {}",
        server.pid().unwrap(),
        server.dir().display()
    );
    thread::sleep(Duration::from_secs(60));
}

#[test]
fn a_server_outlives_a_killed_test_process_by_a_second_at_most() {
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
    while !line.starts_with("PROSODY ") {
        line.clear();
        assert_ne!(
            stdout.read_line(&mut line).unwrap(),
            0,
            "helper gave no pid"
        );
    }
    let mut words = line.split_whitespace().skip(1);
    let pid: u32 = words.next().unwrap().parse().unwrap();
    let dir = std::path::PathBuf::from(words.next().unwrap());
    assert!(pid_alive(pid));

    child.kill().unwrap(); // SIGKILL: no Drop runs in the helper
    child.wait().unwrap();

    // Orphans may stay zombies if nothing reaps them here: count those as gone.
    let gone = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| {
                stat.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
            .unwrap_or(true)
    };
    let result = wait_until(Duration::from_secs(5), "the orphaned prosody to exit", gone);
    if result.is_err() {
        let _ = kill(Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGKILL);
    }
    let log = std::fs::read_to_string(dir.join("prosody.log")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    result.unwrap();
    assert!(log.contains("parent process"), "{log}");
}

#[test]
fn a_replaced_certificate_is_served_after_the_restart() {
    let mut server = Prosody::builder()
        .account("alice", "alice-pw")
        .start()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let old_ca = dir.path().join("old-ca.pem");
    std::fs::copy(server.ca_file(), &old_ca).unwrap();
    let old_cert = std::fs::read_to_string(server.cert_file()).unwrap();
    assert!(old_cert.starts_with("-----BEGIN CERTIFICATE-----"));
    let port = server.port();

    server.replace_certificate().unwrap();

    assert_eq!(server.port(), port);
    assert_ne!(
        std::fs::read_to_string(server.cert_file()).unwrap(),
        old_cert
    );
    let out = s_client(&server, server.ca_file());
    assert!(out.contains("Verify return code: 0 (ok)"), "{out}");
    let out = s_client(&server, &old_ca);
    assert!(!out.contains("Verify return code: 0 (ok)"), "{out}");
    assert!(server.check_login("alice", "alice-pw").unwrap());
}
