//! One handler per file.

pub mod devices;
pub mod health;
pub mod invites;
pub mod pull;
pub mod push;
