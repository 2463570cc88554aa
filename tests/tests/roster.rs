//! Contacts and presence through real daemons and a real server, on both
//! Prosody and ejabberd: adding a contact asks them, they see the request
//! and accept or deny it, names change, contacts go; the presence a user
//! chooses reaches their contacts and survives a reconnect and a daemon
//! restart. None of these disrupts the server, so each runs on its test
//! binary's shared instance of the kind, with accounts of its own.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;

use serde_json::Value;
use wimsy_ipc::{Event, Show};
use wimsy_testkit::{ServerKind, XmppServer, both_servers};
use wimsy_tests::*;

fn new_account(server: &dyn XmppServer, prefix: &str) -> wimsy_testkit::Account {
    server.new_account(prefix).unwrap()
}

/// `wimsyctl ARGS` must succeed; its stdout.
fn ok(daemon: &Daemon, args: &[&str]) -> String {
    let out = daemon.ctl(args);
    assert!(
        out.status.success(),
        "wimsyctl {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `jid`'s entry in `daemon`'s `wimsyctl --json roster`, if listed.
fn contact(daemon: &Daemon, jid: &str) -> Option<Value> {
    let roster = daemon.ctl_json(&["roster"]);
    roster["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["jid"] == jid)
        .cloned()
}

fn requests(daemon: &Daemon) -> Vec<String> {
    let roster = daemon.ctl_json(&["roster"]);
    roster["subscription_requests"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|j| j.as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Wait until `jid`'s entry in `daemon`'s roster satisfies `check`.
fn wait_contact(daemon: &Daemon, jid: &str, what: &str, check: impl Fn(&Value) -> bool) {
    wait_until(DEADLINE, what, || {
        contact(daemon, jid).is_some_and(|c| check(&c))
    })
    .unwrap_or_else(|e| panic!("{e}; roster now: {}", daemon.ctl_json(&["roster"])));
}

/// A connection that says a window is visible. Without one the daemon
/// tells the server the user is not looking (XEP-0352), and ejabberd then
/// holds contacts' presence back until someone looks.
async fn looking(daemon: &Daemon) -> wimsy_ipc::Client {
    let mut client = daemon.client().await;
    client
        .request(wimsy_ipc::Request::SetVisibility { visible: true })
        .await
        .unwrap();
    client
}

/// Send `requests` (JSON objects without `id`) in one write after a
/// hello, on a raw connection; the ids of the answers in the order they
/// came (ids count from 2).
fn pipelined(daemon: &Daemon, requests: &[&str]) -> Vec<u64> {
    let mut stream = UnixStream::connect(&daemon.socket).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut frames =
        String::from(r#"{"id":1,"op":"hello","protocol":1,"role":"cli","client":"test"}"#);
    frames.push('\n');
    for (n, request) in requests.iter().enumerate() {
        let body = request.trim_start_matches('{');
        frames.push_str(&format!("{{\"id\":{},{body}\n", n + 2));
    }
    stream.write_all(frames.as_bytes()).unwrap();
    let mut ids = Vec::new();
    let mut lines = BufReader::new(stream).lines();
    while ids.len() < requests.len() + 1 {
        let frame: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        if let Some(id) = frame["id"].as_u64() {
            assert_eq!(frame["type"], "response", "{frame}");
            ids.push(id);
        }
    }
    ids.remove(0);
    ids
}

/// alice adds bob and bob accepts: both see each other.
fn befriend(alice: &Daemon, alice_jid: &str, bob: &Daemon, bob_jid: &str) {
    ok(alice, &["roster", "add", bob_jid]);
    wait_until(DEADLINE, "bob to see alice's request", || {
        requests(bob).contains(&alice_jid.to_owned())
    })
    .unwrap();
    ok(bob, &["roster", "accept", alice_jid]);
    wait_contact(alice, bob_jid, "alice and bob to see each other", |c| {
        c["subscription"] == "both"
    });
    wait_contact(bob, alice_jid, "bob and alice to see each other", |c| {
        c["subscription"] == "both"
    });
}

both_servers! {
    /// alice adds bob; bob's daemon announces the request and lists it;
    /// bob accepts, and both rosters show `both` with presence; a rename
    /// shows in `roster` and to a follower; a removal drops the contact.
    #[tokio::test]
    async fn add_accept_rename_remove(kind: ServerKind) {
        let server = kind.shared().unwrap();
        let (a, b) = (new_account(server, "alice"), new_account(server, "bob"));
        let alice = connected_daemon(server, &a.user);
        let bob = connected_daemon(server, &b.user);
        let mut bob_follower = looking(&bob).await;
        bob_follower.subscribe().await.unwrap();
        let mut alice_follower = looking(&alice).await;
        alice_follower.subscribe().await.unwrap();

        let said = ok(&alice, &["roster", "add", &b.jid, "--name", "Bob"]);
        assert!(said.contains("added to your contacts"), "{said}");
        let event = next_matching(&mut bob_follower, |e| {
            matches!(e, Event::SubscriptionRequest { .. })
        })
        .await;
        assert_eq!(
            event,
            Event::SubscriptionRequest {
                account: b.jid.clone(),
                jid: a.jid.clone()
            }
        );
        assert_eq!(requests(&bob), std::slice::from_ref(&a.jid));
        let listed = ok(&bob, &["roster"]);
        assert!(
            listed.contains("asking to see your presence (1):") && listed.contains(&a.jid),
            "{listed}"
        );
        let bob_entry = contact(&alice, &b.jid).unwrap();
        assert_eq!(bob_entry["name"], "Bob");
        assert_eq!(bob_entry["subscription"], "none", "bob has not answered");

        ok(&bob, &["roster", "accept", &a.jid]);
        next_matching(&mut bob_follower, |e| {
            matches!(e, Event::SubscriptionRequestGone { jid, .. } if *jid == a.jid)
        })
        .await;
        assert!(requests(&bob).is_empty());
        // bob asked back on accepting; alice's daemon approved it, since
        // alice added bob herself.
        wait_contact(&alice, &b.jid, "alice to see bob online, both ways", |c| {
            c["subscription"] == "both" && c["presence"]["available"] == true
        });
        wait_contact(&bob, &a.jid, "bob to see alice online, both ways", |c| {
            c["subscription"] == "both" && c["presence"]["available"] == true
        });
        assert!(requests(&alice).is_empty(), "alice was not asked");
        assert_eq!(contact(&alice, &b.jid).unwrap()["name"], "Bob");

        ok(&alice, &["roster", "rename", &b.jid, "Uncle", "Bob"]);
        let renamed = next_matching(&mut alice_follower, |e| {
            matches!(e, Event::Contact { contact, .. }
                if contact.jid == b.jid && contact.name.as_deref() == Some("Uncle Bob"))
        })
        .await;
        let Event::Contact { contact: renamed, .. } = renamed else {
            unreachable!()
        };
        assert_eq!(renamed.subscription, "both", "a rename keeps the subscription");
        assert!(ok(&alice, &["roster"]).contains("Uncle Bob"));
        // A rename waits for the server, outside the daemon's core; the
        // answers still come in request order.
        let rename = format!(r#"{{"op":"roster_rename","jid":"{}","name":"Uncle Bob"}}"#, b.jid);
        assert_eq!(pipelined(&alice, &[&rename, r#"{"op":"status"}"#, &rename]), [2, 3, 4]);

        ok(&alice, &["roster", "remove", &b.jid]);
        next_matching(&mut alice_follower, |e| {
            matches!(e, Event::ContactRemoved { jid, .. } if *jid == b.jid)
        })
        .await;
        assert!(contact(&alice, &b.jid).is_none());
        // bob no longer sees alice (the server ended both subscriptions).
        wait_contact(&bob, &a.jid, "bob's subscription to alice to end", |c| {
            c["subscription"] == "none"
        });
        let gone = alice.ctl(&["roster", "rename", &b.jid, "Nobody"]);
        assert_eq!(gone.status.code(), Some(1));
        assert!(
            String::from_utf8_lossy(&gone.stderr).contains("is not among the contacts"),
            "{}",
            String::from_utf8_lossy(&gone.stderr)
        );
    }

    /// A denied request leaves no request and no subscription on either
    /// side; a roster change while offline is refused in words.
    #[test]
    fn deny_leaves_nothing(kind: ServerKind) {
        let server = kind.shared().unwrap();
        let (a, b) = (new_account(server, "alice"), new_account(server, "bob"));
        let alice = connected_daemon(server, &a.user);
        let bob = connected_daemon(server, &b.user);

        ok(&alice, &["roster", "add", &b.jid]);
        wait_until(DEADLINE, "bob to see alice's request", || {
            requests(&bob).contains(&a.jid)
        })
        .unwrap();
        let said = ok(&bob, &["roster", "deny", &a.jid]);
        assert!(said.contains("may not see your presence"), "{said}");
        assert!(requests(&bob).is_empty());
        assert!(contact(&bob, &a.jid).is_none(), "bob's roster stays empty");
        assert_eq!(contact(&alice, &b.jid).unwrap()["subscription"], "none");

        ok(&alice, &["disconnect"]);
        alice.wait_state(&a.jid, "offline").unwrap();
        let refused = alice.ctl(&["roster", "add", "carol@example.org"]);
        assert_eq!(refused.status.code(), Some(1));
        let words = String::from_utf8_lossy(&refused.stderr);
        assert!(words.contains("is not connected"), "{words}");
        assert!(words.contains("wimsyctl connect"), "{words}");
    }

    /// The daemon keeps the roster in memory, but the store is its source
    /// across a restart: alice's daemon restarts with her account offline,
    /// so no server is asked, and a fresh attach still lists bob; after bob
    /// is removed, the next restart lists nobody.
    #[tokio::test]
    async fn the_roster_after_a_restart_comes_from_the_store(kind: ServerKind) {
        let server = kind.shared().unwrap();
        let (a, b) = (new_account(server, "alice"), new_account(server, "bob"));
        let mut alice = connected_daemon(server, &a.user);
        let bob = connected_daemon(server, &b.user);
        befriend(&alice, &a.jid, &bob, &b.jid);

        ok(&alice, &["disconnect"]);
        alice.wait_state(&a.jid, "offline").unwrap();
        alice.terminate().unwrap();
        alice.spawn().unwrap();
        let snapshot = alice.client().await.subscribe().await.unwrap();
        let account = &snapshot.accounts[0];
        assert_eq!(account.status.state, wimsy_ipc::ConnectionState::Offline);
        let [entry] = account.contacts.as_slice() else {
            panic!("alice's snapshot lists {:?}", account.contacts);
        };
        assert_eq!(entry.jid, b.jid);
        assert_eq!(entry.subscription, "both");
        assert!(!entry.presence.available, "{entry:?}");

        ok(&alice, &["connect"]);
        alice.wait_state(&a.jid, "connected").unwrap();
        ok(&alice, &["roster", "remove", &b.jid]);
        wait_until(DEADLINE, "bob to be gone from alice's roster", || {
            contact(&alice, &b.jid).is_none()
        })
        .unwrap();
        ok(&alice, &["disconnect"]);
        alice.wait_state(&a.jid, "offline").unwrap();
        alice.terminate().unwrap();
        alice.spawn().unwrap();
        let snapshot = alice.client().await.subscribe().await.unwrap();
        assert_eq!(snapshot.accounts[0].contacts, []);
    }

    /// alice's chosen presence reaches bob, and is sent again after she
    /// reconnects and after her daemon restarts; her snapshot has it.
    #[tokio::test]
    async fn own_presence_survives_reconnect_and_restart(kind: ServerKind) {
        let server = kind.shared().unwrap();
        let (a, b) = (new_account(server, "alice"), new_account(server, "bob"));
        let mut alice = connected_daemon(server, &a.user);
        let bob = connected_daemon(server, &b.user);
        let _bob_looks = looking(&bob).await;
        befriend(&alice, &a.jid, &bob, &b.jid);

        let said = ok(&alice, &["presence", "away", "Back", "at", "two"]);
        assert_eq!(said.trim(), "every account is now away (Back at two)");
        let away = |c: &Value| {
            c["presence"]["available"] == true
                && c["presence"]["show"] == "away"
                && c["presence"]["status"] == "Back at two"
        };
        wait_contact(&bob, &a.jid, "bob to see alice away", away);

        ok(&alice, &["disconnect"]);
        wait_contact(&bob, &a.jid, "bob to see alice gone", |c| {
            c["presence"]["available"] == false
        });
        ok(&alice, &["connect"]);
        wait_contact(&bob, &a.jid, "bob to see alice away after her reconnect", away);

        alice.terminate().unwrap();
        wait_contact(&bob, &a.jid, "bob to see alice's daemon gone", |c| {
            c["presence"]["available"] == false
        });
        alice.spawn().unwrap();
        alice.wait_state(&a.jid, "connected").unwrap();
        wait_contact(&bob, &a.jid, "bob to see alice away after her restart", away);
        let snapshot = alice.client().await.subscribe().await.unwrap();
        let presence = &snapshot.accounts[0].presence;
        assert_eq!(presence.show, Show::Away);
        assert_eq!(presence.status.as_deref(), Some("Back at two"));

        ok(&alice, &["presence", "dnd"]);
        wait_contact(&bob, &a.jid, "bob to see alice busy, without a status", |c| {
            c["presence"]["show"] == "dnd" && c["presence"].get("status").is_none()
        });
    }
}
