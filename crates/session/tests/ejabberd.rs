//! Logging in to a real ejabberd (Debian's 23.01) as the session crate
//! does it. ejabberd offers `SCRAM-SHA-1-PLUS` without XEP-0440 and binds
//! only with `tls-unique`, absent from TLS 1.3: a client that guesses
//! `p=tls-exporter` is refused ("Invalid channel binding"), which used to
//! stop every login to it. Its log names the mechanism of each login.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use wimsy_session::*;
use wimsy_testkit::{Ejabberd, wait_until};

/// ejabberd's log lines about `jid`'s logins, once there is one (its
/// logger writes a moment after the fact).
fn logins(ejabberd: &Ejabberd, jid: &str) -> Vec<String> {
    let read = || -> Vec<String> {
        ejabberd
            .log()
            .lines()
            .filter(|l| l.contains(" c2s ") && l.contains(" authentication ") && l.contains(jid))
            .map(str::to_owned)
            .collect()
    };
    wait_until(DEADLINE, "ejabberd logging the login", || {
        !read().is_empty()
    })
    .unwrap();
    read()
}

#[tokio::test]
async fn with_plus_offered_but_no_binding_type_advertised_we_log_in_with_plain_scram() {
    let ejabberd = Ejabberd::shared().unwrap();
    let offered = ejabberd.sasl_mechanisms().unwrap();
    assert!(
        offered.iter().any(|m| m == "SCRAM-SHA-1-PLUS"),
        "{offered:?}"
    );
    let alice = ejabberd.new_account("alice").unwrap();
    let (_session, state) = log_in(account(ejabberd, &alice.user, &alice.password)).await;
    assert!(matches!(state, SessionState::Connected { .. }), "{state:?}");
    // SCRAM-SHA-1 with `n`: we bind to no type it is known to compute.
    let logins = logins(ejabberd, &alice.jid);
    assert_eq!(logins.len(), 1, "{logins:?}");
    assert!(
        logins[0].contains("Accepted c2s SCRAM-SHA-1 authentication"),
        "{logins:?}"
    );
}

#[tokio::test]
async fn a_wrong_password_is_the_only_refusal_that_blames_the_password() {
    let ejabberd = Ejabberd::shared().unwrap();
    let bob = ejabberd.new_account("bob").unwrap();
    let (_session, state) = log_in(account(ejabberd, &bob.user, "not-the-password")).await;
    let SessionState::Failed { kind, reason, .. } = state else {
        panic!("{state:?}")
    };
    assert_eq!(kind, FailureKind::Authentication);
    assert_eq!(
        reason,
        "the server refused the user name or password: check them"
    );
    let logins = logins(ejabberd, &bob.jid);
    assert_eq!(logins.len(), 1, "exactly one attempt: {logins:?}");
    assert!(
        logins[0].contains("Failed c2s SCRAM-SHA-1 authentication"),
        "{logins:?}"
    );
}

#[tokio::test]
async fn without_plus_offered_we_log_in_with_scram_and_the_y_flag() {
    let ejabberd = Ejabberd::builder()
        .account("carol", "carol-pw")
        .disable_sasl_mechanism("SCRAM-SHA-1-PLUS")
        .start()
        .unwrap();
    let offered = ejabberd.sasl_mechanisms().unwrap();
    assert!(!offered.iter().any(|m| m.ends_with("-PLUS")), "{offered:?}");
    let (_session, state) = log_in(account(&ejabberd, "carol", "carol-pw")).await;
    assert!(matches!(state, SessionState::Connected { .. }), "{state:?}");
    let logins = logins(&ejabberd, &ejabberd.jid("carol"));
    assert_eq!(logins.len(), 1, "{logins:?}");
    assert!(
        logins[0].contains("Accepted c2s SCRAM-SHA-1 authentication"),
        "{logins:?}"
    );
}
