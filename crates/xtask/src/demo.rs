//! `cargo xtask demo`: a live Wimsy on loopback in one command.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use wimsy_testkit::Prosody;

use crate::{apt, cargo, workspace_root};

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

fn bin(name: &str) -> PathBuf {
    workspace_root().join("target/debug").join(name)
}

fn wimsyctl(socket: &Path, args: &[&str], stdin: Option<&str>) -> Result<String> {
    let mut cmd = Command::new(bin("wimsyctl"));
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

fn start_daemon(dir: &Path, name: &str, children: &mut Children) -> Result<PathBuf> {
    let socket = dir.join(format!("{name}.sock"));
    let child = Command::new(bin("wimsyd"))
        .arg("--config-dir")
        .arg(dir.join(name).join("config"))
        .arg("--data-dir")
        .arg(dir.join(name).join("data"))
        .arg("--socket")
        .arg(&socket)
        .env("WIMSY_LOG", "info")
        // Throwaway demo passwords stay in the demo's own 0600 files, out of
        // the user's real keyring.
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
        .stderr(std::fs::File::create(dir.join(format!("{name}.log")))?)
        .spawn()
        .context("could not start wimsyd")?;
    children.0.push((format!("wimsyd ({name})"), child));
    wimsy_testkit::wait_until(Duration::from_secs(10), "wimsyd's socket", || {
        socket.exists()
    })?;
    Ok(socket)
}

fn wait_connected(socket: &Path) -> Result<()> {
    wimsy_testkit::wait_until(Duration::from_secs(15), "the account to connect", || {
        wimsyctl(socket, &["status"], None)
            .map(|s| s.contains("connected") && !s.contains("connecting"))
            .unwrap_or(false)
    })
}

pub(crate) fn run() -> Result<()> {
    // Ctrl-C reaches every process of the terminal; we outlive it long
    // enough to stop what we started.
    ctrlc::set_handler(|| eprintln!("demo: stopping"))
        .context("could not install the Ctrl-C handler")?;
    apt::ensure(apt::DEMO_PACKAGES)?;
    let has_display =
        std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some();
    let mut build = vec!["build", "-p", "wimsyd", "-p", "wimsyctl"];
    if has_display {
        build.extend(["-p", "wimsy-gui"]);
    }
    crate::run(&cargo(), &build)?;

    let prosody = Prosody::builder()
        .account("alice", "alice-demo-password")
        .account("bob", "bob-demo-password")
        .start()
        .context("could not start the demo Prosody")?;
    let dir = tempfile_dir()?;
    let mut children = Children(Vec::new());
    eprintln!(
        "demo: Prosody on {} (data in {})",
        prosody.server(),
        prosody.data_dir().display()
    );

    let alice = start_daemon(&dir, "alice", &mut children)?;
    let bob = start_daemon(&dir, "bob", &mut children)?;
    let ca = prosody.ca_file().to_string_lossy().into_owned();
    let server = prosody.server();
    for (socket, user, password) in [
        (&alice, "alice", "alice-demo-password"),
        (&bob, "bob", "bob-demo-password"),
    ] {
        let jid = prosody.jid(user);
        wimsyctl(
            socket,
            &[
                "account",
                "add",
                &jid,
                "--server",
                &server,
                "--ca-file",
                &ca,
                "--password-stdin",
            ],
            Some(&format!("{password}\n")),
        )?;
    }
    wait_connected(&alice)?;
    wait_connected(&bob)?;
    let alice_jid = prosody.jid("alice");
    wimsyctl(
        &bob,
        &[
            "send",
            &alice_jid,
            "hello from bob, through a real XMPP server",
        ],
        None,
    )?;

    eprintln!();
    eprintln!("demo: alice's daemon listens on {}", alice.display());
    eprintln!("demo: try, in another terminal:");
    eprintln!(
        "  target/debug/wimsyctl --socket {} status",
        alice.display()
    );
    eprintln!(
        "  target/debug/wimsyctl --socket {} send {} hi bob",
        alice.display(),
        prosody.jid("bob")
    );
    eprintln!(
        "  target/debug/wimsyctl --socket {} history {}",
        alice.display(),
        prosody.jid("bob")
    );
    eprintln!("demo: Ctrl-C stops everything");
    eprintln!();

    let frontend = if has_display {
        Command::new(bin("wimsy"))
            .arg("--socket")
            .arg(&alice)
            .spawn()
    } else {
        eprintln!("demo: no display; following alice's events instead of opening the GUI");
        Command::new(bin("wimsyctl"))
            .arg("--socket")
            .arg(&alice)
            .arg("follow")
            .spawn()
    }
    .context("could not start the frontend")?;
    children.0.push(("frontend".to_owned(), frontend));
    // Ctrl-C reaches the whole foreground process group: the frontend exits,
    // and so do we, dropping `children` (which stops the daemons) and
    // `prosody`.
    if let Some((_, child)) = children.0.last_mut() {
        let _ = child.wait();
    }
    drop(children);
    drop(prosody);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn tempfile_dir() -> Result<PathBuf> {
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
