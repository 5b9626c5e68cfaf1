//! Offline search helpers: Chinese tokens for FTS5, geometry and opening hours.
