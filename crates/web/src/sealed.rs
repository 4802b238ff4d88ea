//! Secrets that wait in the outbox sealed under their practice's key (SECURITY.md R4).
//!
//! A sign-in link has to sit in the outbox until the mail worker sends it, and the outbox is
//! in the database. So the link is written into the email as `{{sealed:…}}`: the link sealed
//! with XChaCha20-Poly1305 under the practice's key, which is stored only wrapped by the
//! host's key file, kept outside the database. The mail worker opens it just before sending
//! ([`open_in_text`]). A copy of the database, a backup or the office's outbox page never
//! holds a link that works.

use crypto::MasterKey;

pub(crate) const OPEN: &str = "{{sealed:";
const CLOSE: &str = "}}";
/// What a sealed secret in an email is bound to: it opens nowhere else.
const BINDING: &[u8] = b"anteroom/v1/outbox/sealed-secret";

/// `secret` sealed, as text to put in an email body.
pub(crate) fn seal_in_text(key: &MasterKey, secret: &str) -> String {
    let sealed: String = key
        .seal_secret(secret.as_bytes(), BINDING)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{OPEN}{sealed}{CLOSE}")
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The body with every sealed secret opened; an error (never showing the secret) when one
/// does not open, e.g. after the master key was replaced.
pub fn open_in_text(key: &MasterKey, body: &str) -> Result<String, String> {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + OPEN.len()..];
        let end = after
            .find(CLOSE)
            .ok_or("a sealed secret in the message is not closed")?;
        let opened = unhex(&after[..end])
            .and_then(|bytes| key.open_secret(&bytes, BINDING).ok())
            .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
            .ok_or("a sealed secret in the message does not open with this master key")?;
        out.push_str(&opened);
        rest = &after[end + CLOSE.len()..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_in_place_and_only_with_their_key() {
        let key = MasterKey::generate();
        let body = format!(
            "Sign in here:\n{}\n\nand {} too.",
            seal_in_text(&key, "https://example.com/portal/link/abc"),
            seal_in_text(&key, "two")
        );
        assert!(!body.contains("/portal/link/abc"));
        assert_eq!(
            open_in_text(&key, &body).unwrap(),
            "Sign in here:\nhttps://example.com/portal/link/abc\n\nand two too."
        );
        assert!(open_in_text(&MasterKey::generate(), &body).is_err());
        assert_eq!(open_in_text(&key, "plain").unwrap(), "plain");
        assert!(open_in_text(&key, "{{sealed:zz}}").is_err());
        assert!(open_in_text(&key, "{{sealed:00").is_err());
    }
}
