//! `wimsyctl`: control wimsyd from a terminal or a script.
//!
//! This file is the edge: parse the command line, run the command on a small
//! runtime, report a failure and turn it into the exit code
//! (0 done, 1 refused or failed, 2 usage, 3 no daemon).

mod args;
mod cli;
mod commands;
mod failure;
mod login;
mod render;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;
use crate::failure::{EXIT_OK, Failure, human_error, json_error};

fn main() -> ExitCode {
    // Bad arguments: clap prints why and exits with 2.
    let cli = Cli::parse();
    let json = cli.json;
    let outcome = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| Failure::Local {
            what: "starting the async runtime",
            source,
        })
        .and_then(|runtime| runtime.block_on(commands::run(cli)));
    match outcome {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(failure) if failure.is_broken_pipe() => ExitCode::from(EXIT_OK),
        Err(failure) => {
            report(&failure, json);
            ExitCode::from(failure.exit_code())
        }
    }
}

/// With `--json` the error is a JSON document on stdout, and a human line
/// on stderr either way.
fn report(failure: &Failure, json: bool) {
    if json {
        // If stdout is gone there is nowhere else to put it; stderr still says.
        let _ = commands::emit(&json_error(failure));
    }
    eprintln!("{}", human_error(failure));
}
