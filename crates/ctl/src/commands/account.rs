//! `account add` and `account password`: what they need before they can
//! ask (a password, an absolute CA file path), and the wait for the login
//! they start.

use std::io::BufRead;
use std::path::Path;
use std::time::Duration;

use wimsy_ipc::{Client, ClientError, Request, Secret};

use super::{ask, emit};
use crate::cli::{AccountAdd, AccountPassword};
use crate::failure::Failure;
use crate::login::{Action, Outcome, Watch, success_text};

/// The `account_add` request, with the password read from stdin or the
/// terminal.
pub fn add_request(add: &AccountAdd) -> Result<Request, Failure> {
    let ca_file = add.ca_file.as_deref().map(absolute_ca_file).transpose()?;
    let password = read_password(add.password_stdin, &format!("password for {}: ", add.jid))?;
    Ok(Request::AccountAdd {
        jid: add.jid.clone(),
        password,
        server: add.server.clone(),
        ca_file,
    })
}

/// The `account_password` request, with the new password read from stdin
/// or the terminal.
pub fn password_request(change: &AccountPassword) -> Result<Request, Failure> {
    let password = read_password(
        change.password_stdin,
        &format!("new password for {}: ", change.jid),
    )?;
    Ok(Request::AccountPassword {
        jid: change.jid.clone(),
        password,
    })
}

fn read_password(from_stdin: bool, prompt: &str) -> Result<Secret, Failure> {
    if from_stdin {
        password_from(std::io::stdin().lock())
    } else {
        password_from_terminal(prompt)
    }
}

/// Send `request`, which starts `jid`'s login, and with a deadline wait
/// for its outcome: connected is success, anything else a [`Failure`]
/// that says what happened and what to do.
///
/// The outcome is read from events: subscribed before the request, every
/// event about `jid` after the answer is about the login the request
/// started (wimsyd publishes a session's events only after answering the
/// request that started it). Any v1 wimsyd works this way.
pub async fn request_and_wait(
    client: &mut Client,
    request: Request,
    action: Action,
    jid: &str,
    wait: Option<Duration>,
    json: bool,
) -> Result<(), Failure> {
    let Some(wait) = wait else {
        return ask(client, request, json).await;
    };
    client.subscribe().await?;
    client.request(request).await?;
    // Published before the answer: the state before the request took
    // effect, or its own first "connecting".
    client.take_queued_events();
    let mut watch = Watch::new(jid);
    let outcome = match tokio::time::timeout(wait, outcome(client, &mut watch)).await {
        Ok(outcome) => outcome?,
        Err(_) => watch.timed_out(wait),
    };
    match outcome {
        Outcome::Connected(status) => emit(&if json {
            serde_json::json!({ "account": jid, "status": status }).to_string()
        } else {
            success_text(action, jid, &status)
        }),
        outcome => Err(Failure::Login {
            action,
            jid: jid.to_owned(),
            outcome: Box::new(outcome),
        }),
    }
}

async fn outcome(client: &mut Client, watch: &mut Watch) -> Result<Outcome, ClientError> {
    loop {
        match client.next_event().await? {
            Some((_, event)) => {
                if let Some(outcome) = watch.see(&event) {
                    return Ok(outcome);
                }
            }
            None => return Err(ClientError::Closed),
        }
    }
}

/// The first line of `input`, without its line ending.
pub fn password_from(mut input: impl BufRead) -> Result<Secret, Failure> {
    let mut line = String::new();
    input
        .read_line(&mut line)
        .map_err(|e| Failure::Usage(format!("reading the password from stdin failed: {e}")))?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        return Err(Failure::Usage(
            "no password on stdin: --password-stdin reads it from the first line".into(),
        ));
    }
    Ok(Secret::new(password))
}

/// Asked on the terminal without echo (rpassword opens the terminal
/// itself, so this works with stdin redirected too).
fn password_from_terminal(prompt: &str) -> Result<Secret, Failure> {
    let password = rpassword::prompt_password(prompt).map_err(|e| {
        Failure::Usage(format!(
            "cannot read the password from the terminal ({e}); give it on stdin with --password-stdin"
        ))
    })?;
    if password.is_empty() {
        return Err(Failure::Usage("the password is empty".into()));
    }
    Ok(Secret::new(password))
}

/// The CA file as an absolute path, since wimsyd runs in another directory.
pub fn absolute_ca_file(path: &Path) -> Result<String, Failure> {
    let unusable =
        |why: String| Failure::Usage(format!("cannot use --ca-file {}: {why}", path.display()));
    let absolute = std::path::absolute(path).map_err(|e| unusable(e.to_string()))?;
    let metadata = std::fs::metadata(&absolute).map_err(|e| unusable(e.to_string()))?;
    if !metadata.is_file() {
        return Err(unusable("not a file".into()));
    }
    absolute
        .into_os_string()
        .into_string()
        .map_err(|_| unusable("the path is not valid UTF-8".into()))
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    #[test]
    fn password_is_the_first_line_without_its_ending() {
        let read = |input: &str| password_from(Cursor::new(input.as_bytes().to_vec()));
        assert_eq!(read("hunter2\n").unwrap().expose(), "hunter2");
        assert_eq!(
            read("hunter2\r\nsecond line\n").unwrap().expose(),
            "hunter2"
        );
        assert_eq!(read("no newline").unwrap().expose(), "no newline");
        assert_eq!(read(" spaces kept \n").unwrap().expose(), " spaces kept ");
        for empty in ["", "\n", "\r\n"] {
            let err = read(empty).unwrap_err();
            assert_eq!(err.exit_code(), 2);
            assert!(
                err.message().contains("no password on stdin"),
                "{}",
                err.message()
            );
        }
    }

    #[test]
    fn ca_file_becomes_absolute() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        let file = dir.join("ca.pem");
        std::fs::write(&file, "pem").unwrap();
        let resolved = absolute_ca_file(&file).unwrap();
        assert!(Path::new(&resolved).is_absolute());
        assert_eq!(Path::new(&resolved), file);

        // A relative path is resolved against the current directory.
        let cwd = std::env::current_dir().unwrap();
        let relative = Path::new("Cargo.toml");
        assert_eq!(
            Path::new(&absolute_ca_file(relative).unwrap()),
            cwd.join("Cargo.toml")
        );

        let missing = absolute_ca_file(&dir.join("missing.pem")).unwrap_err();
        assert_eq!(missing.exit_code(), 2);
        assert!(
            missing.message().contains("missing.pem"),
            "{}",
            missing.message()
        );
        let directory = absolute_ca_file(dir).unwrap_err();
        assert!(
            directory.message().contains("not a file"),
            "{}",
            directory.message()
        );
    }
}
