//! Bearer tokens: random, shown once, kept only as SHA-256 hashes.

use sha2::{Digest, Sha256};

/// Prefix that makes a token recognisable in a config file.
const PREFIX: &str = "fsh_";

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

/// A short, stable pseudonym of a user for logs: 8 hex digits of a hash,
/// never the account id itself.
pub fn log_id(user: &uuid::Uuid) -> String {
    hex(&Sha256::digest(user.as_bytes())[..4])
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
}
