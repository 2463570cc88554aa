//! XEP-0313 catch-up queries: one page at a time, after the last id we
//! reported, with no age or count cap.

use minidom::Element;
use xmpp_parsers::mam::{Fin, Query, QueryId};
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

/// The end of a page: whether the archive is exhausted, and the last id.
pub(crate) fn page_end(payload: Option<Element>) -> Option<(bool, Option<String>)> {
    let fin = Fin::try_from(payload?).ok()?;
    Some((fin.complete, fin.set.last))
}
