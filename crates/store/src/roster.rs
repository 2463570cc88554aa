//! The roster and its version (RFC 6121 roster versioning).

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::Store;
use crate::error::StoreError;

/// One contact.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RosterItem {
    /// The contact's bare JID.
    pub jid: String,
    /// The name the user gave it.
    pub name: Option<String>,
    /// `none`, `to`, `from`, `both`, or `remove` in a push.
    pub subscription: String,
    /// Group names. A set in XMPP: stored without duplicates, read back sorted.
    pub groups: Vec<String>,
}

/// The subscription value of a roster push that deletes the item.
const REMOVE: &str = "remove";

impl Store {
    /// Replaces the roster of `account` with `items` and records `ver`
    /// (`None`: the server does not version rosters). Items with
    /// subscription `remove` are skipped.
    pub fn save_roster(
        &mut self,
        account: &str,
        ver: Option<&str>,
        items: &[RosterItem],
    ) -> Result<(), StoreError> {
        save_roster(&mut self.conn, account, ver, items).map_err(self.db.fail("saving the roster"))
    }

    /// Applies one roster push: adds or replaces `item`, or deletes it when
    /// its subscription is `remove`.
    ///
    /// `ver` replaces the stored version when given. A push without one
    /// keeps the stored version: the next login then asks for changes since
    /// that older version, which includes this push again, harmlessly.
    pub fn apply_roster_push(
        &mut self,
        account: &str,
        ver: Option<&str>,
        item: &RosterItem,
    ) -> Result<(), StoreError> {
        apply_roster_push(&mut self.conn, account, ver, item)
            .map_err(self.db.fail("applying a roster push"))
    }

    /// The stored roster version and items of `account`, sorted by JID.
    pub fn roster(&self, account: &str) -> Result<(Option<String>, Vec<RosterItem>), StoreError> {
        roster(&self.conn, account).map_err(self.db.fail("reading the roster"))
    }
}

fn save_roster(
    conn: &mut Connection,
    account: &str,
    ver: Option<&str>,
    items: &[RosterItem],
) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Group rows go with their items (ON DELETE CASCADE).
    tx.prepare_cached("DELETE FROM roster_items WHERE account = ?1")?
        .execute([account])?;
    for item in items.iter().filter(|i| i.subscription != REMOVE) {
        put_item(&tx, account, item)?;
    }
    set_roster_ver(&tx, account, ver)?;
    tx.commit()
}

fn apply_roster_push(
    conn: &mut Connection,
    account: &str,
    ver: Option<&str>,
    item: &RosterItem,
) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if item.subscription == REMOVE {
        tx.prepare_cached("DELETE FROM roster_items WHERE account = ?1 AND jid = ?2")?
            .execute([account, item.jid.as_str()])?;
    } else {
        put_item(&tx, account, item)?;
    }
    if ver.is_some() {
        set_roster_ver(&tx, account, ver)?;
    }
    tx.commit()
}

/// Inserts or replaces one item with its groups. An upsert rather than
/// INSERT OR REPLACE, which would delete the row and cascade to the groups
/// mid-statement; the groups are rewritten explicitly instead.
fn put_item(conn: &Connection, account: &str, item: &RosterItem) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO roster_items (account, jid, name, subscription) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (account, jid) DO UPDATE \
         SET name = excluded.name, subscription = excluded.subscription",
    )?
    .execute(params![account, item.jid, item.name, item.subscription])?;
    conn.prepare_cached("DELETE FROM roster_groups WHERE account = ?1 AND jid = ?2")?
        .execute([account, item.jid.as_str()])?;
    let mut add = conn.prepare_cached(
        "INSERT OR IGNORE INTO roster_groups (account, jid, group_name) VALUES (?1, ?2, ?3)",
    )?;
    for group in &item.groups {
        add.execute([account, item.jid.as_str(), group.as_str()])?;
    }
    Ok(())
}

fn set_roster_ver(conn: &Connection, account: &str, ver: Option<&str>) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO account_state (account, roster_ver) VALUES (?1, ?2) \
         ON CONFLICT (account) DO UPDATE SET roster_ver = excluded.roster_ver",
    )?
    .execute(params![account, ver])?;
    Ok(())
}

fn roster(conn: &Connection, account: &str) -> rusqlite::Result<(Option<String>, Vec<RosterItem>)> {
    let ver: Option<String> = conn
        .prepare_cached("SELECT roster_ver FROM account_state WHERE account = ?1")?
        .query_row([account], |row| row.get(0))
        .optional()?
        .flatten();
    let mut items: Vec<RosterItem> = conn
        .prepare_cached(
            "SELECT jid, name, subscription FROM roster_items WHERE account = ?1 ORDER BY jid",
        )?
        .query_map([account], |row| {
            Ok(RosterItem {
                jid: row.get(0)?,
                name: row.get(1)?,
                subscription: row.get(2)?,
                groups: Vec::new(),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    // Both lists come sorted by jid, so one merge pass attaches the groups.
    let mut groups = conn.prepare_cached(
        "SELECT jid, group_name FROM roster_groups WHERE account = ?1 ORDER BY jid, group_name",
    )?;
    let mut rows = groups.query([account])?;
    let mut slot = items.iter_mut().peekable();
    while let Some(row) = rows.next()? {
        let jid: String = row.get(0)?;
        let group: String = row.get(1)?;
        while slot.next_if(|item| item.jid < jid).is_some() {}
        if let Some(item) = slot.peek_mut()
            && item.jid == jid
        {
            item.groups.push(group);
        }
    }
    Ok((ver, items))
}
