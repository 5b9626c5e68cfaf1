//! fushi-core: the offline-first core of the Fushi community sharing app.
#![warn(missing_docs)]

pub mod search;
