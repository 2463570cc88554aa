//! The history paging cursor.

use std::fmt;
use std::str::FromStr;

use crate::error::InvalidCursor;

/// A position in a conversation: the `seq` of a message, its place in the
/// account's history.
///
/// History is ordered by `seq`, so "everything before this cursor" is a
/// keyset range: pages stay stable while new messages arrive, which OFFSET
/// paging would not, and the cost of a page does not grow with its depth.
/// A catch-up may move a message already paged past to a later place
/// (see the crate docs); it then shows up again only in a newer page.
/// Frontends should treat the string form as opaque.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor {
    /// The `seq` of the oldest message of the page before.
    pub seq: i64,
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.seq)
    }
}

impl FromStr for Cursor {
    type Err = InvalidCursor;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidCursor {
            input: s.chars().take(64).collect(),
        };
        // Digits only: i64::from_str would also take a leading '+', and a
        // cursor has exactly one spelling.
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        Ok(Cursor {
            seq: s.parse().map_err(|_| invalid())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for seq in [0, 1, 42, i64::MAX] {
            let c = Cursor { seq };
            assert_eq!(c.to_string().parse::<Cursor>().unwrap(), c);
        }
        assert_eq!(Cursor { seq: 42 }.to_string(), "42");
    }

    #[test]
    fn garbage_is_refused() {
        for s in [
            "",
            "-",
            "-1",
            "abc",
            "1a",
            "+1",
            " 1",
            "1 ",
            "1-2",
            // The spelling before history had its own order.
            "1700000000000-7",
            "99999999999999999999",
        ] {
            assert!(s.parse::<Cursor>().is_err(), "{s:?} parsed");
        }
        let e = "nonsense".parse::<Cursor>().unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"invalid history cursor "nonsense" (expected a cursor as handed out with a history page)"#
        );
        let long = "x".repeat(10_000);
        assert!(long.parse::<Cursor>().unwrap_err().to_string().len() < 200);
    }
}
