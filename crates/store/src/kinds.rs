//! The small enums stored as TEXT. They are this crate's own (not the IPC
//! protocol's) so the on-disk format never changes because a wire type did.

use std::fmt;
use std::str::FromStr;

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use crate::error::UnknownValue;

/// Which way a message went, seen from the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Received from the peer.
    In,
    /// Sent by this account (from here or, via carbons, another device).
    Out,
}

impl Direction {
    /// The stored form: `"in"` or `"out"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Out => "out",
        }
    }
}

impl FromStr for Direction {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "in" => Ok(Self::In),
            "out" => Ok(Self::Out),
            _ => Err(unknown("direction", s, "in, out")),
        }
    }
}

/// How far a message got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// An incoming message.
    Received,
    /// Outgoing, waiting to be sent.
    Queued,
    /// Outgoing, written to the stream but not yet acknowledged.
    Sent,
    /// Outgoing, acknowledged by the server (XEP-0198) or the peer.
    Acked,
    /// Outgoing, bounced or given up on.
    Failed,
}

impl Delivery {
    /// The stored form: `"received"`, `"queued"`, `"sent"`, `"acked"` or `"failed"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Acked => "acked",
            Self::Failed => "failed",
        }
    }

    /// Position on the queued → sent → acked path, for states on it. Used to
    /// only ever move a duplicate forward: an archived copy of a message we
    /// still think is queued proves the server has it, and resending it
    /// would show the peer the message twice.
    pub(crate) fn progress(self) -> Option<u8> {
        match self {
            Self::Queued => Some(0),
            Self::Sent => Some(1),
            Self::Acked => Some(2),
            Self::Received | Self::Failed => None,
        }
    }
}

impl FromStr for Delivery {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "received" => Ok(Self::Received),
            "queued" => Ok(Self::Queued),
            "sent" => Ok(Self::Sent),
            "acked" => Ok(Self::Acked),
            "failed" => Ok(Self::Failed),
            _ => Err(unknown(
                "delivery state",
                s,
                "received, queued, sent, acked, failed",
            )),
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn unknown(kind: &'static str, value: &str, expected: &'static str) -> UnknownValue {
    UnknownValue {
        kind,
        // Only ever our own column values or a caller's string, but keep the
        // error bounded anyway.
        value: value.chars().take(32).collect(),
        expected,
    }
}

impl ToSql for Direction {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for Direction {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        value
            .as_str()?
            .parse()
            .map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

impl ToSql for Delivery {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for Delivery {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        value
            .as_str()?
            .parse()
            .map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_round_trip() {
        for d in [Direction::In, Direction::Out] {
            assert_eq!(d.as_str().parse::<Direction>().unwrap(), d);
        }
        for d in [
            Delivery::Received,
            Delivery::Queued,
            Delivery::Sent,
            Delivery::Acked,
            Delivery::Failed,
        ] {
            assert_eq!(d.as_str().parse::<Delivery>().unwrap(), d);
        }
    }

    #[test]
    fn unknown_strings_are_refused() {
        let e = "IN".parse::<Direction>().unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"unknown direction "IN" (expected one of in, out)"#
        );
        assert!("delivered".parse::<Delivery>().is_err());
        assert!("".parse::<Delivery>().is_err());
    }
}
