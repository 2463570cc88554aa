//! Logging in as the session crate does it, against a real Prosody: which
//! SASL mechanism and GS2 flag go on the wire, and a self-signed server
//! certificate given as the account's CA file.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use wimsy_session::*;
use wimsy_testkit::Prosody;

/// `user`'s account on `prosody`, trusting `ca_file`.
fn account_trusting(
    prosody: &Prosody,
    user: &str,
    password: &str,
    ca_file: &Path,
) -> AccountConfig {
    AccountConfig {
        ca_file: Some(ca_file.to_path_buf()),
        ..account(prosody, user, password)
    }
}

/// The mechanism of each `<auth/>` Prosody received, from its debug log
/// (which leaves out the data, so the GS2 flag shows only in the outcome:
/// the unit tests of `login.rs` check the bytes).
fn mechanisms(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|line| {
            let auth = &line[line.find("Received[c2s_unauthed]: <auth")?..];
            let mechanism = auth.split("mechanism='").nth(1)?.split('\'').next()?;
            Some(mechanism.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn prosody_on_tls_13_offers_no_plus_so_we_log_in_with_the_y_flag() {
    let prosody = Prosody::builder().account("alice", "a-pw").start().unwrap();
    let (_alice, state) = log_in(account_trusting(
        &prosody,
        "alice",
        "a-pw",
        prosody.ca_file(),
    ))
    .await;
    assert!(matches!(state, SessionState::Connected { .. }), "{state:?}");
    let log = prosody.log();
    // Prosody 0.12 binds only with tls-unique, which TLS 1.3 lacks: no
    // -PLUS offered, so plain SCRAM with `y` (we could have bound).
    assert!(log.contains("Channel binding 'tls-unique' undefined in context of TLS 1.3"));
    assert_eq!(mechanisms(&log), ["SCRAM-SHA-1"]);
}

#[tokio::test]
async fn prosody_on_tls_12_offers_plus_we_cannot_compute_so_we_log_in_with_the_n_flag() {
    let prosody = Prosody::builder()
        .account("alice", "a-pw")
        .extra_config("ssl = { protocol = \"tlsv1_2\" }")
        .start()
        .unwrap();
    let (_alice, state) = log_in(account_trusting(
        &prosody,
        "alice",
        "a-pw",
        prosody.ca_file(),
    ))
    .await;
    assert!(matches!(state, SessionState::Connected { .. }), "{state:?}");
    let log = prosody.log();
    // It offers SCRAM-SHA-1-PLUS with tls-unique, which rustls cannot give
    // us. A `y` would be refused as a downgrade (RFC 5802 §6, Prosody's
    // scram.lua: malformed-request): logging in proves the flag was `n`.
    assert!(
        log.contains("Channel binding 'tls-unique' supported"),
        "{log}"
    );
    assert_eq!(mechanisms(&log), ["SCRAM-SHA-1"]);
}

/// Replace the server's certificate by a self-signed one made as `openssl
/// req -x509` makes it (CA:TRUE) for `localhost`; returns where its PEM was
/// written (the file the user gives) and its fingerprint.
fn self_signed_ca_certificate(prosody: &mut Prosody, name: &str) -> (PathBuf, Fingerprint) {
    let (cert_pem, key_pem, fingerprint) = self_signed("localhost");
    // The testkit keeps the key next to the certificate, as `localhost.key`.
    let key_file = prosody.cert_file().with_file_name("localhost.key");
    std::fs::write(prosody.cert_file(), &cert_pem).unwrap();
    std::fs::write(key_file, key_pem).unwrap();
    prosody.restart().unwrap();
    let given = prosody.dir().join(format!("{name}.pem"));
    std::fs::write(&given, cert_pem).unwrap();
    (given, fingerprint)
}

fn self_signed(name: &str) -> (String, String, Fingerprint) {
    let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let fingerprint = Fingerprint::of_der(cert.der());
    (cert.pem(), key.serialize_pem(), fingerprint)
}

#[tokio::test]
async fn a_self_signed_ca_certificate_given_as_the_ca_file_logs_in_and_another_is_refused_in_words()
{
    let mut prosody = Prosody::builder().account("alice", "a-pw").start().unwrap();
    let (given, offered) = self_signed_ca_certificate(&mut prosody, "own");

    let (_alice, state) = log_in(account_trusting(&prosody, "alice", "a-pw", &given)).await;
    assert!(matches!(state, SessionState::Connected { .. }), "{state:?}");

    // Another self-signed certificate for the same name is not the server's.
    let (other_pem, _, _) = self_signed("localhost");
    let other = prosody.dir().join("other.pem");
    std::fs::write(&other, other_pem).unwrap();
    let (_alice, state) = log_in(account_trusting(&prosody, "alice", "a-pw", &other)).await;
    let SessionState::Failed {
        kind,
        reason,
        fingerprint,
    } = state
    else {
        panic!("{state:?}")
    };
    assert_eq!(kind, FailureKind::Certificate);
    let offered = offered.to_string();
    assert_eq!(fingerprint.as_deref(), Some(offered.as_str()));
    assert!(
        reason.starts_with("the certificate of localhost is not trusted: "),
        "{reason}"
    );
    assert!(reason.contains(&offered), "{reason}");
    assert!(reason.contains("as the account's CA file"), "{reason}");
    for bad in ["Other(", "CaUsedAsEndEntity", "::", "http", "wimsyctl"] {
        assert!(!reason.contains(bad), "{bad:?} in {reason}");
    }
}
