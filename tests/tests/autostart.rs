//! `wimsyctl autostart` on Linux, the real binary in a private HOME and
//! XDG_CONFIG_HOME, with a private XDG_RUNTIME_DIR so that no user systemd
//! is reachable (none runs on a build machine, and a developer's own must
//! not be touched): the dry run prints units that `systemd-analyze verify`
//! accepts and changes nothing; `enable` fails with words and leaves the
//! tree exactly as it was (the tray's autostart entry included: it is
//! written, then taken back); `disable` and `status` say there is nothing.
//! The enable-then-disable round trip with a manager that answers is
//! tested in wimsyctl's own tests (`autostart/apply.rs`).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use wimsy_tests::*;

/// Every path under `root`, with file contents.
fn tree(root: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.push((path.clone(), None));
                todo.push(path);
            } else {
                out.push((path.clone(), Some(std::fs::read(&path).unwrap())));
            }
        }
    }
    out.sort();
    out
}

struct Home {
    _temp: tempfile::TempDir,
    home: PathBuf,
    runtime: PathBuf,
    /// `XDG_CONFIG_DIRS`: where a package puts the tray's entry for every
    /// user (empty unless a test puts one there).
    system_config: PathBuf,
}

impl Home {
    fn new() -> Self {
        let temp = tempfile::tempdir().unwrap();
        let home = temp.path().join("home");
        let runtime = temp.path().join("runtime");
        let system_config = temp.path().join("etc-xdg");
        std::fs::create_dir(&home).unwrap();
        std::fs::create_dir(&runtime).unwrap();
        std::fs::create_dir(&system_config).unwrap();
        Self {
            _temp: temp,
            home,
            runtime,
            system_config,
        }
    }

    fn ctl(&self, args: &[&str]) -> Output {
        let unused = self.runtime.join("wimsy/wimsyd.sock");
        self.ctl_on(&unused, args)
    }

    fn ctl_on(&self, socket: &Path, args: &[&str]) -> Output {
        Command::new(bin("wimsyctl"))
            .arg("--socket")
            .arg(socket)
            .args(args)
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("XDG_RUNTIME_DIR", &self.runtime)
            .env("XDG_CONFIG_DIRS", &self.system_config)
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .output()
            .unwrap()
    }
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

#[test]
fn the_dry_run_prints_units_that_verify_and_changes_nothing() {
    let home = Home::new();
    let before = tree(&home.home);
    let out = home.ctl(&["--json", "autostart", "enable", "--dry-run"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(tree(&home.home), before, "a dry run writes nothing");
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(plan["dry_run"], true);
    assert_eq!(
        plan["commands"],
        serde_json::json!([
            "systemctl --user daemon-reload",
            "systemctl --user enable --now wimsyd.socket wimsyd.service"
        ])
    );
    let unit_dir = home.home.join(".config/systemd/user");
    let files = plan["files"].as_array().unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f["path"].as_str().unwrap()).collect();
    let tray_entry = home.home.join(".config/autostart/wimsy-tray.desktop");
    assert_eq!(
        paths,
        [
            unit_dir.join("wimsyd.socket").to_str().unwrap(),
            unit_dir.join("wimsyd.service").to_str().unwrap(),
            tray_entry.to_str().unwrap(),
        ]
    );
    let service = files[1]["contents"].as_str().unwrap();
    assert!(
        service.contains(&format!("\nExecStart={}\n", bin("wimsyd").display())),
        "it starts the wimsyd next to wimsyctl: {service}"
    );
    let entry = files[2]["contents"].as_str().unwrap();
    assert!(
        entry.contains(&format!("\nExec={}\n", bin("wimsy-tray").display())),
        "it starts the wimsy-tray next to wimsyctl: {entry}"
    );

    // The same words for a person.
    let out = home.ctl(&["autostart", "enable", "--dry-run"]);
    let (human, _) = text(&out);
    assert!(
        human.starts_with("dry run: nothing was changed."),
        "{human}"
    );
    assert!(
        human.contains("\nrun: systemctl --user enable --now wimsyd.socket wimsyd.service\n"),
        "{human}"
    );
    assert!(
        human.contains(&format!("\nwrite {}:\n", tray_entry.display())),
        "{human}"
    );
    if let Some(validate) = on_path("desktop-file-validate") {
        let written = tempfile::tempdir().unwrap();
        let path = written.path().join("wimsy-tray.desktop");
        std::fs::write(&path, entry).unwrap();
        let out = Command::new(validate).arg(&path).output().unwrap();
        let (said, warned) = text(&out);
        assert!(out.status.success(), "{said}{warned}");
    }

    let Some(analyze) = on_path("systemd-analyze") else {
        eprintln!(
            "SKIPPED the verify step: systemd-analyze is not installed (Debian package `systemd`)"
        );
        return;
    };
    let units = tempfile::tempdir().unwrap();
    for file in files {
        let name = Path::new(file["path"].as_str().unwrap())
            .file_name()
            .unwrap();
        std::fs::write(units.path().join(name), file["contents"].as_str().unwrap()).unwrap();
    }
    let verify = Command::new(analyze)
        .args([
            "--user",
            "verify",
            "--man=no",
            "wimsyd.socket",
            "wimsyd.service",
        ])
        .current_dir(units.path())
        .env("XDG_RUNTIME_DIR", &home.runtime)
        .output()
        .unwrap();
    let (_, said) = text(&verify);
    assert!(verify.status.success() && said.trim().is_empty(), "{said}");
}

#[test]
fn without_a_user_systemd_enable_says_why_and_leaves_the_tree_as_it_was() {
    let home = Home::new();
    // Something of the user's own is there before, and stays.
    std::fs::create_dir_all(home.home.join(".config/systemd/user")).unwrap();
    std::fs::write(home.home.join(".config/systemd/user/other.service"), "x").unwrap();
    let before = tree(&home.home);

    let out = home.ctl(&["autostart", "status"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.starts_with("autostart: not enabled by `wimsyctl autostart enable`"),
        "{stdout}"
    );
    assert!(stdout.contains("\n  wimsyd.socket: "), "{stdout}");

    let out = home.ctl(&["autostart", "enable"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("wimsyctl: could not enable autostart: `systemctl --user "),
        "{stderr}"
    );
    assert!(
        stderr.contains("`systemctl --user status` must answer"),
        "{stderr}"
    );
    assert!(stderr.contains("Nothing was left installed."), "{stderr}");
    assert_eq!(tree(&home.home), before, "nothing half done");

    let out = home.ctl(&["--json", "autostart", "enable"]);
    let (stdout, _) = text(&out);
    let error: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(error["error"]["code"], "autostart", "{stdout}");

    for args in [
        &["autostart", "disable"][..],
        &["autostart", "disable", "--dry-run"][..],
    ] {
        let out = home.ctl(args);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stderr}");
        assert!(stdout.contains("nothing to undo"), "{stdout}");
    }
    let out = home.ctl(&["autostart", "status", "--dry-run"]);
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("run: systemctl --user is-enabled wimsyd.socket"),
        "{stdout}"
    );
    assert_eq!(tree(&home.home), before);
}

#[test]
fn a_running_wimsyd_is_to_be_quit_before_enabling() {
    let home = Home::new();
    let before = tree(&home.home);
    let mut daemon = Daemon::start().unwrap();
    let out = home.ctl_on(&daemon.socket, &["autostart", "enable"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "wimsyctl: could not enable autostart: a wimsyd is running now (it answers on {}): quit it first with `wimsyctl quit`",
            daemon.socket.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("Nothing was changed."), "{stderr}");
    assert_eq!(tree(&home.home), before);
    assert!(daemon.ctl(&["status"]).status.success(), "left running");

    let out = home.ctl_on(&daemon.socket, &["autostart", "enable", "--dry-run"]);
    let (stdout, _) = text(&out);
    assert!(out.status.success());
    assert!(
        stdout.contains("\nfirst ask you: a wimsyd is running now"),
        "{stdout}"
    );
    assert_eq!(daemon.terminate().unwrap().code(), Some(0));
}

#[test]
fn a_tray_entry_a_package_installed_is_used_not_copied() {
    let home = Home::new();
    let installed = home.system_config.join("autostart/wimsy-tray.desktop");
    std::fs::create_dir_all(installed.parent().unwrap()).unwrap();
    std::fs::write(&installed, "[Desktop Entry]\n").unwrap();
    let out = home.ctl(&["--json", "autostart", "enable", "--dry-run"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let files = plan["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "the units only: {stdout}");
    let out = home.ctl(&["autostart", "enable", "--dry-run"]);
    let (human, _) = text(&out);
    assert!(
        human.contains(&format!(
            "the tray icon starts at login from {}, which was installed with it",
            installed.display()
        )),
        "{human}"
    );
}
