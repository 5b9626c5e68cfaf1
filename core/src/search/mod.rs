//! Offline search helpers: Chinese tokens for FTS5, geometry and opening hours.
//!
//! Everything here is pure and store-independent: no SQLite schema, no I/O.
//! The store builds its FTS5 and R*Tree queries from these pieces.

pub mod geo;
pub mod hours;
pub mod tokens;
