//! What the user asks of the core besides accounts and messages: settings,
//! the window's view, retrying a failed message. Against a real store file
//! and settings file, with a detached session standing in for the network.

#![allow(clippy::unwrap_used)]

use wimsy_ipc::{
    ChatRef, ErrorCode, Event, Request, Response, Role, ServerFrame, SettingValue, decode_frame,
};
use wimsy_session::{Command, DeliveryStage};
use wimsy_store::Delivery;

use super::sessions::tests::{Fixture, JULIET, ME, fixture, outgoing, stage};
use super::view::View;
use crate::ipc_server::ClientHandle;
use crate::settings::KEEP_CONNECTED;

impl Fixture {
    /// The subscribed frontend (client 1) asks; its answer and the events
    /// the request caused, in order.
    async fn ask(&mut self, request: Request) -> Vec<ServerFrame> {
        let client = self.core.subscribers[&1].clone();
        self.ask_as(&client, request).await
    }

    async fn ask_as(&mut self, client: &ClientHandle, request: Request) -> Vec<ServerFrame> {
        assert!(!self.core.handle_request(client, 7, request).await);
        self.frames()
    }

    fn frames(&mut self) -> Vec<ServerFrame> {
        let mut frames = Vec::new();
        while let Ok(out) = self.frames.try_recv() {
            let bytes = out.bytes();
            frames.push(decode_frame(&bytes[..bytes.len() - 1]).unwrap());
        }
        frames
    }

    /// The CSI states the session was told since the last call.
    fn activity(&mut self) -> Vec<bool> {
        let mut told = Vec::new();
        while let Ok(command) = self.commands.try_recv() {
            if let Command::SetActive(active) = command {
                told.push(active);
            }
        }
        told
    }
}

fn answer(frames: &[ServerFrame]) -> Result<Response, (ErrorCode, String)> {
    frames
        .iter()
        .find_map(|f| match f {
            ServerFrame::Response { result, .. } => Some(Ok(result.clone())),
            ServerFrame::Error { error, .. } => Some(Err((error.code, error.message.clone()))),
            ServerFrame::Event { .. } | ServerFrame::Unknown => None,
        })
        .unwrap()
}

fn events(frames: &[ServerFrame]) -> Vec<Event> {
    frames
        .iter()
        .filter_map(|f| match f {
            ServerFrame::Event { event, .. } => Some(event.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_setting_change_is_answered_stored_and_told_to_subscribers_once() {
    let mut f = fixture();
    let set = |value: &str| Request::SettingsSet {
        key: KEEP_CONNECTED.into(),
        value: SettingValue::Text(value.into()),
    };
    let frames = f.ask(set("off")).await;
    let Ok(Response::Settings { settings }) = answer(&frames) else {
        panic!("{frames:?}")
    };
    assert_eq!(settings.len(), 1);
    assert_eq!(settings[0].value, SettingValue::Bool(false));
    assert_eq!(
        events(&frames),
        [Event::Setting {
            key: KEEP_CONNECTED.into(),
            value: SettingValue::Bool(false)
        }]
    );
    // The same value again changes nothing: no event.
    let frames = f.ask(set("no")).await;
    assert!(answer(&frames).is_ok());
    assert!(events(&frames).is_empty(), "{frames:?}");

    let frames = f.ask(Request::Subscribe).await;
    let Ok(Response::Subscribed { snapshot }) = answer(&frames) else {
        panic!("{frames:?}")
    };
    assert_eq!(snapshot.settings[0].key, KEEP_CONNECTED);
    assert_eq!(snapshot.settings[0].value, SettingValue::Bool(false));

    let frames = f.ask(set("perhaps")).await;
    let (code, message) = answer(&frames).unwrap_err();
    assert_eq!(code, ErrorCode::InvalidArgument);
    assert!(message.contains("true or false"), "{message}");
    let frames = f
        .ask(Request::SettingsGet {
            key: Some("background.keep".into()),
        })
        .await;
    let (code, message) = answer(&frames).unwrap_err();
    assert_eq!(code, ErrorCode::UnknownSetting);
    assert!(message.contains(KEEP_CONNECTED), "{message}");
    let frames = f.ask(Request::SettingsGet { key: None }).await;
    assert!(matches!(
        answer(&frames),
        Ok(Response::Settings { settings }) if settings.len() == crate::settings::DEFINITIONS.len()
    ));
}

#[tokio::test]
async fn views_drive_csi_and_say_which_chat_is_in_focus() {
    let mut f = fixture();
    let (second, _second_frames) = ClientHandle::detached(2, Role::Gui, 64);
    let chat = ChatRef {
        account: ME.to_uppercase(),
        peer: JULIET.into(),
    };
    let frames = f
        .ask(Request::SetView {
            visible: true,
            focused: true,
            chat: Some(chat),
        })
        .await;
    assert_eq!(answer(&frames), Ok(Response::Done));
    assert_eq!(f.activity(), [true]);
    assert!(
        f.core.chat_in_focus(ME, JULIET),
        "JIDs are compared normalized"
    );
    assert!(!f.core.chat_in_focus(ME, "romeo@example.net"));

    // Another window visible too; the first loses the focus, then hides.
    f.ask_as(&second, Request::SetVisibility { visible: true })
        .await;
    f.ask(Request::SetView {
        visible: true,
        focused: false,
        chat: Some(ChatRef {
            account: ME.into(),
            peer: JULIET.into(),
        }),
    })
    .await;
    assert!(!f.core.chat_in_focus(ME, JULIET), "not focused");
    f.ask(Request::SetView {
        visible: false,
        focused: false,
        chat: None,
    })
    .await;
    assert!(
        f.activity().is_empty(),
        "the second window is still visible"
    );

    // The second connection closes: nobody is looking.
    f.core.record_view(2, View::default());
    assert_eq!(f.activity(), [false]);
    assert!(f.core.views.is_empty());

    let frames = f
        .ask(Request::SetView {
            visible: true,
            focused: true,
            chat: Some(ChatRef {
                account: ME.into(),
                peer: "not a jid".into(),
            }),
        })
        .await;
    assert_eq!(answer(&frames).unwrap_err().0, ErrorCode::InvalidJid);
    assert!(f.activity().is_empty(), "a refused view changes nothing");
}

#[tokio::test]
async fn a_failed_message_is_queued_again_and_handed_to_the_session_with_its_origin_id() {
    let mut f = fixture();
    let id = outgoing(&mut f, "bounced");
    stage(&mut f, id, DeliveryStage::Sent);
    stage(&mut f, id, DeliveryStage::Failed("nobody there".into()));
    f.frames();
    while f.commands.try_recv().is_ok() {}

    let frames = f
        .ask(Request::Retry {
            account: None,
            message_id: id,
        })
        .await;
    let Ok(Response::Sent { message, .. }) = answer(&frames) else {
        panic!("{frames:?}")
    };
    assert_eq!(
        (message.id, message.delivery),
        (id, wimsy_ipc::Delivery::Queued)
    );
    assert_eq!(
        events(&frames),
        [Event::Delivery {
            account: ME.into(),
            message_id: id,
            delivery: wimsy_ipc::Delivery::Queued,
            reason: None
        }]
    );
    let Ok(Command::Send(sent)) = f.commands.try_recv() else {
        panic!("the session was not given the message")
    };
    assert_eq!((sent.token, sent.origin_id.as_str()), (id, "bounced"));
    assert_eq!(
        sent.in_doubt_since_ms, None,
        "a bounced message is not in doubt"
    );

    // It goes on as any send, and may fail again.
    stage(&mut f, id, DeliveryStage::Sent);
    stage(&mut f, id, DeliveryStage::Failed("still nobody".into()));
    let stored = f.core.store.message(id).unwrap().unwrap();
    assert_eq!(stored.delivery, Delivery::Failed);
    assert_eq!(stored.failure_reason.as_deref(), Some("still nobody"));
}

#[tokio::test]
async fn only_a_failed_outgoing_message_can_be_retried() {
    let mut f = fixture();
    let queued = outgoing(&mut f, "on its way");
    let frames = f
        .ask(Request::Retry {
            account: Some(ME.into()),
            message_id: queued,
        })
        .await;
    let (code, message) = answer(&frames).unwrap_err();
    assert_eq!(code, ErrorCode::InvalidArgument);
    assert!(message.contains("has not failed"), "{message}");
    assert!(message.contains("waiting to be sent"), "{message}");

    let frames = f
        .ask(Request::Retry {
            account: None,
            message_id: 9_999,
        })
        .await;
    let (code, message) = answer(&frames).unwrap_err();
    assert_eq!(code, ErrorCode::InvalidArgument);
    assert!(message.contains("no message 9999"), "{message}");
    let frames = f
        .ask(Request::Retry {
            account: Some("nobody@example.org".into()),
            message_id: queued,
        })
        .await;
    assert_eq!(answer(&frames).unwrap_err().0, ErrorCode::UnknownAccount);
    assert!(f.commands.try_recv().is_err(), "nothing was sent");
}
