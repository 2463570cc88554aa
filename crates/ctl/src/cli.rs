//! The command line, as clap sees it, and what each command asks of wimsyd.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use wimsy_ipc::{MAX_HISTORY_PAGE, Request, SettingValue, Show};

use crate::args::{bare_jid, fingerprint, show, wait_seconds};

/// `wimsyctl [--socket PATH] [--json] COMMAND`
#[derive(Debug, Parser)]
#[command(
    name = "wimsyctl",
    version,
    about = "Control wimsyd, the Wimsy XMPP daemon",
    after_help = "Exit codes: 0 done; 1 wimsyd refused or the request failed \
                  (autostart: could not be set up or undone); 2 usage error; \
                  3 no wimsyd reachable at the socket."
)]
pub struct Cli {
    /// The daemon's socket [default: $WIMSY_SOCKET, else
    /// $XDG_RUNTIME_DIR/wimsy/wimsyd.sock]
    #[arg(long, global = true, value_name = "PATH")]
    pub socket: Option<PathBuf>,

    /// Print JSON for scripts: one document per command (`follow`: one
    /// object per line)
    #[arg(long, global = true)]
    pub json: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Every account with its connection state and unread count
    Status,
    /// Add, list or remove accounts
    #[command(subcommand)]
    Account(AccountCommand),
    /// Go online (one account, or all)
    Connect {
        /// Bare JID of the account; all accounts when left out
        #[arg(value_parser = bare_jid)]
        jid: Option<String>,
    },
    /// Go offline until told to connect again (one account, or all)
    Disconnect {
        /// Bare JID of the account; all accounts when left out
        #[arg(value_parser = bare_jid)]
        jid: Option<String>,
    },
    /// Contacts with their name, subscription and presence, and who asks
    /// to see yours; or, with a subcommand, change them
    Roster {
        /// What to change; without one, the contacts are listed
        #[command(subcommand)]
        action: Option<RosterCommand>,
        /// The account (may be left out when there is only one)
        #[arg(long, global = true, value_name = "JID", value_parser = bare_jid)]
        account: Option<String>,
    },
    /// Set your own presence, as your contacts see it (kept across
    /// reconnects and restarts)
    Presence {
        /// available, away or dnd (do not disturb)
        #[arg(value_parser = show, value_name = "available|away|dnd")]
        show: Show,
        /// A status message; words are joined with single spaces (none
        /// clears it)
        #[arg(value_name = "MESSAGE")]
        message: Vec<String>,
        /// The account; every account when left out
        #[arg(long, value_name = "JID", value_parser = bare_jid)]
        account: Option<String>,
    },
    /// Send a chat message (stored first, sent when online)
    Send {
        /// Recipient's JID
        #[arg(value_parser = bare_jid)]
        to: String,
        /// The message; words are joined with single spaces (put `--` before
        /// text that starts with `-`)
        #[arg(required = true, value_name = "TEXT")]
        text: Vec<String>,
        /// The account (may be left out when there is only one)
        #[arg(long, value_name = "JID", value_parser = bare_jid)]
        account: Option<String>,
    },
    /// One page of a conversation, oldest first
    History {
        /// The other party's JID
        #[arg(value_parser = bare_jid)]
        peer: String,
        /// How many messages [default: 50]
        #[arg(long, value_name = "N",
              value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_HISTORY_PAGE)))]
        limit: Option<u32>,
        /// Older messages: the cursor printed after the previous page
        #[arg(long, value_name = "CURSOR")]
        before: Option<String>,
        /// The account (may be left out when there is only one)
        #[arg(long, value_name = "JID", value_parser = bare_jid)]
        account: Option<String>,
    },
    /// Mark a chat as read (its unread count goes to zero)
    MarkRead {
        /// The other party's JID
        #[arg(value_parser = bare_jid)]
        peer: String,
        /// The account (may be left out when there is only one)
        #[arg(long, value_name = "JID", value_parser = bare_jid)]
        account: Option<String>,
    },
    /// Mute a chat: its messages are still received and counted, but bring
    /// up no notification
    Mute {
        /// The other party's JID
        #[arg(value_parser = bare_jid)]
        peer: String,
        /// For how long: 30m, 8h, 2d, 1h30m (default: until you unmute it)
        #[arg(long = "for", value_name = "DURATION", value_parser = crate::mute::duration,
              conflicts_with = "until")]
        for_: Option<Duration>,
        /// Until when: a time of day like 07:30 (the next one to come) or a
        /// date and time like 2026-12-24T18:00:00+01:00
        #[arg(long, value_name = "TIME", value_parser = crate::mute::until)]
        until: Option<crate::mute::Until>,
        /// The account (may be left out when there is only one)
        #[arg(long, value_name = "JID", value_parser = bare_jid)]
        account: Option<String>,
    },
    /// End a chat's mute
    Unmute {
        /// The other party's JID
        #[arg(value_parser = bare_jid)]
        peer: String,
        /// The account (may be left out when there is only one)
        #[arg(long, value_name = "JID", value_parser = bare_jid)]
        account: Option<String>,
    },
    /// Print the current state, then every change as it happens, until Ctrl-C
    Follow {
        /// Count as a visible window while following: the daemon tells the
        /// server the user is looking (XEP-0352), as an open GUI does
        #[arg(long)]
        visible: bool,
    },
    /// Show or change wimsyd's settings
    #[command(subcommand)]
    Settings(SettingsCommand),
    /// Stop wimsyd cleanly
    Quit,
    /// Start wimsyd at login with the platform's service manager (systemd
    /// user units, a launchd LaunchAgent, a Task Scheduler task), or stop
    /// doing so; works without a running wimsyd
    #[command(subcommand)]
    Autostart(AutostartCommand),
    /// Ask wimsyd for an error on purpose (to test scripts' error paths)
    #[command(hide = true)]
    Fail,
}

/// `wimsyctl autostart ...`
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum AutostartCommand {
    /// Install what starts wimsyd at login in your own directories, enable
    /// it and start wimsyd now
    Enable {
        /// Print what would be written and run, and change nothing
        #[arg(long)]
        dry_run: bool,
        /// The wimsyd to start [default: the one next to wimsyctl, else
        /// the first on PATH]
        #[arg(long, value_name = "PATH")]
        wimsyd: Option<PathBuf>,
    },
    /// Undo exactly what `enable` did (files it wrote that were changed
    /// since are left in place)
    Disable {
        /// Print what would be run and removed, and change nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// What `enable` installed, and whether the service manager has it
    /// enabled and running
    Status {
        /// Print what would be asked, and ask nothing
        #[arg(long)]
        dry_run: bool,
    },
}

/// `wimsyctl settings ...`
#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Every setting (or the one named) as `key = value`, with what it is
    Get {
        /// A setting's key, like background.keep_connected
        key: Option<String>,
    },
    /// Change a setting: true or false (also yes/no, on/off) for a switch,
    /// one of its choices, or text; `settings get` shows what each takes
    Set {
        /// The setting's key, like background.keep_connected
        key: String,
        /// The new value
        value: String,
    },
}

/// `wimsyctl account ...`
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Add an account and wait for its first login (connected: exit 0;
    /// refused or still trying: exit 1, the account stays configured); the
    /// password is read from the terminal, or from stdin with
    /// --password-stdin, never from arguments
    Add(AccountAdd),
    /// The configured accounts, with the certificate each one pinned
    List,
    /// Disconnect and forget an account (its history stays on disk)
    Remove {
        /// Bare JID of the account
        #[arg(value_parser = bare_jid)]
        jid: String,
    },
    /// Trust the server certificate with this fingerprint (and no other)
    /// for the account, then reconnect it. Check the fingerprint out of band
    /// first: `wimsyctl status` shows the one the server offered
    Trust {
        /// Bare JID of the account
        #[arg(value_parser = bare_jid)]
        jid: String,
        /// The certificate's SHA-256 fingerprint, SHA256:AB:CD:... as shown,
        /// or bare hex
        #[arg(value_parser = fingerprint)]
        fingerprint: String,
    },
    /// Give an account a new password (read like `add` reads it) and log in
    /// again with it, waiting for the outcome; settings, the pinned
    /// certificate and history stay
    Password(AccountPassword),
}

/// `wimsyctl roster ...`
#[derive(Debug, Subcommand)]
pub enum RosterCommand {
    /// Add a contact and ask to see their presence
    Add {
        /// The contact's JID
        #[arg(value_parser = bare_jid)]
        jid: String,
        /// The name to show for them
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
    },
    /// Give a contact another name
    Rename {
        /// The contact's JID
        #[arg(value_parser = bare_jid)]
        jid: String,
        /// The new name; words are joined with single spaces
        #[arg(required = true, value_name = "NAME")]
        name: Vec<String>,
    },
    /// Remove a contact (neither of you sees the other's presence any more)
    Remove {
        /// The contact's JID
        #[arg(value_parser = bare_jid)]
        jid: String,
    },
    /// Let someone who asked see your presence (and ask to see theirs)
    Accept {
        /// Who asked
        #[arg(value_parser = bare_jid)]
        jid: String,
    },
    /// Refuse someone's request to see your presence
    Deny {
        /// Who asked
        #[arg(value_parser = bare_jid)]
        jid: String,
    },
}

impl RosterCommand {
    fn request(&self, account: Option<String>) -> Request {
        match self {
            Self::Add { jid, name } => Request::RosterAdd {
                account,
                jid: jid.clone(),
                name: name.clone(),
            },
            Self::Rename { jid, name } => Request::RosterRename {
                account,
                jid: jid.clone(),
                name: name.join(" "),
            },
            Self::Remove { jid } => Request::RosterRemove {
                account,
                jid: jid.clone(),
            },
            Self::Accept { jid } => Request::SubscriptionAnswer {
                account,
                jid: jid.clone(),
                accept: true,
            },
            Self::Deny { jid } => Request::SubscriptionAnswer {
                account,
                jid: jid.clone(),
                accept: false,
            },
        }
    }
}

/// How long to wait for a login, shared by `account add` and `password`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args)]
pub struct Wait {
    /// Do not wait for the login: exit 0 once wimsyd has the account
    #[arg(long)]
    pub no_wait: bool,
    /// Give up waiting after this many seconds [default: 40, wimsyd's
    /// login timeout plus a margin]
    #[arg(long, value_name = "SECONDS", value_parser = wait_seconds, conflicts_with = "no_wait")]
    pub timeout: Option<Duration>,
}

impl Wait {
    /// wimsyd's default login timeout (30 s) and time for one quick retry.
    pub const DEFAULT: Duration = Duration::from_secs(40);

    /// How long to wait, or `None` for not at all.
    pub fn deadline(&self) -> Option<Duration> {
        (!self.no_wait).then(|| self.timeout.unwrap_or(Self::DEFAULT))
    }
}

/// `wimsyctl account add ...`
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct AccountAdd {
    /// Bare JID, user@domain
    #[arg(value_parser = bare_jid)]
    pub jid: String,
    /// Server to dial instead of the JID's domain
    #[arg(long, value_name = "HOST[:PORT]")]
    pub server: Option<String>,
    /// PEM file of extra CA certificates trusted for this account only
    #[arg(long, value_name = "PATH")]
    pub ca_file: Option<PathBuf>,
    /// Read the password from the first line of stdin
    #[arg(long)]
    pub password_stdin: bool,
    #[command(flatten)]
    pub wait: Wait,
}

/// `wimsyctl account password ...`
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct AccountPassword {
    /// Bare JID of the account
    #[arg(value_parser = bare_jid)]
    pub jid: String,
    /// Read the new password from the first line of stdin
    #[arg(long)]
    pub password_stdin: bool,
    #[command(flatten)]
    pub wait: Wait,
}

/// What running a command takes.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// One request, one answer.
    Request(Request),
    /// One request that needs a password and a resolved path first, then
    /// a wait for the login.
    AccountAdd(AccountAdd),
    /// A new password, then a wait for the login.
    AccountPassword(AccountPassword),
    /// Subscribe and print events until stopped; `visible` counts as a
    /// visible window meanwhile.
    Follow { visible: bool },
    /// Set up, undo or show autostart; no daemon is asked.
    Autostart(AutostartCommand),
    /// A mute, whose end is reckoned from the clock when it is sent.
    Mute {
        account: Option<String>,
        peer: String,
        for_: Option<Duration>,
        until: Option<crate::mute::Until>,
    },
}

impl Command {
    /// What this command asks of the daemon.
    pub fn plan(&self) -> Plan {
        let request = match self {
            Self::Status => Request::Status,
            Self::Account(AccountCommand::Add(add)) => return Plan::AccountAdd(add.clone()),
            Self::Account(AccountCommand::Password(change)) => {
                return Plan::AccountPassword(change.clone());
            }
            Self::Account(AccountCommand::List) => Request::AccountList,
            Self::Account(AccountCommand::Remove { jid }) => {
                Request::AccountRemove { jid: jid.clone() }
            }
            Self::Account(AccountCommand::Trust { jid, fingerprint }) => Request::AccountTrust {
                jid: jid.clone(),
                fingerprint: fingerprint.clone(),
            },
            Self::Connect { jid } => Request::Connect {
                account: jid.clone(),
            },
            Self::Disconnect { jid } => Request::Disconnect {
                account: jid.clone(),
            },
            Self::Roster {
                action: None,
                account,
            } => Request::Roster {
                account: account.clone(),
            },
            Self::Roster {
                action: Some(action),
                account,
            } => action.request(account.clone()),
            Self::Presence {
                show,
                message,
                account,
            } => Request::SetPresence {
                account: account.clone(),
                show: *show,
                status: (!message.is_empty()).then(|| message.join(" ")),
            },
            Self::Send { to, text, account } => Request::Send {
                account: account.clone(),
                to: to.clone(),
                body: text.join(" "),
            },
            Self::History {
                peer,
                limit,
                before,
                account,
            } => Request::History {
                account: account.clone(),
                peer: peer.clone(),
                limit: *limit,
                before: before.clone(),
            },
            Self::MarkRead { peer, account } => Request::MarkRead {
                account: account.clone(),
                peer: peer.clone(),
            },
            Self::Mute {
                peer,
                for_,
                until,
                account,
            } => {
                return Plan::Mute {
                    account: account.clone(),
                    peer: peer.clone(),
                    for_: *for_,
                    until: until.clone(),
                };
            }
            Self::Unmute { peer, account } => Request::Unmute {
                account: account.clone(),
                peer: peer.clone(),
            },
            Self::Follow { visible } => return Plan::Follow { visible: *visible },
            Self::Settings(SettingsCommand::Get { key }) => {
                Request::SettingsGet { key: key.clone() }
            }
            // wimsyd reads the words for its own kinds (`on` for a switch).
            Self::Settings(SettingsCommand::Set { key, value }) => Request::SettingsSet {
                key: key.clone(),
                value: SettingValue::Text(value.clone()),
            },
            Self::Quit => Request::Quit,
            Self::Autostart(command) => return Plan::Autostart(command.clone()),
            Self::Fail => Request::Fail,
        };
        Plan::Request(request)
    }
}

#[cfg(test)]
mod tests;
