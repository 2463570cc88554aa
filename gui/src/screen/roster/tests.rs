//! The roster screen driven like a person would, on a state built from the
//! daemon's events.

use wimsy_ipc::{
    ConnectionState, ConnectionStatus, Contact, ErrorCode, Event as Wire, FrontendState,
    PresenceView, Request, Response,
};

use super::{Event, Message, State, ids};
use crate::link::RequestError;
use crate::screen::testing::{apply, click, fits_small, interact, shows, state_with, type_into};

const A: &str = "alice@example.org";
const BOB: &str = "bob@example.org";
const CAROL: &str = "carol@example.org";

fn contact(jid: &str, name: Option<&str>, subscription: &str, show: Option<&str>) -> Contact {
    Contact {
        jid: jid.to_owned(),
        name: name.map(str::to_owned),
        subscription: subscription.to_owned(),
        groups: Vec::new(),
        presence: PresenceView {
            available: show.is_some(),
            show: show.filter(|s| !s.is_empty()).map(str::to_owned),
            status: None,
        },
    }
}

/// Alice, connected, with Bob (away, both ways) and a request from Carol.
fn daemon_state() -> FrontendState {
    let mut state = state_with(&[(A, ConnectionStatus::new(ConnectionState::Connected, ""))]);
    apply(
        &mut state,
        Wire::Contact {
            account: A.to_owned(),
            contact: contact(BOB, Some("Bob"), "both", Some("away")),
        },
    );
    apply(
        &mut state,
        Wire::SubscriptionRequest {
            account: A.to_owned(),
            jid: CAROL.to_owned(),
        },
    );
    state
}

fn screen(state: &FrontendState) -> State {
    let mut screen = State::default();
    screen.observe(state);
    screen
}

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

#[test]
fn contacts_and_requests_read_in_words() {
    let state = daemon_state();
    let screen = screen(&state);
    let mut ui = iced_test::simulator(screen.view(&state));
    for words in [
        "Bob",
        BOB,
        "Away",
        "You see each other's status",
        "Asking to see your status",
        CAROL,
    ] {
        assert!(ui.find(words).is_ok(), "{words:?} is not shown");
    }
    for token in ["away", "both", "dnd"] {
        assert!(ui.find(token).is_err(), "the wire token {token:?} is shown");
    }
}

#[test]
fn accepting_a_subscription_request_answers_it() {
    let state = daemon_state();
    let mut screen = screen(&state);
    let messages = interact(screen.view(&state), |ui| click(ui, "Accept"));
    assert_eq!(
        one_request(feed(&mut screen, messages)),
        Request::SubscriptionAnswer {
            account: Some(A.to_owned()),
            jid: CAROL.to_owned(),
            accept: true,
        }
    );
    let _ = screen.update(Message::Answered(Ok(Response::Done)));
    assert!(shows(
        screen.view(&state),
        "carol@example.org can see your status now."
    ));
}

#[test]
fn denying_sends_accept_false() {
    let state = daemon_state();
    let mut screen = screen(&state);
    let messages = interact(screen.view(&state), |ui| click(ui, "Deny"));
    assert_eq!(
        one_request(feed(&mut screen, messages)),
        Request::SubscriptionAnswer {
            account: Some(A.to_owned()),
            jid: CAROL.to_owned(),
            accept: false,
        }
    );
}

#[test]
fn renaming_a_contact_sends_the_new_name() {
    let state = daemon_state();
    let mut screen = screen(&state);
    let messages = interact(screen.view(&state), |ui| click(ui, "Rename"));
    let _ = feed(&mut screen, messages);
    // The field starts with the name now, all selected (a task the
    // simulator does not run), so typing replaces it.
    let messages = interact(screen.view(&state), |ui| {
        assert!(ui.find("Bob").is_ok(), "the field holds the name now");
    });
    assert!(messages.is_empty());
    let _ = screen.update(Message::RenameChanged("Bobby".to_owned()));
    let messages = interact(screen.view(&state), |ui| click(ui, "Save"));
    assert_eq!(
        one_request(feed(&mut screen, messages)),
        Request::RosterRename {
            account: Some(A.to_owned()),
            jid: BOB.to_owned(),
            name: "Bobby".to_owned(),
        }
    );
    let _ = screen.update(Message::Answered(Ok(Response::Done)));
    assert!(shows(screen.view(&state), "Rename"), "back to the list");
}

#[test]
fn removing_asks_first_and_then_sends_roster_remove() {
    let state = daemon_state();
    let mut screen = screen(&state);
    let messages = interact(screen.view(&state), |ui| click(ui, "Remove"));
    assert!(feed(&mut screen, messages).is_empty(), "nothing sent yet");
    assert!(shows(
        screen.view(&state),
        "Remove Bob from your contacts? You stop seeing each other's status. Your chat \
         history stays."
    ));
    let kept = interact(screen.view(&state), |ui| click(ui, "Keep"));
    assert!(feed(&mut screen, kept).is_empty());
    let messages = interact(screen.view(&state), |ui| click(ui, "Remove"));
    let _ = feed(&mut screen, messages);
    let messages = interact(screen.view(&state), |ui| click(ui, "Remove"));
    assert_eq!(
        one_request(feed(&mut screen, messages)),
        Request::RosterRemove {
            account: Some(A.to_owned()),
            jid: BOB.to_owned(),
        }
    );
}

#[test]
fn adding_a_contact_checks_the_address_then_sends_roster_add() {
    let state = daemon_state();
    let mut screen = screen(&state);
    let messages = interact(screen.view(&state), |ui| {
        type_into(ui, ids::ADD_JID, "dave");
        click(ui, "Add contact");
    });
    assert!(feed(&mut screen, messages).is_empty());
    assert!(shows(
        screen.view(&state),
        "“dave” has no “@”: an address looks like alice@example.org."
    ));
    let mut screen = self::screen(&state);
    let messages = interact(screen.view(&state), |ui| {
        type_into(ui, ids::ADD_JID, "dave@example.org");
        type_into(ui, ids::ADD_NAME, "Dave");
        click(ui, "Add contact");
    });
    assert_eq!(
        one_request(feed(&mut screen, messages)),
        Request::RosterAdd {
            account: Some(A.to_owned()),
            jid: "dave@example.org".to_owned(),
            name: Some("Dave".to_owned()),
        }
    );
    let _ = screen.update(Message::Answered(Err(RequestError {
        code: Some(ErrorCode::InvalidArgument),
        message: "the server refused to add dave@example.org: not allowed".to_owned(),
    })));
    assert!(shows(
        screen.view(&state),
        "The server refused to add dave@example.org: not allowed."
    ));
}

#[test]
fn one_request_at_a_time() {
    let state = daemon_state();
    let mut screen = screen(&state);
    let first = screen.update(Message::Accept(CAROL.to_owned())).1;
    assert!(first.is_some());
    assert!(screen.update(Message::Deny(CAROL.to_owned())).1.is_none());
}

#[test]
fn the_chat_button_opens_the_chat() {
    let state = daemon_state();
    let mut screen = screen(&state);
    let messages = interact(screen.view(&state), |ui| click(ui, "Chat"));
    match feed(&mut screen, messages).as_slice() {
        [Event::OpenChat { account, peer }] => assert_eq!((&**account, &**peer), (A, BOB)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn everything_fits_a_small_window_at_double_scale() {
    let state = daemon_state();
    let mut screen = screen(&state);
    fits_small(
        screen.view(&state),
        &[
            CAROL,
            "Accept",
            "Deny",
            "Add contact",
            "Chat",
            "Rename",
            "Remove",
        ],
    );
    let _ = screen.update(Message::Remove(BOB.to_owned()));
    fits_small(screen.view(&state), &["Remove", "Keep"]);
}

/// `cargo test -p wimsy-gui screenshots -- --ignored` draws the screen
/// into target/screens/ to look at.
#[test]
#[ignore = "writes pictures for a person to look at"]
fn screenshots() {
    use crate::screen::testing::{SMALL, save_png};
    let mut state = daemon_state();
    apply(
        &mut state,
        Wire::Contact {
            account: A.to_owned(),
            contact: contact("dave@example.org", None, "to", Some("dnd")),
        },
    );
    let screen = screen(&state);
    save_png(screen.view(&state), (640.0, 600.0), "roster");
    save_png(screen.view(&state), SMALL, "roster-small");
}
