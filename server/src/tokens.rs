//! Bearer tokens: random, shown once, kept only as SHA-256 hashes.

use sha2::{Digest, Sha256};

/// Prefix that makes a token recognisable in a config file.
pub const PREFIX: &str = "fsh_";

/// A fresh token: 256 random bits from the operating system.
pub fn generate() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{PREFIX}{}", hex(&bytes)))
}

/// The hash under which a token is stored.
pub fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A short pseudonym of a user for logs: 8 hex digits of a hash of the
/// account id keyed with a secret drawn when the process starts and never
/// written anywhere. Within one run the lines of one user go together; no
/// one who knows a user id (every neighbour sees the owners of listings)
/// can compute it, and it changes at every restart. `-` if the system has
/// no randomness to give.
pub fn log_id(user: &uuid::Uuid) -> String {
    static SECRET: std::sync::OnceLock<Option<[u8; 32]>> = std::sync::OnceLock::new();
    let secret = SECRET.get_or_init(|| {
        let mut s = [0u8; 32];
        getrandom::fill(&mut s).ok().map(|_| s)
    });
    match secret {
        Some(key) => {
            let mut h = Sha256::new();
            h.update(key);
            h.update(user.as_bytes());
            hex(&h.finalize()[..4])
        }
        None => "-".into(),
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_fresh_and_hash_stably() {
        let a = super::generate().unwrap();
        let b = super::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 64);
        assert_eq!(super::hash(&a), super::hash(&a));
        assert_ne!(super::hash(&a), super::hash(&b));
    }

    #[test]
    fn log_ids_are_stable_in_a_run_and_not_the_plain_hash_of_the_user() {
        use sha2::{Digest, Sha256};
        let user = uuid::Uuid::now_v7();
        let id = super::log_id(&user);
        assert_eq!(id, super::log_id(&user));
        assert_eq!(id.len(), 8);
        // What the log said before: anyone could compute it from the id.
        assert_ne!(id, super::hex(&Sha256::digest(user.as_bytes())[..4]));
    }
}
