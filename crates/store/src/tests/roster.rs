use super::{ME, temp_store};
use crate::RosterItem;

fn item(jid: &str, name: Option<&str>, subscription: &str, groups: &[&str]) -> RosterItem {
    RosterItem {
        jid: jid.to_owned(),
        name: name.map(str::to_owned),
        subscription: subscription.to_owned(),
        groups: groups.iter().map(|&g| g.to_owned()).collect(),
    }
}

#[test]
fn save_replaces_the_whole_roster() {
    let (_dir, _path, mut store) = temp_store();
    assert_eq!(store.roster(ME).unwrap(), (None, vec![]));

    store
        .save_roster(
            ME,
            Some("v1"),
            &[
                item(
                    "romeo@example.net",
                    Some("Romeo"),
                    "both",
                    &["Montague", "Friends"],
                ),
                item("juliet@example.net", None, "to", &[]),
                item("tybalt@example.net", None, "none", &["Capulet"]),
            ],
        )
        .unwrap();
    store
        .save_roster(
            "other@example.org",
            Some("o1"),
            &[item("x@example.net", None, "both", &["G"])],
        )
        .unwrap();

    let (ver, items) = store.roster(ME).unwrap();
    assert_eq!(ver.as_deref(), Some("v1"));
    assert_eq!(
        items,
        vec![
            item("juliet@example.net", None, "to", &[]),
            item(
                "romeo@example.net",
                Some("Romeo"),
                "both",
                &["Friends", "Montague"]
            ),
            item("tybalt@example.net", None, "none", &["Capulet"]),
        ]
    );

    // A fresh full roster drops whatever is not in it, groups included.
    store
        .save_roster(
            ME,
            None,
            &[item(
                "romeo@example.net",
                None,
                "from",
                &["Verona", "Verona"],
            )],
        )
        .unwrap();
    assert_eq!(
        store.roster(ME).unwrap(),
        (
            None,
            vec![item("romeo@example.net", None, "from", &["Verona"])]
        )
    );
    let n: i64 = store
        .conn
        .query_row(
            "SELECT count(*) FROM roster_groups WHERE account = ?1",
            [ME],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
    // Other accounts are untouched.
    assert_eq!(store.roster("other@example.org").unwrap().1.len(), 1);
}

#[test]
fn pushes_upsert_and_remove() {
    let (_dir, _path, mut store) = temp_store();
    store
        .save_roster(
            ME,
            Some("v1"),
            &[item("romeo@example.net", None, "both", &["A"])],
        )
        .unwrap();

    store
        .apply_roster_push(
            ME,
            Some("v2"),
            &item("benvolio@example.net", Some("Ben"), "none", &[]),
        )
        .unwrap();
    store
        .apply_roster_push(
            ME,
            Some("v3"),
            &item("romeo@example.net", Some("R"), "to", &["B", "C"]),
        )
        .unwrap();
    let (ver, items) = store.roster(ME).unwrap();
    assert_eq!(ver.as_deref(), Some("v3"));
    assert_eq!(
        items,
        vec![
            item("benvolio@example.net", Some("Ben"), "none", &[]),
            item("romeo@example.net", Some("R"), "to", &["B", "C"]),
        ]
    );

    // No version in the push: the stored one stays.
    store
        .apply_roster_push(ME, None, &item("romeo@example.net", None, "remove", &[]))
        .unwrap();
    let (ver, items) = store.roster(ME).unwrap();
    assert_eq!(ver.as_deref(), Some("v3"));
    assert_eq!(
        items,
        vec![item("benvolio@example.net", Some("Ben"), "none", &[])]
    );

    // Removing something absent is fine.
    store
        .apply_roster_push(
            ME,
            Some("v4"),
            &item("nobody@example.net", None, "remove", &[]),
        )
        .unwrap();
    assert_eq!(store.roster(ME).unwrap().0.as_deref(), Some("v4"));
}
