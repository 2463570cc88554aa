//! An account's roster in memory, indexed by bare JID, so a presence
//! update or a snapshot does not read the whole roster from the store.
//!
//! The store stays the source: the book is loaded from it when the
//! account's session starts, and every roster change the daemon stores
//! (a whole roster from the server, a push, a removal) is applied here in
//! the same step, so the two never differ for longer than one event.

use std::collections::BTreeMap;

use wimsy_store::RosterItem;

/// The subscription value of a roster push that deletes the item.
const REMOVE: &str = "remove";

/// One account's contacts, by bare JID (sorted, as the store lists them).
#[derive(Debug, Default)]
pub(crate) struct ContactBook {
    items: BTreeMap<String, RosterItem>,
}

impl ContactBook {
    /// The book of a roster read from the store.
    pub(crate) fn from_items(items: Vec<RosterItem>) -> Self {
        let mut book = Self::default();
        book.replace(items);
        book
    }

    /// Replace every item; what was there before, for telling apart
    /// removed and changed contacts.
    pub(crate) fn replace(&mut self, items: Vec<RosterItem>) -> BTreeMap<String, RosterItem> {
        let fresh = items
            .into_iter()
            .filter(|item| item.subscription != REMOVE)
            .map(|item| (item.jid.clone(), item))
            .collect();
        std::mem::replace(&mut self.items, fresh)
    }

    /// Apply one roster push: `remove` deletes the item, anything else
    /// adds or replaces it.
    pub(crate) fn apply(&mut self, item: &RosterItem) {
        if item.subscription == REMOVE {
            self.items.remove(&item.jid);
        } else {
            self.items.insert(item.jid.clone(), item.clone());
        }
    }

    pub(crate) fn get(&self, jid: &str) -> Option<&RosterItem> {
        self.items.get(jid)
    }

    /// Every contact, by JID.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &RosterItem> {
        self.items.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(jid: &str, subscription: &str) -> RosterItem {
        RosterItem {
            jid: jid.to_owned(),
            name: None,
            subscription: subscription.to_owned(),
            groups: Vec::new(),
        }
    }

    #[test]
    fn pushes_add_replace_and_remove_and_order_stays_by_jid() {
        let mut book = ContactBook::from_items(vec![item("c@x", "both"), item("a@x", "to")]);
        book.apply(&item("b@x", "none"));
        book.apply(&item("a@x", "both"));
        book.apply(&item("c@x", "remove"));
        let listed: Vec<(&str, &str)> = book
            .iter()
            .map(|i| (i.jid.as_str(), i.subscription.as_str()))
            .collect();
        assert_eq!(listed, [("a@x", "both"), ("b@x", "none")]);
        assert!(book.get("c@x").is_none());
    }

    #[test]
    fn replace_returns_the_old_roster_and_skips_removals() {
        let mut book = ContactBook::from_items(vec![item("a@x", "both")]);
        let old = book.replace(vec![item("b@x", "to"), item("z@x", "remove")]);
        assert_eq!(old.keys().collect::<Vec<_>>(), ["a@x"]);
        assert_eq!(
            book.iter().map(|i| i.jid.as_str()).collect::<Vec<_>>(),
            ["b@x"]
        );
    }
}
