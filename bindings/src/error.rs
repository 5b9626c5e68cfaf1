//! [`FushiError`], the one error type a UI sees, and its mapping from the
//! core's error: done once, here, and nowhere else.
//!
//! Messages name fields and reasons, never values: a value may be a name, a
//! phone number or a place.

use fushi_core::Error as CoreError;

/// The one error type of the Fushi API, with cases a UI can act on.
///
/// Messages never contain personal data: they name fields and reasons, not values.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Error, thiserror::Error)]
pub enum FushiError {
    /// An argument is invalid; `field` names it, `reason` says why.
    /// UI: point at the field.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The name of the offending field or argument, e.g. `"title"`.
        field: String,
        /// Why the value was refused.
        reason: String,
    },
    /// The signed-in user may not do this (or nobody is signed in).
    /// UI: hide or disable the action.
    #[error("not allowed: {reason}")]
    NotAllowed {
        /// Why the action was refused.
        reason: String,
    },
    /// The listing or record does not exist here (or was deleted).
    /// UI: drop it from the screen; a sync may bring it.
    #[error("not found")]
    NotFound,
    /// The sync server could not be reached, or no server is configured.
    /// UI: nothing is lost; local work is kept and synced later.
    #[error("offline")]
    Offline,
    /// The server refused the request as a whole (e.g. an invite code that
    /// was used up, or too many attempts). A refused token is `SignedOut`.
    /// Single refused changes are not errors: see `sync_rejections`.
    /// UI: show the reason.
    #[error("rejected by server ({code}): {reason}")]
    Rejected {
        /// A machine-readable code, e.g. `"unauthorized"`.
        code: String,
        /// A human-readable reason.
        reason: String,
    },
    /// This device is signed out: its token was revoked (by its user or by
    /// grid staff), expired without being renewed, or is unknown.
    /// UI: sign in again (an invite).
    #[error("signed out ({code}): {reason}")]
    SignedOut {
        /// `revoked_token`, `expired_token`, `invalid_token`, `missing_token`.
        code: String,
        /// A human-readable reason.
        reason: String,
    },
    /// The server, or the database file, belongs to a newer app version.
    /// UI: ask the user to update the app.
    #[error("app upgrade required")]
    UpgradeRequired,
    /// The sync was cancelled (`cancel_sync`, or the app's task was
    /// cancelled). What it applied stays; the next sync goes on from there.
    #[error("sync cancelled")]
    Cancelled,
    /// The local store failed (disk full, damaged or foreign file, ...).
    /// UI: report; the file may need to be reset.
    #[error("storage error: {reason}")]
    Storage {
        /// What went wrong, without personal data.
        reason: String,
    },
    /// The secure connection to the sync server failed: its certificate was
    /// refused (not from a trusted authority or the pinned CA, expired, for
    /// another name) or the TLS handshake failed; on Android also when
    /// `FushiTls.init(context)` was not called. Not `Offline`: trying again
    /// will not help. Nothing is lost; local work is kept.
    /// UI: say the server could not be verified (and check the phone's date).
    #[error("certificate error: {reason}")]
    Certificate {
        /// Why, e.g. "the server's certificate has expired".
        reason: String,
    },
}

impl FushiError {
    /// An [`FushiError::InvalidInput`] for `field`.
    pub(crate) fn invalid(field: &str, reason: &str) -> Self {
        FushiError::InvalidInput {
            field: field.to_string(),
            reason: reason.to_string(),
        }
    }
}

impl From<CoreError> for FushiError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Invalid { field, reason } => FushiError::InvalidInput { field, reason },
            CoreError::NotAllowed(denial) => FushiError::NotAllowed {
                reason: denial.to_string(),
            },
            CoreError::NotSignedIn => FushiError::NotAllowed {
                reason: "no user is signed in".to_string(),
            },
            CoreError::NotFound(_) => FushiError::NotFound,
            // A database from a newer app: only an update helps.
            CoreError::SchemaTooNew { .. } | CoreError::UpgradeRequired(_) => {
                FushiError::UpgradeRequired
            }
            CoreError::Corrupt(reason) => FushiError::Storage { reason },
            // The core's storage error names SQLite's result code only.
            CoreError::Storage(e) => FushiError::Storage {
                reason: e.to_string(),
            },
            // Only the server's PostgreSQL storage fails this way.
            CoreError::Database(reason) => FushiError::Storage { reason },
            // serde_json messages may quote the data they failed on.
            CoreError::Json(_) => FushiError::Storage {
                reason: "data could not be decoded".to_string(),
            },
            CoreError::Offline(_) => FushiError::Offline,
            CoreError::Server { code, reason } => FushiError::Rejected { code, reason },
            CoreError::SignedOut { code, reason } => FushiError::SignedOut { code, reason },
            // Only a server's store refuses these; the app opens a phone's.
            CoreError::PhoneOnly(query) => FushiError::Storage {
                reason: format!("{query} is not kept in this store"),
            },
            CoreError::Cancelled => FushiError::Cancelled,
            CoreError::Tls(reason) => FushiError::Certificate { reason },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fushi_core::policy::Denial;

    #[test]
    fn every_core_error_has_an_actionable_case() {
        assert_eq!(
            FushiError::from(CoreError::invalid("title", "is empty")),
            FushiError::invalid("title", "is empty")
        );
        assert!(matches!(
            FushiError::from(CoreError::NotAllowed(Denial::StaffOnly)),
            FushiError::NotAllowed { .. }
        ));
        assert!(matches!(
            FushiError::from(CoreError::NotSignedIn),
            FushiError::NotAllowed { .. }
        ));
        assert_eq!(
            FushiError::from(CoreError::NotFound("item")),
            FushiError::NotFound
        );
        assert_eq!(
            FushiError::from(CoreError::Offline("x".into())),
            FushiError::Offline
        );
        assert_eq!(
            FushiError::from(CoreError::SchemaTooNew {
                found: 9,
                supported: 1
            }),
            FushiError::UpgradeRequired
        );
        assert!(matches!(
            FushiError::from(CoreError::Corrupt("not a SQLite database".into())),
            FushiError::Storage { .. }
        ));
        assert!(matches!(
            FushiError::from(CoreError::Tls("expired".into())),
            FushiError::Certificate { .. }
        ));
    }

    #[test]
    fn json_errors_do_not_quote_the_data() {
        let Err(json) = serde_json::from_str::<u32>("\"13800138000\"") else {
            return;
        };
        let e = FushiError::from(CoreError::Json(json));
        assert!(!e.to_string().contains("13800138000"), "{e}");
    }
}
