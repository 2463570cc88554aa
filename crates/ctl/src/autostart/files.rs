//! What each platform's autostart files hold: pure functions of the paths
//! they name, built and tested on every platform (the platform calls that
//! install them are in `mod.rs` and `apply.rs`).

use std::path::Path;

/// The systemd user units, as packaging/systemd holds them (the one
/// source), with `ExecStart=` pointing at `wimsyd`.
pub const SOCKET_UNIT: &str = include_str!("../../../../packaging/systemd/wimsyd.socket");
const SERVICE_UNIT: &str = include_str!("../../../../packaging/systemd/wimsyd.service");
const INSTALLED_WIMSYD: &str = "ExecStart=/usr/bin/wimsyd\n";

/// wimsyd.service starting the `wimsyd` at `wimsyd`.
pub fn service_unit(wimsyd: &Path) -> String {
    SERVICE_UNIT.replacen(
        INSTALLED_WIMSYD,
        &format!("ExecStart={}\n", systemd_quote(&wimsyd.to_string_lossy())),
        1,
    )
}

/// A path as one word of a systemd command line: `%` and `$` would be
/// expanded, whitespace would split it.
fn systemd_quote(path: &str) -> String {
    let escaped = path.replace('%', "%%").replace('$', "$$");
    if escaped.contains([' ', '\t', '"', '\'', '\\']) {
        format!("\"{}\"", escaped.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        escaped
    }
}

/// The launchd job label (and the plist's file name, with `.plist`).
pub const LAUNCHD_LABEL: &str = "wimsy.wimsyd";

/// The LaunchAgent: started at login (RunAtLoad), started again only after
/// an unsuccessful exit (a Quit exits 0 and stays stopped), its log in
/// `log`.
pub fn launchd_plist(wimsyd: &Path, log: &Path) -> String {
    let program = xml_escape(&wimsyd.to_string_lossy());
    let log = xml_escape(&log.to_string_lossy());
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>{LAUNCHD_LABEL}</string>
	<key>ProgramArguments</key>
	<array>
		<string>{program}</string>
	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>KeepAlive</key>
	<dict>
		<key>SuccessfulExit</key>
		<false/>
	</dict>
	<key>ProcessType</key>
	<string>Standard</string>
	<key>StandardOutPath</key>
	<string>{log}</string>
	<key>StandardErrorPath</key>
	<string>{log}</string>
</dict>
</plist>
"#
    )
}

/// The Task Scheduler task's name.
pub const TASK_NAME: &str = "Wimsy daemon";

/// The Task Scheduler task: starts `wimsyd` when `user` (`DOMAIN\name`)
/// logs on, as that user with least privilege, with no execution time
/// limit (the default stops a task after 72 hours), on battery too, one
/// instance at a time, started again after a failure.
pub fn task_xml(wimsyd: &Path, user: &str) -> String {
    let command = xml_escape(&wimsyd.to_string_lossy());
    let user = xml_escape(user);
    format!(
        r#"<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Description>Wimsy's daemon: keeps your XMPP accounts connected whether or not a window is open.</Description>
    <URI>\{TASK_NAME}</URI>
  </RegistrationInfo>
  <Triggers>
    <LogonTrigger>
      <Enabled>true</Enabled>
      <UserId>{user}</UserId>
    </LogonTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">
      <UserId>{user}</UserId>
      <LogonType>InteractiveToken</LogonType>
      <RunLevel>LeastPrivilege</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <StartWhenAvailable>true</StartWhenAvailable>
    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>
    <RestartOnFailure>
      <Interval>PT1M</Interval>
      <Count>3</Count>
    </RestartOnFailure>
    <Enabled>true</Enabled>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>{command}</Command>
    </Exec>
  </Actions>
</Task>
"#
    )
}

/// Task Scheduler reads its XML as UTF-16 (little-endian, with a byte
/// order mark), as it writes it.
pub fn utf16_with_bom(text: &str) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    bytes
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text of the one element `name` holds directly (no nesting).
    fn element<'a>(xml: &'a str, name: &str) -> Vec<&'a str> {
        let open = format!("<{name}>");
        let close = format!("</{name}>");
        xml.split(&open)
            .skip(1)
            .filter_map(|rest| rest.split_once(&close).map(|(inner, _)| inner))
            .collect()
    }

    #[test]
    fn the_service_unit_starts_the_wimsyd_given() {
        let unit = service_unit(Path::new("/home/ann/.cargo/bin/wimsyd"));
        assert!(unit.contains("\nExecStart=/home/ann/.cargo/bin/wimsyd\n"));
        assert!(!unit.contains("/usr/bin/wimsyd"));
        assert!(unit.contains("Type=notify") && unit.contains("Restart=on-failure"));
        assert!(unit.contains("\nWantedBy=default.target"));
        assert!(SOCKET_UNIT.contains("ListenStream=%t/wimsy/wimsyd.sock"));
    }

    #[test]
    fn odd_paths_stay_one_word_and_unexpanded() {
        assert_eq!(systemd_quote("/opt/bin/wimsyd"), "/opt/bin/wimsyd");
        assert_eq!(
            systemd_quote("/home/a b/100%/$x/wimsyd"),
            "\"/home/a b/100%%/$$x/wimsyd\""
        );
        assert_eq!(systemd_quote("/a\"b"), "\"/a\\\"b\"");
    }

    #[test]
    fn the_plist_has_the_keys_launchd_needs() {
        let plist = launchd_plist(
            Path::new("/Users/ann/.cargo/bin/wimsyd"),
            Path::new("/Users/ann/Library/Logs/wimsyd.log"),
        );
        let keys = element(&plist, "key");
        for key in [
            "Label",
            "ProgramArguments",
            "RunAtLoad",
            "KeepAlive",
            "SuccessfulExit",
            "StandardOutPath",
            "StandardErrorPath",
        ] {
            assert!(keys.contains(&key), "{key} missing: {plist}");
        }
        let strings = element(&plist, "string");
        assert_eq!(strings[0], LAUNCHD_LABEL);
        assert_eq!(strings[1], "/Users/ann/.cargo/bin/wimsyd");
        // KeepAlive is the dict that restarts only after a failure.
        let keep_alive = plist.split("<key>KeepAlive</key>").nth(1).unwrap();
        assert!(
            keep_alive
                .trim_start()
                .starts_with("<dict>\n\t\t<key>SuccessfulExit</key>\n\t\t<false/>"),
            "{plist}"
        );
        assert!(plist.contains("<key>RunAtLoad</key>\n\t<true/>"));
        assert_eq!(
            plist.matches("<dict>").count(),
            plist.matches("</dict>").count()
        );
    }

    #[test]
    fn the_task_runs_at_logon_forever_and_escapes_what_it_names() {
        let xml = task_xml(
            Path::new(r"C:\Users\Ann & Bob\.cargo\bin\wimsyd.exe"),
            r"HOME\ann",
        );
        assert_eq!(element(&xml, "ExecutionTimeLimit"), ["PT0S"]);
        assert_eq!(element(&xml, "UserId"), [r"HOME\ann", r"HOME\ann"]);
        assert_eq!(element(&xml, "LogonType"), ["InteractiveToken"]);
        assert_eq!(element(&xml, "RunLevel"), ["LeastPrivilege"]);
        assert_eq!(element(&xml, "DisallowStartIfOnBatteries"), ["false"]);
        assert_eq!(element(&xml, "StopIfGoingOnBatteries"), ["false"]);
        assert_eq!(element(&xml, "MultipleInstancesPolicy"), ["IgnoreNew"]);
        assert_eq!(
            element(&xml, "Command"),
            [r"C:\Users\Ann &amp; Bob\.cargo\bin\wimsyd.exe"]
        );
        assert!(xml.contains("<LogonTrigger>\n      <Enabled>true</Enabled>"));
        for tag in [
            "Task",
            "Triggers",
            "Principals",
            "Settings",
            "Actions",
            "Exec",
        ] {
            assert_eq!(
                xml.matches(&format!("<{tag}>")).count() + xml.matches(&format!("<{tag} ")).count(),
                xml.matches(&format!("</{tag}>")).count(),
                "{tag} balanced"
            );
        }
    }

    #[test]
    fn the_task_file_is_utf16_as_declared() {
        let bytes = utf16_with_bom("<a>é</a>");
        assert_eq!(&bytes[..2], &[0xFF, 0xFE]);
        let units: Vec<u16> = bytes[2..]
            .chunks(2)
            .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
            .collect();
        assert_eq!(String::from_utf16(&units).unwrap(), "<a>é</a>");
    }
}
