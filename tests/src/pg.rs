//! A real PostgreSQL for the tests: the one `FUSHI_TEST_PG` names (a libpq
//! connection string without a database, as `scripts/pg.sh start` prints
//! it: the README's test command starts one for the whole run), or else a
//! throwaway one this test process starts with `scripts/pg.sh` and that is
//! stopped and removed when the process ends. Each test takes a fresh,
//! empty database of its own.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// The connection string of the test cluster (no database named).
pub fn cluster() -> &'static str {
    static CLUSTER: OnceLock<String> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        if let Ok(c) = std::env::var("FUSHI_TEST_PG") {
            if !c.trim().is_empty() {
                return c;
            }
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/pg.sh");
        let out = Command::new("bash")
            .args([
                script,
                "start",
                "--until-pid",
                &std::process::id().to_string(),
            ])
            .output()
            .expect("scripts/pg.sh runs");
        assert!(
            out.status.success(),
            "a throwaway PostgreSQL could not be started: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("pg.sh prints text")
            .trim()
            .to_owned()
    })
}

/// A value of the cluster's connection string (`host`, `user`).
fn param(key: &str) -> String {
    cluster()
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=').map(str::to_owned))
        .unwrap_or_else(|| panic!("FUSHI_TEST_PG names no {key}"))
}

/// A new, empty database on the test cluster; its connection string.
pub fn fresh_database() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "t_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let out = Command::new("createdb")
        .args(["-h", &param("host"), "-U", &param("user"), &name])
        .output()
        .expect("createdb runs");
    assert!(
        out.status.success(),
        "createdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    format!("{} dbname={name}", cluster())
}
