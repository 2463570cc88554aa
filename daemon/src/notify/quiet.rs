//! Quiet hours (`notifications.quiet_hours`): a daily window of local time,
//! `HH:MM-HH:MM`, that may cross midnight, or `off`.

use std::time::Duration;

use chrono::{NaiveTime, Timelike};

/// The setting's word for no quiet hours.
pub(crate) const OFF: &str = "off";

/// A daily window, in minutes after local midnight; `start` is in it,
/// `end` is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QuietHours {
    start: u32,
    end: u32,
}

impl QuietHours {
    /// The setting's value: `None` for `off`, the window for
    /// `HH:MM-HH:MM`, or what is allowed instead.
    pub(crate) fn parse(text: &str) -> Result<Option<Self>, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case(OFF) || text.is_empty() {
            return Ok(None);
        }
        let wrong = || {
            format!(
                "quiet hours are a start and an end time like 22:00-07:30 (local time, 24-hour \
                 clock), or off; {text:?} is neither"
            )
        };
        let (start, end) = text.split_once('-').ok_or_else(wrong)?;
        let start = minutes(start).ok_or_else(wrong)?;
        let end = minutes(end).ok_or_else(wrong)?;
        if start == end {
            return Err(format!(
                "quiet hours {text:?} start and end at the same time; to silence every \
                 notification, turn on do not disturb instead"
            ));
        }
        Ok(Some(Self { start, end }))
    }

    /// The window as the setting stores it.
    pub(crate) fn to_setting(self) -> String {
        format!(
            "{:02}:{:02}-{:02}:{:02}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }

    /// Whether local time `now` is in the window.
    pub(crate) fn contains(self, now: NaiveTime) -> bool {
        let t = now.hour() * 60 + now.minute();
        if self.start < self.end {
            self.start <= t && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }

    /// How long from local time `now` until the window next ends.
    pub(crate) fn until_end(self, now: NaiveTime) -> Duration {
        let now_s = now.num_seconds_from_midnight();
        let end_s = self.end * 60;
        let day = 24 * 60 * 60;
        let wait = if end_s > now_s {
            end_s - now_s
        } else {
            end_s + day - now_s
        };
        Duration::from_secs(u64::from(wait))
    }
}

/// `HH:MM` (or `H:MM`) as minutes after midnight.
fn minutes(text: &str) -> Option<u32> {
    let (h, m) = text.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: u32 = h.parse().ok()?;
    let m: u32 = m.parse().ok()?;
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// The settings checker: the tidied value, or what is allowed instead.
pub(crate) fn check_setting(text: &str) -> Result<String, String> {
    Ok(QuietHours::parse(text)?.map_or_else(|| OFF.to_owned(), QuietHours::to_setting))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn at(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn a_window_across_midnight_holds_late_evening_and_early_morning_only() {
        let q = QuietHours::parse("22:00-07:30").unwrap().unwrap();
        assert!(q.contains(at(22, 0)));
        assert!(q.contains(at(23, 59)));
        assert!(q.contains(at(0, 0)));
        assert!(q.contains(at(7, 29)));
        assert!(!q.contains(at(7, 30)));
        assert!(!q.contains(at(12, 0)));
        assert!(!q.contains(at(21, 59)));
        assert_eq!(q.until_end(at(23, 0)), Duration::from_secs(8 * 3600 + 1800));
        assert_eq!(q.until_end(at(7, 0)), Duration::from_secs(1800));
    }

    #[test]
    fn a_window_within_one_day() {
        let q = QuietHours::parse(" 9:00-17:00 ").unwrap().unwrap();
        assert_eq!(q.to_setting(), "09:00-17:00");
        assert!(q.contains(at(9, 0)));
        assert!(q.contains(at(16, 59)));
        assert!(!q.contains(at(17, 0)));
        assert!(!q.contains(at(8, 59)));
        assert!(!q.contains(at(23, 0)));
    }

    #[test]
    fn the_setting_takes_off_or_a_window_and_says_what_is_wrong() {
        assert_eq!(check_setting("OFF").unwrap(), "off");
        assert_eq!(check_setting("23:05-06:00").unwrap(), "23:05-06:00");
        for bad in [
            "22-07",
            "25:00-07:00",
            "22:00",
            "22:00-07:60",
            "10:00-10:00",
            "a:bc-d:ef",
        ] {
            let why = check_setting(bad).unwrap_err();
            assert!(why.contains(bad) || why.contains("same time"), "{why}");
        }
    }
}
