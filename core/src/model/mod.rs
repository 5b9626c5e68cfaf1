//! What the community shares: the four listing kinds and the append-only
//! records, their fields, categories and validation.

pub mod catalogue;
pub mod columns;
pub mod tables;
mod value;

pub use value::Value;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The four listing kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
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

impl ListingKind {
    /// The table of this kind.
    pub fn table(self) -> tables::Table {
        match self {
            ListingKind::Item => tables::Table::Item,
            ListingKind::Station => tables::Table::Station,
            ListingKind::Skill => tables::Table::Skill,
            ListingKind::Need => tables::Table::Need,
        }
    }

    /// The kind of a listing table (`None` for the record tables).
    pub fn of(table: tables::Table) -> Option<ListingKind> {
        match table {
            tables::Table::Item => Some(ListingKind::Item),
            tables::Table::Station => Some(ListingKind::Station),
            tables::Table::Skill => Some(ListingKind::Skill),
            tables::Table::Need => Some(ListingKind::Need),
            _ => None,
        }
    }
}

/// A row read back from the store: its id and values by column.
#[derive(Clone, Debug, PartialEq)]
pub struct RowData {
    /// Row id.
    pub id: Uuid,
    /// The table.
    pub table: tables::Table,
    /// Values in column order.
    pub values: Vec<Value>,
}

impl RowData {
    /// The value of a column (Null if unknown).
    pub fn get(&self, column: &str) -> &Value {
        const NULL: Value = Value::Null;
        self.table
            .def()
            .column_index(column)
            .and_then(|i| self.values.get(i))
            .unwrap_or(&NULL)
    }

    /// Text of a column.
    pub fn text(&self, column: &str) -> Option<String> {
        self.get(column).as_str().map(str::to_owned)
    }

    /// Text of a required column ("" if missing, which only a deleted row has).
    pub fn text_or_empty(&self, column: &str) -> String {
        self.text(column).unwrap_or_default()
    }

    /// Integer of a column.
    pub fn int(&self, column: &str) -> Option<i64> {
        self.get(column).as_i64()
    }

    /// Number of a column.
    pub fn real(&self, column: &str) -> Option<f64> {
        self.get(column).as_f64()
    }

    /// Boolean of a column.
    pub fn flag(&self, column: &str) -> bool {
        self.int(column) == Some(1)
    }

    /// UUID of a column.
    pub fn uuid(&self, column: &str) -> Option<Uuid> {
        self.get(column)
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
    }

    /// Elements of a set column.
    pub fn set(&self, column: &str) -> Vec<String> {
        self.get(column)
            .as_str()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default()
    }
}

/// A new idle item.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NewItem {
    /// Title, at most 60 characters.
    pub title: String,
    /// Description, at most 2000 characters.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub description: Option<String>,
    /// Category code from [`catalogue::ITEM_CATEGORIES`].
    pub category: String,
    /// Condition: new, like_new, good, fair, for_parts.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub condition: Option<String>,
    /// give or swap.
    pub mode: String,
    /// What the owner would like in a swap.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub swap_for: Option<String>,
    /// Pickup place at compound (小区) level, never a flat number.
    pub pickup_area: String,
    /// Compound centre latitude (WGS-84).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub lat: Option<f64>,
    /// Compound centre longitude (WGS-84).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub lon: Option<f64>,
    /// Photo references.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub photos: Vec<String>,
    /// Tags ("可议价", "需自提"): at most 10 of at most 20 characters.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub tags: Vec<String>,
}

/// Changes to an item; `None` leaves a field as it is, `Some("")` clears an
/// optional text.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ItemEdit {
    /// New title.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub title: Option<String>,
    /// New description.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub description: Option<String>,
    /// New category.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub category: Option<String>,
    /// New condition.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub condition: Option<String>,
    /// New mode.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub mode: Option<String>,
    /// New swap wish.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub swap_for: Option<String>,
    /// New pickup area.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub pickup_area: Option<String>,
    /// Photos to add.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub add_photos: Vec<String>,
    /// Photos to remove.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub remove_photos: Vec<String>,
    /// Tags to add.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub add_tags: Vec<String>,
    /// Tags to remove.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub remove_tags: Vec<String>,
}

/// An idle item as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Item {
    /// Id.
    pub id: Uuid,
    /// Owner's account id.
    pub owner: Uuid,
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
    /// give or swap.
    pub mode: String,
    /// available, reserved, given or withdrawn.
    pub status: String,
    /// Swap wish.
    pub swap_for: Option<String>,
    /// Compound-level pickup place.
    pub pickup_area: String,
    /// Compound latitude.
    pub lat: Option<f64>,
    /// Compound longitude.
    pub lon: Option<f64>,
    /// Expires at (Unix ms).
    pub expires_at: i64,
    /// Photo references.
    pub photos: Vec<String>,
    /// The request accepted, while reserved.
    pub reserved_for: Option<Uuid>,
    /// Hidden by grid staff.
    pub hidden: bool,
    /// Deleted (content erased).
    pub deleted: bool,
    /// Tags, in sorted order.
    #[serde(default)]
    pub tags: Vec<String>,
}

impl From<&RowData> for Item {
    fn from(r: &RowData) -> Item {
        Item {
            id: r.id,
            owner: r.uuid(columns::OWNER).unwrap_or_default(),
            community: r.text_or_empty(columns::COMMUNITY),
            created_at: r.int(columns::CREATED_AT).unwrap_or_default(),
            title: r.text_or_empty(columns::TITLE),
            description: r.text(columns::DESCRIPTION),
            category: r.text_or_empty(columns::CATEGORY),
            condition: r.text(columns::CONDITION),
            mode: r.text_or_empty(columns::MODE),
            status: r.text_or_empty(columns::STATUS),
            swap_for: r.text(columns::SWAP_FOR),
            pickup_area: r.text_or_empty(columns::PICKUP_AREA),
            lat: r.real(columns::LAT),
            lon: r.real(columns::LON),
            expires_at: r.int(columns::EXPIRES_AT).unwrap_or_default(),
            photos: r.set(columns::PHOTOS),
            reserved_for: r.uuid(columns::RESERVED_FOR),
            hidden: r.flag(columns::HIDDEN),
            deleted: r.flag(columns::DELETED),
            tags: r.set(columns::TAGS),
        }
    }
}

/// A new station.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NewStation {
    /// Name.
    pub name: String,
    /// Street address.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub address: Option<String>,
    /// Latitude (WGS-84).
    pub lat: f64,
    /// Longitude (WGS-84).
    pub lon: f64,
    /// Kind code from [`catalogue::STATION_KINDS`].
    pub kind: String,
    /// Amenity codes from [`catalogue::AMENITIES`].
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub amenities: Vec<String>,
    /// Opening hours in OSM `opening_hours` syntax.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub opening_hours: Option<String>,
    /// Host organisation.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub host_org: Option<String>,
    /// The host organisation's contact number.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub contact: Option<String>,
    /// Free note.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub note: Option<String>,
}

/// Changes to a station.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct StationEdit {
    /// New name.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub name: Option<String>,
    /// New address.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub address: Option<String>,
    /// New latitude (give with longitude).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub lat: Option<f64>,
    /// New longitude.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub lon: Option<f64>,
    /// New kind.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub kind: Option<String>,
    /// Amenities to add.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub add_amenities: Vec<String>,
    /// Amenities to remove.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub remove_amenities: Vec<String>,
    /// New opening hours.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub opening_hours: Option<String>,
    /// New host organisation.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub host_org: Option<String>,
    /// New contact.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub contact: Option<String>,
    /// New note.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub note: Option<String>,
}

/// A station as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Station {
    /// Id.
    pub id: Uuid,
    /// The grid staff member who created it.
    pub owner: Uuid,
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
    /// Deleted.
    pub deleted: bool,
}

impl From<&RowData> for Station {
    fn from(r: &RowData) -> Station {
        Station {
            id: r.id,
            owner: r.uuid(columns::OWNER).unwrap_or_default(),
            community: r.text_or_empty(columns::COMMUNITY),
            created_at: r.int(columns::CREATED_AT).unwrap_or_default(),
            name: r.text_or_empty(columns::NAME),
            address: r.text(columns::ADDRESS),
            lat: r.real(columns::LAT).unwrap_or_default(),
            lon: r.real(columns::LON).unwrap_or_default(),
            kind: r.text_or_empty(columns::KIND),
            amenities: r.set(columns::AMENITIES),
            opening_hours: r.text(columns::OPENING_HOURS),
            host_org: r.text(columns::HOST_ORG),
            contact: r.text(columns::CONTACT),
            note: r.text(columns::NOTE),
            hidden: r.flag(columns::HIDDEN),
            deleted: r.flag(columns::DELETED),
        }
    }
}

/// A new skill offer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NewSkill {
    /// Title.
    pub title: String,
    /// Description.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub description: Option<String>,
    /// Category code from [`catalogue::SKILL_CATEGORIES`].
    pub category: String,
    /// When the resident is available, free text.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub availability: Option<String>,
    /// Compound latitude.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub lat: Option<f64>,
    /// Compound longitude.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub lon: Option<f64>,
}

/// Changes to a skill offer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SkillEdit {
    /// New title.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub title: Option<String>,
    /// New description.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub description: Option<String>,
    /// New category.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub category: Option<String>,
    /// New availability.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub availability: Option<String>,
    /// active or paused.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub status: Option<String>,
}

/// A skill offer as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Skill {
    /// Id.
    pub id: Uuid,
    /// Owner.
    pub owner: Uuid,
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
    /// active or paused.
    pub status: String,
    /// Compound latitude.
    pub lat: Option<f64>,
    /// Compound longitude.
    pub lon: Option<f64>,
    /// Hidden.
    pub hidden: bool,
    /// Deleted.
    pub deleted: bool,
}

impl From<&RowData> for Skill {
    fn from(r: &RowData) -> Skill {
        Skill {
            id: r.id,
            owner: r.uuid(columns::OWNER).unwrap_or_default(),
            community: r.text_or_empty(columns::COMMUNITY),
            created_at: r.int(columns::CREATED_AT).unwrap_or_default(),
            title: r.text_or_empty(columns::TITLE),
            description: r.text(columns::DESCRIPTION),
            category: r.text_or_empty(columns::CATEGORY),
            availability: r.text(columns::AVAILABILITY),
            status: r.text_or_empty(columns::STATUS),
            lat: r.real(columns::LAT),
            lon: r.real(columns::LON),
            hidden: r.flag(columns::HIDDEN),
            deleted: r.flag(columns::DELETED),
        }
    }
}

/// A new need.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NewNeed {
    /// Title.
    pub title: String,
    /// Description.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub description: Option<String>,
    /// item or skill.
    pub want: String,
    /// Optional item or skill category code.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub category: Option<String>,
    /// Compound latitude.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub lat: Option<f64>,
    /// Compound longitude.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub lon: Option<f64>,
}

/// Changes to a need.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NeedEdit {
    /// New title.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub title: Option<String>,
    /// New description.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub description: Option<String>,
    /// New category.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub category: Option<String>,
    /// open, fulfilled or closed.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub status: Option<String>,
}

/// A need as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Need {
    /// Id.
    pub id: Uuid,
    /// Owner.
    pub owner: Uuid,
    /// Community.
    pub community: String,
    /// Created at (Unix ms).
    pub created_at: i64,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// item or skill.
    pub want: String,
    /// Category code.
    pub category: Option<String>,
    /// open, fulfilled or closed.
    pub status: String,
    /// Compound latitude.
    pub lat: Option<f64>,
    /// Compound longitude.
    pub lon: Option<f64>,
    /// Hidden.
    pub hidden: bool,
    /// Deleted.
    pub deleted: bool,
}

impl From<&RowData> for Need {
    fn from(r: &RowData) -> Need {
        Need {
            id: r.id,
            owner: r.uuid(columns::OWNER).unwrap_or_default(),
            community: r.text_or_empty(columns::COMMUNITY),
            created_at: r.int(columns::CREATED_AT).unwrap_or_default(),
            title: r.text_or_empty(columns::TITLE),
            description: r.text(columns::DESCRIPTION),
            want: r.text_or_empty(columns::WANT),
            category: r.text(columns::CATEGORY),
            status: r.text_or_empty(columns::STATUS),
            lat: r.real(columns::LAT),
            lon: r.real(columns::LON),
            hidden: r.flag(columns::HIDDEN),
            deleted: r.flag(columns::DELETED),
        }
    }
}

/// The category of a need must be one of the catalogue's for what it wants.
pub fn check_need_category(want: &str, category: &str) -> Result<(), &'static str> {
    let list = if want == "skill" {
        catalogue::SKILL_CATEGORIES
    } else {
        catalogue::ITEM_CATEGORIES
    };
    catalogue::find(list, category)
        .map(|_| ())
        .ok_or("is not a known category")
}
