//! The desktop entry and the application icon in packaging/: the entry is
//! valid by desktop-file-validate and names what is built and shipped (the
//! `wimsy` binary, the `wimsy` icon), and the SVG icon renders at the PNG
//! sizes a package installs.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn packaging() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging")
}

/// A tool on PATH, or `None` (the caller says the step is skipped).
fn tool(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

/// The value of `key` in the `[Desktop Entry]` group.
fn entry_value<'a>(entry: &'a str, key: &str) -> Option<&'a str> {
    entry
        .lines()
        .skip_while(|line| *line != "[Desktop Entry]")
        .skip(1)
        .take_while(|line| !line.starts_with('['))
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
}

#[test]
fn the_desktop_entry_is_valid_and_names_the_gui_and_its_icon() {
    let path = packaging().join("wimsy.desktop");
    let entry = std::fs::read_to_string(&path).unwrap();
    assert_eq!(entry_value(&entry, "Type"), Some("Application"));
    assert_eq!(entry_value(&entry, "Exec"), Some("wimsy"));
    assert_eq!(entry_value(&entry, "Icon"), Some("wimsy"));
    assert_eq!(
        entry_value(&entry, "Categories"),
        Some("Network;InstantMessaging;Chat;")
    );
    // What it names exists: the GUI's binary and the icon of that name.
    let gui = std::fs::read_to_string(packaging().join("../gui/Cargo.toml")).unwrap();
    assert!(
        gui.contains("[[bin]]\nname = \"wimsy\"\n"),
        "the GUI's binary is `wimsy`"
    );
    assert!(packaging().join("icons/wimsy.svg").is_file());

    validate(&path);
}

/// The tray's XDG autostart entry (copied to ~/.config/autostart by
/// `wimsyctl autostart`, or installed to /etc/xdg/autostart by a package).
#[test]
fn the_trays_autostart_entry_is_valid_and_starts_the_tray() {
    let path = packaging().join("wimsy-tray.desktop");
    let entry = std::fs::read_to_string(&path).unwrap();
    assert_eq!(entry_value(&entry, "Type"), Some("Application"));
    assert_eq!(entry_value(&entry, "Exec"), Some("wimsy-tray"));
    assert_eq!(entry_value(&entry, "NoDisplay"), Some("true"));
    let tray = std::fs::read_to_string(packaging().join("../crates/tray/Cargo.toml")).unwrap();
    assert!(
        tray.contains("[[bin]]\nname = \"wimsy-tray\"\n"),
        "the tray's binary is `wimsy-tray`"
    );
    validate(&path);
}

/// desktop-file-validate has nothing to say about the entry at `path`.
fn validate(path: &std::path::Path) {
    let Some(validate) = tool("desktop-file-validate") else {
        eprintln!(
            "SKIPPED the validation: desktop-file-validate is not installed (Debian package `desktop-file-utils`)"
        );
        return;
    };
    let out = Command::new(validate).arg(path).output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    assert!(said.trim().is_empty(), "no warnings or hints: {said}");
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (word(16), word(20))
}

#[test]
fn the_icon_renders_at_every_png_size() {
    let svg = packaging().join("icons/wimsy.svg");
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains("viewBox=\"0 0 256 256\""), "square: {text}");
    let Some(render) = tool("rsvg-convert") else {
        eprintln!(
            "SKIPPED the rendering: rsvg-convert is not installed (Debian package `librsvg2-bin`)"
        );
        return;
    };
    let out_dir = tempfile::tempdir().unwrap();
    let mut sizes_in_bytes = Vec::new();
    for size in [16u32, 32, 48, 64, 128, 256] {
        let png = out_dir.path().join(format!("{size}.png"));
        let out = Command::new(&render)
            .args(["-w", &size.to_string(), "-h", &size.to_string(), "-o"])
            .arg(&png)
            .arg(&svg)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bytes = std::fs::read(&png).unwrap();
        assert_eq!(png_size(&bytes), (size, size));
        sizes_in_bytes.push(bytes.len());
    }
    // More pixels, more detail: an empty drawing would compress to the
    // same few bytes at every size.
    assert!(
        sizes_in_bytes.windows(2).all(|w| w[0] < w[1]),
        "{sizes_in_bytes:?}"
    );
}
