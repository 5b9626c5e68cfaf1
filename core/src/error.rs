//! The core's error type. Messages name fields and reasons, never values:
//! a value may be a name, a phone number or a place.

use thiserror::Error;

/// Everything that can go wrong in the core.
#[derive(Debug, Error)]
pub enum Error {
    /// A field failed validation.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field (or `table.column`).
        field: String,
        /// Why, without quoting the value.
        reason: String,
    },
    /// The signed-in user may not do this.
    #[error("not allowed: {0}")]
    NotAllowed(crate::policy::Denial),
    /// No user is signed in on this store.
    #[error("not allowed: no user is signed in")]
    NotSignedIn,
    /// The listing or record does not exist (or was deleted).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The database was written by a newer version of the app.
    #[error("the database has schema version {found}, newer than this app's {supported}; update the app")]
    SchemaTooNew {
        /// Version in the file.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// The file is not a SQLite database, or it is damaged.
    #[error("the database file is damaged or is not a Fushi database: {0}")]
    Corrupt(String),
    /// SQLite failed.
    #[error("storage error: {0}")]
    Storage(#[from] rusqlite::Error),
    /// JSON could not be encoded or decoded.
    #[error("bad JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The sync server could not be reached.
    #[error("offline: {0}")]
    Offline(String),
    /// The sync server refused the request.
    #[error("server rejected the request: {code}: {reason}")]
    Server {
        /// Machine-readable code from the server.
        code: String,
        /// Human-readable reason.
        reason: String,
    },
    /// The server speaks a newer protocol: the app must be updated.
    #[error("upgrade required: {0}")]
    UpgradeRequired(String),
    /// A query that reads the phone's offline indexes (search, nearby
    /// stations, need matching) was asked of the sync server's store, which
    /// keeps none of them ([`crate::store::StoreRole::Server`]). Names the query.
    #[error("{0} is answered on phones only: the server's store keeps no search or map index")]
    PhoneOnly(&'static str),
}

impl Error {
    /// An invalid-input error.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl From<crate::crdt::rowclock::DecodeError> for Error {
    fn from(e: crate::crdt::rowclock::DecodeError) -> Error {
        Error::Corrupt(e.to_string())
    }
}

/// Result with the core's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
