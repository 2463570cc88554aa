//! `wimsyctl settings`: `key = value` lines, each with what it is.

use wimsy_ipc::{Setting, SettingKind, SettingValue};

use super::inline;

/// Every setting as `key = value`, with its label and what it takes under
/// it; with `detailed` (one setting asked for by name) also what it does.
pub fn human(settings: &[Setting], detailed: bool) -> String {
    if settings.is_empty() {
        return "wimsyd offers no settings".into();
    }
    settings
        .iter()
        .map(|s| {
            let mut text = format!(
                "{} = {}\n    {} ({}; default {})",
                inline(&s.key),
                value_text(&s.value),
                inline(s.label.trim()),
                takes(s),
                value_text(&s.default)
            );
            if detailed && !s.description.trim().is_empty() {
                text.push_str("\n    ");
                text.push_str(&inline(s.description.trim()));
            }
            text
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `follow`'s line for a changed setting.
pub fn event_line(key: &str, value: &SettingValue) -> String {
    format!("setting {} = {}", inline(key), value_text(value))
}

fn value_text(value: &SettingValue) -> String {
    match value {
        SettingValue::Bool(b) => b.to_string(),
        // Quoted when empty, so `key = ` does not look cut off.
        SettingValue::Text(t) if t.is_empty() => "\"\"".into(),
        SettingValue::Text(t) => inline(t),
    }
}

fn takes(setting: &Setting) -> String {
    match setting.kind {
        SettingKind::Bool => "true or false".into(),
        SettingKind::Choice => match setting.choices.as_deref() {
            Some(choices) if !choices.is_empty() => format!(
                "one of {}",
                choices
                    .iter()
                    .map(|c| inline(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => "a choice".into(),
        },
        SettingKind::Text => "text".into(),
        SettingKind::Unknown => "a kind this wimsyctl does not know".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keep(value: bool) -> Setting {
        Setting {
            key: "background.keep_connected".into(),
            value: SettingValue::Bool(value),
            default: SettingValue::Bool(true),
            kind: SettingKind::Bool,
            choices: None,
            label: "Keep connected when all windows are closed".into(),
            description: "When on, Wimsy stays online.".into(),
        }
    }

    #[test]
    fn settings_read_as_key_equals_value_with_what_they_are() {
        assert_eq!(
            human(&[keep(false)], false),
            "background.keep_connected = false\n    \
             Keep connected when all windows are closed (true or false; default true)"
        );
        assert!(human(&[keep(true)], true).ends_with("\n    When on, Wimsy stays online."));
        let preview = Setting {
            key: "notifications.preview".into(),
            value: SettingValue::Text("sender".into()),
            default: SettingValue::Text("full".into()),
            kind: SettingKind::Choice,
            choices: Some(vec!["full".into(), "sender".into(), "none".into()]),
            label: "What a notification shows".into(),
            description: String::new(),
        };
        let text = human(&[keep(true), preview], false);
        assert!(
            text.contains("notifications.preview = sender\n    What a notification shows (one of full, sender, none; default full)"),
            "{text}"
        );
        assert_eq!(
            event_line("background.keep_connected", &SettingValue::Bool(true)),
            "setting background.keep_connected = true"
        );
    }
}
