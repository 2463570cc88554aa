//! Catch-up from the server archive (XEP-0313), one page at a time.

use minidom::Element;
use xmpp_parsers::iq::Iq;

use crate::error::SessionError;
use crate::events::SessionEvent;
use crate::mam;

use super::*;

impl Worker {
    pub(super) async fn request_archive_page(
        &mut self,
        live: &mut Live,
        after: Option<String>,
    ) -> Result<(), SessionError> {
        let queryid = live
            .catch_up
            .as_ref()
            .map(|c| c.queryid.clone())
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
        if live.catch_up.is_none() {
            tracing::debug!(account = %self.account.jid, after = ?after, "catching up from the archive");
            live.catch_up = Some(CatchUp {
                queryid: queryid.clone(),
                fetched: 0,
            });
        }
        let query = mam::page_query(&queryid, after.as_deref());
        let id = live.iq_id(IqPurpose::ArchivePage { after });
        self.write_stanza(live, &Iq::from_set(id, query)).await
    }

    pub(super) async fn on_archive_page(
        &mut self,
        live: &mut Live,
        after: Option<String>,
        payload: Option<Element>,
    ) -> Result<(), SessionError> {
        let Some((complete, last)) = mam::page_end(payload) else {
            tracing::warn!("the server's archive answer does not parse; catch-up stopped");
            live.catch_up = None;
            return Ok(());
        };
        if let Some(last) = &last {
            self.archive_position = Some(last.clone());
            self.emit(SessionEvent::ArchivePosition(last.clone()));
        }
        if complete || last.is_none() || last == after {
            let fetched = live.catch_up.take().map(|c| c.fetched).unwrap_or(0);
            tracing::info!(account = %self.account.jid, fetched, "caught up from the archive");
            self.emit(SessionEvent::CatchUpDone { fetched });
            return Ok(());
        }
        self.request_archive_page(live, last).await
    }
}
