//! Running a command against wimsyd: connect, ask, print.

mod account;
mod follow;

use std::io::Write;
use std::path::Path;

use wimsy_ipc::{Client, Request, Role};

use crate::cli::{AutostartCommand, Cli, Plan};
use crate::failure::Failure;
use crate::login::Action;
use crate::render::{Clock, response};

/// Run the parsed command line. Output goes to stdout as it is produced;
/// a failure is returned for the caller to report.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    let path = wimsy_ipc::resolve_socket_path(cli.socket.as_deref());
    match cli.command.plan() {
        Plan::Follow { visible } => follow::run(&path, cli.json, visible).await,
        Plan::Autostart(command) => autostart(&command, &path, cli.json).await,
        Plan::Request(request) => {
            let mut client = connect(&path).await?;
            ask(&mut client, request, cli.json).await
        }
        Plan::Mute {
            account,
            peer,
            for_,
            until,
        } => {
            let until_ms = crate::mute::end_ms(for_, until.as_ref(), chrono::Local::now())
                .map_err(Failure::Usage)?;
            let mut client = connect(&path).await?;
            let request = Request::Mute {
                account,
                peer,
                until_ms,
            };
            ask(&mut client, request, cli.json).await
        }
        // Connect first, so that a missing daemon is told before the
        // password is asked for.
        Plan::AccountAdd(add) => {
            let mut client = connect(&path).await?;
            let request = account::add_request(&add)?;
            let wait = add.wait.deadline();
            account::request_and_wait(
                &mut client,
                request,
                Action::Added,
                &add.jid,
                wait,
                cli.json,
            )
            .await
        }
        Plan::AccountPassword(change) => {
            let mut client = connect(&path).await?;
            let request = account::password_request(&change)?;
            let wait = change.wait.deadline();
            let action = Action::NewPassword;
            account::request_and_wait(&mut client, request, action, &change.jid, wait, cli.json)
                .await
        }
    }
}

/// `wimsyctl autostart ...`, for the platform wimsyctl was built for.
async fn autostart(command: &AutostartCommand, socket: &Path, json: bool) -> Result<(), Failure> {
    use crate::autostart as a;
    let outcome = match command {
        AutostartCommand::Enable { dry_run, wimsyd } => {
            // A wimsyd already running holds the lock (and, on Linux, the
            // socket path systemd would take over): the one autostart
            // starts would fail, and be restarted, over and over.
            let running = connect(socket).await.is_ok().then_some(socket);
            a::find_wimsyd(wimsyd.as_deref())
                .and_then(|wimsyd| a::this_platform(&wimsyd))
                .and_then(|setup| a::enable(&setup, *dry_run, running))
        }
        // `disable` and `status` name no wimsyd: what was recorded counts.
        AutostartCommand::Disable { dry_run } => {
            a::this_platform(Path::new("wimsyd")).and_then(|setup| a::disable(&setup, *dry_run))
        }
        AutostartCommand::Status { dry_run } => {
            a::this_platform(Path::new("wimsyd")).and_then(|setup| a::status(&setup, *dry_run))
        }
    }
    .map_err(Failure::Autostart)?;
    if json {
        emit(&outcome.json.to_string())
    } else {
        emit(&outcome.lines.join("\n"))
    }
}

/// The name this client gives in its hello.
pub fn client_name() -> String {
    format!("wimsyctl {}", env!("CARGO_PKG_VERSION"))
}

async fn connect(path: &Path) -> Result<Client, Failure> {
    Ok(Client::connect(path, Role::Cli, &client_name()).await?)
}

async fn ask(client: &mut Client, request: Request, json: bool) -> Result<(), Failure> {
    let answer = client.request(request.clone()).await?;
    let text = if json {
        response::json(&answer)
    } else {
        response::human(&request, &answer, Clock::Local)
    };
    emit(&text)
}

/// Print `text` and a newline on stdout, flushed at once (scripts and tests
/// read it through a pipe).
pub fn emit(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|source| Failure::Local {
            what: "writing to stdout",
            source,
        })
}
