//! Trust on first use: the user accepts a server certificate by its
//! fingerprint, which is pinned in the accounts file; the account's session
//! is then started again with the pin.

use wimsy_ipc::{ErrorCode, Event, Response};
use wimsy_session::Fingerprint;

use super::Core;
use super::requests::{Answer, fail};
use crate::accounts::AccountEntry;

impl Core {
    /// Pin `fingerprint` for `jid` and reconnect it.
    pub(super) async fn account_trust(&mut self, jid: &str, fingerprint: &str) -> Answer {
        let jid = self.known(jid)?;
        let pin = Fingerprint::parse(fingerprint)
            .map_err(|e| fail(ErrorCode::InvalidArgument, e.to_string()))?
            .to_string();
        let internal = |e: crate::accounts::AccountsError| fail(ErrorCode::Internal, e.to_string());
        let password = self
            .secrets
            .get(&jid)
            .await
            .map_err(|e| fail(ErrorCode::Internal, e.to_string()))?;
        let Some(runtime) = self.accounts.get(&jid) else {
            return Err(fail(ErrorCode::UnknownAccount, format!("no account {jid}")));
        };
        // The user decides; a fingerprint that differs from what the server
        // showed us may be a typo, or a certificate checked elsewhere.
        match runtime.offered_fingerprint.as_deref() {
            Some(offered) if offered == pin => {
                tracing::info!(account = %jid, %pin, "trusting the certificate the server offered");
            }
            Some(offered) => tracing::warn!(
                account = %jid, trusted = %pin, %offered,
                "trusting a certificate other than the one the server last offered"
            ),
            None => tracing::info!(
                account = %jid, %pin,
                "trusting a certificate the server has not been seen offering"
            ),
        }
        let entry = AccountEntry {
            pinned_sha256: Some(pin),
            ..runtime.entry.clone()
        };
        let entries = self.configured_entries(Some(&entry));
        self.account_files.save(&entries).map_err(internal)?;
        // Trusting is asking to connect: an account the user had taken
        // offline comes back too.
        self.set_online(&jid, true);
        self.restart_account(entry, password).await?;
        Ok(Response::Done)
    }

    /// Replace `entry`'s session with a new one built from `entry`: the old
    /// one is closed cleanly (what it had not delivered stays in the
    /// outbox, which the new one sends), then the new one starts.
    pub(super) async fn restart_account(
        &mut self,
        entry: AccountEntry,
        password: wimsy_session::Password,
    ) -> Answer {
        let jid = entry.jid.clone();
        let Some(mut old) = self.accounts.remove(&jid) else {
            return Err(fail(ErrorCode::UnknownAccount, format!("no account {jid}")));
        };
        let mut was_online: Vec<_> = old
            .presence
            .clear()
            .iter()
            .filter_map(|jid| old.contacts.get(jid).cloned())
            .collect();
        was_online.sort_by(|a, b| a.jid.cmp(&b.jid));
        let close = self.session_config.timeouts.close * 2;
        if tokio::time::timeout(close, old.session.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(account = %jid, "session did not close in time");
        }
        self.start_account(entry, password)
            .map_err(|e| fail(ErrorCode::Internal, e))?;
        let status = self.status_of(&jid);
        self.publish(Event::Connection {
            account: jid.clone(),
            status,
        });
        // Contacts the old session saw online are unknown now.
        for item in &was_online {
            self.publish_contact(&jid, item);
        }
        tracing::info!(account = %jid, "session restarted");
        Ok(Response::Done)
    }
}
