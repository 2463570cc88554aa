//! Turning protocol values into text: short aligned lines for people, the
//! protocol's own JSON for scripts. Every function here is pure.

pub mod follow;
pub mod hint;
pub mod response;
pub mod settings;

use chrono::{DateTime, Local, Utc};
use wimsy_ipc::{
    ConnectionState, ConnectionStatus, Delivery, Direction, OwnPresence, PresenceView, Show,
};

/// Which clock times are shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The user's local time zone.
    Local,
    /// UTC, so that tests do not depend on the machine's time zone. (People
    /// who want UTC set `TZ=UTC`.)
    #[cfg(test)]
    Utc,
}

impl Clock {
    /// `YYYY-MM-DD HH:MM` for milliseconds since the epoch.
    pub fn format(self, timestamp_ms: i64) -> String {
        const FORMAT: &str = "%Y-%m-%d %H:%M";
        match DateTime::<Utc>::from_timestamp_millis(timestamp_ms) {
            Some(utc) => match self {
                Self::Local => utc.with_timezone(&Local).format(FORMAT).to_string(),
                #[cfg(test)]
                Self::Utc => utc.format(FORMAT).to_string(),
            },
            None => "????-??-?? ??:??".into(),
        }
    }
}

/// The words for a connection state in what a person reads (`--json`
/// keeps the protocol's names, for scripts).
pub fn state_word(state: ConnectionState) -> &'static str {
    match state {
        ConnectionState::WaitingForNetwork => "waiting for network",
        other => other.as_str(),
    }
}

/// What is known beside the state: the reason, for a certificate error
/// the offered certificate's fingerprint, and for `connecting` the attempt
/// and the time to the next one. Empty when there is nothing.
pub fn status_detail(status: &ConnectionStatus) -> String {
    let mut reason = inline(status.reason.trim());
    // Our daemon's reason already names it; another one's might not.
    if let Some(fingerprint) = status.fingerprint.as_deref().map(str::trim)
        && !fingerprint.is_empty()
        && !reason.contains(fingerprint)
    {
        let fingerprint = format!("certificate fingerprint {}", inline(fingerprint));
        reason = if reason.is_empty() {
            fingerprint
        } else {
            format!("{reason}; {fingerprint}")
        };
    }
    let mut retry = Vec::new();
    if let Some(attempt) = status.attempt {
        retry.push(format!("attempt {attempt}"));
    }
    if let Some(ms) = status.retry_in_ms {
        retry.push(format!("next try in {}", duration(ms)));
    }
    let retry = retry.join(", ");
    match (reason.is_empty(), retry.is_empty()) {
        (true, _) => retry,
        (false, true) => reason,
        (false, false) => format!("{reason} ({retry})"),
    }
}

/// One line per account with something to do: `JID: what to do`.
pub fn hint_lines<'a>(
    accounts: impl IntoIterator<Item = (&'a str, &'a ConnectionStatus)>,
) -> String {
    accounts
        .into_iter()
        .filter_map(|(jid, status)| Some(format!("{}: {}", inline(jid), hint::hint(jid, status)?)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `connecting: connection refused (attempt 3, next try in 4s)`.
pub fn status_text(status: &ConnectionStatus) -> String {
    let detail = status_detail(status);
    let word = state_word(status.state);
    if detail.is_empty() {
        word.to_owned()
    } else {
        format!("{word}: {detail}")
    }
}

/// A short duration: `850ms`, `4s`, `2m05s`, `1h30m`.
pub fn duration(ms: u64) -> String {
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = ms.div_ceil(1000);
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60),
    }
}

/// `<-` for a message from the peer, `->` for one from us.
pub fn arrow(direction: Direction) -> &'static str {
    match direction {
        Direction::In => "<-",
        Direction::Out => "->",
        Direction::Unknown => "--",
    }
}

/// The delivery state as spelled on the wire.
pub fn delivery_word(delivery: Delivery) -> &'static str {
    match delivery {
        Delivery::Received => "received",
        Delivery::Queued => "queued",
        Delivery::Sent => "sent",
        Delivery::Acked => "acked",
        Delivery::Failed => "failed",
        Delivery::Unknown => "unknown",
    }
}

/// `offline`, `online`, `away`, `dnd (in a meeting)`, ...
pub fn presence_text(presence: &PresenceView) -> String {
    let word = if !presence.available {
        "offline".to_owned()
    } else {
        match presence.show.as_deref().map(str::trim) {
            None | Some("") => "online".to_owned(),
            Some(show) => inline(show),
        }
    };
    match presence.status.as_deref().map(str::trim) {
        Some(status) if !status.is_empty() => format!("{word} ({})", inline(status)),
        _ => word,
    }
}

/// One's own presence in words: `available`, `away (at lunch)`,
/// `do not disturb`.
pub fn own_presence_text(presence: &OwnPresence) -> String {
    let word = match presence.show {
        Show::Available => "available",
        Show::Away => "away",
        Show::Dnd => "do not disturb",
        // A newer daemon's: wimsyctl cannot say which.
        Show::Unknown => "set by a newer wimsyd",
    };
    match presence.status.as_deref().map(str::trim) {
        Some(status) if !status.is_empty() => format!("{word} ({})", inline(status)),
        _ => word.to_owned(),
    }
}

/// Text from the network made safe for one line of a terminal: line breaks
/// and tabs become spaces, other control and bidi-override characters are
/// shown escaped, so a peer cannot move the cursor or recolour the terminal.
pub fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if is_unsafe(c) => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}

/// Like [`inline`], keeping line breaks: one string per line.
pub fn lines(text: &str) -> Vec<String> {
    text.split('\n')
        .map(|line| inline(line.strip_suffix('\r').unwrap_or(line)))
        .collect()
}

fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `prefix` then `body`, continuation lines indented under the first.
pub fn indented(prefix: &str, body: &str) -> String {
    let pad = " ".repeat(prefix.chars().count());
    let mut out = String::new();
    for (i, line) in lines(body).iter().enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(&pad);
        } else {
            out.push_str(prefix);
        }
        out.push_str(line);
    }
    out
}

/// Rows aligned in columns two spaces apart; the last column is not padded
/// and no line ends in spaces.
pub fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; columns];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    rows.iter()
        .map(|row| {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                if i + 1 < row.len() {
                    let pad = widths[i] - cell.chars().count();
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            line.trim_end().to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A word safe to paste into a shell as it is, else single-quoted.
pub fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", inline(word).replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use wimsy_ipc::ConnectionError;

    use super::*;

    #[test]
    fn times_are_minutes() {
        assert_eq!(Clock::Utc.format(0), "1970-01-01 00:00");
        assert_eq!(Clock::Utc.format(1_714_572_225_123), "2024-05-01 14:03");
        assert_eq!(Clock::Utc.format(i64::MAX), "????-??-?? ??:??");
        assert_eq!(Clock::Local.format(0).len(), "1970-01-01 00:00".len());
    }

    #[test]
    fn durations_are_short() {
        assert_eq!(duration(0), "0ms");
        assert_eq!(duration(850), "850ms");
        assert_eq!(duration(1000), "1s");
        assert_eq!(duration(3200), "4s");
        assert_eq!(duration(59_000), "59s");
        assert_eq!(duration(125_000), "2m05s");
        assert_eq!(duration(5_400_000), "1h30m");
    }

    #[test]
    fn status_detail_combines_reason_and_retry() {
        let mut status = ConnectionStatus::new(ConnectionState::Connecting, "connection refused");
        assert_eq!(status_detail(&status), "connection refused");
        status.attempt = Some(3);
        status.retry_in_ms = Some(4000);
        assert_eq!(
            status_detail(&status),
            "connection refused (attempt 3, next try in 4s)"
        );
        assert_eq!(
            status_text(&status),
            "connecting: connection refused (attempt 3, next try in 4s)"
        );
        status.reason.clear();
        assert_eq!(status_detail(&status), "attempt 3, next try in 4s");
        let connected = ConnectionStatus::new(ConnectionState::Connected, "");
        assert_eq!(status_detail(&connected), "");
        assert_eq!(status_text(&connected), "connected");
        let mut error = ConnectionStatus::new(
            ConnectionState::Error,
            "authentication failed: not-authorized",
        );
        error.error = Some(ConnectionError::Authentication);
        assert_eq!(
            status_text(&error),
            "error: authentication failed: not-authorized"
        );
    }

    #[test]
    fn a_certificate_error_shows_the_fingerprint() {
        let fp = "SHA256:AB:CD";
        let mut error = ConnectionStatus::new(ConnectionState::Error, "not trusted");
        error.error = Some(ConnectionError::Certificate);
        error.fingerprint = Some(fp.into());
        assert_eq!(
            status_text(&error),
            "error: not trusted; certificate fingerprint SHA256:AB:CD"
        );
        // Not twice when the reason already says it.
        error.reason = format!("not trusted; `wimsyctl account trust a@b {fp}`");
        assert_eq!(status_detail(&error), error.reason);
        error.reason.clear();
        assert_eq!(
            status_detail(&error),
            "certificate fingerprint SHA256:AB:CD"
        );
    }

    #[test]
    fn state_words_are_plain_words() {
        let words: Vec<_> = [
            ConnectionState::Connected,
            ConnectionState::Connecting,
            ConnectionState::WaitingForNetwork,
            ConnectionState::Offline,
            ConnectionState::Error,
        ]
        .into_iter()
        .map(state_word)
        .collect();
        assert_eq!(
            words,
            [
                "connected",
                "connecting",
                "waiting for network",
                "offline",
                "error"
            ]
        );
    }

    #[test]
    fn presence() {
        let mut p = PresenceView::default();
        assert_eq!(presence_text(&p), "offline");
        p.available = true;
        assert_eq!(presence_text(&p), "online");
        p.show = Some("away".into());
        assert_eq!(presence_text(&p), "away");
        p.status = Some("at lunch".into());
        assert_eq!(presence_text(&p), "away (at lunch)");
        p.status = Some("  ".into());
        assert_eq!(presence_text(&p), "away");
    }

    #[test]
    fn own_presence_words() {
        let mut p = OwnPresence::default();
        assert_eq!(own_presence_text(&p), "available");
        p.show = Show::Dnd;
        assert_eq!(own_presence_text(&p), "do not disturb");
        p.show = Show::Away;
        p.status = Some("at\nlunch".into());
        assert_eq!(own_presence_text(&p), "away (at lunch)");
    }

    #[test]
    fn terminal_escapes_are_defused() {
        assert_eq!(inline("a\tb\nc"), "a b c");
        assert_eq!(inline("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(inline("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(inline("héllo ✓"), "héllo ✓");
        assert_eq!(lines("one\r\ntwo\n\u{7}"), ["one", "two", "\\u{7}"]);
    }

    #[test]
    fn continuation_lines_are_indented() {
        assert_eq!(indented("> ", "one"), "> one");
        assert_eq!(indented("> ", "one\ntwo"), "> one\n  two");
    }

    #[test]
    fn tables_align_and_trim() {
        let rows = vec![
            vec!["A".to_owned(), "STATE".to_owned(), "X".to_owned()],
            vec!["long-name".to_owned(), "ok".to_owned(), String::new()],
        ];
        assert_eq!(table(&rows), "A          STATE  X\nlong-name  ok");
        assert_eq!(table(&[]), "");
    }

    #[test]
    fn shell_words() {
        assert_eq!(shell_word("c-123:45"), "c-123:45");
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
