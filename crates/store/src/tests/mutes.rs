use super::{ME, temp_store};
use crate::{MuteRow, Store};

fn row(peer: &str, until_ms: Option<i64>) -> MuteRow {
    MuteRow {
        peer: peer.to_owned(),
        until_ms,
    }
}

#[test]
fn a_mute_is_kept_replaced_and_removed_and_survives_reopening() {
    let (_dir, path, mut store) = temp_store();
    assert_eq!(store.mutes(ME).unwrap(), vec![]);
    store.set_mute(ME, "romeo@example.net", None).unwrap();
    store
        .set_mute(ME, "juliet@example.net", Some(1_700_000_000_000))
        .unwrap();
    store
        .set_mute("other@example.org", "romeo@example.net", Some(5))
        .unwrap();
    // A second mute of the same chat replaces the first.
    store
        .set_mute(ME, "romeo@example.net", Some(1_800_000_000_000))
        .unwrap();
    drop(store);

    let mut store = Store::open(&path).unwrap();
    assert_eq!(
        store.mutes(ME).unwrap(),
        vec![
            row("juliet@example.net", Some(1_700_000_000_000)),
            row("romeo@example.net", Some(1_800_000_000_000)),
        ]
    );
    assert!(store.remove_mute(ME, "juliet@example.net").unwrap());
    assert!(!store.remove_mute(ME, "juliet@example.net").unwrap());
    assert_eq!(
        store.mutes(ME).unwrap(),
        vec![row("romeo@example.net", Some(1_800_000_000_000))]
    );
    assert_eq!(
        store.mutes("other@example.org").unwrap(),
        vec![row("romeo@example.net", Some(5))]
    );
    let all = store.all_mutes().unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[ME], store.mutes(ME).unwrap());
    assert_eq!(
        all["other@example.org"],
        store.mutes("other@example.org").unwrap()
    );
}

#[test]
fn timed_mutes_end_by_the_clock_and_untimed_ones_stay() {
    let (_dir, _path, mut store) = temp_store();
    assert_eq!(store.next_mute_end().unwrap(), None);
    store.set_mute(ME, "forever@example.net", None).unwrap();
    assert_eq!(store.next_mute_end().unwrap(), None);
    store.set_mute(ME, "soon@example.net", Some(1_000)).unwrap();
    store
        .set_mute("b@example.org", "later@example.net", Some(2_000))
        .unwrap();
    assert_eq!(store.next_mute_end().unwrap(), Some(1_000));
    assert_eq!(store.end_mutes(999).unwrap(), vec![]);
    assert_eq!(
        store.end_mutes(1_000).unwrap(),
        vec![(ME.to_owned(), "soon@example.net".to_owned())]
    );
    assert_eq!(store.next_mute_end().unwrap(), Some(2_000));
    assert_eq!(
        store.end_mutes(5_000).unwrap(),
        vec![("b@example.org".to_owned(), "later@example.net".to_owned())]
    );
    assert_eq!(
        store.mutes(ME).unwrap(),
        vec![row("forever@example.net", None)]
    );
}
