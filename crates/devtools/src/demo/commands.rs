//! What the demo prints for a person to type: whole commands with absolute
//! paths, which work from any directory, pasted as they are.

use std::ffi::OsString;
use std::path::Path;

/// What the printed commands are made of.
pub(super) struct Printed<'a> {
    /// Where `wimsyd`, `wimsyctl` and `wimsy` are.
    pub(super) bins: &'a Path,
    /// Alice's daemon's socket.
    pub(super) socket: &'a Path,
    /// Alice's config directory, which the window shares.
    pub(super) config: &'a Path,
    pub(super) alice: &'a str,
    pub(super) bob: &'a str,
}

impl Printed<'_> {
    /// The lines printed once everything runs.
    pub(super) fn try_these(&self, window: bool) -> String {
        let ctl = format!(
            "{} --socket {}",
            word(&self.bins.join("wimsyctl").to_string_lossy()),
            word(&self.socket.to_string_lossy())
        );
        let bob = word(self.bob);
        let mut lines = vec![
            format!(
                "demo: alice's wimsyd listens on {}; bob has said hello to her",
                self.socket.display()
            ),
            "demo: try, from any directory:".to_owned(),
            format!("  {ctl} status"),
            format!("  {ctl} history {bob}"),
            format!("  {ctl} send {bob} hi bob"),
            "demo: or open a shell where `wimsyctl` talks to alice's daemon (`exit` leaves it):"
                .to_owned(),
            format!(
                "  env PATH={}:\"$PATH\" WIMSY_SOCKET={} \"${{SHELL:-sh}}\"",
                word(&self.bins.to_string_lossy()),
                word(&self.socket.to_string_lossy())
            ),
        ];
        if window {
            lines.push("demo: the window shows alice's chat with bob".to_owned());
        }
        lines.push(
            "demo: `wimsyctl quit` stops alice's daemon, and the demo with it; \
             Ctrl-C here stops everything"
                .to_owned(),
        );
        lines.join("\n")
    }

    /// The window's arguments: alice's daemon, the chat with bob open.
    pub(super) fn window_args(&self) -> Vec<OsString> {
        vec![
            "--socket".into(),
            self.socket.into(),
            "--chat".into(),
            self.bob.into(),
            "--account".into(),
            self.alice.into(),
        ]
    }

    /// The window as a command, to open it again.
    pub(super) fn window_command(&self) -> String {
        format!(
            "env WIMSY_CONFIG_DIR={} {} --socket {} --chat {} --account {}",
            word(&self.config.to_string_lossy()),
            word(&self.bins.join("wimsy").to_string_lossy()),
            word(&self.socket.to_string_lossy()),
            word(self.bob),
            word(self.alice)
        )
    }
}

/// `text` as one word for a POSIX shell: as it is when it holds nothing the
/// shell would act on, else in single quotes.
fn word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%,=".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_whole_and_quoted() {
        let printed = Printed {
            bins: Path::new("/home/a b/wimsy/target/debug"),
            socket: Path::new("/tmp/wimsy-demo-1/alice.sock"),
            config: Path::new("/tmp/wimsy-demo-1/alice/config"),
            alice: "alice@localhost",
            bob: "bob@localhost",
        };
        let text = printed.try_these(false);
        assert!(
            text.contains(
                "\n  '/home/a b/wimsy/target/debug/wimsyctl' --socket /tmp/wimsy-demo-1/alice.sock status\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "\n  env PATH='/home/a b/wimsy/target/debug':\"$PATH\" \
                 WIMSY_SOCKET=/tmp/wimsy-demo-1/alice.sock \"${SHELL:-sh}\"\n"
            ),
            "{text}"
        );
        assert!(!text.contains("window"), "{text}");
        assert_eq!(
            printed.window_command(),
            "env WIMSY_CONFIG_DIR=/tmp/wimsy-demo-1/alice/config \
             '/home/a b/wimsy/target/debug/wimsy' --socket /tmp/wimsy-demo-1/alice.sock \
             --chat bob@localhost --account alice@localhost"
        );
        assert_eq!(word("it's"), r"'it'\''s'");
    }
}
