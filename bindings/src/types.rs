//! The few records of the API that are the FFI's own; every other record and
//! enum the app sees is the core's own type (`fushi_core`, feature `uniffi`).
//! Ids are UUID strings, times are Unix milliseconds (`i64`), positions are
//! WGS-84 unless a name says GCJ-02, codes (categories, amenities, modes,
//! statuses) are the catalogue's strings.
//!
//! - [`SyncSettings`]: where and as whom to sync (the client's settings).
//! - [`User`]: who signs in; its id is text the app typed or stored, so it
//!   is checked here with an error that names the field.
//! - [`CatalogueKind`], [`Category`]: views of the core's static catalogues.

use crate::error::FushiError;
use fushi_core::model as core_model;
use fushi_core::policy::{Actor, Role};
use uuid::Uuid;

/// Parse an id given by the app; `field` names it in the error.
pub(crate) fn parse_id(field: &str, id: &str) -> Result<Uuid, FushiError> {
    Uuid::parse_str(id).map_err(|_| FushiError::invalid(field, "is not a valid id"))
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

impl TryFrom<User> for Actor {
    type Error = FushiError;
    fn try_from(u: User) -> Result<Self, FushiError> {
        Ok(Actor {
            user: parse_id("user_id", &u.user_id)?,
            role: u.role,
            community: u.community,
        })
    }
}

// ---------------------------------------------------------------------------
// Catalogue

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
