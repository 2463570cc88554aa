//! `cargo xtask test` and `cargo xtask demo`: the two commands of the
//! README's quick start; `cargo xtask bench`: the resilience figures in
//! docs/benchmarks.md; `cargo xtask package`: the Debian package. All
//! install the Debian packages they need first. `demo` and `bench` build,
//! then hand over to the devtools binary (crates/devtools, handover.rs).

mod deps;
mod fuzz;
mod handover;
mod package;
mod runner;

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use xtask::{apt, build, cargo, run, target_dir, workspace_root};

const USAGE: &str = "usage: cargo xtask <test|demo|bench|fuzz|package>

  test   install missing system packages, then run cargo fmt --check,
         the check that the session crate's dependencies (every target)
         hold nothing of IPC, desktops or D-Bus, and the debug build with
         clippy's -D warnings; then, side by side (WIMSY_TEST_JOBS at a
         time, default 4; logs in target/test-logs): every test (with
         real Prosody and ejabberd), the Debian package made from the
         debug build (its files, dpkg -i into a throwaway root, the man
         pages, the completions), every benchmark once at a small size
         (debug build), and 30 s of fuzzing per target
  demo   install missing system packages, start a local Prosody with two
         throwaway accounts on loopback, a wimsyd for each, bob saying hello
         to alice, and the window on alice's chat with bob (or `wimsyctl
         follow` without a display); Ctrl-C stops all of it, and so does
         `wimsyctl quit` on alice's daemon
  bench  build the release binaries and measure recovery times and
         throughput against real Prosody instances; `--quick` for a short
         run (see `cargo xtask bench --help`)
  fuzz   fuzz the daemon's handling of client bytes: frame cutting and
         decoding, then the core answering any sequence of requests
         (libFuzzer, stable toolchain), SECONDS each (default 300):
         `cargo xtask fuzz [SECONDS]`
  package
         build target/debian/wimsy_*.deb (release build, cargo-deb;
         `--debug` packs the debug binaries, `--check` checks it as the
         tests do: `cargo xtask package --help`)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("demo") => handover::demo(),
        Some("package") => package::command(&args[1..]),
        Some("bench") => handover::bench(&args[1..]),
        // The suite's own fuzzing job (runner.rs), not for people.
        Some("fuzz") if args.get(1).map(String::as_str) == Some("--suite") => {
            fuzz::fuzz(fuzz::IN_TEST_SECONDS, fuzz::Profile::Suite)
        }
        Some("fuzz") => match args.get(1).map(|s| s.parse::<u64>()) {
            None => fuzz::fuzz(fuzz::DEFAULT_SECONDS, fuzz::Profile::Release),
            Some(Ok(seconds)) => fuzz::fuzz(seconds, fuzz::Profile::Release),
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

/// How long one step of `cargo xtask test` took: on the clock, and in CPU
/// time of the processes it ran (which stays put when other builds share
/// the machine, where the clock does not).
struct StepTime {
    name: &'static str,
    wall: f64,
    cpu: Option<f64>,
}

/// CPU seconds (user and system) of every child process this one has
/// waited for, and of theirs: `cutime` and `cstime` in /proc/self/stat,
/// in clock ticks (100 a second on Linux, whatever the kernel's HZ).
fn children_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (in parentheses) may hold spaces: count from after it.
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 16 and 17 of stat(5); the state (field 3) is the first here.
    let cutime: f64 = fields.get(13)?.parse().ok()?;
    let cstime: f64 = fields.get(14)?.parse().ok()?;
    Some((cutime + cstime) / 100.0)
}

/// Run one step of `cargo xtask test`, noting how long it took, so that the
/// run ends with where its time went (docs/testing.md keeps the figures).
fn timed(
    times: &mut Vec<StepTime>,
    name: &'static str,
    step: impl FnOnce() -> Result<()>,
) -> Result<()> {
    let started = Instant::now();
    let cpu_before = children_cpu_seconds();
    let result = step();
    let wall = started.elapsed().as_secs_f64();
    let cpu = children_cpu_seconds()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    match cpu {
        Some(cpu) => eprintln!("xtask: {name}: {wall:.1} s ({cpu:.1} s of CPU)"),
        None => eprintln!("xtask: {name}: {wall:.1} s"),
    }
    times.push(StepTime { name, wall, cpu });
    result
}

fn test() -> Result<()> {
    let started = Instant::now();
    let mut times = Vec::new();
    // All at once, before anything runs side by side: two jobs installing
    // at the same time would find dpkg locked.
    timed(&mut times, "system packages", || {
        apt::ensure(apt::TEST_PACKAGES)?;
        apt::ensure(apt::PACKAGE_PACKAGES)?;
        apt::ensure(apt::BENCH_PACKAGES)
    })?;
    let cargo = cargo();
    timed(&mut times, "cargo fmt --check", || {
        run(&cargo, &["fmt", "--all", "--check"])
    })?;
    timed(
        &mut times,
        "the session crate's dependencies",
        deps::check_session,
    )?;
    // One build serves clippy and the tests (see build.rs); end-to-end
    // tests start the real binaries, so it comes first.
    timed(&mut times, "build, linted by clippy", build::build)?;
    timed(
        &mut times,
        "tests, package, bench, fuzz (side by side)",
        side_by_side,
    )?;
    eprintln!("xtask: all checks passed; where the time went (clock, CPU):");
    for step in &times {
        let cpu = step
            .cpu
            .map_or_else(String::new, |cpu| format!("{cpu:>7.1} s"));
        eprintln!("xtask:   {:<34} {:>7.1} s {cpu}", step.name, step.wall);
    }
    eprintln!(
        "xtask:   {:<34} {:>7.1} s",
        "total",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The jobs that take longest, slowest first, as measured side by side
/// (docs/testing.md): the run ends no sooner than its longest job, so those
/// start first and the short ones fill in around them.
const SLOWEST: &[&str] = &[
    // Not slow, but first: cargo's lock on the build directory lets one
    // cargo run at a time, and the fuzz build is the other.
    "doc tests",
    "bench --quick",
    "tests/tests/resilience",
    "tests/tests/burst",
    "fuzz",
    "testkit/tests/ejabberd",
    "session/tests/both_servers",
    "package check",
    "tests/tests/notifications",
    "tests/tests/gui",
    "tests/tests/exactly_once",
    "tests/tests/roster",
    "tests/tests/chat",
    "tests/tests/quickstart",
    "session/tests/ejabberd",
    "tests/tests/read_markers",
    "session/tests/acks",
    "tests/tests/settings",
    "tests/tests/archive_traffic",
    "session/tests/roster",
];

/// How many jobs run at once, unless `WIMSY_TEST_JOBS` says: on two cores
/// the test binaries mostly wait on servers and windows (docs/testing.md).
const DEFAULT_PARALLEL: usize = 4;

/// Everything that runs on the build, side by side (runner.rs says why):
/// every test binary, the doc tests, the package check, the benchmarks'
/// quick run (figures not looked at) and the fuzzing, each as its own
/// process with its own log.
fn side_by_side() -> Result<()> {
    let root = workspace_root();
    let cargo = cargo();
    let lint = build::lint_env()?;
    // The build has just replaced this very program with its linted twin
    // (same sources): this process's own file is gone, that one is not.
    let xtask = target_dir().join("debug/xtask");
    // The bench, from the same build (crates/devtools).
    let devtools = target_dir().join("debug/devtools");
    // What `cargo run` tells an xtask, so that the jobs below find this
    // copy of the repository (see `workspace_root`).
    let xtask_dir = root.join("crates/xtask");
    let own = |program: &std::path::Path, name: &str, args: &[&str]| {
        runner::Job::new(name, program, &root)
            .args(args.iter().copied())
            .env("CARGO_MANIFEST_DIR", xtask_dir.as_os_str())
    };
    let mut doc_tests =
        runner::Job::new("doc tests", &cargo, &root).args(["test", "--workspace", "--doc"]);
    for (name, value) in &lint {
        doc_tests = doc_tests.env(name, value);
    }
    let mut jobs = vec![
        doc_tests,
        own(&xtask, "fuzz", &["fuzz", "--suite"]),
        // Named as the command people type (SLOWEST knows it so).
        own(
            &devtools,
            "bench --quick",
            &["bench", "--quick", "--debug-build", "--built"],
        ),
        own(&xtask, "package check", &["package", "--debug", "--check"]),
    ];
    jobs.extend(runner::test_binaries(&cargo, &root, &lint)?);
    let jobs = runner::longest_first(jobs, SLOWEST);
    let parallel = match std::env::var("WIMSY_TEST_JOBS") {
        Ok(n) => n
            .parse()
            .with_context(|| format!("WIMSY_TEST_JOBS={n} is not a number of jobs"))?,
        Err(_) => DEFAULT_PARALLEL,
    };
    runner::run(jobs, parallel, &root.join("target/test-logs"))
}
