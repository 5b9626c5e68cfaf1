//! Invite codes: 12 characters of Crockford's base32 (`0-9 A-Z` without
//! `I L O U`), shown as `XXXX-XXXX-XXXX`: 60 random bits a person can read
//! out over the phone or type, and the same text in a QR code. Typing is
//! forgiven: case, spaces and hyphens are ignored, and the look-alikes
//! `O` → `0`, `I`/`L` → `1` are read as the digits. Only a keyed hash of the
//! code is stored.

use sha2::{Digest, Sha256};

/// Crockford's base32 alphabet.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters in a code.
pub const CODE_CHARS: usize = 12;
/// Random bits in a code.
pub const CODE_BITS: u32 = 60;

/// A fresh code in its display form, `XXXX-XXXX-XXXX`.
pub fn generate() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)?;
    let mut n = u64::from_le_bytes(bytes) >> (64 - CODE_BITS);
    let mut chars = [0u8; CODE_CHARS];
    for c in chars.iter_mut().rev() {
        *c = ALPHABET[(n & 31) as usize];
        n >>= 5;
    }
    let s: String = chars.iter().map(|&b| char::from(b)).collect();
    Ok(format!("{}-{}-{}", &s[..4], &s[4..8], &s[8..]))
}

/// The canonical form of a typed code (12 alphabet characters), or `None`
/// if it is not one.
pub fn normalize(typed: &str) -> Option<String> {
    let mut out = String::with_capacity(CODE_CHARS);
    for c in typed.chars() {
        let c = match c.to_ascii_uppercase() {
            ' ' | '-' | '\u{3000}' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
            return None;
        }
        out.push(c);
        if out.len() > CODE_CHARS {
            return None;
        }
    }
    (out.len() == CODE_CHARS).then_some(out)
}

/// The key a code is stored and rate-limited under.
pub fn hash(canonical: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"fushi-invite\0");
    h.update(canonical.as_bytes());
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_fresh_readable_and_survive_sloppy_typing() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 14);
        assert!(a.chars().all(|c| c == '-' || ALPHABET.contains(&(c as u8))));
        assert!(!a.contains(['I', 'L', 'O', 'U']));
        let canon = normalize(&a).unwrap();
        assert_eq!(normalize(&a.to_lowercase()).unwrap(), canon);
        assert_eq!(normalize(&a.replace('-', " ")).unwrap(), canon);
        assert_eq!(normalize("o1il-abcd-efgh").unwrap(), "0111ABCDEFGH");
        for bad in [
            "",
            "ABCD-EFGH-JKM",
            "ABCD-EFGH-JKMNP",
            "ABCD-EFGH-JKMU",
            "ABCD-EFGH-JKM!",
            "手机-EFGH-JKMN",
        ] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
        assert_ne!(hash(&canon), hash("000000000000"));
    }

    #[test]
    fn all_sixty_bits_are_used() {
        // Every position takes more than one value over a few hundred codes.
        let codes: Vec<String> = (0..400)
            .map(|_| normalize(&generate().unwrap()).unwrap())
            .collect();
        for i in 0..CODE_CHARS {
            let distinct: std::collections::HashSet<char> =
                codes.iter().filter_map(|c| c.chars().nth(i)).collect();
            assert!(distinct.len() > 8, "position {i}");
        }
    }
}
