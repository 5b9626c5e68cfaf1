//! What the three kinds of user do, in their words: post and edit listings,
//! delete and hide them, request items, report and check in at stations.

use super::write::Edit;
use super::Store;
use crate::crdt::Value;
use crate::model::columns;
use crate::model::tables::Table;
use crate::model::{
    check_need_category, Item, ItemEdit, Need, NeedEdit, NewItem, NewNeed, NewSkill, NewStation,
    RowData, Skill, SkillEdit, Station, StationEdit,
};
use crate::{Error, Result};
use rusqlite::OptionalExtension;
use uuid::Uuid;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
const MINUTE_MS: i64 = 60 * 1000;

/// Collects the edits of one local write. Values are checked once, by the
/// write itself ([`super::apply::validate`], as for remote changes).
pub(super) struct Edits {
    pub(super) table: Table,
    pub(super) edits: Vec<Edit>,
}

impl Edits {
    fn new(table: Table) -> Edits {
        Edits {
            table,
            edits: Vec::new(),
        }
    }

    fn set(&mut self, col: &'static str, v: impl Into<Value>) {
        self.edits.push(Edit::Set(col, v.into()));
    }

    /// Set if given; an empty text clears the field.
    fn maybe_text(&mut self, col: &'static str, v: Option<String>) {
        match v {
            None => {}
            Some(s) if s.is_empty() => self.set(col, Value::Null),
            Some(s) => self.set(col, s),
        }
    }

    fn add(&mut self, col: &'static str, elems: Vec<String>) {
        for e in elems {
            self.edits.push(Edit::Add(col, e));
        }
    }

    fn remove(&mut self, col: &'static str, elems: Vec<String>) {
        for e in elems {
            self.edits.push(Edit::Remove(col, e));
        }
    }
}

impl Store {
    /// The compounds of the community (their centres and reach): a
    /// resident's listing posted within one is placed at its centre; one
    /// posted elsewhere on the ~100 m grid ([`crate::geo::coarsen`]). The
    /// app sets them at start (from its configuration); they stay on this
    /// phone.
    pub fn set_compounds(&self, compounds: Vec<crate::geo::Compound>) {
        *self
            .compounds
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = compounds;
    }

    /// A resident's listing position as it is kept and sent: coarsened
    /// before anything is stored (the exact fix never leaves this call).
    fn listing_position(&self, lat: Option<f64>, lon: Option<f64>) -> (Option<f64>, Option<f64>) {
        match (lat, lon) {
            (Some(lat), Some(lon)) => {
                let compounds = self
                    .compounds
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let (lat, lon) = crate::geo::coarsen(lat, lon, &compounds);
                (Some(lat), Some(lon))
            }
            other => other,
        }
    }
}

fn check_pair(lat: Option<f64>, lon: Option<f64>) -> Result<()> {
    match (lat, lon) {
        (Some(_), None) => Err(Error::invalid(columns::LON, "is required with lat")),
        (None, Some(_)) => Err(Error::invalid(columns::LAT, "is required with lon")),
        _ => Ok(()),
    }
}

impl Store {
    fn creation(&self, table: Table) -> Result<(Edits, i64)> {
        let actor = self.actor()?;
        let now = self.now_ms();
        let mut e = Edits::new(table);
        e.set(columns::OWNER, actor.user.to_string());
        e.set(columns::COMMUNITY, actor.community);
        e.set(columns::CREATED_AT, now);
        e.set(columns::DELETED, false);
        Ok((e, now))
    }

    fn commit(&self, id: Uuid, e: Edits) -> Result<()> {
        self.write(e.table, id, &e.edits)?;
        Ok(())
    }

    /// Write `e` to a row that must still be live when the write happens:
    /// checked in the write's own transaction (a sync page deleting the row
    /// a moment earlier makes this not found, not an edit of a deleted row).
    fn commit_live(&self, id: Uuid, e: Edits) -> Result<()> {
        self.act(|act| {
            act.live(e.table, id)?;
            act.write(e.table, id, &e.edits)
        })
    }

    /// A live (not deleted) row, or not found.
    pub(crate) fn require_live(&self, table: Table, id: Uuid) -> Result<RowData> {
        match self.fetch_row(table, id)? {
            Some(r) if !r.flag(columns::DELETED) => Ok(r),
            _ => Err(Error::NotFound(table.name())),
        }
    }

    /// A resident posts an idle item to give or swap. Works offline.
    pub fn post_item(&self, new: NewItem) -> Result<Uuid> {
        let id = Uuid::now_v7();
        let e = self.item_edits(new)?;
        self.commit(id, e)?;
        Ok(id)
    }

    /// The checked edits that post a new item (also used by the bulk post).
    pub(super) fn item_edits(&self, new: NewItem) -> Result<Edits> {
        let (mut e, now) = self.creation(Table::Item)?;
        e.set(columns::TITLE, new.title);
        e.maybe_text(columns::DESCRIPTION, new.description);
        e.set(columns::CATEGORY, new.category);
        e.maybe_text(columns::CONDITION, new.condition);
        e.set(columns::MODE, new.mode);
        e.maybe_text(columns::SWAP_FOR, new.swap_for);
        e.set(columns::PICKUP_AREA, new.pickup_area);
        check_pair(new.lat, new.lon)?;
        let (lat, lon) = self.listing_position(new.lat, new.lon);
        e.set(columns::LAT, lat);
        e.set(columns::LON, lon);
        e.set(columns::STATUS, "available");
        e.set(
            columns::EXPIRES_AT,
            now + self.config().item_ttl_days * DAY_MS,
        );
        super::photos::check_new_refs(&new.photos)?;
        e.add(columns::PHOTOS, new.photos);
        e.add(columns::TAGS, new.tags);
        Ok(e)
    }

    /// The owner edits an item.
    pub fn edit_item(&self, id: Uuid, edit: ItemEdit) -> Result<()> {
        self.require_live(Table::Item, id)?;
        let mut e = Edits::new(Table::Item);
        if let Some(t) = edit.title {
            e.set(columns::TITLE, t);
        }
        e.maybe_text(columns::DESCRIPTION, edit.description);
        if let Some(c) = edit.category {
            e.set(columns::CATEGORY, c);
        }
        e.maybe_text(columns::CONDITION, edit.condition);
        if let Some(m) = edit.mode {
            e.set(columns::MODE, m);
        }
        e.maybe_text(columns::SWAP_FOR, edit.swap_for);
        if let Some(p) = edit.pickup_area {
            e.set(columns::PICKUP_AREA, p);
        }
        super::photos::check_new_refs(&edit.add_photos)?;
        let removes_photos = !edit.remove_photos.is_empty();
        e.add(columns::PHOTOS, edit.add_photos);
        e.remove(columns::PHOTOS, edit.remove_photos);
        e.add(columns::TAGS, edit.add_tags);
        e.remove(columns::TAGS, edit.remove_tags);
        self.commit_live(id, e)?;
        if removes_photos {
            self.erase_photos_after_write();
        }
        Ok(())
    }

    /// After a local write that may have left photos unused (a delete, a
    /// photo removed): erase them here. The write stands if erasing fails;
    /// the next sync sweeps again.
    fn erase_photos_after_write(&self) {
        if let Err(e) = self.erase_unreferenced_photos() {
            tracing::warn!(error = %e, "erasing unused photos failed; the next sync tries again");
        }
    }

    /// Grid staff add a station.
    pub fn post_station(&self, new: NewStation) -> Result<Uuid> {
        let id = Uuid::now_v7();
        let (mut e, _) = self.creation(Table::Station)?;
        e.set(columns::NAME, new.name);
        e.maybe_text(columns::ADDRESS, new.address);
        e.set(columns::LAT, new.lat);
        e.set(columns::LON, new.lon);
        e.set(columns::KIND, new.kind);
        e.add(columns::AMENITIES, new.amenities);
        if let Some(h) = &new.opening_hours {
            crate::hours::parse(h)
                .map_err(|r| Error::invalid(columns::OPENING_HOURS, r.to_string()))?;
        }
        e.maybe_text(columns::OPENING_HOURS, new.opening_hours);
        e.maybe_text(columns::HOST_ORG, new.host_org);
        e.maybe_text(columns::CONTACT, new.contact);
        e.maybe_text(columns::NOTE, new.note);
        self.commit(id, e)?;
        Ok(id)
    }

    /// Grid staff edit a station: hours, amenities, contact…
    pub fn edit_station(&self, id: Uuid, edit: StationEdit) -> Result<()> {
        self.require_live(Table::Station, id)?;
        let mut e = Edits::new(Table::Station);
        if let Some(n) = edit.name {
            e.set(columns::NAME, n);
        }
        e.maybe_text(columns::ADDRESS, edit.address);
        check_pair(edit.lat, edit.lon)?;
        if let (Some(lat), Some(lon)) = (edit.lat, edit.lon) {
            e.set(columns::LAT, lat);
            e.set(columns::LON, lon);
        }
        if let Some(k) = edit.kind {
            e.set(columns::KIND, k);
        }
        e.add(columns::AMENITIES, edit.add_amenities);
        e.remove(columns::AMENITIES, edit.remove_amenities);
        if let Some(h) = edit.opening_hours.as_deref().filter(|h| !h.is_empty()) {
            crate::hours::parse(h)
                .map_err(|r| Error::invalid(columns::OPENING_HOURS, r.to_string()))?;
        }
        e.maybe_text(columns::OPENING_HOURS, edit.opening_hours);
        e.maybe_text(columns::HOST_ORG, edit.host_org);
        e.maybe_text(columns::CONTACT, edit.contact);
        e.maybe_text(columns::NOTE, edit.note);
        self.commit_live(id, e)
    }

    /// A resident offers a skill.
    pub fn post_skill(&self, new: NewSkill) -> Result<Uuid> {
        let id = Uuid::now_v7();
        let (mut e, _) = self.creation(Table::Skill)?;
        e.set(columns::TITLE, new.title);
        e.maybe_text(columns::DESCRIPTION, new.description);
        e.set(columns::CATEGORY, new.category);
        e.maybe_text(columns::AVAILABILITY, new.availability);
        e.set(columns::STATUS, "active");
        check_pair(new.lat, new.lon)?;
        let (lat, lon) = self.listing_position(new.lat, new.lon);
        e.set(columns::LAT, lat);
        e.set(columns::LON, lon);
        self.commit(id, e)?;
        Ok(id)
    }

    /// The owner edits a skill offer.
    pub fn edit_skill(&self, id: Uuid, edit: SkillEdit) -> Result<()> {
        self.require_live(Table::Skill, id)?;
        let mut e = Edits::new(Table::Skill);
        if let Some(t) = edit.title {
            e.set(columns::TITLE, t);
        }
        e.maybe_text(columns::DESCRIPTION, edit.description);
        if let Some(c) = edit.category {
            e.set(columns::CATEGORY, c);
        }
        e.maybe_text(columns::AVAILABILITY, edit.availability);
        if let Some(s) = edit.status {
            e.set(columns::STATUS, s);
        }
        self.commit_live(id, e)
    }

    /// A resident posts a need for an item or a skill.
    pub fn post_need(&self, new: NewNeed) -> Result<Uuid> {
        let id = Uuid::now_v7();
        let (mut e, _) = self.creation(Table::Need)?;
        e.set(columns::TITLE, new.title);
        e.maybe_text(columns::DESCRIPTION, new.description);
        e.set(columns::WANT, new.want.clone());
        if let Some(c) = &new.category {
            check_need_category(&new.want, c).map_err(|r| Error::invalid(columns::CATEGORY, r))?;
        }
        e.maybe_text(columns::CATEGORY, new.category);
        e.set(columns::STATUS, "open");
        check_pair(new.lat, new.lon)?;
        let (lat, lon) = self.listing_position(new.lat, new.lon);
        e.set(columns::LAT, lat);
        e.set(columns::LON, lon);
        self.commit(id, e)?;
        Ok(id)
    }

    /// The owner edits a need.
    pub fn edit_need(&self, id: Uuid, edit: NeedEdit) -> Result<()> {
        let row = self.require_live(Table::Need, id)?;
        let mut e = Edits::new(Table::Need);
        if let Some(t) = edit.title {
            e.set(columns::TITLE, t);
        }
        e.maybe_text(columns::DESCRIPTION, edit.description);
        if let Some(c) = edit.category.as_deref().filter(|c| !c.is_empty()) {
            check_need_category(&row.text_or_empty(columns::WANT), c)
                .map_err(|r| Error::invalid(columns::CATEGORY, r))?;
        }
        e.maybe_text(columns::CATEGORY, edit.category);
        if let Some(s) = edit.status {
            e.set(columns::STATUS, s);
        }
        self.commit_live(id, e)
    }

    /// The owner withdraws an item: it stays, but is no longer offered.
    pub fn withdraw_item(&self, id: Uuid) -> Result<()> {
        self.act(|act| {
            let row = act.live(Table::Item, id)?;
            if row.text(columns::STATUS).as_deref() == Some("given") {
                return Err(Error::invalid(
                    columns::STATUS,
                    "a given item cannot be withdrawn",
                ));
            }
            act.write(
                Table::Item,
                id,
                &[Edit::Set(columns::STATUS, Value::from("withdrawn"))],
            )
        })
    }

    /// The owner deletes a listing: it ends deleted on every phone and its
    /// content is erased everywhere.
    pub fn delete_listing(&self, table: Table, id: Uuid) -> Result<()> {
        if !table.is_listing() {
            return Err(Error::invalid("table", "only listings can be deleted"));
        }
        self.require_live(table, id)?;
        let mut e = Edits::new(table);
        e.set(columns::DELETED, true);
        self.commit_live(id, e)?;
        if table == Table::Item {
            self.erase_photos_after_write();
        }
        Ok(())
    }

    /// Grid staff hide (or show again) a listing of their community.
    pub fn hide_listing(&self, table: Table, id: Uuid, hidden: bool) -> Result<()> {
        if !table.is_listing() {
            return Err(Error::invalid("table", "only listings can be hidden"));
        }
        self.require_live(table, id)?;
        let mut e = Edits::new(table);
        e.set(columns::HIDDEN, hidden);
        self.commit_live(id, e)
    }

    pub(crate) fn record(&self, table: Table, fields: Vec<(&'static str, Value)>) -> Result<Uuid> {
        let id = Uuid::now_v7();
        let mut e = Edits::new(table);
        for (c, v) in fields {
            e.set(c, v);
        }
        e.set(columns::CREATED_AT, self.now_ms());
        self.commit(id, e)?;
        Ok(id)
    }

    /// A record that names nobody: a random id (no embedded time), a time
    /// rounded down to `granularity_ms`, and no device in its stamp.
    fn anonymous_record(
        &self,
        table: Table,
        fields: Vec<(&'static str, Value)>,
        granularity_ms: i64,
    ) -> Result<Uuid> {
        let id = Uuid::new_v4();
        let now = self.now_ms();
        let mut e = Edits::new(table);
        for (c, v) in fields {
            e.set(c, v);
        }
        e.set(columns::CREATED_AT, now - now.rem_euclid(granularity_ms));
        self.write_anonymous(table, id, &e.edits, granularity_ms)?;
        Ok(id)
    }

    /// A resident asks for an item and joins its queue.
    pub fn request_item(&self, item_id: Uuid, note: Option<String>) -> Result<Uuid> {
        self.act(|act| {
            let item = act.live(Table::Item, item_id)?;
            if item.text(columns::STATUS).as_deref() != Some("available")
                && item.text(columns::STATUS).as_deref() != Some("reserved")
            {
                return Err(Error::invalid("item", "the item is no longer offered"));
            }
            if item
                .int(columns::EXPIRES_AT)
                .is_some_and(|t| t <= act.ctx.now_ms)
            {
                return Err(Error::invalid("item", "the item has expired"));
            }
            let requester = act.actor.user.to_string();
            act.record(
                Table::ItemRequest,
                vec![
                    (columns::ITEM_ID, item_id.to_string().into()),
                    (columns::REQUESTER, requester.into()),
                    (
                        columns::COMMUNITY,
                        item.text_or_empty(columns::COMMUNITY).into(),
                    ),
                    (columns::NOTE, note.filter(|n| !n.is_empty()).into()),
                ],
            )
        })
    }

    /// Anyone reports a station's state, such as "no water"; reports expire.
    pub fn report_station(
        &self,
        station_id: Uuid,
        kind: &str,
        note: Option<String>,
    ) -> Result<Uuid> {
        self.actor()?;
        let st = self.require_live(Table::Station, station_id)?;
        // Reports say where someone was: they carry no user, no device and
        // a time to the minute only, so a worker's whereabouts never leave
        // the phone with their name on them.
        let now = self.now_ms();
        let expires =
            now - now.rem_euclid(MINUTE_MS) + self.config().report_ttl_hours * 60 * MINUTE_MS;
        self.anonymous_record(
            Table::StationReport,
            vec![
                (columns::STATION_ID, station_id.to_string().into()),
                (columns::KIND, kind.into()),
                (columns::NOTE, note.filter(|n| !n.is_empty()).into()),
                (
                    columns::COMMUNITY,
                    st.text_or_empty(columns::COMMUNITY).into(),
                ),
                (columns::EXPIRES_AT, expires.into()),
            ],
            MINUTE_MS,
        )
    }

    /// An outdoor worker says "I rested here": anonymous, only counted.
    pub fn check_in(&self, station_id: Uuid) -> Result<Uuid> {
        self.actor()?;
        let st = self.require_live(Table::Station, station_id)?;
        // Counted per hour at most: nothing in it says who or exactly when.
        self.anonymous_record(
            Table::StationCheckin,
            vec![
                (columns::STATION_ID, station_id.to_string().into()),
                (
                    columns::COMMUNITY,
                    st.text_or_empty(columns::COMMUNITY).into(),
                ),
            ],
            60 * MINUTE_MS,
        )
    }

    /// One row by id, deleted or not.
    pub fn fetch_row(&self, table: Table, id: Uuid) -> Result<Option<RowData>> {
        self.read(|c| fetch_row(c, table, id))
    }

    /// An item by id (deleted items are not found).
    pub fn item(&self, id: Uuid) -> Result<Item> {
        Ok(Item::from(&self.require_live(Table::Item, id)?))
    }

    /// A station by id.
    pub fn station(&self, id: Uuid) -> Result<Station> {
        Ok(Station::from(&self.require_live(Table::Station, id)?))
    }

    /// A skill offer by id.
    pub fn skill(&self, id: Uuid) -> Result<Skill> {
        Ok(Skill::from(&self.require_live(Table::Skill, id)?))
    }

    /// A need by id.
    pub fn need(&self, id: Uuid) -> Result<Need> {
        Ok(Need::from(&self.require_live(Table::Need, id)?))
    }

    /// Every row of every replicated table, ordered by table and id: what two
    /// converged replicas must agree on.
    pub fn snapshot(&self) -> Result<Vec<RowData>> {
        self.read(|c| {
            let mut out = Vec::new();
            for def in crate::model::tables::TABLES {
                out.extend(select_rows(c, def.table, "1 ORDER BY id", [])?);
            }
            Ok(out)
        })
    }
}

/// Rows of `table` matching a SQL condition (with `?` parameters).
pub(crate) fn select_rows<P: rusqlite::Params>(
    c: &rusqlite::Connection,
    table: Table,
    condition: &str,
    params: P,
) -> Result<Vec<RowData>> {
    let def = table.def();
    let cols: Vec<&str> = def.columns.iter().map(|c| c.name).collect();
    let sql = format!(
        "SELECT id, {} FROM {} WHERE {}",
        cols.join(", "),
        def.name,
        condition
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params, |r| {
        let id: Vec<u8> = r.get(0)?;
        let mut values = Vec::with_capacity(cols.len());
        for i in 0..cols.len() {
            values.push(r.get(i + 1)?);
        }
        Ok((id, values))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, values) = row?;
        let id = Uuid::from_slice(&id).map_err(|_| Error::Corrupt("bad row id".into()))?;
        out.push(RowData { id, table, values });
    }
    Ok(out)
}

/// One row by id.
pub(crate) fn fetch_row(
    c: &rusqlite::Connection,
    table: Table,
    id: Uuid,
) -> Result<Option<RowData>> {
    let def = table.def();
    let cols: Vec<&str> = def.columns.iter().map(|c| c.name).collect();
    let sql = format!("SELECT {} FROM {} WHERE id = ?1", cols.join(", "), def.name);
    let values = c
        .prepare_cached(&sql)?
        .query_row([id.as_bytes()], |r| {
            (0..cols.len())
                .map(|i| r.get(i))
                .collect::<rusqlite::Result<Vec<Value>>>()
        })
        .optional()?;
    Ok(values.map(|values| RowData { id, table, values }))
}
