//! `wimsyctl follow`: subscribe, print the snapshot, then every event until
//! Ctrl-C or until wimsyd closes the connection.

use std::path::Path;

use wimsy_ipc::{Applied, Client, ClientError, ErrorCode, FrontendState};

use super::{connect, emit};
use crate::failure::Failure;
use crate::render::follow::{human_event, human_snapshot, json_event_line, json_snapshot_line};

const CLOSED: &str = "wimsyd closed the connection";

/// Follow until stopped. Ctrl-C and a clean close by the daemon are
/// success; a broken connection or an error frame is a failure.
pub async fn run(path: &Path, json: bool, visible: bool) -> Result<(), Failure> {
    let (mut client, mut state) = subscribe(path, json, visible).await?;

    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut ctrl_c_armed = true;

    loop {
        let next = tokio::select! {
            result = &mut ctrl_c, if ctrl_c_armed => {
                match result {
                    Ok(()) => return Ok(()),
                    Err(e) => {
                        eprintln!("wimsyctl: cannot catch Ctrl-C ({e}); stop with a signal instead");
                        ctrl_c_armed = false;
                        continue;
                    }
                }
            }
            next = client.next_event() => next,
        };
        match next {
            Ok(Some((seq, event))) => {
                // Described against the state before the event, printed
                // only once the reducer has taken it.
                let line = if json {
                    json_event_line(seq, &event)
                } else {
                    human_event(&state, &event)
                };
                match state.apply(seq, &event) {
                    // Printed too (as `{"kind":"unknown"}` with --json), so
                    // the numbers a script sees have no hole.
                    Applied::Applied | Applied::Ignored => emit(&line)?,
                    Applied::Stale => {}
                    Applied::Gap { expected, got } => {
                        eprintln!(
                            "wimsyctl: missed events {expected} to {}; subscribing again",
                            got - 1
                        );
                        (client, state) = subscribe(path, json, visible).await?;
                    }
                }
            }
            Ok(None) => return closed(json, None),
            Err(ClientError::Remote(body)) if body.code == ErrorCode::Lagged => {
                eprintln!("wimsyctl: {}; subscribing again", body.message);
                (client, state) = subscribe(path, json, visible).await?;
            }
            Err(ClientError::Remote(body)) if body.code == ErrorCode::ShuttingDown => {
                return closed(json, Some(&body.message));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Connect, subscribe and print the snapshot.
async fn subscribe(
    path: &Path,
    json: bool,
    visible: bool,
) -> Result<(Client, FrontendState), Failure> {
    let mut client = connect(path).await?;
    if visible {
        client
            .request(wimsy_ipc::Request::SetVisibility { visible: true })
            .await?;
    }
    let snapshot = client.subscribe().await?;
    emit(&if json {
        json_snapshot_line(&snapshot)
    } else {
        human_snapshot(client.daemon_version(), &snapshot)
    })?;
    Ok((client, FrontendState::from_snapshot(snapshot)))
}

/// The daemon went away cleanly. With `--json` stdout carries only JSON
/// lines, so the notice goes to stderr.
fn closed(json: bool, why: Option<&str>) -> Result<(), Failure> {
    let text = match why {
        Some(why) => format!("{CLOSED}: {why}"),
        None => CLOSED.to_owned(),
    };
    if json {
        eprintln!("wimsyctl: {text}");
        Ok(())
    } else {
        emit(&text)
    }
}
