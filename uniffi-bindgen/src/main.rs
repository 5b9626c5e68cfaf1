//! `uniffi-bindgen`: generates the foreign-language bindings of `fushi-ffi`.
//!
//! A separate workspace member so that building it never rebuilds the library
//! with extra features. Typical use (see `scripts/kotlin-test.sh`):
//!
//! ```text
//! cargo run -p uniffi-bindgen -- generate --library target/debug/libfushi_ffi.so \
//!     --language kotlin --out-dir target/bindings/kotlin --config bindings/uniffi.toml
//! ```

fn main() {
    uniffi::uniffi_bindgen_main()
}
