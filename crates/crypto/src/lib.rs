//! Envelope encryption for confidential records (SECURITY.md R8).
//!
//! - A [`MasterKey`] (the key-encryption key) lives OUTSIDE the database: in a key file that
//!   only its owner can read (created with mode 0600; a file readable by anyone else is
//!   refused), or in an environment variable. A copy of the database or a backup alone
//!   reveals nothing.
//! - Each client has their own [`DataKey`], stored in the database only wrapped (encrypted)
//!   by the master key. Destroying a client's wrapped key makes everything encrypted under it
//!   unreadable for good (crypto-shredding), and rotating the master key only re-wraps the
//!   small data keys.
//! - Everything is sealed with XChaCha20-Poly1305: a fresh random 192-bit nonce per message,
//!   and associated data that names the row a ciphertext belongs to, so a ciphertext moved to
//!   another row, client or practice does not open ([`row_binding`]).
//!
//! Sealed bytes are `version (1) ‖ nonce (24) ‖ ciphertext ‖ tag (16)`. Keys are wiped from
//! memory when dropped, and their `Debug` output never shows them.
//!
//! [`age`] encrypts backups to an `age` public key, for a private key kept away from the
//! server.
#![forbid(unsafe_code)]

pub mod age;

use std::{fs, io::Write, path::Path};

use chacha20poly1305::{
    XChaCha20Poly1305, XNonce,
    aead::{Aead, Generate, KeyInit, Payload},
};
use zeroize::Zeroizing;

/// The format of sealed bytes this version writes (the first byte).
const SEALED_V1: u8 = 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// How a key file starts, so a wrong file is told apart from a damaged one.
const KEY_FILE_PREFIX: &str = "anteroom-key-v1:";

/// What can go wrong.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// The bytes do not open with this key and binding: damaged, tampered with, moved to
    /// another row, or sealed under another key.
    #[error("the encrypted data could not be opened (damaged, moved, or another key)")]
    Unreadable,
    /// The key file is readable (or writable) by someone other than its owner.
    #[error(
        "the key file {0} can be read by others; it must be readable by its owner only (chmod 600)"
    )]
    KeyFileOpen(String),
    /// The key file or variable does not hold a key in the expected form.
    #[error("{0} does not hold an Anteroom key (expected {KEY_FILE_PREFIX} and 64 hex digits)")]
    NotAKey(String),
    /// Reading or writing the key file failed.
    #[error("key file {path}: {reason}")]
    Io { path: String, reason: String },
}

/// 32 secret bytes, wiped on drop.
type Secret = Zeroizing<[u8; 32]>;

fn random_secret() -> Secret {
    let key = chacha20poly1305::Key::generate();
    let mut bytes = Zeroizing::new([0u8; 32]);
    bytes.copy_from_slice(&key);
    bytes
}

fn seal_with(key: &[u8; 32], plaintext: &[u8], binding: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(&(*key).into());
    let nonce = XNonce::generate();
    let sealed = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad: binding,
            },
        )
        // Encryption fails only for inputs of many gigabytes.
        .unwrap_or_default();
    let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
    out.push(SEALED_V1);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    out
}

fn open_with(key: &[u8; 32], sealed: &[u8], binding: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if sealed.len() < 1 + NONCE_LEN + TAG_LEN || sealed[0] != SEALED_V1 {
        return Err(CryptoError::Unreadable);
    }
    let nonce = XNonce::try_from(&sealed[1..=NONCE_LEN]).map_err(|_| CryptoError::Unreadable)?;
    XChaCha20Poly1305::new(&(*key).into())
        .decrypt(
            &nonce,
            Payload {
                msg: &sealed[1 + NONCE_LEN..],
                aad: binding,
            },
        )
        .map_err(|_| CryptoError::Unreadable)
}

/// The associated data that binds a ciphertext to its place: which practice, which table,
/// which row, which column or version. Opening with any other binding fails.
pub fn row_binding(practice: i64, table: &str, row: i64, field: &str) -> Vec<u8> {
    format!("anteroom/v1/practice={practice}/{table}={row}/{field}").into_bytes()
}

/// The key-encryption key: wraps every client's data key. Never stored in the database.
pub struct MasterKey(Secret);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(…)")
    }
}

impl MasterKey {
    /// A new random key.
    pub fn generate() -> Self {
        Self(random_secret())
    }

    /// Parse `anteroom-key-v1:` followed by 64 hex digits (surrounding space ignored);
    /// `source` names where it came from, for the error.
    pub fn parse(text: &str, source: &str) -> Result<Self, CryptoError> {
        let not_a_key = || CryptoError::NotAKey(source.to_owned());
        let hex = text
            .trim()
            .strip_prefix(KEY_FILE_PREFIX)
            .ok_or_else(not_a_key)?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(not_a_key());
        }
        let mut key = Zeroizing::new([0u8; 32]);
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| not_a_key())?;
        }
        Ok(Self(key))
    }

    /// The key as a key file or environment variable holds it.
    pub fn to_text(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(String::with_capacity(KEY_FILE_PREFIX.len() + 64));
        text.push_str(KEY_FILE_PREFIX);
        for byte in self.0.iter() {
            text.push_str(&format!("{byte:02x}"));
        }
        text
    }

    /// Create a new key file at `path` (which must not exist), readable by its owner only.
    pub fn create_file(path: &Path) -> Result<Self, CryptoError> {
        let key = Self::generate();
        key.write_new_file(path)?;
        Ok(key)
    }

    /// Write this key to a new file at `path` (which must not exist), readable by its owner
    /// only, and on disk before this returns.
    pub fn write_new_file(&self, path: &Path) -> Result<(), CryptoError> {
        use std::os::unix::fs::OpenOptionsExt;
        let io = |e: std::io::Error| CryptoError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
        file.write_all(self.to_text().as_bytes()).map_err(io)?;
        file.write_all(b"\n").map_err(io)?;
        file.sync_all().map_err(io)
    }

    /// Read the key file at `path`, refusing one that anyone but its owner could read or change.
    pub fn load_file(path: &Path) -> Result<Self, CryptoError> {
        use std::os::unix::fs::PermissionsExt;
        let shown = path.display().to_string();
        let io = |e: std::io::Error| CryptoError::Io {
            path: shown.clone(),
            reason: e.to_string(),
        };
        let mode = fs::metadata(path).map_err(io)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(CryptoError::KeyFileOpen(shown));
        }
        let text = Zeroizing::new(fs::read_to_string(path).map_err(io)?);
        Self::parse(&text, &shown)
    }

    /// Wrap (encrypt) a client's data key for storing beside its owner's rows.
    pub fn wrap(&self, key: &DataKey, binding: &[u8]) -> Vec<u8> {
        seal_with(&self.0, key.0.as_slice(), binding)
    }

    /// Seal a small secret that is not client data but must not be usable from a copy of the
    /// database alone (a staff member's authenticator secret, bound to its row; a portal
    /// sign-in link waiting in the outbox), under the master key itself.
    pub fn seal_secret(&self, secret: &[u8], binding: &[u8]) -> Vec<u8> {
        seal_with(&self.0, secret, binding)
    }

    /// Open what [`MasterKey::seal_secret`] sealed with the same binding.
    pub fn open_secret(
        &self,
        sealed: &[u8],
        binding: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        open_with(&self.0, sealed, binding).map(Zeroizing::new)
    }

    /// Wrap another master key (a practice's own key, wrapped by the host's key file).
    pub fn wrap_key(&self, key: &MasterKey, binding: &[u8]) -> Vec<u8> {
        seal_with(&self.0, key.0.as_slice(), binding)
    }

    /// Unwrap what [`MasterKey::wrap_key`] wrapped with the same binding.
    pub fn unwrap_key(&self, wrapped: &[u8], binding: &[u8]) -> Result<MasterKey, CryptoError> {
        let bytes = Zeroizing::new(open_with(&self.0, wrapped, binding)?);
        let mut key = Zeroizing::new([0u8; 32]);
        if bytes.len() != key.len() {
            return Err(CryptoError::Unreadable);
        }
        key.copy_from_slice(&bytes);
        Ok(MasterKey(key))
    }

    /// A name for this key that reveals nothing of it: the first 16 bytes of a SHA-256 over
    /// a label and the key. The database keeps the host key's name, so that a process
    /// started with another key file is told so before it wraps anything with it.
    pub fn id(&self) -> [u8; 16] {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(b"anteroom-key-id-v1");
        hasher.update(self.0.as_slice());
        let digest = hasher.finalize();
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        id
    }

    /// Unwrap a stored data key.
    pub fn unwrap(&self, wrapped: &[u8], binding: &[u8]) -> Result<DataKey, CryptoError> {
        let bytes = Zeroizing::new(open_with(&self.0, wrapped, binding)?);
        let mut key = Zeroizing::new([0u8; 32]);
        if bytes.len() != key.len() {
            return Err(CryptoError::Unreadable);
        }
        key.copy_from_slice(&bytes);
        Ok(DataKey(key))
    }
}

/// One client's data key: seals their notes and other confidential fields.
pub struct DataKey(Secret);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(…)")
    }
}

impl DataKey {
    /// A new random key.
    pub fn generate() -> Self {
        Self(random_secret())
    }

    /// Encrypt `plaintext`, bound to `binding` (see [`row_binding`]).
    pub fn seal(&self, plaintext: &[u8], binding: &[u8]) -> Vec<u8> {
        seal_with(&self.0, plaintext, binding)
    }

    /// Decrypt what [`DataKey::seal`] made with the same binding.
    pub fn open(&self, sealed: &[u8], binding: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        open_with(&self.0, sealed, binding).map(Zeroizing::new)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    const NOTE: &[u8] = b"Session 4: talked about her father; canary-7f3a9c";

    #[test]
    fn a_practice_key_opens_only_under_its_host_key_and_binding_and_ids_differ() {
        let host = MasterKey::generate();
        let practice = MasterKey::generate();
        let wrapped = host.wrap_key(&practice, b"practice=1");
        let opened = host.unwrap_key(&wrapped, b"practice=1").unwrap();
        assert_eq!(opened.to_text(), practice.to_text());
        assert_eq!(
            host.unwrap_key(&wrapped, b"practice=2").unwrap_err(),
            CryptoError::Unreadable
        );
        assert!(
            MasterKey::generate()
                .unwrap_key(&wrapped, b"practice=1")
                .is_err()
        );
        assert_eq!(host.id(), host.id(), "the same key, the same name");
        assert_ne!(host.id(), practice.id());
        let text = String::from_utf8_lossy(&wrapped).into_owned();
        assert!(!text.contains(&practice.to_text()[16..]));
    }

    #[test]
    fn a_sealed_secret_opens_only_with_the_master_key_and_its_binding() {
        let master = MasterKey::generate();
        let here = row_binding(1, "users", 7, "totp_secret");
        let sealed = master.seal_secret(b"twenty secret bytes!", &here);
        assert!(!sealed.windows(20).any(|w| w == b"twenty secret bytes!"));
        assert_eq!(
            master.open_secret(&sealed, &here).unwrap().as_slice(),
            b"twenty secret bytes!"
        );
        let elsewhere = row_binding(1, "users", 8, "totp_secret");
        assert_eq!(
            master.open_secret(&sealed, &elsewhere),
            Err(CryptoError::Unreadable)
        );
        assert_eq!(
            MasterKey::generate().open_secret(&sealed, &here),
            Err(CryptoError::Unreadable)
        );
    }

    #[test]
    fn a_sealed_note_opens_only_with_its_key_and_binding() {
        let key = DataKey::generate();
        let here = row_binding(1, "notes", 42, "body");
        let sealed = key.seal(NOTE, &here);
        assert!(
            !sealed.windows(6).any(|w| w == b"canary"),
            "no plaintext in the sealed bytes"
        );
        assert_eq!(sealed.len(), 1 + 24 + NOTE.len() + 16);
        assert_eq!(key.open(&sealed, &here).unwrap().as_slice(), NOTE);
        // Moved to another row, practice or field: refused.
        for elsewhere in [
            row_binding(1, "notes", 43, "body"),
            row_binding(2, "notes", 42, "body"),
            row_binding(1, "notes", 42, "title"),
        ] {
            assert_eq!(key.open(&sealed, &elsewhere), Err(CryptoError::Unreadable));
        }
        assert_eq!(
            DataKey::generate().open(&sealed, &here),
            Err(CryptoError::Unreadable),
            "another client's key"
        );
        // Every single flipped byte is detected.
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert_eq!(
                key.open(&bad, &here),
                Err(CryptoError::Unreadable),
                "byte {i}"
            );
        }
        assert_eq!(key.open(&sealed[..20], &here), Err(CryptoError::Unreadable));
        assert_ne!(key.seal(NOTE, &here), sealed, "a fresh nonce every time");
    }

    #[test]
    fn a_data_key_is_stored_only_wrapped_and_unwraps_only_with_the_master_key() {
        let master = MasterKey::generate();
        let client = DataKey::generate();
        let binding = row_binding(1, "client_keys", 7, "key");
        let wrapped = master.wrap(&client, &binding);
        let again = master.unwrap(&wrapped, &binding).unwrap();
        let sealed = client.seal(NOTE, b"x");
        assert_eq!(again.open(&sealed, b"x").unwrap().as_slice(), NOTE);
        assert!(MasterKey::generate().unwrap(&wrapped, &binding).is_err());
        assert!(
            master
                .unwrap(&wrapped, &row_binding(1, "client_keys", 8, "key"))
                .is_err(),
            "a wrapped key moved to another client does not open"
        );
    }

    #[test]
    fn the_key_file_is_created_private_and_a_readable_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("anteroom.key");
        let made = MasterKey::create_file(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let loaded = MasterKey::load_file(&path).unwrap();
        let client = DataKey::generate();
        let wrapped = made.wrap(&client, b"k");
        assert!(loaded.unwrap(&wrapped, b"k").is_ok(), "the same key");
        assert!(
            matches!(MasterKey::create_file(&path), Err(CryptoError::Io { .. })),
            "never overwrites a key"
        );
        for open in [0o644, 0o640, 0o604, 0o660] {
            fs::set_permissions(&path, fs::Permissions::from_mode(open)).unwrap();
            assert!(
                matches!(
                    MasterKey::load_file(&path),
                    Err(CryptoError::KeyFileOpen(_))
                ),
                "mode {open:o}"
            );
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        assert!(
            MasterKey::load_file(&path).is_ok(),
            "read-only for the owner is fine"
        );
    }

    #[test]
    fn keys_in_text_round_trip_and_anything_else_is_refused() {
        let key = MasterKey::generate();
        let text = key.to_text();
        let parsed = MasterKey::parse(&format!("  {}\n", text.as_str()), "ANTEROOM_KEY").unwrap();
        assert_eq!(parsed.to_text(), text);
        for bad in [
            "",
            "0123",
            &text[KEY_FILE_PREFIX.len()..],
            &format!("{KEY_FILE_PREFIX}{}", "z".repeat(64)),
            &format!("{KEY_FILE_PREFIX}{}", "a".repeat(63)),
        ] {
            assert_eq!(
                MasterKey::parse(bad, "ANTEROOM_KEY").map(|_| ()),
                Err(CryptoError::NotAKey("ANTEROOM_KEY".into()))
            );
        }
        assert_eq!(format!("{key:?}"), "MasterKey(…)");
        assert_eq!(format!("{:?}", DataKey::generate()), "DataKey(…)");
    }
}
