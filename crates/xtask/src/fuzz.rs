//! `cargo xtask fuzz`: libFuzzer over what the daemon does with a client's
//! bytes (fuzz/fuzz_targets/client_frames.rs), seeded with the protocol's
//! golden files. Runs on the stable toolchain (`--sanitizer none`: Rust is
//! memory-safe here; we hunt panics, hangs and unbounded buffering).

use std::process::Command;

use anyhow::{Context, Result};

use crate::{cargo, run, workspace_root};

/// Seconds `cargo xtask test` spends fuzzing.
pub(crate) const IN_TEST_SECONDS: u64 = 60;
/// Seconds `cargo xtask fuzz` spends by default.
pub(crate) const DEFAULT_SECONDS: u64 = 300;

const TARGET: &str = "client_frames";

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

pub(crate) fn fuzz(seconds: u64) -> Result<()> {
    let cargo = cargo();
    ensure_cargo_fuzz(&cargo)?;
    let root = workspace_root();
    let corpus = root.join("fuzz/corpus").join(TARGET);
    std::fs::create_dir_all(&corpus).with_context(|| format!("creating {}", corpus.display()))?;
    let started = std::time::Instant::now();
    run(
        &cargo,
        &[
            "fuzz",
            "run",
            "--fuzz-dir",
            "fuzz",
            "--sanitizer",
            "none",
            TARGET,
            &corpus.to_string_lossy(),
            &root.join("ipc-protocol/tests/golden/v1").to_string_lossy(),
            "--",
            &format!("-max_total_time={seconds}"),
            "-max_len=8192",
            "-print_final_stats=1",
        ],
    )?;
    let entries = std::fs::read_dir(&corpus).map(|d| d.count()).unwrap_or(0);
    eprintln!(
        "xtask: fuzzed {TARGET} for {:.0} s without a failure; corpus: {entries} inputs in {}",
        started.elapsed().as_secs_f64(),
        corpus.display()
    );
    Ok(())
}
