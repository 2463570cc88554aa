//! A real chat through real daemons and a real server, on both Prosody and
//! ejabberd: log in, receive into history and a follow subscriber, send,
//! carbons, survive SIGKILL. None of these disrupts the server, so each
//! runs on its test binary's shared instance of the kind, with accounts of
//! its own.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use wimsy_testkit::{ServerKind, XmppServer, both_servers};
use wimsy_tests::*;

fn history_bodies(daemon: &Daemon, peer: &str) -> Vec<String> {
    let page = daemon.ctl_json(&["history", peer, "--limit", "100"]);
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect()
}

fn new_account(server: &dyn XmppServer, prefix: &str) -> wimsy_testkit::Account {
    server.new_account(prefix).unwrap()
}

both_servers! {
    #[test]
    fn a_message_from_a_peer_reaches_follow_and_history_and_a_reply_reaches_the_peer(kind: ServerKind) {
        let server = kind.shared().unwrap();
        let (a, b) = (new_account(server, "alice"), new_account(server, "bob"));
        let alice = connected_daemon(server, &a.user);
        let bob = connected_daemon(server, &b.user);
        let (alice_jid, bob_jid) = (a.jid, b.jid);

        let mut follow = Command::new(bin("wimsyctl"))
            .arg("--socket")
            .arg(&alice.socket)
            .args(["--json", "follow"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(follow.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        assert!(first.contains("\"snapshot\""), "{first}");

        let sent = bob.ctl(&["send", &alice_jid, "hello", "alice"]);
        assert!(
            sent.status.success(),
            "{}",
            String::from_utf8_lossy(&sent.stderr)
        );

        let message_line = lines
            .by_ref()
            .map(|l| l.unwrap())
            .find(|l| l.contains("\"kind\":\"message\""))
            .unwrap();
        let event: serde_json::Value = serde_json::from_str(&message_line).unwrap();
        assert_eq!(event["event"]["message"]["body"], "hello alice");
        assert_eq!(event["event"]["message"]["peer"], bob_jid.as_str());
        assert_eq!(event["event"]["message"]["direction"], "in");
        assert!(
            event["event"]["message"]["stanza_id"].is_string(),
            "server stanza-id recorded: {event}"
        );
        let _ = follow.kill();
        let _ = follow.wait();

        assert_eq!(history_bodies(&alice, &bob_jid), vec!["hello alice"]);

        let reply = alice.ctl(&["send", &bob_jid, "hi", "bob"]);
        assert!(reply.status.success());
        wait_until(DEADLINE, "the reply in bob's history", || {
            history_bodies(&bob, &alice_jid).contains(&"hi bob".to_owned())
        })
        .unwrap();
        wait_until(DEADLINE, "alice's copy to be acked", || {
            let page = alice.ctl_json(&["history", &bob_jid]);
            page["messages"][0]["delivery"] == "acked"
        })
        .unwrap();
    }

    #[test]
    fn history_survives_a_sigkill_and_restart(kind: ServerKind) {
        let server = kind.shared().unwrap();
        let (a, b) = (new_account(server, "alice"), new_account(server, "bob"));
        let mut alice = connected_daemon(server, &a.user);
        let bob = connected_daemon(server, &b.user);
        let bob_jid = b.jid;
        for i in 0..5 {
            bob.ctl(&["send", &a.jid, &format!("msg {i}")]);
        }
        wait_until(DEADLINE, "5 messages stored", || {
            history_bodies(&alice, &bob_jid).len() == 5
        })
        .unwrap();

        alice.kill9();
        alice.spawn().unwrap();
        alice
            .wait_state(&a.jid, "connected")
            .unwrap();
        let mut bodies = history_bodies(&alice, &bob_jid);
        bodies.reverse();
        assert_eq!(
            bodies,
            (0..5).map(|i| format!("msg {i}")).collect::<Vec<_>>()
        );
    }

    #[test]
    fn two_frontends_see_the_same_events_in_the_same_order(kind: ServerKind) {
        let server = kind.shared().unwrap();
        let (a, b) = (new_account(server, "alice"), new_account(server, "bob"));
        let alice = connected_daemon(server, &a.user);
        let bob = connected_daemon(server, &b.user);
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let mut first = alice.client().await;
            let mut second = alice.client().await;
            let snap_a = first.subscribe().await.unwrap();
            let snap_b = second.subscribe().await.unwrap();
            assert_eq!(snap_a, snap_b);
            for i in 0..3 {
                bob.ctl(&["send", &a.jid, &format!("n{i}")]);
            }
            let mut seen = [Vec::new(), Vec::new()];
            for (client, seen) in [&mut first, &mut second].into_iter().zip(seen.iter_mut()) {
                while seen.len() < 3 {
                    if let wimsy_ipc::Event::Message { message, .. } =
                        next_matching(client, |e| matches!(e, wimsy_ipc::Event::Message { .. })).await
                    {
                        seen.push(message);
                    }
                }
            }
            assert_eq!(seen[0], seen[1]);
            let bodies: Vec<_> = seen[0].iter().map(|m| m.body.as_str()).collect();
            assert_eq!(bodies, ["n0", "n1", "n2"]);
        });
    }

    #[test]
    fn a_message_sent_from_another_device_is_stored_as_outgoing_once(kind: ServerKind) {
        let server = kind.shared().unwrap();
        let (a, b) = (new_account(server, "alice"), new_account(server, "bob"));
        let laptop = connected_daemon(server, &a.user);
        let phone = connected_daemon(server, &a.user);
        let bob = connected_daemon(server, &b.user);
        let (alice_jid, bob_jid) = (a.jid, b.jid);

        assert!(
            phone
                .ctl(&["send", &bob_jid, "from", "my", "phone"])
                .status
                .success()
        );
        wait_until(DEADLINE, "bob to receive it", || {
            history_bodies(&bob, &alice_jid).contains(&"from my phone".to_owned())
        })
        .unwrap();
        wait_until(DEADLINE, "the laptop to store the carbon", || {
            history_bodies(&laptop, &bob_jid).contains(&"from my phone".to_owned())
        })
        .unwrap();
        let page = laptop.ctl_json(&["history", &bob_jid]);
        let copies: Vec<_> = page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["body"] == "from my phone")
            .collect();
        assert_eq!(copies.len(), 1, "stored once: {page}");
        assert_eq!(copies[0]["direction"], "out");
        assert_eq!(
            laptop.ctl_json(&["status"])["accounts"][0]["unread"],
            0,
            "our own words are not unread"
        );

        // And a reply from bob reaches both of alice's devices.
        assert!(bob.ctl(&["send", &alice_jid, "hi both"]).status.success());
        for device in [&laptop, &phone] {
            wait_until(DEADLINE, "both devices to get the reply", || {
                history_bodies(device, &bob_jid).contains(&"hi both".to_owned())
            })
            .unwrap();
        }
    }
}
