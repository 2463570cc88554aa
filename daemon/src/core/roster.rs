//! The roster, subscription requests and the user's own presence: the
//! requests that change them, and what sessions report about them.
//!
//! Pending subscription requests live only here, in memory: servers
//! deliver every request still pending again at each login (RFC 6121
//! §3.1.3), so a restarted daemon learns them anew. The own presence is
//! kept in the store's settings and handed to the session before it
//! connects, so every login (and every restart) sends it.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use wimsy_ipc::{ErrorBody, ErrorCode, Event, OwnPresence, Request, Response, Show};
use wimsy_session::{
    Availability, BareJid, RequestError, RosterEdit, SessionHandle, SubscriptionKind,
};

use super::Core;
use super::requests::{Answer, bare_jid, fail};

/// The longest a roster change waits for the server. Its client's later
/// frames wait behind the answer (answers keep their order); nobody
/// else waits.
const SERVER_ANSWER_LIMIT: Duration = Duration::from_secs(15);

/// The part of a roster change that waits for the server, with its answer.
pub(super) type ServerWork = Pin<Box<dyn Future<Output = Answer> + Send>>;

/// A subscription state in which the contact sees our presence.
fn they_see_us(subscription: &str) -> bool {
    matches!(subscription, "from" | "both")
}

/// A subscription state in which we see the contact's presence.
fn we_see_them(subscription: &str) -> bool {
    matches!(subscription, "to" | "both")
}

fn show_key(account: &str) -> String {
    format!("account.{account}.presence.show")
}

fn status_key(account: &str) -> String {
    format!("account.{account}.presence.status")
}

/// The wire's presence as the session sends it.
pub(super) fn to_session(presence: &OwnPresence) -> wimsy_session::OwnPresence {
    wimsy_session::OwnPresence {
        availability: match presence.show {
            Show::Away => Availability::Away,
            Show::Dnd => Availability::DoNotDisturb,
            Show::Available | Show::Unknown => Availability::Available,
        },
        status: presence.status.clone(),
    }
}

impl Core {
    /// The presence the user chose for `account` (available when never
    /// chosen or unreadable).
    pub(super) fn stored_presence(&self, account: &str) -> OwnPresence {
        let read = |key: String| match self.store.setting(&key) {
            Ok(value) => value,
            Err(e) => {
                tracing::warn!(%account, "could not read the chosen presence: {e}");
                None
            }
        };
        let show = match read(show_key(account)).as_deref() {
            Some("away") => Show::Away,
            Some("dnd") => Show::Dnd,
            _ => Show::Available,
        };
        let status = read(status_key(account)).filter(|s| !s.is_empty());
        OwnPresence { show, status }
    }

    /// Start one of the roster changes (`roster_add`, `roster_rename`,
    /// `roster_remove`, `subscription_answer`): what can be checked here
    /// is, and the rest, which waits for the server, is returned to run
    /// outside the core, so no other client waits for this server.
    pub(super) fn roster_change(&mut self, request: Request) -> Result<ServerWork, ErrorBody> {
        match request {
            Request::RosterAdd { account, jid, name } => {
                self.roster_add(account.as_deref(), &jid, name)
            }
            Request::RosterRename { account, jid, name } => {
                self.roster_rename(account.as_deref(), &jid, &name)
            }
            Request::RosterRemove { account, jid } => self.roster_remove(account.as_deref(), &jid),
            Request::SubscriptionAnswer {
                account,
                jid,
                accept,
            } => self.subscription_answer(account.as_deref(), &jid, accept),
            _ => Err(fail(
                ErrorCode::Internal,
                "wimsyd routed a request to the wrong handler",
            )),
        }
    }

    /// The account and contact a request names, the contact's stored
    /// roster entry if any, and the account's session, which must be
    /// online.
    fn roster_target(
        &self,
        account: Option<&str>,
        jid: &str,
    ) -> Result<
        (
            String,
            BareJid,
            Option<wimsy_store::RosterItem>,
            SessionHandle,
        ),
        ErrorBody,
    > {
        let account = self.one_account(account)?;
        let contact = bare_jid(jid)?;
        if contact.as_str() == account {
            return Err(fail(
                ErrorCode::InvalidArgument,
                format!("{contact} is the account itself, not a contact"),
            ));
        }
        let item = self
            .store
            .roster(&account)
            .map_err(|e| fail(ErrorCode::Storage, format!("the store failed: {e}")))?
            .1
            .into_iter()
            .find(|i| i.jid == contact.as_str());
        let Some(runtime) = self.accounts.get(&account) else {
            return Err(fail(
                ErrorCode::UnknownAccount,
                format!("no account {account} is configured"),
            ));
        };
        if runtime.status.state != wimsy_ipc::ConnectionState::Connected {
            return Err(fail(
                ErrorCode::NotConnected,
                format!("{account} is not connected; try again once it is"),
            ));
        }
        Ok((account, contact, item, runtime.session.clone()))
    }

    fn roster_add(
        &mut self,
        account: Option<&str>,
        jid: &str,
        name: Option<String>,
    ) -> Result<ServerWork, ErrorBody> {
        let (account, contact, item, session) = self.roster_target(account, jid)?;
        let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        // Adding a contact that is there keeps its groups (and its name,
        // unless a new one is given).
        let (groups, name) = match &item {
            Some(item) => (item.groups.clone(), name.or_else(|| item.name.clone())),
            None => (Vec::new(), name),
        };
        let subscribe = !item.is_some_and(|i| we_see_them(&i.subscription));
        let edit = RosterEdit {
            jid: contact.clone(),
            name,
            groups,
        };
        Ok(Box::pin(async move {
            server(&account, session.set_roster_item(edit)).await?;
            if subscribe {
                let asked = session.send_subscription(contact.clone(), SubscriptionKind::Subscribe);
                server(&account, asked).await?;
            }
            tracing::info!(%account, %contact, "contact added");
            Ok(Response::Done)
        }))
    }

    fn roster_rename(
        &mut self,
        account: Option<&str>,
        jid: &str,
        name: &str,
    ) -> Result<ServerWork, ErrorBody> {
        let (account, contact, item, session) = self.roster_target(account, jid)?;
        let Some(item) = item else {
            return Err(not_a_contact(&account, &contact));
        };
        let edit = RosterEdit {
            jid: contact,
            name: Some(name.trim().to_owned()).filter(|n| !n.is_empty()),
            groups: item.groups,
        };
        Ok(Box::pin(async move {
            server(&account, session.set_roster_item(edit)).await?;
            Ok(Response::Done)
        }))
    }

    fn roster_remove(&mut self, account: Option<&str>, jid: &str) -> Result<ServerWork, ErrorBody> {
        let (account, contact, item, session) = self.roster_target(account, jid)?;
        if item.is_none() {
            return Err(not_a_contact(&account, &contact));
        }
        Ok(Box::pin(async move {
            server(&account, session.remove_roster_item(contact.clone())).await?;
            tracing::info!(%account, %contact, "contact removed");
            Ok(Response::Done)
        }))
    }

    fn subscription_answer(
        &mut self,
        account: Option<&str>,
        jid: &str,
        accept: bool,
    ) -> Result<ServerWork, ErrorBody> {
        let (account, contact, item, session) = self.roster_target(account, jid)?;
        let kind = if accept {
            SubscriptionKind::Subscribed
        } else {
            SubscriptionKind::Unsubscribed
        };
        // Accepting means "we know each other": ask to see them too, unless
        // we do already.
        let subscribe = accept && !item.is_some_and(|i| we_see_them(&i.subscription));
        // Answered as far as this daemon goes. Should the answer not reach
        // the server, the request is still pending there, and the server
        // delivers it again at the next login.
        self.request_gone(&account, contact.as_str());
        Ok(Box::pin(async move {
            server(&account, session.send_subscription(contact.clone(), kind)).await?;
            if subscribe {
                let asked = session.send_subscription(contact.clone(), SubscriptionKind::Subscribe);
                server(&account, asked).await?;
            }
            tracing::info!(%account, %contact, accept, "subscription request answered");
            Ok(Response::Done)
        }))
    }

    /// Keep the user's presence for `account` (or every account), hand it
    /// to the sessions, and announce it where it changed.
    pub(super) fn set_presence(
        &mut self,
        account: Option<&str>,
        show: Show,
        status: Option<String>,
    ) -> Answer {
        if show == Show::Unknown {
            return Err(fail(
                ErrorCode::InvalidArgument,
                "show must be available, away or dnd",
            ));
        }
        let targets: Vec<String> = match account {
            Some(jid) => vec![self.known(jid)?],
            None if self.accounts.is_empty() => {
                return Err(fail(
                    ErrorCode::UnknownAccount,
                    "no account is configured; add one first",
                ));
            }
            None => self.accounts.keys().cloned().collect(),
        };
        let presence = OwnPresence {
            show,
            status: status
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()),
        };
        for account in targets {
            let stored = self
                .store
                .set_setting(&show_key(&account), presence.show.as_str())
                .and_then(|()| {
                    self.store.set_setting(
                        &status_key(&account),
                        presence.status.as_deref().unwrap_or_default(),
                    )
                });
            if let Err(e) = stored {
                return Err(fail(
                    ErrorCode::Storage,
                    format!("could not keep the presence of {account}: {e}"),
                ));
            }
            let Some(runtime) = self.accounts.get_mut(&account) else {
                continue;
            };
            if runtime.session.set_presence(to_session(&presence)).is_err() {
                tracing::warn!(%account, "the session has ended");
            }
            if runtime.own_presence != presence {
                runtime.own_presence = presence.clone();
                self.publish(Event::OwnPresence {
                    account,
                    presence: presence.clone(),
                });
            }
        }
        Ok(Response::Done)
    }

    /// A subscription stanza from `from` reached `account`.
    pub(super) fn on_subscription(
        &mut self,
        account: &str,
        from: &BareJid,
        kind: SubscriptionKind,
    ) {
        if from.as_str() == account {
            return;
        }
        match kind {
            SubscriptionKind::Subscribe => self.on_subscribe(account, from),
            // Withdrawn (or they stopped seeing us, which the roster push
            // also says).
            SubscriptionKind::Unsubscribe => self.request_gone(account, from.as_str()),
            SubscriptionKind::Subscribed | SubscriptionKind::Unsubscribed => {
                tracing::debug!(%account, contact = %from, ?kind, "our request was answered");
            }
        }
    }

    fn on_subscribe(&mut self, account: &str, from: &BareJid) {
        let item = self
            .store
            .roster(account)
            .map(|(_, roster)| roster.into_iter().find(|i| i.jid == from.as_str()))
            .unwrap_or_else(|e| {
                tracing::warn!(%account, "could not read the roster: {e}");
                None
            });
        let Some(runtime) = self.accounts.get_mut(account) else {
            return;
        };
        match item.map(|i| i.subscription) {
            Some(s) if they_see_us(&s) => {
                tracing::debug!(%account, contact = %from, "already approved; ignoring the request");
            }
            // We see them already (we asked, they approved): their asking
            // back is the other half of what the user wanted when adding
            // them, so it is approved without asking again.
            Some(s) if we_see_them(&s) => {
                tracing::info!(%account, contact = %from, "approving the request of a contact we see");
                let session = runtime.session.clone();
                let (account, contact) = (account.to_owned(), from.clone());
                tokio::spawn(async move {
                    if let Err(e) = session
                        .send_subscription(contact.clone(), SubscriptionKind::Subscribed)
                        .await
                    {
                        tracing::warn!(%account, %contact, "could not approve the request: {e}");
                    }
                });
            }
            _ => {
                if runtime.subscription_requests.insert(from.to_string()) {
                    tracing::info!(%account, contact = %from, "subscription request");
                    self.publish(Event::SubscriptionRequest {
                        account: account.to_owned(),
                        jid: from.to_string(),
                    });
                }
            }
        }
    }

    /// A roster entry changed: a request it settles is gone.
    pub(super) fn on_roster_entry(&mut self, account: &str, item: &wimsy_store::RosterItem) {
        if they_see_us(&item.subscription) {
            self.request_gone(account, &item.jid);
        }
    }

    /// Forget `jid`'s request, telling subscribers if there was one.
    fn request_gone(&mut self, account: &str, jid: &str) {
        let removed = self
            .accounts
            .get_mut(account)
            .is_some_and(|runtime| runtime.subscription_requests.remove(jid));
        if removed {
            self.publish(Event::SubscriptionRequestGone {
                account: account.to_owned(),
                jid: jid.to_owned(),
            });
        }
    }

    /// The pending requests of `account`, in JID order.
    pub(super) fn subscription_requests(&self, account: &str) -> Vec<String> {
        self.accounts
            .get(account)
            .map(|r| r.subscription_requests.iter().cloned().collect())
            .unwrap_or_default()
    }
}

fn not_a_contact(account: &str, contact: &BareJid) -> ErrorBody {
    fail(
        ErrorCode::InvalidArgument,
        format!("{contact} is not among the contacts of {account}"),
    )
}

/// Wait (a bounded time) for the server to take a change, and word the
/// outcome for the user.
async fn server(
    account: &str,
    work: impl Future<Output = Result<(), RequestError>>,
) -> Result<(), ErrorBody> {
    let outcome = tokio::time::timeout(SERVER_ANSWER_LIMIT, work)
        .await
        .unwrap_or(Err(RequestError::NoAnswer));
    outcome.map_err(|e| {
        let code = match e {
            RequestError::NotConnected
            | RequestError::ConnectionLost
            | RequestError::SessionGone => ErrorCode::NotConnected,
            RequestError::Refused(_) | RequestError::NoAnswer => ErrorCode::ServerError,
        };
        fail(code, format!("{account}: {e}"))
    })
}
