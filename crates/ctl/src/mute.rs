//! When a mute ends, as `wimsyctl mute` takes it: `--for 8h` or
//! `--until 07:30` / an RFC 3339 date-time.

use std::time::Duration;

use chrono::{DateTime, Local, NaiveTime, TimeZone};

/// A duration like `30m`, `8h`, `2d`, `1h30m` or `90s`.
pub fn duration(text: &str) -> Result<Duration, String> {
    let wrong = || {
        format!(
            "{text:?} is not a duration: give a number and a unit, like 30m, 8h, 2d or 1h30m \
             (s, m, h, d)"
        )
    };
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(wrong()),
        };
        let n: u64 = number.parse().map_err(|_| wrong())?;
        number.clear();
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(wrong)?;
    }
    if !number.is_empty() || total == 0 {
        return Err(wrong());
    }
    Ok(Duration::from_secs(total))
}

/// A time of day (`07:30`, the next one to come) or an RFC 3339
/// date-time, as given; checked when the mute is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Until {
    /// The next time the clock shows this.
    TimeOfDay(NaiveTime),
    /// This moment.
    Moment(DateTime<chrono::FixedOffset>),
}

pub fn until(text: &str) -> Result<Until, String> {
    let text = text.trim();
    if let Ok(time) = NaiveTime::parse_from_str(text, "%H:%M") {
        return Ok(Until::TimeOfDay(time));
    }
    DateTime::parse_from_rfc3339(text)
        .map(Until::Moment)
        .map_err(|_| {
            format!(
                "{text:?} is not a time: give a time of day like 07:30 or a date and time like \
                 2026-12-24T18:00:00+01:00"
            )
        })
}

/// When the mute ends, in ms since the epoch, reckoned from `now`; `None`
/// for a mute until unmuted.
pub fn end_ms(
    for_: Option<Duration>,
    until: Option<&Until>,
    now: DateTime<Local>,
) -> Result<Option<i64>, String> {
    let end = match (for_, until) {
        (Some(d), _) => {
            let d = chrono::Duration::from_std(d).map_err(|_| "that is too long".to_owned())?;
            now.checked_add_signed(d)
                .ok_or_else(|| "that is too long".to_owned())?
                .timestamp_millis()
        }
        (None, Some(Until::TimeOfDay(time))) => {
            let today = now.date_naive().and_time(*time);
            let mut at = Local
                .from_local_datetime(&today)
                .earliest()
                .ok_or_else(|| format!("{time} does not exist today (the clocks change)"))?;
            if at <= now {
                let tomorrow = today + chrono::Duration::days(1);
                at = Local
                    .from_local_datetime(&tomorrow)
                    .earliest()
                    .ok_or_else(|| format!("{time} does not exist tomorrow (the clocks change)"))?;
            }
            at.timestamp_millis()
        }
        (None, Some(Until::Moment(moment))) => {
            if *moment <= now {
                return Err(format!(
                    "{} has passed; give a time still to come",
                    moment.to_rfc3339()
                ));
            }
            moment.timestamp_millis()
        }
        (None, None) => return Ok(None),
    };
    Ok(Some(end))
}

/// `until_ms` in words for people: the local time, with the date when it
/// is not today.
pub fn end_text(until_ms: Option<i64>, now: DateTime<Local>) -> String {
    let Some(at) = until_ms.and_then(|ms| Local.timestamp_millis_opt(ms).single()) else {
        return "until you unmute it".to_owned();
    };
    if at.date_naive() == now.date_naive() {
        format!("until {}", at.format("%H:%M"))
    } else {
        format!("until {}", at.format("%Y-%m-%d %H:%M"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn at(h: u32, m: u32) -> DateTime<Local> {
        Local
            .from_local_datetime(
                &chrono::NaiveDate::from_ymd_opt(2026, 12, 3)
                    .unwrap()
                    .and_hms_opt(h, m, 0)
                    .unwrap(),
            )
            .earliest()
            .unwrap()
    }

    #[test]
    fn durations_take_units_and_sums_and_refuse_the_rest() {
        assert_eq!(duration("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(duration("8h").unwrap(), Duration::from_secs(8 * 3600));
        assert_eq!(duration("2d").unwrap(), Duration::from_secs(2 * 86_400));
        assert_eq!(duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(duration("5s").unwrap(), Duration::from_secs(5));
        for bad in ["", "30", "m", "3x", "0m", "-5m", "1.5h"] {
            assert!(duration(bad).unwrap_err().contains("30m, 8h"), "{bad}");
        }
    }

    #[test]
    fn a_time_of_day_is_the_next_one_to_come() {
        let now = at(22, 0);
        let later = end_ms(None, Some(&until("23:15").unwrap()), now)
            .unwrap()
            .unwrap();
        assert_eq!(later, at(23, 15).timestamp_millis());
        let tomorrow = end_ms(None, Some(&until("07:30").unwrap()), now)
            .unwrap()
            .unwrap();
        assert_eq!(
            tomorrow,
            (at(7, 30) + chrono::Duration::days(1)).timestamp_millis()
        );
        assert_eq!(end_text(Some(later), now), "until 23:15");
        assert!(end_text(Some(tomorrow), now).starts_with("until 2026-12-04 07:30"));
    }

    #[test]
    fn a_duration_counts_from_now_and_a_past_moment_is_refused() {
        let now = at(12, 0);
        assert_eq!(
            end_ms(Some(Duration::from_secs(3600)), None, now).unwrap(),
            Some(at(13, 0).timestamp_millis())
        );
        assert_eq!(end_ms(None, None, now).unwrap(), None);
        let past = until("2020-01-01T00:00:00Z").unwrap();
        assert!(
            end_ms(None, Some(&past), now)
                .unwrap_err()
                .contains("has passed")
        );
        assert!(until("tomorrow").unwrap_err().contains("07:30"));
        assert_eq!(end_text(None, now), "until you unmute it");
    }
}
