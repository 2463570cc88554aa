#![allow(clippy::unwrap_used)]

use super::*;

fn chat(peer: &str) -> ChatKey {
    ChatKey {
        account: "me@example.org".into(),
        peer: peer.into(),
    }
}

#[test]
fn each_preview_shows_what_it_promises() {
    let one = |preview| Content::new(preview, "Juliet", 1, "wherefore", true);
    let three = |preview| Content::new(preview, "Juliet", 3, "art thou", false);

    assert_eq!(
        (one(Preview::Full).summary, one(Preview::Full).body),
        ("Juliet".into(), "wherefore".into())
    );
    assert_eq!(three(Preview::Full).body, "3 new messages\nart thou");
    assert_eq!(
        (one(Preview::Sender).summary, one(Preview::Sender).body),
        ("Juliet".into(), "New message".into())
    );
    assert_eq!(three(Preview::Sender).body, "3 new messages");
    for content in [one(Preview::None), three(Preview::None)] {
        assert!(!content.summary.contains("Juliet"), "{}", content.summary);
        assert!(content.body.is_empty(), "{}", content.body);
    }
    assert_eq!(three(Preview::None).summary, "3 new messages");
    assert!(one(Preview::Full).sound);
    assert!(!three(Preview::Full).sound);
}

#[test]
fn the_preview_setting_words_map_to_previews_and_an_unknown_one_shows_least() {
    assert_eq!(Preview::CHOICES, &["full", "sender", "none"]);
    assert_eq!(Preview::from_setting("full"), Preview::Full);
    assert_eq!(Preview::from_setting("sender"), Preview::Sender);
    assert_eq!(Preview::from_setting("none"), Preview::None);
    assert_eq!(Preview::from_setting("everything"), Preview::None);
}

#[test]
fn a_debug_of_a_notification_leaves_its_text_out() {
    let content = Content::new(Preview::Full, "Juliet", 1, "a secret", true);
    let shown = format!("{content:?}");
    assert!(
        !shown.contains("secret") && !shown.contains("Juliet"),
        "{shown}"
    );
}

#[tokio::test]
async fn queued_orders_fold_to_each_chats_last_one() {
    let (notifier, end) = Notifier::detached();
    let mut rx = end.orders;
    let content = |body: &str| Content::new(Preview::Full, "x", 1, body, true);
    notifier.order(Order::Show(chat("a@x"), content("1")));
    notifier.order(Order::Show(chat("a@x"), content("2")));
    notifier.order(Order::Show(chat("b@x"), content("3")));
    notifier.order(Order::Close(chat("b@x")));
    let batch = next_orders(&mut rx).await.unwrap();
    assert!(!batch.close_all);
    assert_eq!(batch.chats.len(), 2);
    assert_eq!(batch.chats[&chat("a@x")], Some(content("2")));
    assert_eq!(batch.chats[&chat("b@x")], None);

    let other = ChatKey {
        account: "other@example.org".into(),
        peer: "a@x".into(),
    };
    notifier.order(Order::Show(other.clone(), content("o")));
    notifier.order(Order::Show(chat("b@x"), content("b")));
    notifier.order(Order::CloseAccount("other@example.org".into()));
    let batch = next_orders(&mut rx).await.unwrap();
    assert!(batch.closes(&other) && !batch.closes(&chat("b@x")));
    assert_eq!(
        batch.chats.into_iter().collect::<Vec<_>>(),
        vec![(chat("b@x"), Some(content("b")))],
        "the removed account's shows are dropped, the others stay"
    );

    notifier.order(Order::Show(chat("a@x"), content("4")));
    notifier.order(Order::CloseAll);
    notifier.order(Order::Show(chat("c@x"), content("5")));
    let batch = next_orders(&mut rx).await.unwrap();
    assert!(batch.close_all && batch.closes(&other));
    assert_eq!(
        batch.chats.into_iter().collect::<Vec<_>>(),
        vec![(chat("c@x"), Some(content("5")))],
        "what came before the close-all is gone, what came after stays"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn markup_in_a_message_is_shown_as_text() {
    assert_eq!(
        freedesktop::escape_markup("<b>x</b> & y"),
        "&lt;b&gt;x&lt;/b&gt; &amp; y"
    );
}
