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

/// Where and as whom to sync, and how.
///
/// Its Rust `Debug` form leaves the token out. (The generated Kotlin data
/// class and Swift struct print every field: do not log them.)
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncSettings {
    /// Base URL of the sync server, e.g. `https://sync.example.org` (no `/v1`).
    /// `https://` unless `allow_cleartext`.
    pub server_url: String,
    /// The bearer token issued for this device (`fushi-server token issue`),
    /// or empty: the token this phone got by `redeem_invite` (kept in the
    /// store). Either way a sync renews it before it expires and keeps the
    /// renewed one in the store.
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
    /// A deployment with its own CA pins it here (PEM, one or more
    /// `CERTIFICATE` blocks): the server's certificate must lead to it, and
    /// the platform's trust store is not consulted. `null`/`nil`: the
    /// platform's store (on Android a sync needs `FushiTls.init(context)`
    /// first, or it fails with `Certificate`).
    #[uniffi(default)]
    pub ca_certificate_pem: Option<String>,
    /// Allow an `http://` server URL: cleartext, for loopback development
    /// and tests only. Default false (an `http://` URL is `InvalidInput`
    /// on `server_url`).
    #[uniffi(default)]
    pub allow_cleartext: bool,
    /// Time to open a connection (TCP and TLS), in ms; `null`/`nil`: 10 s.
    #[uniffi(default)]
    pub connect_timeout_ms: Option<u32>,
    /// Time for each request and its whole answer, in ms; `null`/`nil`: 30 s.
    #[uniffi(default)]
    pub request_timeout_ms: Option<u32>,
    /// Sends of one request at most after transient failures (no
    /// connection, reset, timeout, 5xx, 429), the first included; 1 means no
    /// retry; `null`/`nil`: 5. Waits grow with jitter, up to 30 s.
    #[uniffi(default)]
    pub max_attempts: Option<u32>,
}

impl std::fmt::Debug for SyncSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncSettings")
            .field("server_url", &self.server_url)
            .field("token", &"<redacted>")
            .field("push_batch", &self.push_batch)
            .field("pull_limit", &self.pull_limit)
            .field("ca_certificate_pem", &self.ca_certificate_pem.is_some())
            .field("allow_cleartext", &self.allow_cleartext)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field("request_timeout_ms", &self.request_timeout_ms)
            .field("max_attempts", &self.max_attempts)
            .finish()
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
