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

/// The tray's XDG autostart entry, as packaging/wimsy-tray.desktop holds
/// it (the one source), with `Exec=` pointing at `wimsy_tray`.
const TRAY_ENTRY: &str = include_str!("../../../../packaging/wimsy-tray.desktop");
const INSTALLED_TRAY: &str = "Exec=wimsy-tray\n";

/// The file name of the tray's autostart entry, in an `autostart`
/// directory of the XDG config directories.
pub const TRAY_ENTRY_NAME: &str = "wimsy-tray.desktop";

/// wimsy-tray.desktop starting the `wimsy-tray` at `wimsy_tray`.
pub fn tray_entry(wimsy_tray: &Path) -> String {
    TRAY_ENTRY.replacen(
        INSTALLED_TRAY,
        &format!(
            "Exec={}\n",
            desktop_exec_quote(&wimsy_tray.to_string_lossy())
        ),
        1,
    )
}

/// A path as the program of a desktop entry's `Exec=`: quoted when it
/// holds a reserved character, with the quoting rules of the Desktop Entry
/// Specification (a backslash inside quotes is itself written twice, once
/// for the quoting and once for the string value); `%` is a field code,
/// so it is written `%%`.
fn desktop_exec_quote(path: &str) -> String {
    let path = path.replace('%', "%%");
    let reserved = [
        ' ', '\t', '\n', '"', '\'', '\\', '>', '<', '~', '|', '&', ';', '$', '*', '?', '#', '(',
        ')', '`',
    ];
    if !path.contains(reserved) {
        return path;
    }
    let mut quoted = String::from("\"");
    for c in path.chars() {
        match c {
            '"' | '`' | '$' => {
                quoted.push_str("\\\\");
                quoted.push(c);
            }
            '\\' => quoted.push_str("\\\\\\\\"),
            _ => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
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

    use roxmltree::{Document, Node, ParsingOptions};

    #[test]
    fn the_tray_entry_starts_the_wimsy_tray_it_names() {
        let entry = tray_entry(Path::new("/home/ann/.cargo/bin/wimsy-tray"));
        assert!(entry.starts_with("[Desktop Entry]\n"), "{entry}");
        assert!(
            entry.contains("\nExec=/home/ann/.cargo/bin/wimsy-tray\n"),
            "{entry}"
        );
        assert_eq!(entry.matches("Exec=").count(), 1, "{entry}");
        let odd = tray_entry(Path::new(r#"/home/a b/100%/"x"\wimsy-tray"#));
        assert!(
            odd.contains(r#"Exec="/home/a b/100%%/\\"x\\"\\\\wimsy-tray""#),
            "{odd}"
        );
    }

    fn parse(xml: &str) -> Document<'_> {
        let options = ParsingOptions {
            allow_dtd: true,
            ..ParsingOptions::default()
        };
        Document::parse_with_options(xml, options).expect("well-formed XML")
    }

    fn elements<'a, 'i>(node: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
        node.children().filter(Node::is_element)
    }

    /// A plist `<dict>` as (key, value element) pairs, in order.
    fn dict<'a, 'i>(node: Node<'a, 'i>) -> Vec<(&'a str, Node<'a, 'i>)> {
        assert_eq!(node.tag_name().name(), "dict");
        let children: Vec<_> = elements(node).collect();
        assert_eq!(children.len() % 2, 0, "keys and values pair up");
        children
            .chunks(2)
            .map(|pair| {
                assert_eq!(pair[0].tag_name().name(), "key");
                (pair[0].text().unwrap_or_default(), pair[1])
            })
            .collect()
    }

    fn value<'a, 'i>(dict: &[(&str, Node<'a, 'i>)], key: &str) -> Node<'a, 'i> {
        dict.iter()
            .find(|(k, _)| *k == key)
            .unwrap_or_else(|| panic!("{key} missing"))
            .1
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
    fn the_plist_parses_with_the_keys_launchd_needs() {
        let plist = launchd_plist(
            Path::new("/Users/ann/My <Apps>/wimsyd"),
            Path::new("/Users/ann/Library/Logs/wimsyd.log"),
        );
        let doc = parse(&plist);
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "plist");
        let job = dict(elements(root).next().unwrap());
        assert_eq!(value(&job, "Label").text(), Some(LAUNCHD_LABEL));
        let program: Vec<_> = elements(value(&job, "ProgramArguments"))
            .map(|n| n.text().unwrap_or_default())
            .collect();
        assert_eq!(
            program,
            ["/Users/ann/My <Apps>/wimsyd"],
            "escaped and read back"
        );
        assert_eq!(value(&job, "RunAtLoad").tag_name().name(), "true");
        // Started again only after an unsuccessful exit: a Quit stays quit.
        let keep_alive = dict(value(&job, "KeepAlive"));
        assert_eq!(keep_alive.len(), 1);
        assert_eq!(
            value(&keep_alive, "SuccessfulExit").tag_name().name(),
            "false"
        );
        for key in ["StandardOutPath", "StandardErrorPath"] {
            assert_eq!(
                value(&job, key).text(),
                Some("/Users/ann/Library/Logs/wimsyd.log")
            );
        }
    }

    #[test]
    fn the_task_parses_runs_at_logon_forever_and_names_what_it_starts() {
        let exe = r"C:\Users\Ann & Bob\.cargo\bin\wimsyd.exe";
        let xml = task_xml(Path::new(exe), r"HOME\ann");
        let doc = parse(&xml);
        let task = doc.root_element();
        assert_eq!(task.tag_name().name(), "Task");
        assert_eq!(
            task.tag_name().namespace(),
            Some("http://schemas.microsoft.com/windows/2004/02/mit/task")
        );
        let text_of = |path: &[&str]| -> Vec<String> {
            let mut nodes = vec![task];
            for name in path {
                nodes = nodes
                    .into_iter()
                    .flat_map(|n| elements(n).filter(|c| c.tag_name().name() == *name))
                    .collect();
            }
            nodes
                .iter()
                .map(|n| n.text().unwrap_or_default().to_owned())
                .collect()
        };
        assert_eq!(text_of(&["Triggers", "LogonTrigger", "Enabled"]), ["true"]);
        assert_eq!(
            text_of(&["Triggers", "LogonTrigger", "UserId"]),
            [r"HOME\ann"]
        );
        assert_eq!(
            text_of(&["Principals", "Principal", "UserId"]),
            [r"HOME\ann"]
        );
        assert_eq!(
            text_of(&["Principals", "Principal", "LogonType"]),
            ["InteractiveToken"]
        );
        assert_eq!(
            text_of(&["Principals", "Principal", "RunLevel"]),
            ["LeastPrivilege"]
        );
        assert_eq!(text_of(&["Settings", "ExecutionTimeLimit"]), ["PT0S"]);
        assert_eq!(
            text_of(&["Settings", "DisallowStartIfOnBatteries"]),
            ["false"]
        );
        assert_eq!(text_of(&["Settings", "StopIfGoingOnBatteries"]), ["false"]);
        assert_eq!(
            text_of(&["Settings", "MultipleInstancesPolicy"]),
            ["IgnoreNew"]
        );
        assert_eq!(text_of(&["Actions", "Exec", "Command"]), [exe]);
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
