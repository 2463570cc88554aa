//! Classifies a stanza from the server into what the worker must do with
//! it. Pure: no I/O, so every rule here is tested without a server.

use minidom::Element;
use xmpp_parsers::carbons;
use xmpp_parsers::delay::Delay;
use xmpp_parsers::disco::DiscoInfoQuery;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::message::{Message, MessageType};
use xmpp_parsers::ns;
use xmpp_parsers::presence::{Presence, Show, Type as PresenceType};
use xmpp_parsers::roster::{Roster, Subscription};
use xmpp_parsers::stanza_id::{OriginId, StanzaId};

use crate::events::{
    Displayed, MessageDirection, PresenceUpdate, ReceivedMessage, RosterItem, SubscriptionKind,
};
use crate::markers;
use crate::names::stanza_words;

/// What a stanza asks of the worker.
#[derive(Debug)]
pub(crate) enum Inbound {
    Message(ReceivedMessage),
    /// One message of a MAM result page.
    Archived {
        queryid: Option<String>,
        message: ReceivedMessage,
    },
    /// The server bounced a message we sent (matched by its id).
    MessageError {
        id: String,
        reason: String,
    },
    Presence(PresenceUpdate),
    /// A subscription stanza from a contact (RFC 6121 §3).
    Subscription {
        from: BareJid,
        kind: SubscriptionKind,
    },
    RosterPush {
        id: String,
        ver: Option<String>,
        items: Vec<RosterItem>,
    },
    Ping {
        id: String,
        from: Option<Jid>,
    },
    IqResult {
        id: String,
        payload: Option<Element>,
    },
    IqError {
        id: String,
        reason: String,
    },
    /// A request we do not serve: it must still get an error answer.
    UnsupportedIq {
        id: String,
        from: Option<Jid>,
    },
    /// Chats read up to a message: a displayed marker, or items of our own
    /// synchronization node.
    Displayed(Vec<Displayed>),
    /// A service discovery request (XEP-0030), about `node` if it names
    /// one (our capabilities hash, XEP-0115).
    DiscoInfo {
        id: String,
        from: Option<Jid>,
        node: Option<String>,
    },
    Ignored(&'static str),
}

pub(crate) fn is_stanza(el: &Element) -> bool {
    el.ns() == ns::DEFAULT_NS && matches!(el.name(), "message" | "presence" | "iq")
}

pub(crate) fn classify(el: Element, own: &BareJid, now_ms: i64) -> Inbound {
    match el.name() {
        "message" => match Message::try_from(el) {
            Ok(message) => classify_message(message, own, now_ms),
            Err(_) => Inbound::Ignored("unparsable message"),
        },
        "presence" => match Presence::try_from(el) {
            Ok(presence) => classify_presence(presence),
            Err(_) => Inbound::Ignored("unparsable presence"),
        },
        "iq" => match Iq::try_from(el) {
            Ok(iq) => classify_iq(iq, own),
            Err(_) => Inbound::Ignored("unparsable iq"),
        },
        _ => Inbound::Ignored("not a stanza"),
    }
}

fn from_own_account(from: Option<&Jid>, own: &BareJid) -> bool {
    from.is_none_or(|jid| jid.to_bare() == *own)
}

fn classify_message(message: Message, own: &BareJid, now_ms: i64) -> Inbound {
    if message.type_ == MessageType::Error {
        let reason = message
            .payloads
            .iter()
            .find(|p| p.is("error", ns::DEFAULT_NS))
            .and_then(|e| xmpp_parsers::stanza_error::StanzaError::try_from(e.clone()).ok())
            .map(|e| stanza_words(&e.defined_condition).to_owned())
            .unwrap_or_else(|| "the server returned it without saying why".to_owned());
        return match message.id {
            Some(id) => Inbound::MessageError { id: id.0, reason },
            None => Inbound::Ignored("error message without id"),
        };
    }
    // Carbons and archive results are only believed from our own account:
    // anyone else could forge "a message you sent".
    if from_own_account(message.from.as_ref(), own) {
        for payload in &message.payloads {
            // Our own PEP node's notifications (XEP-0163) come from our
            // bare JID.
            if payload.is("event", ns::PUBSUB_EVENT) {
                let read = markers::from_event(payload, own);
                return if read.is_empty() {
                    Inbound::Ignored("a notification of another node")
                } else {
                    Inbound::Displayed(read)
                };
            }
            if payload.is("result", ns::MAM) {
                return archived(payload.clone(), own);
            }
            if payload.is("received", ns::CARBONS)
                && let Ok(carbon) = carbons::Received::try_from(payload.clone())
            {
                let delay = carbon.forwarded.delay.clone();
                return chat_message(
                    carbon.forwarded.message,
                    MessageDirection::Incoming,
                    own,
                    delay,
                    now_ms,
                );
            }
            if payload.is("sent", ns::CARBONS)
                && let Ok(carbon) = carbons::Sent::try_from(payload.clone())
            {
                let delay = carbon.forwarded.delay.clone();
                return chat_message(
                    carbon.forwarded.message,
                    MessageDirection::SentElsewhere,
                    own,
                    delay,
                    now_ms,
                );
            }
        }
    }
    chat_message(message, MessageDirection::Incoming, own, None, now_ms)
}

fn archived(payload: Element, own: &BareJid) -> Inbound {
    let Ok(result) = xmpp_parsers::mam::Result_::try_from(payload) else {
        return Inbound::Ignored("unparsable archive result");
    };
    let inner = result.forwarded.message;
    let direction = match &inner.from {
        Some(from) if from.to_bare() == *own => MessageDirection::SentElsewhere,
        _ => MessageDirection::Incoming,
    };
    match chat_message(inner, direction, own, result.forwarded.delay, 0) {
        Inbound::Message(mut message) => {
            // The archive's id is the stanza-id our server gave the message.
            message.stanza_id = Some(result.id);
            message.archived = true;
            Inbound::Archived {
                queryid: result.queryid.map(|q| q.0),
                message,
            }
        }
        // What was read is found elsewhere: a live marker, or the
        // synchronization node fetched after the catch-up.
        Inbound::Displayed(_) => Inbound::Ignored("archived displayed marker"),
        other => other,
    }
}

fn chat_message(
    message: Message,
    direction: MessageDirection,
    own: &BareJid,
    outer_delay: Option<Delay>,
    now_ms: i64,
) -> Inbound {
    if !matches!(message.type_, MessageType::Chat | MessageType::Normal) {
        return Inbound::Ignored("not a 1:1 chat message");
    }
    let Some((_, body)) = message.get_best_body_cloned(vec![]) else {
        return match markers::displayed_marker(&message, direction) {
            Some(read) => Inbound::Displayed(vec![read]),
            None => Inbound::Ignored("message without body"),
        };
    };
    // Only a message from the peer asks us for markers.
    let marker_id = match direction {
        MessageDirection::Incoming => markers::marker_id(&message),
        MessageDirection::SentElsewhere => None,
    };
    let peer_jid = match direction {
        MessageDirection::Incoming => message.from.as_ref(),
        MessageDirection::SentElsewhere => message.to.as_ref(),
    };
    let Some(peer) = peer_jid.map(Jid::to_bare) else {
        return Inbound::Ignored("message without peer");
    };
    let mut origin_id = None;
    let mut stanza_id = None;
    let mut delay = outer_delay;
    for payload in &message.payloads {
        if payload.is("origin-id", ns::SID) {
            origin_id = OriginId::try_from(payload.clone()).ok().map(|o| o.id);
        } else if payload.is("stanza-id", ns::SID) {
            // Only our own server's stanza-id is a reliable archive key.
            if let Ok(sid) = StanzaId::try_from(payload.clone())
                && sid.by == *own
            {
                stanza_id = Some(sid.id);
            }
        } else if payload.is("delay", ns::DELAY) && delay.is_none() {
            delay = Delay::try_from(payload.clone()).ok();
        }
    }
    let timestamp_ms = delay
        .map(|d| d.stamp.0.timestamp_millis())
        .unwrap_or(now_ms);
    Inbound::Message(ReceivedMessage {
        peer,
        direction,
        body,
        timestamp_ms,
        origin_id,
        stanza_id,
        marker_id,
        archived: false,
    })
}

fn classify_presence(presence: Presence) -> Inbound {
    let Some(from) = presence.from.clone() else {
        return Inbound::Ignored("presence without from");
    };
    let available = match presence.type_ {
        PresenceType::None => true,
        PresenceType::Unavailable => false,
        PresenceType::Subscribe => return subscription(from, SubscriptionKind::Subscribe),
        PresenceType::Subscribed => return subscription(from, SubscriptionKind::Subscribed),
        PresenceType::Unsubscribe => return subscription(from, SubscriptionKind::Unsubscribe),
        PresenceType::Unsubscribed => {
            return subscription(from, SubscriptionKind::Unsubscribed);
        }
        PresenceType::Error | PresenceType::Probe => {
            return Inbound::Ignored("presence error or probe");
        }
    };
    let show = presence.show.as_ref().map(|s| {
        match s {
            Show::Away => "away",
            Show::Chat => "chat",
            Show::Dnd => "dnd",
            Show::Xa => "xa",
        }
        .to_owned()
    });
    let status = presence.statuses.values().next().map(|s| s.to_string());
    Inbound::Presence(PresenceUpdate {
        from,
        available,
        show,
        status,
    })
}

/// Subscriptions are between bare JIDs (RFC 6121 §3.1.1): a resource a
/// client put on the stanza is not part of it.
fn subscription(from: Jid, kind: SubscriptionKind) -> Inbound {
    Inbound::Subscription {
        from: from.to_bare(),
        kind,
    }
}

fn classify_iq(iq: Iq, own: &BareJid) -> Inbound {
    match iq {
        Iq::Get {
            id, from, payload, ..
        } => {
            if payload.is("ping", ns::PING) {
                Inbound::Ping { id, from }
            } else if let Ok(query) = DiscoInfoQuery::try_from(payload) {
                Inbound::DiscoInfo {
                    id,
                    from,
                    node: query.node,
                }
            } else {
                Inbound::UnsupportedIq { id, from }
            }
        }
        Iq::Set {
            id, from, payload, ..
        } => {
            if payload.is("query", ns::ROSTER) && from_own_account(from.as_ref(), own) {
                match Roster::try_from(payload) {
                    Ok(roster) => Inbound::RosterPush {
                        id,
                        ver: roster.ver,
                        items: roster.items.into_iter().map(roster_item).collect(),
                    },
                    Err(_) => Inbound::UnsupportedIq { id, from },
                }
            } else {
                Inbound::UnsupportedIq { id, from }
            }
        }
        Iq::Result { id, payload, .. } => Inbound::IqResult { id, payload },
        Iq::Error { id, error, .. } => Inbound::IqError {
            id,
            reason: stanza_words(&error.defined_condition).to_owned(),
        },
    }
}

pub(crate) fn roster_item(item: xmpp_parsers::roster::Item) -> RosterItem {
    RosterItem {
        jid: item.jid.to_string(),
        name: item.name.filter(|n| !n.is_empty()),
        subscription: match item.subscription {
            Subscription::None => "none",
            Subscription::From => "from",
            Subscription::To => "to",
            Subscription::Both => "both",
            Subscription::Remove => "remove",
        }
        .to_owned(),
        groups: item.groups.into_iter().map(|g| g.0).collect(),
    }
}

#[cfg(test)]
mod tests;
