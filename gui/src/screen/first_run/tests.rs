//! The first-run notice: its words for each value of the setting, its
//! switch, and that it is dismissed once for good.

use wimsy_ipc::{FrontendState, Request, Setting, SettingKind, SettingValue};

use super::seen::Seen;
use super::{Event, KEEP_CONNECTED, Message, SWITCH, State};
use crate::screen::testing::{click, click_id, interact, shows};

const ON_WORDS: &str = "Wimsy stays connected when you close this window: messages keep \
                        arriving, and you find them here when you open it again. To \
                        disconnect, use Quit Wimsy.";

fn offering(on: bool) -> FrontendState {
    FrontendState {
        settings: vec![Setting {
            key: KEEP_CONNECTED.to_owned(),
            value: SettingValue::Bool(on),
            default: SettingValue::Bool(true),
            kind: SettingKind::Bool,
            choices: None,
            label: "Keep connected when all windows are closed".to_owned(),
            description: String::new(),
        }],
        ..FrontendState::default()
    }
}

#[test]
fn it_shows_until_dismissed_and_then_never_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut notice = State::new(Some(Seen::in_dir(dir.path())));
    assert!(notice.is_showing());
    let state = offering(true);
    assert!(shows(notice.view(&state), ON_WORDS));
    let messages = interact(notice.view(&state), |ui| click(ui, "Got it"));
    let events: Vec<Event> = messages
        .into_iter()
        .filter_map(|m| notice.update(m).1)
        .collect();
    assert!(matches!(events.as_slice(), [Event::Dismissed]));
    assert!(!notice.is_showing());
    assert!(!State::new(Some(Seen::in_dir(dir.path()))).is_showing());
}

#[test]
fn its_switch_turns_keep_connected_off_and_the_words_follow() {
    let state = offering(true);
    let mut notice = State::new(None);
    let messages = interact(notice.view(&state), |ui| click_id(ui, SWITCH));
    let events: Vec<Event> = messages
        .into_iter()
        .filter_map(|m| notice.update(m).1)
        .collect();
    match events.as_slice() {
        [Event::Request { request, .. }] => assert_eq!(
            *request,
            Request::SettingsSet {
                key: KEEP_CONNECTED.to_owned(),
                value: SettingValue::Bool(false),
            }
        ),
        other => panic!("{other:?}"),
    }
    let _ = notice.update(Message::Answered(Ok(wimsy_ipc::Response::Done)));
    assert!(shows(
        notice.view(&offering(false)),
        "When you close this window, Wimsy disconnects your accounts and its background \
         service stops; new messages wait on your server until you open Wimsy again."
    ));
}

#[test]
fn an_older_daemon_without_the_setting_gets_the_words_without_a_switch() {
    let notice = State::new(None);
    let state = FrontendState::default();
    assert!(shows(notice.view(&state), ON_WORDS));
    assert!(
        iced_test::simulator(notice.view(&state))
            .find(iced_test::selector::id(SWITCH))
            .is_err()
    );
}
