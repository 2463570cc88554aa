//! Logging setup. tokio-xmpp's trace-level wire capture prints every
//! element sent and received, the SASL `<auth>` exchange included (with
//! PLAIN that is the password in base64). Every line passes through
//! [`Redacting`], which blanks SASL elements, so a trace log is safe to
//! share.
//!
//! Under systemd, stderr goes to the journal, which stamps each line with
//! its own time and reads its priority from a `<N>` prefix: there the lines
//! carry that prefix and no time of their own (and never colours).

use std::fmt;
use std::io::{self, Write};

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

const SASL_NS: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
const REDACTED: &str = "[SASL exchange redacted]";

/// Start logging to stderr, filtered by `WIMSY_LOG` (default `info`).
pub fn init() {
    let filter = EnvFilter::try_from_env("WIMSY_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Redacting(io::stderr));
    if stderr_is_journal() {
        builder
            .with_ansi(false)
            .event_format(JournalPriority(
                tracing_subscriber::fmt::format().without_time(),
            ))
            .init();
    } else {
        // Colours only on a terminal: not in files or pipes.
        builder
            .with_ansi(io::IsTerminal::is_terminal(&io::stderr()))
            .init();
    }
}

/// Tell of a failure that ends wimsyd, on stderr, with the priority prefix
/// the journal reads when it is the journal that reads.
pub fn fatal(message: &dyn fmt::Display) {
    let prefix = if stderr_is_journal() { "<3>" } else { "" };
    eprintln!("{prefix}wimsyd: {message}");
}

/// systemd sets `JOURNAL_STREAM` to the device and inode of the stream it
/// connected to the journal; a stderr that is that very stream (not one
/// redirected since, nor inherited by a child started by hand) writes to it.
fn stderr_is_journal() -> bool {
    #[cfg(unix)]
    {
        let Some(value) = std::env::var_os("JOURNAL_STREAM") else {
            return false;
        };
        let Ok(stat) = rustix::fs::fstat(io::stderr()) else {
            return false;
        };
        // dev_t is u64 on Linux but i32 on macOS: try_from fits both.
        #[allow(clippy::useless_conversion)]
        let (Some(dev), Some(ino)) = (
            u64::try_from(stat.st_dev).ok(),
            u64::try_from(stat.st_ino).ok(),
        ) else {
            return false;
        };
        value
            .to_str()
            .is_some_and(|value| names_stream(value, dev, ino))
    }
    #[cfg(not(unix))]
    false
}

/// Whether a `JOURNAL_STREAM` value (`DEVICE:INODE`) names this stream.
pub fn names_stream(journal_stream: &str, dev: u64, ino: u64) -> bool {
    journal_stream
        .split_once(':')
        .and_then(|(d, i)| Some((d.parse::<u64>().ok()?, i.parse::<u64>().ok()?)))
        == Some((dev, ino))
}

/// The syslog priority of a level, as the journal reads it from `<N>`.
fn priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

/// Lines for the journal: `<N>` then the line as the inner format writes it.
struct JournalPriority<F>(F);

impl<S, N, F> FormatEvent<S, N> for JournalPriority<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(writer, "<{}>", priority(event.metadata().level()))?;
        self.0.format_event(ctx, writer, event)
    }
}

/// Blank the content of any line that carries a SASL element.
pub fn redact(line: &str) -> std::borrow::Cow<'_, str> {
    if !line.contains(SASL_NS) {
        return std::borrow::Cow::Borrowed(line);
    }
    // Keep what precedes the first element (journal priority, time, level,
    // target, "SEND") so the log still shows that an exchange happened.
    let start = journal_prefix_len(line);
    let cut = line[start..].find('<').map_or(line.len(), |i| start + i);
    let mut out = String::with_capacity(cut + REDACTED.len() + 1);
    out.push_str(&line[..cut]);
    out.push_str(REDACTED);
    if line.ends_with('\n') {
        out.push('\n');
    }
    std::borrow::Cow::Owned(out)
}

/// The length of a leading `<N>` priority prefix, or 0.
fn journal_prefix_len(line: &str) -> usize {
    let bytes = line.as_bytes();
    match bytes {
        [b'<', digit, b'>', ..] if digit.is_ascii_digit() => 3,
        _ => 0,
    }
}

/// A `MakeWriter` whose writers redact each formatted event.
#[derive(Debug, Clone, Copy)]
pub struct Redacting<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            inner: self.0.make_writer(),
            buf: Vec::new(),
        }
    }
}

/// Collects one event, then writes it redacted.
#[derive(Debug)]
pub struct RedactingWriter<W: Write> {
    inner: W,
    buf: Vec<u8>,
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return self.inner.flush();
        }
        let text = String::from_utf8_lossy(&self.buf);
        let result = self.inner.write_all(redact(&text).as_bytes());
        self.buf.clear();
        result.and_then(|()| self.inner.flush())
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        // tracing-subscriber writes an event and drops the writer.
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sasl_lines_are_blanked_and_others_kept() {
        let auth = "2026-01-01T00:00:00Z TRACE tokio_xmpp::xmlstream::capture: SEND <auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth>\n";
        let redacted = redact(auth);
        assert!(!redacted.contains("AGFsaWNlAHNlY3JldA=="), "{redacted}");
        assert!(
            redacted.contains("SEND [SASL exchange redacted]"),
            "{redacted}"
        );
        assert!(redacted.ends_with('\n'));
        let message =
            "TRACE capture: RECV <message xmlns='jabber:client'><body>hi</body></message>";
        assert_eq!(redact(message), message);
    }

    #[test]
    fn a_journal_line_keeps_its_priority_when_redacted() {
        let auth = "<7>TRACE tokio_xmpp::xmlstream::capture: SEND <auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth>\n";
        let redacted = redact(auth);
        assert!(!redacted.contains("AGFsaWNlAHNlY3JldA=="), "{redacted}");
        assert_eq!(
            redacted,
            "<7>TRACE tokio_xmpp::xmlstream::capture: SEND [SASL exchange redacted]\n"
        );
    }

    #[test]
    fn journal_stream_must_name_this_very_stream() {
        assert!(names_stream("8:4242", 8, 4242));
        assert!(!names_stream("8:4242", 8, 4243), "another inode");
        assert!(!names_stream("9:4242", 8, 4242), "another device");
        assert!(!names_stream("", 8, 4242));
        assert!(!names_stream("8", 8, 4242));
        assert!(!names_stream("8:x", 8, 4242));
    }

    #[test]
    fn priorities_are_syslog_ones() {
        assert_eq!(priority(&Level::ERROR), 3);
        assert_eq!(priority(&Level::WARN), 4);
        assert_eq!(priority(&Level::INFO), 6);
        assert_eq!(priority(&Level::DEBUG), 7);
        assert_eq!(priority(&Level::TRACE), 7);
    }

    #[test]
    fn the_writer_redacts_what_passes_through_it() {
        let mut sink = Vec::new();
        {
            let mut writer = RedactingWriter {
                inner: &mut sink,
                buf: Vec::new(),
            };
            writeln!(
                writer,
                "SEND <response xmlns=\"urn:ietf:params:xml:ns:xmpp-sasl\">c2VjcmV0</response>"
            )
            .unwrap();
        }
        let out = String::from_utf8(sink).unwrap();
        assert!(
            !out.contains("c2VjcmV0") && out.contains("redacted"),
            "{out}"
        );
    }
}
