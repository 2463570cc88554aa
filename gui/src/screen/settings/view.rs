//! How the settings screen is drawn: each setting with its label, its
//! control and the daemon's description under it.

use iced::widget::{
    Column, button, column, container, pick_list, row, scrollable, text, text_input, toggler,
};
use iced::{Element, Length};
use wimsy_ipc::{FrontendState, Setting, SettingKind, SettingValue};

use super::{Choice, Message, State};
use wimsy_ipc::{NotifierState, NotifierStatus};

/// Whether this desktop shows Wimsy's notifications, in the daemon's
/// words; a warning colour when it does not, or not fully.
fn notifier_view<'a>(notifier: &'a NotifierStatus) -> Element<'a, Message> {
    let (headline, style): (&str, fn(&iced::Theme) -> text::Style) = match notifier.state {
        NotifierState::Ready => ("Notifications work on this desktop", text::success),
        NotifierState::NoActions => ("Notifications work, clicks do not", text::warning),
        NotifierState::Missing => ("Notifications cannot be shown", text::danger),
        NotifierState::Unchecked | NotifierState::Unknown => ("Notifications", text::secondary),
    };
    column![
        text(headline).size(15).style(style),
        text(notifier.detail.as_str())
            .size(12)
            .style(text::secondary)
    ]
    .spacing(4)
    .into()
}

const MAX_WIDTH: f32 = 640.0;

impl State {
    /// Draw every setting the daemon offers.
    pub fn view<'a>(&'a self, state: &'a FrontendState) -> Element<'a, Message> {
        let mut page: Column<'a, Message> = column![text("Settings").size(24)].spacing(22);
        let settings = &state.settings;
        if settings.is_empty() {
            page = page.push(
                text(
                    "Wimsy's background service offers no settings. An older version of it may \
                     be running: Quit Wimsy and open it again to start the new one.",
                )
                .style(text::secondary),
            );
        }
        let mut told_notifier = false;
        for setting in settings {
            // What the desktop allows, above the notification settings.
            if !told_notifier
                && setting.key.starts_with("notifications.")
                && let Some(notifier) = &state.notifier
            {
                page = page.push(notifier_view(notifier));
                told_notifier = true;
            }
            page = page.push(self.setting_view(setting));
        }
        scrollable(
            container(page.max_width(MAX_WIDTH))
                .padding(24)
                .center_x(Length::Fill),
        )
        .into()
    }

    fn setting_view<'a>(&'a self, setting: &'a Setting) -> Element<'a, Message> {
        let busy = self.busy();
        let key = &setting.key;
        let value = self.shown(setting);
        let control: Element<'a, Message> = match (setting.kind, value) {
            (SettingKind::Bool, SettingValue::Bool(on)) => container(
                toggler(*on)
                    .label(setting.label.as_str())
                    .on_toggle_maybe((!busy).then_some(move |on| Message::Toggled(key.clone(), on)))
                    .width(Length::Fill),
            )
            .id(control_id(key))
            .into(),
            (SettingKind::Choice, SettingValue::Text(current)) => {
                let choices: Vec<Choice> = setting
                    .choices
                    .iter()
                    .flatten()
                    .map(|value| Choice::of(value))
                    .collect();
                let selected = Some(Choice::of(current));
                // pick_list has no disabled state: a pick while another
                // change is on its way is dropped by update.
                let list = pick_list(choices, selected, move |choice| {
                    Message::Chosen(key.clone(), choice)
                });
                labelled(setting, container(list).id(control_id(key)).into())
            }
            (SettingKind::Text, SettingValue::Text(current)) => {
                let typed = self.drafts.get(key).unwrap_or(current);
                let changed = typed != current;
                labelled(
                    setting,
                    row![
                        text_input(&setting.label, typed)
                            .on_input(move |text| Message::Edited(key.clone(), text))
                            .on_submit(Message::Apply(key.clone()))
                            .width(Length::Fill),
                        button("Apply").style(button::primary).on_press_maybe(
                            (changed && !busy).then(|| Message::Apply(key.clone()))
                        ),
                    ]
                    .spacing(10)
                    .into(),
                )
            }
            // A newer daemon's kind, or a value that does not fit its kind:
            // shown, not editable.
            _ => labelled(
                setting,
                text(format!(
                    "{} (this version of Wimsy cannot change it)",
                    shown_value(value)
                ))
                .style(text::secondary)
                .into(),
            ),
        };
        let mut block = column![control].spacing(6);
        if !setting.description.trim().is_empty() {
            block = block.push(
                text(setting.description.as_str())
                    .size(14)
                    .style(text::secondary),
            );
        }
        if let Some(problem) = self.problem(setting) {
            block = block.push(text(problem).style(text::danger));
        }
        block.into()
    }
}

/// The id of a setting's control, for tests: a switch's label and a list's
/// entries are not text a selector can find.
pub fn control_id(key: &str) -> iced::widget::Id {
    iced::widget::Id::from(format!("setting:{key}"))
}

/// The label above a control that has none of its own.
fn labelled<'a>(setting: &'a Setting, control: Element<'a, Message>) -> Element<'a, Message> {
    column![text(setting.label.as_str()), control]
        .spacing(6)
        .into()
}

fn shown_value(value: &SettingValue) -> String {
    match value {
        SettingValue::Bool(true) => "On".to_owned(),
        SettingValue::Bool(false) => "Off".to_owned(),
        SettingValue::Text(text) => Choice::of(text).words,
    }
}
