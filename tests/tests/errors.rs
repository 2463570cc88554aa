//! Bad credentials, hosts and certificates give clear, terminal (or slowly
//! retried) states, never a retry storm.

#![allow(clippy::unwrap_used)]

use wimsy_tests::*;

#[test]
fn a_wrong_password_is_a_terminal_authentication_error() {
    let prosody = prosody_with(&["alice"]);
    let daemon = Daemon::start().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let jid = prosody.jid("alice");
    runtime.block_on(async {
        let mut client = daemon.client().await;
        client.subscribe().await.unwrap();
        let out = daemon.add_account(&prosody, "alice", "wrong-password");
        assert_eq!(out.status.code(), Some(1), "the login it waited for failed");
        let event = next_matching(&mut client, |e| {
            matches!(e, wimsy_ipc::Event::Connection { status, .. } if status.state == wimsy_ipc::ConnectionState::Error)
        })
        .await;
        let wimsy_ipc::Event::Connection { status, .. } = event else { unreachable!() };
        assert_eq!(status.error, Some(wimsy_ipc::ConnectionError::Authentication));
        assert_eq!(
            status.reason,
            "the server refused the user name or password: check them"
        );
    });
    // A barrier instead of a sleep: a second account's whole login takes
    // longer than any retry would; after it, alice must not have retried.
    prosody.register("carol", "carol-pw").unwrap();
    let out = daemon.add_account(&prosody, "carol", "carol-pw");
    assert!(out.status.success());
    daemon
        .wait_state(&prosody.jid("carol"), "connected")
        .unwrap();
    let (state, _) = daemon.state_of(&jid).unwrap();
    assert_eq!(state, "error");
    let attempts = prosody
        .log()
        .lines()
        .filter(|l| {
            l.contains("Sending[c2s_unauthed]: <failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'")
        })
        .count();
    assert!(
        prosody.log().contains("mechanism='SCRAM-SHA-1'"),
        "SCRAM, not PLAIN, is used when the server offers it"
    );
    assert_eq!(
        attempts,
        1,
        "exactly one failed login, no retry storm\n{}",
        prosody.log()
    );
    let human = daemon.ctl(&["status"]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("error") && text.contains("refused the user name or password"),
        "{text}"
    );
}

#[test]
fn an_unknown_host_is_reported_with_its_name_and_retried_with_backoff() {
    let daemon = Daemon::start().unwrap();
    let out = daemon.ctl_with_stdin(
        &[
            "account",
            "add",
            "alice@example.invalid",
            "--server",
            "no-such-host.invalid:5222",
            "--password-stdin",
            "--no-wait",
        ],
        "pw\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_until(DEADLINE, "a resolve failure in the status", || {
        daemon
            .state_of("alice@example.invalid")
            .is_some_and(|(state, reason)| {
                state == "connecting"
                    && reason.contains("could not find the server no-such-host.invalid")
            })
    })
    .unwrap();
}

#[test]
fn an_untrusted_certificate_is_a_terminal_certificate_error() {
    let prosody = prosody_with(&["alice"]);
    let daemon = Daemon::start().unwrap();
    let other_ca = wimsy_testkit::untrusted_ca_file(daemon.dir()).unwrap();
    let out = daemon.ctl_with_stdin(
        &[
            "account",
            "add",
            &prosody.jid("alice"),
            "--server",
            &prosody.server(),
            "--ca-file",
            other_ca.to_str().unwrap(),
            "--password-stdin",
        ],
        "alice-pw\n",
    );
    assert_eq!(out.status.code(), Some(1), "the login it waited for failed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("could not log in"), "{stderr}");
    let reason = daemon.wait_state(&prosody.jid("alice"), "error").unwrap();
    assert!(
        reason.contains("certificate") && reason.contains("not trusted"),
        "{reason}"
    );
    let status = daemon.ctl_json(&["status"]);
    assert_eq!(status["accounts"][0]["status"]["error"], "certificate");
}

#[test]
fn an_invalid_jid_is_a_usage_error() {
    let daemon = Daemon::start().unwrap();
    let out = daemon.ctl_with_stdin(&["account", "add", "not a jid", "--password-stdin"], "pw\n");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not a valid JID") || stderr.contains("no user part"),
        "{stderr}"
    );
}

#[test]
fn a_login_logged_at_trace_never_shows_the_password() {
    let password = "Tr4ce-Secret-pw";
    // PLAIN only, so the password itself (base64) crosses the wire and the
    // wire capture would print it if nothing redacted it.
    let prosody = wimsy_testkit::Prosody::builder()
        .account("alice", password)
        .extra_config("disable_sasl_mechanisms = { \"SCRAM-SHA-1\", \"SCRAM-SHA-1-PLUS\" }")
        .start()
        .unwrap();
    let daemon = Daemon::start_logging("trace").unwrap();
    let out = daemon.add_account(&prosody, "alice", password);
    assert!(out.status.success());
    daemon
        .wait_state(&prosody.jid("alice"), "connected")
        .unwrap();
    let log = daemon.log();
    assert!(log.contains("TRACE"), "the log really is at trace level");
    assert!(
        prosody.log().contains("mechanism='PLAIN'"),
        "the test really used PLAIN"
    );
    assert!(log.contains("SEND <iq"), "the wire capture is on: {log}");
    let b64 = |s: &str| {
        const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let bytes = s.as_bytes();
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b))
                << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    };
    let user = "alice";
    let forms = [
        password.to_owned(),
        b64(password),
        b64(&format!("\0{user}\0{password}")),
        b64(&format!("{user}\0{password}")),
    ];
    for form in &forms {
        assert!(!log.contains(form.as_str()), "the log contains {form:?}");
    }
    assert!(
        log.contains("[SASL exchange redacted]"),
        "the SASL part is redacted"
    );
}
