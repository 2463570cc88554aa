//! Installing the Debian packages the tests and the demo need, saying what
//! is installed and why.

use std::process::Command;

use anyhow::{Context, Result, bail};

/// A package and why we need it.
pub struct Package {
    pub name: &'static str,
    pub why: &'static str,
}

/// What `cargo xtask test` needs.
pub const TEST_PACKAGES: &[Package] = &[
    Package {
        name: "prosody",
        why: "the real XMPP server every end-to-end test runs against",
    },
    Package {
        name: "ejabberd",
        why: "the other major XMPP server: the end-to-end scenarios that matter most run on it too",
    },
    Package {
        name: "openssl",
        why: "checks the test server's STARTTLS certificate",
    },
    Package {
        name: "socat",
        why: "the IPC protocol tests and docs talk to the daemon's socket with it",
    },
    Package {
        name: "iproute2",
        why: "`ss -K` cuts the daemon's TCP connections in the fault tests",
    },
    Package {
        name: "xvfb",
        why: "a virtual X server for the GUI's tests",
    },
    Package {
        name: "x11-utils",
        why: "xwininfo and xprop, to look into the GUI's windows under Xvfb by hand when a GUI test fails (the tests speak X11 themselves, through x11rb)",
    },
    Package {
        name: "gnome-keyring",
        why: "a real Secret Service for the password-keyring tests",
    },
    Package {
        name: "libsecret-tools",
        why: "secret-tool, to look into that keyring independently of our code",
    },
    Package {
        name: "dbus",
        why: "a session bus for desktop integration tests",
    },
    Package {
        name: "systemd",
        why: "systemd-analyze verifies the user units; systemd-socket-activate starts wimsyd on a first connection as systemd would",
    },
    Package {
        name: "desktop-file-utils",
        why: "desktop-file-validate checks packaging/wimsy.desktop",
    },
    Package {
        name: "librsvg2-bin",
        why: "rsvg-convert renders the SVG application icon at the PNG sizes a package installs",
    },
    Package {
        name: "dpkg-dev",
        why: "dpkg-shlibdeps, with which cargo-deb works out the package's dependencies (the test builds the .deb)",
    },
    Package {
        name: "man-db",
        why: "man -l renders each man page the package installs",
    },
    Package {
        name: "zsh",
        why: "zsh -n parses the zsh completions the package installs",
    },
    Package {
        name: "fish",
        why: "fish --no-execute parses the fish completions the package installs",
    },
    Package {
        name: "haskell-status-notifier-item-utils",
        why: "status-notifier-watcher, a real StatusNotifierWatcher that runs headless, for the tray tests",
    },
    Package {
        name: "dunst",
        why: "a real notification server drawing on Xvfb, for the one end-to-end notification test that clicks a popup (dunstctl action)",
    },
    Package {
        name: "python3-dbusmock",
        why: "a notification server (its notification_daemon template) that records every Notify and CloseNotification wimsyd sends, for the notification tests",
    },
];

/// What `cargo xtask bench` needs.
pub const BENCH_PACKAGES: &[Package] = &[
    Package {
        name: "prosody",
        why: "the real XMPP server the benchmarks run against",
    },
    Package {
        name: "iproute2",
        why: "`ss -K` cuts connections and `ip netns` takes the network away",
    },
    Package {
        name: "profanity",
        why: "the terminal XMPP client whose idle cost wimsyd's is compared with",
    },
    Package {
        name: "tmux",
        why: "runs Profanity detached, as in a terminal",
    },
    Package {
        name: "python3-slixmpp",
        why: "the plain XMPP client that sends and receives beside wimsyd",
    },
    Package {
        name: "xvfb",
        why: "a virtual X server for the window's launch, scrolling and memory figures",
    },
    Package {
        name: "dbus",
        why: "a private session bus for the tray's memory figure",
    },
    Package {
        name: "haskell-status-notifier-item-utils",
        why: "status-notifier-watcher, the tray watcher the tray registers with while measured",
    },
];

/// What `cargo xtask bench --renderer wgpu` needs besides: wgpu loads
/// OpenGL (EGL) or Vulkan at run time; without a GPU, Mesa draws with
/// llvmpipe. The GL path is enough, so no Vulkan loader or lavapipe.
pub const WGPU_PACKAGES: &[Package] = &[
    Package {
        name: "libegl1",
        why: "the EGL loader wgpu's OpenGL backend opens",
    },
    Package {
        name: "libegl-mesa0",
        why: "Mesa's EGL, which the loader finds for an X11 window",
    },
    Package {
        name: "libgl1-mesa-dri",
        why: "llvmpipe, the software OpenGL driver that draws without a GPU",
    },
];

/// What `cargo xtask package` needs (and `--check`).
pub const PACKAGE_PACKAGES: &[Package] = &[
    Package {
        name: "librsvg2-bin",
        why: "rsvg-convert renders the SVG application icon at the PNG sizes the package installs",
    },
    Package {
        name: "dpkg-dev",
        why: "dpkg-shlibdeps, with which cargo-deb works out the package's dependencies",
    },
    Package {
        name: "man-db",
        why: "--check: man -l renders each man page",
    },
    Package {
        name: "zsh",
        why: "--check: zsh -n parses the zsh completions",
    },
    Package {
        name: "fish",
        why: "--check: fish --no-execute parses the fish completions",
    },
];

/// What `cargo xtask demo` needs.
pub const DEMO_PACKAGES: &[Package] = &[Package {
    name: "prosody",
    why: "the local XMPP server the demo accounts live on",
}];

fn installed(name: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", name])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

/// Install whichever of `packages` is missing (with apt-get; root or sudo).
pub fn ensure(packages: &[Package]) -> Result<()> {
    let missing: Vec<&Package> = packages.iter().filter(|p| !installed(p.name)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: installing missing Debian packages:");
    for p in &missing {
        eprintln!("  {:<10} {}", p.name, p.why);
    }
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let sudo: &[&str] = if is_root { &[] } else { &["sudo"] };
    let apt = |args: &[&str]| -> Result<()> {
        let mut argv: Vec<&str> = sudo.to_vec();
        argv.push("apt-get");
        argv.extend_from_slice(args);
        let status = Command::new(argv[0])
            .args(&argv[1..])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .with_context(|| format!("could not run {}", argv.join(" ")))?;
        if !status.success() {
            bail!("`{}` failed ({status})", argv.join(" "));
        }
        Ok(())
    };
    apt(&["update", "-qq"])?;
    let mut install = vec!["install", "-y", "-qq", "--no-install-recommends"];
    install.extend(missing.iter().map(|p| p.name));
    apt(&install)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The packages the README's table names for `command`: the
    /// backticked words of the second column of its row.
    fn readme_row(readme: &str, command: &str) -> BTreeSet<String> {
        let start = format!("| `{command}` |");
        let row = readme
            .lines()
            .find(|line| line.starts_with(&start))
            .unwrap_or_else(|| panic!("README.md's package table has no row for {command}"));
        let packages = row[start.len()..].split('|').next().unwrap_or_default();
        packages
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    }

    fn names(packages: &[Package]) -> BTreeSet<String> {
        packages.iter().map(|p| p.name.to_owned()).collect()
    }

    #[test]
    fn the_readme_names_the_packages_each_command_installs() {
        let readme =
            std::fs::read_to_string(crate::workspace_root().join("README.md")).expect("README.md");
        for (command, packages) in [
            ("cargo xtask demo", DEMO_PACKAGES),
            ("cargo xtask test", TEST_PACKAGES),
            ("cargo xtask bench", BENCH_PACKAGES),
            ("cargo xtask bench --renderer wgpu", WGPU_PACKAGES),
            ("cargo xtask package", PACKAGE_PACKAGES),
        ] {
            assert_eq!(
                readme_row(&readme, command),
                names(packages),
                "README.md's row for {command} and apt.rs differ"
            );
        }
    }
}
