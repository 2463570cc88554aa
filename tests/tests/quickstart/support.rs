//! The quick-start test's hands: a clone of the working tree, the demo run
//! in it as a process group, and the commands it prints, run elsewhere.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use wimsy_tests::bin_dir;

/// Lines a newcomer must not see in the demo's terminal. The window's test
/// hooks ("attached 1 accounts") are for tests that ask for them; the
/// libraries under the window warn about screens and drivers; `WARN` and
/// `ERROR` lines mean something went wrong in a run that should be clean.
const NOISE: &[&str] = &["XRandR", "0mm in size", " WARN ", " ERROR ", "wimsy-tray"];

/// What the demo prints last once everything runs.
const READY_LINE: &str = "Ctrl-C here stops everything";
/// What it says when alice's daemon was quit.
const QUIT_LINE: &str = "alice's wimsyd has stopped, as asked";

/// The workspace this test was built from.
fn source_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// A clone of the working tree in a temporary directory.
pub struct Clone {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
}

/// `git clone` of the working tree; then every file the tree has (tracked,
/// or new and not ignored) is given the tree's contents and modification
/// time, so the clone is the very sources the test binaries were built
/// from, uncommitted edits included, and cargo finds the build fresh.
pub fn clone_working_tree() -> Result<Clone> {
    let source = source_root();
    let dir = tempfile::Builder::new()
        .prefix("wimsy-quickstart-")
        .tempdir()?;
    let root = dir.path().join("wimsy");
    let out = Command::new("git")
        .arg("clone")
        .arg("--quiet")
        .arg(&source)
        .arg(&root)
        .output()
        .context("running git clone")?;
    if !out.status.success() {
        bail!("git clone failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let listed = Command::new("git")
        .arg("-C")
        .arg(&source)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output()
        .context("running git ls-files")?;
    for name in listed.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let name = Path::new(std::str::from_utf8(name)?);
        let (from, to) = (source.join(name), root.join(name));
        let Ok(meta) = std::fs::symlink_metadata(&from) else {
            // Deleted in the working tree, not yet in a commit.
            let _ = std::fs::remove_file(&to);
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        if std::fs::read(&to).ok() != Some(std::fs::read(&from)?) {
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::copy(&from, &to)?;
        }
        std::fs::File::options()
            .write(true)
            .open(&to)?
            .set_modified(meta.modified()?)?;
    }
    Ok(Clone { _dir: dir, root })
}

impl Clone {
    /// `sh -c line` in the clone, as a person's terminal there would run it:
    /// the toolchain chosen by the clone's own rust-toolchain.toml (not the
    /// one running this test), offline, with no toolchain download, and
    /// none of this test run's Wimsy or display variables.
    pub fn command(&self, line: &str) -> Command {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(line)
            .current_dir(&self.root)
            .env("CARGO_TARGET_DIR", bin_dir().parent().unwrap_or(&bin_dir()))
            .env("CARGO_NET_OFFLINE", "true")
            .env("RUSTUP_AUTO_INSTALL", "0")
            .env_remove("RUSTUP_TOOLCHAIN")
            .env_remove("CARGO");
        // What cargo told this test about itself: a terminal has none of it,
        // and a cargo started with it would see a change in ring's build
        // (it reads CARGO_MANIFEST_DIR) and compile half the tree again.
        for (name, _) in std::env::vars_os() {
            if let Some(name) = name.to_str()
                && (name.starts_with("CARGO_PKG_")
                    || name.starts_with("CARGO_BIN_")
                    || name.starts_with("CARGO_MANIFEST_")
                    || matches!(name, "CARGO_CRATE_NAME" | "CARGO_PRIMARY_PACKAGE"))
            {
                command.env_remove(name);
            }
        }
        for name in [
            "WIMSY_SOCKET",
            "WIMSY_LOG",
            "WIMSY_TEST_HOOKS",
            "WIMSY_CONFIG_DIR",
            "WIMSY_DATA_DIR",
            "DISPLAY",
            "WAYLAND_DISPLAY",
        ] {
            command.env_remove(name);
        }
        command
    }

    /// Run `line` in the clone; its stdout, or an error with both outputs.
    pub fn run_here(&self, line: &str) -> Result<String> {
        let out = self.command(line).stdin(Stdio::null()).output()?;
        if !out.status.success() {
            bail!(
                "`{line}` in the clone failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The release rust-toolchain.toml pins (its `channel`).
    pub fn pinned_toolchain(&self) -> Result<String> {
        let text = std::fs::read_to_string(self.root.join("rust-toolchain.toml"))
            .context("the clone has no rust-toolchain.toml")?;
        text.lines()
            .filter_map(|line| line.trim().strip_prefix("channel"))
            .filter_map(|rest| rest.trim().strip_prefix('='))
            .map(|value| value.trim().trim_matches('"').to_owned())
            .next()
            .context("rust-toolchain.toml has no channel")
    }
}

/// The line of the README's quick start that starts the demo, without its
/// comment: the command a newcomer copies.
pub fn demo_line(clone: &Clone) -> Result<String> {
    let readme = std::fs::read_to_string(clone.root.join("README.md"))?;
    let section = readme
        .split_once("## Quick start")
        .context("README.md has no quick start")?
        .1;
    let block = section
        .split_once("```console\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .context("the quick start has no console block")?
        .0;
    block
        .lines()
        .find(|line| line.starts_with("cargo xtask demo"))
        .map(|line| line.split(" #").next().unwrap_or(line).trim().to_owned())
        .context("the quick start does not start the demo")
}

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
    pub fn start(clone: &Clone, line: &str, display: Option<&str>) -> Result<Self> {
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
