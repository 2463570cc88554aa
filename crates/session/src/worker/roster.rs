//! What the host asks of the roster and of presence: roster sets and
//! removes (RFC 6121 §2.4-2.5), subscription stanzas (§3) and our own
//! presence (§4).

use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::message::Lang;
use xmpp_parsers::presence::{Presence, Show, Type as PresenceType};
use xmpp_parsers::roster::{Ask, Group, Item, Roster, Subscription};

use crate::error::SessionError;
use crate::events::{Availability, OwnPresence, Reply, SubscriptionKind};

use super::*;

/// The stanza that says `presence` to our contacts.
pub(super) fn presence_stanza(presence: &OwnPresence) -> Presence {
    let mut stanza = Presence::available();
    stanza.show = match presence.availability {
        Availability::Available => None,
        Availability::Away => Some(Show::Away),
        Availability::DoNotDisturb => Some(Show::Dnd),
    };
    if let Some(status) = presence.status.as_deref().filter(|s| !s.is_empty()) {
        stanza.set_status(Lang::default(), status.to_owned());
    }
    // What we can do, so the server sends our own synchronization node's
    // notifications here (`crate::caps`).
    if let Some(caps) = crate::caps::presence_caps() {
        stanza.add_payload(caps);
    }
    stanza
}

fn subscription_stanza(to: BareJid, kind: SubscriptionKind) -> Presence {
    let type_ = match kind {
        SubscriptionKind::Subscribe => PresenceType::Subscribe,
        SubscriptionKind::Subscribed => PresenceType::Subscribed,
        SubscriptionKind::Unsubscribe => PresenceType::Unsubscribe,
        SubscriptionKind::Unsubscribed => PresenceType::Unsubscribed,
    };
    Presence::new(type_).with_to(Jid::from(to))
}

fn roster_set(
    jid: BareJid,
    name: Option<String>,
    subscription: Subscription,
    groups: Vec<String>,
) -> Roster {
    Roster {
        ver: None,
        items: vec![Item {
            jid,
            name,
            subscription,
            ask: Ask::None,
            groups: groups.into_iter().map(Group).collect(),
            approved: None,
        }],
    }
}

impl Worker {
    pub(super) async fn on_online_request(
        &mut self,
        live: &mut Live,
        request: OnlineRequest,
    ) -> Result<(), SessionError> {
        match request {
            OnlineRequest::SetRosterItem(item, reply) => {
                // An empty name is no name (RFC 6121 §2.1.2.4).
                let name = item.name.filter(|n| !n.trim().is_empty());
                let query = roster_set(item.jid, name, Subscription::None, item.groups);
                self.send_roster_set(live, query, reply).await
            }
            OnlineRequest::RemoveRosterItem(jid, reply) => {
                let query = roster_set(jid, None, Subscription::Remove, Vec::new());
                self.send_roster_set(live, query, reply).await
            }
            OnlineRequest::Subscription(to, kind, reply) => {
                let written = self
                    .write_stanza(live, &subscription_stanza(to, kind))
                    .await;
                let outcome = match &written {
                    Ok(()) => Ok(()),
                    Err(_) => Err(RequestError::ConnectionLost),
                };
                let _ = reply.send(outcome);
                written
            }
        }
    }

    /// The answer comes with the IQ's result or error (`dispatch.rs`), or
    /// its deadline (`serve.rs`); a stream that ends first drops `reply`,
    /// which the host reads as a lost connection.
    async fn send_roster_set(
        &mut self,
        live: &mut Live,
        query: Roster,
        reply: Reply,
    ) -> Result<(), SessionError> {
        let id = live.iq_id(IqPurpose::RosterSet(reply));
        self.write_stanza(live, &Iq::from_set(id, query)).await
    }

    pub(super) async fn send_presence(&mut self, live: &mut Live) -> Result<(), SessionError> {
        let stanza = presence_stanza(&self.presence);
        self.write_stanza(live, &stanza).await?;
        self.presence_unsent = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minidom::Element;

    fn xml(presence: &Presence) -> String {
        String::from(&Element::from(presence.clone()))
    }

    #[test]
    fn own_presence_carries_show_and_status() {
        let plain = xml(&presence_stanza(&OwnPresence::default()));
        assert!(
            !plain.contains("show") && !plain.contains("status"),
            "{plain}"
        );
        assert!(
            plain.contains("<c xmlns='http://jabber.org/protocol/caps'"),
            "{plain}"
        );
        let away = xml(&presence_stanza(&OwnPresence {
            availability: Availability::Away,
            status: Some("at lunch".into()),
        }));
        assert!(away.contains("<show>away</show>"), "{away}");
        assert!(away.contains(">at lunch</status>"), "{away}");
        let dnd = xml(&presence_stanza(&OwnPresence {
            availability: Availability::DoNotDisturb,
            status: Some(String::new()),
        }));
        assert!(
            dnd.contains("<show>dnd</show>") && !dnd.contains("status"),
            "{dnd}"
        );
    }

    #[test]
    fn roster_remove_is_an_item_with_subscription_remove() {
        let jid = BareJid::new("bob@example.org").unwrap();
        let query = roster_set(jid, None, Subscription::Remove, Vec::new());
        let text = String::from(&Element::from(query));
        assert!(text.contains("subscription='remove'"), "{text}");
        let set = roster_set(
            BareJid::new("bob@example.org").unwrap(),
            Some("Bob".into()),
            Subscription::None,
            vec!["Friends".into()],
        );
        let text = String::from(&Element::from(set));
        // A set must not claim a subscription: the server owns that.
        assert!(!text.contains("subscription="), "{text}");
        assert!(text.contains("<group>Friends</group>"), "{text}");
    }

    #[test]
    fn subscription_stanzas_go_to_the_bare_jid() {
        let bob = BareJid::new("bob@example.org").unwrap();
        let text = xml(&subscription_stanza(bob, SubscriptionKind::Unsubscribed));
        assert!(text.contains("type='unsubscribed'"), "{text}");
        assert!(text.contains("to='bob@example.org'"), "{text}");
    }
}
