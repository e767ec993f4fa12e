//! SHA-256 of a normalized value as 64 lowercase hex characters, the form
//! Customer Match expects (and `TO_HEX(SHA256(value))` gives in BigQuery).

use sha2::{Digest, Sha256};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Append the lowercase hex SHA-256 of `value`'s UTF-8 bytes to `out`.
pub fn push_sha256_hex(out: &mut String, value: &str) {
    out.push_str(&hex(&Sha256::digest(value.as_bytes())));
}

/// 32 bytes as 64 lowercase hex characters, on the stack.
fn hex(digest: &[u8]) -> HexDigest {
    let mut buf = [0u8; 64];
    for (i, byte) in digest.iter().take(32).enumerate() {
        buf[2 * i] = HEX[usize::from(byte >> 4)];
        buf[2 * i + 1] = HEX[usize::from(byte & 0x0f)];
    }
    HexDigest(buf)
}

/// A hex digest: always ASCII.
struct HexDigest([u8; 64]);

impl std::ops::Deref for HexDigest {
    type Target = str;

    fn deref(&self) -> &str {
        // Only bytes of HEX were written: valid UTF-8.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// The lowercase hex SHA-256 of `value`.
pub fn sha256_hex(value: &str) -> String {
    let mut out = String::with_capacity(64);
    push_sha256_hex(&mut out, value);
    out
}

/// The lowercase hex SHA-256 of raw bytes (file checksums).
pub fn sha256_hex_bytes(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes)).to_string()
}

#[cfg(test)]
mod tests {
    use super::super::{normalize, phone};
    use super::*;

    /// The test vectors of `../shared/CUSTOMER_MATCH.md`: input, normalized, SHA-256.
    #[test]
    fn the_contract_test_vectors_pass() {
        let email = |s: &str| normalize::email(s, true).unwrap().unwrap();
        let vectors: [(String, &str, &str); 9] = [
            (
                email("  Test@Gmail.com "),
                "test@gmail.com",
                "87924606b4131a8aceeeae8868531fbb9712aaa07a5d3a756b26ce0f5d6ca674",
            ),
            (
                email("John.Doe@Example.com"),
                "john.doe@example.com",
                "836f82db99121b3481011f16b49dfa5fbc714a0d1b1b9f784a1ebbbf5b39577f",
            ),
            (
                email("John.Doe@gmail.com"),
                "johndoe@gmail.com",
                "06a240d11cc201676da976f7b49341181fd180da37cbe40a77432c0a366c80c3",
            ),
            (
                phone::e164("(415) 555-2671", Some("US")).unwrap().unwrap(),
                "+14155552671",
                "cb6880e416769253645cb9c6b8989154bf66a56a77fc14c81fb1019663cbb928",
            ),
            (
                phone::e164("0151 23456789", Some("DE")).unwrap().unwrap(),
                "+4915123456789",
                "663a4322addcdcc2be9435bfd2505066dc1048b89d33e48f363119f18bdd71e8",
            ),
            (
                normalize::first_name(" John ").unwrap(),
                "john",
                "96d9632f363564cc3032521409cf22a852f2032eec099ed5967c0d000cec607a",
            ),
            (
                normalize::last_name("Smith").unwrap(),
                "smith",
                "6627835f988e2c5e50533d491163072d3f4f41f5c8b04630150debb3722ca2dd",
            ),
            (
                normalize::first_name("Zoë").unwrap(),
                "zoë",
                "2752b88686847fa5c86f47b94ce652b7b3f22a91c37617d451a4db9afa431450",
            ),
            (
                normalize::last_name("Pérez").unwrap(),
                "pérez",
                "6654977d57dddd3c0329ca741b109ef6cd6430bedd00008aad213df25683d77f",
            ),
        ];
        for (normalized, expected, sha) in vectors {
            assert_eq!(normalized, expected);
            assert_eq!(sha256_hex(&normalized), sha, "{expected}");
        }
        assert_eq!(sha256_hex_bytes(b"john"), sha256_hex("john"));
    }
}
