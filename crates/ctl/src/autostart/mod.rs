//! `wimsyctl autostart enable | disable | status`: wimsyd started at login
//! by the platform's own service manager, set up in the user's own
//! locations. Each platform's [`Setup`] (the files and the commands) is a
//! pure function of a few paths, built and tested everywhere; which one
//! runs is picked for the platform wimsyctl was built for. `apply.rs`
//! carries it out and records what it did, so `disable` undoes exactly
//! that.
//!
//! On Linux the tray comes along: when a `wimsy-tray` is found, its XDG
//! autostart entry is written to the user's `autostart` directory, which
//! every desktop reads at login (the tray is a graphical program, so it
//! is started by the desktop, not by systemd with the daemon).

mod apply;
pub mod files;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use apply::{disable, enable, status};

/// A command the setup runs, as the user could type it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cmd {
    /// The program, looked up on PATH.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
}

impl Cmd {
    fn new(program: &str, args: &[&str]) -> Self {
        Self {
            program: program.to_owned(),
            args: args.iter().map(|&a| a.to_owned()).collect(),
        }
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.program)?;
        for arg in &self.args {
            if arg.is_empty() || arg.contains([' ', '"', '\'', '\\', '$']) {
                write!(f, " '{}'", arg.replace('\'', r"'\''"))?;
            } else {
                write!(f, " {arg}")?;
            }
        }
        Ok(())
    }
}

/// A file the setup writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSpec {
    /// Where.
    pub path: PathBuf,
    /// What it says.
    pub text: String,
    /// Written as UTF-16 with a byte order mark (Task Scheduler's XML).
    #[serde(default)]
    pub utf16: bool,
}

impl FileSpec {
    fn new(path: PathBuf, text: String) -> Self {
        Self {
            path,
            text,
            utf16: false,
        }
    }

    /// The bytes on disk.
    pub fn bytes(&self) -> Vec<u8> {
        if self.utf16 {
            files::utf16_with_bom(&self.text)
        } else {
            self.text.clone().into_bytes()
        }
    }
}

/// How `status` asks the service manager about one thing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// What is asked about (`wimsyd.socket`).
    pub subject: String,
    /// What is asked, in words, and how it is answered.
    pub questions: Vec<Question>,
}

/// One question `status` asks, and the command that answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// In words (`at login`).
    pub label: &'static str,
    /// The command.
    pub cmd: Cmd,
    /// The answer is `yes` or `no` from its exit status; otherwise its
    /// first line of output is (`enabled`, `active`).
    pub by_exit_status: bool,
}

impl Question {
    fn says(label: &'static str, cmd: Cmd) -> Self {
        Self {
            label,
            cmd,
            by_exit_status: false,
        }
    }

    fn succeeds(label: &'static str, cmd: Cmd) -> Self {
        Self {
            label,
            cmd,
            by_exit_status: true,
        }
    }
}

/// What autostart is on one platform: written, run, undone, asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    /// The service manager, in words (`systemd (user units)`).
    pub manager: &'static str,
    /// What the user needs when the manager's commands fail.
    pub manager_hint: &'static str,
    /// Written before `enable` runs; none must exist yet.
    pub files: Vec<FileSpec>,
    /// Run in order after the files are written.
    pub enable: Vec<Cmd>,
    /// Run by `disable` before the files are removed; they must succeed.
    pub undo_before: Vec<Cmd>,
    /// Run by `disable` after the files are removed.
    pub undo_after: Vec<Cmd>,
    /// Directories the manager's commands may create (systemd's `.wants`):
    /// the ones they did create are removed with the rest, when empty.
    pub side_dirs: Vec<PathBuf>,
    /// What `status` asks.
    pub probes: Vec<Probe>,
    /// Where what `enable` did is written down for `disable`.
    pub record: PathBuf,
    /// Said with every answer (units installed by a package are used).
    pub note: Option<String>,
}

/// Directories where a package installs systemd user units.
pub const SYSTEM_UNIT_DIRS: [&str; 3] = [
    "/etc/systemd/user",
    "/usr/local/lib/systemd/user",
    "/usr/lib/systemd/user",
];

const SYSTEMD_HINT: &str = "autostart needs your user's systemd: `systemctl --user status` \
     must answer (it does in a desktop or SSH login on most Linux systems; \
     without systemd, start wimsyd from your session's startup programs)";

fn systemctl(args: &[&str]) -> Cmd {
    let mut all = vec!["--user"];
    all.extend_from_slice(args);
    Cmd::new("systemctl", &all)
}

/// The tray's part of the Linux setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tray {
    /// No wimsy-tray was found: no entry.
    Absent,
    /// Write the entry, starting the wimsy-tray at this path.
    Start(PathBuf),
    /// A package installed the entry at this path, for every user.
    InstalledAt(PathBuf),
}

/// systemd: the two user units in the user's unit directory (unless a
/// package installed them in `installed_in`), enabled and started; and
/// the tray's XDG autostart entry in `config_home/autostart`.
pub fn systemd_setup(
    config_home: &Path,
    wimsyd: &Path,
    installed_in: Option<&Path>,
    tray: &Tray,
) -> Setup {
    let units = ["wimsyd.socket", "wimsyd.service"];
    let unit_dir = config_home.join("systemd/user");
    let mut notes = Vec::new();
    let mut files = match installed_in {
        Some(dir) => {
            notes.push(format!(
                "the units installed in {} are used (they start the wimsyd installed with them)",
                dir.display()
            ));
            Vec::new()
        }
        None => vec![
            FileSpec::new(unit_dir.join(units[0]), files::SOCKET_UNIT.to_owned()),
            FileSpec::new(unit_dir.join(units[1]), files::service_unit(wimsyd)),
        ],
    };
    let written = !files.is_empty();
    match tray {
        Tray::Absent => notes.push(
            "no wimsy-tray was found next to wimsyctl or on PATH, so no tray icon starts at \
             login; install it and run `wimsyctl autostart disable`, then `enable`, to add it"
                .to_owned(),
        ),
        Tray::Start(wimsy_tray) => files.push(FileSpec::new(
            config_home.join("autostart").join(files::TRAY_ENTRY_NAME),
            files::tray_entry(wimsy_tray),
        )),
        Tray::InstalledAt(path) => notes.push(format!(
            "the tray icon starts at login from {}, which was installed with it",
            path.display()
        )),
    }
    let note = (!notes.is_empty()).then(|| notes.join("; "));
    let mut enable = Vec::new();
    let mut undo_after = Vec::new();
    if written {
        enable.push(systemctl(&["daemon-reload"]));
        undo_after.push(systemctl(&["daemon-reload"]));
    }
    enable.push(systemctl(&["enable", "--now", units[0], units[1]]));
    Setup {
        manager: "systemd (user units)",
        manager_hint: SYSTEMD_HINT,
        files,
        enable,
        undo_before: vec![systemctl(&["disable", "--now", units[0], units[1]])],
        undo_after,
        side_dirs: vec![
            unit_dir.join("sockets.target.wants"),
            unit_dir.join("default.target.wants"),
        ],
        probes: units
            .iter()
            .map(|unit| Probe {
                subject: (*unit).to_owned(),
                questions: vec![
                    Question::says("at login", systemctl(&["is-enabled", unit])),
                    Question::says("now", systemctl(&["is-active", unit])),
                ],
            })
            .collect(),
        record: config_home.join("wimsy/autostart.json"),
        note,
    }
}

/// macOS: a LaunchAgent in ~/Library/LaunchAgents, bootstrapped into the
/// user's GUI domain (`uid` is the user's numeric id).
pub fn launchd_setup(home: &Path, config_dir: &Path, wimsyd: &Path, uid: &str) -> Setup {
    let plist = home.join(format!(
        "Library/LaunchAgents/{}.plist",
        files::LAUNCHD_LABEL
    ));
    let log = home.join("Library/Logs/wimsyd.log");
    let domain = format!("gui/{uid}");
    let job = format!("{domain}/{}", files::LAUNCHD_LABEL);
    let plist_arg = plist.to_string_lossy().into_owned();
    Setup {
        manager: "launchd (a LaunchAgent)",
        manager_hint: "`launchctl print gui/$(id -u)` must answer: run this in your own \
             logged-in session, not over SSH as another user",
        files: vec![FileSpec::new(
            plist.clone(),
            files::launchd_plist(wimsyd, &log),
        )],
        enable: vec![Cmd::new("launchctl", &["bootstrap", &domain, &plist_arg])],
        undo_before: vec![Cmd::new("launchctl", &["bootout", &job])],
        undo_after: Vec::new(),
        side_dirs: Vec::new(),
        probes: vec![Probe {
            subject: files::LAUNCHD_LABEL.to_owned(),
            questions: vec![Question::succeeds(
                "loaded",
                Cmd::new("launchctl", &["print", &job]),
            )],
        }],
        record: config_dir.join("wimsy/autostart.json"),
        note: None,
    }
}

/// Windows: a Task Scheduler task registered from an XML file, run at
/// each logon of `user` (`DOMAIN\name`) and started now.
pub fn task_setup(config_dir: &Path, local_data: &Path, wimsyd: &Path, user: &str) -> Setup {
    let xml = local_data.join("wimsy/wimsyd-task.xml");
    let xml_arg = xml.to_string_lossy().into_owned();
    let name = files::TASK_NAME;
    Setup {
        manager: "Task Scheduler",
        manager_hint: "`schtasks /Query` must answer in your own session",
        files: vec![FileSpec {
            path: xml,
            text: files::task_xml(wimsyd, user),
            utf16: true,
        }],
        enable: vec![
            Cmd::new("schtasks", &["/Create", "/TN", name, "/XML", &xml_arg]),
            Cmd::new("schtasks", &["/Run", "/TN", name]),
        ],
        undo_before: vec![Cmd::new("schtasks", &["/Delete", "/TN", name, "/F"])],
        undo_after: Vec::new(),
        side_dirs: Vec::new(),
        probes: vec![Probe {
            subject: name.to_owned(),
            questions: vec![Question::succeeds(
                "registered",
                Cmd::new("schtasks", &["/Query", "/TN", name]),
            )],
        }],
        record: config_dir.join("wimsy/autostart.json"),
        note: None,
    }
}

/// The setup for the platform wimsyctl was built for, from the user's
/// directories; `wimsyd` is the daemon the files start.
pub fn this_platform(wimsyd: &Path) -> Result<Setup, String> {
    let dirs = directories_next::BaseDirs::new()
        .ok_or("cannot tell your home directory (is HOME set?)")?;
    if cfg!(target_os = "macos") {
        let uid = command_output("id", &["-u"])?;
        Ok(launchd_setup(
            dirs.home_dir(),
            dirs.config_dir(),
            wimsyd,
            &uid,
        ))
    } else if cfg!(windows) {
        let name = std::env::var("USERNAME").map_err(|_| "USERNAME is not set")?;
        let user = match std::env::var("USERDOMAIN") {
            Ok(domain) => format!("{domain}\\{name}"),
            Err(_) => name,
        };
        Ok(task_setup(
            dirs.config_dir(),
            dirs.data_local_dir(),
            wimsyd,
            &user,
        ))
    } else {
        let installed = SYSTEM_UNIT_DIRS.iter().map(Path::new).find(|dir| {
            dir.join("wimsyd.service").is_file() && dir.join("wimsyd.socket").is_file()
        });
        Ok(systemd_setup(
            dirs.config_dir(),
            wimsyd,
            installed,
            &linux_tray(),
        ))
    }
}

/// Where the tray's autostart entry comes from on this system: the one a
/// package installed in an XDG config directory (`$XDG_CONFIG_DIRS`,
/// `/etc/xdg` when unset), else the wimsy-tray found next to wimsyctl or
/// on PATH, else none.
fn linux_tray() -> Tray {
    let dirs = std::env::var_os("XDG_CONFIG_DIRS")
        .filter(|dirs| !dirs.is_empty())
        .unwrap_or_else(|| "/etc/xdg".into());
    let installed = std::env::split_paths(&dirs)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join("autostart").join(files::TRAY_ENTRY_NAME))
        .find(|entry| entry.is_file());
    match (installed, find_beside_or_on_path("wimsy-tray")) {
        (Some(entry), _) => Tray::InstalledAt(entry),
        (None, Some(tray)) => std::path::absolute(&tray).map_or(Tray::Absent, Tray::Start),
        (None, None) => Tray::Absent,
    }
}

/// The program `name` next to this wimsyctl, else the first on PATH.
fn find_beside_or_on_path(name: &str) -> Option<PathBuf> {
    let name = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(&name)))
        .filter(|path| path.is_file())
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH")?)
                .map(|dir| dir.join(&name))
                .find(|path| path.is_file())
        })
}

fn command_output(program: &str, args: &[&str]) -> Result<String, String> {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("could not run {program}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{program} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The wimsyd autostart should start: `given`, else the one next to this
/// wimsyctl, else the first on PATH; always an absolute path.
pub fn find_wimsyd(given: Option<&Path>) -> Result<PathBuf, String> {
    let name = format!("wimsyd{}", std::env::consts::EXE_SUFFIX);
    let found = match given {
        Some(path) => Some(path.to_path_buf()),
        None => find_beside_or_on_path("wimsyd"),
    };
    let path = found.ok_or_else(|| {
        format!(
            "cannot find {name} next to wimsyctl or on PATH: install it (cargo install, or your \
             package manager), or name it with --wimsyd PATH"
        )
    })?;
    let path = std::path::absolute(&path)
        .map_err(|e| format!("cannot make {} absolute: {e}", path.display()))?;
    if !path.is_file() {
        return Err(format!(
            "{} is not a file: name wimsyd with --wimsyd PATH",
            path.display()
        ));
    }
    Ok(path)
}

#[cfg(test)]
#[path = "setup_tests.rs"]
mod tests;
