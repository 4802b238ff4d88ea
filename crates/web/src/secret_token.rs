//! The one kind of secret behind every link and cookie that opens something by itself.
//!
//! Staff sessions and remembered devices, portal sign-in links, sessions and browser
//! nonces, email-change links, booking manage links, invoice links and the calendar feed
//! all use the same secret: 256 random bits, shown once as 64 lower-case hex digits, and
//! stored only as the SHA-256 of that text. It used to be written out in five places; here
//! the randomness, the shape check and the hash are written once. The hash is of the hex
//! text (not of the raw bytes), exactly as it has always been stored, so the links and
//! cookies in existing databases keep working.

use std::fmt;

use sha2::{Digest, Sha256};

/// A secret token: 64 lower-case hex digits (256 random bits when generated here).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretToken(String);

impl SecretToken {
    /// A new token from 256 random bits, to be shown once and stored only as its hash.
    pub fn generate() -> Self {
        Self(
            rand::random::<[u8; 32]>()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        )
    }

    /// A presented token, if it has the only shape ours have (64 lower-case hex digits);
    /// anything else is refused before the database is asked.
    pub fn parse(text: &str) -> Option<Self> {
        let well_formed =
            text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        well_formed.then(|| Self(text.to_owned()))
    }

    /// The token as shown, for a link or a cookie.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What is stored: the SHA-256 of the token's text.
    pub fn hash(&self) -> Vec<u8> {
        Self::hash_of(&self.0)
    }

    /// The SHA-256 of a presented token's text, as [`SecretToken::hash`] stores it.
    pub fn hash_of(text: &str) -> Vec<u8> {
        Sha256::digest(text.as_bytes()).to_vec()
    }
}

impl fmt::Display for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Never the token itself: a token that reaches a log opens whatever it opens.
impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretToken(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_token_is_64_lower_case_hex_digits() {
        let token = SecretToken::generate();
        assert_eq!(token.as_str().len(), 64);
        assert!(
            token
                .as_str()
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_eq!(token.to_string(), token.as_str());
        assert_eq!(SecretToken::parse(token.as_str()), Some(token));
    }

    #[test]
    fn two_tokens_differ() {
        assert_ne!(SecretToken::generate(), SecretToken::generate());
    }

    #[test]
    fn the_hash_is_the_sha256_of_the_text_shown() {
        let token = SecretToken::generate();
        assert_eq!(SecretToken::hash_of(&token.to_string()), token.hash());
        assert_eq!(token.hash().len(), 32);
        // The stored format: SHA-256 of the hex text, not of the bytes it spells.
        let zeros = "0".repeat(64);
        assert_eq!(
            SecretToken::parse(&zeros).unwrap().hash(),
            Sha256::digest(zeros.as_bytes()).to_vec()
        );
    }

    #[test]
    fn parse_refuses_anything_but_64_lower_case_hex_digits() {
        let good = "0123456789abcdef".repeat(4);
        assert!(SecretToken::parse(&good).is_some());
        for bad in [
            String::new(),
            good[..63].to_owned(),
            format!("{good}0"),
            good.to_uppercase(),
            format!("{}A", &good[..63]),
            format!("{}g", &good[..63]),
            format!("{} ", &good[..63]),
            format!("{}é", &good[..62]),
        ] {
            assert!(SecretToken::parse(&bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn debug_never_shows_the_token() {
        let token = SecretToken::generate();
        assert!(!format!("{token:?}").contains(token.as_str()));
    }
}
