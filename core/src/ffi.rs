//! The FFI form of the core's records and enums (feature `uniffi`): how an
//! id crosses. A [`Uuid`] is a string on the Kotlin and Swift side (the
//! scaffolding itself is set up in the crate root).
//!
//! The records themselves derive `uniffi::Record` / `uniffi::Enum` where
//! they are defined; `fushi-ffi` exports the store's methods over them.

use uuid::Uuid;

uniffi::custom_type!(Uuid, String, {
    remote,
    lower: |id| id.to_string(),
    try_lift: |text| Uuid::parse_str(&text).map_err(|_| uniffi::deps::anyhow::anyhow!("not a valid id")),
});
