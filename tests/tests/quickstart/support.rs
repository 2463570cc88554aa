//! The quick-start test's hands: the demo run in the clone as a process
//! group, and the commands it prints, run elsewhere.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::clone::FreshClone;
use anyhow::{Context, Result, bail};

/// Lines a newcomer must not see in the demo's terminal. The window's test
/// hooks ("attached 1 accounts") are for tests that ask for them; the
/// libraries under the window warn about screens and drivers; `WARN` and
/// `ERROR` lines mean something went wrong in a run that should be clean.
const NOISE: &[&str] = &["XRandR", "0mm in size", " WARN ", " ERROR "];

/// What the demo prints last once everything runs.
const READY_LINE: &str = "Ctrl-C here stops everything";
/// What it says when alice's daemon was quit.
const QUIT_LINE: &str = "alice's wimsyd has stopped, as asked";

/// What the demo printed for a person to run.
#[derive(Debug)]
pub struct Printed {
    pub status: String,
    pub history: String,
    pub send: String,
    /// The command that opens a shell for alice's daemon.
    pub shell: String,
    /// Alice's socket.
    pub socket: PathBuf,
    /// Where the printed commands find the binaries.
    pub bin_dir: PathBuf,
}

/// `cargo xtask demo` (as the README writes it) running in a clone, in a
/// process group of its own; everything it prints is kept.
pub struct Demo {
    child: Child,
    stderr: Arc<Mutex<Vec<String>>>,
    stdout: Arc<Mutex<Vec<String>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

fn keep_lines(
    pipe: impl Read + Send + 'static,
    into: Arc<Mutex<Vec<String>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            eprintln!("demo| {line}");
            if let Ok(mut lines) = into.lock() {
                lines.push(line);
            }
        }
    })
}

impl Demo {
    /// Start `line` in `clone`, on X display `display` if one is given.
    pub fn start(clone: &FreshClone, line: &str, display: Option<&str>) -> Result<Self> {
        let mut command = clone.command(line);
        if let Some(display) = display {
            command.env("DISPLAY", display);
        }
        // Its own group, so that the Ctrl-C of `Drop` reaches all of it and
        // nothing else, as in a terminal.
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = command.spawn().context("starting the demo")?;
        let (stdout, stderr) = (Arc::default(), Arc::default());
        let readers = vec![
            keep_lines(
                child.stdout.take().context("no stdout")?,
                Arc::clone(&stdout),
            ),
            keep_lines(
                child.stderr.take().context("no stderr")?,
                Arc::clone(&stderr),
            ),
        ];
        Ok(Self {
            child,
            stderr,
            stdout,
            readers,
        })
    }

    fn lines(lines: &Mutex<Vec<String>>) -> Vec<String> {
        lines.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Wait until `found` says yes about the lines so far; fail if the demo
    /// ended first or `deadline` passes.
    fn wait_for<T>(
        &mut self,
        deadline: Duration,
        what: &str,
        found: impl Fn(&[String]) -> Option<T>,
        stdout: bool,
    ) -> Result<T> {
        let end = Instant::now() + deadline;
        loop {
            let lines = Self::lines(if stdout { &self.stdout } else { &self.stderr });
            if let Some(value) = found(&lines) {
                return Ok(value);
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("the demo ended ({status}) before {what}");
            }
            if Instant::now() > end {
                bail!("no {what} within {deadline:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait until the demo prints its commands; parse them.
    pub fn wait_printed(&mut self, deadline: Duration) -> Result<Printed> {
        let lines = self.wait_for(
            deadline,
            "printed commands",
            |lines| {
                lines
                    .iter()
                    .any(|l| l.contains(READY_LINE))
                    .then(|| lines.to_vec())
            },
            false,
        )?;
        let commands: Vec<&str> = lines.iter().filter_map(|l| l.strip_prefix("  ")).collect();
        let find = |what: &str, test: &dyn Fn(&str) -> bool| -> Result<String> {
            commands
                .iter()
                .find(|c| test(c))
                .map(|c| (*c).to_owned())
                .with_context(|| format!("the demo printed no {what} command: {commands:?}"))
        };
        let status = find("status", &|c| c.ends_with(" status"))?;
        let history = find("history", &|c| c.contains(" history "))?;
        let send = find("send", &|c| c.contains(" send "))?;
        let shell = find("shell", &|c| c.contains("WIMSY_SOCKET="))?;
        let (program, rest) = status
            .split_once(" --socket ")
            .context("the status command names no socket")?;
        if !program.starts_with('/') {
            bail!("the printed commands do not start with an absolute path: {status}");
        }
        let socket = PathBuf::from(rest.split(' ').next().unwrap_or(""));
        let bin_dir = Path::new(program)
            .parent()
            .context("the printed wimsyctl has no directory")?
            .to_path_buf();
        Ok(Printed {
            status,
            history,
            send,
            shell,
            socket,
            bin_dir,
        })
    }

    /// Wait until the demo prints a line containing `marker`; the line
    /// after it, without its indent (a command it offers).
    pub fn wait_command_after(&mut self, deadline: Duration, marker: &str) -> Result<String> {
        self.wait_for(
            deadline,
            &format!("a command after `{marker}`"),
            |lines| {
                let at = lines.iter().position(|l| l.contains(marker))?;
                lines.get(at + 1)?.strip_prefix("  ").map(str::to_owned)
            },
            false,
        )
    }

    /// Wait until the demo's stdout has a line containing `text`.
    pub fn wait_stdout(&mut self, deadline: Duration, text: &str) -> Result<()> {
        self.wait_for(
            deadline,
            &format!("`{text}` on the demo's stdout"),
            |lines| lines.iter().any(|l| l.contains(text)).then_some(()),
            true,
        )
    }

    /// Wait until the demo ends by itself after its daemon was quit: it
    /// must say so and exit 0.
    pub fn wait_ended(&mut self, deadline: Duration) -> Result<()> {
        let end = Instant::now() + deadline;
        let status = loop {
            if let Some(status) = self.child.try_wait()? {
                break status;
            }
            if Instant::now() > end {
                bail!("the demo still runs {deadline:?} after its daemon was quit");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        // Its last words may still be in the pipes: read them to the end
        // (a process of the demo left running would hold them open).
        let end = Instant::now() + Duration::from_secs(10);
        while self.readers.iter().any(|r| !r.is_finished()) {
            if Instant::now() > end {
                bail!("something the demo started still holds its output open");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if !status.success() {
            bail!("the demo exited with {status} after its daemon was quit");
        }
        if !Self::lines(&self.stderr)
            .iter()
            .any(|l| l.contains(QUIT_LINE))
        {
            bail!("the demo did not say why it ended (`{QUIT_LINE}`)");
        }
        Ok(())
    }

    /// Fail on any line of noise the demo printed.
    pub fn assert_quiet(&self) {
        for line in Self::lines(&self.stderr)
            .iter()
            .chain(Self::lines(&self.stdout).iter())
        {
            assert_quiet_line(line);
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // Ctrl-C, as a person would; the whole group when that is not
            // enough.
            let group = format!("-{}", self.child.id());
            let _ = Command::new("kill").args(["-INT", "--", &group]).status();
            let end = Instant::now() + Duration::from_secs(15);
            while Instant::now() < end && matches!(self.child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = self.child.wait();
        }
    }
}

/// A printed command left running (`exec`ed by `sh`, so the child is the
/// program itself), its output kept, killed when dropped.
pub struct Running {
    pub child: Child,
    output: Arc<Mutex<Vec<String>>>,
}

impl Running {
    /// Start `line` from `dir` with `env` added.
    pub fn start(line: &str, dir: &Path, env: &[(&str, &str)]) -> Result<Self> {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("exec {line}"))
            .current_dir(dir)
            .env_remove("WIMSY_SOCKET")
            .env_remove("WIMSY_LOG")
            .env_remove("WIMSY_TEST_HOOKS")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn()?;
        let output = Arc::default();
        keep_lines(
            child.stdout.take().context("no stdout")?,
            Arc::clone(&output),
        );
        keep_lines(
            child.stderr.take().context("no stderr")?,
            Arc::clone(&output),
        );
        Ok(Self { child, output })
    }

    /// Fail on any line of noise it printed.
    pub fn assert_quiet(&self) {
        for line in Demo::lines(&self.output) {
            assert_quiet_line(&line);
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn assert_quiet_line(line: &str) {
    let hook = line.starts_with("attached ") && line.ends_with(" accounts");
    let noisy = NOISE.iter().any(|noise| line.contains(noise));
    assert!(!hook && !noisy, "a newcomer would see this noise: {line}");
}

/// Run a printed command line with `sh` from `dir`, `stdin` on its input;
/// its stdout, or an error with both outputs.
pub fn run_printed(line: &str, dir: &Path, stdin: &str) -> Result<String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(line)
        .current_dir(dir)
        .env("SHELL", "/bin/sh")
        .env_remove("WIMSY_SOCKET")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "`{line}` from {} failed ({}): {}{}",
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The process running `program` with `socket` among its arguments.
pub fn find_process(deadline: Duration, program: &Path, socket: &Path) -> Result<u32> {
    let (program, socket) = (program.as_os_str().as_encoded_bytes(), socket.as_os_str());
    let end = Instant::now() + deadline;
    loop {
        for entry in std::fs::read_dir("/proc")?.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            let mut args = cmdline.split(|b| *b == 0);
            if args.next() == Some(program) && args.any(|arg| arg == socket.as_encoded_bytes()) {
                return Ok(pid);
            }
        }
        if Instant::now() > end {
            bail!(
                "no {} ran within {deadline:?}",
                String::from_utf8_lossy(program)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
