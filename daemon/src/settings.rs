//! The settings wimsyd offers its frontends, and the file that keeps them
//! (`settings.toml` in the config dir).
//!
//! Every setting is one entry of [`DEFINITIONS`]: its key, kind, default
//! and words. Frontends render what the daemon offers, so adding a setting
//! is adding an entry (with a checker for a text setting, see [`Kind`]);
//! nothing else in the protocol or the frontends changes.
//!
//! The file holds what the user set, as nested TOML tables
//! (`[background]` / `keep_connected = false`). It is written atomically,
//! readable by the user only. A key this daemon does not know (written by
//! a newer one, or by hand) is kept as it is and warned about once; a value
//! of the wrong kind is warned about and its default used. A file that is
//! not TOML at all is reported and the defaults are used; the first change
//! of a setting then keeps the broken file beside the new one as
//! `settings.toml.broken`, so a hand edit is never silently lost.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use wimsy_ipc::{Setting, SettingKind, SettingValue};

use crate::private_fs::{FileError, create_private_dir, write_atomically};

/// `background.keep_connected`: whether closing the last window leaves the
/// accounts online.
pub(crate) const KEEP_CONNECTED: &str = "background.keep_connected";

/// `notifications.enabled`: whether new messages show desktop
/// notifications.
pub(crate) const NOTIFICATIONS_ENABLED: &str = "notifications.enabled";
/// `notifications.preview`: how much a notification shows
/// ([`crate::notify::Preview`]).
pub(crate) const NOTIFICATIONS_PREVIEW: &str = "notifications.preview";
/// `notifications.sound`: whether a notification plays the message sound.
pub(crate) const NOTIFICATIONS_SOUND: &str = "notifications.sound";
/// `notifications.quiet_hours`: a daily window of local time when
/// notifications are held ([`crate::notify::quiet`]).
pub(crate) const NOTIFICATIONS_QUIET_HOURS: &str = "notifications.quiet_hours";
/// `notifications.do_not_disturb`: hold every notification until turned
/// off.
pub(crate) const NOTIFICATIONS_DO_NOT_DISTURB: &str = "notifications.do_not_disturb";
/// `privacy.send_read_markers`: whether contacts are told what was read.
pub(crate) const PRIVACY_SEND_READ_MARKERS: &str = "privacy.send_read_markers";

/// Every setting this daemon offers, in the order frontends show them.
pub(crate) const DEFINITIONS: &[Definition] = &[
    Definition {
        key: KEEP_CONNECTED,
        kind: Kind::Bool,
        default: DefaultValue::Bool(true),
        label: "Keep connected when all windows are closed",
        description: "When on, Wimsy stays online after you close its last window: messages \
                      keep arriving and are stored, and you see them when you open Wimsy again. \
                      When off, closing the last window takes your accounts offline and stops \
                      Wimsy's background service; use Quit Wimsy to do that at any time.",
    },
    Definition {
        key: NOTIFICATIONS_ENABLED,
        kind: Kind::Bool,
        default: DefaultValue::Bool(true),
        label: "Show notifications for new messages",
        description: "When on, a message that arrives while no focused Wimsy window shows its \
                      chat brings up a desktop notification, one per chat, updated as more \
                      arrive and taken away once you read the chat. When off, none are shown \
                      and those showing are taken away.",
    },
    Definition {
        key: NOTIFICATIONS_PREVIEW,
        kind: Kind::Choice(crate::notify::Preview::CHOICES),
        default: DefaultValue::Text("full"),
        label: "What notifications show",
        description: "full: who wrote and the message; sender: only who wrote; none: only \
                      that a message arrived, so nobody looking at your screen learns from \
                      whom or what.",
    },
    Definition {
        key: NOTIFICATIONS_SOUND,
        kind: Kind::Bool,
        default: DefaultValue::Bool(true),
        label: "Play a sound with notifications",
        description: "When on, a notification asks the desktop to play its new-message \
                      sound; when off, it asks for silence.",
    },
    Definition {
        key: NOTIFICATIONS_DO_NOT_DISTURB,
        kind: Kind::Bool,
        default: DefaultValue::Bool(false),
        label: "Do not disturb",
        description: "When on, no notification pops up: messages are still received, stored \
                      and counted as unread. When you turn it off, each chat that got \
                      messages meanwhile and is still unread shows one notification, \
                      without sound.",
    },
    Definition {
        key: NOTIFICATIONS_QUIET_HOURS,
        kind: Kind::Text(crate::notify::quiet::check_setting),
        default: DefaultValue::Text(crate::notify::quiet::OFF),
        label: "Quiet hours",
        description: "A daily time, like 22:00-07:30 (your local time; it may cross \
                      midnight), when notifications are held as with do not disturb and \
                      shown, without sound, when it ends. off: no quiet hours.",
    },
    Definition {
        key: PRIVACY_SEND_READ_MARKERS,
        kind: Kind::Bool,
        default: DefaultValue::Bool(true),
        label: "Let contacts see when you have read their messages",
        description: "When on, reading a chat tells the contact up to which message you read, \
                      if their app asked to know. Your other devices learn what you read \
                      either way.",
    },
];

/// What values a setting takes, and how a value is checked.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// `true` or `false`; also the words `yes`/`no`, `on`/`off`.
    Bool,
    /// One of these strings.
    Choice(&'static [&'static str]),
    /// Free text, checked (and tidied, e.g. trimmed) by the function; its
    /// error says in words which values are allowed.
    Text(fn(&str) -> Result<String, String>),
}

/// A default value, written in [`DEFINITIONS`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum DefaultValue {
    Bool(bool),
    Text(&'static str),
}

impl DefaultValue {
    fn value(self) -> SettingValue {
        match self {
            Self::Bool(b) => SettingValue::Bool(b),
            Self::Text(s) => SettingValue::Text(s.to_owned()),
        }
    }
}

/// One setting.
#[derive(Debug)]
pub(crate) struct Definition {
    /// Dotted, stable: frontends and scripts use it.
    pub(crate) key: &'static str,
    pub(crate) kind: Kind,
    pub(crate) default: DefaultValue,
    /// A short name for a settings screen.
    pub(crate) label: &'static str,
    /// What it does, in plain words.
    pub(crate) description: &'static str,
}

impl Definition {
    /// `value` as this setting stores it, or what is allowed instead.
    pub(crate) fn check(&self, value: &SettingValue) -> Result<SettingValue, String> {
        match (self.kind, value) {
            (Kind::Bool, SettingValue::Bool(b)) => Ok(SettingValue::Bool(*b)),
            (Kind::Bool, SettingValue::Text(text)) => match text.trim().to_lowercase().as_str() {
                "true" | "yes" | "on" => Ok(SettingValue::Bool(true)),
                "false" | "no" | "off" => Ok(SettingValue::Bool(false)),
                _ => Err(format!(
                    "{} is on or off: give true or false (or yes/no, on/off), not {text:?}",
                    self.key
                )),
            },
            (Kind::Choice(choices), SettingValue::Text(text)) if choices.contains(&text.trim()) => {
                Ok(SettingValue::Text(text.trim().to_owned()))
            }
            (Kind::Choice(choices), _) => Err(format!(
                "{} is one of {}, not {}",
                self.key,
                choices.join(", "),
                shown(value)
            )),
            (Kind::Text(check), SettingValue::Text(text)) => check(text)
                .map(SettingValue::Text)
                .map_err(|why| format!("{}: {why}", self.key)),
            (Kind::Text(_), SettingValue::Bool(_)) => {
                Err(format!("{} is text, not true or false", self.key))
            }
        }
    }

    /// As the protocol describes it, with `value` as its value.
    fn describe(&self, value: SettingValue) -> Setting {
        let (kind, choices) = match self.kind {
            Kind::Bool => (SettingKind::Bool, None),
            Kind::Choice(choices) => (
                SettingKind::Choice,
                Some(choices.iter().map(|c| (*c).to_owned()).collect()),
            ),
            Kind::Text(_) => (SettingKind::Text, None),
        };
        Setting {
            key: self.key.to_owned(),
            value,
            default: self.default.value(),
            kind,
            choices,
            label: self.label.to_owned(),
            description: self.description.to_owned(),
        }
    }
}

fn shown(value: &SettingValue) -> String {
    match value {
        SettingValue::Bool(b) => b.to_string(),
        SettingValue::Text(s) => format!("{s:?}"),
    }
}

fn definition(key: &str) -> Option<&'static Definition> {
    DEFINITIONS.iter().find(|d| d.key == key)
}

/// A settings request that cannot be carried out.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SettingsError {
    /// No such key.
    #[error("there is no setting {key:?}; the settings are: {known}")]
    Unknown { key: String, known: String },
    /// The value is not one the setting takes.
    #[error("{0}")]
    Invalid(String),
    /// The file could not be written; the setting is unchanged.
    #[error("the setting was not changed: {0}")]
    Save(#[from] FileError),
}

/// The settings of one daemon: what the user set, over the defaults.
#[derive(Debug)]
pub(crate) struct Settings {
    path: PathBuf,
    /// Every value the file holds, by dotted key, unknown keys included
    /// (they are written back as they were).
    stored: BTreeMap<String, toml::Value>,
    /// The file could not be read as TOML: it is moved aside before the
    /// first write.
    broken: bool,
}

/// Every value `path` holds, by dotted key (none if it does not exist), or
/// why it cannot be used. Unknown keys and bad values are kept, and logged.
fn read(path: &Path) -> Result<BTreeMap<String, toml::Value>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(format!("it could not be read ({e})")),
    };
    let table = text.parse::<toml::Table>().map_err(|e| {
        format!(
            "it is not valid TOML ({})",
            crate::accounts::one_line(&text, &e)
        )
    })?;
    let mut stored = BTreeMap::new();
    flatten("", table, &mut stored);
    for (key, value) in &stored {
        match definition(key) {
            None => tracing::warn!(
                file = %path.display(),
                "the setting {key:?} is not one this wimsyd knows; it is kept as it is"
            ),
            Some(def) => {
                if let Err(why) = from_toml(value)
                    .ok_or_else(|| "not a value".to_owned())
                    .and_then(|v| def.check(&v))
                {
                    tracing::warn!(
                        file = %path.display(),
                        "ignoring the stored value of {key}, using its default: {why}"
                    );
                }
            }
        }
    }
    Ok(stored)
}

impl Settings {
    /// The settings file of `config_dir`; defaults where it is missing or
    /// unreadable (reported in the log).
    pub(crate) fn load(config_dir: &Path) -> Self {
        let path = config_dir.join("settings.toml");
        match read(&path) {
            Ok(stored) => Self {
                path,
                stored,
                broken: false,
            },
            Err(why) => {
                let mut settings = Self {
                    path,
                    stored: BTreeMap::new(),
                    broken: false,
                };
                settings.report_broken(&why);
                settings
            }
        }
    }

    /// The settings as the file holds them now, or why it cannot be used
    /// (the caller keeps the settings it has).
    pub(crate) fn reloaded(&self) -> Result<Self, String> {
        read(&self.path).map(|stored| Self {
            path: self.path.clone(),
            stored,
            broken: false,
        })
    }

    /// The file that holds the settings.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn report_broken(&mut self, why: &str) {
        tracing::error!(
            "the settings file {} cannot be used: {why}; every setting has its default \
             until one is changed, which keeps the old file as {}",
            self.path.display(),
            self.broken_path().display()
        );
        self.broken = true;
    }

    fn broken_path(&self) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".broken");
        PathBuf::from(name)
    }

    /// The value of `def` now: the stored one if it is valid, else the
    /// default.
    fn value_of(&self, def: &Definition) -> SettingValue {
        self.stored
            .get(def.key)
            .and_then(from_toml)
            .and_then(|v| def.check(&v).ok())
            .unwrap_or_else(|| def.default.value())
    }

    /// Every setting, in [`DEFINITIONS`] order.
    pub(crate) fn all(&self) -> Vec<Setting> {
        DEFINITIONS
            .iter()
            .map(|def| def.describe(self.value_of(def)))
            .collect()
    }

    /// One setting.
    pub(crate) fn get(&self, key: &str) -> Result<Setting, SettingsError> {
        let def = known(key)?;
        Ok(def.describe(self.value_of(def)))
    }

    /// A bool setting's value (false if `key` is not a bool setting).
    pub(crate) fn bool(&self, key: &str) -> bool {
        definition(key)
            .and_then(|def| self.value_of(def).as_bool())
            .unwrap_or(false)
    }

    /// A choice or text setting's value (empty if `key` is not one).
    pub(crate) fn text(&self, key: &str) -> String {
        definition(key)
            .and_then(|def| self.value_of(def).as_text().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Check `value`, store it in the file and return the setting as it
    /// is now. Nothing changes when the value is refused or the file
    /// cannot be written.
    pub(crate) fn set(
        &mut self,
        key: &str,
        value: &SettingValue,
    ) -> Result<Setting, SettingsError> {
        let def = known(key)?;
        let value = def.check(value).map_err(SettingsError::Invalid)?;
        let mut stored = self.stored.clone();
        stored.insert(def.key.to_owned(), to_toml(&value));
        self.write(&stored)?;
        self.stored = stored;
        Ok(def.describe(value))
    }

    fn write(&mut self, stored: &BTreeMap<String, toml::Value>) -> Result<(), FileError> {
        if let Some(dir) = self.path.parent() {
            create_private_dir(dir)?;
        }
        if self.broken {
            let aside = self.broken_path();
            match std::fs::rename(&self.path, &aside) {
                Ok(()) => tracing::warn!(
                    "the unusable settings file is kept as {}; a new {} is written",
                    aside.display(),
                    self.path.display()
                ),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(crate::private_fs::io_error("move aside", &self.path)(e)),
            }
            self.broken = false;
        }
        let mut text = String::from(
            "# Wimsy's settings, kept by wimsyd. Change them with\n\
             # `wimsyctl settings set KEY VALUE` (or in the Wimsy window) while wimsyd runs;\n\
             # `wimsyctl settings get` lists them with what they do.\n\n",
        );
        text.push_str(&nest(stored).to_string());
        write_atomically(&self.path, text.as_bytes())
    }
}

fn known(key: &str) -> Result<&'static Definition, SettingsError> {
    definition(key).ok_or_else(|| SettingsError::Unknown {
        key: key.to_owned(),
        known: DEFINITIONS
            .iter()
            .map(|d| d.key)
            .collect::<Vec<_>>()
            .join(", "),
    })
}

fn from_toml(value: &toml::Value) -> Option<SettingValue> {
    match value {
        toml::Value::Boolean(b) => Some(SettingValue::Bool(*b)),
        toml::Value::String(s) => Some(SettingValue::Text(s.clone())),
        _ => None,
    }
}

fn to_toml(value: &SettingValue) -> toml::Value {
    match value {
        SettingValue::Bool(b) => toml::Value::Boolean(*b),
        SettingValue::Text(s) => toml::Value::String(s.clone()),
    }
}

/// `[a] b = 1` becomes `a.b = 1`.
fn flatten(prefix: &str, table: toml::Table, out: &mut BTreeMap<String, toml::Value>) {
    for (name, value) in table {
        let key = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}.{name}")
        };
        match value {
            toml::Value::Table(inner) => flatten(&key, inner, out),
            other => {
                out.insert(key, other);
            }
        }
    }
}

/// The other way: `a.b = 1` becomes `[a] b = 1`.
fn nest(stored: &BTreeMap<String, toml::Value>) -> toml::Table {
    let mut root = toml::Table::new();
    let mut groups: BTreeMap<&str, BTreeMap<String, toml::Value>> = BTreeMap::new();
    for (key, value) in stored {
        match key.split_once('.') {
            None => {
                root.insert(key.clone(), value.clone());
            }
            Some((head, rest)) => {
                groups
                    .entry(head)
                    .or_default()
                    .insert(rest.to_owned(), value.clone());
            }
        }
    }
    // Flattened from tables, a name is never both a value and a table.
    for (head, inner) in groups {
        root.insert(head.to_owned(), toml::Value::Table(nest(&inner)));
    }
    root
}

#[cfg(test)]
mod tests;
