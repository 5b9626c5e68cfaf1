//! Offline search helpers: Chinese tokens for FTS5.
//!
//! Everything here is pure and store-independent: no SQLite schema, no I/O.
//! The store builds its FTS5 queries from these pieces. Geometry lives in
//! [`crate::geo`], opening hours in [`crate::hours`].

pub mod fold;
pub mod tokens;
