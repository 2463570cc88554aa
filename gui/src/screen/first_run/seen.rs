//! Which one-time notices the window has shown, kept in a small file
//! `notices-seen` in Wimsy's config directory (one notice name a line).
//!
//! Why a file and not a daemon setting: it is the window's memory, not a
//! choice anyone makes, so it has no place in the settings every frontend
//! lists from the daemon, and it needs no protocol change. Why the config
//! directory: it is the one wimsyd uses (`WIMSY_CONFIG_DIR`, else
//! `~/.config/wimsy`), so a fresh config directory (a new user, a test's
//! own daemon) is a fresh first run, notices included.

use std::io;
use std::path::{Path, PathBuf};

/// The file's name inside the config directory.
const FILE: &str = "notices-seen";

/// The notices already shown.
#[derive(Debug, Clone)]
pub struct Seen {
    path: PathBuf,
}

impl Seen {
    /// The file in Wimsy's config directory, as wimsyd finds it; `None`
    /// without a home directory (then every notice shows each time).
    pub fn in_config_dir() -> Option<Self> {
        let dir = std::env::var_os("WIMSY_CONFIG_DIR")
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                directories_next::ProjectDirs::from("", "", "wimsy")
                    .map(|dirs| dirs.config_dir().to_path_buf())
            })?;
        Some(Self::in_dir(&dir))
    }

    /// The file in `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            path: dir.join(FILE),
        }
    }

    /// Whether `notice` was shown before. A file that cannot be read
    /// counts as nothing shown: showing a notice twice is the safe side.
    pub fn has(&self, notice: &str) -> bool {
        std::fs::read_to_string(&self.path)
            .is_ok_and(|text| text.lines().any(|line| line.trim() == notice))
    }

    /// Remember that `notice` was shown.
    pub fn mark(&self, notice: &str) -> io::Result<()> {
        if self.has(notice) {
            return Ok(());
        }
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut text = std::fs::read_to_string(&self.path).unwrap_or_default();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(notice);
        text.push('\n');
        std::fs::write(&self.path, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_is_remembered_once_and_others_are_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let seen = Seen::in_dir(&dir.path().join("wimsy"));
        assert!(!seen.has("keep-connected"));
        seen.mark("keep-connected").expect("mark");
        seen.mark("keep-connected").expect("mark twice");
        seen.mark("other").expect("mark another");
        assert!(seen.has("keep-connected") && seen.has("other"));
        let text = std::fs::read_to_string(dir.path().join("wimsy").join(FILE)).expect("read");
        assert_eq!(text, "keep-connected\nother\n");
    }

    #[test]
    fn an_unwritable_place_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().expect("temp dir");
        let blocker = dir.path().join("a-file");
        std::fs::write(&blocker, "").expect("write");
        let seen = Seen::in_dir(&blocker);
        assert!(seen.mark("keep-connected").is_err());
        assert!(!seen.has("keep-connected"));
    }
}
