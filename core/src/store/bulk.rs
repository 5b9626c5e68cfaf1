//! Bulk local writes: many posts in one transaction.
//!
//! Each listing goes through exactly the path of a single post (the same
//! checked edits, a fresh stamp, validation, the policy check and the shared
//! apply code); only the transaction is shared, so a thousand posts cost one
//! commit rather than a thousand. The whole batch commits or none of it does.

use super::write::write_in;
use super::Store;
use crate::model::NewItem;
use crate::Result;
use uuid::Uuid;

impl Store {
    /// A resident posts several idle items at once (an import, a move-out
    /// clearance), in one transaction. Every item is checked as by
    /// [`Store::post_item`]; one invalid item fails the batch and nothing is
    /// written. Returns the new ids in the order given.
    pub fn post_items(&self, items: Vec<NewItem>) -> Result<Vec<Uuid>> {
        let actor = self.actor()?;
        let prepared = items
            .into_iter()
            .map(|new| Ok((Uuid::now_v7(), self.item_edits(new)?)))
            .collect::<Result<Vec<_>>>()?;
        self.write_tx(|ctx| {
            let mut ids = Vec::with_capacity(prepared.len());
            for (id, e) in &prepared {
                write_in(ctx, &actor, e.table, *id, &e.edits)?;
                ids.push(*id);
            }
            Ok(ids)
        })
    }
}
