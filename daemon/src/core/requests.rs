//! Answers to client requests.

use std::time::{SystemTime, UNIX_EPOCH};

use wimsy_ipc::{
    AccountInfo, AccountSnapshot, AccountStatus, ChatSummary, ConnectionError, ConnectionState,
    ConnectionStatus, ErrorBody, ErrorCode, Event, MAX_HISTORY_PAGE, Request, Response,
    ServerFrame, Snapshot,
};
use wimsy_session::BareJid;
use wimsy_store::{Cursor, Delivery, Direction, NewMessage};

use super::{Core, Dormant, convert, sessions};
use crate::accounts::AccountEntry;
use crate::ipc_server::{ClientHandle, ClientId};

pub(super) type Answer = Result<Response, ErrorBody>;

pub(super) fn fail(code: ErrorCode, message: impl Into<String>) -> ErrorBody {
    ErrorBody::new(code, message)
}

pub(super) fn storage(e: impl std::fmt::Display) -> ErrorBody {
    fail(ErrorCode::Storage, format!("the message store failed: {e}"))
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub(super) fn bare_jid(value: &str) -> Result<BareJid, ErrorBody> {
    let jid = BareJid::new(value.trim()).map_err(|e| {
        fail(
            ErrorCode::InvalidJid,
            format!("{value:?} is not a valid JID: {e}"),
        )
    })?;
    if jid.node().is_none() {
        return Err(fail(
            ErrorCode::InvalidJid,
            format!("{value:?} has no user part; a JID looks like user@example.org"),
        ));
    }
    Ok(jid)
}

/// The status of an account that could not start. Its reason says what
/// happened; what to do is the frontend's to say (an `authentication`
/// error asks for the password, which starts the account).
pub(super) fn dormant_status(dormant: &Dormant) -> ConnectionStatus {
    let error = if dormant.password_unreadable {
        ConnectionError::Authentication
    } else {
        ConnectionError::Other
    };
    ConnectionStatus {
        error: Some(error),
        ..ConnectionStatus::new(
            ConnectionState::Error,
            format!("not started: {}", dormant.why),
        )
    }
}

/// Run `work` outside the core and put its answer in the place `client`
/// keeps for it.
fn answer_later(client: &ClientHandle, id: u64, work: super::roster::ServerWork) {
    // A client cut off for lagging needs no answer.
    let Ok(slot) = client.answer_later(id) else {
        return;
    };
    tokio::spawn(async move {
        let frame = match work.await {
            Ok(result) => ServerFrame::Response { id, result },
            Err(error) => ServerFrame::Error {
                id: Some(id),
                error,
            },
        };
        slot.fill(&frame);
    });
}

impl Core {
    /// Answer one request; `true` when the daemon must stop.
    pub(crate) async fn handle_request(
        &mut self,
        client: &ClientHandle,
        id: u64,
        request: Request,
    ) -> bool {
        let quit = matches!(request, Request::Quit);
        let subscribe = matches!(request, Request::Subscribe);
        let answer = match request {
            // Waits for a server: answered from outside the core, in this
            // client's order.
            request @ (Request::RosterAdd { .. }
            | Request::RosterRename { .. }
            | Request::RosterRemove { .. }
            | Request::SubscriptionAnswer { .. }) => match self.roster_change(request) {
                Ok(work) => {
                    answer_later(client, id, work);
                    return false;
                }
                Err(error) => Err(error),
            },
            request => self.answer(client.id, request).await,
        };
        let frame = match answer {
            Ok(result) => ServerFrame::Response { id, result },
            Err(error) => ServerFrame::Error {
                id: Some(id),
                error,
            },
        };
        // The snapshot is queued before the client joins the subscribers,
        // so its events start right after it.
        if client.send(&frame).is_ok() && subscribe && matches!(frame, ServerFrame::Response { .. })
        {
            self.subscribers.insert(client.id, client.clone());
            tracing::debug!(client = client.id, role = ?client.role, "subscribed");
        }
        quit
    }

    async fn answer(&mut self, client: ClientId, request: Request) -> Answer {
        match request {
            Request::Hello { .. } => {
                Err(fail(ErrorCode::InvalidArgument, "hello was already done"))
            }
            Request::Status => {
                let unread = |jid: &str| {
                    self.store
                        .chats(jid)
                        .map(|chats| chats.iter().map(|c| c.unread).sum())
                        .unwrap_or(0)
                };
                let mut accounts: Vec<AccountStatus> = self
                    .accounts
                    .iter()
                    .map(|(jid, a)| AccountStatus {
                        jid: jid.clone(),
                        status: a.status.clone(),
                        unread: unread(jid),
                    })
                    .collect();
                accounts.extend(self.dormant.iter().map(|(jid, dormant)| AccountStatus {
                    jid: jid.clone(),
                    status: dormant_status(dormant),
                    unread: unread(jid),
                }));
                accounts.sort_by(|a, b| a.jid.cmp(&b.jid));
                Ok(Response::Status {
                    accounts,
                    notifier: self.notifier_status(),
                })
            }
            Request::AccountAdd {
                jid,
                password,
                server,
                ca_file,
            } => {
                self.account_add(&jid, password.expose(), server, ca_file)
                    .await
            }
            Request::AccountList => Ok(Response::Accounts {
                accounts: self
                    .configured_entries(None)
                    .into_iter()
                    .map(|entry| AccountInfo {
                        jid: entry.jid,
                        server: entry.server,
                        ca_file: entry.ca_file,
                        pinned_fingerprint: entry.pinned_sha256,
                    })
                    .collect(),
            }),
            Request::AccountRemove { jid } => self.account_remove(&jid).await,
            Request::AccountTrust { jid, fingerprint } => {
                self.account_trust(&jid, &fingerprint).await
            }
            Request::AccountPassword { jid, password } => {
                self.account_password(&jid, password.expose()).await
            }
            Request::Connect { account } => {
                for jid in self.targets(account.as_deref())? {
                    self.set_online(&jid, true);
                }
                Ok(Response::Done)
            }
            Request::Disconnect { account } => {
                for jid in self.targets(account.as_deref())? {
                    self.set_online(&jid, false);
                }
                Ok(Response::Done)
            }
            Request::Roster { account } => {
                let account = self.one_account(account.as_deref())?;
                Ok(Response::Roster {
                    contacts: self.contacts(&account)?,
                    subscription_requests: self.subscription_requests(&account),
                    account,
                })
            }
            // Answered in `handle_request`, without the core waiting.
            Request::RosterAdd { .. }
            | Request::RosterRename { .. }
            | Request::RosterRemove { .. }
            | Request::SubscriptionAnswer { .. } => Err(fail(
                ErrorCode::Internal,
                "wimsyd routed a request to the wrong handler",
            )),
            Request::SetPresence {
                account,
                show,
                status,
            } => self.set_presence(account.as_deref(), show, status),
            Request::Send { account, to, body } => self.send(account.as_deref(), &to, &body),
            Request::History {
                account,
                peer,
                limit,
                before,
            } => {
                let account = self.one_account(account.as_deref())?;
                let peer = bare_jid(&peer)?.to_string();
                let before = before
                    .map(|c| {
                        c.parse::<Cursor>().map_err(|e| {
                            fail(ErrorCode::InvalidArgument, format!("invalid cursor: {e}"))
                        })
                    })
                    .transpose()?;
                let limit = limit.unwrap_or(50).clamp(1, MAX_HISTORY_PAGE);
                let page = self
                    .store
                    .history(&account, &peer, before, limit)
                    .map_err(storage)?;
                Ok(Response::History {
                    account,
                    peer,
                    messages: page.messages.iter().map(convert::message).collect(),
                    next_before: page.next_before.map(|c| c.to_string()),
                })
            }
            Request::MarkRead { account, peer } => {
                let account = self.one_account(account.as_deref())?;
                let peer = bare_jid(&peer)?.to_string();
                let was_unread = self.store.mark_read(&account, &peer).map_err(storage)?;
                self.publish_unread(&account, &peer);
                self.withdraw_notification(&account, &peer);
                if was_unread {
                    self.tell_read(&account, &peer);
                }
                Ok(Response::Done)
            }
            Request::SetVisibility { visible } => self.set_view(client, visible, false, None),
            Request::SettingsGet { key } => self.settings_get(key.as_deref()),
            Request::SettingsSet { key, value } => self.settings_set(&key, &value),
            Request::SetView {
                visible,
                focused,
                chat,
            } => self.set_view(client, visible, focused, chat),
            Request::Retry {
                account,
                message_id,
            } => self.retry(account.as_deref(), message_id),
            Request::Subscribe => Ok(Response::Subscribed {
                snapshot: self.snapshot()?,
            }),
            Request::Mute {
                account,
                peer,
                until_ms,
            } => self.mute(account.as_deref(), &peer, until_ms),
            Request::Unmute { account, peer } => self.unmute(account.as_deref(), &peer),
            Request::ShowWindow => self.show_window(),
            Request::Quit => Ok(Response::Done),
            Request::Fail => Err(fail(
                ErrorCode::TestFailure,
                "this request always fails, so that frontends can test their error paths",
            )),
        }
    }

    /// The accounts a request names: the given one, or all.
    fn targets(&self, account: Option<&str>) -> Result<Vec<String>, ErrorBody> {
        match account {
            Some(jid) => Ok(vec![self.known(jid)?]),
            None => Ok(self.accounts.keys().cloned().collect()),
        }
    }

    pub(super) fn known(&self, jid: &str) -> Result<String, ErrorBody> {
        let jid = bare_jid(jid)?.to_string();
        if self.accounts.contains_key(&jid) {
            Ok(jid)
        } else {
            Err(fail(
                ErrorCode::UnknownAccount,
                format!("no account {jid} is configured"),
            ))
        }
    }

    /// The account a request means: the given one, or the only one.
    pub(super) fn one_account(&self, account: Option<&str>) -> Result<String, ErrorBody> {
        if let Some(jid) = account {
            return self.known(jid);
        }
        let mut names = self.accounts.keys();
        match (names.next(), names.next()) {
            (Some(only), None) => Ok(only.clone()),
            (None, _) => Err(fail(
                ErrorCode::UnknownAccount,
                "no account is configured; add one first",
            )),
            (Some(_), Some(_)) => Err(fail(
                ErrorCode::AccountRequired,
                "several accounts are configured; say which one",
            )),
        }
    }

    /// From memory for a running account; a dormant one has no session,
    /// so no presence and no book: its stored roster.
    fn contacts(&self, account: &str) -> Result<Vec<wimsy_ipc::Contact>, ErrorBody> {
        let Some(runtime) = self.accounts.get(account) else {
            let (_, roster) = self.store.roster(account).map_err(storage)?;
            return Ok(roster
                .iter()
                .map(|item| convert::contact(item, wimsy_ipc::PresenceView::default()))
                .collect());
        };
        Ok(runtime
            .contacts
            .iter()
            .map(|item| convert::contact(item, runtime.presence.view(&item.jid)))
            .collect())
    }

    /// Every account `status` lists, dormant ones included, in the same
    /// (JID) order.
    pub(super) fn snapshot(&self) -> Result<Snapshot, ErrorBody> {
        let statuses = self
            .accounts
            .iter()
            .map(|(jid, runtime)| (jid, runtime.status.clone()))
            .chain(
                self.dormant
                    .iter()
                    .map(|(jid, dormant)| (jid, dormant_status(dormant))),
            );
        // One query each for every account's chats and mutes: a snapshot's
        // cost should not grow by a round of queries per account.
        let mut chats = self.store.all_chats().map_err(storage)?;
        let mut mutes = self.all_mutes()?;
        let mut accounts = Vec::new();
        for (jid, status) in statuses {
            let chats = chats.remove(jid.as_str()).unwrap_or_default();
            accounts.push(AccountSnapshot {
                jid: jid.clone(),
                status,
                contacts: self.contacts(jid)?,
                chats: chats
                    .iter()
                    .map(|c| ChatSummary {
                        peer: c.peer.clone(),
                        last: convert::message(&c.last),
                        unread: c.unread,
                    })
                    .collect(),
                subscription_requests: self.subscription_requests(jid),
                presence: self
                    .accounts
                    .get(jid)
                    .map(|a| a.own_presence.clone())
                    .unwrap_or_default(),
                mutes: mutes.remove(jid.as_str()).unwrap_or_default(),
            });
        }
        accounts.sort_by(|a, b| a.jid.cmp(&b.jid));
        Ok(Snapshot {
            seq: self.seq,
            accounts,
            settings: self.settings.all(),
            notifier: self.notifier_status(),
        })
    }

    async fn account_add(
        &mut self,
        jid: &str,
        password: &str,
        server: Option<String>,
        ca_file: Option<String>,
    ) -> Answer {
        let jid = bare_jid(jid)?.to_string();
        if self.accounts.contains_key(&jid) {
            return Err(fail(
                ErrorCode::AccountExists,
                format!("{jid} is already configured; remove it first to change it"),
            ));
        }
        if password.is_empty() {
            return Err(fail(ErrorCode::InvalidArgument, "the password is empty"));
        }
        if let Some(server) = &server {
            wimsy_session::ServerOverride::parse(server)
                .map_err(|e| fail(ErrorCode::InvalidArgument, e))?;
        }
        if let Some(path) = &ca_file
            && !std::path::Path::new(path).is_file()
        {
            return Err(fail(
                ErrorCode::InvalidArgument,
                format!("CA file {path} does not exist or is not a file"),
            ));
        }
        let entry = AccountEntry {
            jid: jid.clone(),
            server,
            ca_file,
            pinned_sha256: None,
        };
        let entries = self.configured_entries(Some(&entry));
        let internal = |e: &dyn std::fmt::Display| fail(ErrorCode::Internal, e.to_string());
        self.secrets
            .set(&jid, password)
            .await
            .map_err(|e| internal(&e))?;
        self.account_files
            .save(&entries)
            .map_err(|e| internal(&e))?;
        self.set_online(&jid, true);
        self.start_account(entry, wimsy_session::Password::new(password))
            .map_err(|e| fail(ErrorCode::InvalidArgument, e))?;
        self.dormant.remove(&jid);
        let status = self.status_of(&jid);
        tracing::info!(account = %jid, "account added");
        self.publish(Event::AccountAdded {
            account: jid,
            status,
        });
        Ok(Response::Done)
    }

    async fn account_remove(&mut self, jid: &str) -> Answer {
        let bare = bare_jid(jid)?.to_string();
        if self.dormant.remove(&bare).is_some() {
            let entries = self.configured_entries(None);
            self.account_files
                .save(&entries)
                .map_err(|e| fail(ErrorCode::Internal, e.to_string()))?;
            if let Err(e) = self.secrets.delete(&bare).await {
                tracing::warn!(account = %bare, "could not forget the password: {e}");
            }
            tracing::info!(account = %bare, "account removed");
            self.publish(Event::AccountRemoved { account: bare });
            return Ok(Response::Done);
        }
        let jid = self.known(jid)?;
        let Some(runtime) = self.accounts.remove(&jid) else {
            return Err(fail(ErrorCode::UnknownAccount, format!("no account {jid}")));
        };
        let entries = self.configured_entries(None);
        self.account_files
            .save(&entries)
            .map_err(|e| fail(ErrorCode::Internal, e.to_string()))?;
        // The account goes even when its password cannot (a locked keyring,
        // say); the answer then says what is left behind.
        let forgotten = self.secrets.delete(&jid).await;
        let close = self.session_config.timeouts.close * 2;
        if tokio::time::timeout(close, runtime.session.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(account = %jid, "session did not close in time");
        }
        tracing::info!(account = %jid, "account removed");
        self.forget_notifications(&jid);
        self.publish(Event::AccountRemoved {
            account: jid.clone(),
        });
        forgotten.map(|()| Response::Done).map_err(|e| {
            tracing::warn!(account = %jid, "the password was not deleted: {e}");
            fail(
                ErrorCode::Internal,
                format!("{jid} is removed, but its password could not be deleted: {e}"),
            )
        })
    }

    fn send(&mut self, account: Option<&str>, to: &str, body: &str) -> Answer {
        let account = self.one_account(account)?;
        let peer = bare_jid(to)?.to_string();
        if body.is_empty() {
            return Err(fail(ErrorCode::InvalidArgument, "the message is empty"));
        }
        let origin_id = uuid::Uuid::new_v4().to_string();
        let stored = self
            .store
            .insert_message(&NewMessage {
                account: &account,
                peer: &peer,
                direction: Direction::Out,
                body,
                timestamp_ms: now_ms(),
                origin_id: Some(&origin_id),
                stanza_id: None,
                delivery: Delivery::Queued,
                marker_id: None,
                archived: false,
            })
            .map_err(storage)?
            .into_message();
        self.publish(Event::Message {
            account: account.clone(),
            message: convert::message(&stored),
        });
        if let Some(runtime) = self.accounts.get(&account) {
            sessions::resend(&runtime.session, &stored, sessions::Handover::New);
        }
        Ok(Response::Sent {
            account,
            message: convert::message(&stored),
        })
    }
}
