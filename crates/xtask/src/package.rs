//! `cargo xtask package`: the Debian package (cargo-deb, with the metadata
//! in daemon/Cargo.toml), and the check `cargo xtask test` runs on one
//! made from the debug binaries it has just built.
//!
//! Before cargo-deb runs, each binary writes its own man pages and shell
//! completions (`--write-docs`, crates/clidocs) and rsvg-convert renders
//! the icon's PNG sizes, all under target/package-assets, where the
//! package's asset list finds them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};

use xtask::{cargo, run, workspace_root};

/// The binaries the package installs.
pub(crate) const BINARIES: [&str; 4] = ["wimsyd", "wimsy", "wimsy-tray", "wimsyctl"];

/// The PNG sizes of the icon (the SVG is installed too).
const ICON_SIZES: [u32; 7] = [16, 24, 32, 48, 64, 128, 256];

/// Which build's binaries go into the package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Profile {
    /// `cargo build --release`, stripped: the package to install.
    Release,
    /// The debug binaries a test run has built already, packed as they
    /// are: for the check, never to hand out.
    Debug,
}

const USAGE: &str = "usage: cargo xtask package [--debug] [--check]

  Builds target/debian/wimsy_VERSION-1_ARCH.deb with cargo-deb (installed
  with `cargo install --locked cargo-deb` when missing): the four binaries,
  the systemd user units, the desktop entries, the icon, man pages and
  bash/zsh/fish completions.

  --debug  pack the debug binaries already in target/debug (no build)
  --check  then check the package as `cargo xtask test` does";

/// `cargo xtask package [--debug] [--check]`.
pub(crate) fn command(args: &[String]) -> Result<()> {
    let mut profile = Profile::Release;
    let mut check_it = false;
    for arg in args {
        match arg.as_str() {
            "--debug" => profile = Profile::Debug,
            "--check" => check_it = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    xtask::apt::ensure(xtask::apt::PACKAGE_PACKAGES)?;
    if profile == Profile::Release {
        run(
            &cargo(),
            &["build", "--release", "--workspace", "--bins", "--locked"],
        )?;
    }
    let deb = build(profile)?;
    if check_it {
        check(&deb)?;
    }
    println!("{}", deb.display());
    Ok(())
}

/// Where the generated assets go: the path daemon/Cargo.toml names, so
/// always under the workspace, whatever the target directory.
fn assets_dir() -> PathBuf {
    workspace_root().join("target/package-assets")
}

/// Install cargo-deb when `cargo deb` is not there.
fn ensure_cargo_deb() -> Result<()> {
    let present = Command::new(cargo())
        .args(["deb", "--version"])
        .output()
        .is_ok_and(|out| out.status.success());
    if present {
        return Ok(());
    }
    eprintln!(
        "xtask: cargo-deb is missing; installing it with `cargo install --locked cargo-deb` \
         (about two minutes on two cores, once)"
    );
    let started = Instant::now();
    run(&cargo(), &["install", "--locked", "cargo-deb"])?;
    eprintln!(
        "xtask: cargo-deb installed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Write the generated assets and run cargo-deb on the `profile` binaries,
/// which must be built; the path of the .deb.
pub(crate) fn build(profile: Profile) -> Result<PathBuf> {
    ensure_cargo_deb()?;
    let bin_dir = xtask::target_dir().join(match profile {
        Profile::Release => "release",
        Profile::Debug => "debug",
    });
    let assets = assets_dir();
    if assets.exists() {
        std::fs::remove_dir_all(&assets)
            .with_context(|| format!("cannot clear {}", assets.display()))?;
    }
    for name in BINARIES {
        let binary = bin_dir.join(name);
        ensure!(
            binary.is_file(),
            "{} is not built: build the workspace's binaries first",
            binary.display()
        );
        let out = output(Command::new(&binary).arg("--write-docs").arg(&assets))?;
        ensure!(
            out.status.success(),
            "{name} could not write its man pages and completions: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let svg = workspace_root().join("packaging/icons/wimsy.svg");
    for size in ICON_SIZES {
        let dir = assets.join(format!("icons/{size}x{size}"));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let side = size.to_string();
        let png = dir.join("wimsy.png");
        let out = output(
            Command::new("rsvg-convert")
                .args(["-w", &side, "-h", &side, "-o"])
                .arg(&png)
                .arg(&svg),
        )?;
        ensure!(
            out.status.success(),
            "rsvg-convert could not render the icon at {side} pixels: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }

    let debian = xtask::target_dir().join("debian");
    let debian_arg = debian.to_string_lossy().into_owned();
    let mut args = vec!["deb", "-p", "wimsyd", "--no-build", "-o", &debian_arg];
    if profile == Profile::Debug {
        // The debug binaries, stripped: packing them with their line
        // tables takes half as long again (24 s against 16 s here), and
        // xz at its default level would take longer than all the rest.
        args.extend(["--profile", "dev", "--strip", "--fast"]);
    }
    let mut command = Command::new(cargo());
    command.args(&args).current_dir(workspace_root());
    eprintln!("xtask: $ cargo {}", args.join(" "));
    let out = output(&mut command)?;
    ensure!(
        out.status.success(),
        "cargo deb failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let deb = stdout
        .lines()
        .map(str::trim)
        .find(|line| line.ends_with(".deb"))
        .map(PathBuf::from)
        .context("cargo deb did not say where it wrote the package")?;
    Ok(deb)
}

fn output(command: &mut Command) -> Result<Output> {
    command.output().with_context(|| {
        format!(
            "could not start {}",
            command.get_program().to_string_lossy()
        )
    })
}

/// What the package must hold, as `dpkg-deb -c` lists it.
pub(crate) fn expected_paths() -> BTreeSet<String> {
    let mut paths: BTreeSet<String> = [
        "usr/lib/systemd/user/wimsyd.socket",
        "usr/lib/systemd/user/wimsyd.service",
        "usr/share/applications/wimsy.desktop",
        "etc/xdg/autostart/wimsy-tray.desktop",
        "usr/share/icons/hicolor/scalable/apps/wimsy.svg",
        "usr/share/man/man1/wimsyctl-autostart.1.gz",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    for size in ICON_SIZES {
        paths.insert(format!(
            "usr/share/icons/hicolor/{size}x{size}/apps/wimsy.png"
        ));
    }
    for name in BINARIES {
        paths.insert(format!("usr/bin/{name}"));
        paths.insert(format!("usr/share/man/man1/{name}.1.gz"));
        paths.insert(format!("usr/share/bash-completion/completions/{name}"));
        paths.insert(format!("usr/share/zsh/vendor-completions/_{name}"));
        paths.insert(format!("usr/share/fish/vendor_completions.d/{name}.fish"));
    }
    paths
}

/// The checks `cargo xtask test` runs on the package: its file list, its
/// maintainer scripts, an installation into a throwaway root and the
/// removal from it, every man page rendered, every completion parsed by
/// its shell.
pub(crate) fn check(deb: &Path) -> Result<()> {
    let listed = output(Command::new("dpkg-deb").arg("-c").arg(deb))?;
    ensure!(
        listed.status.success(),
        "dpkg-deb -c cannot read {}",
        deb.display()
    );
    let listed: BTreeSet<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .map(|path| path.trim_start_matches("./").to_owned())
        .collect();
    let expected = expected_paths();
    let missing: Vec<&String> = expected.difference(&listed).collect();
    ensure!(
        missing.is_empty(),
        "the package lacks {missing:?}; it holds {listed:?}"
    );
    let name = field(deb, "Package")?;
    ensure!(name == "wimsy", "the package is named {name}, not wimsy");
    let depends = field(deb, "Depends")?;
    ensure!(depends.contains("libc6"), "Depends is only {depends:?}");

    let scratch = tempfile::tempdir().context("cannot make a scratch directory")?;
    let control = scratch.path().join("control");
    must(Command::new("dpkg-deb").arg("-e").arg(deb).arg(&control))?;
    for script in ["postinst", "postrm"] {
        must(Command::new("sh").arg("-n").arg(control.join(script)))?;
    }

    // dpkg into an empty root: its own database, no chroot for the
    // maintainer scripts (the root holds no shell). dpkg sets DPKG_ROOT
    // for them and deb-systemd-helper works under it, so the links that
    // enable the user units are made in the throwaway root, where they
    // are checked, and this system's are left alone. Dependencies are
    // this system's, not the empty root's.
    let root = scratch.path().join("root");
    let admin = root.join("var/lib/dpkg");
    for dir in ["info", "updates", "triggers"] {
        std::fs::create_dir_all(admin.join(dir)).context("cannot make the throwaway root")?;
    }
    std::fs::write(admin.join("status"), "").context("cannot make the throwaway root")?;
    let dpkg = |args: &[&str]| {
        let mut command = Command::new("dpkg");
        command
            .arg(format!("--root={}", root.display()))
            .args([
                "--force-not-root",
                "--force-depends",
                "--force-script-chrootless",
                "--log=/dev/null",
            ])
            .args(args);
        command
    };
    must(dpkg(&["-i", &deb.to_string_lossy()]).env_remove("DPKG_ROOT"))?;
    for path in expected_paths() {
        ensure!(
            root.join(&path).exists(),
            "dpkg -i into {} did not install {path}",
            root.display()
        );
    }
    let enabled = [
        "etc/systemd/user/sockets.target.wants/wimsyd.socket",
        "etc/systemd/user/default.target.wants/wimsyd.service",
    ];
    for link in enabled {
        let target = std::fs::read_link(root.join(link))
            .with_context(|| format!("the installation did not enable the unit: no {link}"))?;
        let unit = link.rsplit('/').next().unwrap_or_default();
        ensure!(
            target == Path::new("/usr/lib/systemd/user").join(unit),
            "{link} points at {}",
            target.display()
        );
    }
    let version = must(Command::new(root.join("usr/bin/wimsyctl")).arg("--version"))?;
    ensure!(
        version.starts_with("wimsyctl "),
        "the installed wimsyctl says {version:?}"
    );

    let pages: Vec<PathBuf> = listed
        .iter()
        .filter(|path| path.starts_with("usr/share/man/man1/") && path.ends_with(".1.gz"))
        .map(|path| root.join(path))
        .collect();
    for page in &pages {
        let out = output(
            Command::new("man")
                .args(["-l", "-Tutf8"])
                .arg(page)
                .env("MANPAGER", "cat")
                .env("MANWIDTH", "80"),
        )?;
        let text = plain(&String::from_utf8_lossy(&out.stdout));
        let warned = String::from_utf8_lossy(&out.stderr);
        ensure!(
            out.status.success() && warned.trim().is_empty(),
            "man -l {} failed or warned: {warned}",
            page.display()
        );
        ensure!(
            text.contains("NAME") && text.contains("SYNOPSIS"),
            "man -l {} renders no NAME and SYNOPSIS: {text}",
            page.display()
        );
    }
    for name in BINARIES {
        let bash = root.join(format!("usr/share/bash-completion/completions/{name}"));
        must(Command::new("bash").arg("-n").arg(&bash))?;
        // Loaded, it completes the command it is named for.
        let said = must(
            Command::new("bash")
                .arg("-c")
                .arg(format!("source \"$1\" && complete -p {name}"))
                .arg("bash")
                .arg(&bash),
        )?;
        ensure!(
            said.trim_end().ends_with(&format!(" {name}")),
            "{} does not complete {name}: {said}",
            bash.display()
        );
        must(
            Command::new("zsh")
                .arg("-n")
                .arg(root.join(format!("usr/share/zsh/vendor-completions/_{name}"))),
        )?;
        must(
            Command::new("fish")
                .arg("--no-execute")
                .arg(root.join(format!("usr/share/fish/vendor_completions.d/{name}.fish"))),
        )?;
    }

    // Removed, the units are masked and the binaries gone; purged,
    // nothing of Wimsy is left, the autostart entry (a conffile) and the
    // links and state deb-systemd-helper made included.
    must(&mut dpkg(&["--remove", "wimsy"]))?;
    ensure!(
        !root.join("usr/bin/wimsyd").exists(),
        "dpkg --remove left usr/bin/wimsyd"
    );
    for unit in ["wimsyd.socket", "wimsyd.service"] {
        let mask = root.join("etc/systemd/user").join(unit);
        let target = std::fs::read_link(&mask)
            .with_context(|| format!("the removal did not mask {unit}"))?;
        ensure!(
            target == Path::new("/dev/null"),
            "{unit} is masked to {}",
            target.display()
        );
    }
    must(&mut dpkg(&["--purge", "wimsy"]))?;
    let left: Vec<String> = everything_under(&root)
        .into_iter()
        .filter(|path| path.contains("wimsy"))
        .collect();
    ensure!(left.is_empty(), "dpkg --purge left {left:?}");
    eprintln!(
        "xtask: {} holds what it should, installs into and purges from a throwaway root; \
         its {} man pages render and its completions parse",
        deb.display(),
        pages.len()
    );
    Ok(())
}

/// Text a terminal would show for `rendered`: grotty writes bold as a
/// character, a backspace and the character again.
fn plain(rendered: &str) -> String {
    let mut text = String::with_capacity(rendered.len());
    for c in rendered.chars() {
        if c == '\u{8}' {
            text.pop();
        } else {
            text.push(c);
        }
    }
    text
}

/// Every path under `root`, relative to it, dpkg's database excepted.
fn everything_under(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let relative = path.strip_prefix(root).unwrap_or(&path).to_string_lossy();
            if relative.starts_with("var/lib/dpkg") {
                continue;
            }
            found.push(relative.into_owned());
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                todo.push(path);
            }
        }
    }
    found
}

/// One control field of the package.
fn field(deb: &Path, name: &str) -> Result<String> {
    must(Command::new("dpkg-deb").arg("-f").arg(deb).arg(name)).map(|s| s.trim().to_owned())
}

/// Run `command`; its standard output, or why it failed.
fn must(command: &mut Command) -> Result<String> {
    let out = output(command)?;
    ensure!(
        out.status.success(),
        "`{} {}` failed ({}): {}",
        command.get_program().to_string_lossy(),
        command
            .get_args()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_binary_gets_a_man_page_and_three_completions() {
        let paths = expected_paths();
        for name in BINARIES {
            assert!(paths.contains(&format!("usr/bin/{name}")));
            assert!(paths.contains(&format!("usr/share/zsh/vendor-completions/_{name}")));
        }
    }

    #[test]
    fn the_package_metadata_lists_every_binary_and_unit() {
        let manifest = std::fs::read_to_string(workspace_root().join("daemon/Cargo.toml"))
            .expect("daemon/Cargo.toml");
        for name in BINARIES {
            assert!(
                manifest.contains(&format!(
                    "[\"target/release/{name}\", \"usr/bin/\", \"755\"]"
                )),
                "{name} is not among the package's assets"
            );
        }
        for size in ICON_SIZES {
            assert!(
                manifest.contains(&format!("icons/{size}x{size}/wimsy.png")),
                "the {size} px icon is not among the package's assets"
            );
        }
    }
}
