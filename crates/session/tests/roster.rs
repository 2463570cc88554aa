//! Roster changes, subscriptions and our own presence, against both real
//! servers: what the host asks goes out as RFC 6121 says, answers come
//! back in words, and what the other side does arrives as events.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use tokio::sync::mpsc::UnboundedReceiver;
use wimsy_session::*;
use wimsy_testkit::{ServerKind, both_servers};

/// The next roster push about `jid` with that subscription (a push with
/// only a pending request, `ask`, may come before).
async fn pushed(
    events: &mut UnboundedReceiver<SessionEvent>,
    jid: &str,
    subscription: &str,
) -> RosterItem {
    let SessionEvent::RosterPushed { item, .. } = wait_for(events, |e| {
        matches!(e, SessionEvent::RosterPushed { item, .. }
            if item.jid == jid && item.subscription == subscription)
    })
    .await
    else {
        unreachable!()
    };
    item
}

/// The next presence from `jid` that `wanted` accepts.
async fn presence_from(
    events: &mut UnboundedReceiver<SessionEvent>,
    jid: &str,
    mut wanted: impl FnMut(&PresenceUpdate) -> bool,
) -> PresenceUpdate {
    let SessionEvent::Presence(update) = wait_for(
        events,
        |e| matches!(e, SessionEvent::Presence(p) if p.from.to_bare().as_str() == jid && wanted(p)),
    )
    .await
    else {
        unreachable!()
    };
    update
}

both_servers! {
    /// alice adds bob, bob sees the request and approves it; alice's
    /// roster shows `to` and bob's presence reaches her, away with a status
    /// once bob says so; removing bob ends it. A request while offline is
    /// refused at once, in words.
    #[tokio::test]
    async fn add_approve_presence_and_remove(kind: ServerKind) {
        let server = kind.shared().unwrap();
        let a = server.new_account("alice").unwrap();
        let b = server.new_account("bob").unwrap();
        let (alice, mut alice_events) = spawn(
            account(server, &a.user, &a.password),
            SessionConfig::tight(),
            Stored::default(),
        );
        let (bob, mut bob_events) = spawn(
            account(server, &b.user, &b.password),
            SessionConfig::tight(),
            Stored::default(),
        );
        let bob_jid = BareJid::new(&b.jid).unwrap();
        let alice_jid = BareJid::new(&a.jid).unwrap();

        let offline = alice
            .set_roster_item(RosterEdit {
                jid: bob_jid.clone(),
                name: None,
                groups: vec![],
            })
            .await;
        assert_eq!(offline, Err(RequestError::NotConnected));
        assert!(offline.unwrap_err().to_string().contains("not connected"));

        alice.connect().unwrap();
        bob.connect().unwrap();
        wait_for(&mut alice_events, connected).await;
        wait_for(&mut bob_events, connected).await;

        alice
            .set_roster_item(RosterEdit {
                jid: bob_jid.clone(),
                name: Some("Bob".into()),
                groups: vec!["Friends".into()],
            })
            .await
            .unwrap();
        let item = pushed(&mut alice_events, &b.jid, "none").await;
        assert_eq!(item.name.as_deref(), Some("Bob"));
        assert_eq!(item.groups, ["Friends"]);

        alice
            .send_subscription(bob_jid.clone(), SubscriptionKind::Subscribe)
            .await
            .unwrap();
        let request = wait_for(&mut bob_events, |e| {
            matches!(e, SessionEvent::Subscription { .. })
        })
        .await;
        assert_eq!(
            request,
            SessionEvent::Subscription {
                from: alice_jid.clone(),
                kind: SubscriptionKind::Subscribe
            }
        );

        bob.send_subscription(alice_jid.clone(), SubscriptionKind::Subscribed)
            .await
            .unwrap();
        let item = pushed(&mut alice_events, &b.jid, "to").await;
        assert_eq!(item.name.as_deref(), Some("Bob"), "the name stays");
        presence_from(&mut alice_events, &b.jid, |p| p.available).await;

        bob.set_presence(OwnPresence {
            availability: Availability::Away,
            status: Some("at lunch".into()),
        })
        .unwrap();
        let seen = presence_from(&mut alice_events, &b.jid, |p| p.show.is_some()).await;
        assert_eq!(seen.show.as_deref(), Some("away"));
        assert_eq!(seen.status.as_deref(), Some("at lunch"));

        alice.remove_roster_item(bob_jid.clone()).await.unwrap();
        pushed(&mut alice_events, &b.jid, "remove").await;
    }

    /// Our presence set before login is the one sent at login, and a
    /// refusal is read as the server's words.
    #[tokio::test]
    async fn presence_chosen_before_login_is_sent_at_login(kind: ServerKind) {
        let server = kind.shared().unwrap();
        let a = server.new_account("alice").unwrap();
        let b = server.new_account("bob").unwrap();
        let (alice, mut alice_events) = spawn(
            account(server, &a.user, &a.password),
            SessionConfig::tight(),
            Stored::default(),
        );
        let (bob, mut bob_events) = spawn(
            account(server, &b.user, &b.password),
            SessionConfig::tight(),
            Stored::default(),
        );
        let alice_jid = BareJid::new(&a.jid).unwrap();
        let bob_jid = BareJid::new(&b.jid).unwrap();
        bob.connect().unwrap();
        alice.connect().unwrap();
        wait_for(&mut bob_events, connected).await;
        wait_for(&mut alice_events, connected).await;
        // bob sees alice: a subscription approved both ways round.
        bob.send_subscription(alice_jid.clone(), SubscriptionKind::Subscribe)
            .await
            .unwrap();
        wait_for(&mut alice_events, |e| matches!(e, SessionEvent::Subscription { kind: SubscriptionKind::Subscribe, .. })).await;
        alice
            .send_subscription(bob_jid.clone(), SubscriptionKind::Subscribed)
            .await
            .unwrap();
        presence_from(&mut bob_events, &a.jid, |p| p.available).await;

        alice.disconnect().unwrap();
        presence_from(&mut bob_events, &a.jid, |p| !p.available).await;
        alice
            .set_presence(OwnPresence {
                availability: Availability::DoNotDisturb,
                status: Some("in a meeting".into()),
            })
            .unwrap();
        alice.connect().unwrap();
        let seen = presence_from(&mut bob_events, &a.jid, |p| p.available).await;
        assert_eq!(seen.show.as_deref(), Some("dnd"));
        assert_eq!(seen.status.as_deref(), Some("in a meeting"));
    }
}
