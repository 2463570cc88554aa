//! The one debug build of the workspace that `cargo xtask test` and `cargo
//! xtask demo` make, with clippy as the compiler of our own crates, so that
//! the lints and the build are one compilation instead of two.
//!
//! `cargo clippy` is `cargo check` with clippy-driver as the compiler of
//! the workspace's crates: check artifacts (metadata only) cannot serve a
//! build, so a separate clippy run compiles every dependency and every crate
//! of ours a second time (docs/testing.md has the figures).
//! clippy-driver compiles like rustc and lints on the way, whatever cargo
//! asks of it, so the same two variables `cargo clippy` sets make `cargo
//! build` and `cargo test` lint what they compile. Dependencies are not
//! ours: cargo compiles them with plain rustc (the wrapper is for workspace
//! members only), so they are shared with any other build of this tree.
//!
//! Cargo keeps the wrapper in the identity of what it builds: a `cargo test`
//! without these variables compiles our crates again (not the
//! dependencies), and so does one with another clippy-driver path.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{cargo, run_with, workspace_root};

/// Every target of every crate: what `cargo clippy --workspace
/// --all-targets` lints, and what `cargo test` needs besides doc tests.
/// One set of packages for both commands, so cargo picks the same
/// dependency features for each (it picks them by the packages a build
/// names: `-p wimsyd -p wimsyctl` would compile tokio, iced and everything
/// on them again, differently).
const BUILD: &[&str] = &["build", "--workspace", "--all-targets"];

/// What `cargo clippy -- -D warnings` hands clippy-driver: the arguments
/// after `--`, each followed by this separator. An agreement between the
/// two programs of one toolchain, which rust-toolchain.toml pins.
const CLIPPY_ARGS: &str = "-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__";

/// The variables that make cargo compile our crates with clippy-driver,
/// denying every warning (rustc's and clippy's), as `cargo clippy --
/// -D warnings` would.
pub fn lint_env() -> Result<Vec<(&'static str, OsString)>> {
    Ok(vec![
        ("RUSTC_WORKSPACE_WRAPPER", clippy_driver()?.into_os_string()),
        ("CLIPPY_ARGS", CLIPPY_ARGS.into()),
    ])
}

/// The clippy-driver of the toolchain that builds here: beside the rustc
/// that rustup picks for this workspace. Resolved through links, so that
/// the same toolchain under two names (`1.95.0` linked to `stable`, as
/// .ci/run may make it) gives one path, and one build.
fn clippy_driver() -> Result<PathBuf> {
    let out = Command::new("rustc")
        .args(["--print", "sysroot"])
        .current_dir(workspace_root())
        .output()
        .context("could not start rustc to find the toolchain")?;
    if !out.status.success() {
        bail!(
            "rustc could not say where its toolchain is: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let driver = sysroot.join("bin/clippy-driver");
    driver.canonicalize().with_context(|| {
        format!(
            "clippy is not installed for this toolchain ({} is missing): \
             `rustup component add clippy` installs it",
            driver.display()
        )
    })
}

/// Build everything, linting our crates as they compile.
pub fn build() -> Result<()> {
    run_with(&cargo(), BUILD, &lint_env()?)
}
