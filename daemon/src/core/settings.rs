//! `settings_get` and `settings_set`: the registry (`crate::settings`)
//! checks and stores; the core answers and tells every subscriber.

use wimsy_ipc::{ErrorCode, Event, Response, SettingValue};

use super::Core;
use super::requests::{Answer, fail};
use crate::settings::SettingsError;

fn refused(e: SettingsError) -> wimsy_ipc::ErrorBody {
    let code = match e {
        SettingsError::Unknown { .. } => ErrorCode::UnknownSetting,
        SettingsError::Invalid(_) => ErrorCode::InvalidArgument,
        SettingsError::Save(_) => ErrorCode::Internal,
    };
    fail(code, e.to_string())
}

impl Core {
    pub(super) fn settings_get(&self, key: Option<&str>) -> Answer {
        let settings = match key {
            None => self.settings.all(),
            Some(key) => vec![self.settings.get(key.trim()).map_err(refused)?],
        };
        Ok(Response::Settings { settings })
    }

    pub(super) fn settings_set(&mut self, key: &str, value: &SettingValue) -> Answer {
        let key = key.trim();
        let before = self.settings.get(key).map_err(refused)?.value;
        let setting = self.settings.set(key, value).map_err(refused)?;
        if setting.value != before {
            tracing::info!(key, value = %setting.value, "setting changed");
            self.publish(Event::Setting {
                key: setting.key.clone(),
                value: setting.value.clone(),
            });
            self.on_notification_setting(&setting.key, setting.value.as_bool());
            self.on_attention_setting(&setting.key);
        }
        Ok(Response::Settings {
            settings: vec![setting],
        })
    }
}
