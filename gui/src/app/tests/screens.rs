//! The screens beside the chats, reached the way a person reaches them:
//! the sign-in form when there is no account, the menu's Contacts and
//! Settings, an account's presence and its contact requests.

use wimsy_ipc::{Secret, Show};

use super::*;
use crate::screen::sign_in;

fn no_accounts(seq: u64) -> Snapshot {
    Snapshot {
        accounts: Vec::new(),
        ..snapshot(seq)
    }
}

fn type_and(app: &mut App, fields: &[(&'static str, &str)], then: &str) {
    let messages: Vec<Message> = {
        let mut ui = simulator(app.view());
        for (id, text) in fields {
            ui.click(selector::id(*id)).unwrap();
            let _ = ui.typewrite(text);
        }
        ui.click(then).unwrap();
        ui.into_messages().collect()
    };
    for message in messages {
        let _ = app.update(message);
    }
}

#[test]
fn with_no_account_the_window_is_the_sign_in_form_and_it_adds_one() {
    let mut app = app();
    let (requester, mut asked) = testing::requester(1);
    let _ = app.update(Message::Link(LinkEvent::Attached {
        requester,
        daemon: "wimsyd test".to_owned(),
        snapshot: no_accounts(1),
    }));
    assert!(finds(&app, "Sign in to Wimsy"));
    // Nothing to go back to: no "Back to chats".
    assert!(!finds(&app, "Back to chats"));
    type_and(
        &mut app,
        &[
            (sign_in::ids::JID, "alice@example.org"),
            (sign_in::ids::PASSWORD, "secret"),
        ],
        "Sign in",
    );
    let asks = requests(&mut asked);
    let added: Vec<_> = asks
        .iter()
        .filter_map(|r| match r {
            Request::AccountAdd { jid, password, .. } => Some((jid.clone(), password.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        added,
        [(
            "alice@example.org".to_owned(),
            Secret::new("secret".to_owned())
        )],
        "{asks:?}"
    );
}

#[test]
fn the_menu_leads_to_contacts_and_settings_and_back() {
    let mut app = app();
    let _asked = attach(&mut app, 1, 1);
    click(&mut app, "Menu");
    click(&mut app, "Contacts");
    assert!(finds(&app, "Add a contact"), "the contacts page is shown");
    click(&mut app, "Back to chats");
    assert!(!finds(&app, "Add a contact"));
    assert!(finds(&app, BOB), "the chat list is still there");
    click(&mut app, "Menu");
    click(&mut app, "Settings");
    assert!(finds(&app, "Settings"));
    click(&mut app, "Back to chats");
    click(&mut app, "Menu");
    click(&mut app, "Add an account…");
    assert!(
        finds(&app, "Back to chats"),
        "another account can be cancelled"
    );
}

#[test]
fn an_accounts_presence_opens_the_picker_and_sets_it() {
    let mut app = app();
    let mut asked = attach(&mut app, 1, 1);
    click(&mut app, "Available");
    assert!(finds(&app, "Your status"));
    let messages: Vec<Message> = {
        let mut ui = simulator(app.view());
        ui.click(selector::id("presence-away")).unwrap();
        ui.into_messages().collect()
    };
    for message in messages {
        let _ = app.update(message);
    }
    type_and(
        &mut app,
        &[(crate::screen::presence::ids::STATUS, "at lunch")],
        "Set status",
    );
    let asks = requests(&mut asked);
    assert!(
        asks.iter().any(|r| matches!(
            r,
            Request::SetPresence { account: Some(a), show: Show::Away, status: Some(s) }
                if a == ME && s == "at lunch"
        )),
        "{asks:?}"
    );
}

#[test]
fn a_contact_request_shows_on_the_account_and_accept_answers_it() {
    let mut app = app();
    let mut asked = attach(&mut app, 1, 1);
    let _ = app.update(Message::Link(LinkEvent::Event {
        seq: 2,
        event: Event::SubscriptionRequest {
            account: ME.to_owned(),
            jid: "carol@example.org".to_owned(),
        },
    }));
    click(&mut app, "1 contact request");
    assert!(finds(&app, "carol@example.org"));
    click(&mut app, "Accept");
    let asks = requests(&mut asked);
    assert!(
        asks.iter().any(|r| matches!(
            r,
            Request::SubscriptionAnswer { jid, accept: true, .. } if jid == "carol@example.org"
        )),
        "{asks:?}"
    );
}
