//! `cargo xtask test` and `cargo xtask demo`: the two commands of the
//! README's quick start; `cargo xtask bench`: the resilience figures in
//! docs/benchmarks.md. All install the Debian packages they need first.

mod apt;
mod bench;
mod demo;
mod deps;
mod fuzz;

use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: cargo xtask <test|demo|bench|fuzz>

  test   install missing system packages, then run cargo fmt --check,
         clippy with -D warnings, the check that the session crate's
         dependencies (every target) hold nothing of IPC, desktops or
         D-Bus, every test (with a real Prosody), every
         benchmark once at a small size (debug build), and a one-minute
         fuzz run
  demo   install missing system packages, start a local Prosody with two
         throwaway accounts on loopback, wimsyd for one of them, a peer that
         says hello, and the GUI (or `wimsyctl follow` without a display);
         Ctrl-C stops all of it
  bench  build the release binaries and measure recovery times and
         throughput against real Prosody instances; `--quick` for a short
         run (see `cargo xtask bench --help`)
  fuzz   fuzz the daemon's handling of client bytes: frame cutting and
         decoding, then the core answering any sequence of requests
         (libFuzzer, stable toolchain), SECONDS each (default 300):
         `cargo xtask fuzz [SECONDS]`";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("demo") => demo::run(),
        Some("bench") => bench::run(&args[1..], bench::Build::First),
        Some("fuzz") => match args.get(1).map(|s| s.parse::<u64>()) {
            None => fuzz::fuzz(fuzz::DEFAULT_SECONDS),
            Some(Ok(seconds)) => fuzz::fuzz(seconds),
            Some(Err(_)) => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        },
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Run a command in the workspace root, failing if it fails.
pub(crate) fn run(program: &str, args: &[&str]) -> Result<()> {
    eprintln!("xtask: $ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(workspace_root())
        .status()
        .with_context(|| format!("could not start {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

pub(crate) fn workspace_root() -> std::path::PathBuf {
    let manifest_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .ancestors()
        .nth(2)
        .unwrap_or(manifest_dir)
        .to_path_buf()
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

fn test() -> Result<()> {
    apt::ensure(apt::TEST_PACKAGES)?;
    let cargo = cargo();
    run(&cargo, &["fmt", "--all", "--check"])?;
    deps::check_session()?;
    run(
        &cargo,
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    // End-to-end tests start the real binaries, so build them first.
    // `--tests` too: then the binaries get the same dependency features as
    // `cargo test` (dev-dependencies add some, tokio's test-util among
    // them) and `cargo test` compiles only what is left instead of
    // rebuilding tokio, zbus, iced and our crates a second time.
    run(&cargo, &["build", "--workspace", "--bins", "--tests"])?;
    run(&cargo, &["test", "--workspace", "--no-fail-fast"])?;
    // Every benchmark scenario once, small, on the debug binaries just
    // built: the benchmark code cannot rot, and no release build is paid
    // for. Its figures are not looked at (target/bench/).
    bench::run(
        &["--quick".to_owned(), "--debug-build".to_owned()],
        bench::Build::AlreadyDone,
    )?;
    fuzz::fuzz(fuzz::IN_TEST_SECONDS)?;
    eprintln!("xtask: all checks passed");
    Ok(())
}
