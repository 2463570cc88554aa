//! Man pages and shell completions for each of Wimsy's binaries, written
//! by the binary itself from its own clap definition, so they cannot
//! drift from what it accepts.
//!
//! Every binary's `main` starts with [`write_if_asked`]: run as
//! `BINARY --write-docs DIR` it writes its pages and completions under
//! `DIR` and exits. The flag is not part of the binary's clap definition,
//! so it is in no help text, man page or completion: it is for packaging
//! (`cargo xtask package`), not for people. This crate knows nothing of
//! Wimsy, so the frontends still depend on nothing of the daemon.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap_complete::Shell;

/// The flag that asks a binary for its docs.
pub const FLAG: &str = "--write-docs";

/// Where each kind of file goes under the output directory; the file
/// names are the ones Debian installs them under.
pub fn man_dir(out: &Path) -> PathBuf {
    out.join("man")
}

/// `completions/bash/NAME`, `completions/zsh/_NAME`,
/// `completions/fish/NAME.fish`.
pub fn completion_path(out: &Path, shell: &str, name: &str) -> PathBuf {
    let dir = out.join("completions").join(shell);
    match shell {
        "zsh" => dir.join(format!("_{name}")),
        "fish" => dir.join(format!("{name}.fish")),
        _ => dir.join(name),
    }
}

/// When the arguments are `--write-docs DIR`, write `name`'s man pages and
/// completions under `DIR` and return the exit code for `main`; otherwise
/// `None`, and the binary runs as usual. `command` is the binary's clap
/// definition (`Args::command`).
pub fn write_if_asked(name: &str, command: impl FnOnce() -> clap::Command) -> Option<ExitCode> {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let [flag, dir] = args.as_slice() else {
        return None;
    };
    if flag.as_os_str() != FLAG {
        return None;
    }
    match write(name, command(), Path::new(dir)) {
        Ok(files) => {
            for file in files {
                println!("{}", file.display());
            }
            Some(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!(
                "{name}: could not write the man pages and completions under {}: {e}",
                Path::new(dir).display()
            );
            Some(ExitCode::FAILURE)
        }
    }
}

/// Write the man page of `command` and of each of its subcommands
/// (`NAME.1`, `NAME-SUB.1`, ...) and its bash, zsh and fish completions
/// under `out`; the paths written, in order.
pub fn write(name: &str, command: clap::Command, out: &Path) -> io::Result<Vec<PathBuf>> {
    let mut command = command.name(name.to_owned()).bin_name(name.to_owned());
    command.build();
    let mut written = Vec::new();
    let man = man_dir(out);
    std::fs::create_dir_all(&man)?;
    write_pages(&command, &man, &mut written)?;
    for (shell, word) in [
        (Shell::Bash, "bash"),
        (Shell::Zsh, "zsh"),
        (Shell::Fish, "fish"),
    ] {
        let path = completion_path(out, word, name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = File::create(&path)?;
        clap_complete::generate(shell, &mut command, name, &mut file);
        file.flush()?;
        written.push(path);
    }
    Ok(written)
}

/// One page for `command`, then one for each visible subcommand, named by
/// its path (`wimsyctl-autostart-enable.1`), as git and cargo name theirs.
fn write_pages(command: &clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> io::Result<()> {
    let page = clap_mangen::Man::new(command.clone());
    let path = dir.join(page.get_filename());
    let mut file = File::create(&path)?;
    page.render(&mut file)?;
    file.flush()?;
    written.push(path);
    for sub in command.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        // The page's name and its usage line say the whole command.
        let full = format!("{}-{}", command.get_name(), sub.get_name());
        let bin = format!(
            "{} {}",
            command.get_bin_name().unwrap_or(command.get_name()),
            sub.get_name()
        );
        let sub = sub.clone().name(full).bin_name(bin);
        write_pages(&sub, dir, written)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn example() -> clap::Command {
        clap::Command::new("example-pkg")
            .version("1.0")
            .about("Does things")
            .arg(clap::Arg::new("socket").long("socket").help("Where"))
            .subcommand(
                clap::Command::new("autostart")
                    .about("At login")
                    .subcommand(clap::Command::new("enable").about("Turn on")),
            )
            .subcommand(clap::Command::new("secret").hide(true))
    }

    #[test]
    fn every_visible_command_gets_a_page_and_every_shell_a_completion() {
        let out = tempfile::tempdir().unwrap();
        let written = write("ex", example(), out.path()).unwrap();
        let names: Vec<String> = written
            .iter()
            .map(|p| p.strip_prefix(out.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "man/ex.1",
                "man/ex-autostart.1",
                "man/ex-autostart-enable.1",
                "completions/bash/ex",
                "completions/zsh/_ex",
                "completions/fish/ex.fish",
            ]
        );
        let page = std::fs::read_to_string(out.path().join("man/ex-autostart-enable.1")).unwrap();
        assert!(page.contains("ex\\-autostart\\-enable"), "{page}");
        assert!(page.contains("Turn on"), "{page}");
        let bash = std::fs::read_to_string(out.path().join("completions/bash/ex")).unwrap();
        assert!(bash.contains("--socket"), "{bash}");
        let offered = bash.lines().find(|l| l.contains("opts=\"")).unwrap();
        assert!(
            !offered.contains("secret"),
            "hidden commands are not offered: {offered}"
        );
    }
}
