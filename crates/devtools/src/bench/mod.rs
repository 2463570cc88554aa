//! `cargo xtask bench [--quick] [--out PATH]`: the real binaries against
//! real Prosody instances, side by side with the clients people use
//! (Profanity, and slixmpp as a plain receiver) where there is a peer to
//! compare with: idle cost, message latency, burst ingest, history, attach,
//! recovery, how the daemon's cost grows, and the window (`wimsy` on Xvfb). Printed as a Markdown table
//! and written to docs/benchmarks.md (full) or
//! target/bench/benchmarks-quick.md (`--quick`).
//!
//! Measurement only: no figure is checked against a limit. A scenario that
//! cannot run to its end (a wait past its deadline, a resume that did not
//! happen) is reported as failed and makes the command fail.

mod attach;
mod burst;
mod catchup;
mod cut;
mod detect;
mod fill;
mod follow;
mod harness;
mod heavy;
mod history;
mod idle;
mod latency;
mod network;
mod outbox;
mod peer;
mod preset;
mod procstat;
mod profanity;
mod rawconn;
mod report;
mod restart;
mod scale;
mod smaps;
mod tray;
mod watch;
mod window;

use std::future::Future;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use harness::Ctx;
use preset::Preset;
use report::{Doc, Machine, Row};
use xtask::{BENCH_USAGE as USAGE, apt, cargo, workspace_root};

/// The scenarios by number.
const SCENARIOS: std::ops::RangeInclusive<u32> = 1..=10;

struct Args {
    quick: bool,
    debug_build: bool,
    built: bool,
    out: Option<PathBuf>,
    only: Vec<u32>,
    renderer: window::Renderer,
}

fn parse(args: &[String]) -> Result<Option<Args>> {
    let mut parsed = Args {
        quick: false,
        debug_build: false,
        built: false,
        out: None,
        only: Vec::new(),
        renderer: window::Renderer::default(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => parsed.quick = true,
            "--debug-build" => parsed.debug_build = true,
            // The linted debug build has built them (not in the usage: for
            // the suite's own job and for `cargo xtask bench --debug-build`,
            // which runs that build first).
            "--built" => parsed.built = true,
            "--out" => {
                let path = it.next().context("--out needs a path")?;
                parsed.out = Some(PathBuf::from(path));
            }
            "--only" => {
                let list = it.next().context("--only needs scenario numbers")?;
                for n in list.split(',') {
                    match n.trim().parse::<u32>() {
                        Ok(n) if SCENARIOS.contains(&n) => parsed.only.push(n),
                        _ => bail!("--only takes scenario numbers 1 to 10, like `--only 3,4`"),
                    }
                }
            }
            "--renderer" => {
                let name = it.next().context("--renderer needs tiny-skia or wgpu")?;
                parsed.renderer = window::Renderer::parse(name)?;
            }
            "-h" | "--help" => return Ok(None),
            other => bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    Ok(Some(parsed))
}

pub(crate) fn run(raw_args: &[String]) -> Result<()> {
    let Some(args) = parse(raw_args)? else {
        println!("{USAGE}");
        return Ok(());
    };
    apt::ensure(apt::BENCH_PACKAGES)?;
    if args.renderer == window::Renderer::Wgpu {
        apt::ensure(apt::WGPU_PACKAGES)?;
    }
    let target = xtask::target_dir();
    // Only what the chosen scenarios run: the window's release build alone
    // takes minutes.
    let wants = |n: u32| args.only.is_empty() || args.only.contains(&n);
    let mut build = vec!["build", "-p", "wimsyd", "-p", "wimsyctl"];
    if wants(8) {
        build.extend(["-p", "wimsy-gui"]);
    }
    if wants(9) {
        build.extend(["-p", "wimsy-tray"]);
    }
    if !args.debug_build {
        build.push("--release");
        if cfg!(debug_assertions) {
            // This process decodes events and stamps them: unoptimised, it
            // would add its own decoding time (tens of µs per event) to
            // the figures. The published run measures from a release build
            // of itself. (`cargo xtask bench` runs that one already: this
            // is for the debug devtools started by hand.)
            xtask::run(&cargo(), &["build", "--release", "-p", "devtools"])?;
            return release_self(&target.join("release/devtools"), raw_args);
        }
    }
    let bin_dir = target.join(if args.debug_build { "debug" } else { "release" });
    if let Some(sub) = args.renderer.subdir() {
        // Built alone, so that no other binary is built with its features,
        // and moved aside; the build below puts the default `wimsy` back.
        let mut gui = vec![
            "build",
            "-p",
            "wimsy-gui",
            "--features",
            args.renderer.name(),
        ];
        if !args.debug_build {
            gui.push("--release");
        }
        xtask::run(&cargo(), &gui)?;
        let dir = bin_dir.join(sub);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::copy(bin_dir.join("wimsy"), dir.join("wimsy"))
            .with_context(|| format!("copying wimsy into {}", dir.display()))?;
    }
    // `cargo xtask test`, or `cargo xtask bench --debug-build` (both in
    // crates/xtask), has just built every binary in debug mode, with the
    // features the tests need: building `-p wimsyd -p wimsyctl` alone would
    // resolve features differently and compile some 40 crates again.
    if !args.built {
        xtask::run(&cargo(), &build)?;
    }
    let (wimsyd, wimsyctl) = (bin_dir.join("wimsyd"), bin_dir.join("wimsyctl"));
    let mut needed = vec![wimsyd.clone(), wimsyctl.clone()];
    if wants(8) {
        needed.push(bin_dir.join("wimsy"));
    }
    if wants(9) {
        needed.push(bin_dir.join("wimsy-tray"));
    }
    for bin in &needed {
        if !bin.exists() {
            bail!("{} is missing after the build", bin.display());
        }
    }
    let ctx = Ctx {
        bin_dir,
        wimsyctl,
        quick: args.quick,
        renderer: args.renderer,
    };
    let machine = Machine::probe();
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (rows, failures) = runtime.block_on(scenarios(ctx.clone(), args.only.clone()));
    let total = started.elapsed();

    let table = report::table(&rows);
    println!("{table}");
    let mut command = String::from("cargo xtask bench");
    if args.quick {
        command.push_str(" --quick");
    }
    if args.debug_build {
        command.push_str(" --debug-build");
    }
    if args.renderer != window::Renderer::default() {
        command.push_str(&format!(" --renderer {}", args.renderer.name()));
    }
    if !args.only.is_empty() {
        let only: Vec<String> = args.only.iter().map(u32::to_string).collect();
        command.push_str(&format!(" --only {}", only.join(",")));
    }
    let methods = [
        (idle::TITLE, idle::METHOD),
        (latency::TITLE, latency::METHOD),
        (burst::TITLE, burst::METHOD),
        (history::TITLE, history::METHOD),
        (attach::TITLE, attach::METHOD),
        (detect::TITLE, detect::METHOD),
        (restart::TITLE, restart::METHOD),
        (cut::TITLE, cut::METHOD),
        (network::TITLE, network::METHOD),
        (outbox::TITLE, outbox::METHOD),
        (catchup::TITLE, catchup::METHOD),
        (scale::TITLE, scale::METHOD),
        (window::TITLE, window::METHOD),
        (window::CHOICE_TITLE, window::CHOICE),
        (tray::TITLE, tray::METHOD),
        (heavy::TITLE, heavy::METHOD),
    ];
    let doc = Doc {
        quick: args.quick,
        command: &command,
        machine: &machine,
        methods: &methods,
        rows: &rows,
        total,
        date: today(),
    };
    let out = args.out.unwrap_or_else(|| {
        if !args.only.is_empty() {
            target.join("bench/benchmarks-partial.md")
        } else if args.quick || args.debug_build {
            target.join("bench/benchmarks-quick.md")
        } else {
            workspace_root().join("docs/benchmarks.md")
        }
    });
    report::write(&out, &doc.render())?;
    eprintln!(
        "bench: {} in {:.0} s; report written to {}",
        if args.quick { "quick run" } else { "full run" },
        total.as_secs_f64(),
        out.display()
    );
    if !failures.is_empty() {
        bail!(
            "{} scenario(s) could not run to the end:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
    Ok(())
}

/// Run `bench` with the same arguments in the release build of devtools.
fn release_self(devtools: &std::path::Path, args: &[String]) -> Result<()> {
    let status = std::process::Command::new(devtools)
        .arg("bench")
        .args(args)
        .current_dir(workspace_root())
        .status()
        .with_context(|| format!("starting {}", devtools.display()))?;
    if !status.success() {
        bail!("the benchmark failed ({status})");
    }
    Ok(())
}

/// Every scenario in order (or those in `only`); failures become rows
/// and messages, and the others still run.
async fn scenarios(ctx: Ctx, only: Vec<u32>) -> (Vec<Row>, Vec<String>) {
    let wants = |n: u32| only.is_empty() || only.contains(&n);
    let mut out = Outcome::default();
    let runs = ctx.runs();

    // The idle cost waits for minutes with idle CPUs; its figures are the
    // idle processes' own CPU time, wakeups and memory, which the other
    // scenarios' load does not change, so it runs beside all of them.
    let idle = wants(1).then(|| {
        let ctx = ctx.clone();
        eprintln!("bench: 1. idle cost runs in the background");
        tokio::spawn(async move { idle::run(&ctx).await })
    });

    // Full mode: the two slow recovery figures wait on timers for minutes
    // with idle CPUs, so they run side by side (each with its own server
    // and daemon) before the other timed scenarios, and none of those runs
    // meanwhile.
    let slow_detect = (!ctx.quick && wants(6)).then(|| {
        let ctx = ctx.clone();
        tokio::spawn(async move { detect::run(&ctx, Preset::Default, 1).await })
    });
    let slow_restart = (!ctx.quick && wants(6)).then(|| {
        let ctx = ctx.clone();
        tokio::spawn(async move { restart::run(&ctx, Preset::Default, 3).await })
    });
    if slow_detect.is_some() {
        eprintln!(
            "bench: the slow figures first: 6a. detection with the default timeouts (~4.5 min) \
             and 6b. restart with the default backoff (3 × 60 s), side by side"
        );
    }
    let slow_started = Instant::now();
    let detect_default = match slow_detect {
        Some(task) => Some(task.await.flat()),
        None => None,
    };
    let restart_default = match slow_restart {
        Some(task) => Some(task.await.flat()),
        None => None,
    };
    if detect_default.is_some() || restart_default.is_some() {
        eprintln!(
            "bench: the slow figures took {:.0} s",
            slow_started.elapsed().as_secs_f64()
        );
    }

    if wants(2) {
        out.step("2. message path", latency::run(&ctx), many).await;
    }
    if wants(3) {
        out.step("3. burst ingest", burst::run(&ctx), many).await;
    }
    if wants(4) {
        out.step("4. history", history::run(&ctx), many).await;
    }
    if wants(5) {
        out.step("5. frontend attach", attach::run(&ctx), many)
            .await;
    }
    if let Some(result) = detect_default {
        out.record("6a. detection (default timeouts)", result, one);
    }
    if wants(6) {
        let runs = if ctx.quick { 2 } else { runs };
        out.step(
            "6a. detection (tight preset)",
            detect::run(&ctx, Preset::Tight, runs),
            one,
        )
        .await;
        out.step(
            "6b. restart (tight preset)",
            restart::run(&ctx, Preset::Tight, runs),
            many,
        )
        .await;
    }
    if let Some(result) = restart_default {
        out.record("6b. restart (default backoff)", result, many);
    }
    if wants(6) {
        if is_root() {
            out.step("6c. cut", cut::run(&ctx, runs), one).await;
            out.step("6d. network back", network::run(&ctx, runs), one)
                .await;
        } else {
            for title in [cut::TITLE, network::TITLE] {
                out.rows.push(Row::empty(
                    title,
                    "skipped: needs root (`ss -K`, `ip netns`)",
                ));
            }
        }
        out.step("6e. outbox drain", outbox::run(&ctx, runs), many)
            .await;
        out.step(
            "6f. archive catch-up",
            catchup::run(&ctx, runs, false),
            many,
        )
        .await;
        out.step(
            "6f. archive catch-up with mod_offline",
            catchup::run(&ctx, runs.min(3), true),
            many,
        )
        .await;
    }
    if wants(7) {
        out.step("7. scale", scale::run(&ctx), many).await;
    }
    if wants(8) {
        out.step("8a. the window, a long chat", window::long_chat(&ctx), many)
            .await;
        out.step(
            "8b. the window, idle memory",
            window::idle_memory(&ctx),
            one,
        )
        .await;
    }
    if wants(9) {
        out.step("9. the tray, idle memory", tray::idle_memory(&ctx), one)
            .await;
    }
    if wants(10) {
        out.step("10. heavy user", heavy::run(&ctx), many).await;
    }
    if let Some(task) = idle {
        eprintln!("bench: waiting for 1. idle cost to finish");
        let mut first = Outcome::default();
        first.record("1. idle cost", task.await.flat(), many);
        first.rows.append(&mut out.rows);
        first.failures.append(&mut out.failures);
        out = first;
    }
    (out.rows, out.failures)
}

fn one(row: Row) -> Vec<Row> {
    vec![row]
}

fn many(rows: Vec<Row>) -> Vec<Row> {
    rows
}

#[derive(Default)]
struct Outcome {
    rows: Vec<Row>,
    failures: Vec<String>,
}

impl Outcome {
    async fn step<T>(
        &mut self,
        title: &str,
        work: impl Future<Output = Result<T>>,
        into_rows: fn(T) -> Vec<Row>,
    ) {
        eprintln!("bench: {title}...");
        let started = Instant::now();
        let result = work.await;
        self.record(title, result, into_rows);
        eprintln!(
            "bench: {title} took {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }

    /// Turns a scenario's outcome into rows (or a failure).
    fn record<T>(&mut self, title: &str, result: Result<T>, into_rows: fn(T) -> Vec<Row>) {
        match result {
            Ok(value) => {
                let rows = into_rows(value);
                for row in &rows {
                    let figures = report::summary(&row.samples).map_or_else(
                        || "no figures".to_owned(),
                        |(min, med, max)| {
                            format!(
                                "{} / {} / {} {}",
                                report::num(min),
                                report::num(med),
                                report::num(max),
                                row.unit
                            )
                        },
                    );
                    let each: Vec<String> = row.samples.iter().map(|v| report::num(*v)).collect();
                    eprintln!(
                        "bench:   {}: {figures} (runs: {})",
                        row.scenario,
                        each.join(", ")
                    );
                }
                self.rows.extend(rows);
            }
            Err(e) => {
                eprintln!("bench: {title} FAILED: {e:#}");
                let first = format!("{e:#}");
                let first = first.lines().next().unwrap_or("").to_owned();
                self.rows
                    .push(Row::empty(title, format!("FAILED: {first}")));
                self.failures.push(format!("{title}: {first}"));
            }
        }
    }
}

/// Converts a joined task's outcome.
trait Joined<T> {
    fn flat(self) -> Result<T>;
}

impl<T> Joined<T> for std::result::Result<Result<T>, tokio::task::JoinError> {
    fn flat(self) -> Result<T> {
        self.context("the scenario's task failed")?
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn today() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown date".to_owned())
}
