//! The staff second factor (SECURITY.md R3): time-based codes from an authenticator app
//! (TOTP, RFC 6238, via `totp-rs`) and single-use recovery codes.
//!
//! Codes are 6 digits, SHA-1, 30-second steps: what every authenticator app understands.
//! A code is accepted one step either side of now (clocks drift); the step it matched is
//! returned so the caller can refuse it, and every earlier one, ever after (RFC 6238 §5.2).
//! Secrets reach the store only sealed with the master key, bound to their user's row.
//! Recovery codes are 80 random bits shown once and stored as SHA-256 hashes.

use jiff::Timestamp;
use sha2::{Digest, Sha256};
use store::UserId;
use totp_rs::{Builder, Secret, Totp};
use zeroize::Zeroizing;

use crate::{Here, WebError, error::WebResult};

/// Seconds per time step.
const STEP_SECONDS: u64 = 30;
/// Digits in a code.
const DIGITS: usize = 6;
/// Bytes in a secret: the 160 bits RFC 4226 §4 recommends.
const SECRET_BYTES: usize = 20;
/// How many recovery codes a member of staff gets.
pub(crate) const RECOVERY_CODES: usize = 10;
/// Recovery code letters: lower case and digits without the look-alikes (0/o, 1/l/i).
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
/// Characters in a recovery code: 16 of 31 is about 79 bits.
const RECOVERY_LENGTH: usize = 16;

/// A TOTP secret, wiped from memory when dropped.
pub struct TotpSecret(Zeroizing<[u8; SECRET_BYTES]>);

impl TotpSecret {
    /// A new random secret.
    pub(crate) fn generate() -> Self {
        Self(Zeroizing::new(rand::random()))
    }

    /// A secret from its bytes, as opened from where it is kept.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let mut secret = Zeroizing::new([0u8; SECRET_BYTES]);
        if bytes.len() != SECRET_BYTES {
            return None;
        }
        secret.copy_from_slice(bytes);
        Some(Self(secret))
    }

    /// The secret's bytes, for sealing.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_slice()
    }

    /// Read a secret as the set-up page shows it (base32, spaces and case ignored).
    pub fn from_base32(text: &str) -> Option<Self> {
        let compact: String = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        let secret = Secret::try_from_base32(compact).ok()?;
        Self::from_bytes(secret.as_bytes())
    }

    /// The secret in base32 (RFC 4648, no padding: 20 bytes make exactly 32 letters).
    pub(crate) fn base32(&self) -> String {
        Secret::new_stack(*self.0).to_base32()
    }

    /// The base32 secret in groups of four, for typing into an app by hand.
    pub(crate) fn grouped(&self) -> String {
        let base32 = self.base32();
        base32
            .as_bytes()
            .chunks(4)
            .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn totp(&self) -> Totp {
        Builder::new()
            .with_secret(Secret::new_stack(*self.0))
            .with_digits(DIGITS as u8)
            .with_step_duration(STEP_SECONDS)
            .with_skew(1)
            .build_noncompliant()
    }

    /// The code an app shows at `at`.
    pub fn code_at(&self, at: Timestamp) -> String {
        self.totp().generate(unix_seconds(at)).to_string()
    }

    /// The time step `code` belongs to, if it is right for the step of `at` or one either
    /// side; `None` for a wrong code.
    pub(crate) fn check(&self, code: &str, at: Timestamp) -> Option<u64> {
        self.totp().check(code, unix_seconds(at))
    }

    /// The address an authenticator app reads from the QR code
    /// (<https://github.com/google/google-authenticator/wiki/Key-Uri-Format>).
    pub(crate) fn otpauth_url(&self, issuer: &str, account: &str) -> String {
        // A colon separates issuer and account in the label, so neither may contain one.
        let issuer = percent_encode(&issuer.replace(':', " "));
        let account = percent_encode(&account.replace(':', " "));
        format!(
            "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            self.base32()
        )
    }
}

fn unix_seconds(at: Timestamp) -> u64 {
    u64::try_from(at.as_second()).unwrap_or(0)
}

/// Percent-encode everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// What was typed where a second factor is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entered {
    /// Six digits from the app.
    Code(String),
    /// One of the recovery codes, normalised (lower case, no spaces or dashes).
    Recovery(String),
}

impl Entered {
    /// Parse a code; `allow_recovery` is false where only the app will do (set-up, turning off).
    pub(crate) fn parse(text: &str, allow_recovery: bool) -> Result<Self, &'static str> {
        let compact: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect::<String>()
            .to_ascii_lowercase();
        if compact.is_empty() {
            return Err(if allow_recovery {
                "Enter the 6-digit code from your authenticator app, or a recovery code"
            } else {
                "Enter the 6-digit code from your authenticator app"
            });
        }
        if compact.len() == DIGITS && compact.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(Self::Code(compact));
        }
        if allow_recovery
            && compact.len() == RECOVERY_LENGTH
            && compact.bytes().all(|b| RECOVERY_ALPHABET.contains(&b))
        {
            return Ok(Self::Recovery(compact));
        }
        Err(if allow_recovery {
            "Enter the 6 digits your app shows, like 123456, or a recovery code like abcd-efgh-jkmn-pqrs"
        } else {
            "Enter the 6 digits your app shows, like 123456"
        })
    }
}

/// Ten new recovery codes, as shown to their owner (`abcd-efgh-jkmn-pqrs`).
pub(crate) fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let letters: Vec<u8> = (0..RECOVERY_LENGTH)
                .map(|_| RECOVERY_ALPHABET[rand::random_range(0..RECOVERY_ALPHABET.len())])
                .collect();
            letters
                .chunks(4)
                .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// The stored form of a recovery code: SHA-256 of its normalised text.
pub(crate) fn recovery_hash(code: &str) -> Vec<u8> {
    let normalised: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    Sha256::digest(normalised.as_bytes()).to_vec()
}

/// Seal a secret for storing in its user's row, with the practice's key.
pub(crate) async fn seal(state: &Here, user: UserId, secret: &TotpSecret) -> WebResult<Vec<u8>> {
    let key = state.practice_key().await?;
    let binding = crate::keys::secret_binding(state.practice_id(), user);
    Ok(key.seal_secret(secret.as_bytes(), &binding))
}

/// Open a user's stored secret.
pub(crate) async fn open(state: &Here, user: UserId, sealed: &[u8]) -> WebResult<TotpSecret> {
    let key = state.practice_key().await?;
    let binding = crate::keys::secret_binding(state.practice_id(), user);
    let bytes = key.open_secret(sealed, &binding).map_err(|e| {
        WebError::Internal(anyhow::anyhow!(
            "user {user}'s authenticator secret (is this the practice's key file?): {e}"
        ))
    })?;
    TotpSecret::from_bytes(&bytes).ok_or_else(|| {
        WebError::Internal(anyhow::anyhow!("user {user}'s secret has the wrong length"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 rows, last 6 of the 8 digits.
    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890").unwrap();
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            let at = Timestamp::from_second(time).unwrap();
            assert_eq!(secret.code_at(at), code, "at {time}");
            assert_eq!(secret.check(code, at), Some(time as u64 / 30));
        }
    }

    #[test]
    fn a_code_is_right_one_step_either_side_and_no_further() {
        let secret = TotpSecret::generate();
        let now = Timestamp::from_second(1_800_000_015).unwrap();
        let step = 1_800_000_015 / 30;
        let at = |steps: i64| now + jiff::SignedDuration::from_secs(30 * steps);
        assert_eq!(secret.check(&secret.code_at(now), now), Some(step));
        assert_eq!(secret.check(&secret.code_at(at(-1)), now), Some(step - 1));
        assert_eq!(secret.check(&secret.code_at(at(1)), now), Some(step + 1));
        for far in [-3, -2, 2, 3] {
            let code = secret.code_at(at(far));
            // Another step's code could coincide with a near one (one in a million).
            if ![-1, 0, 1].iter().any(|n| secret.code_at(at(*n)) == code) {
                assert_eq!(secret.check(&code, now), None, "{far} steps away");
            }
        }
        assert_eq!(secret.check("12345", now), None);
        assert_eq!(secret.check("+12345", now), None);
    }

    #[test]
    fn the_secret_reads_back_from_its_grouped_form() {
        let secret = TotpSecret::generate();
        let grouped = secret.grouped();
        assert_eq!(grouped.len(), 32 + 7, "eight groups of four");
        let again = TotpSecret::from_base32(&grouped.to_lowercase()).unwrap();
        assert_eq!(again.base32(), secret.base32());
        assert!(TotpSecret::from_base32("not base32!").is_none());
    }

    #[test]
    fn the_otpauth_address_names_the_practice_and_the_account() {
        let secret = TotpSecret::from_bytes(&[0u8; 20]).unwrap();
        let url = secret.otpauth_url("Larchwood: Psychotherapy", "alex@example.com");
        assert_eq!(
            url,
            "otpauth://totp/Larchwood%20%20Psychotherapy:alex%40example.com?secret=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&issuer=Larchwood%20%20Psychotherapy&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn entries_are_told_apart_and_tidied() {
        assert_eq!(
            Entered::parse(" 123 456 ", true),
            Ok(Entered::Code("123456".into()))
        );
        assert_eq!(
            Entered::parse("ABCD-EFGH-JKMN-PQRS", true),
            Ok(Entered::Recovery("abcdefghjkmnpqrs".into()))
        );
        assert!(Entered::parse("abcd-efgh-jkmn-pqrs", false).is_err());
        for bad in ["", "12345", "1234567", "12345a", "<script>", "١٢٣٤٥٦"] {
            assert!(Entered::parse(bad, true).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn recovery_codes_are_distinct_and_hash_the_same_however_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let unique: std::collections::BTreeSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), RECOVERY_CODES);
        for code in &codes {
            assert_eq!(code.len(), 19, "{code}");
            let Ok(Entered::Recovery(typed)) = Entered::parse(&code.to_uppercase(), true) else {
                panic!("{code} does not parse as a recovery code");
            };
            assert_eq!(recovery_hash(&typed), recovery_hash(code));
        }
        assert_ne!(recovery_hash(&codes[0]), recovery_hash(&codes[1]));
    }
}
