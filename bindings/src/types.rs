//! The records and enums of the API, and their conversions to and from the
//! core's types. Ids are UUID strings, times are Unix milliseconds (`i64`),
//! positions are WGS-84 unless a name says GCJ-02, codes (categories,
//! amenities, modes, statuses) are the catalogue's strings.

use crate::error::FushiError;
use fushi_core::model as core_model;
use fushi_core::policy as core_policy;
use fushi_core::store as core_store;
use fushi_core::Table;
use uuid::Uuid;

/// Parse an id given by the app; `field` names it in the error.
pub(crate) fn parse_id(field: &str, id: &str) -> Result<Uuid, FushiError> {
    Uuid::parse_str(id).map_err(|_| FushiError::invalid(field, "is not a valid id"))
}

/// A count for the FFI, saturating.
pub(crate) fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A count from the FFI.
pub(crate) fn size(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

// ---------------------------------------------------------------------------
// Users, sync settings, kinds

/// Where and as whom to sync.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct SyncSettings {
    /// Base URL of the sync server, e.g. `https://sync.example.org` (no `/v1`).
    pub server_url: String,
    /// The bearer token issued for the signed-in user.
    pub token: String,
    /// Row changes sent per push request (1–500); `null`/`nil` means the
    /// core's default (500). Smaller batches mean more requests, each
    /// acknowledged on its own; tests use tiny ones so every sync is multi-batch.
    #[uniffi(default)]
    pub push_batch: Option<u32>,
    /// Row changes asked for per pull page (1–1000);
    /// `null`/`nil` means the core's default (500). Tests use tiny pages so
    /// every pull is multi-page.
    #[uniffi(default)]
    pub pull_limit: Option<u32>,
}

/// A user's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum Role {
    /// A resident (居民).
    Resident,
    /// Grid staff (网格员) of one community.
    GridStaff,
    /// Programme administrator.
    Admin,
}

impl From<Role> for core_policy::Role {
    fn from(r: Role) -> Self {
        match r {
            Role::Resident => core_policy::Role::Resident,
            Role::GridStaff => core_policy::Role::GridStaff,
            Role::Admin => core_policy::Role::Admin,
        }
    }
}

/// The signed-in user (as the token issued for them says).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct User {
    /// Pseudonymous account id (UUID).
    pub user_id: String,
    /// Role.
    pub role: Role,
    /// Community code, e.g. `"fushi"`.
    pub community: String,
}

impl TryFrom<User> for core_policy::Actor {
    type Error = FushiError;
    fn try_from(u: User) -> Result<Self, FushiError> {
        Ok(core_policy::Actor {
            user: parse_id("user_id", &u.user_id)?,
            role: u.role.into(),
            community: u.community,
        })
    }
}

/// The four listing kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum ListingKind {
    /// Idle items to give or swap.
    Item,
    /// Stations (cool stations first).
    Station,
    /// Skill offers.
    Skill,
    /// Needs.
    Need,
}

impl From<ListingKind> for Table {
    fn from(k: ListingKind) -> Table {
        match k {
            ListingKind::Item => Table::Item,
            ListingKind::Station => Table::Station,
            ListingKind::Skill => Table::Skill,
            ListingKind::Need => Table::Need,
        }
    }
}

impl From<core_store::ListingKind> for ListingKind {
    fn from(k: core_store::ListingKind) -> Self {
        match k {
            core_store::ListingKind::Item => ListingKind::Item,
            core_store::ListingKind::Skill => ListingKind::Skill,
            core_store::ListingKind::Need => ListingKind::Need,
        }
    }
}

impl ListingKind {
    /// The core's searchable kind; stations are found with `nearest_stations`.
    fn searchable(self) -> Result<core_store::ListingKind, FushiError> {
        match self {
            ListingKind::Item => Ok(core_store::ListingKind::Item),
            ListingKind::Skill => Ok(core_store::ListingKind::Skill),
            ListingKind::Need => Ok(core_store::ListingKind::Need),
            ListingKind::Station => Err(FushiError::invalid(
                "kinds",
                "stations are found with nearest_stations, not search",
            )),
        }
    }
}

/// Every kind of stored row: the four listings and the append-only records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum RowKind {
    /// An idle item.
    Item,
    /// A station.
    Station,
    /// A skill offer.
    Skill,
    /// A need.
    Need,
    /// A request for an item.
    ItemRequest,
    /// The outcome of a request (accepted, declined, no-show, cancelled).
    RequestOutcome,
    /// A station report such as "no water".
    StationReport,
    /// An anonymous check-in at a station.
    StationCheckin,
    /// One side's confirmation of a hand-over.
    Handover,
    /// A confirmed skill session.
    SkillSession,
}

impl From<Table> for RowKind {
    fn from(t: Table) -> Self {
        match t {
            Table::Item => RowKind::Item,
            Table::Station => RowKind::Station,
            Table::Skill => RowKind::Skill,
            Table::Need => RowKind::Need,
            Table::ItemRequest => RowKind::ItemRequest,
            Table::RequestOutcome => RowKind::RequestOutcome,
            Table::StationReport => RowKind::StationReport,
            Table::StationCheckin => RowKind::StationCheckin,
            Table::Handover => RowKind::Handover,
            Table::SkillSession => RowKind::SkillSession,
        }
    }
}

/// A row that changed: refresh what shows it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, uniffi::Record)]
pub struct ChangedListing {
    /// What kind of row.
    pub kind: RowKind,
    /// Its id.
    pub id: String,
}

impl ChangedListing {
    pub(crate) fn new(table: Table, id: Uuid) -> Self {
        ChangedListing {
            kind: table.into(),
            id: id.to_string(),
        }
    }
}

/// A WGS-84 or GCJ-02 point.
#[derive(Clone, Copy, Debug, PartialEq, uniffi::Record)]
pub struct GeoPoint {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
}

// ---------------------------------------------------------------------------
// Items

/// A new idle item.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct NewItem {
    /// Title, at most 60 characters.
    pub title: String,
    /// Description, at most 2000 characters.
    #[uniffi(default)]
    pub description: Option<String>,
    /// Category code (`catalogue(CatalogueKind.ITEM_CATEGORIES)`).
    pub category: String,
    /// Condition: new, like_new, good, fair, for_parts.
    #[uniffi(default)]
    pub condition: Option<String>,
    /// `give` or `swap`.
    pub mode: String,
    /// What the owner would like in a swap.
    #[uniffi(default)]
    pub swap_for: Option<String>,
    /// Pickup place at compound (小区) level, never a flat number.
    pub pickup_area: String,
    /// Compound centre latitude (WGS-84).
    #[uniffi(default)]
    pub lat: Option<f64>,
    /// Compound centre longitude (WGS-84).
    #[uniffi(default)]
    pub lon: Option<f64>,
    /// Photo references.
    #[uniffi(default)]
    pub photos: Vec<String>,
}

impl From<NewItem> for core_model::NewItem {
    fn from(n: NewItem) -> Self {
        core_model::NewItem {
            title: n.title,
            description: n.description,
            category: n.category,
            condition: n.condition,
            mode: n.mode,
            swap_for: n.swap_for,
            pickup_area: n.pickup_area,
            lat: n.lat,
            lon: n.lon,
            photos: n.photos,
        }
    }
}

/// Changes to an item; `null`/`nil` leaves a field as it is, `""` clears an
/// optional text.
#[derive(Clone, Debug, Default, PartialEq, uniffi::Record)]
pub struct ItemEdit {
    /// New title.
    #[uniffi(default)]
    pub title: Option<String>,
    /// New description.
    #[uniffi(default)]
    pub description: Option<String>,
    /// New category.
    #[uniffi(default)]
    pub category: Option<String>,
    /// New condition.
    #[uniffi(default)]
    pub condition: Option<String>,
    /// New mode.
    #[uniffi(default)]
    pub mode: Option<String>,
    /// New swap wish.
    #[uniffi(default)]
    pub swap_for: Option<String>,
    /// New pickup area.
    #[uniffi(default)]
    pub pickup_area: Option<String>,
    /// Photos to add.
    #[uniffi(default)]
    pub add_photos: Vec<String>,
    /// Photos to remove.
    #[uniffi(default)]
    pub remove_photos: Vec<String>,
}

impl From<ItemEdit> for core_model::ItemEdit {
    fn from(e: ItemEdit) -> Self {
        core_model::ItemEdit {
            title: e.title,
            description: e.description,
            category: e.category,
            condition: e.condition,
            mode: e.mode,
            swap_for: e.swap_for,
            pickup_area: e.pickup_area,
            add_photos: e.add_photos,
            remove_photos: e.remove_photos,
        }
    }
}

/// An idle item as stored.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Item {
    /// Id.
    pub id: String,
    /// Owner's account id.
    pub owner: String,
    /// Community code.
    pub community: String,
    /// Posted at (Unix ms).
    pub created_at: i64,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Category code.
    pub category: String,
    /// Condition.
    pub condition: Option<String>,
    /// `give` or `swap`.
    pub mode: String,
    /// `available`, `reserved`, `given` or `withdrawn`.
    pub status: String,
    /// Swap wish.
    pub swap_for: Option<String>,
    /// Compound-level pickup place.
    pub pickup_area: String,
    /// Compound latitude (WGS-84).
    pub lat: Option<f64>,
    /// Compound longitude (WGS-84).
    pub lon: Option<f64>,
    /// Expires at (Unix ms).
    pub expires_at: i64,
    /// Photo references.
    pub photos: Vec<String>,
    /// The accepted request, while reserved.
    pub reserved_for: Option<String>,
    /// Hidden by grid staff.
    pub hidden: bool,
}

impl From<core_model::Item> for Item {
    fn from(i: core_model::Item) -> Self {
        Item {
            id: i.id.to_string(),
            owner: i.owner.to_string(),
            community: i.community,
            created_at: i.created_at,
            title: i.title,
            description: i.description,
            category: i.category,
            condition: i.condition,
            mode: i.mode,
            status: i.status,
            swap_for: i.swap_for,
            pickup_area: i.pickup_area,
            lat: i.lat,
            lon: i.lon,
            expires_at: i.expires_at,
            photos: i.photos,
            reserved_for: i.reserved_for.map(|u| u.to_string()),
            hidden: i.hidden,
        }
    }
}

// ---------------------------------------------------------------------------
// Stations

/// A new station (grid staff).
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct NewStation {
    /// Name.
    pub name: String,
    /// Street address.
    #[uniffi(default)]
    pub address: Option<String>,
    /// Latitude (WGS-84).
    pub lat: f64,
    /// Longitude (WGS-84).
    pub lon: f64,
    /// Kind code (`catalogue(CatalogueKind.STATION_KINDS)`).
    pub kind: String,
    /// Amenity codes (`catalogue(CatalogueKind.AMENITIES)`).
    #[uniffi(default)]
    pub amenities: Vec<String>,
    /// Opening hours in OSM `opening_hours` syntax, e.g. `"Mo-Fr 08:00-18:00"`.
    #[uniffi(default)]
    pub opening_hours: Option<String>,
    /// Host organisation.
    #[uniffi(default)]
    pub host_org: Option<String>,
    /// The host organisation's contact number.
    #[uniffi(default)]
    pub contact: Option<String>,
    /// Free note.
    #[uniffi(default)]
    pub note: Option<String>,
}

impl From<NewStation> for core_model::NewStation {
    fn from(n: NewStation) -> Self {
        core_model::NewStation {
            name: n.name,
            address: n.address,
            lat: n.lat,
            lon: n.lon,
            kind: n.kind,
            amenities: n.amenities,
            opening_hours: n.opening_hours,
            host_org: n.host_org,
            contact: n.contact,
            note: n.note,
        }
    }
}

/// Changes to a station (grid staff); `null`/`nil` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, uniffi::Record)]
pub struct StationEdit {
    /// New name.
    #[uniffi(default)]
    pub name: Option<String>,
    /// New address.
    #[uniffi(default)]
    pub address: Option<String>,
    /// New latitude (give with longitude).
    #[uniffi(default)]
    pub lat: Option<f64>,
    /// New longitude (give with latitude).
    #[uniffi(default)]
    pub lon: Option<f64>,
    /// New kind.
    #[uniffi(default)]
    pub kind: Option<String>,
    /// Amenities to add.
    #[uniffi(default)]
    pub add_amenities: Vec<String>,
    /// Amenities to remove.
    #[uniffi(default)]
    pub remove_amenities: Vec<String>,
    /// New opening hours.
    #[uniffi(default)]
    pub opening_hours: Option<String>,
    /// New host organisation.
    #[uniffi(default)]
    pub host_org: Option<String>,
    /// New contact.
    #[uniffi(default)]
    pub contact: Option<String>,
    /// New note.
    #[uniffi(default)]
    pub note: Option<String>,
}

impl From<StationEdit> for core_model::StationEdit {
    fn from(e: StationEdit) -> Self {
        core_model::StationEdit {
            name: e.name,
            address: e.address,
            lat: e.lat,
            lon: e.lon,
            kind: e.kind,
            add_amenities: e.add_amenities,
            remove_amenities: e.remove_amenities,
            opening_hours: e.opening_hours,
            host_org: e.host_org,
            contact: e.contact,
            note: e.note,
        }
    }
}

/// A station as stored.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Station {
    /// Id.
    pub id: String,
    /// The grid staff member (or importer) who created it.
    pub owner: String,
    /// Community code.
    pub community: String,
    /// Created at (Unix ms).
    pub created_at: i64,
    /// Name.
    pub name: String,
    /// Address.
    pub address: Option<String>,
    /// Latitude (WGS-84).
    pub lat: f64,
    /// Longitude (WGS-84).
    pub lon: f64,
    /// Kind code.
    pub kind: String,
    /// Amenity codes, sorted.
    pub amenities: Vec<String>,
    /// Opening hours.
    pub opening_hours: Option<String>,
    /// Host organisation.
    pub host_org: Option<String>,
    /// Contact.
    pub contact: Option<String>,
    /// Note.
    pub note: Option<String>,
    /// Hidden.
    pub hidden: bool,
}

impl From<core_model::Station> for Station {
    fn from(s: core_model::Station) -> Self {
        Station {
            id: s.id.to_string(),
            owner: s.owner.to_string(),
            community: s.community,
            created_at: s.created_at,
            name: s.name,
            address: s.address,
            lat: s.lat,
            lon: s.lon,
            kind: s.kind,
            amenities: s.amenities,
            opening_hours: s.opening_hours,
            host_org: s.host_org,
            contact: s.contact,
            note: s.note,
            hidden: s.hidden,
        }
    }
}

/// What an outdoor worker asks: stations near a point.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct NearbyQuery {
    /// The worker's latitude (WGS-84, as GPS gives it). Never leaves the phone.
    pub lat: f64,
    /// The worker's longitude (WGS-84).
    pub lon: f64,
    /// Search radius in metres (at most 100 000).
    #[uniffi(default = 3000.0)]
    pub radius_m: f64,
    /// How many stations at most (1–100).
    #[uniffi(default = 10)]
    pub limit: u32,
    /// Amenity codes every station must have, e.g. `["drinking_water"]`.
    #[uniffi(default)]
    pub amenities: Vec<String>,
    /// Only stations of this kind code.
    #[uniffi(default)]
    pub kind: Option<String>,
    /// Only stations open at this moment (Unix ms); pass `now_ms()` for
    /// "open now". Stations without (parseable) hours are then left out.
    #[uniffi(default)]
    pub open_at: Option<i64>,
}

impl From<NearbyQuery> for core_store::NearbyQuery {
    fn from(q: NearbyQuery) -> Self {
        core_store::NearbyQuery {
            lat: q.lat,
            lon: q.lon,
            radius_m: q.radius_m,
            limit: size(q.limit),
            amenities: q.amenities,
            kind: q.kind,
            open_at: q.open_at,
        }
    }
}

/// A current report on a station, e.g. "no water since 10:20".
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct StationReport {
    /// Report id.
    pub id: String,
    /// Report kind code (`catalogue(CatalogueKind.REPORT_KINDS)`).
    pub kind: String,
    /// The reporter's note.
    pub note: Option<String>,
    /// Reported at (Unix ms).
    pub created_at: i64,
    /// No longer shown after (Unix ms).
    pub expires_at: i64,
}

impl From<core_store::ReportView> for StationReport {
    fn from(r: core_store::ReportView) -> Self {
        StationReport {
            id: r.id.to_string(),
            kind: r.kind,
            note: r.note,
            created_at: r.created_at,
            expires_at: r.expires_at,
        }
    }
}

/// A station near the worker.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct NearbyStation {
    /// Station id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Address.
    pub address: Option<String>,
    /// Kind code.
    pub kind: String,
    /// Latitude (WGS-84).
    pub lat: f64,
    /// Longitude (WGS-84).
    pub lon: f64,
    /// Latitude in GCJ-02, for Chinese map SDKs.
    pub gcj02_lat: f64,
    /// Longitude in GCJ-02.
    pub gcj02_lon: f64,
    /// Metres from the asked point.
    pub distance_m: f64,
    /// Amenity codes, sorted.
    pub amenities: Vec<String>,
    /// Opening hours as entered.
    pub opening_hours: Option<String>,
    /// Open now; `null`/`nil` without (parseable) hours.
    pub open_now: Option<bool>,
    /// When open: closes at (Unix ms), if within the next days.
    pub closes_at: Option<i64>,
    /// When closed: opens at (Unix ms), if within the next days.
    pub opens_at: Option<i64>,
    /// Host organisation.
    pub host_org: Option<String>,
    /// The host organisation's contact number.
    pub contact: Option<String>,
    /// Current reports, oldest first.
    pub reports: Vec<StationReport>,
}

impl From<core_store::NearbyStation> for NearbyStation {
    fn from(s: core_store::NearbyStation) -> Self {
        NearbyStation {
            id: s.id.to_string(),
            name: s.name,
            address: s.address,
            kind: s.kind,
            lat: s.lat,
            lon: s.lon,
            gcj02_lat: s.gcj02_lat,
            gcj02_lon: s.gcj02_lon,
            distance_m: s.distance_m,
            amenities: s.amenities,
            opening_hours: s.opening_hours,
            open_now: s.open_now,
            closes_at: s.closes_at,
            opens_at: s.opens_at,
            host_org: s.host_org,
            contact: s.contact,
            reports: s.reports.into_iter().map(Into::into).collect(),
        }
    }
}

// ---------------------------------------------------------------------------
// Skills and needs

/// A new skill offer.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct NewSkill {
    /// Title.
    pub title: String,
    /// Description.
    #[uniffi(default)]
    pub description: Option<String>,
    /// Category code (`catalogue(CatalogueKind.SKILL_CATEGORIES)`).
    pub category: String,
    /// When the resident is available, free text.
    #[uniffi(default)]
    pub availability: Option<String>,
    /// Compound latitude (WGS-84).
    #[uniffi(default)]
    pub lat: Option<f64>,
    /// Compound longitude (WGS-84).
    #[uniffi(default)]
    pub lon: Option<f64>,
}

impl From<NewSkill> for core_model::NewSkill {
    fn from(n: NewSkill) -> Self {
        core_model::NewSkill {
            title: n.title,
            description: n.description,
            category: n.category,
            availability: n.availability,
            lat: n.lat,
            lon: n.lon,
        }
    }
}

/// Changes to a skill offer; `null`/`nil` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, uniffi::Record)]
pub struct SkillEdit {
    /// New title.
    #[uniffi(default)]
    pub title: Option<String>,
    /// New description.
    #[uniffi(default)]
    pub description: Option<String>,
    /// New category.
    #[uniffi(default)]
    pub category: Option<String>,
    /// New availability.
    #[uniffi(default)]
    pub availability: Option<String>,
    /// `active` or `paused`.
    #[uniffi(default)]
    pub status: Option<String>,
}

impl From<SkillEdit> for core_model::SkillEdit {
    fn from(e: SkillEdit) -> Self {
        core_model::SkillEdit {
            title: e.title,
            description: e.description,
            category: e.category,
            availability: e.availability,
            status: e.status,
        }
    }
}

/// A skill offer as stored.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Skill {
    /// Id.
    pub id: String,
    /// Owner.
    pub owner: String,
    /// Community.
    pub community: String,
    /// Created at (Unix ms).
    pub created_at: i64,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Category code.
    pub category: String,
    /// Availability.
    pub availability: Option<String>,
    /// `active` or `paused`.
    pub status: String,
    /// Compound latitude.
    pub lat: Option<f64>,
    /// Compound longitude.
    pub lon: Option<f64>,
    /// Hidden.
    pub hidden: bool,
}

impl From<core_model::Skill> for Skill {
    fn from(s: core_model::Skill) -> Self {
        Skill {
            id: s.id.to_string(),
            owner: s.owner.to_string(),
            community: s.community,
            created_at: s.created_at,
            title: s.title,
            description: s.description,
            category: s.category,
            availability: s.availability,
            status: s.status,
            lat: s.lat,
            lon: s.lon,
            hidden: s.hidden,
        }
    }
}

/// A new need: a resident's ask for an item or a skill.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct NewNeed {
    /// Title.
    pub title: String,
    /// Description.
    #[uniffi(default)]
    pub description: Option<String>,
    /// `item` or `skill`.
    pub want: String,
    /// Optional item or skill category code.
    #[uniffi(default)]
    pub category: Option<String>,
    /// Compound latitude (WGS-84).
    #[uniffi(default)]
    pub lat: Option<f64>,
    /// Compound longitude (WGS-84).
    #[uniffi(default)]
    pub lon: Option<f64>,
}

impl From<NewNeed> for core_model::NewNeed {
    fn from(n: NewNeed) -> Self {
        core_model::NewNeed {
            title: n.title,
            description: n.description,
            want: n.want,
            category: n.category,
            lat: n.lat,
            lon: n.lon,
        }
    }
}

/// Changes to a need; `null`/`nil` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, uniffi::Record)]
pub struct NeedEdit {
    /// New title.
    #[uniffi(default)]
    pub title: Option<String>,
    /// New description.
    #[uniffi(default)]
    pub description: Option<String>,
    /// New category.
    #[uniffi(default)]
    pub category: Option<String>,
    /// `open`, `fulfilled` or `closed`.
    #[uniffi(default)]
    pub status: Option<String>,
}

impl From<NeedEdit> for core_model::NeedEdit {
    fn from(e: NeedEdit) -> Self {
        core_model::NeedEdit {
            title: e.title,
            description: e.description,
            category: e.category,
            status: e.status,
        }
    }
}

/// A need as stored.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Need {
    /// Id.
    pub id: String,
    /// Owner.
    pub owner: String,
    /// Community.
    pub community: String,
    /// Created at (Unix ms).
    pub created_at: i64,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// `item` or `skill`.
    pub want: String,
    /// Category code.
    pub category: Option<String>,
    /// `open`, `fulfilled` or `closed`.
    pub status: String,
    /// Compound latitude.
    pub lat: Option<f64>,
    /// Compound longitude.
    pub lon: Option<f64>,
    /// Hidden.
    pub hidden: bool,
}

impl From<core_model::Need> for Need {
    fn from(n: core_model::Need) -> Self {
        Need {
            id: n.id.to_string(),
            owner: n.owner.to_string(),
            community: n.community,
            created_at: n.created_at,
            title: n.title,
            description: n.description,
            want: n.want,
            category: n.category,
            status: n.status,
            lat: n.lat,
            lon: n.lon,
            hidden: n.hidden,
        }
    }
}

// ---------------------------------------------------------------------------
// Search and matches

/// The order of search results.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, uniffi::Enum)]
pub enum SortBy {
    /// Best text match first; newest first without text.
    #[default]
    Relevance,
    /// Newest first.
    Recency,
    /// Nearest to `near` first; listings without a position last.
    Distance,
}

impl From<SortBy> for core_store::SortBy {
    fn from(s: SortBy) -> Self {
        match s {
            SortBy::Relevance => core_store::SortBy::Relevance,
            SortBy::Recency => core_store::SortBy::Recency,
            SortBy::Distance => core_store::SortBy::Distance,
        }
    }
}

/// What a resident searches for (items, skills, needs; Chinese text works).
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct SearchQuery {
    /// What they typed; blank browses everything that passes the filters.
    #[uniffi(default)]
    pub text: String,
    /// Kinds to search (item, skill, need); empty means all three.
    #[uniffi(default)]
    pub kinds: Vec<ListingKind>,
    /// Category code.
    #[uniffi(default)]
    pub category: Option<String>,
    /// Status; by default items available or reserved, skills active, needs open.
    #[uniffi(default)]
    pub status: Option<String>,
    /// Item mode, `give` or `swap`; only items are returned when set.
    #[uniffi(default)]
    pub mode: Option<String>,
    /// A WGS-84 point for the distance filter and order.
    #[uniffi(default)]
    pub near: Option<GeoPoint>,
    /// Only listings within this many metres of `near`.
    #[uniffi(default)]
    pub within_m: Option<f64>,
    /// Order; `null`/`nil` means [`SortBy::Relevance`].
    #[uniffi(default)]
    pub sort: Option<SortBy>,
    /// Hits to skip (paging).
    #[uniffi(default)]
    pub offset: u32,
    /// Hits per page (1–100; 0 means 20).
    #[uniffi(default)]
    pub limit: u32,
    /// Grid staff only: include listings hidden by moderation.
    #[uniffi(default)]
    pub include_hidden: bool,
}

impl TryFrom<SearchQuery> for core_store::SearchQuery {
    type Error = FushiError;
    fn try_from(q: SearchQuery) -> Result<Self, FushiError> {
        Ok(core_store::SearchQuery {
            text: q.text,
            kinds: q
                .kinds
                .into_iter()
                .map(ListingKind::searchable)
                .collect::<Result<_, _>>()?,
            category: q.category,
            status: q.status,
            mode: q.mode,
            near: q.near.map(|p| (p.lat, p.lon)),
            within_m: q.within_m,
            sort: q.sort.unwrap_or_default().into(),
            offset: size(q.offset),
            limit: size(q.limit),
            include_hidden: q.include_hidden,
        })
    }
}

/// One search result.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct SearchHit {
    /// Item, skill or need.
    pub kind: ListingKind,
    /// Listing id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Category code.
    pub category: Option<String>,
    /// Status.
    pub status: String,
    /// Item mode (items only).
    pub mode: Option<String>,
    /// Posted at (Unix ms).
    pub created_at: i64,
    /// Compound-level pickup place (items only).
    pub pickup_area: Option<String>,
    /// Metres from `near`, when both positions are known.
    pub distance_m: Option<f64>,
    /// Text score (lower is better; 0 without text).
    pub score: f64,
    /// Hidden by moderation (only ever true for grid staff).
    pub hidden: bool,
}

impl From<core_store::SearchHit> for SearchHit {
    fn from(h: core_store::SearchHit) -> Self {
        SearchHit {
            kind: h.kind.into(),
            id: h.id.to_string(),
            title: h.title,
            category: h.category,
            status: h.status,
            mode: h.mode,
            created_at: h.created_at,
            pickup_area: h.pickup_area,
            distance_m: h.distance_m,
            score: h.score,
            hidden: h.hidden,
        }
    }
}

/// One page of search results.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct SearchPage {
    /// The hits, in order.
    pub hits: Vec<SearchHit>,
    /// The offset of the next page, if there are more hits.
    pub next_offset: Option<u32>,
}

impl From<core_store::SearchPage> for SearchPage {
    fn from(p: core_store::SearchPage) -> Self {
        SearchPage {
            hits: p.hits.into_iter().map(Into::into).collect(),
            next_offset: p.next_offset.map(count),
        }
    }
}

/// Why an offer ranks where it does.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct MatchScore {
    /// Words the need and the offer share.
    pub shared_words: u32,
    /// Text part.
    pub text: f64,
    /// Category part.
    pub category: f64,
    /// Metres between need and offer, when both have a position.
    pub distance_m: Option<f64>,
    /// Distance part.
    pub distance: f64,
    /// Freshness part.
    pub freshness: f64,
    /// The sum (higher is better).
    pub total: f64,
}

/// An offer that may answer a need.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Match {
    /// The need.
    pub need_id: String,
    /// Item or skill.
    pub kind: ListingKind,
    /// The offer.
    pub offer_id: String,
    /// The offer's title.
    pub title: String,
    /// The score and its parts.
    pub score: MatchScore,
}

impl From<core_store::Match> for Match {
    fn from(m: core_store::Match) -> Self {
        Match {
            need_id: m.need_id.to_string(),
            kind: m.kind.into(),
            offer_id: m.offer_id.to_string(),
            title: m.title,
            score: MatchScore {
                shared_words: m.score.shared_words,
                text: m.score.text,
                category: m.score.category,
                distance_m: m.score.distance_m,
                distance: m.score.distance,
                freshness: m.score.freshness,
                total: m.score.total,
            },
        }
    }
}

// ---------------------------------------------------------------------------
// Item lifecycle

/// Where an item is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum ItemState {
    /// Offered; requests queue.
    Available,
    /// The owner accepted a request; waiting for the hand-over.
    Reserved,
    /// Both sides confirmed the hand-over.
    Given,
    /// The owner withdrew it.
    Withdrawn,
}

impl From<core_store::ItemState> for ItemState {
    fn from(s: core_store::ItemState) -> Self {
        match s {
            core_store::ItemState::Available => ItemState::Available,
            core_store::ItemState::Reserved => ItemState::Reserved,
            core_store::ItemState::Given => ItemState::Given,
            core_store::ItemState::Withdrawn => ItemState::Withdrawn,
        }
    }
}

/// How close an item is to expiring.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum Expiry {
    /// More than a few days left.
    Active,
    /// Expires within a few days: remind the owner to renew.
    ExpiringSoon,
    /// Expired: no longer offered.
    Expired,
}

impl From<core_store::Expiry> for Expiry {
    fn from(e: core_store::Expiry) -> Self {
        match e {
            core_store::Expiry::Active => Expiry::Active,
            core_store::Expiry::ExpiringSoon => Expiry::ExpiringSoon,
            core_store::Expiry::Expired => Expiry::Expired,
        }
    }
}

/// A request in an item's queue.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct QueuedRequest {
    /// The request's id.
    pub request_id: String,
    /// The requester's account id.
    pub requester: String,
    /// The requester's note.
    pub note: Option<String>,
    /// Requested at (Unix ms, the requester's clock).
    pub created_at: i64,
}

impl From<core_store::QueuedRequest> for QueuedRequest {
    fn from(q: core_store::QueuedRequest) -> Self {
        QueuedRequest {
            request_id: q.request_id.to_string(),
            requester: q.requester.to_string(),
            note: q.note,
            created_at: q.created_at,
        }
    }
}

/// An item's state, its queue and hand-over, as every phone derives it.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ItemLifecycle {
    /// The item.
    pub item_id: String,
    /// The owner's account id.
    pub owner: String,
    /// Derived state.
    pub state: ItemState,
    /// The stored `status` (the owner's last word).
    pub stored_status: String,
    /// The accepted request (or, once given, the one it was given to).
    pub accepted: Option<QueuedRequest>,
    /// Waiting requests, first come first served.
    pub queue: Vec<QueuedRequest>,
    /// The owner confirmed the hand-over.
    pub giver_confirmed: bool,
    /// The requester confirmed receiving it.
    pub receiver_confirmed: bool,
    /// Compound-level pickup place, the only place ever shown.
    pub pickup_area: String,
    /// Expires at (Unix ms).
    pub expires_at: i64,
    /// Expiry state now.
    pub expiry: Expiry,
    /// The signed-in user's place in the queue (0 = next), if waiting.
    pub my_position: Option<u32>,
}

impl From<core_store::ItemLifecycle> for ItemLifecycle {
    fn from(l: core_store::ItemLifecycle) -> Self {
        ItemLifecycle {
            item_id: l.item_id.to_string(),
            owner: l.owner.to_string(),
            state: l.state.into(),
            stored_status: l.stored_status,
            accepted: l.accepted.map(Into::into),
            queue: l.queue.into_iter().map(Into::into).collect(),
            giver_confirmed: l.giver_confirmed,
            receiver_confirmed: l.receiver_confirmed,
            pickup_area: l.pickup_area,
            expires_at: l.expires_at,
            expiry: l.expiry.into(),
            my_position: l.my_position.map(count),
        }
    }
}

// ---------------------------------------------------------------------------
// Figures, sync, quarantine, catalogue

/// A time range `[from_ms, to_ms)` in Unix milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Period {
    /// Start, included.
    pub from_ms: i64,
    /// End, excluded.
    pub to_ms: i64,
}

impl From<Period> for core_store::Period {
    fn from(p: Period) -> Self {
        core_store::Period {
            from_ms: p.from_ms,
            to_ms: p.to_ms,
        }
    }
}

impl From<core_store::Period> for Period {
    fn from(p: core_store::Period) -> Self {
        Period {
            from_ms: p.from_ms,
            to_ms: p.to_ms,
        }
    }
}

/// A community's programme figures for a period (grid staff).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Figures {
    /// Items posted.
    pub items_posted: u64,
    /// Items handed over (both sides confirmed).
    pub items_given: u64,
    /// Item requests.
    pub requests: u64,
    /// Station reports.
    pub station_reports: u64,
    /// Station check-ins.
    pub check_ins: u64,
    /// Confirmed skill sessions.
    pub skill_sessions: u64,
    /// Distinct receivers of given items.
    pub item_receivers: u64,
    /// Distinct beneficiaries of skill sessions.
    pub skill_beneficiaries: u64,
    /// Receivers and beneficiaries together, plus check-ins.
    pub people_served: u64,
}

impl From<core_store::Figures> for Figures {
    fn from(f: core_store::Figures) -> Self {
        Figures {
            items_posted: f.items_posted,
            items_given: f.items_given,
            requests: f.requests,
            station_reports: f.station_reports,
            check_ins: f.check_ins,
            skill_sessions: f.skill_sessions,
            item_receivers: f.item_receivers,
            skill_beneficiaries: f.skill_beneficiaries,
            people_served: f.people_served,
        }
    }
}

/// What one sync did.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct SyncReport {
    /// Row changes sent.
    pub pushed: u32,
    /// Of those, refused by the server and rolled back here (see `sync_rejections`).
    pub rejected: u32,
    /// Row changes received.
    pub pulled: u32,
    /// Received changes held back because their clock runs ahead (see `quarantine`).
    pub quarantined: u32,
    /// Whether the pull stopped before catching up.
    pub more: bool,
    /// Rows whose content changed here (also sent to the observers).
    pub changed: Vec<ChangedListing>,
}

impl From<&fushi_core::sync::SyncReport> for SyncReport {
    fn from(r: &fushi_core::sync::SyncReport) -> Self {
        SyncReport {
            pushed: count(r.pushed),
            rejected: count(r.rejected),
            pulled: count(r.pulled),
            quarantined: count(r.quarantined),
            more: r.more,
            changed: r
                .changed
                .iter()
                .map(|(t, id)| ChangedListing::new(*t, *id))
                .collect(),
        }
    }
}

/// A change the server refused; shown as "this edit was not accepted".
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct SyncRejection {
    /// Table of the row, e.g. `"station"`.
    pub table: String,
    /// Row id.
    pub id: String,
    /// Machine-readable reason (`not_owner`, `staff_only`, …).
    pub code: String,
    /// Human-readable reason.
    pub reason: String,
    /// When the refusal arrived (Unix ms).
    pub at_ms: i64,
}

impl From<fushi_core::sync::RejectionRecord> for SyncRejection {
    fn from(r: fushi_core::sync::RejectionRecord) -> Self {
        SyncRejection {
            table: r.table,
            id: r.id.to_string(),
            code: r.code,
            reason: r.reason,
            at_ms: r.at_ms,
        }
    }
}

/// A received change held back because its clock runs too far ahead; it is
/// applied once this phone's time catches up, never dropped.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct QuarantinedChange {
    /// Table of the row.
    pub table: String,
    /// Row id.
    pub id: String,
    /// The change's clock, as wall time (Unix ms).
    pub clock_wall_ms: i64,
    /// When it arrived (Unix ms).
    pub received_at: i64,
    /// Why it is held.
    pub reason: String,
}

impl From<core_store::Quarantined> for QuarantinedChange {
    fn from(q: core_store::Quarantined) -> Self {
        QuarantinedChange {
            table: q.table,
            id: q.id.to_string(),
            clock_wall_ms: q.clock_wall_ms,
            received_at: q.received_at,
            reason: q.reason,
        }
    }
}

/// The catalogues of codes the app shows as labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum CatalogueKind {
    /// Categories of idle items.
    ItemCategories,
    /// Categories of skill offers.
    SkillCategories,
    /// Station amenities (OpenStreetMap style).
    Amenities,
    /// Kinds of station.
    StationKinds,
    /// Kinds of station report.
    ReportKinds,
}

impl CatalogueKind {
    pub(crate) fn entries(self) -> &'static [core_model::catalogue::Category] {
        use core_model::catalogue as c;
        match self {
            CatalogueKind::ItemCategories => c::ITEM_CATEGORIES,
            CatalogueKind::SkillCategories => c::SKILL_CATEGORIES,
            CatalogueKind::Amenities => c::AMENITIES,
            CatalogueKind::StationKinds => c::STATION_KINDS,
            CatalogueKind::ReportKinds => c::REPORT_KINDS,
        }
    }
}

/// One catalogue entry: the code stored, the labels shown.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Category {
    /// Stable code stored in listings.
    pub code: String,
    /// Simplified Chinese label.
    pub zh: String,
    /// English label.
    pub en: String,
}

impl From<&core_model::catalogue::Category> for Category {
    fn from(c: &core_model::catalogue::Category) -> Self {
        Category {
            code: c.code.to_string(),
            zh: c.zh.to_string(),
            en: c.en.to_string(),
        }
    }
}
