//! The fresh clone the quick-start test runs in, and the README line it
//! runs there.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use wimsy_tests::bin_dir;

/// The workspace this test was built from.
fn source_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// A clone of the working tree in a temporary directory.
pub struct FreshClone {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
}

/// `git clone` of the working tree; then every file the tree has (tracked,
/// or new and not ignored) is given the tree's contents and modification
/// time, so the clone is the very sources the test binaries were built
/// from, uncommitted edits included, and cargo finds the build fresh.
pub fn clone_working_tree() -> Result<FreshClone> {
    let source = source_root();
    let dir = tempfile::Builder::new()
        .prefix("wimsy-quickstart-")
        .tempdir()?;
    let root = dir.path().join("wimsy");
    let out = Command::new("git")
        .arg("clone")
        .arg("--quiet")
        .arg(&source)
        .arg(&root)
        .output()
        .context("running git clone")?;
    if !out.status.success() {
        bail!("git clone failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let listed = Command::new("git")
        .arg("-C")
        .arg(&source)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output()
        .context("running git ls-files")?;
    for name in listed.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let name = Path::new(std::str::from_utf8(name)?);
        let (from, to) = (source.join(name), root.join(name));
        let Ok(meta) = std::fs::symlink_metadata(&from) else {
            // Deleted in the working tree, not yet in a commit.
            let _ = std::fs::remove_file(&to);
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        if std::fs::read(&to).ok() != Some(std::fs::read(&from)?) {
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::copy(&from, &to)?;
        }
        std::fs::File::options()
            .write(true)
            .open(&to)?
            .set_modified(meta.modified()?)?;
    }
    Ok(FreshClone { _dir: dir, root })
}

impl FreshClone {
    /// `sh -c line` in the clone, as a person's terminal there would run it:
    /// the toolchain chosen by the clone's own rust-toolchain.toml (not the
    /// one running this test), offline, with no toolchain download, and
    /// none of this test run's Wimsy or display variables.
    pub fn command(&self, line: &str) -> Command {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(line)
            .current_dir(&self.root)
            .env("CARGO_TARGET_DIR", bin_dir().parent().unwrap_or(&bin_dir()))
            .env("CARGO_NET_OFFLINE", "true")
            .env("RUSTUP_AUTO_INSTALL", "0")
            .env_remove("RUSTUP_TOOLCHAIN")
            .env_remove("CARGO");
        // What cargo told this test about itself: a terminal has none of it,
        // and a cargo started with it would see a change in ring's build
        // (it reads CARGO_MANIFEST_DIR) and compile half the tree again.
        for (name, _) in std::env::vars_os() {
            if let Some(name) = name.to_str()
                && (name.starts_with("CARGO_PKG_")
                    || name.starts_with("CARGO_BIN_")
                    || name.starts_with("CARGO_MANIFEST_")
                    || matches!(name, "CARGO_CRATE_NAME" | "CARGO_PRIMARY_PACKAGE"))
            {
                command.env_remove(name);
            }
        }
        // `cargo xtask test` builds with clippy as the compiler of our crates
        // (crates/xtask/src/build.rs), and so does the demo, by itself: a
        // terminal has neither variable, and with them `cargo xtask` would
        // compile the xtask anew before the demo could start.
        for name in [
            "RUSTC_WORKSPACE_WRAPPER",
            "CLIPPY_ARGS",
            "WIMSY_SOCKET",
            "WIMSY_LOG",
            "WIMSY_TEST_HOOKS",
            "WIMSY_CONFIG_DIR",
            "WIMSY_DATA_DIR",
            "DISPLAY",
            "WAYLAND_DISPLAY",
        ] {
            command.env_remove(name);
        }
        command
    }

    /// Run `line` in the clone; its stdout, or an error with both outputs.
    pub fn run_here(&self, line: &str) -> Result<String> {
        let out = self.command(line).stdin(Stdio::null()).output()?;
        if !out.status.success() {
            bail!(
                "`{line}` in the clone failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The release rust-toolchain.toml pins (its `channel`).
    pub fn pinned_toolchain(&self) -> Result<String> {
        let text = std::fs::read_to_string(self.root.join("rust-toolchain.toml"))
            .context("the clone has no rust-toolchain.toml")?;
        text.lines()
            .filter_map(|line| line.trim().strip_prefix("channel"))
            .filter_map(|rest| rest.trim().strip_prefix('='))
            .map(|value| value.trim().trim_matches('"').to_owned())
            .next()
            .context("rust-toolchain.toml has no channel")
    }
}

/// The line of the README's quick start that starts the demo, without its
/// comment: the command a newcomer copies.
pub fn demo_line(clone: &FreshClone) -> Result<String> {
    let readme = std::fs::read_to_string(clone.root.join("README.md"))?;
    let section = readme
        .split_once("## Quick start")
        .context("README.md has no quick start")?
        .1;
    let block = section
        .split_once("```console\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .context("the quick start has no console block")?
        .0;
    block
        .lines()
        .find(|line| line.starts_with("cargo xtask demo"))
        .map(|line| line.split(" #").next().unwrap_or(line).trim().to_owned())
        .context("the quick start does not start the demo")
}
