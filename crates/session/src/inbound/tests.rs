//! The classification rules, one stanza at a time.

use super::*;

fn own() -> BareJid {
    BareJid::new("me@example.org").unwrap()
}

fn parse(xml: &str) -> Inbound {
    classify(xml.parse::<Element>().unwrap(), &own(), 42)
}

#[test]
fn chat_message_with_ids_and_delay() {
    let inbound = parse(
        "<message xmlns='jabber:client' from='bob@example.org/phone' to='me@example.org' type='chat' id='x1'>\
           <body>hi</body>\
           <origin-id xmlns='urn:xmpp:sid:0' id='o1'/>\
           <stanza-id xmlns='urn:xmpp:sid:0' id='s1' by='me@example.org'/>\
           <stanza-id xmlns='urn:xmpp:sid:0' id='forged' by='bob@example.org'/>\
           <delay xmlns='urn:xmpp:delay' stamp='2024-01-01T00:00:00Z'/>\
         </message>",
    );
    let Inbound::Message(m) = inbound else {
        panic!("{inbound:?}")
    };
    assert_eq!(m.peer.as_str(), "bob@example.org");
    assert_eq!(m.direction, MessageDirection::Incoming);
    assert_eq!(m.body, "hi");
    assert_eq!(m.origin_id.as_deref(), Some("o1"));
    assert_eq!(m.stanza_id.as_deref(), Some("s1"));
    assert_eq!(m.timestamp_ms, 1_704_067_200_000);
}

#[test]
fn sent_carbon_from_own_account_is_outgoing_to_the_peer() {
    let inbound = parse(
        "<message xmlns='jabber:client' from='me@example.org' to='me@example.org/wimsy'>\
           <sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>\
             <message xmlns='jabber:client' from='me@example.org/phone' to='bob@example.org' type='chat'>\
               <body>from my phone</body></message>\
           </forwarded></sent></message>",
    );
    let Inbound::Message(m) = inbound else {
        panic!("{inbound:?}")
    };
    assert_eq!(m.direction, MessageDirection::SentElsewhere);
    assert_eq!(m.peer.as_str(), "bob@example.org");
    assert_eq!(m.timestamp_ms, 42);
}

#[test]
fn carbon_from_a_stranger_is_not_believed() {
    let inbound = parse(
        "<message xmlns='jabber:client' from='mallory@evil.example' to='me@example.org/wimsy' type='chat'>\
           <sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>\
             <message xmlns='jabber:client' from='me@example.org/phone' to='bob@example.org' type='chat'>\
               <body>forged</body></message>\
           </forwarded></sent></message>",
    );
    assert!(matches!(inbound, Inbound::Ignored(_)), "{inbound:?}");
}

#[test]
fn archive_results_in_both_directions() {
    let page = |from: &str, to: &str| {
        format!(
            "<message xmlns='jabber:client' to='me@example.org/w'>\
               <result xmlns='urn:xmpp:mam:2' queryid='q1' id='arch-9'>\
                 <forwarded xmlns='urn:xmpp:forward:0'>\
                   <delay xmlns='urn:xmpp:delay' stamp='2024-01-01T00:00:00Z'/>\
                   <message xmlns='jabber:client' from='{from}' to='{to}' type='chat'><body>old</body></message>\
                 </forwarded></result></message>"
        )
    };
    let Inbound::Archived { queryid, message } =
        parse(&page("bob@example.org/x", "me@example.org"))
    else {
        panic!()
    };
    assert_eq!(queryid.as_deref(), Some("q1"));
    assert_eq!(message.stanza_id.as_deref(), Some("arch-9"));
    assert_eq!(message.direction, MessageDirection::Incoming);
    assert_eq!(message.peer.as_str(), "bob@example.org");
    assert_eq!(message.timestamp_ms, 1_704_067_200_000);
    let Inbound::Archived { message, .. } = parse(&page("me@example.org/phone", "bob@example.org"))
    else {
        panic!()
    };
    assert_eq!(message.direction, MessageDirection::SentElsewhere);
    assert_eq!(message.peer.as_str(), "bob@example.org");
    let forged = page("bob@example.org/x", "me@example.org").replace(
        "to='me@example.org/w'",
        "to='me@example.org/w' from='mallory@evil.example'",
    );
    assert!(!matches!(parse(&forged), Inbound::Archived { .. }));
}

#[test]
fn bounced_message_reports_its_id_and_condition() {
    let inbound = parse(
        "<message xmlns='jabber:client' from='nobody@example.org' type='error' id='o9'>\
           <error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>\
         </message>",
    );
    let Inbound::MessageError { id, reason } = inbound else {
        panic!("{inbound:?}")
    };
    assert_eq!(
        (id.as_str(), reason.as_str()),
        ("o9", "the recipient's server does not offer this service")
    );
}

#[test]
fn roster_push_only_from_own_account() {
    let push = "<iq xmlns='jabber:client' type='set' id='p1' FROM>\
                  <query xmlns='jabber:iq:roster' ver='v2'><item jid='bob@example.org' subscription='both' name='Bob'><group>Friends</group></item></query></iq>";
    let Inbound::RosterPush { ver, items, .. } = parse(&push.replace("FROM", "")) else {
        panic!()
    };
    assert_eq!(ver.as_deref(), Some("v2"));
    assert_eq!(items[0].groups, vec!["Friends".to_owned()]);
    assert!(matches!(
        parse(&push.replace("FROM", "from='mallory@evil.example'")),
        Inbound::UnsupportedIq { .. }
    ));
}

#[test]
fn ping_and_unknown_requests() {
    assert!(matches!(
        parse(
            "<iq xmlns='jabber:client' type='get' id='p' from='example.org'><ping xmlns='urn:xmpp:ping'/></iq>"
        ),
        Inbound::Ping { .. }
    ));
    assert!(matches!(
        parse(
            "<iq xmlns='jabber:client' type='get' id='v' from='example.org'><query xmlns='jabber:iq:version'/></iq>"
        ),
        Inbound::UnsupportedIq { .. }
    ));
}

#[test]
fn subscription_stanzas_are_reported_from_the_bare_jid() {
    let Inbound::Subscription { from, kind } =
        parse("<presence xmlns='jabber:client' from='bob@example.org/phone' type='subscribe'/>")
    else {
        panic!()
    };
    assert_eq!(
        (from.as_str(), kind),
        ("bob@example.org", SubscriptionKind::Subscribe)
    );
    for (word, expected) in [
        ("subscribed", SubscriptionKind::Subscribed),
        ("unsubscribe", SubscriptionKind::Unsubscribe),
        ("unsubscribed", SubscriptionKind::Unsubscribed),
    ] {
        let stanza =
            format!("<presence xmlns='jabber:client' from='bob@example.org' type='{word}'/>");
        let Inbound::Subscription { kind, .. } = parse(&stanza) else {
            panic!("{word}")
        };
        assert_eq!(kind, expected);
    }
    assert!(matches!(
        parse("<presence xmlns='jabber:client' from='bob@example.org' type='probe'/>"),
        Inbound::Ignored(_)
    ));
}

#[test]
fn presence_available_and_gone() {
    let Inbound::Presence(p) = parse(
        "<presence xmlns='jabber:client' from='bob@example.org/phone'><show>away</show><status>lunch</status></presence>",
    ) else {
        panic!()
    };
    assert!(p.available);
    assert_eq!(p.show.as_deref(), Some("away"));
    assert_eq!(p.status.as_deref(), Some("lunch"));
    let Inbound::Presence(p) =
        parse("<presence xmlns='jabber:client' from='bob@example.org/phone' type='unavailable'/>")
    else {
        panic!()
    };
    assert!(!p.available);
}

#[test]
fn a_markable_message_keeps_the_id_a_marker_names() {
    let Inbound::Message(m) = parse(
        "<message xmlns='jabber:client' from='bob@example.org/phone' to='me@example.org' type='chat' id='m1'>\
           <body>read me</body><markable xmlns='urn:xmpp:chat-markers:0'/></message>",
    ) else {
        panic!()
    };
    assert_eq!(m.marker_id.as_deref(), Some("m1"));
    let Inbound::Message(m) = parse(
        "<message xmlns='jabber:client' from='me@example.org' to='me@example.org/wimsy'>\
           <sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>\
             <message xmlns='jabber:client' from='me@example.org/phone' to='bob@example.org' type='chat' id='m2'>\
               <body>mine</body><markable xmlns='urn:xmpp:chat-markers:0'/></message>\
           </forwarded></sent></message>",
    ) else {
        panic!()
    };
    assert_eq!(m.marker_id, None, "our own message asks nothing of us");
}

#[test]
fn displayed_markers_live_and_in_carbons() {
    let from_bob = parse(
        "<message xmlns='jabber:client' from='bob@example.org/phone' to='me@example.org/w' type='chat'>\
           <displayed xmlns='urn:xmpp:chat-markers:0' id='o1'/></message>",
    );
    let Inbound::Displayed(reads) = from_bob else {
        panic!("{from_bob:?}")
    };
    assert_eq!(
        reads,
        vec![Displayed {
            peer: BareJid::new("bob@example.org").unwrap(),
            up_to: crate::events::MessageRef::MarkerId("o1".into()),
            by_own_device: false,
        }]
    );
    let carbon = |kind: &str, from: &str, to: &str| {
        format!(
            "<message xmlns='jabber:client' from='me@example.org' to='me@example.org/w'>\
               <{kind} xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>\
                 <message xmlns='jabber:client' from='{from}' to='{to}' type='chat'>\
                   <displayed xmlns='urn:xmpp:chat-markers:0' id='m9'/><store xmlns='urn:xmpp:hints'/>\
                 </message></forwarded></{kind}></message>"
        )
    };
    let Inbound::Displayed(mine) =
        parse(&carbon("sent", "me@example.org/phone", "bob@example.org"))
    else {
        panic!()
    };
    assert_eq!(mine[0].peer.as_str(), "bob@example.org");
    assert!(mine[0].by_own_device, "read on my phone");
    let Inbound::Displayed(theirs) = parse(&carbon(
        "received",
        "bob@example.org/x",
        "me@example.org/phone",
    )) else {
        panic!()
    };
    assert!(!theirs[0].by_own_device, "bob read, told my phone");
    let forged = carbon("sent", "me@example.org/phone", "bob@example.org").replacen(
        "from='me@example.org'",
        "from='mallory@evil.example'",
        1,
    );
    assert!(
        !matches!(parse(&forged), Inbound::Displayed(ref r) if r[0].by_own_device),
        "only our account speaks for our devices"
    );
}

#[test]
fn our_synchronization_node_is_believed_only_from_our_account() {
    let event = |from: &str| {
        format!(
            "<message xmlns='jabber:client' from='{from}' to='me@example.org/w' type='headline'>\
               <event xmlns='http://jabber.org/protocol/pubsub#event'>\
                 <items node='urn:xmpp:mds:displayed:0'>\
                   <item id='bob@example.org'><displayed xmlns='urn:xmpp:mds:displayed:0'>\
                     <stanza-id xmlns='urn:xmpp:sid:0' id='s1' by='me@example.org'/></displayed></item>\
                 </items></event></message>"
        )
    };
    let Inbound::Displayed(reads) = parse(&event("me@example.org")) else {
        panic!()
    };
    assert_eq!(
        reads[0].up_to,
        crate::events::MessageRef::StanzaId("s1".into())
    );
    assert!(matches!(
        parse(&event("mallory@evil.example")),
        Inbound::Ignored(_)
    ));
}

#[test]
fn service_discovery_is_answered_with_its_node() {
    let Inbound::DiscoInfo { id, from, node } = parse(
        "<iq xmlns='jabber:client' type='get' id='disco' from='me@example.org'>\
           <query xmlns='http://jabber.org/protocol/disco#info' node='n#v'/></iq>",
    ) else {
        panic!()
    };
    assert_eq!(id, "disco");
    assert_eq!(from.unwrap().as_str(), "me@example.org");
    assert_eq!(node.as_deref(), Some("n#v"));
}
