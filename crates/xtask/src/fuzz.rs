//! `cargo xtask fuzz`: libFuzzer over what the daemon does with a client's
//! bytes, in two targets: `client_frames` (cutting, decoding and answering
//! frames; seeded with the protocol's golden files) and `core_requests`
//! (the core handling any sequence of requests; seeded with the scripts in
//! fuzz/seeds/core_requests). Runs on the stable toolchain (`--sanitizer
//! none`: Rust is memory-safe here; we hunt panics, hangs, broken protocol
//! promises and unbounded buffering).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use xtask::{cargo, run, run_with, workspace_root};

/// Seconds `cargo xtask test` spends on each target.
pub(crate) const IN_TEST_SECONDS: u64 = 30;
/// Seconds `cargo xtask fuzz` spends on each target by default.
pub(crate) const DEFAULT_SECONDS: u64 = 300;

/// Each target and the directory of the inputs it starts from.
const TARGETS: &[(&str, &str)] = &[
    ("client_frames", "ipc-protocol/tests/golden/v1"),
    ("core_requests", "fuzz/seeds/core_requests"),
];

/// An input that runs this long is a hang worth reporting.
const HANG_SECONDS: u64 = 10;

fn ensure_cargo_fuzz(cargo: &str) -> Result<()> {
    let present = Command::new(cargo)
        .args(["fuzz", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !present {
        eprintln!("xtask: installing cargo-fuzz (from crates.io) to run the fuzzer");
        run(cargo, &["install", "cargo-fuzz", "--locked"])?;
    }
    Ok(())
}

/// How the targets are built.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Profile {
    /// `cargo xtask test`: in the workspace's own debug build, sharing every
    /// dependency the tests were just built with; only our crates are
    /// compiled again, with the fuzzer's coverage instrumentation (see
    /// [`build_in_suite`]).
    Suite,
    /// `cargo xtask fuzz`: cargo-fuzz's optimized build, every crate
    /// instrumented, for the long runs that look for bugs.
    Release,
}

/// What `cargo fuzz build` and `cargo fuzz run` are both told: they must be
/// told the same, or the run rebuilds.
const RELEASE_ARGS: &[&str] = &[
    "--fuzz-dir",
    "fuzz",
    "--sanitizer",
    "none",
    // cargo-fuzz builds with one codegen unit by default, which makes the
    // daemon's build take minutes longer than it saves.
    "--codegen-units",
    "16",
];

/// Fuzz every target for `seconds` each.
pub(crate) fn fuzz(seconds: u64, profile: Profile) -> Result<()> {
    let cargo = cargo();
    match profile {
        Profile::Release => {
            ensure_cargo_fuzz(&cargo)?;
            // All targets in one build, so that their own crates compile
            // side by side (each `cargo fuzz run` would otherwise build its
            // target alone).
            let mut build = vec!["fuzz", "build"];
            build.extend_from_slice(RELEASE_ARGS);
            run(&cargo, &build)?;
        }
        Profile::Suite => build_in_suite(&cargo)?,
    }
    for (target, seeds) in TARGETS {
        fuzz_target(&cargo, target, seeds, seconds, profile)?;
    }
    Ok(())
}

/// The flags cargo-fuzz 0.13 gives rustc with `--sanitizer none` on Linux
/// (libFuzzer's coverage feedback), plus the optimization of its dev
/// profile: unoptimized, a 30-second run makes 50 to 100 times fewer
/// inputs and only replays its seeds (docs/testing.md).
const COVERAGE_FLAGS: &str = "--cfg fuzzing -Cpasses=sancov-module \
    -Cllvm-args=-sanitizer-coverage-level=4 \
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
    -Cllvm-args=-sanitizer-coverage-pc-table \
    -Cllvm-args=-sanitizer-coverage-trace-compares \
    -Cllvm-args=-simplifycfg-branch-fold-threshold=0 \
    -Cllvm-args=-sanitizer-coverage-stack-depth \
    -Copt-level=1 -Cdebug-assertions -Coverflow-checks";

/// Build the targets for the suite without a second build of everything.
///
/// cargo-fuzz instruments every crate through `RUSTFLAGS`, which makes
/// cargo compile all 400-odd dependencies again (in the dev profile, 569 CPU
/// seconds, a third of the suite). Here the fuzz crate is a member of the
/// workspace, built by the suite's debug build like any other, and this
/// build gives the instrumentation to the workspace's crates only, through
/// `RUSTC_WORKSPACE_WRAPPER` (the hook clippy uses): the dependencies are
/// the very ones the tests were built with, and only our five crates on the
/// targets' path compile again. The coverage that guides the search is that
/// of our code, which is what the targets are about; the libraries under it
/// (serde, SQLite) run uninstrumented, as any uninstrumented code does.
///
/// Cargo picks dependency features by what a build names, and a build of
/// bins alone leaves out the features dev-dependencies turn on (tokio's
/// `test-util`, for one), which would compile tokio and all on it again:
/// `--examples` (the workspace has none) makes cargo count dev-dependencies
/// as the tests' build did, and builds nothing more.
fn build_in_suite(cargo: &str) -> Result<()> {
    let wrapper = xtask::target_dir().join("xtask/rustc-with-coverage");
    write_wrapper(&wrapper)?;
    let mut args = vec!["build", "--workspace", "--examples"];
    for (target, _) in TARGETS {
        args.extend_from_slice(&["--bin", target]);
    }
    run_with(
        cargo,
        &args,
        &[("RUSTC_WORKSPACE_WRAPPER", wrapper.into_os_string())],
    )
}

/// A `RUSTC_WORKSPACE_WRAPPER`: cargo runs it as `wrapper rustc ARGS` for
/// each of our crates. Our crates have no build scripts; were one added, its
/// script is left uninstrumented (it links without libFuzzer).
fn write_wrapper(path: &Path) -> Result<()> {
    let script = format!(
        "#!/bin/sh\n\
         # Written by `cargo xtask test` (crates/xtask/src/fuzz.rs): rustc, with\n\
         # libFuzzer's coverage instrumentation for the workspace's crates.\n\
         case \" $* \" in *\" build_script_build \"*) exec \"$@\" ;; esac\n\
         exec \"$@\" {}\n",
        COVERAGE_FLAGS
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    );
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    // Left alone when it is current: a build that finds nothing changed
    // should not find its wrapper touched either.
    if std::fs::read_to_string(path).ok().as_deref() != Some(script.as_str()) {
        std::fs::write(path, &script).with_context(|| format!("writing {}", path.display()))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("making {} executable", path.display()))?;
    }
    Ok(())
}

fn fuzz_target(
    cargo: &str,
    target: &str,
    seeds: &str,
    seconds: u64,
    profile: Profile,
) -> Result<()> {
    let root = workspace_root();
    let corpus = root.join("fuzz/corpus").join(target);
    std::fs::create_dir_all(&corpus).with_context(|| format!("creating {}", corpus.display()))?;
    let started = std::time::Instant::now();
    let corpus_dir = corpus.to_string_lossy();
    let seeds_dir = root.join(seeds);
    let seeds_dir = seeds_dir.to_string_lossy();
    let libfuzzer = [
        format!("-max_total_time={seconds}"),
        format!("-timeout={HANG_SECONDS}"),
        "-max_len=8192".to_owned(),
        "-print_final_stats=1".to_owned(),
    ];
    match profile {
        Profile::Release => {
            let mut args = vec!["fuzz", "run"];
            args.extend_from_slice(RELEASE_ARGS);
            args.extend_from_slice(&[target, &corpus_dir, &seeds_dir, "--"]);
            args.extend(libfuzzer.iter().map(String::as_str));
            run(cargo, &args)?;
        }
        Profile::Suite => {
            // Where `cargo fuzz run` would keep a crashing input.
            let artifacts = root.join("fuzz/artifacts").join(target);
            std::fs::create_dir_all(&artifacts)
                .with_context(|| format!("creating {}", artifacts.display()))?;
            let prefix = format!("-artifact_prefix={}/", artifacts.display());
            let binary = xtask::target_dir().join("debug").join(target);
            let binary = binary.to_string_lossy();
            let mut args = vec![prefix.as_str(), &corpus_dir, &seeds_dir];
            args.extend(libfuzzer.iter().map(String::as_str));
            run(&binary, &args)?;
        }
    }
    let entries = std::fs::read_dir(&corpus).map(|d| d.count()).unwrap_or(0);
    eprintln!(
        "xtask: fuzzed {target} for {:.0} s without a failure; corpus: {entries} inputs in {}",
        started.elapsed().as_secs_f64(),
        corpus.display()
    );
    Ok(())
}
