//! `wimsyctl`: control wimsyd from a terminal or a script.
//!
//! This file is the edge: parse the command line, run the command on a small
//! runtime, report a failure and turn it into the exit code
//! (0 done, 1 refused or failed, 2 usage, 3 no daemon).

mod args;
mod autostart;
mod cli;
mod commands;
mod failure;
mod login;
mod mute;
mod render;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::cli::Cli;
use crate::failure::{EXIT_OK, Failure, human_error, json_error};

fn main() -> ExitCode {
    if let Some(code) = wimsy_clidocs::write_if_asked("wimsyctl", Cli::command) {
        return code;
    }
    // Bad arguments: clap prints why and exits with 2 (after a JSON error
    // document on stdout when --json was asked for, so scripts get one).
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            if error.use_stderr() && std::env::args().skip(1).any(|a| a == "--json") {
                let usage = Failure::Usage(usage_summary(&error));
                let _ = commands::emit(&json_error(&usage));
            }
            error.exit()
        }
    };
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

/// clap's error without its usage and help lines, for the JSON document.
fn usage_summary(error: &clap::Error) -> String {
    let text = error.render().to_string();
    let first = text.lines().next().unwrap_or_default();
    first
        .strip_prefix("error: ")
        .unwrap_or(first)
        .trim()
        .to_owned()
}
