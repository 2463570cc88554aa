//! The settings screen drawn from what a daemon offers, and driven.

use wimsy_ipc::{ErrorCode, FrontendState, Request, Response, Setting, SettingKind, SettingValue};

use super::view::control_id;
use super::{Choice, Event, Message, State};
use crate::link::RequestError;
use crate::screen::testing::{click, click_id, fits_small, interact, shows};

const KEEP: &str = "background.keep_connected";

fn keep_connected(on: bool) -> Setting {
    Setting {
        key: KEEP.to_owned(),
        value: SettingValue::Bool(on),
        default: SettingValue::Bool(true),
        kind: SettingKind::Bool,
        choices: None,
        label: "Keep connected when all windows are closed".to_owned(),
        description: "When on, Wimsy stays online after you close its last window.".to_owned(),
    }
}

fn preview() -> Setting {
    Setting {
        key: "notifications.preview".to_owned(),
        value: SettingValue::Text("full".to_owned()),
        default: SettingValue::Text("full".to_owned()),
        kind: SettingKind::Choice,
        choices: Some(vec!["full".to_owned(), "sender_only".to_owned()]),
        label: "What notifications show".to_owned(),
        description: String::new(),
    }
}

fn nickname() -> Setting {
    Setting {
        key: "chat.nickname".to_owned(),
        value: SettingValue::Text("Alice".to_owned()),
        default: SettingValue::Text(String::new()),
        kind: SettingKind::Text,
        choices: None,
        label: "Your nickname".to_owned(),
        description: String::new(),
    }
}

fn offering(settings: Vec<Setting>) -> FrontendState {
    FrontendState {
        settings,
        ..FrontendState::default()
    }
}

fn one_request(screen: &mut State, messages: Vec<Message>) -> Request {
    let events: Vec<Event> = messages
        .into_iter()
        .filter_map(|m| screen.update(m).1)
        .collect();
    match events.as_slice() {
        [Event::Request { request, .. }] => request.clone(),
        other => panic!("expected one request, got {other:?}"),
    }
}

#[test]
fn switching_keep_connected_off_sends_settings_set() {
    let state = offering(vec![keep_connected(true)]);
    let mut screen = State::default();
    assert!(shows(
        screen.view(&state),
        "When on, Wimsy stays online after you close its last window."
    ));
    let messages = interact(screen.view(&state), |ui| click_id(ui, control_id(KEEP)));
    assert_eq!(
        one_request(&mut screen, messages),
        Request::SettingsSet {
            key: KEEP.to_owned(),
            value: SettingValue::Bool(false),
        }
    );
    // Shown switched while the change is on its way; a second switch waits.
    assert_eq!(
        screen.shown(&keep_connected(true)),
        &SettingValue::Bool(false)
    );
    assert!(
        screen
            .update(Message::Toggled(KEEP.to_owned(), true))
            .1
            .is_none()
    );
}

#[test]
fn a_refusal_is_shown_under_its_setting_with_the_label_for_the_key() {
    let state = offering(vec![keep_connected(true)]);
    let mut screen = State::default();
    let _ = screen.update(Message::Toggled(KEEP.to_owned(), false));
    let _ = screen.update(Message::Answered(Err(RequestError {
        code: Some(ErrorCode::InvalidArgument),
        message: format!("{KEEP} is on or off: give true or false"),
    })));
    assert!(shows(
        screen.view(&state),
        "“Keep connected when all windows are closed” is on or off: give true or false."
    ));
    assert_eq!(
        screen.shown(&keep_connected(true)),
        &SettingValue::Bool(true)
    );
}

#[test]
fn a_choice_is_sent_as_its_value() {
    // pick_list's entries are drawn in an overlay no selector can find, so
    // this drives update with what picking "Sender only" produces.
    let state = offering(vec![preview()]);
    let mut screen = State::default();
    assert!(
        iced_test::simulator(screen.view(&state))
            .find(iced_test::selector::id(control_id("notifications.preview")))
            .is_ok()
    );
    let picked = Message::Chosen(
        "notifications.preview".to_owned(),
        Choice::of("sender_only"),
    );
    assert_eq!(
        one_request(&mut screen, vec![picked]),
        Request::SettingsSet {
            key: "notifications.preview".to_owned(),
            value: SettingValue::Text("sender_only".to_owned()),
        }
    );
}

#[test]
fn a_text_setting_is_sent_when_applied() {
    let state = offering(vec![nickname()]);
    let mut screen = State::default();
    let messages = interact(screen.view(&state), |ui| {
        let _ = ui.click("Alice").expect("the field shows the value");
        let _ = ui.typewrite(" B.");
    });
    for message in messages {
        assert!(screen.update(message).1.is_none(), "typing sends nothing");
    }
    let messages = interact(screen.view(&state), |ui| click(ui, "Apply"));
    assert_eq!(
        one_request(&mut screen, messages),
        Request::SettingsSet {
            key: "chat.nickname".to_owned(),
            value: SettingValue::Text("Alice B.".to_owned()),
        }
    );
    let _ = screen.update(Message::Answered(Ok(Response::Settings {
        settings: vec![nickname()],
    })));
    assert!(
        screen.drafts.is_empty(),
        "the field shows the daemon's value again"
    );
}

#[test]
fn a_kind_this_version_does_not_know_is_shown_not_edited() {
    let mut setting = preview();
    setting.kind = SettingKind::Unknown;
    setting.value = SettingValue::Text("every_hour".to_owned());
    let state = offering(vec![setting]);
    assert!(shows(
        State::default().view(&state),
        "Every hour (this version of Wimsy cannot change it)"
    ));
}

#[test]
fn no_settings_offered_says_why() {
    let state = offering(Vec::new());
    assert!(shows(
        State::default().view(&state),
        "Wimsy's background service offers no settings. An older version of it may be \
         running: Quit Wimsy and open it again to start the new one."
    ));
}

#[test]
fn everything_fits_a_small_window_at_double_scale() {
    let state = offering(vec![keep_connected(true), nickname()]);
    fits_small(
        State::default().view(&state),
        &["Settings", "Your nickname", "Apply"],
    );
    let notice = crate::screen::first_run::State::new(None);
    fits_small(notice.view(&state), &["Closing this window", "Got it"]);
}

#[test]
fn choices_read_as_words() {
    assert_eq!(Choice::of("sender_only").words, "Sender only");
    assert_eq!(Choice::of("full").words, "Full");
    assert_eq!(Choice::of("").words, "");
}

/// `cargo test -p wimsy-gui screenshots -- --ignored` draws the screen and
/// the first-run notice into target/screens/ to look at.
#[test]
#[ignore = "writes pictures for a person to look at"]
fn screenshots() {
    use crate::screen::first_run;
    use crate::screen::testing::{SMALL, save_png};
    let state = offering(vec![keep_connected(true), preview(), nickname()]);
    let screen = State::default();
    save_png(screen.view(&state), (640.0, 500.0), "settings");
    save_png(screen.view(&state), SMALL, "settings-small");
    let notice = first_run::State::new(None);
    save_png(notice.view(&state), (640.0, 400.0), "first-run-notice");
}

#[test]
fn the_notification_servers_state_is_said_above_the_notification_settings() {
    let mut state = offering(vec![keep_connected(true), preview()]);
    let screen = State::default();
    assert!(!shows(screen.view(&state), "Notifications cannot be shown"));
    state.notifier = Some(wimsy_ipc::NotifierStatus {
        state: wimsy_ipc::NotifierState::Missing,
        detail: "No notification server runs on this desktop.".to_owned(),
    });
    assert!(shows(screen.view(&state), "Notifications cannot be shown"));
    assert!(shows(
        screen.view(&state),
        "No notification server runs on this desktop."
    ));
    state.notifier = Some(wimsy_ipc::NotifierStatus {
        state: wimsy_ipc::NotifierState::Ready,
        detail: "Notifications are shown; clicking one opens its chat.".to_owned(),
    });
    assert!(shows(
        screen.view(&state),
        "Notifications work on this desktop"
    ));
}
