//! The history paging cursor.

use std::fmt;
use std::str::FromStr;

use crate::error::InvalidCursor;

/// A position in a conversation: the `(timestamp_ms, id)` of a message.
///
/// History is ordered by that pair, so "everything before this cursor" is a
/// keyset range: pages stay stable while new messages arrive, which OFFSET
/// paging would not, and the cost of a page does not grow with its depth.
/// Frontends should treat the string form as opaque.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor {
    /// The message's timestamp.
    pub timestamp_ms: i64,
    /// The message's id, breaking ties between equal timestamps.
    pub id: i64,
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.timestamp_ms, self.id)
    }
}

impl FromStr for Cursor {
    type Err = InvalidCursor;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidCursor {
            input: s.chars().take(64).collect(),
        };
        // Split at the last '-' so a (pre-1970, i.e. bogus but storable)
        // negative timestamp still round-trips.
        let (ts, id) = s.rsplit_once('-').ok_or_else(invalid)?;
        let is_number = |p: &str| {
            let digits = p.strip_prefix('-').unwrap_or(p);
            !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
        };
        // Digits only: i64::from_str would also take a leading '+', and a
        // cursor has exactly one spelling.
        if !is_number(ts) || !id.bytes().all(|b| b.is_ascii_digit()) || id.is_empty() {
            return Err(invalid());
        }
        Ok(Cursor {
            timestamp_ms: ts.parse().map_err(|_| invalid())?,
            id: id.parse().map_err(|_| invalid())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for c in [
            Cursor {
                timestamp_ms: 1_700_000_000_000,
                id: 42,
            },
            Cursor {
                timestamp_ms: 0,
                id: 1,
            },
            Cursor {
                timestamp_ms: -5,
                id: 7,
            },
            Cursor {
                timestamp_ms: i64::MAX,
                id: i64::MAX,
            },
        ] {
            assert_eq!(c.to_string().parse::<Cursor>().unwrap(), c);
        }
        assert_eq!(
            Cursor {
                timestamp_ms: 1_700_000_000_000,
                id: 42
            }
            .to_string(),
            "1700000000000-42"
        );
    }

    #[test]
    fn garbage_is_refused() {
        for s in [
            "",
            "-",
            "42",
            "abc-1",
            "1-abc",
            "1-",
            "-1",
            "1--2",
            "+1-2",
            "1-+2",
            "1 -2",
            "99999999999999999999-1",
        ] {
            assert!(s.parse::<Cursor>().is_err(), "{s:?} parsed");
        }
        let e = "nonsense".parse::<Cursor>().unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"invalid history cursor "nonsense" (expected TIMESTAMP-ID, as handed out with a history page)"#
        );
        let long = "x".repeat(10_000);
        assert!(long.parse::<Cursor>().unwrap_err().to_string().len() < 200);
    }
}
