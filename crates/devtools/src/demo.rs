//! `cargo xtask demo`: a live Wimsy on loopback in one command.
//!
//! `cargo xtask` (crates/xtask/src/handover.rs) installs Prosody if it is
//! missing and makes the build (`cargo xtask test`'s, linted), then hands
//! over to this, in the devtools binary that build has made.
//!
//! It runs until Ctrl-C, or until alice's daemon stops (`wimsyctl quit`,
//! or a crash): then it says so and ends, stopping the rest. That second
//! way out is also how the quick-start test (tests/tests/quickstart.rs)
//! drives it without a terminal.

mod commands;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use wimsy_testkit::Prosody;

use commands::Printed;
use xtask::workspace_root;

/// The peer's first words, which the window shows when it opens.
const HELLO: &str = "hello from bob, through a real XMPP server";

/// How often the demo looks whether its processes still run.
const WATCH_EVERY: Duration = Duration::from_millis(100);

/// Children are killed when this drops, whatever happens.
struct Children(Vec<(String, Child)>);

impl Drop for Children {
    fn drop(&mut self) {
        for (name, child) in self.0.iter_mut().rev() {
            if let Ok(None) = child.try_wait() {
                eprintln!("demo: stopping {name}");
                // SIGTERM first so wimsyd closes its sessions cleanly.
                let _ = Command::new("kill").arg(child.id().to_string()).status();
                let deadline = std::time::Instant::now() + Duration::from_secs(5);
                while std::time::Instant::now() < deadline {
                    if let Ok(Some(_)) = child.try_wait() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// The directory the binaries are built into: the one this devtools was
/// built into (`cargo xtask demo` runs it from there), which follows
/// `CARGO_TARGET_DIR` and the profile, unlike a path spelled from the
/// workspace root.
fn bin_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .filter(|dir| {
            dir.join(format!("devtools{}", std::env::consts::EXE_SUFFIX))
                .is_file()
        })
        .unwrap_or_else(|| workspace_root().join("target/debug"))
}

fn wimsyctl(bins: &Path, socket: &Path, args: &[&str], stdin: Option<&str>) -> Result<String> {
    let mut cmd = Command::new(bins.join("wimsyctl"));
    cmd.arg("--socket").arg(socket).args(args);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    cmd.stdout(Stdio::piped());
    let mut child = cmd.spawn().context("could not start wimsyctl")?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("wimsyctl {} failed ({})", args.join(" "), out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// One person's daemon: its directories, socket and log under `dir`.
struct Daemon {
    name: &'static str,
    socket: PathBuf,
    config: PathBuf,
    log: PathBuf,
}

fn start_daemon(
    bins: &Path,
    dir: &Path,
    name: &'static str,
    children: &mut Children,
) -> Result<Daemon> {
    let daemon = Daemon {
        name,
        socket: dir.join(format!("{name}.sock")),
        config: dir.join(name).join("config"),
        log: dir.join(format!("{name}.log")),
    };
    let child = Command::new(bins.join("wimsyd"))
        .arg("--config-dir")
        .arg(&daemon.config)
        .arg("--data-dir")
        .arg(dir.join(name).join("data"))
        .arg("--socket")
        .arg(&daemon.socket)
        .env("WIMSY_LOG", "info")
        // Throwaway demo passwords stay in the demo's own 0600 files, out of
        // the user's real keyring.
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
        .stdin(Stdio::null())
        .stderr(std::fs::File::create(&daemon.log)?)
        .spawn()
        .context("could not start wimsyd")?;
    children.0.push((format!("{name}'s wimsyd"), child));
    wimsy_testkit::wait_until(Duration::from_secs(10), "wimsyd's socket", || {
        daemon.socket.exists()
    })?;
    Ok(daemon)
}

fn wait_connected(bins: &Path, socket: &Path) -> Result<()> {
    wimsy_testkit::wait_until(Duration::from_secs(15), "the account to connect", || {
        wimsyctl(bins, socket, &["status"], None)
            .map(|s| s.contains("connected") && !s.contains("connecting"))
            .unwrap_or(false)
    })
}

pub(crate) fn run() -> Result<()> {
    // Ctrl-C reaches every process of the terminal; we outlive it long
    // enough to stop what we started.
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .context("could not install the Ctrl-C handler")?;
    match demo(&interrupted) {
        // Ctrl-C while it starts: the daemons or the logins fail because
        // they were stopped, which is no error of theirs.
        Err(_) if interrupted.load(Ordering::SeqCst) => {
            eprintln!("demo: stopped by Ctrl-C before it was ready");
            Ok(())
        }
        ended => ended,
    }
}

fn demo(interrupted: &AtomicBool) -> Result<()> {
    let has_display =
        std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some();
    let bins = bin_dir();

    let prosody = Prosody::builder()
        .account("alice", "alice-demo-password")
        .account("bob", "bob-demo-password")
        .start()
        .context("could not start the demo Prosody")?;
    let mut dir = PrivateDir {
        path: private_dir()?,
        keep: false,
    };
    let mut children = Children(Vec::new());
    eprintln!(
        "demo: Prosody on {} (data in {})",
        prosody.server(),
        prosody.data_dir().display()
    );

    let alice = start_daemon(&bins, &dir.path, "alice", &mut children)?;
    let bob = start_daemon(&bins, &dir.path, "bob", &mut children)?;
    let ca = prosody.ca_file().to_string_lossy().into_owned();
    let server = prosody.server();
    for (daemon, password) in [(&alice, "alice-demo-password"), (&bob, "bob-demo-password")] {
        let jid = prosody.jid(daemon.name);
        let add = [
            "account",
            "add",
            &jid,
            "--server",
            &server,
            "--ca-file",
            &ca,
            "--password-stdin",
        ];
        wimsyctl(&bins, &daemon.socket, &add, Some(&format!("{password}\n")))?;
    }
    wait_connected(&bins, &alice.socket)?;
    wait_connected(&bins, &bob.socket)?;
    let (alice_jid, bob_jid) = (prosody.jid("alice"), prosody.jid("bob"));
    wimsyctl(&bins, &bob.socket, &["send", &alice_jid, HELLO], None)?;

    let printed = Printed {
        bins: &bins,
        socket: &alice.socket,
        config: &alice.config,
        alice: &alice_jid,
        bob: &bob_jid,
    };
    eprintln!();
    eprintln!("{}", printed.try_these(has_display));
    eprintln!();

    let frontend = if has_display {
        // The chat bob opened with his hello is the first thing on screen;
        // the window keeps what it remembers (the first-run notice read)
        // in alice's throwaway config, not the user's own.
        Command::new(bins.join("wimsy"))
            .args(printed.window_args())
            .env("WIMSY_CONFIG_DIR", &alice.config)
            .stdin(Stdio::null())
            .spawn()
    } else {
        eprintln!("demo: no display; following alice's events instead of opening the window");
        Command::new(bins.join("wimsyctl"))
            .arg("--socket")
            .arg(&alice.socket)
            .arg("follow")
            .stdin(Stdio::null())
            .spawn()
    }
    .context("could not start the frontend")?;
    let name = if has_display {
        "the window"
    } else {
        "wimsyctl follow"
    };
    children.0.push((name.to_owned(), frontend));

    let ended = watch(&mut children, interrupted, has_display, &printed);
    drop(children);
    drop(prosody);
    match ended {
        Ended::Interrupted | Ended::Quit => Ok(()),
        Ended::Failed(status) => {
            // Kept for its logs.
            dir.keep = true;
            bail!(
                "alice's wimsyd stopped unexpectedly ({status}); its log is {}",
                alice.log.display()
            )
        }
    }
}

/// How the demo came to an end.
enum Ended {
    /// Ctrl-C.
    Interrupted,
    /// Alice's daemon stopped as asked (`wimsyctl quit`, the window's Quit).
    Quit,
    /// Alice's daemon stopped on its own.
    Failed(ExitStatus),
}

/// Wait for Ctrl-C or the end of alice's daemon (`children[0]`), telling
/// what happens to the frontend (`children`' last) meanwhile.
fn watch(
    children: &mut Children,
    interrupted: &AtomicBool,
    window: bool,
    printed: &Printed<'_>,
) -> Ended {
    let mut frontend_running = true;
    loop {
        if interrupted.load(Ordering::SeqCst) {
            eprintln!("demo: Ctrl-C; stopping everything");
            return Ended::Interrupted;
        }
        if let Some((_, alice)) = children.0.first_mut()
            && let Ok(Some(status)) = alice.try_wait()
        {
            // Ctrl-C stops the daemons too, maybe before the flag is seen.
            if interrupted.load(Ordering::SeqCst) {
                continue;
            }
            if status.success() {
                eprintln!(
                    "demo: alice's wimsyd has stopped, as asked (`wimsyctl quit` or the \
                     window's Quit); the demo ends here: `cargo xtask demo` starts a new one"
                );
                return Ended::Quit;
            }
            eprintln!("demo: alice's wimsyd has stopped unexpectedly ({status})");
            return Ended::Failed(status);
        }
        if frontend_running
            && let Some((_, frontend)) = children.0.last_mut()
            && let Ok(Some(_)) = frontend.try_wait()
        {
            frontend_running = false;
            if window {
                eprintln!(
                    "demo: the window is closed; alice's wimsyd goes on, as it does for a \
                     real account. Open the window again with:\n  {}\n\
                     demo: Ctrl-C here stops everything",
                    printed.window_command()
                );
            } else {
                eprintln!("demo: `wimsyctl follow` ended; Ctrl-C here stops everything");
            }
        }
        std::thread::sleep(WATCH_EVERY);
    }
}

/// The demo's directory (sockets, configs, stores, logs), removed when
/// the demo ends, however it ends, unless kept for its logs.
struct PrivateDir {
    path: PathBuf,
    keep: bool,
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn private_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("wimsy-demo-{}", std::process::id()));
    // The daemons' sockets live here: wimsyd insists on a private directory.
    let mut builder = std::fs::DirBuilder::new();
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .recursive(true)
        .create(&dir)
        .with_context(|| format!("could not create {}", dir.display()))?;
    Ok(dir)
}
