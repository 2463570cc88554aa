//! Carrying out a [`Setup`]: `enable` writes its files, runs its commands
//! and records exactly what it did (the directories it made, the files it
//! wrote, the commands that undo it); `disable` undoes that record and
//! nothing else; `status` reads the record and asks the manager. A failed
//! `enable` takes back what it did, so it leaves nothing half done.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Cmd, FileSpec, Question, Setup};

/// What a command printed for the user, and the same for `--json`.
#[derive(Debug)]
pub struct Outcome {
    /// Lines for a person.
    pub lines: Vec<String>,
    /// One document for a script.
    pub json: serde_json::Value,
}

/// What `enable` did, kept in [`Setup::record`] for `disable`.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    manager: String,
    /// Outermost first.
    created_dirs: Vec<PathBuf>,
    files: Vec<FileSpec>,
    ran: Vec<Cmd>,
    undo_before: Vec<Cmd>,
    undo_after: Vec<Cmd>,
}

fn read_record(path: &Path) -> Result<Option<Record>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
            format!(
                "{} is not a record wimsyctl can read ({e}); remove what it lists by hand, then the file",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Run `cmd`; its error output in words when it fails.
fn run(cmd: &Cmd) -> Result<(), String> {
    let out = Command::new(&cmd.program)
        .args(&cmd.args)
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("`{}` was not found", cmd.program),
            _ => format!("`{cmd}` could not be started: {e}"),
        })?;
    if out.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&out.stderr);
    let said = said.trim();
    Err(if said.is_empty() {
        format!("`{cmd}` failed ({})", out.status)
    } else {
        format!("`{cmd}` failed: {said}")
    })
}

/// The directories to make for `path`'s parent, outermost first.
fn missing_ancestors(path: &Path) -> Vec<PathBuf> {
    let mut missing: Vec<PathBuf> = path
        .ancestors()
        .skip(1)
        .take_while(|dir| !dir.as_os_str().is_empty() && !dir.exists())
        .map(Path::to_path_buf)
        .collect();
    missing.reverse();
    missing
}

/// Remove the directories in `dirs` that are empty, innermost first.
fn remove_empty(dirs: &[PathBuf]) -> Vec<String> {
    let mut left = Vec::new();
    for dir in dirs.iter().rev() {
        match std::fs::remove_dir(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(_) => left.push(format!("left {}: something else is in it", dir.display())),
        }
    }
    left
}

/// Set autostart up, or with `dry_run` say what that would write and run.
/// `running` is the socket a wimsyd answers on now, if one does: it must
/// be quit first.
pub fn enable(setup: &Setup, dry_run: bool, running: Option<&Path>) -> Result<Outcome, String> {
    if let Some(record) = read_record(&setup.record)? {
        let files: Vec<String> = record
            .files
            .iter()
            .map(|f| f.path.display().to_string())
            .collect();
        return Ok(Outcome {
            lines: vec![format!(
                "autostart is already enabled ({}{}); `wimsyctl autostart disable` undoes it, to set it up again",
                record.manager,
                if files.is_empty() {
                    String::new()
                } else {
                    format!(": {}", files.join(", "))
                }
            )],
            json: json!({"kind": "autostart", "action": "enable", "already": true}),
        });
    }
    for file in &setup.files {
        if file.path.exists() {
            return Err(format!(
                "{} already exists and was not written by `wimsyctl autostart enable`; \
                 move it away (or use it as it is), then try again",
                file.path.display()
            ));
        }
    }
    let quit_first = running.map(|socket| {
        format!(
            "a wimsyd is running now (it answers on {}): quit it first with `wimsyctl quit`, \
             then enable autostart, which starts it again with {}; two cannot run at once",
            socket.display(),
            setup.manager
        )
    });
    let mut lines = Vec::new();
    if let (Some(why), false) = (&quit_first, dry_run) {
        return Err(format!(
            "could not enable autostart: {why}. Nothing was changed."
        ));
    }
    if dry_run {
        lines.push(format!(
            "dry run: nothing was changed. To enable autostart with {}, wimsyctl would:",
            setup.manager
        ));
        lines.extend(quit_first.iter().map(|why| format!("first ask you: {why}")));
        for file in &setup.files {
            lines.push(format!("write {}:", file.path.display()));
            lines.extend(file.text.lines().map(|l| format!("    {l}")));
        }
        lines.extend(setup.enable.iter().map(|cmd| format!("run: {cmd}")));
        lines.push(format!(
            "write {} (what was done, for `wimsyctl autostart disable`)",
            setup.record.display()
        ));
        lines.extend(setup.note.iter().map(|note| format!("note: {note}")));
        return Ok(Outcome {
            lines,
            json: json!({
                "kind": "autostart", "action": "enable", "dry_run": true,
                "manager": setup.manager,
                "files": setup.files.iter().map(|f| json!({"path": f.path, "contents": f.text})).collect::<Vec<_>>(),
                "commands": setup.enable.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "record": setup.record,
            }),
        });
    }

    let mut record = Record {
        manager: setup.manager.to_owned(),
        created_dirs: Vec::new(),
        files: Vec::new(),
        ran: Vec::new(),
        undo_before: setup.undo_before.clone(),
        undo_after: setup.undo_after.clone(),
    };
    let side_before: Vec<bool> = setup.side_dirs.iter().map(|d| d.exists()).collect();
    let done = carry_out(setup, &mut record);
    // Whatever the manager's commands made counts as ours to remove.
    for (dir, existed) in setup.side_dirs.iter().zip(side_before) {
        if !existed && dir.exists() {
            record.created_dirs.push(dir.clone());
        }
    }
    if let Err(why) = done.and_then(|()| save_record(&setup.record, &mut record)) {
        take_back(&record);
        return Err(format!(
            "could not enable autostart: {why}. {}. Nothing was left installed.",
            capitalized(setup.manager_hint)
        ));
    }
    for file in &record.files {
        lines.push(format!("wrote {}", file.path.display()));
    }
    for cmd in &record.ran {
        lines.push(format!("ran: {cmd}"));
    }
    lines.extend(setup.note.iter().map(|note| format!("note: {note}")));
    lines.push(format!(
        "autostart enabled with {}: wimsyd starts at login; `wimsyctl autostart disable` undoes this",
        setup.manager
    ));
    Ok(Outcome {
        lines,
        json: json!({
            "kind": "autostart", "action": "enable", "dry_run": false,
            "manager": setup.manager,
            "files": record.files.iter().map(|f| &f.path).collect::<Vec<_>>(),
            "commands": record.ran.iter().map(ToString::to_string).collect::<Vec<_>>(),
        }),
    })
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Make the directories, write the files, run the commands; each step is
/// in `record` as soon as it is done.
fn carry_out(setup: &Setup, record: &mut Record) -> Result<(), String> {
    let paths = setup.files.iter().map(|f| f.path.as_path());
    for path in paths.chain([setup.record.as_path()]) {
        for dir in missing_ancestors(path) {
            std::fs::create_dir(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            record.created_dirs.push(dir);
        }
    }
    for file in &setup.files {
        write_new(&file.path, &file.bytes())?;
        record.files.push(file.clone());
    }
    for cmd in &setup.enable {
        run(cmd)?;
        record.ran.push(cmd.clone());
    }
    Ok(())
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut file| file.write_all(bytes))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn save_record(path: &Path, record: &mut Record) -> Result<(), String> {
    let text = serde_json::to_string_pretty(record)
        .map_err(|e| format!("cannot write down what was done: {e}"))?;
    write_new(path, text.as_bytes())
}

/// Undo a failed `enable` as far as it got; failures here are not news
/// (the manager that refused to enable will refuse to disable too).
fn take_back(record: &Record) {
    if !record.ran.is_empty() {
        for cmd in &record.undo_before {
            let _ = run(cmd);
        }
    }
    for file in &record.files {
        let _ = std::fs::remove_file(&file.path);
    }
    if !record.ran.is_empty() {
        for cmd in &record.undo_after {
            let _ = run(cmd);
        }
    }
    remove_empty(&record.created_dirs);
}

/// Undo what `enable` recorded, or with `dry_run` say what that would do.
pub fn disable(setup: &Setup, dry_run: bool) -> Result<Outcome, String> {
    let Some(record) = read_record(&setup.record)? else {
        return Ok(Outcome {
            lines: vec![
                "autostart was not enabled by `wimsyctl autostart enable`: nothing to undo"
                    .to_owned(),
            ],
            json: json!({"kind": "autostart", "action": "disable", "enabled": false}),
        });
    };
    let mut lines = Vec::new();
    if dry_run {
        lines.push("dry run: nothing was changed. To disable autostart, wimsyctl would:".into());
        lines.extend(record.undo_before.iter().map(|cmd| format!("run: {cmd}")));
        for file in &record.files {
            lines.push(format!("remove {}", file.path.display()));
        }
        lines.extend(record.undo_after.iter().map(|cmd| format!("run: {cmd}")));
        lines.push(format!("remove {}", setup.record.display()));
        for dir in record.created_dirs.iter().rev() {
            lines.push(format!("remove {} if empty", dir.display()));
        }
        return Ok(Outcome {
            lines,
            json: json!({"kind": "autostart", "action": "disable", "dry_run": true,
                "commands": record.undo_before.iter().chain(&record.undo_after).map(ToString::to_string).collect::<Vec<_>>(),
                "files": record.files.iter().map(|f| &f.path).collect::<Vec<_>>()}),
        });
    }
    for cmd in &record.undo_before {
        run(cmd).map_err(|why| {
            format!(
                "could not disable autostart: {why}. {}. Nothing was removed; try again once it answers.",
                capitalized(setup.manager_hint)
            )
        })?;
        lines.push(format!("ran: {cmd}"));
    }
    for file in &record.files {
        match std::fs::read(&file.path) {
            Ok(bytes) if bytes == file.bytes() => match std::fs::remove_file(&file.path) {
                Ok(()) => lines.push(format!("removed {}", file.path.display())),
                Err(e) => lines.push(format!("could not remove {}: {e}", file.path.display())),
            },
            Ok(_) => lines.push(format!(
                "left {}: it was changed after wimsyctl wrote it",
                file.path.display()
            )),
            Err(_) => {}
        }
    }
    for cmd in &record.undo_after {
        match run(cmd) {
            Ok(()) => lines.push(format!("ran: {cmd}")),
            Err(why) => lines.push(format!("warning: {why}")),
        }
    }
    std::fs::remove_file(&setup.record)
        .map_err(|e| format!("cannot remove {}: {e}", setup.record.display()))?;
    lines.extend(remove_empty(&record.created_dirs));
    lines.push("autostart disabled: wimsyd no longer starts at login".to_owned());
    Ok(Outcome {
        lines,
        json: json!({"kind": "autostart", "action": "disable", "dry_run": false, "enabled": false}),
    })
}

/// The answer to `question`, in a word where the manager gives one.
fn ask(question: &Question) -> String {
    let cmd = &question.cmd;
    let out = match Command::new(&cmd.program).args(&cmd.args).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return format!("unknown (`{}` was not found)", cmd.program);
        }
        Err(e) => return format!("unknown (`{cmd}` could not be started: {e})"),
    };
    let first = |bytes: &[u8]| {
        let text = String::from_utf8_lossy(bytes);
        text.lines().next().unwrap_or_default().trim().to_owned()
    };
    if question.by_exit_status {
        return if out.status.success() { "yes" } else { "no" }.to_owned();
    }
    match (first(&out.stdout), first(&out.stderr)) {
        (answer, _) if !answer.is_empty() => answer,
        (_, why) if !why.is_empty() => format!("unknown ({why})"),
        _ if out.status.success() => "yes".to_owned(),
        _ => "no".to_owned(),
    }
}

/// What is installed and whether it is active.
pub fn status(setup: &Setup, dry_run: bool) -> Result<Outcome, String> {
    if dry_run {
        let mut lines = vec![format!(
            "dry run: `status` changes nothing; it reads {} and runs:",
            setup.record.display()
        )];
        for probe in &setup.probes {
            lines.extend(probe.questions.iter().map(|q| format!("run: {}", q.cmd)));
        }
        return Ok(Outcome {
            lines,
            json: json!({"kind": "autostart_status", "dry_run": true}),
        });
    }
    let record = read_record(&setup.record)?;
    let mut lines = Vec::new();
    let mut files = Vec::new();
    match &record {
        None => lines.push(format!(
            "autostart: not enabled by `wimsyctl autostart enable` ({} has no record of it)",
            setup.record.display()
        )),
        Some(record) => {
            lines.push(format!(
                "autostart: enabled by `wimsyctl autostart enable`, with {}",
                record.manager
            ));
            for file in &record.files {
                let state = match std::fs::read(&file.path) {
                    Ok(bytes) if bytes == file.bytes() => "installed",
                    Ok(_) => "changed since it was written",
                    Err(_) => "missing",
                };
                lines.push(format!("  {}: {state}", file.path.display()));
                files.push(json!({"path": file.path, "state": state}));
            }
        }
    }
    lines.extend(setup.note.iter().map(|note| format!("note: {note}")));
    let mut probes = Vec::new();
    for probe in &setup.probes {
        let answers: Vec<(&str, String)> =
            probe.questions.iter().map(|q| (q.label, ask(q))).collect();
        let words: Vec<String> = answers
            .iter()
            .map(|(label, answer)| format!("{label}: {answer}"))
            .collect();
        lines.push(format!("  {}: {}", probe.subject, words.join("; ")));
        let answers: serde_json::Map<String, serde_json::Value> = answers
            .into_iter()
            .map(|(label, answer)| (label.to_owned(), answer.into()))
            .collect();
        probes.push(json!({"subject": probe.subject, "answers": answers}));
    }
    Ok(Outcome {
        lines,
        json: json!({
            "kind": "autostart_status",
            "enabled": record.is_some(),
            "manager": setup.manager,
            "files": files,
            "probes": probes,
        }),
    })
}

#[cfg(test)]
#[path = "apply_tests.rs"]
mod tests;
