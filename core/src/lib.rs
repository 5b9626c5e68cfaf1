//! fushi-core: the offline-first core of the Fushi community sharing app.
//!
//! Listings (idle items, cool stations, skill offers, needs) live in SQLite on
//! the phone ([`store`]), every write is a set of cell changes merged without
//! conflicts ([`crdt`]), and who may write what is decided by one [`policy`]
//! shared with the sync server.
#![warn(missing_docs)]

pub mod crdt;
pub mod error;
pub mod geo;
pub mod hours;
pub mod maps;
pub mod model;
pub mod photo;
pub mod policy;
pub mod search;
pub mod store;
pub mod sync;

// The FFI form of the records and enums the app sees (feature `uniffi`,
// enabled by fushi-ffi); see `ffi.rs`.
#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!("fushi_core");
#[cfg(feature = "uniffi")]
mod ffi;

pub use error::{Error, Result};
pub use model::tables::Table;
pub use store::{Store, StoreConfig, StoreRole};
