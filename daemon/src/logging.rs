//! Logging setup. tokio-xmpp's trace-level wire capture prints every
//! element sent and received, the SASL `<auth>` exchange included (with
//! PLAIN that is the password in base64). Every line passes through
//! [`Redacting`], which blanks SASL elements, so a trace log is safe to
//! share.

use std::io::{self, Write};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

const SASL_NS: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
const REDACTED: &str = "[SASL exchange redacted]";

/// Start logging to stderr, filtered by `WIMSY_LOG` (default `info`).
pub fn init() {
    let filter = EnvFilter::try_from_env("WIMSY_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only on a terminal: not in journald, files or pipes.
    let ansi = io::IsTerminal::is_terminal(&io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(Redacting(io::stderr))
        .init();
}

/// Blank the content of any line that carries a SASL element.
pub fn redact(line: &str) -> std::borrow::Cow<'_, str> {
    if !line.contains(SASL_NS) {
        return std::borrow::Cow::Borrowed(line);
    }
    // Keep what precedes the first element (time, level, target, "SEND")
    // so the log still shows that an exchange happened.
    let cut = line.find('<').unwrap_or(line.len());
    let mut out = String::with_capacity(cut + REDACTED.len() + 1);
    out.push_str(&line[..cut]);
    out.push_str(REDACTED);
    if line.ends_with('\n') {
        out.push('\n');
    }
    std::borrow::Cow::Owned(out)
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
