//! What this client tells others it can do: the service discovery answer
//! (XEP-0030) and its hash in our presence (XEP-0115 entity capabilities).
//!
//! The server reads them too: a PEP service (XEP-0163) sends a resource the
//! events of the nodes whose `+notify` feature it lists, and the hash lets
//! it ask once per client version instead of once per login. That is how
//! message displayed synchronization (XEP-0490) reaches us.

use xmpp_parsers::caps::{self, Caps};
use xmpp_parsers::disco::{DiscoInfoResult, Identity};
use xmpp_parsers::hashes::Algo;
use xmpp_parsers::ns;

/// Names this client in the capabilities node (XEP-0115 §4: a URI of the
/// software).
const NODE: &str = env!("CARGO_PKG_REPOSITORY");

/// Every feature we answer with, the `+notify` ones included.
fn features() -> [&'static str; 5] {
    [
        ns::DISCO_INFO,
        ns::CAPS,
        ns::DISPLAYED_MARKERS,
        ns::MDS,
        MDS_NOTIFY,
    ]
}

/// Subscribes our resources to our own synchronization node's events.
const MDS_NOTIFY: &str = "urn:xmpp:mds:displayed:0+notify";

/// Our disco#info answer. `node` is echoed as asked: a server asking for
/// `NODE#ver` (to learn what a hash means) gets the same features.
pub(crate) fn disco_info(node: Option<String>) -> DiscoInfoResult {
    DiscoInfoResult {
        node,
        identities: vec![Identity::new("client", "pc", "en", "Wimsy")],
        features: features().into_iter().map(str::to_owned).collect(),
        extensions: Vec::new(),
    }
}

/// The `<c/>` element for our presence. `None` if hashing fails (it
/// cannot for SHA-1; the presence then just goes without it).
pub(crate) fn presence_caps() -> Option<Caps> {
    let data = caps::compute_disco(&disco_info(None));
    let hash = caps::hash_caps(&data, Algo::Sha_1).ok()?;
    Some(Caps::new(NODE, hash))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use minidom::Element;

    #[test]
    fn the_answer_lists_markers_and_synchronization_with_notify() {
        let text = String::from(&Element::from(disco_info(Some("n#v".into()))));
        for feature in [
            "urn:xmpp:chat-markers:0",
            "urn:xmpp:mds:displayed:0+notify",
            "http://jabber.org/protocol/caps",
        ] {
            assert!(text.contains(&format!("var='{feature}'")), "{text}");
        }
        assert!(text.contains("node='n#v'"), "{text}");
        assert!(text.contains("category='client'"), "{text}");
    }

    #[test]
    fn the_presence_hash_is_that_of_the_answer() {
        let caps = presence_caps().unwrap();
        let again = caps::hash_caps(&caps::compute_disco(&disco_info(None)), Algo::Sha_1).unwrap();
        assert_eq!(caps.ver, again.hash);
        assert_eq!(caps.node, NODE);
        let text = String::from(&Element::from(caps));
        assert!(text.contains("hash='sha-1'"), "{text}");
    }
}
