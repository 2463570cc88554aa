//! `wimsyctl` against the real daemon: every command, human and JSON
//! output, and exit codes.

#![allow(clippy::unwrap_used)]

use wimsy_tests::*;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn every_command_works_against_a_real_daemon() {
    let prosody = prosody_with(&["alice", "bob"]);
    let alice = connected_daemon(&prosody, "alice");
    let (alice_jid, bob_jid) = (prosody.jid("alice"), prosody.jid("bob"));

    let list = alice.ctl_json(&["account", "list"]);
    assert_eq!(list["accounts"][0]["jid"], alice_jid.as_str());
    assert!(!list.to_string().contains("alice-pw"), "never the password");
    assert!(stdout(&alice.ctl(&["account", "list"])).contains(&alice_jid));

    let status = stdout(&alice.ctl(&["status"]));
    assert!(
        status.contains(&alice_jid) && status.contains("connected"),
        "{status}"
    );

    let roster = alice.ctl_json(&["roster"]);
    assert_eq!(roster["kind"], "roster");
    assert_eq!(roster["account"], alice_jid.as_str());

    // Offline, a message is stored and queued; on connect it goes out.
    assert!(alice.ctl(&["disconnect"]).status.success());
    alice.wait_state(&alice_jid, "offline").unwrap();
    let sent = alice.ctl_json(&["send", &bob_jid, "while", "offline"]);
    assert_eq!(sent["message"]["delivery"], "queued");
    assert_eq!(sent["message"]["body"], "while offline");
    assert!(alice.ctl(&["connect"]).status.success());
    alice.wait_state(&alice_jid, "connected").unwrap();
    wait_until(DEADLINE, "the queued message to be acked", || {
        alice.ctl_json(&["history", &bob_jid])["messages"][0]["delivery"] == "acked"
    })
    .unwrap();

    let bob = connected_daemon(&prosody, "bob");
    for i in 0..3 {
        assert!(
            bob.ctl(&["send", &alice_jid, &format!("page {i}")])
                .status
                .success()
        );
    }
    wait_until(DEADLINE, "alice to have 3 unread", || {
        alice.ctl_json(&["status"])["accounts"][0]["unread"] == 3
    })
    .unwrap();
    let page = alice.ctl_json(&["history", &bob_jid, "--limit", "2"]);
    assert_eq!(page["messages"].as_array().unwrap().len(), 2);
    let cursor = page["next_before"].as_str().unwrap().to_owned();
    let older = alice.ctl_json(&["history", &bob_jid, "--limit", "2", "--before", &cursor]);
    let bodies: Vec<&str> = older["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["page 0", "while offline"]);
    let human = stdout(&alice.ctl(&["history", &bob_jid, "--limit", "2"]));
    assert!(
        human.contains("<- page 2") && human.contains("older: wimsyctl history"),
        "{human}"
    );

    assert!(alice.ctl(&["mark-read", &bob_jid]).status.success());
    assert_eq!(alice.ctl_json(&["status"])["accounts"][0]["unread"], 0);

    let bad_cursor = alice.ctl(&["history", &bob_jid, "--before", "garbage"]);
    assert_eq!(bad_cursor.status.code(), Some(1));
    let unknown = alice.ctl(&["roster", "--account", "nobody@localhost"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no account nobody@localhost"));
    let usage = alice.ctl(&["send"]);
    assert_eq!(usage.status.code(), Some(2));

    assert!(
        alice
            .ctl(&["account", "remove", &alice_jid])
            .status
            .success()
    );
    assert_eq!(
        alice.ctl_json(&["account", "list"])["accounts"],
        serde_json::json!([])
    );
    let gone = alice.ctl(&["send", &bob_jid, "x"]);
    assert_eq!(gone.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&gone.stderr).contains("wimsyctl account add"));
}
