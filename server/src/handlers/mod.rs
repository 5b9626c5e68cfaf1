//! One handler per file.

pub mod devices;
pub mod health;
pub mod invites;
pub mod photos;
pub mod pull;
pub mod push;
