//! Each platform's `Setup`: the files, the commands and the notes.

use super::*;

#[test]
fn systemd_writes_both_units_in_the_user_unit_directory() {
    let setup = systemd_setup(
        Path::new("/h/.config"),
        Path::new("/opt/wimsyd"),
        None,
        &Tray::Start(PathBuf::from("/opt/wimsy-tray")),
    );
    let paths: Vec<_> = setup.files.iter().map(|f| f.path.clone()).collect();
    assert_eq!(
        paths,
        [
            PathBuf::from("/h/.config/systemd/user/wimsyd.socket"),
            PathBuf::from("/h/.config/systemd/user/wimsyd.service"),
            PathBuf::from("/h/.config/autostart/wimsy-tray.desktop"),
        ]
    );
    assert!(setup.files[1].text.contains("ExecStart=/opt/wimsyd\n"));
    assert!(setup.files[2].text.contains("\nExec=/opt/wimsy-tray\n"));
    assert_eq!(setup.note, None);
    let enable: Vec<String> = setup.enable.iter().map(ToString::to_string).collect();
    assert_eq!(
        enable,
        [
            "systemctl --user daemon-reload",
            "systemctl --user enable --now wimsyd.socket wimsyd.service",
        ]
    );
    assert_eq!(
        setup.undo_before[0].to_string(),
        "systemctl --user disable --now wimsyd.socket wimsyd.service"
    );
    assert_eq!(setup.record, Path::new("/h/.config/wimsy/autostart.json"));
}

#[test]
fn units_a_package_installed_are_enabled_not_written() {
    let setup = systemd_setup(
        Path::new("/h/.config"),
        Path::new("/opt/wimsyd"),
        Some(Path::new("/usr/lib/systemd/user")),
        &Tray::InstalledAt(PathBuf::from("/etc/xdg/autostart/wimsy-tray.desktop")),
    );
    assert!(setup.files.is_empty());
    assert!(setup.undo_after.is_empty(), "no daemon-reload needed");
    assert_eq!(setup.enable.len(), 1);
    let note = setup.note.unwrap();
    assert!(note.contains("/usr/lib/systemd/user"), "{note}");
    assert!(
        note.contains("starts at login from /etc/xdg/autostart/wimsy-tray.desktop"),
        "{note}"
    );
}

#[test]
fn without_a_tray_only_the_units_are_written_and_the_user_is_told() {
    let setup = systemd_setup(
        Path::new("/h/.config"),
        Path::new("/opt/wimsyd"),
        None,
        &Tray::Absent,
    );
    assert_eq!(setup.files.len(), 2);
    assert!(setup.note.unwrap().starts_with("no wimsy-tray was found"));
}

#[test]
fn launchd_bootstraps_the_agent_into_the_gui_domain() {
    let setup = launchd_setup(
        Path::new("/Users/ann"),
        Path::new("/Users/ann/Library/Application Support"),
        Path::new("/Users/ann/.cargo/bin/wimsyd"),
        "501",
    );
    assert_eq!(
        setup.files[0].path,
        Path::new("/Users/ann/Library/LaunchAgents/wimsy.wimsyd.plist")
    );
    assert_eq!(
        setup.enable[0].to_string(),
        "launchctl bootstrap gui/501 /Users/ann/Library/LaunchAgents/wimsy.wimsyd.plist"
    );
    assert_eq!(
        setup.undo_before[0].to_string(),
        "launchctl bootout gui/501/wimsy.wimsyd"
    );
}

#[test]
fn the_task_is_registered_from_its_xml_and_deleted_by_name() {
    let setup = task_setup(
        Path::new("C:/Users/ann/AppData/Roaming"),
        Path::new("C:/Users/ann/AppData/Local"),
        Path::new("C:/Users/ann/.cargo/bin/wimsyd.exe"),
        r"HOME\ann",
    );
    assert!(setup.files[0].utf16);
    assert_eq!(
        setup.enable[0].to_string(),
        "schtasks /Create /TN 'Wimsy daemon' /XML C:/Users/ann/AppData/Local/wimsy/wimsyd-task.xml"
    );
    assert_eq!(
        setup.undo_before[0].to_string(),
        "schtasks /Delete /TN 'Wimsy daemon' /F"
    );
}
