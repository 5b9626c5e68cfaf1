//! How far a sync has come, for a progress bar: what was sent and received
//! so far, and how many rows the server says still wait.

use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Where a running sync stands. Sent after every push batch the server
/// acknowledged and every pulled page applied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncProgress {
    /// Row changes sent and acknowledged so far.
    pub pushed: u32,
    /// Row changes received and applied so far.
    pub pulled: u32,
    /// Pages received so far.
    pub pull_pages: u32,
    /// Rows the server says wait after the last page (an estimate: rows
    /// changed meanwhile may come again). The bar's fraction is
    /// `pulled / (pulled + remaining)`.
    pub remaining: u64,
}

/// Hears a running sync's progress (on the task that runs it; return fast).
#[derive(Clone)]
pub struct ProgressListener(pub Arc<dyn Fn(SyncProgress) + Send + Sync>);

impl std::fmt::Debug for ProgressListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressListener")
    }
}
