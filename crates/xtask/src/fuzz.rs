//! `cargo xtask fuzz`: libFuzzer over what the daemon does with a client's
//! bytes, in two targets: `client_frames` (cutting, decoding and answering
//! frames; seeded with the protocol's golden files) and `core_requests`
//! (the core handling any sequence of requests; seeded with the scripts in
//! fuzz/seeds/core_requests). Runs on the stable toolchain (`--sanitizer
//! none`: Rust is memory-safe here; we hunt panics, hangs, broken protocol
//! promises and unbounded buffering).

use std::process::Command;

use anyhow::{Context, Result};

use crate::{cargo, run, workspace_root};

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
    /// `cargo xtask test`: fuzz/Cargo.toml's dev profile, `opt-level = 1`
    /// with debug assertions on. The fuzz crate is a workspace of its own
    /// whose every crate is compiled with the fuzzer's instrumentation, so
    /// nothing of the debug build is shared: that second build of
    /// everything costs half a release one's CPU time and runs about as
    /// many inputs a second (unoptimized: a fifth, for 50 to 100 times
    /// fewer; docs/testing.md has the figures). The long search is
    /// `cargo xtask fuzz`'s.
    Quick,
    /// `cargo xtask fuzz`: optimized, for the long runs that look for bugs.
    Release,
}

impl Profile {
    /// What `cargo fuzz build` and `cargo fuzz run` are both told: they must
    /// be told the same, or the run rebuilds.
    fn args(self) -> &'static [&'static str] {
        match self {
            Profile::Quick => &["--fuzz-dir", "fuzz", "--sanitizer", "none", "--dev"],
            Profile::Release => &[
                "--fuzz-dir",
                "fuzz",
                "--sanitizer",
                "none",
                // cargo-fuzz builds with one codegen unit by default, which
                // makes the daemon's build take minutes longer than it saves.
                "--codegen-units",
                "16",
            ],
        }
    }
}

/// Fuzz every target for `seconds` each.
pub(crate) fn fuzz(seconds: u64, profile: Profile) -> Result<()> {
    let cargo = cargo();
    ensure_cargo_fuzz(&cargo)?;
    // All targets in one build, so that their own crates compile side by
    // side (each `cargo fuzz run` would otherwise build its target alone).
    let mut build = vec!["fuzz", "build"];
    build.extend_from_slice(profile.args());
    run(&cargo, &build)?;
    for (target, seeds) in TARGETS {
        fuzz_target(&cargo, target, seeds, seconds, profile)?;
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
    let max_time = format!("-max_total_time={seconds}");
    let timeout = format!("-timeout={HANG_SECONDS}");
    let mut args = vec!["fuzz", "run"];
    args.extend_from_slice(profile.args());
    args.extend_from_slice(&[
        target,
        &corpus_dir,
        &seeds_dir,
        "--",
        &max_time,
        &timeout,
        "-max_len=8192",
        "-print_final_stats=1",
    ]);
    run(cargo, &args)?;
    let entries = std::fs::read_dir(&corpus).map(|d| d.count()).unwrap_or(0);
    eprintln!(
        "xtask: fuzzed {target} for {:.0} s without a failure; corpus: {entries} inputs in {}",
        started.elapsed().as_secs_f64(),
        corpus.display()
    );
    Ok(())
}
