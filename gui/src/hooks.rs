//! Lines on stdout that end-to-end tests and benchmarks wait for, printed
//! only when `WIMSY_TEST_HOOKS=1` so a user never sees them.

use std::io::Write;
use std::sync::OnceLock;

/// The variable that turns the hooks on.
pub const ENV: &str = "WIMSY_TEST_HOOKS";

/// Whether hooks are on for this process.
pub fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var(ENV).is_ok_and(|v| v == "1"))
}

/// Print `line` at once when hooks are on (stdout is a pipe in tests, so it
/// would otherwise sit in a buffer). A closed stdout must not take the
/// window down, so write errors are ignored.
pub fn say(line: impl FnOnce() -> String) {
    if !enabled() {
        return;
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", line());
    let _ = out.flush();
}
