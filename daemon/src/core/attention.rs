//! When the user may be interrupted: muted chats, do not disturb, quiet
//! hours, the quiet spell after writing from another device, and the
//! clicks on notifications.
//!
//! - A muted chat never notifies; its mute ends by itself at its time
//!   (the core's timer), and every frontend is told.
//! - Do not disturb and quiet hours *hold* notifications: the chats that
//!   would have notified are noted, and when the hold ends (do not disturb
//!   turned off, the quiet hours over) each one still unread and not in
//!   view shows one notification, without sound.
//! - A message the user wrote from another device (a sent carbon) says
//!   they are in that chat there: its notification goes, and the chat
//!   stays quiet for `reply_grace`.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::NaiveTime;
use tokio::time::Instant;
use wimsy_ipc::{ErrorBody, ErrorCode, Event, Mute, Response};

use super::Core;
use super::requests::{Answer, bare_jid, fail, storage};
use crate::notify::quiet::QuietHours;
use crate::settings::{NOTIFICATIONS_DO_NOT_DISTURB, NOTIFICATIONS_QUIET_HOURS};

/// Where the core reads the time: the system's clock, or a fixed one in
/// tests.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Clock {
    /// (ms since the epoch, local time of day) to report instead.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fixed: Option<(i64, NaiveTime)>,
}

impl Clock {
    pub(crate) fn now_ms(self) -> i64 {
        if let Some((ms, _)) = self.fixed {
            return ms;
        }
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }

    /// The local time of day (TZ is honoured).
    pub(crate) fn local_time(self) -> NaiveTime {
        self.fixed
            .map_or_else(|| chrono::Local::now().time(), |(_, time)| time)
    }
}

/// What interrupts are held and until when: the core's part of this
/// module's state.
#[derive(Default)]
pub(crate) struct Attention {
    pub(crate) clock: Clock,
    /// How long a chat stays quiet after the user wrote in it from
    /// another device ([`crate::NotifyOptions`]).
    pub(crate) reply_grace: Duration,
    /// Chats whose notification is held by do not disturb or quiet hours,
    /// with their latest message's text. No `Debug`: it holds text.
    held: BTreeMap<(String, String), String>,
    /// When the user last wrote in a chat from another device.
    replied_elsewhere: BTreeMap<(String, String), Instant>,
    /// When the core must look again: a mute ends, or quiet hours end
    /// with notifications held.
    pub(crate) wake_at: Option<Instant>,
}

impl Attention {
    pub(crate) fn new() -> Self {
        Self {
            reply_grace: crate::NotifyOptions::default().reply_grace,
            ..Self::default()
        }
    }
}

/// Why a chat's notification is not shown now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Hush {
    /// Not at all: muted, or the user is writing in it elsewhere.
    Drop,
    /// Later: do not disturb or quiet hours.
    Hold,
}

impl Core {
    pub(super) fn mute(
        &mut self,
        account: Option<&str>,
        peer: &str,
        until_ms: Option<i64>,
    ) -> Answer {
        let account = self.one_account(account)?;
        let peer = bare_jid(peer)?.to_string();
        if let Some(until) = until_ms
            && until <= self.attention.clock.now_ms()
        {
            return Err(fail(
                ErrorCode::InvalidArgument,
                "the mute would end in the past; give a time still to come, or none to mute \
                 until you unmute",
            ));
        }
        self.store
            .set_mute(&account, &peer, until_ms)
            .map_err(storage)?;
        self.forget_held(&account, &peer);
        self.withdraw_notification(&account, &peer);
        self.publish(Event::Muted {
            account,
            mute: Mute { peer, until_ms },
        });
        self.rearm();
        Ok(Response::Done)
    }

    pub(super) fn unmute(&mut self, account: Option<&str>, peer: &str) -> Answer {
        let account = self.one_account(account)?;
        let peer = bare_jid(peer)?.to_string();
        if self.store.remove_mute(&account, &peer).map_err(storage)? {
            self.publish(Event::Unmuted { account, peer });
            self.rearm();
        }
        Ok(Response::Done)
    }

    /// Every account's muted chats, by account, for a snapshot.
    pub(super) fn all_mutes(&self) -> Result<BTreeMap<String, Vec<Mute>>, ErrorBody> {
        Ok(self
            .store
            .all_mutes()
            .map_err(storage)?
            .into_iter()
            .map(|(account, rows)| {
                let mutes = rows
                    .into_iter()
                    .map(|row| Mute {
                        peer: row.peer,
                        until_ms: row.until_ms,
                    })
                    .collect();
                (account, mutes)
            })
            .collect())
    }

    /// Whether, and how, the chat's notification is kept back now.
    pub(super) fn hush(&self, account: &str, peer: &str) -> Option<Hush> {
        let now = self.attention.clock.now_ms();
        let muted = match self.store.mutes(account) {
            Ok(mutes) => mutes
                .iter()
                .any(|m| m.peer == peer && m.until_ms.is_none_or(|until| until > now)),
            Err(e) => {
                tracing::error!(%account, "could not read the muted chats: {e}");
                false
            }
        };
        let replying = self
            .attention
            .replied_elsewhere
            .get(&(account.to_owned(), peer.to_owned()))
            .is_some_and(|at| at.elapsed() < self.attention.reply_grace);
        if muted || replying {
            Some(Hush::Drop)
        } else if self.holding() {
            Some(Hush::Hold)
        } else {
            None
        }
    }

    /// Do not disturb is on, or it is quiet hours.
    fn holding(&self) -> bool {
        self.settings.bool(NOTIFICATIONS_DO_NOT_DISTURB) || self.quiet_hours_now().is_some()
    }

    /// The quiet hours, if it is quiet hours now.
    fn quiet_hours_now(&self) -> Option<QuietHours> {
        let quiet = QuietHours::parse(&self.settings.text(NOTIFICATIONS_QUIET_HOURS))
            .ok()
            .flatten()?;
        quiet
            .contains(self.attention.clock.local_time())
            .then_some(quiet)
    }

    /// Note that the chat would have notified with `latest`.
    pub(super) fn hold(&mut self, account: &str, peer: &str, latest: &str) {
        self.attention
            .held
            .insert((account.to_owned(), peer.to_owned()), latest.to_owned());
        self.rearm();
    }

    /// The chat was read or muted: nothing of it is held any more.
    pub(super) fn forget_held(&mut self, account: &str, peer: &str) {
        self.attention
            .held
            .remove(&(account.to_owned(), peer.to_owned()));
    }

    /// The account was removed.
    pub(super) fn forget_attention(&mut self, account: &str) {
        self.attention.held.retain(|(a, _), _| a != account);
        self.attention
            .replied_elsewhere
            .retain(|(a, _), _| a != account);
    }

    /// The user wrote in the chat from another device.
    pub(super) fn replied_elsewhere(&mut self, account: &str, peer: &str) {
        self.attention
            .replied_elsewhere
            .insert((account.to_owned(), peer.to_owned()), Instant::now());
        self.attention
            .replied_elsewhere
            .retain(|_, at| at.elapsed() < self.attention.reply_grace);
        self.forget_held(account, peer);
        self.withdraw_notification(account, peer);
    }

    /// A setting changed: turning off do not disturb or changing the
    /// quiet hours may end a hold.
    pub(super) fn on_attention_setting(&mut self, key: &str) {
        if key == NOTIFICATIONS_DO_NOT_DISTURB || key == NOTIFICATIONS_QUIET_HOURS {
            self.release_held();
            self.rearm();
        }
    }

    /// Show what was held, if nothing holds it any more.
    fn release_held(&mut self) {
        if self.holding() || self.attention.held.is_empty() {
            return;
        }
        let held = std::mem::take(&mut self.attention.held);
        tracing::debug!(chats = held.len(), "showing the notifications held");
        for ((account, peer), latest) in held {
            self.notify_chat_now(&account, &peer, &latest, true);
        }
    }

    /// The timer fired (or the machine woke): end the mutes whose time
    /// came, show what quiet hours held, and set the next time.
    pub(crate) fn on_wake(&mut self) {
        let now = self.attention.clock.now_ms();
        match self.store.end_mutes(now) {
            Ok(ended) => {
                for (account, peer) in ended {
                    tracing::debug!(%account, "a chat's mute ended");
                    self.publish(Event::Unmuted { account, peer });
                }
            }
            Err(e) => tracing::error!("could not end the mutes whose time came: {e}"),
        }
        self.release_held();
        self.rearm();
    }

    /// Set when the core must look again.
    pub(super) fn rearm(&mut self) {
        let mut next: Option<Duration> = None;
        let mut sooner = |wait: Duration| {
            next = Some(next.map_or(wait, |n| n.min(wait)));
        };
        match self.store.next_mute_end() {
            Ok(Some(until)) => {
                let wait = until.saturating_sub(self.attention.clock.now_ms());
                sooner(Duration::from_millis(u64::try_from(wait).unwrap_or(0)));
            }
            Ok(None) => {}
            Err(e) => tracing::error!("could not read when the next mute ends: {e}"),
        }
        if !self.attention.held.is_empty()
            && let Some(quiet) = self.quiet_hours_now()
        {
            sooner(quiet.until_end(self.attention.clock.local_time()));
        }
        self.attention.wake_at = next.map(|wait| Instant::now() + wait);
    }

    /// What the notification task said.
    pub(crate) fn on_notifier_report(&mut self, report: crate::notify::Report) {
        match report {
            crate::notify::Report::Clicked(chat) => self.open_chat(&chat.account, &chat.peer),
            crate::notify::Report::Status(status) => {
                if self.notifier_status.as_ref() != Some(&status) {
                    self.notifier_status = Some(status.clone());
                    self.publish(Event::Notifier { status });
                }
            }
        }
    }

    /// Whether notifications can be shown, for `status` and snapshots.
    pub(super) fn notifier_status(&self) -> Option<wimsy_ipc::NotifierStatus> {
        Some(
            self.notifier_status
                .clone()
                .unwrap_or(wimsy_ipc::NotifierStatus {
                    state: wimsy_ipc::NotifierState::Unchecked,
                    detail: "Wimsy has not yet checked whether this desktop shows notifications."
                        .to_owned(),
                }),
        )
    }

    /// The user clicked the chat's notification: an attached window shows
    /// the chat; with none, the window is started on it.
    pub(crate) fn open_chat(&mut self, account: &str, peer: &str) {
        tracing::info!(%account, "a notification was clicked");
        self.publish(Event::OpenChat {
            account: account.to_owned(),
            peer: peer.to_owned(),
        });
        self.start_window_unless_attached(Some((account, peer)));
    }

    /// `show_window` (the tray was clicked): an attached window comes
    /// forward; with none, one is started.
    pub(super) fn show_window(&mut self) -> Answer {
        self.publish(Event::ShowWindow);
        self.start_window_unless_attached(None);
        Ok(Response::Done)
    }

    fn start_window_unless_attached(&self, chat: Option<(&str, &str)>) {
        let gui_attached = self
            .subscribers
            .values()
            .any(|client| client.role == wimsy_ipc::Role::Gui);
        if !gui_attached && let Some(launcher) = &self.gui_launcher {
            launcher.open(chat);
        }
    }
}
