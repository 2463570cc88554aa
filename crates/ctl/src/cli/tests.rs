use super::*;
use clap::CommandFactory;
use clap::error::ErrorKind;

const FP: &str = "SHA256:3A:7B:1C:5D:9E:0F:21:43:65:87:A9:CB:ED:0F:12:34:\
                      56:78:9A:BC:DE:F0:11:22:33:44:55:66:77:88:99:AA";

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("wimsyctl").chain(args.iter().copied()))
}

fn plan(args: &[&str]) -> Plan {
    parse(args).expect("valid arguments").command.plan()
}

#[test]
fn autostart_asks_no_daemon() {
    assert_eq!(
        plan(&[
            "autostart",
            "enable",
            "--dry-run",
            "--wimsyd",
            "/opt/wimsyd"
        ]),
        Plan::Autostart(AutostartCommand::Enable {
            dry_run: true,
            wimsyd: Some(PathBuf::from("/opt/wimsyd"))
        })
    );
    assert_eq!(
        plan(&["autostart", "disable"]),
        Plan::Autostart(AutostartCommand::Disable { dry_run: false })
    );
    assert_eq!(
        plan(&["autostart", "status", "--dry-run"]),
        Plan::Autostart(AutostartCommand::Status { dry_run: true })
    );
    assert!(parse(&["autostart"]).is_err());
}

#[test]
fn clap_definition_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn global_flags_go_before_or_after_the_command() {
    let cli = parse(&["--socket", "/tmp/a.sock", "--json", "status"]).unwrap();
    assert_eq!(cli.socket, Some(PathBuf::from("/tmp/a.sock")));
    assert!(cli.json);
    let cli = parse(&["status", "--json", "--socket", "/tmp/b.sock"]).unwrap();
    assert_eq!(cli.socket, Some(PathBuf::from("/tmp/b.sock")));
    assert!(cli.json);
    let cli = parse(&["status"]).unwrap();
    assert_eq!(cli.socket, None);
    assert!(!cli.json);
}

#[test]
fn simple_commands_map_to_their_requests() {
    assert_eq!(plan(&["status"]), Plan::Request(Request::Status));
    assert_eq!(
        plan(&["account", "list"]),
        Plan::Request(Request::AccountList)
    );
    assert_eq!(
        plan(&["account", "remove", "a@example.org"]),
        Plan::Request(Request::AccountRemove {
            jid: "a@example.org".into()
        })
    );
    assert_eq!(
        plan(&["account", "trust", "a@example.org", &FP.to_lowercase()]),
        Plan::Request(Request::AccountTrust {
            jid: "a@example.org".into(),
            fingerprint: FP.into(),
        })
    );
    assert_eq!(
        plan(&["connect"]),
        Plan::Request(Request::Connect { account: None })
    );
    assert_eq!(
        plan(&["connect", "a@example.org"]),
        Plan::Request(Request::Connect {
            account: Some("a@example.org".into())
        })
    );
    assert_eq!(
        plan(&["disconnect"]),
        Plan::Request(Request::Disconnect { account: None })
    );
    assert_eq!(
        plan(&["disconnect", "a@example.org"]),
        Plan::Request(Request::Disconnect {
            account: Some("a@example.org".into())
        })
    );
    assert_eq!(
        plan(&["roster"]),
        Plan::Request(Request::Roster { account: None })
    );
    assert_eq!(
        plan(&["roster", "--account", "a@example.org"]),
        Plan::Request(Request::Roster {
            account: Some("a@example.org".into())
        })
    );
    assert_eq!(plan(&["follow"]), Plan::Follow { visible: false });
    assert_eq!(
        plan(&["follow", "--visible"]),
        Plan::Follow { visible: true }
    );
    assert_eq!(plan(&["quit"]), Plan::Request(Request::Quit));
    assert_eq!(plan(&["fail"]), Plan::Request(Request::Fail));
    assert_eq!(
        plan(&["mark-read", "b@example.org"]),
        Plan::Request(Request::MarkRead {
            account: None,
            peer: "b@example.org".into()
        })
    );
}

#[test]
fn roster_subcommands_map_to_their_requests() {
    let bob = || "b@example.org".to_owned();
    let alice = || Some("a@example.org".to_owned());
    assert_eq!(
        plan(&["roster", "add", "B@example.org", "--name", "Bob"]),
        Plan::Request(Request::RosterAdd {
            account: None,
            jid: bob(),
            name: Some("Bob".into()),
        })
    );
    assert_eq!(
        plan(&[
            "roster",
            "--account",
            "a@example.org",
            "add",
            "b@example.org"
        ]),
        Plan::Request(Request::RosterAdd {
            account: alice(),
            jid: bob(),
            name: None,
        })
    );
    assert_eq!(
        plan(&[
            "roster",
            "rename",
            "b@example.org",
            "Uncle",
            "Bob",
            "--account",
            "a@example.org"
        ]),
        Plan::Request(Request::RosterRename {
            account: alice(),
            jid: bob(),
            name: "Uncle Bob".into(),
        })
    );
    assert_eq!(
        plan(&["roster", "remove", "b@example.org"]),
        Plan::Request(Request::RosterRemove {
            account: None,
            jid: bob(),
        })
    );
    assert_eq!(
        plan(&["roster", "accept", "b@example.org"]),
        Plan::Request(Request::SubscriptionAnswer {
            account: None,
            jid: bob(),
            accept: true,
        })
    );
    assert_eq!(
        plan(&[
            "roster",
            "deny",
            "b@example.org",
            "--account",
            "a@example.org"
        ]),
        Plan::Request(Request::SubscriptionAnswer {
            account: alice(),
            jid: bob(),
            accept: false,
        })
    );
    for bad in [
        &["roster", "add", "nope"][..],
        &["roster", "rename", "b@example.org"][..],
        &["roster", "accept"][..],
        &["roster", "frobnicate", "b@example.org"][..],
    ] {
        assert_eq!(parse(bad).unwrap_err().exit_code(), 2, "{bad:?}");
    }
}

#[test]
fn settings_get_and_set_map_to_their_requests() {
    assert_eq!(
        plan(&["settings", "get"]),
        Plan::Request(Request::SettingsGet { key: None })
    );
    assert_eq!(
        plan(&["settings", "get", "background.keep_connected"]),
        Plan::Request(Request::SettingsGet {
            key: Some("background.keep_connected".into())
        })
    );
    assert_eq!(
        plan(&["settings", "set", "background.keep_connected", "off"]),
        Plan::Request(Request::SettingsSet {
            key: "background.keep_connected".into(),
            value: SettingValue::Text("off".into()),
        })
    );
    for args in [
        &["settings"][..],
        &["settings", "set", "background.keep_connected"][..],
        &["settings", "set", "k", "v", "extra"][..],
    ] {
        assert_eq!(parse(args).unwrap_err().exit_code(), 2, "{args:?}");
    }
}

#[test]
fn presence_takes_a_show_and_an_optional_message() {
    assert_eq!(
        plan(&["presence", "away", "at", "lunch"]),
        Plan::Request(Request::SetPresence {
            account: None,
            show: Show::Away,
            status: Some("at lunch".into()),
        })
    );
    assert_eq!(
        plan(&["presence", "DND", "--account", "a@example.org"]),
        Plan::Request(Request::SetPresence {
            account: Some("a@example.org".into()),
            show: Show::Dnd,
            status: None,
        })
    );
    assert_eq!(
        plan(&["presence", "available"]),
        Plan::Request(Request::SetPresence {
            account: None,
            show: Show::Available,
            status: None,
        })
    );
    let err = parse(&["presence", "busy"]).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("available, away or dnd"), "{err}");
    assert_eq!(parse(&["presence"]).unwrap_err().exit_code(), 2);
}

#[test]
fn send_joins_words_with_single_spaces() {
    assert_eq!(
        plan(&[
            "send",
            "b@example.org",
            "hello",
            "there,",
            "  you",
            "--account",
            "a@example.org"
        ]),
        Plan::Request(Request::Send {
            account: Some("a@example.org".into()),
            to: "b@example.org".into(),
            body: "hello there,   you".into(),
        })
    );
    assert_eq!(
        plan(&["send", "b@example.org", "--", "-1", "--json"]),
        Plan::Request(Request::Send {
            account: None,
            to: "b@example.org".into(),
            body: "-1 --json".into(),
        })
    );
}

#[test]
fn send_needs_text() {
    let err = parse(&["send", "b@example.org"]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MissingRequiredArgument);
    assert_eq!(err.exit_code(), 2);
}

#[test]
fn history_takes_limit_cursor_and_account() {
    assert_eq!(
        plan(&["history", "b@example.org"]),
        Plan::Request(Request::History {
            account: None,
            peer: "b@example.org".into(),
            limit: None,
            before: None,
        })
    );
    assert_eq!(
        plan(&[
            "history",
            "b@example.org",
            "--limit",
            "20",
            "--before",
            "c123",
            "--account",
            "a@example.org"
        ]),
        Plan::Request(Request::History {
            account: Some("a@example.org".into()),
            peer: "b@example.org".into(),
            limit: Some(20),
            before: Some("c123".into()),
        })
    );
}

#[test]
fn history_limit_is_bounded() {
    for bad in ["0", "501", "-1", "many"] {
        let err = parse(&["history", "b@example.org", "--limit", bad]).unwrap_err();
        assert_eq!(err.exit_code(), 2, "--limit {bad}");
    }
    assert!(parse(&["history", "b@example.org", "--limit", "500"]).is_ok());
}

#[test]
fn account_add_takes_its_options_but_never_a_password() {
    assert_eq!(
        plan(&[
            "account",
            "add",
            "a@example.org",
            "--server",
            "localhost:5222",
            "--ca-file",
            "ca.pem",
            "--password-stdin"
        ]),
        Plan::AccountAdd(AccountAdd {
            jid: "a@example.org".into(),
            server: Some("localhost:5222".into()),
            ca_file: Some(PathBuf::from("ca.pem")),
            password_stdin: true,
            wait: Wait {
                no_wait: false,
                timeout: None,
            },
        })
    );
    let err = parse(&["account", "add", "a@example.org", "hunter2"]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownArgument);
    assert!(parse(&["account", "add", "a@example.org", "--password", "x"]).is_err());
}

#[test]
fn account_add_and_password_wait_unless_told_not_to() {
    let Plan::AccountAdd(add) = plan(&["account", "add", "a@example.org"]) else {
        panic!()
    };
    assert_eq!(add.wait.deadline(), Some(Wait::DEFAULT));
    let Plan::AccountAdd(add) = plan(&["account", "add", "a@example.org", "--no-wait"]) else {
        panic!()
    };
    assert_eq!(add.wait.deadline(), None);
    let Plan::AccountPassword(change) = plan(&[
        "account",
        "password",
        "A@Example.org",
        "--password-stdin",
        "--timeout",
        "5",
    ]) else {
        panic!()
    };
    assert_eq!(change.jid, "a@example.org", "normalized as wimsyd does");
    assert!(change.password_stdin);
    assert_eq!(change.wait.deadline(), Some(Duration::from_secs(5)));
    assert!(parse(&["account", "password", "a@example.org", "hunter2"]).is_err());
    let both = parse(&[
        "account",
        "add",
        "a@example.org",
        "--no-wait",
        "--timeout",
        "3",
    ]);
    assert_eq!(both.unwrap_err().exit_code(), 2);
}

#[test]
fn malformed_jids_and_fingerprints_are_usage_errors() {
    for args in [
        &["account", "add", "not a jid"][..],
        &["account", "add", "example.org"][..],
        &["account", "password", "@example.org"][..],
        &["account", "remove", "nobody"][..],
        &["account", "trust", "a@example.org", "SHA256:AB:CD"][..],
        &["account", "trust", "a@example.org", "zz"][..],
        &["account", "trust", "not a jid", FP][..],
        &["connect", "a b"][..],
        &["disconnect", "x@"][..],
        &["send", "not a jid", "hi"][..],
        &["send", "b@example.org", "hi", "--account", "nope"][..],
        &["history", "nope"][..],
        &["mark-read", "nope"][..],
        &["roster", "--account", "nope"][..],
    ] {
        let err = parse(args).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{args:?}");
        assert_eq!(err.kind(), ErrorKind::ValueValidation, "{args:?}");
    }
    let err = parse(&["account", "add", "example.org"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("no user part"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["frobnicate"][..],
        &["account"][..],
        &["account", "remove"][..],
        &["account", "trust", "a@example.org"][..],
        &["status", "--bogus"][..],
        &["history"][..],
    ] {
        let err = parse(args).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{args:?}");
    }
}
