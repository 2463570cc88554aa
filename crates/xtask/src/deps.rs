//! The session crate holds nothing of IPC, desktops or D-Bus, on any
//! target (Android included): it is what another shell, such as an
//! Android foreground service, would host (docs/platforms.md). Checked on
//! the dependency tree cargo resolves, so a dependency that comes in
//! through another crate is caught too.

use std::process::Command;

use anyhow::{Context, Result, bail};

/// Crate names (or name prefixes, ending in `-` or `_`) the session crate
/// must not depend on, each with what it would tie the session to.
const FORBIDDEN: &[(&str, &str)] = &[
    ("wimsy-ipc", "the IPC protocol"),
    ("wimsyd", "the daemon"),
    ("interprocess", "local sockets and named pipes (IPC)"),
    ("zbus", "D-Bus"),
    ("zbus_", "D-Bus"),
    ("zvariant", "D-Bus"),
    ("dbus", "D-Bus"),
    ("libdbus-sys", "D-Bus"),
    ("secret-service", "the desktop keyring (D-Bus)"),
    ("keyring", "the desktop keyring"),
    ("sd-notify", "systemd"),
    ("notify-rust", "desktop notifications"),
    ("tray-icon", "the tray"),
    ("ksni", "the tray (D-Bus)"),
    ("muda", "desktop menus"),
    ("iced", "the GUI toolkit"),
    ("iced_", "the GUI toolkit"),
    ("winit", "desktop windows"),
    ("wayland-", "the Wayland desktop"),
    ("x11rb", "the X11 desktop"),
    ("x11-dl", "the X11 desktop"),
    ("gtk", "the GTK desktop"),
    ("glib", "the GTK desktop"),
    (
        "directories-next",
        "desktop directory conventions (the host decides where files live)",
    ),
];

fn forbidden(name: &str) -> Option<&'static str> {
    FORBIDDEN.iter().find_map(|(pattern, why)| {
        let hit = if pattern.ends_with(['-', '_']) {
            name.starts_with(pattern)
        } else {
            name == *pattern
        };
        hit.then_some(*why)
    })
}

/// The forbidden crates in `cargo tree --prefix none --format {p}` output,
/// each once, with why.
pub(crate) fn forbidden_in(tree: &str) -> Vec<(String, &'static str)> {
    let mut found: Vec<(String, &'static str)> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter_map(|name| forbidden(name).map(|why| (name.to_owned(), why)))
        .collect();
    found.sort();
    found.dedup();
    found
}

/// Fail when the session crate's tree, for any target, holds a forbidden
/// crate.
pub(crate) fn check_session() -> Result<()> {
    let args = [
        "tree",
        "--package",
        "wimsy-session",
        "--target",
        "all",
        "--edges",
        "normal,build",
        "--prefix",
        "none",
        "--format",
        "{p}",
    ];
    eprintln!("xtask: $ cargo {}", args.join(" "));
    let out = Command::new(xtask::cargo())
        .args(args)
        .current_dir(xtask::workspace_root())
        .output()
        .context("could not run cargo tree")?;
    if !out.status.success() {
        bail!(
            "`cargo tree` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let tree = String::from_utf8_lossy(&out.stdout);
    let found = forbidden_in(&tree);
    if !found.is_empty() {
        let list: Vec<String> = found
            .iter()
            .map(|(name, why)| format!("{name} ({why})"))
            .collect();
        bail!(
            "the session crate must hold nothing of IPC, desktops or D-Bus, so that another \
             shell (an Android service) can host it; its dependencies now include {}. `cargo \
             tree -p wimsy-session -i NAME` shows what brings each in",
            list.join(", ")
        );
    }
    eprintln!(
        "xtask: the session crate's dependencies ({} crates, every target) hold nothing of IPC, desktops or D-Bus",
        tree.lines().filter(|l| !l.ends_with("(*)")).count()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_crates_are_found_by_name_or_family() {
        let tree = "wimsy-session v0.1.0 (/w/crates/session)\n\
                    tokio v1.48.0\n\
                    zbus v5.11.0\n\
                    zbus_names v4.2.0\n\
                    zbus v5.11.0 (*)\n\
                    wayland-client v0.31.11\n\
                    dbus-secret v1.0.0\n\
                    iced_core v0.14.0\n\
                    icu_normalizer v2.1.1\n";
        let found: Vec<String> = forbidden_in(tree).into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            found,
            ["iced_core", "wayland-client", "zbus", "zbus_names"],
            "dbus-secret and icu_normalizer are not what the families name"
        );
    }

    #[test]
    fn the_session_crate_holds_nothing_of_ipc_desktops_or_dbus() {
        check_session().unwrap();
    }
}
