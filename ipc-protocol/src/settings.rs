//! Settings the daemon keeps for every frontend: what a frontend shows in
//! a settings screen, generically, from what the daemon offers.
//!
//! A frontend never hard-codes the list: the daemon sends every setting it
//! implements with its kind, default, choices and words
//! ([`crate::Response::Settings`], [`crate::Snapshot::settings`]), and a
//! newer daemon's settings show up without a frontend upgrade.

use serde::{Deserialize, Deserializer, Serialize};

/// One setting as the daemon offers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setting {
    /// Dotted name, stable: `background.keep_connected`.
    pub key: String,
    /// The value now.
    pub value: SettingValue,
    /// The value when the user never set it.
    pub default: SettingValue,
    /// What values it takes.
    pub kind: SettingKind,
    /// For [`SettingKind::Choice`]: every allowed value, in the order to
    /// offer them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<String>>,
    /// A short name for a settings screen, in plain words.
    pub label: String,
    /// What it does, in a sentence or two.
    #[serde(default)]
    pub description: String,
}

/// A setting's value: a JSON `true`/`false` or a string.
///
/// On the wire it is the bare JSON value. A value of another JSON type (a
/// newer daemon's number, say) reads as [`SettingValue::Text`] holding its
/// JSON text, never as a decoding error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum SettingValue {
    /// For [`SettingKind::Bool`].
    Bool(bool),
    /// For [`SettingKind::Choice`] (one of the choices) and
    /// [`SettingKind::Text`].
    Text(String),
}

impl<'de> Deserialize<'de> for SettingValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::Bool(b) => Self::Bool(b),
            serde_json::Value::String(s) => Self::Text(s),
            other => Self::Text(other.to_string()),
        })
    }
}

impl SettingValue {
    /// The boolean, for a bool value.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Bool(b) => Some(*b),
            Self::Text(_) => None,
        }
    }

    /// The string, for a text or choice value.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Bool(_) => None,
            Self::Text(s) => Some(s),
        }
    }
}

impl std::fmt::Display for SettingValue {
    /// `true`, `false`, or the text as it is.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bool(b) => write!(f, "{b}"),
            Self::Text(s) => f.write_str(s),
        }
    }
}

/// What values a setting takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingKind {
    /// `true` or `false`: a switch.
    Bool,
    /// One of [`Setting::choices`].
    Choice,
    /// Free text the daemon checks (its description says the form).
    Text,
    /// A kind this version does not know (a newer daemon's): show the
    /// value, offer no editor.
    #[serde(other)]
    Unknown,
}
