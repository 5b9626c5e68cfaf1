//! One handler per file.

pub mod health;
pub mod pull;
pub mod push;
