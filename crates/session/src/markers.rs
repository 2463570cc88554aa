//! Read markers, pure: displayed chat markers (XEP-0333) in messages, and
//! our own synchronization node (XEP-0490 message displayed
//! synchronization, on PEP) with what it publishes and notifies.

use minidom::Element;
use xmpp_parsers::data_forms::{DataForm, DataFormType, Field, FieldType};
use xmpp_parsers::displayed_markers::{Displayed as MarkerDisplayed, Markable};
use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::message::{Id as MessageId, Message};
use xmpp_parsers::message_displayed::Displayed as MdsDisplayed;
use xmpp_parsers::ns;
use xmpp_parsers::pubsub::{self, ItemId, NodeName, PubSub};
use xmpp_parsers::stanza_id::StanzaId;

use crate::events::{Displayed, MessageDirection, MessageRef};

/// The hint that has servers carbon-copy and archive a message without a
/// body (XEP-0334), so our other devices learn what we read. xmpp-parsers
/// has no type for it.
const HINTS: &str = "urn:xmpp:hints";

/// The id a displayed marker for `message` must name, when it asked for
/// one (`<markable/>`, XEP-0333 §4).
pub(crate) fn marker_id(message: &Message) -> Option<String> {
    let markable = message
        .payloads
        .iter()
        .any(|p| Markable::try_from(p.clone()).is_ok());
    markable
        .then(|| message.id.as_ref().map(|id| id.0.clone()))
        .flatten()
        .filter(|id| !id.is_empty())
}

/// A displayed marker carried by `message`, which went `direction` (a
/// sent carbon's marker is our own, from another device).
pub(crate) fn displayed_marker(
    message: &Message,
    direction: MessageDirection,
) -> Option<Displayed> {
    let marker = message
        .payloads
        .iter()
        .find_map(|p| MarkerDisplayed::try_from(p.clone()).ok())?;
    let peer = match direction {
        MessageDirection::Incoming => message.from.as_ref(),
        MessageDirection::SentElsewhere => message.to.as_ref(),
    }?;
    Some(Displayed {
        peer: peer.to_bare(),
        up_to: MessageRef::MarkerId(marker.id.0),
        by_own_device: direction == MessageDirection::SentElsewhere,
    })
}

/// Our displayed marker for the peer's message `id`, with a store hint so
/// carbons and the archive give it to our other devices.
pub(crate) fn marker_message(peer: &BareJid, id: &str) -> Message {
    let mut message = Message::chat(Some(Jid::from(peer.clone()))).with_payload(MarkerDisplayed {
        id: MessageId(id.to_owned()),
    });
    message.id = Some(MessageId(uuid::Uuid::new_v4().simple().to_string()));
    message
        .payloads
        .push(Element::builder("store", HINTS).build());
    message
}

/// Which publish options go with a publish to our node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeOptions {
    /// All that XEP-0490 asks: persistent, private, as many items as the
    /// server allows (one per chat), the last never sent by itself.
    Full,
    /// Only persistent and private, for a server that refuses the rest
    /// (ejabberd 23.01 knows no other publish option); the server's
    /// defaults decide how many chats' read state it keeps.
    Private,
}

/// The publish of "read up to `stanza_id`" in the chat with `peer` to our
/// node: one item per chat, named by the peer, private to the account
/// (XEP-0490 §4, with the publish options it requires).
pub(crate) fn publish(
    own: &BareJid,
    peer: &BareJid,
    stanza_id: &str,
    options: NodeOptions,
) -> PubSub {
    let payload = MdsDisplayed {
        stanza_id: StanzaId {
            id: stanza_id.to_owned(),
            by: Jid::from(own.clone()),
        },
    };
    let item = pubsub::pubsub::Item {
        id: Some(ItemId(peer.to_string())),
        publisher: None,
        payload: Some(payload.into()),
    };
    let mut fields = vec![
        Field::new("pubsub#persist_items", FieldType::Boolean).with_value("true"),
        Field::new("pubsub#access_model", FieldType::ListSingle).with_value("whitelist"),
    ];
    if options == NodeOptions::Full {
        fields.push(Field::text_single("pubsub#max_items", "max"));
        fields.push(
            Field::new("pubsub#send_last_published_item", FieldType::ListSingle)
                .with_value("never"),
        );
    }
    let options = DataForm::new(
        DataFormType::Submit,
        "http://jabber.org/protocol/pubsub#publish-options",
        fields,
    );
    PubSub::Publish {
        publish: pubsub::pubsub::Publish {
            node: NodeName(ns::MDS.to_owned()),
            items: vec![item],
        },
        publish_options: Some(pubsub::pubsub::PublishOptions {
            form: Some(options),
        }),
    }
}

/// The request for every item of our node: what our other devices read
/// while this one was away.
pub(crate) fn items_query() -> PubSub {
    PubSub::Items(pubsub::pubsub::Items::new(ns::MDS))
}

/// The items of our node in the answer to [`items_query`].
pub(crate) fn from_items(payload: Option<Element>, own: &BareJid) -> Vec<Displayed> {
    let Some(Ok(PubSub::Items(items))) = payload.map(PubSub::try_from) else {
        return Vec::new();
    };
    if items.node.0 != ns::MDS {
        return Vec::new();
    }
    items
        .items
        .into_iter()
        .filter_map(|item| read_item(item.id, item.payload, own))
        .collect()
}

/// The items of a notification from our node (a pubsub event in a message
/// from our own account: the host checks who sent it).
pub(crate) fn from_event(event: &Element, own: &BareJid) -> Vec<Displayed> {
    let Ok(event) = pubsub::Event::try_from(event.clone()) else {
        return Vec::new();
    };
    match event.payload {
        pubsub::event::Payload::Items {
            node, published, ..
        } if node.0 == ns::MDS => published
            .into_iter()
            .filter_map(|item| read_item(item.id, item.payload, own))
            .collect(),
        _ => Vec::new(),
    }
}

/// One item: its id is the chat's peer, its stanza-id must be our own
/// server's (a 1:1 chat's messages are archived by our account).
fn read_item(id: Option<ItemId>, payload: Option<Element>, own: &BareJid) -> Option<Displayed> {
    let peer = BareJid::new(&id?.0).ok()?;
    let displayed = MdsDisplayed::try_from(payload?).ok()?;
    (displayed.stanza_id.by.to_bare() == *own && displayed.stanza_id.by.is_bare()).then_some(
        Displayed {
            peer,
            up_to: MessageRef::StanzaId(displayed.stanza_id.id),
            by_own_device: true,
        },
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn own() -> BareJid {
        BareJid::new("me@example.org").unwrap()
    }

    fn message(xml: &str) -> Message {
        Message::try_from(xml.parse::<Element>().unwrap()).unwrap()
    }

    #[test]
    fn a_markable_message_is_marked_by_its_stanza_id() {
        let markable = message(
            "<message xmlns='jabber:client' from='bob@example.org/a' type='chat' id='m1'>\
               <body>hi</body><markable xmlns='urn:xmpp:chat-markers:0'/></message>",
        );
        assert_eq!(marker_id(&markable).as_deref(), Some("m1"));
        let plain = message(
            "<message xmlns='jabber:client' from='bob@example.org/a' type='chat' id='m2'><body>hi</body></message>",
        );
        assert_eq!(marker_id(&plain), None, "it did not ask");
        let no_id = message(
            "<message xmlns='jabber:client' from='bob@example.org/a' type='chat'>\
               <body>hi</body><markable xmlns='urn:xmpp:chat-markers:0'/></message>",
        );
        assert_eq!(marker_id(&no_id), None, "nothing to name");
    }

    #[test]
    fn a_marker_names_the_peer_by_direction() {
        let theirs = message(
            "<message xmlns='jabber:client' from='bob@example.org/a' to='me@example.org/w' type='chat'>\
               <displayed xmlns='urn:xmpp:chat-markers:0' id='o1'/></message>",
        );
        assert_eq!(
            displayed_marker(&theirs, MessageDirection::Incoming),
            Some(Displayed {
                peer: BareJid::new("bob@example.org").unwrap(),
                up_to: MessageRef::MarkerId("o1".into()),
                by_own_device: false,
            })
        );
        let ours = message(
            "<message xmlns='jabber:client' from='me@example.org/phone' to='bob@example.org' type='chat'>\
               <displayed xmlns='urn:xmpp:chat-markers:0' id='m1'/></message>",
        );
        let read = displayed_marker(&ours, MessageDirection::SentElsewhere).unwrap();
        assert_eq!(read.peer.as_str(), "bob@example.org");
        assert!(read.by_own_device);
        let without_id = message(
            "<message xmlns='jabber:client' from='bob@example.org/a' type='chat'>\
               <displayed xmlns='urn:xmpp:chat-markers:0'/></message>",
        );
        assert_eq!(
            displayed_marker(&without_id, MessageDirection::Incoming),
            None
        );
    }

    #[test]
    fn our_marker_carries_a_store_hint() {
        let bob = BareJid::new("bob@example.org").unwrap();
        let text = String::from(&Element::from(marker_message(&bob, "m1")));
        assert!(text.contains("type='chat'"), "{text}");
        assert!(text.contains("to='bob@example.org'"), "{text}");
        assert!(
            text.contains("<displayed xmlns='urn:xmpp:chat-markers:0' id='m1'/>"),
            "{text}"
        );
        assert!(text.contains("<store xmlns='urn:xmpp:hints'/>"), "{text}");
    }

    #[test]
    fn the_publish_names_the_chat_and_asks_for_a_private_persistent_node() {
        let bob = BareJid::new("bob@example.org").unwrap();
        let text = String::from(&Element::from(publish(
            &own(),
            &bob,
            "s9",
            NodeOptions::Full,
        )));
        assert!(text.contains("node='urn:xmpp:mds:displayed:0'"), "{text}");
        assert!(text.contains("<item id='bob@example.org'>"), "{text}");
        let stanza_id = text.split("<stanza-id ").nth(1).unwrap();
        let stanza_id = &stanza_id[..stanza_id.find("/>").unwrap()];
        assert!(stanza_id.contains("id='s9'"), "{text}");
        assert!(stanza_id.contains("by='me@example.org'"), "{text}");
        for (var, value) in [
            ("pubsub#persist_items", "true"),
            ("pubsub#max_items", "max"),
            ("pubsub#send_last_published_item", "never"),
            ("pubsub#access_model", "whitelist"),
        ] {
            let field = text.split(&format!("var='{var}'")).nth(1).unwrap();
            assert!(
                field.starts_with(&format!("><value>{value}</value>"))
                    || field.contains(&format!("<value>{value}</value></field>")),
                "{var}: {text}"
            );
        }
        let private = String::from(&Element::from(publish(
            &own(),
            &bob,
            "s9",
            NodeOptions::Private,
        )));
        assert!(private.contains("var='pubsub#access_model'"), "{private}");
        assert!(private.contains("var='pubsub#persist_items'"), "{private}");
        assert!(!private.contains("pubsub#max_items"), "{private}");
    }

    #[test]
    fn notifications_and_fetched_items_become_reads_on_our_devices() {
        let event: Element = "<event xmlns='http://jabber.org/protocol/pubsub#event'>\
               <items node='urn:xmpp:mds:displayed:0'>\
                 <item id='bob@example.org'><displayed xmlns='urn:xmpp:mds:displayed:0'>\
                   <stanza-id xmlns='urn:xmpp:sid:0' id='s1' by='me@example.org'/></displayed></item>\
                 <item id='carol@example.org'><displayed xmlns='urn:xmpp:mds:displayed:0'>\
                   <stanza-id xmlns='urn:xmpp:sid:0' id='s2' by='carol@example.org'/></displayed></item>\
               </items></event>"
            .parse()
            .unwrap();
        assert_eq!(
            from_event(&event, &own()),
            vec![Displayed {
                peer: BareJid::new("bob@example.org").unwrap(),
                up_to: MessageRef::StanzaId("s1".into()),
                by_own_device: true,
            }],
            "only our own server's stanza-ids are ours"
        );
        let other_node: Element = "<event xmlns='http://jabber.org/protocol/pubsub#event'>\
               <items node='urn:xmpp:avatar:metadata'><item id='x'/></items></event>"
            .parse()
            .unwrap();
        assert!(from_event(&other_node, &own()).is_empty());

        let answer: Element = "<pubsub xmlns='http://jabber.org/protocol/pubsub'>\
               <items node='urn:xmpp:mds:displayed:0'>\
                 <item id='bob@example.org'><displayed xmlns='urn:xmpp:mds:displayed:0'>\
                   <stanza-id xmlns='urn:xmpp:sid:0' id='s7' by='me@example.org'/></displayed></item>\
               </items></pubsub>"
            .parse()
            .unwrap();
        let fetched = from_items(Some(answer), &own());
        assert_eq!(fetched.len(), 1);
        assert_eq!(fetched[0].up_to, MessageRef::StanzaId("s7".into()));
        assert!(from_items(None, &own()).is_empty());
    }
}
