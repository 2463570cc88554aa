//! A new password for a configured account: stored through `secrets` (the
//! one place passwords are written), then the account logs in again with
//! it. Its settings, pinned certificate and history stay as they are.

use wimsy_ipc::{ErrorCode, Event, Response};
use wimsy_session::Password;

use super::Core;
use super::requests::{Answer, bare_jid, fail};

impl Core {
    /// Replace `jid`'s password and reconnect it; a dormant account (one
    /// that could not start) starts now.
    pub(super) async fn account_password(&mut self, jid: &str, password: &str) -> Answer {
        let jid = bare_jid(jid)?.to_string();
        if password.is_empty() {
            return Err(fail(ErrorCode::InvalidArgument, "the password is empty"));
        }
        let entry = match (self.dormant.get(&jid), self.accounts.get(&jid)) {
            (Some(dormant), _) => dormant.entry.clone(),
            (None, Some(running)) => running.entry.clone(),
            (None, None) => {
                return Err(fail(
                    ErrorCode::UnknownAccount,
                    format!("no account {jid} is configured"),
                ));
            }
        };
        self.secrets
            .set(&jid, password)
            .await
            .map_err(|e| fail(ErrorCode::Internal, e.to_string()))?;
        tracing::info!(account = %jid, "password replaced");
        // A new password is a wish to log in with it: an account the user
        // had taken offline comes back too.
        self.set_online(&jid, true);
        if self.accounts.contains_key(&jid) {
            return self.restart_account(entry, Password::new(password)).await;
        }
        if let Err(why) = self.start_account(entry, Password::new(password)) {
            if let Some(dormant) = self.dormant.get_mut(&jid) {
                dormant.why.clone_from(&why);
                dormant.password_unreadable = false;
            }
            return Err(fail(
                ErrorCode::InvalidArgument,
                format!(
                    "the password of {jid} is stored, but the account still cannot start: {why}"
                ),
            ));
        }
        self.dormant.remove(&jid);
        let status = self.status_of(&jid);
        self.publish(Event::Connection {
            account: jid,
            status,
        });
        Ok(Response::Done)
    }
}
