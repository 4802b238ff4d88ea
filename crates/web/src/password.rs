//! Staff passwords: Argon2id with the crate's recommended parameters.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

/// Shortest password accepted for a staff account.
pub const MIN_LENGTH: usize = 12;

/// Check a new password is long enough and not obviously weak.
pub fn check_new(password: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(format!(
            "Use a password of at least {MIN_LENGTH} characters (this one has {length})"
        ));
    }
    if length > 1024 {
        return Err("Use a password of 1024 characters or fewer".into());
    }
    if password
        .chars()
        .all(|c| c == password.chars().next().unwrap_or(' '))
    {
        return Err("Use a password that is not one character repeated".into());
    }
    Ok(())
}

/// Hash a password (slow on purpose: call from a blocking thread).
pub fn hash(password: &str) -> anyhow::Result<String> {
    let hash = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|e| anyhow::anyhow!("could not hash the password: {e}"))?;
    Ok(hash.to_string())
}

/// True when `password` matches `hash` (slow on purpose: call from a blocking thread).
pub fn verify(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// A hash to verify against when the account does not exist, so that the answer takes
/// as long for unknown addresses as for known ones.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash("not a real password, only for timing").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_verifies() {
        let hashed = hash("correct horse battery").unwrap();
        assert!(hashed.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &hashed));
        assert!(!verify("correct horse battery!", &hashed));
        assert!(!verify("anything", "not a hash"));
    }

    #[test]
    fn refuses_weak_passwords() {
        assert!(check_new("short").is_err());
        assert!(check_new("aaaaaaaaaaaaaaa").is_err());
        assert!(check_new("a long enough passphrase").is_ok());
    }
}
