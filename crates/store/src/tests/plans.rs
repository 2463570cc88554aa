//! The hot queries must use their indexes; a plain SCAN of `messages`
//! would still pass every other test but get slow as history grows.

use crate::Store;

fn plan(store: &Store, sql: &str, params: &[&dyn rusqlite::ToSql]) -> String {
    let mut stmt = store
        .conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap();
    let rows = stmt
        .query_map(params, |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    rows.join("\n")
}

fn assert_uses(plan: &str, index: &str) {
    assert!(plan.contains(index), "expected {index} in:\n{plan}");
    assert!(!plan.contains("SCAN messages"), "full scan in:\n{plan}");
}

#[test]
fn hot_queries_use_their_indexes() {
    let store = Store::open_in_memory().unwrap();
    let (a, p) = ("a", "p");
    assert_uses(
        &plan(&store, crate::history::NEWEST, &[&a, &p, &10]),
        "messages_history",
    );
    let before = plan(&store, crate::history::BEFORE, &[&a, &p, &10, &5]);
    assert_uses(&before, "messages_history");
    // The cursor must be a seek into the index, not a filter on the chat.
    assert!(before.contains("seq<?"), "{before}");
    // Nor may a page sort: the index already has history's order.
    assert!(!before.contains("TEMP B-TREE"), "{before}");
    assert_uses(
        &plan(&store, crate::messages::NEXT_SEQ, &[&a]),
        "messages_seq",
    );
    assert_uses(
        &plan(&store, crate::messages::PENDING_OUTGOING, &[&a]),
        "messages_outbox",
    );
    assert_uses(
        &plan(&store, crate::messages::BY_ORIGIN_ID, &[&a, &"o"]),
        "messages_origin_id",
    );
    assert_uses(
        &plan(&store, crate::chats::UNREAD, &[&a, &p]),
        "messages_incoming",
    );
    assert_uses(
        &plan(&store, crate::chats::CHATS, &[&a]),
        "messages_incoming",
    );
    assert_uses(
        &plan(&store, crate::read::BY_MARKER_ID, &[&a, &p, &"m"]),
        "messages_marker_id",
    );
}
