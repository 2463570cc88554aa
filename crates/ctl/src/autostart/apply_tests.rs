//! `apply.rs` with a manager that is a real program: `mkdir` and `touch`
//! make what systemctl's `enable` makes, `rm` takes it away, `false`
//! refuses.

use super::*;
use crate::autostart::{Probe, Question};

/// Every path under `root` with its contents (directories as `None`).
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

/// A setup whose manager is a real program: `touch` makes what
/// systemctl's `enable` makes, `rm` takes it away.
fn setup(root: &Path, enable_works: bool) -> Setup {
    let unit_dir = root.join("config/systemd/user");
    let wants = unit_dir.join("default.target.wants");
    let link = wants.join("wimsyd.service");
    let mkdir = Cmd::new("mkdir", &["-p", &wants.to_string_lossy()]);
    let link_it = Cmd::new(
        if enable_works { "touch" } else { "false" },
        &[&link.to_string_lossy()],
    );
    Setup {
        manager: "test manager",
        manager_hint: "the test manager must answer",
        files: vec![
            FileSpec::new(unit_dir.join("wimsyd.socket"), "socket\n".into()),
            FileSpec {
                path: root.join("local/wimsy/task.xml"),
                text: "<task/>".into(),
                utf16: true,
            },
        ],
        enable: vec![mkdir, link_it],
        undo_before: vec![Cmd::new("rm", &["-f", &link.to_string_lossy()])],
        undo_after: vec![Cmd::new("true", &[])],
        side_dirs: vec![wants],
        probes: vec![Probe {
            subject: "wimsyd.service".into(),
            questions: vec![Question::succeeds(
                "linked",
                Cmd::new("test", &["-e", &link.to_string_lossy()]),
            )],
        }],
        record: root.join("config/wimsy/autostart.json"),
        note: None,
    }
}

#[test]
fn enable_then_disable_leaves_the_tree_as_it_was() {
    let temp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(temp.path().join("config/other")).unwrap();
    std::fs::write(temp.path().join("config/other/keep"), "mine").unwrap();
    let before = tree(temp.path());
    let setup = setup(temp.path(), true);

    let off = status(&setup, false).unwrap();
    assert!(
        off.lines[0].starts_with("autostart: not enabled"),
        "{:?}",
        off.lines
    );
    assert_eq!(off.lines[1], "  wimsyd.service: linked: no");

    let dry = enable(&setup, true, None).unwrap();
    assert_eq!(tree(temp.path()), before, "a dry run changes nothing");
    assert!(
        dry.lines.iter().any(|l| l == "    socket"),
        "{:?}",
        dry.lines
    );

    let on = enable(&setup, false, None).unwrap();
    assert!(on.lines.last().unwrap().starts_with("autostart enabled"));
    let xml = std::fs::read(temp.path().join("local/wimsy/task.xml")).unwrap();
    assert_eq!(&xml[..2], &[0xFF, 0xFE]);
    let now = status(&setup, false).unwrap();
    assert!(
        now.lines[0].starts_with("autostart: enabled"),
        "{:?}",
        now.lines
    );
    assert!(
        now.lines[1].ends_with("wimsyd.socket: installed"),
        "{:?}",
        now.lines
    );
    assert_eq!(now.lines[3], "  wimsyd.service: linked: yes");
    let again = enable(&setup, false, None).unwrap();
    assert!(
        again.lines[0].contains("already enabled"),
        "{:?}",
        again.lines
    );

    let dry = disable(&setup, true).unwrap();
    assert!(
        dry.lines.iter().any(|l| l.starts_with("run: rm -f")),
        "{:?}",
        dry.lines
    );
    let off = disable(&setup, false).unwrap();
    assert_eq!(tree(temp.path()), before, "{:?}", off.lines);
    let nothing = disable(&setup, false).unwrap();
    assert!(nothing.lines[0].contains("nothing to undo"));
}

#[test]
fn a_failed_enable_leaves_nothing_behind_and_says_why() {
    let temp = tempfile::tempdir().unwrap();
    let before = tree(temp.path());
    let why = enable(&setup(temp.path(), false), false, None).unwrap_err();
    assert!(
        why.starts_with("could not enable autostart: `false "),
        "{why}"
    );
    assert!(why.contains("The test manager must answer"), "{why}");
    assert!(why.ends_with("Nothing was left installed."), "{why}");
    assert_eq!(tree(temp.path()), before);
}

#[test]
fn a_running_wimsyd_must_be_quit_first() {
    let temp = tempfile::tempdir().unwrap();
    let before = tree(temp.path());
    let setup = setup(temp.path(), true);
    let socket = Path::new("/run/user/1000/wimsy/wimsyd.sock");
    let why = enable(&setup, false, Some(socket)).unwrap_err();
    assert!(why.contains("a wimsyd is running now (it answers on /run/user/1000/wimsy/wimsyd.sock): quit it first with `wimsyctl quit`"), "{why}");
    assert_eq!(tree(temp.path()), before);
    let dry = enable(&setup, true, Some(socket)).unwrap();
    assert!(
        dry.lines[1].starts_with("first ask you: a wimsyd is running now"),
        "{:?}",
        dry.lines
    );
}

#[test]
fn a_file_in_the_way_is_not_overwritten() {
    let temp = tempfile::tempdir().unwrap();
    let setup = setup(temp.path(), true);
    std::fs::create_dir_all(setup.files[0].path.parent().unwrap()).unwrap();
    std::fs::write(&setup.files[0].path, "the user's own").unwrap();
    let before = tree(temp.path());
    let why = enable(&setup, false, None).unwrap_err();
    assert!(why.contains("already exists and was not written"), "{why}");
    assert_eq!(tree(temp.path()), before);
}

#[test]
fn a_file_changed_after_enable_is_left_in_place() {
    let temp = tempfile::tempdir().unwrap();
    let setup = setup(temp.path(), true);
    enable(&setup, false, None).unwrap();
    std::fs::write(&setup.files[0].path, "edited").unwrap();
    let off = disable(&setup, false).unwrap();
    assert!(
        off.lines.iter().any(|l| l.contains("it was changed after")),
        "{:?}",
        off.lines
    );
    assert_eq!(
        std::fs::read_to_string(&setup.files[0].path).unwrap(),
        "edited"
    );
    assert!(!setup.record.exists());
}

#[test]
fn an_answer_is_the_managers_word_or_why_there_is_none() {
    let says = |program: &str, args: &[&str]| ask(&Question::says("q", Cmd::new(program, args)));
    assert_eq!(says("echo", &["enabled"]), "enabled");
    assert_eq!(
        says("sh", &["-c", "echo 'Failed to connect to bus' >&2; exit 1"]),
        "unknown (Failed to connect to bus)"
    );
    assert_eq!(says("false", &[]), "no");
    assert_eq!(says("true", &[]), "yes");
    assert_eq!(
        says("wimsy-no-such-program", &[]),
        "unknown (`wimsy-no-such-program` was not found)"
    );
    let succeeds = |program: &str| ask(&Question::succeeds("q", Cmd::new(program, &[])));
    assert_eq!(succeeds("true"), "yes");
    assert_eq!(succeeds("false"), "no");
}

#[test]
fn the_linux_setup_writes_the_tray_entry_and_takes_exactly_that_back() {
    let temp = tempfile::tempdir().unwrap();
    let config = temp.path().join("home/.config");
    std::fs::create_dir_all(config.join("autostart")).unwrap();
    std::fs::write(config.join("autostart/other.desktop"), "mine").unwrap();
    let before = tree(temp.path());
    let mut setup = crate::autostart::systemd_setup(
        &config,
        Path::new("/usr/local/bin/wimsyd"),
        None,
        &crate::autostart::Tray::Start(PathBuf::from("/usr/local/bin/wimsy-tray")),
    );
    // No user systemd runs on a build machine: `true` answers for it, and
    // the files are the real ones.
    let yes = Cmd::new("true", &[]);
    setup.enable = vec![yes.clone()];
    setup.undo_before = vec![yes.clone()];
    setup.undo_after = vec![yes];
    setup.probes.clear();

    enable(&setup, false, None).unwrap();
    let entry = config.join("autostart/wimsy-tray.desktop");
    let text = std::fs::read_to_string(&entry).unwrap();
    assert!(
        text.contains("\nExec=/usr/local/bin/wimsy-tray\n"),
        "{text}"
    );
    let now = status(&setup, false).unwrap();
    assert!(
        now.lines
            .contains(&format!("  {}: installed", entry.display())),
        "{:?}",
        now.lines
    );
    let off = disable(&setup, false).unwrap();
    assert!(
        off.lines.contains(&format!("removed {}", entry.display())),
        "{:?}",
        off.lines
    );
    assert_eq!(tree(temp.path()), before, "{:?}", off.lines);

    // An entry the user edited stays, and status says so first.
    enable(&setup, false, None).unwrap();
    std::fs::write(&entry, text + "Hidden=true\n").unwrap();
    let now = status(&setup, false).unwrap();
    assert!(
        now.lines.contains(&format!(
            "  {}: changed since it was written",
            entry.display()
        )),
        "{:?}",
        now.lines
    );
    let off = disable(&setup, false).unwrap();
    assert!(
        off.lines.contains(&format!(
            "left {}: it was changed after wimsyctl wrote it",
            entry.display()
        )),
        "{:?}",
        off.lines
    );
    assert!(entry.is_file());
}
