//! The merge rules, small and pure: given two versions of a cell, which wins.
//!
//! - Last-writer-wins registers are ordered by `(clock, site id)`; equal stamps
//!   are the same write delivered twice, so nothing changes.
//! - The delete tombstone only ever goes from live to deleted: once any replica
//!   has deleted a row, every replica ends deleted, whatever the clocks say.
//!   Among several deletes of one row (two devices of its owner, offline) the
//!   greatest stamp is kept, so the tombstone's stamp converges too, whatever
//!   order the deletes arrive in.
//! - Add-wins sets (observed-remove sets) keep one tag per add, named by the
//!   add's stamp; a remove tombstones the tags it observed, so an add that the
//!   remover had not seen survives.

use super::Stamp;

/// Whether an incoming last-writer-wins write replaces the current one.
///
/// Strictly greater stamps win; an equal stamp is a duplicate delivery.
pub fn lww_wins(incoming: Stamp, current: Option<Stamp>) -> bool {
    match current {
        None => true,
        Some(cur) => incoming > cur,
    }
}

/// Whether an incoming tombstone write `(deleted, stamp)` replaces the
/// current one.
///
/// The order is deleted before stamp: any delete beats any live marker
/// (deleted is absorbing), and between two writes of the same flag the greater
/// stamp wins. That is a join on a total order, so replicas end with the same
/// flag *and* the same stamp whatever order the writes arrive in.
pub fn tombstone_wins(incoming: (bool, Stamp), current: Option<(bool, Stamp)>) -> bool {
    match current {
        None => true,
        Some(cur) => incoming > cur,
    }
}

/// The state of one add-wins set tag: present until removed, removed forever.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagState {
    /// Added and not removed.
    Present,
    /// Removed by someone who had seen the add.
    Removed,
}

impl TagState {
    /// The state of a tag kept as a removed flag.
    pub fn of_removed(removed: bool) -> TagState {
        if removed {
            TagState::Removed
        } else {
            TagState::Present
        }
    }
}

/// Merge of one tag's state: removal is absorbing, so the merge is a join
/// (idempotent, commutative and associative).
pub fn tag_merge(current: Option<TagState>, incoming: TagState) -> TagState {
    match (current, incoming) {
        (Some(TagState::Removed), _) | (_, TagState::Removed) => TagState::Removed,
        _ => TagState::Present,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crdt::{Hlc, SiteId};
    use uuid::Uuid;

    fn st(clock: u64, site: u128) -> Stamp {
        Stamp {
            clock: Hlc(clock),
            site: SiteId(Uuid::from_u128(site)),
        }
    }

    #[test]
    fn later_clock_wins_regardless_of_site() {
        assert!(lww_wins(st(2, 1), Some(st(1, 9))));
        assert!(!lww_wins(st(1, 9), Some(st(2, 1))));
    }

    #[test]
    fn equal_clocks_are_broken_by_site_id_the_same_way_everywhere() {
        let a = st(5, 1);
        let b = st(5, 2);
        assert!(lww_wins(b, Some(a)));
        assert!(!lww_wins(a, Some(b)));
    }

    #[test]
    fn a_duplicate_write_changes_nothing() {
        assert!(!lww_wins(st(5, 1), Some(st(5, 1))));
        assert!(lww_wins(st(5, 1), None));
    }

    #[test]
    fn tombstone_is_absorbing_whatever_the_clocks() {
        assert!(tombstone_wins((true, st(1, 1)), Some((false, st(9, 9)))));
        assert!(!tombstone_wins((false, st(9, 9)), Some((true, st(1, 1)))));
        assert!(tombstone_wins((false, st(1, 1)), None));
    }

    #[test]
    fn of_two_deletes_the_greater_stamp_stays_in_either_order() {
        // Two devices of one owner delete the same row offline.
        let (a, b) = ((true, st(870, 2)), (true, st(872, 1)));
        let mut one = Some(a);
        if tombstone_wins(b, one) {
            one = Some(b);
        }
        let mut other = Some(b);
        if tombstone_wins(a, other) {
            other = Some(a);
        }
        assert_eq!(one, other);
        assert_eq!(one, Some(b));
        assert!(!tombstone_wins(b, Some(b)), "a duplicate changes nothing");
    }

    #[test]
    fn tag_removal_is_absorbing_and_order_free() {
        use TagState::*;
        assert_eq!(tag_merge(None, Present), Present);
        assert_eq!(tag_merge(Some(Present), Removed), Removed);
        assert_eq!(tag_merge(Some(Removed), Present), Removed);
        assert_eq!(tag_merge(Some(Present), Present), Present);
    }
}
