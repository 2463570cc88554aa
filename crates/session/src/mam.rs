//! XEP-0313 catch-up queries: one page at a time, after the last id we
//! reported, with no age or count cap.

use chrono::{SecondsFormat, TimeZone, Utc};
use minidom::Element;
use xmpp_parsers::data_forms::{DataForm, DataFormType, Field};
use xmpp_parsers::jid::BareJid;
use xmpp_parsers::mam::{Fin, Query, QueryId};
use xmpp_parsers::ns;
use xmpp_parsers::rsm::SetQuery;

/// Messages asked for per page.
pub(crate) const PAGE: usize = 100;

/// A page query for messages after `after` (the whole archive without).
pub(crate) fn page_query(queryid: &str, after: Option<&str>) -> Query {
    Query {
        queryid: Some(QueryId(queryid.to_owned())),
        node: None,
        form: None,
        set: Some(SetQuery {
            max: Some(PAGE),
            after: after.map(str::to_owned),
            before: None,
            index: None,
        }),
        flip_page: false,
    }
}

/// A page of the messages exchanged with `peer` since `start_ms` (ms
/// since the epoch), after `after`.
pub(crate) fn sent_to_query(
    queryid: &str,
    peer: &BareJid,
    start_ms: i64,
    after: Option<&str>,
) -> Query {
    let start = Utc
        .timestamp_millis_opt(start_ms)
        .single()
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    let form = DataForm::new(
        DataFormType::Submit,
        ns::MAM,
        vec![
            Field::text_single("with", peer.as_str()),
            Field::text_single("start", &start),
        ],
    );
    Query {
        form: Some(form),
        ..page_query(queryid, after)
    }
}

/// The end of a page: whether the archive is exhausted, and the last id.
pub(crate) fn page_end(payload: Option<Element>) -> Option<(bool, Option<String>)> {
    let fin = Fin::try_from(payload?).ok()?;
    Some((fin.complete, fin.set.last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_search_for_sent_messages_filters_by_peer_and_start() {
        let peer = BareJid::new("bob@example.org").unwrap();
        let query = sent_to_query("q1", &peer, 1_704_067_200_500, Some("last-id"));
        let xml = String::from(&Element::from(query));
        for part in [
            "queryid='q1'",
            "<value>urn:xmpp:mam:2</value>",
            "var='with'",
            "<value>bob@example.org</value>",
            "<value>2024-01-01T00:00:00Z</value>",
            "<after>last-id</after>",
            "<max>100</max>",
        ] {
            assert!(xml.contains(part), "{part} missing in {xml}");
        }
    }
}
