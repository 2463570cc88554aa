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

/// Fuzz every target for `seconds` each.
pub(crate) fn fuzz(seconds: u64) -> Result<()> {
    let cargo = cargo();
    ensure_cargo_fuzz(&cargo)?;
    for (target, seeds) in TARGETS {
        fuzz_target(&cargo, target, seeds, seconds)?;
    }
    Ok(())
}

fn fuzz_target(cargo: &str, target: &str, seeds: &str, seconds: u64) -> Result<()> {
    let root = workspace_root();
    let corpus = root.join("fuzz/corpus").join(target);
    std::fs::create_dir_all(&corpus).with_context(|| format!("creating {}", corpus.display()))?;
    let started = std::time::Instant::now();
    run(
        cargo,
        &[
            "fuzz",
            "run",
            "--fuzz-dir",
            "fuzz",
            "--sanitizer",
            "none",
            // cargo-fuzz builds with one codegen unit by default, which
            // makes the daemon's build take minutes longer than it saves.
            "--codegen-units",
            "16",
            target,
            &corpus.to_string_lossy(),
            &root.join(seeds).to_string_lossy(),
            "--",
            &format!("-max_total_time={seconds}"),
            &format!("-timeout={HANG_SECONDS}"),
            "-max_len=8192",
            "-print_final_stats=1",
        ],
    )?;
    let entries = std::fs::read_dir(&corpus).map(|d| d.count()).unwrap_or(0);
    eprintln!(
        "xtask: fuzzed {target} for {:.0} s without a failure; corpus: {entries} inputs in {}",
        started.elapsed().as_secs_f64(),
        corpus.display()
    );
    Ok(())
}
