//! `fushi-test-certs DIR`: writes a fresh test CA and a server certificate
//! for `127.0.0.1`/`localhost` signed by it, for the Kotlin tests' HTTPS
//! server: `DIR/ca.pem` (what the phones pin), `DIR/server.pem` and
//! `DIR/server.key` (`fushi-server serve --tls-cert … --tls-key …`).
//! For tests only: the key is written unprotected.

use fushi_tests::certs::TestCa;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: fushi-test-certs DIR");
        return ExitCode::FAILURE;
    };
    let ca = TestCa::new("Fushi test CA");
    let server = ca.loopback();
    let files = [
        ("ca.pem", &ca.pem),
        ("server.pem", &server.cert_pem),
        ("server.key", &server.key_pem),
    ];
    for (name, text) in files {
        if let Err(e) = std::fs::write(dir.join(name), text) {
            eprintln!("fushi-test-certs: cannot write {name}: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
