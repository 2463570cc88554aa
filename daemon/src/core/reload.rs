//! SIGHUP (`systemctl --user reload wimsyd`, or `kill -HUP`): the accounts
//! and settings files are read again and what changed in them is applied
//! the way the matching requests would, told to subscribers the same way.
//! A file that cannot be read leaves things as they were.

use std::collections::BTreeMap;

use wimsy_ipc::Event;

use super::requests::dormant_status;
use super::{Core, Dormant};
use crate::accounts::AccountEntry;

impl Core {
    /// Re-read the settings and the accounts and apply the difference;
    /// the service manager sees it reloading until that is done.
    pub(crate) async fn reload(&mut self) {
        #[cfg(unix)]
        crate::activation::reloading();
        tracing::info!("SIGHUP: reading the accounts and the settings files again");
        self.reload_settings();
        self.reload_accounts().await;
        tracing::info!("the accounts and the settings files are read again");
        #[cfg(unix)]
        crate::activation::ready("serving; the accounts and the settings were read again");
    }

    fn reload_settings(&mut self) {
        let before = self.settings.all();
        match self.settings.reloaded() {
            Ok(settings) => self.settings = settings,
            Err(why) => {
                tracing::error!(
                    "the settings file {} cannot be used: {why}; the settings stay as they were",
                    self.settings.path().display()
                );
                return;
            }
        }
        for (old, new) in before.into_iter().zip(self.settings.all()) {
            if old.value != new.value {
                tracing::info!(key = %new.key, value = %new.value, "setting changed in the file");
                self.on_notification_setting(&new.key, new.value.as_bool());
                self.on_attention_setting(&new.key);
                self.publish(Event::Setting {
                    key: new.key,
                    value: new.value,
                });
            }
        }
    }

    async fn reload_accounts(&mut self) {
        let wanted: BTreeMap<String, AccountEntry> = match self.account_files.load() {
            Ok(entries) => entries.into_iter().map(|e| (e.jid.clone(), e)).collect(),
            Err(e) => {
                tracing::error!("{e}; the accounts stay as they were");
                return;
            }
        };
        let gone: Vec<String> = self
            .accounts
            .keys()
            .chain(self.dormant.keys())
            .filter(|jid| !wanted.contains_key(*jid))
            .cloned()
            .collect();
        for jid in gone {
            self.dormant.remove(&jid);
            if let Some(runtime) = self.accounts.remove(&jid) {
                let close = self.session_config.timeouts.close * 2;
                if tokio::time::timeout(close, runtime.session.shutdown())
                    .await
                    .is_err()
                {
                    tracing::warn!(account = %jid, "session did not close in time");
                }
            }
            // Only `account remove` forgets the password: a line deleted by
            // hand may come back.
            tracing::info!(account = %jid, "account no longer in the accounts file; stopped (its password and messages are kept)");
            self.publish(Event::AccountRemoved { account: jid });
        }
        for (jid, entry) in wanted {
            if let Some(running) = self.accounts.get(&jid) {
                if running.entry == entry {
                    continue;
                }
                match self.secrets.get(&jid).await {
                    Ok(password) => {
                        tracing::info!(account = %jid, "account changed in the accounts file; restarting its session");
                        if let Err(e) = self.restart_account(entry.clone(), password).await {
                            // The old session is gone: keep the account, with
                            // why it cannot start, so that it stays listed and
                            // in the file the next save writes.
                            tracing::error!(account = %jid, "account not started: {}", e.message);
                            let dormant = Dormant {
                                entry,
                                why: e.message,
                                password_unreadable: false,
                            };
                            let status = dormant_status(&dormant);
                            self.dormant.insert(jid.clone(), dormant);
                            self.publish(Event::Connection {
                                account: jid,
                                status,
                            });
                        }
                    }
                    Err(e) => tracing::error!(
                        account = %jid,
                        "account changed in the accounts file, but its password cannot be read ({e}); it keeps running as it was"
                    ),
                }
                continue;
            }
            // New, or dormant: a reload is a new try.
            let was_dormant = self.dormant.contains_key(&jid);
            self.start_configured(entry).await;
            let status = match self.dormant.get(&jid) {
                Some(dormant) => dormant_status(dormant),
                None => self.status_of(&jid),
            };
            if was_dormant {
                if !self.dormant.contains_key(&jid) {
                    self.publish(Event::Connection {
                        account: jid,
                        status,
                    });
                }
            } else {
                tracing::info!(account = %jid, "account added from the accounts file");
                self.publish(Event::AccountAdded {
                    account: jid,
                    status,
                });
            }
        }
    }

    /// Start a configured account, or keep it dormant with the reason it
    /// could not start (its password unreadable, say).
    pub(crate) async fn start_configured(&mut self, entry: AccountEntry) {
        let jid = entry.jid.clone();
        let (started, password_unreadable) = match self.secrets.get(&jid).await {
            Ok(password) => (self.start_account(entry.clone(), password), false),
            Err(e) => (Err(e.to_string()), true),
        };
        match started {
            Ok(()) => {
                self.dormant.remove(&jid);
            }
            Err(why) => {
                tracing::error!(account = %jid, "account not started: {why}");
                self.dormant.insert(
                    jid,
                    Dormant {
                        entry,
                        why,
                        password_unreadable,
                    },
                );
            }
        }
    }
}
