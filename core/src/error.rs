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
    Storage(StorageError),
    /// The server's PostgreSQL database failed. The text is the SQLSTATE
    /// code or a fixed phrase, never the server's message (which may quote
    /// values).
    #[error("database error: {0}")]
    Database(String),
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
    /// The server does not take this device's token any more: it was signed
    /// out (by its user, or by grid staff), its token expired without being
    /// renewed, or the token is not known. Sign in again (an invite). The
    /// message is the server's reason; `code` is `revoked_token`,
    /// `expired_token`, `invalid_token` or `missing_token`.
    #[error("signed out: {reason}")]
    SignedOut {
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
    /// The sync was cancelled ([`crate::sync::SyncClient::cancel`]). What it
    /// had applied stays, consistent; the next sync goes on from there.
    #[error("the sync was cancelled")]
    Cancelled,
    /// The secure connection to the sync server failed: its certificate was
    /// refused (not issued by a trusted authority or the pinned CA,
    /// expired, for another name) or the TLS handshake failed. Not
    /// [`Error::Offline`]: retrying will not help until the server, the
    /// configuration or the phone's date is fixed. The message names the
    /// reason; it carries no token and no request.
    #[error("secure connection to the sync server failed: {0}")]
    Tls(String),
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

/// A SQLite failure. Its message is SQLite's result code only: SQLite's
/// own messages may quote SQL or values. The failure itself is the
/// [`std::error::Error::source`].
#[derive(Debug)]
pub struct StorageError(rusqlite::Error);

impl StorageError {
    /// The name of SQLite's result code (`"DatabaseBusy"`, `"DiskFull"`, …),
    /// if SQLite gave one.
    pub fn code(&self) -> Option<String> {
        self.0.sqlite_error_code().map(|c| format!("{c:?}"))
    }

    /// The database was locked by another connection for longer than the
    /// busy timeout: trying again later may work.
    pub fn is_busy(&self) -> bool {
        matches!(
            self.0.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    }

    /// The failure as SQLite reported it (crate-internal: it may quote SQL).
    pub(crate) fn sqlite(&self) -> &rusqlite::Error {
        &self.0
    }
}

impl std::fmt::Display for StorageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.code() {
            Some(code) => write!(f, "SQLite error {code}"),
            None => f.write_str("the local database failed"),
        }
    }
}

impl std::error::Error for StorageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        Error::Storage(StorageError(e))
    }
}

impl From<crate::crdt::rowclock::DecodeError> for Error {
    fn from(e: crate::crdt::rowclock::DecodeError) -> Error {
        Error::Corrupt(e.to_string())
    }
}

/// Result with the core's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
