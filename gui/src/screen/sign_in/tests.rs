//! The sign-in screen driven like a person would: typing, clicking, and
//! the account's statuses arriving from the daemon.

use wimsy_ipc::{
    ConnectionError, ConnectionState, ConnectionStatus, ErrorCode, Request, Response, Secret,
};

use super::{Event, Message, Purpose, State, ids};
use crate::link::RequestError;
use crate::screen::testing::{
    SMALL, click, fits_small, interact, interact_small, shows, state_with, type_into,
};

const A: &str = "alice@example.org";
const FP: &str = "SHA256:00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F";

/// Apply the messages, returning the events the screen asked for.
fn feed(screen: &mut State, messages: Vec<Message>) -> Vec<Event> {
    messages
        .into_iter()
        .filter_map(|m| screen.update(m).1)
        .collect()
}

fn one_request(events: Vec<Event>) -> Request {
    match events.as_slice() {
        [Event::Request { request, .. }] => request.clone(),
        other => panic!("expected one request, got {other:?}"),
    }
}

fn error(kind: ConnectionError, reason: &str) -> ConnectionStatus {
    ConnectionStatus {
        error: Some(kind),
        ..ConnectionStatus::new(ConnectionState::Error, reason)
    }
}

/// A screen that sent `account_add` for alice.
fn sent_sign_in() -> State {
    let mut screen = State::new(Purpose::FirstAccount);
    let messages = interact(screen.view(), |ui| {
        type_into(ui, ids::JID, A);
        type_into(ui, ids::PASSWORD, "secret");
        click(ui, "Sign in");
    });
    let _ = one_request(feed(&mut screen, messages));
    screen
}

/// The same, answered `done`.
fn signing_in() -> State {
    let mut screen = sent_sign_in();
    let _ = screen.update(Message::Added(Ok(Response::Done)));
    screen
}

#[test]
fn typing_and_clicking_sign_in_sends_account_add() {
    let mut screen = State::new(Purpose::FirstAccount);
    let messages = interact(screen.view(), |ui| {
        type_into(ui, ids::JID, A);
        type_into(ui, ids::PASSWORD, "secret");
        type_into(ui, ids::SERVER, "127.0.0.1");
        type_into(ui, ids::PORT, "15222");
        click(ui, "Sign in");
    });
    assert_eq!(
        one_request(feed(&mut screen, messages)),
        Request::AccountAdd {
            jid: A.to_owned(),
            password: Secret::new("secret"),
            server: Some("127.0.0.1:15222".to_owned()),
            ca_file: None,
        }
    );
    assert!(shows(screen.view(), "Signing in as alice@example.org…"));
}

#[test]
fn a_bad_address_is_explained_and_nothing_is_sent() {
    let mut screen = State::new(Purpose::FirstAccount);
    let messages = interact(screen.view(), |ui| {
        type_into(ui, ids::JID, "alice");
        type_into(ui, ids::PASSWORD, "secret");
        click(ui, "Sign in");
    });
    assert!(feed(&mut screen, messages).is_empty());
    assert!(shows(
        screen.view(),
        "“alice” has no “@”: an address looks like alice@example.org."
    ));
}

#[test]
fn a_refused_account_add_returns_to_the_form_with_the_reason() {
    let mut screen = sent_sign_in();
    let _ = screen.update(Message::Added(Err(RequestError {
        code: Some(ErrorCode::AccountExists),
        message: "alice@example.org is already configured; remove it first to change it".to_owned(),
    })));
    let view = screen.view();
    let mut ui = iced_test::simulator(view);
    assert!(
        ui.find("Alice@example.org is already configured; remove it first to change it.")
            .is_ok()
    );
    assert!(ui.find(A).is_ok(), "the address typed is still there");
}

#[test]
fn a_wrong_password_is_said_in_words_and_can_be_retyped() {
    let mut screen = signing_in();
    let refused = state_with(&[(
        A,
        error(
            ConnectionError::Authentication,
            "authentication failed: the server refused the user name or password",
        ),
    )]);
    screen.observe(&refused);
    assert!(shows(
        screen.view(),
        "The server did not accept this password"
    ));
    let messages = interact(screen.view(), |ui| {
        type_into(ui, ids::PASSWORD, "right one");
        click(ui, "Try this password");
    });
    assert_eq!(
        one_request(feed(&mut screen, messages)),
        Request::AccountPassword {
            jid: A.to_owned(),
            password: Secret::new("right one"),
        }
    );
    // Until the daemon restarts the login, the old refusal is not shown as
    // the answer to the new password.
    screen.observe(&refused);
    assert!(shows(screen.view(), "Signing in as alice@example.org…"));
}

#[test]
fn an_untrusted_certificate_shows_its_fingerprint_and_a_trust_button() {
    let mut screen = signing_in();
    let mut status = error(
        ConnectionError::Certificate,
        "the server's certificate is not trusted: it is self-signed",
    );
    status.fingerprint = Some(FP.to_owned());
    screen.observe(&state_with(&[(A, status)]));
    {
        let mut ui = iced_test::simulator(screen.view());
        for text in [
            "The server's certificate is not trusted",
            "00:01:02:03:04:05:06:07",
            "18:19:1A:1B:1C:1D:1E:1F",
            "Trust this certificate",
        ] {
            assert!(ui.find(text).is_ok(), "{text:?} is not shown");
        }
    }
    let messages = interact(screen.view(), |ui| click(ui, "Trust this certificate"));
    assert_eq!(
        one_request(feed(&mut screen, messages)),
        Request::AccountTrust {
            jid: A.to_owned(),
            fingerprint: FP.to_owned(),
        }
    );
    // A second click while the first is on its way sends nothing.
    let again = interact(screen.view(), |ui| {
        let _ = ui.click("Trust this certificate");
    });
    assert!(feed(&mut screen, again).is_empty());
}

#[test]
fn an_account_in_error_opens_straight_at_its_fix() {
    let mut screen = State::fix(A);
    let mut status = error(ConnectionError::Certificate, "not trusted");
    status.fingerprint = Some(FP.to_owned());
    screen.observe(&state_with(&[(A, status)]));
    let messages = interact(screen.view(), |ui| click(ui, "Trust this certificate"));
    assert!(matches!(
        one_request(feed(&mut screen, messages)),
        Request::AccountTrust { .. }
    ));
    // Refused: what was shown before comes back, with the reason.
    let _ = screen.update(Message::Trusted(Err(RequestError {
        code: Some(ErrorCode::InvalidArgument),
        message: "the fingerprint does not match the certificate the server offers now".to_owned(),
    })));
    let mut ui = iced_test::simulator(screen.view());
    assert!(ui.find("Trust this certificate").is_ok());
    assert!(
        ui.find("The fingerprint does not match the certificate the server offers now.")
            .is_ok()
    );
}

#[test]
fn connected_says_so_and_continue_leaves_the_screen() {
    let mut screen = signing_in();
    screen.observe(&state_with(&[(
        A,
        ConnectionStatus::new(
            ConnectionState::Connected,
            "connected as alice@example.org/wimsy",
        ),
    )]));
    assert!(shows(screen.view(), "You are signed in"));
    let messages = interact(screen.view(), |ui| click(ui, "Continue"));
    match feed(&mut screen, messages).as_slice() {
        [Event::SignedIn { account }] => assert_eq!(account, A),
        other => panic!("{other:?}"),
    }
}

#[test]
fn start_over_removes_the_account_and_keeps_the_address() {
    let mut screen = signing_in();
    screen.observe(&state_with(&[(
        A,
        error(
            ConnectionError::Network,
            "could not find the server example.org",
        ),
    )]));
    assert!(shows(screen.view(), "The server cannot be reached"));
    let messages = interact(screen.view(), |ui| {
        click(ui, "Remove this account and start over");
    });
    assert_eq!(
        one_request(feed(&mut screen, messages)),
        Request::AccountRemove { jid: A.to_owned() }
    );
    let _ = screen.update(Message::RemovedForRetry(Ok(Response::Done)));
    let mut ui = iced_test::simulator(screen.view());
    assert!(ui.find("Sign in").is_ok() && ui.find(A).is_ok());
}

#[test]
fn the_form_and_the_certificate_fit_a_small_window_at_double_scale() {
    let mut screen = State::new(Purpose::AnotherAccount);
    let messages = interact_small(screen.view(), |ui| {
        type_into(ui, ids::JID, A);
        type_into(ui, ids::PASSWORD, "pw");
        click(ui, "Sign in");
    });
    assert_eq!(feed(&mut screen, messages).len(), 1);
    let mut status = error(ConnectionError::Certificate, "not trusted");
    status.fingerprint = Some(FP.to_owned());
    screen.observe(&state_with(&[(A, status)]));
    fits_small(
        screen.view(),
        &[
            "00:01:02:03:04:05:06:07",
            "18:19:1A:1B:1C:1D:1E:1F",
            "Trust this certificate",
            "Remove this account and start over",
        ],
    );
}

/// `cargo test -p wimsy-gui screenshots -- --ignored` draws the screen's
/// states into target/screens/ to look at.
#[test]
#[ignore = "writes pictures for a person to look at"]
fn screenshots() {
    use crate::screen::testing::save_png;
    let screen = State::new(Purpose::FirstAccount);
    save_png(screen.view(), (640.0, 400.0), "sign-in-form");
    let mut screen = signing_in();
    let mut status = error(
        ConnectionError::Certificate,
        "the server's certificate is not trusted: it is self-signed",
    );
    status.fingerprint = Some(FP.to_owned());
    screen.observe(&state_with(&[(A, status)]));
    save_png(screen.view(), (640.0, 400.0), "sign-in-certificate");
    save_png(screen.view(), SMALL, "sign-in-certificate-small");
    let mut screen = signing_in();
    screen.observe(&state_with(&[(
        A,
        error(
            ConnectionError::Authentication,
            "authentication failed: the server refused the user name or password",
        ),
    )]));
    save_png(screen.view(), (640.0, 400.0), "sign-in-password");
}
