//! Sync status read from the store alone, for an app that has no sync client
//! yet (signed out, or no server configured): how many changes wait to be
//! sent, and when the last sync finished. `SyncClient` answers the
//! same questions for a configured phone.

use super::{STATE_LAST_SUCCESS, STATE_PUSHED};
use crate::store::Store;
use crate::Result;

impl Store {
    /// How many rows wait to be sent to the server.
    pub fn pending_changes(&self) -> Result<u64> {
        self.pending_count(self.state_int(STATE_PUSHED)?)
    }

    /// When the last sync finished (Unix ms, corrected clock), if one ever did.
    pub fn last_synced_at(&self) -> Result<Option<i64>> {
        Ok(Some(self.state_int(STATE_LAST_SUCCESS)?).filter(|t| *t > 0))
    }
}

#[cfg(test)]
mod tests {
    use crate::model::NewItem;
    use crate::policy::{Actor, Role};
    use crate::Store;
    use uuid::Uuid;

    #[test]
    fn an_offline_post_waits_to_be_sent() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("phone.db")).unwrap();
        assert_eq!(store.pending_changes().unwrap(), 0);
        assert_eq!(store.last_synced_at().unwrap(), None);
        store.set_actor(Some(Actor {
            user: Uuid::now_v7(),
            role: Role::Resident,
            community: "fushi".into(),
        }));
        store
            .post_item(NewItem {
                title: "儿童自行车".into(),
                category: "kids".into(),
                mode: "give".into(),
                pickup_area: "福石花园".into(),
                ..NewItem::default()
            })
            .unwrap();
        assert_eq!(store.pending_changes().unwrap(), 1);
        assert_eq!(store.last_synced_at().unwrap(), None);
    }
}
