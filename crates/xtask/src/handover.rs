//! `cargo xtask demo` and `cargo xtask bench`: built here, run by the
//! devtools binary (crates/devtools). That binary holds their code and its
//! heavy dependencies (tokio, the IPC protocol, the store, the test kit),
//! so that this xtask, which `cargo run` compiles before anything else with
//! features resolved for it alone, stays small; the linted workspace build
//! compiles devtools once, with everything else.
//!
//! This process becomes devtools (`exec`): the demo's Ctrl-C handler, the
//! terminal's signals and the exit code are devtools' own, as they were
//! when the code ran in this process.

use std::ffi::OsStr;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use xtask::{BENCH_USAGE, apt, build, cargo, run, target_dir};

/// `cargo xtask demo`: the packages and the build of `cargo xtask test`
/// (build.rs: the window is built even without a display, clippy's lints
/// included, so that neither command compiles what the other did), then
/// the demo from that build.
pub(crate) fn demo() -> Result<()> {
    apt::ensure(apt::DEMO_PACKAGES)?;
    build::build()?;
    exec(&target_dir().join("debug/devtools"), ["demo"])
}

/// `cargo xtask bench ARGS`: with `--debug-build`, the linted debug build
/// (`cargo xtask test`'s, which includes devtools; `--built` says it is
/// made) and the debug devtools; else the release devtools, which builds
/// the release binaries it measures.
pub(crate) fn bench(args: &[String]) -> Result<()> {
    if args.iter().any(|arg| arg == "-h" || arg == "--help") {
        // Without a build: a fresh clone answers at once.
        println!("{BENCH_USAGE}");
        return Ok(());
    }
    let bench = std::iter::once("bench").chain(args.iter().map(String::as_str));
    if args.iter().any(|arg| arg == "--debug-build") {
        let devtools = target_dir().join("debug/devtools");
        if args.iter().any(|arg| arg == "--built") {
            return exec(&devtools, bench);
        }
        // The one build that `cargo xtask test` makes: building only the
        // binaries the bench runs (`-p wimsyd -p wimsyctl`) would resolve
        // dependency features differently and compile them again.
        build::build()?;
        return exec(&devtools, bench.chain(["--built"]));
    }
    // Optimised: the bench decodes and stamps events itself, and an
    // unoptimised one would add its own time to the figures.
    run(&cargo(), &["build", "--release", "-p", "devtools"])?;
    exec(&target_dir().join("release/devtools"), bench)
}

/// Become `program` with `args`; returns only if that could not be done.
/// The environment goes with it: `CARGO_MANIFEST_DIR` from `cargo run`
/// tells devtools which copy of the repository it works in (see
/// `xtask::workspace_root`).
fn exec<I, S>(program: &Path, args: I) -> Result<()>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let error = Command::new(program).args(args).exec();
    Err(error).with_context(|| format!("could not start {}", program.display()))
}
