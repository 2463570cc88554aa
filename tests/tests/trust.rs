//! Trust on first use: a server whose certificate cannot be verified is
//! offered by fingerprint, the user pins it with `wimsyctl account trust`,
//! and a different certificate later is refused, once, with both
//! fingerprints.

#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use sha2::Digest as _;
use wimsy_testkit::Prosody;
use wimsy_tests::*;

/// SHA-256 of the server's certificate, from the PEM the harness wrote and
/// with third-party code only, so that a mistake in our own fingerprint
/// code cannot hide here.
fn leaf_fingerprint(prosody: &Prosody) -> String {
    let pem = std::fs::read_to_string(prosody.cert_file()).unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    let pairs: Vec<String> = sha2::Sha256::digest(&der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    format!("SHA256:{}", pairs.join(":"))
}

/// `account add` without `--ca-file`: only the OS roots, which know
/// nothing of the test CA.
fn add_without_ca(daemon: &Daemon, prosody: &Prosody, user: &str) {
    let out = daemon.ctl_with_stdin(
        &[
            "account",
            "add",
            &prosody.jid(user),
            "--server",
            &prosody.server(),
            "--password-stdin",
            "--no-wait",
        ],
        &format!("{user}-pw\n"),
    );
    assert!(
        out.status.success(),
        "account add: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `status` object of `jid` from `wimsyctl --json status`.
fn status_json(daemon: &Daemon, jid: &str) -> serde_json::Value {
    let status = daemon.ctl_json(&["status"]);
    status["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["jid"] == jid)
        .map(|a| a["status"].clone())
        .unwrap()
}

fn trust(daemon: &Daemon, jid: &str, fingerprint: &str) -> std::process::Output {
    daemon.ctl(&["account", "trust", jid, fingerprint])
}

fn accounts_file(daemon: &Daemon) -> String {
    std::fs::read_to_string(daemon.dir().join("config/accounts.toml")).unwrap()
}

/// STARTTLS requests the server received in `log`.
fn starttls_count(log: &str) -> usize {
    log.lines()
        .filter(|l| l.contains("Received[c2s_unauthed]: <starttls"))
        .count()
}

#[test]
fn an_unverifiable_certificate_is_offered_by_fingerprint_and_stays_pinned_once_trusted() {
    let prosody = prosody_with(&["alice"]);
    let mut daemon = Daemon::start().unwrap();
    let jid = prosody.jid("alice");
    add_without_ca(&daemon, &prosody, "alice");

    let reason = daemon.wait_state(&jid, "error").unwrap();
    let expected = leaf_fingerprint(&prosody);
    let status = status_json(&daemon, &jid);
    assert_eq!(status["error"], "certificate", "{status}");
    assert_eq!(status["fingerprint"], expected.as_str(), "{status}");
    assert!(reason.contains("not trusted"), "{reason}");
    assert!(
        reason.contains(&format!(
            "fingerprint is {expected}, then trust that certificate"
        )),
        "the reason says what to do: {reason}"
    );
    assert!(
        !reason.contains("wimsyctl"),
        "neutral of frontends: {reason}"
    );
    let human = String::from_utf8_lossy(&daemon.ctl(&["status"]).stdout).into_owned();
    assert!(human.contains(&expected), "{human}");

    // Bare lowercase hex is accepted and stored in the canonical form.
    let bare = expected["SHA256:".len()..].replace(':', "").to_lowercase();
    let out = trust(&daemon, &jid, &bare);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!("{jid} now trusts only the certificate {expected}")),
        "{said}"
    );
    daemon.wait_state(&jid, "connected").unwrap();
    assert!(
        accounts_file(&daemon).contains(&format!("pinned_sha256 = \"{expected}\"")),
        "{}",
        accounts_file(&daemon)
    );
    assert!(
        !daemon
            .log()
            .contains("other than the one the server last offered"),
        "the offered certificate was trusted, nothing to warn about"
    );

    // The pin is all that makes this server trusted: connecting again
    // after a restart proves it was kept.
    daemon.terminate().unwrap();
    daemon.spawn().unwrap();
    daemon.wait_state(&jid, "connected").unwrap();
}

#[test]
fn a_changed_certificate_is_refused_once_with_both_fingerprints() {
    let mut prosody = prosody_with(&["alice", "carol"]);
    let daemon = Daemon::start().unwrap();
    let jid = prosody.jid("alice");
    add_without_ca(&daemon, &prosody, "alice");
    daemon.wait_state(&jid, "error").unwrap();
    let old = leaf_fingerprint(&prosody);
    assert!(trust(&daemon, &jid, &old).status.success());
    daemon.wait_state(&jid, "connected").unwrap();

    let log_start = prosody.log().len();
    prosody.replace_certificate().unwrap();
    let new = leaf_fingerprint(&prosody);
    assert_ne!(old, new);

    // The old state was `error` too, so wait for the new reason.
    wait_until(DEADLINE, "the changed certificate to be refused", || {
        daemon
            .state_of(&jid)
            .is_some_and(|(state, reason)| state == "error" && reason.contains("changed"))
    })
    .unwrap();
    let status = status_json(&daemon, &jid);
    let reason = status["reason"].as_str().unwrap();
    assert_eq!(status["error"], "certificate", "{status}");
    assert_eq!(
        status["fingerprint"],
        new.as_str(),
        "the offered one: {status}"
    );
    assert!(
        reason.contains(&format!("trusted {old}"))
            && reason.contains(&format!("offered now {new}")),
        "{reason}"
    );
    assert!(
        reason.contains("check the new fingerprint") && !reason.contains("wimsyctl"),
        "{reason}"
    );

    // A barrier instead of a sleep: another account's whole login takes
    // longer than any retry would; after it, alice must not have retried.
    let out = daemon.add_account(&prosody, "carol", "carol-pw");
    assert!(out.status.success());
    daemon
        .wait_state(&prosody.jid("carol"), "connected")
        .unwrap();
    let (state, _) = daemon.state_of(&jid).unwrap();
    assert_eq!(state, "error");
    let log = prosody.log();
    assert_eq!(
        starttls_count(&log[log_start..]),
        2,
        "one STARTTLS for alice's one attempt with the new certificate, one for carol's login\n{}",
        &log[log_start..]
    );

    // The user checked the new certificate: trusting it reconnects.
    assert!(trust(&daemon, &jid, &new).status.success());
    daemon.wait_state(&jid, "connected").unwrap();
}

#[test]
fn bad_fingerprints_and_unknown_accounts_are_refused_and_a_different_one_is_the_users_call() {
    let prosody = prosody_with(&["alice"]);
    let daemon = Daemon::start().unwrap();
    let jid = prosody.jid("alice");
    add_without_ca(&daemon, &prosody, "alice");
    daemon.wait_state(&jid, "error").unwrap();
    let offered = leaf_fingerprint(&prosody);

    // wimsyctl refuses them as usage errors before asking wimsyd...
    for malformed in [
        "SHA256:12:34",
        "not-a-fingerprint",
        &offered[..offered.len() - 1],
    ] {
        let out = trust(&daemon, &jid, malformed);
        assert_eq!(out.status.code(), Some(2), "{malformed}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("64 hex digits"), "{stderr}");
    }
    let refused = daemon.ctl_json(&["account", "trust", &jid, "xyz"]);
    assert_eq!(refused["error"]["code"], "usage", "{refused}");
    // ...and wimsyd refuses them from any other client.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let error = runtime.block_on(async {
        let mut client = daemon.client().await;
        client
            .request(wimsy_ipc::Request::AccountTrust {
                jid: jid.clone(),
                fingerprint: "SHA256:12:34".into(),
            })
            .await
            .unwrap_err()
    });
    assert_eq!(error.code(), Some(wimsy_ipc::ErrorCode::InvalidArgument));
    assert!(
        error.to_string().contains("is not a SHA-256 fingerprint"),
        "{error}"
    );

    let out = trust(&daemon, "bob@localhost", &offered);
    assert_eq!(out.status.code(), Some(1));
    let unknown = daemon.ctl_json(&["account", "trust", "bob@localhost", &offered]);
    assert_eq!(unknown["error"]["code"], "unknown_account", "{unknown}");
    assert!(
        !accounts_file(&daemon).contains("pinned_sha256"),
        "nothing was pinned"
    );

    // A fingerprint other than the offered one: accepted, since the user
    // may have checked it elsewhere, but logged; the server's certificate
    // is then not the pinned one.
    let other = format!("SHA256:{}", ["00"; 32].join(":"));
    assert!(trust(&daemon, &jid, &other).status.success());
    wait_until(DEADLINE, "the pinned certificate to be missed", || {
        daemon
            .state_of(&jid)
            .is_some_and(|(state, reason)| state == "error" && reason.contains("changed"))
    })
    .unwrap();
    let warning = daemon
        .log()
        .lines()
        .find(|l| l.contains("other than the one the server last offered"))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no warning in the log:\n{}", daemon.log()));
    assert!(warning.contains(" WARN "), "{warning}");
    assert!(
        warning.contains(&other) && warning.contains(&offered),
        "{warning}"
    );
}

/// A certificate for `localhost` made as a self-hosting admin makes it,
/// `openssl req -x509` (self-signed, CA:TRUE by OpenSSL's defaults), in
/// `dir`: `(certificate, key)`.
fn openssl_self_signed(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "30"])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ext = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-ext", "basicConstraints", "-in"])
        .arg(&cert)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&ext.stdout).contains("CA:TRUE"));
    (cert, key)
}

#[test]
fn a_self_signed_server_certificate_given_with_ca_file_connects() {
    let mut prosody = prosody_with(&["alice", "bob"]);
    let (own, own_key) = openssl_self_signed(&prosody.dir().join("own"));
    let (other, _) = openssl_self_signed(&prosody.dir().join("other"));
    std::fs::copy(&own, prosody.cert_file()).unwrap();
    // The testkit keeps the key beside the certificate.
    std::fs::copy(
        &own_key,
        prosody.cert_file().with_file_name("localhost.key"),
    )
    .unwrap();
    prosody.restart().unwrap();
    let daemon = Daemon::start().unwrap();
    let add = |user: &str, ca: &std::path::Path| {
        let out = daemon.ctl_with_stdin(
            &[
                "account",
                "add",
                &prosody.jid(user),
                "--server",
                &prosody.server(),
                "--ca-file",
                ca.to_str().unwrap(),
                "--password-stdin",
            ],
            &format!("{user}-pw\n"),
        );
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // The server's own certificate: used to fail with CaUsedAsEndEntity.
    let (code, stderr) = add("alice", &own);
    assert_eq!(code, Some(0), "{stderr}");
    daemon
        .wait_state(&prosody.jid("alice"), "connected")
        .unwrap();
    // Another self-signed certificate is not the server's: `account add`
    // waits for the login and fails.
    let (code, stderr) = add("bob", &other);
    assert_eq!(code, Some(1), "{stderr}");
    let reason = daemon.wait_state(&prosody.jid("bob"), "error").unwrap();
    assert!(
        reason.starts_with("the certificate of localhost is not trusted: ")
            && reason.contains("as the account's CA file"),
        "{reason}"
    );
    for bad in ["Other(", "CaUsedAsEndEntity", "::", "http"] {
        assert!(!reason.contains(bad), "{bad:?} in {reason}");
    }
}
