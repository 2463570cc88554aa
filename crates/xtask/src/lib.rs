//! What `cargo xtask` and the devtools binary (crates/devtools: `cargo
//! xtask bench` and `cargo xtask demo`) share: running commands in the
//! workspace, finding it and its target directory, the Debian packages
//! each command needs, and the one linted debug build.
//!
//! Kept to light dependencies: `cargo xtask` compiles this before anything
//! else, on its own, with features resolved for it alone (a fresh clone's
//! `cargo xtask test` waits for it).

pub mod apt;
pub mod build;

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// `cargo xtask bench --help`: here rather than with the bench (devtools),
/// so that `cargo xtask` prints it without building the bench first.
pub const BENCH_USAGE: &str =
    "usage: cargo xtask bench [--quick] [--out PATH] [--only N,M] [--renderer R] [--debug-build]

  Builds wimsyd, wimsyctl, wimsy and wimsy-tray in release mode, then measures them against
  private Prosody instances on loopback (needs root), side by side with
  Profanity and a plain slixmpp receiver where there is something to
  compare: 1 idle cost, 2 message latency, 3 burst ingest, 4 history,
  5 frontend attach, 6 recovery (dead connection, restart, cut, network
  back, outbox, archive catch-up), 7 how the cost grows with accounts and
  frontends, 8 the window (launch, scrolling, memory; on Xvfb), 9 the tray
  (memory, registered with a real tray watcher), 10 a heavy user (1,000
  contacts, 500 chats, 1,000,000 stored messages). Prints a
  Markdown table and writes docs/benchmarks.md.

  --quick        every scenario at a small size, in about two minutes;
                 writes target/bench/benchmarks-quick.md instead
  --out PATH     write the report to PATH
  --only N,M     run only these scenarios (1-10); the report (only their
                 figures) goes to target/bench/benchmarks-partial.md
  --renderer R   what draws the window in scenario 8: tiny-skia (the
                 default build) or wgpu (builds wimsy again with its `wgpu`
                 feature; on a machine without a GPU, Mesa's llvmpipe)
  --debug-build  use the debug binaries (what `cargo xtask test` does so
                 the benchmark code runs at every commit without a release
                 build); figures are not representative";

/// Run a command in the workspace root, failing if it fails.
pub fn run(program: &str, args: &[&str]) -> Result<()> {
    run_with(program, args, &[])
}

/// [`run`] with variables added to its environment.
pub fn run_with(program: &str, args: &[&str], env: &[(&str, std::ffi::OsString)]) -> Result<()> {
    eprintln!("xtask: $ {program} {}", args.join(" "));
    let mut command = Command::new(program);
    command.args(args).current_dir(workspace_root());
    forget_cargo_run(&mut command);
    command.envs(env.iter().map(|(name, value)| (name, value)));
    let status = command
        .status()
        .with_context(|| format!("could not start {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// Keep out of `command` what `cargo run` told this xtask about itself
/// (`CARGO_MANIFEST_DIR`, `CARGO_PKG_NAME`, ...). A cargo started with them
/// records them as part of some builds (ring's build script reads
/// `CARGO_MANIFEST_DIR`), so the same build run from a shell, or from
/// another copy of the repository, would find them changed and compile
/// ring, rustls, tokio-xmpp and everything on them again.
pub fn forget_cargo_run(command: &mut Command) {
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        let told = name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_")
            || matches!(
                name,
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_MANIFEST_LINKS"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
            );
        if told {
            command.env_remove(name);
        }
    }
}

/// The workspace `cargo xtask` was run in. `cargo run` tells the xtask's
/// own directory at run time (the devtools binary inherits it from the
/// xtask that hands over to it, or the suite's job sets it); the one this
/// library was compiled in is the fallback. Either is a crate directory
/// two levels under the root (crates/xtask, crates/devtools). They differ
/// in a copy of the repository that reuses another's target directory (the
/// quick-start test's clone): there the copy is meant.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.join("Cargo.toml").is_file())
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .ancestors()
        .nth(2)
        .map(std::path::Path::to_path_buf)
        .unwrap_or(manifest_dir)
}

/// Where cargo builds: `CARGO_TARGET_DIR` (relative to the workspace) or
/// `target/`.
pub fn target_dir() -> PathBuf {
    let root = workspace_root();
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |dir| root.join(dir))
}

/// The cargo that runs us (`CARGO`), or the one on the `PATH`.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}
