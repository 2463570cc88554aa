//! The benchmarks (`bench/`) and the demo (`demo.rs`), which `cargo xtask
//! bench` and `cargo xtask demo` hand over to (crates/xtask/src/handover.rs).
//! A binary of their own, so that `cargo xtask`, which compiles before
//! anything else, does not compile them, nor tokio, the IPC protocol, the
//! store and the test kit they need, a second time with features of its own.

mod bench;
mod demo;

use std::process::ExitCode;

const USAGE: &str = "usage: devtools <bench|demo>: see `cargo xtask --help`, \
                     which runs this after building it";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("bench") => bench::run(&args[1..]),
        Some("demo") => demo::run(),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // What people typed was `cargo xtask ...`.
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}
