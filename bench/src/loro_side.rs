//! The same two merges with Loro: a `LoroDoc` whose root map `item` holds
//! one `LoroMap` per listing (keyed by the listing's UUID) with the same
//! fields. Updates are exported from one doc and imported into another; the
//! import is what is timed.

use crate::data::ItemData;
use loro::{ExportMode, LoroDoc, LoroMap, VersionVector};
use uuid::Uuid;

/// A doc holding `items`, written by peer 1, and the handles of its maps.
pub fn build(
    items: &[ItemData],
    owner: &str,
    now: i64,
) -> loro::LoroResult<(LoroDoc, Vec<LoroMap>)> {
    let doc = LoroDoc::new();
    doc.set_peer_id(1)?;
    let root = doc.get_map("item");
    let mut maps = Vec::with_capacity(items.len());
    for d in items {
        let id = Uuid::now_v7().to_string();
        let m = root.insert_container(&id, LoroMap::new())?;
        m.insert("owner", owner)?;
        m.insert("community", "fushi")?;
        m.insert("created_at", now)?;
        m.insert("title", d.title.as_str())?;
        m.insert("description", d.description.as_str())?;
        m.insert("category", d.category.as_str())?;
        m.insert("condition", d.condition.as_str())?;
        m.insert("mode", d.mode.as_str())?;
        m.insert("status", "available")?;
        m.insert("pickup_area", d.pickup_area.as_str())?;
        m.insert("lat", d.lat)?;
        m.insert("lon", d.lon)?;
        m.insert("expires_at", now + 30 * 86_400_000)?;
        m.insert("hidden", false)?;
        m.insert("deleted", false)?;
        maps.push(m);
    }
    doc.commit();
    Ok((doc, maps))
}

/// Every update of `doc`.
pub fn export_all(doc: &LoroDoc) -> Result<Vec<u8>, String> {
    doc.export(ExportMode::all_updates())
        .map_err(|e| e.to_string())
}

/// Make `n` single-field edits (the `condition` of the first `n` maps), each
/// its own commit like a phone's separate edits; return the updates since
/// before them.
pub fn edits(doc: &LoroDoc, maps: &[LoroMap], values: &[&str]) -> Result<Vec<u8>, String> {
    let before: VersionVector = doc.oplog_vv();
    for (m, v) in maps.iter().zip(values) {
        m.insert("condition", *v).map_err(|e| e.to_string())?;
        doc.commit();
    }
    doc.export(ExportMode::updates(&before))
        .map_err(|e| e.to_string())
}

/// Import `bytes` into `doc`.
pub fn import(doc: &LoroDoc, bytes: &[u8]) -> Result<(), String> {
    doc.import(bytes).map(|_| ()).map_err(|e| e.to_string())
}
