//! Runs the suite's jobs side by side: every test binary of the build, the
//! doc tests, the package check and the benchmarks' quick run.
//!
//! `cargo test` runs its test binaries one after another. Most of ours
//! spend their time waiting on real servers, daemons and windows, so on
//! two cores it used a third of the machine for five minutes
//! (docs/testing.md has the figures). Each test binary still runs its own
//! tests as cargo would have (two at a time on two cores); only the
//! binaries overlap. Tests never share ports, directories or servers, so
//! running them side by side is what the suite already promises.
//!
//! Each job writes its output to its own file under target/test-logs, so
//! that side-by-side runs cannot interleave their lines; a job that fails
//! has its whole output printed, a job that passes one line.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// One program to run, with its own log.
pub(crate) struct Job {
    /// Unique among the jobs; names the log file.
    pub(crate) name: String,
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<String>,
    pub(crate) dir: PathBuf,
    pub(crate) env: Vec<(String, OsString)>,
}

impl Job {
    pub(crate) fn new(name: impl Into<String>, program: impl Into<PathBuf>, dir: &Path) -> Self {
        Job {
            name: name.into(),
            program: program.into(),
            args: Vec::new(),
            dir: dir.to_path_buf(),
            env: Vec::new(),
        }
    }

    pub(crate) fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub(crate) fn env(mut self, name: &str, value: impl Into<OsString>) -> Self {
        self.env.push((name.to_owned(), value.into()));
        self
    }
}

struct Finished {
    name: String,
    log: PathBuf,
    seconds: f64,
    /// Why it failed, or `None` when it passed.
    failure: Option<String>,
}

/// Run `jobs` at most `parallel` at a time, in the order given (put the
/// longest first: the run ends no sooner than its longest job started).
/// Every job runs even when one fails; the error lists the failed ones.
pub(crate) fn run(jobs: Vec<Job>, parallel: usize, log_dir: &Path) -> Result<()> {
    std::fs::create_dir_all(log_dir).with_context(|| format!("creating {}", log_dir.display()))?;
    let total = jobs.len();
    let queue = Arc::new(Mutex::new(VecDeque::from(jobs)));
    let (done, results) = mpsc::channel();
    let workers: Vec<_> = (0..parallel.max(1))
        .map(|_| {
            let queue = Arc::clone(&queue);
            let done = done.clone();
            let log_dir = log_dir.to_path_buf();
            std::thread::spawn(move || {
                loop {
                    // A poisoned lock means a worker panicked mid-pop: stop
                    // taking jobs; the missing results fail the run below.
                    let job = match queue.lock() {
                        Ok(mut queue) => queue.pop_front(),
                        Err(_) => None,
                    };
                    let Some(job) = job else { break };
                    if done.send(run_one(job, &log_dir)).is_err() {
                        break;
                    }
                }
            })
        })
        .collect();
    drop(done);
    let mut failed = Vec::new();
    let mut finished = 0;
    for result in results {
        finished += 1;
        let seconds = result.seconds;
        match &result.failure {
            None => eprintln!(
                "xtask: [{finished}/{total}] ok      {:<44} {seconds:>6.1} s{}",
                result.name,
                summary(&result.log)
            ),
            Some(why) => {
                eprintln!(
                    "xtask: [{finished}/{total}] FAILED  {:<44} {seconds:>6.1} s: {why}; its output:",
                    result.name
                );
                print_log(&result.log);
                eprintln!("xtask: (end of {}'s output)", result.name);
                failed.push(result.name);
            }
        }
    }
    for worker in workers {
        // A worker that panicked already lost its job's result; the count
        // below says so.
        let _ = worker.join();
    }
    if !failed.is_empty() {
        bail!(
            "{} of {total} test jobs failed: {} (logs in {})",
            failed.len(),
            failed.join(", "),
            log_dir.display()
        );
    }
    if finished != total {
        bail!("only {finished} of {total} test jobs reported back");
    }
    Ok(())
}

fn run_one(job: Job, log_dir: &Path) -> Finished {
    let log = log_dir.join(format!("{}.log", job.name.replace(['/', ' '], "_")));
    let started = Instant::now();
    let failure = match start(&job, &log) {
        Ok(status) if status.success() => None,
        Ok(status) => Some(format!("it exited with {status}")),
        Err(e) => Some(format!("{e:#}")),
    };
    Finished {
        name: job.name,
        log,
        seconds: started.elapsed().as_secs_f64(),
        failure,
    }
}

fn start(job: &Job, log: &Path) -> Result<std::process::ExitStatus> {
    let out = File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let err = out.try_clone().context("sharing the log file")?;
    let mut command = Command::new(&job.program);
    command
        .args(&job.args)
        .current_dir(&job.dir)
        .stdin(std::process::Stdio::null())
        .stdout(out)
        .stderr(err);
    xtask::forget_cargo_run(&mut command);
    command.envs(job.env.iter().map(|(name, value)| (name, value)));
    command
        .status()
        .with_context(|| format!("could not start {}", job.program.display()))
}

/// The libtest tally of a passing log ("12 passed; 1 ignored"), added up
/// over the log's result lines (a doc-test run has one per crate).
fn summary(log: &Path) -> String {
    let Ok(text) = std::fs::read_to_string(log) else {
        return String::new();
    };
    let (mut passed, mut ignored, mut seen) = (0u64, 0u64, false);
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("test result: ok. ") else {
            continue;
        };
        seen = true;
        for part in rest.split(';') {
            let mut words = part.split_whitespace();
            let (Some(count), Some(what)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(count) = count.parse::<u64>() else {
                continue;
            };
            match what {
                "passed" => passed += count,
                "ignored" => ignored += count,
                _ => {}
            }
        }
    }
    match (seen, ignored) {
        (false, _) => String::new(),
        (true, 0) => format!(" ({passed} passed)"),
        (true, _) => format!(" ({passed} passed, {ignored} ignored)"),
    }
}

fn print_log(log: &Path) {
    match std::fs::read_to_string(log) {
        Ok(text) => eprint!("{text}"),
        Err(e) => eprintln!("xtask: could not read {}: {e}", log.display()),
    }
}

/// Every test binary of the workspace, as `cargo test --workspace` would
/// run them, from the build `env` made (nothing is compiled again): asked
/// of cargo with `--no-run`, which names each one's executable.
pub(crate) fn test_binaries(
    cargo: &str,
    root: &Path,
    env: &[(&str, OsString)],
) -> Result<Vec<Job>> {
    let mut command = Command::new(cargo);
    command
        .args([
            "test",
            "--workspace",
            "--no-run",
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(root)
        .stderr(std::process::Stdio::inherit());
    xtask::forget_cargo_run(&mut command);
    command.envs(env.iter().map(|(name, value)| (name, value)));
    let out = command
        .output()
        .context("could not start cargo to list the test binaries")?;
    if !out.status.success() {
        bail!("`cargo test --no-run` failed ({})", out.status);
    }
    let mut jobs = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if let Some(job) = test_job(&message) {
            jobs.push(job);
        }
    }
    if jobs.is_empty() {
        bail!("cargo named no test binary");
    }
    Ok(jobs)
}

/// A test binary from one of cargo's JSON messages, run where `cargo test`
/// would run it: in its package's directory.
fn test_job(message: &serde_json::Value) -> Option<Job> {
    if message["reason"] != "compiler-artifact" || message["profile"]["test"] != true {
        return None;
    }
    let executable = message["executable"].as_str()?;
    let manifest = Path::new(message["manifest_path"].as_str()?);
    let dir = manifest.parent()?;
    let package = dir.file_name()?.to_string_lossy();
    let target = message["target"]["name"].as_str()?;
    let kind = message["target"]["kind"][0].as_str().unwrap_or("test");
    let name = match kind {
        "test" => format!("{package}/tests/{target}"),
        other => format!("{package}/{other}/{target}"),
    };
    Some(Job::new(name, executable, dir).env("CARGO_MANIFEST_DIR", dir.as_os_str()))
}

/// Put the jobs named in `first` (by the end of their name) at the front,
/// in that order; the rest keep theirs.
pub(crate) fn longest_first(mut jobs: Vec<Job>, first: &[&str]) -> Vec<Job> {
    let rank = |job: &Job| {
        first
            .iter()
            .position(|end| job.name.ends_with(end))
            .unwrap_or(first.len())
    };
    jobs.sort_by_key(rank);
    jobs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passing_log_is_tallied_over_its_result_lines() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let log = dir.path().join("x.log");
        std::fs::write(
            &log,
            "running 3 tests\n\
             test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 1.2s\n\
             test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out\n",
        )
        .expect("writing the log");
        assert_eq!(summary(&log), " (5 passed, 1 ignored)");
        std::fs::write(&log, "no tests here\n").expect("writing the log");
        assert_eq!(summary(&log), "");
    }

    #[test]
    fn a_test_artifact_becomes_a_job_in_its_package_directory() {
        let message: serde_json::Value = serde_json::from_str(
            r#"{"reason":"compiler-artifact","manifest_path":"/w/tests/Cargo.toml",
                "target":{"kind":["test"],"name":"resilience"},
                "profile":{"test":true},"executable":"/w/target/debug/deps/resilience-1"}"#,
        )
        .expect("valid JSON");
        let job = test_job(&message).expect("a test binary");
        assert_eq!(job.name, "tests/tests/resilience");
        assert_eq!(job.dir, Path::new("/w/tests"));
        assert_eq!(job.program, Path::new("/w/target/debug/deps/resilience-1"));
        let library: serde_json::Value = serde_json::from_str(
            r#"{"reason":"compiler-artifact","manifest_path":"/w/tests/Cargo.toml",
                "target":{"kind":["lib"],"name":"x"},"profile":{"test":false},
                "executable":null}"#,
        )
        .expect("valid JSON");
        assert!(test_job(&library).is_none());
    }

    #[test]
    fn named_jobs_go_first_in_the_order_named() {
        let jobs = ["a/tests/x", "b/tests/slow", "c/lib/y", "d/tests/slower"]
            .into_iter()
            .map(|name| Job::new(name, "/bin/true", Path::new("/")))
            .collect();
        let names: Vec<_> = longest_first(jobs, &["tests/slower", "tests/slow"])
            .into_iter()
            .map(|job| job.name)
            .collect();
        assert_eq!(
            names,
            ["d/tests/slower", "b/tests/slow", "a/tests/x", "c/lib/y"]
        );
    }

    #[test]
    fn every_job_runs_and_a_failure_is_named_with_its_output_kept() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let jobs = vec![
            Job::new("fails", "/bin/sh", dir.path()).args(["-c", "echo broken; exit 3"]),
            Job::new("passes", "/bin/sh", dir.path()).args(["-c", "echo fine"]),
        ];
        let error = run(jobs, 2, &dir.path().join("logs")).expect_err("one job failed");
        assert!(error.to_string().contains("1 of 2 test jobs failed: fails"));
        let kept = std::fs::read_to_string(dir.path().join("logs/fails.log"))
            .expect("the failed job's log");
        assert_eq!(kept, "broken\n");
        let passed = std::fs::read_to_string(dir.path().join("logs/passes.log"))
            .expect("the passing job's log");
        assert_eq!(passed, "fine\n");
    }
}
