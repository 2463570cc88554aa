//! Contacts' presence, per resource, folded into one view per contact.

use std::collections::{BTreeMap, HashMap};

use wimsy_ipc::PresenceView;
use wimsy_session::PresenceUpdate;

/// Online resources of every contact.
#[derive(Debug, Default)]
pub(crate) struct PresenceBook {
    resources: HashMap<String, BTreeMap<String, PresenceUpdate>>,
}

fn rank(show: Option<&str>) -> u8 {
    match show {
        Some("chat") => 0,
        None => 1,
        Some("away") => 2,
        Some("xa") => 3,
        Some("dnd") => 4,
        Some(_) => 5,
    }
}

impl PresenceBook {
    /// Record an update; returns the contact's bare JID.
    pub(crate) fn update(&mut self, update: PresenceUpdate) -> String {
        let bare = update.from.to_bare().to_string();
        let resource = update
            .from
            .resource()
            .map(|r| r.as_str().to_owned())
            .unwrap_or_default();
        let entry = self.resources.entry(bare.clone()).or_default();
        if update.available {
            entry.insert(resource, update);
        } else if resource.is_empty() {
            entry.clear();
        } else {
            entry.remove(&resource);
        }
        if entry.is_empty() {
            self.resources.remove(&bare);
        }
        bare
    }

    /// The most available resource's presence.
    pub(crate) fn view(&self, bare: &str) -> PresenceView {
        self.resources
            .get(bare)
            .and_then(|resources| resources.values().min_by_key(|p| rank(p.show.as_deref())))
            .map(|p| PresenceView {
                available: true,
                show: p.show.clone(),
                status: p.status.clone(),
            })
            .unwrap_or_default()
    }

    /// Forget everything (the stream is gone); returns who was online.
    pub(crate) fn clear(&mut self) -> Vec<String> {
        self.resources.drain().map(|(bare, _)| bare).collect()
    }
}
