use std::fs;

use super::*;

fn keep(settings: &Settings) -> SettingValue {
    settings.get(KEEP_CONNECTED).unwrap().value
}

#[test]
fn defaults_without_a_file_then_a_change_is_written_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cfg");
    let mut settings = Settings::load(&config);
    assert_eq!(keep(&settings), SettingValue::Bool(true));
    assert_eq!(settings.all().len(), DEFINITIONS.len());
    assert!(
        !config.exists(),
        "nothing is written until something changes"
    );

    let changed = settings
        .set(KEEP_CONNECTED, &SettingValue::Text("off".into()))
        .unwrap();
    assert_eq!(changed.value, SettingValue::Bool(false));
    assert_eq!(changed.default, SettingValue::Bool(true));
    assert_eq!(changed.kind, SettingKind::Bool);
    assert!(!settings.bool(KEEP_CONNECTED));

    let text = fs::read_to_string(config.join("settings.toml")).unwrap();
    assert!(
        text.contains("[background]\nkeep_connected = false"),
        "{text}"
    );
    assert_eq!(keep(&Settings::load(&config)), SettingValue::Bool(false));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: PathBuf| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(config.join("settings.toml")), 0o600);
        assert_eq!(mode(config), 0o700);
    }
}

#[test]
fn a_bool_takes_the_usual_words_and_refuses_others_saying_what_it_takes() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::load(dir.path());
    for (word, value) in [
        ("true", true),
        ("No", false),
        ("yes", true),
        (" off ", false),
        ("ON", true),
        ("false", false),
    ] {
        let set = settings
            .set(KEEP_CONNECTED, &SettingValue::Text(word.into()))
            .unwrap();
        assert_eq!(set.value, SettingValue::Bool(value), "{word:?}");
    }
    let err = settings
        .set(KEEP_CONNECTED, &SettingValue::Text("maybe".into()))
        .unwrap_err();
    assert!(matches!(err, SettingsError::Invalid(_)), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("true or false"), "{message}");
    assert!(message.contains("\"maybe\""), "{message}");
    assert_eq!(keep(&settings), SettingValue::Bool(false), "unchanged");
}

#[test]
fn an_unknown_key_names_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::load(dir.path());
    let err = settings
        .set("background.keep", &SettingValue::Bool(true))
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, SettingsError::Unknown { .. }));
    assert!(message.contains("\"background.keep\""), "{message}");
    assert!(message.contains(KEEP_CONNECTED), "{message}");
    assert!(settings.get("nope").is_err());
    assert!(!dir.path().join("settings.toml").exists());
}

#[test]
fn unknown_keys_in_the_file_are_kept_and_bad_values_fall_back_to_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.toml");
    fs::write(
        &path,
        "[background]\nkeep_connected = \"sometimes\"\n\n\
         [notifications]\npreview = \"sender\"\nquiet = [\"22:00\", \"07:00\"]\n",
    )
    .unwrap();
    let mut settings = Settings::load(dir.path());
    assert_eq!(
        keep(&settings),
        SettingValue::Bool(true),
        "bad value: default"
    );
    settings
        .set(KEEP_CONNECTED, &SettingValue::Bool(false))
        .unwrap();
    let text = fs::read_to_string(&path).unwrap();
    let table: toml::Table = text.parse().unwrap();
    assert_eq!(
        table["background"]["keep_connected"],
        toml::Value::Boolean(false)
    );
    assert_eq!(
        table["notifications"]["preview"],
        toml::Value::String("sender".into()),
        "a newer daemon's setting survives: {text}"
    );
    assert_eq!(
        table["notifications"]["quiet"].as_array().map(Vec::len),
        Some(2)
    );
}

#[test]
fn a_broken_file_means_defaults_and_is_kept_aside_on_the_first_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.toml");
    fs::write(&path, "[background\nkeep_connected = false\n").unwrap();
    let mut settings = Settings::load(dir.path());
    assert_eq!(keep(&settings), SettingValue::Bool(true));
    assert!(path.exists(), "loading does not touch it");
    settings
        .set(KEEP_CONNECTED, &SettingValue::Bool(false))
        .unwrap();
    let aside = fs::read_to_string(dir.path().join("settings.toml.broken")).unwrap();
    assert!(aside.starts_with("[background\n"), "{aside}");
    assert_eq!(keep(&Settings::load(dir.path())), SettingValue::Bool(false));
}

#[test]
fn choice_and_text_settings_check_their_values() {
    fn quiet_hours(text: &str) -> Result<String, String> {
        let text = text.trim();
        match text.split_once('-') {
            Some((from, to)) if from.len() == 5 && to.len() == 5 => Ok(text.to_owned()),
            _ => Err("give the hours as HH:MM-HH:MM, like 22:00-07:00".into()),
        }
    }
    let preview = Definition {
        key: "notifications.preview",
        kind: Kind::Choice(&["full", "sender", "none"]),
        default: DefaultValue::Text("full"),
        label: "What a notification shows",
        description: "",
    };
    assert_eq!(
        preview.check(&SettingValue::Text("sender".into())),
        Ok(SettingValue::Text("sender".into()))
    );
    let err = preview
        .check(&SettingValue::Text("all".into()))
        .unwrap_err();
    assert!(err.contains("full, sender, none"), "{err}");
    assert!(preview.check(&SettingValue::Bool(true)).is_err());
    let described = preview.describe(SettingValue::Text("none".into()));
    assert_eq!(described.kind, SettingKind::Choice);
    assert_eq!(described.choices.as_deref().map(<[String]>::len), Some(3));
    assert_eq!(described.default, SettingValue::Text("full".into()));

    let quiet = Definition {
        key: "notifications.quiet_hours",
        kind: Kind::Text(quiet_hours),
        default: DefaultValue::Text(""),
        label: "Quiet hours",
        description: "",
    };
    assert_eq!(
        quiet.check(&SettingValue::Text(" 22:00-07:00 ".into())),
        Ok(SettingValue::Text("22:00-07:00".into()))
    );
    let err = quiet.check(&SettingValue::Text("late".into())).unwrap_err();
    assert!(err.contains("HH:MM-HH:MM"), "{err}");
    assert!(quiet.check(&SettingValue::Bool(false)).is_err());
}

#[test]
fn the_notification_settings_have_their_defaults_and_are_read_typed() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::load(dir.path());
    assert!(settings.bool(NOTIFICATIONS_ENABLED));
    assert!(settings.bool(NOTIFICATIONS_SOUND));
    assert_eq!(settings.text(NOTIFICATIONS_PREVIEW), "full");

    settings
        .set(NOTIFICATIONS_PREVIEW, &SettingValue::Text(" none ".into()))
        .unwrap();
    settings
        .set(NOTIFICATIONS_ENABLED, &SettingValue::Text("off".into()))
        .unwrap();
    let settings = Settings::load(dir.path());
    assert_eq!(settings.text(NOTIFICATIONS_PREVIEW), "none");
    assert!(!settings.bool(NOTIFICATIONS_ENABLED));
    let Err(SettingsError::Invalid(why)) = Settings::load(dir.path()).set(
        NOTIFICATIONS_PREVIEW,
        &SettingValue::Text("everything".into()),
    ) else {
        panic!("a preview that is not a choice is refused");
    };
    assert!(why.contains("full, sender, none"), "{why}");
    assert_eq!(settings.text(KEEP_CONNECTED), "", "not a text setting");
}
