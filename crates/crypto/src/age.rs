//! Encryption to an `age` public key, for backups that only a key kept elsewhere can open.
//!
//! This writes the age v1 format (<https://age-encryption.org/v1>) for its native X25519
//! recipients, and nothing else: no decryption, no passphrases, no other recipient types.
//! Files are opened with the reference tool (`age -d -i key.txt backup.db.age`). The `age`
//! crate would bring in far more than these ~200 lines need; the format is small and fixed,
//! and a test decrypts our output with the reference tool byte for byte.
//!
//! The file: the header `age-encryption.org/v1`, one stanza
//! `-> X25519 <ephemeral share>` whose body is the 16-byte file key sealed to the recipient,
//! the line `--- <HMAC of the header>`, then a 16-byte nonce and the plaintext in 64 KiB
//! chunks, each sealed with ChaCha20-Poly1305 under a key derived from the file key and the
//! nonce, and numbered so that none can be dropped, moved or cut off unnoticed.

use std::io::{self, Read, Write};

use chacha20poly1305::{
    ChaCha20Poly1305, Nonce,
    aead::{Aead, KeyInit},
};
use hkdf::{
    Hkdf,
    hmac::{Hmac, Mac},
};
use sha2_11::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

/// How age public keys start (the Bech32 human-readable part, and its separator).
const RECIPIENT_HRP: &str = "age";
const HEADER_VERSION: &str = "age-encryption.org/v1";
const X25519_LABEL: &[u8] = b"age-encryption.org/v1/X25519";
/// Plaintext chunk size of the payload.
const CHUNK: usize = 64 * 1024;
/// Stanza bodies are wrapped at this many base64 characters.
const COLUMNS: usize = 64;

/// Why a text is not an age public key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecipientError {
    /// Not of the form `age1…` at all (empty, another kind of key, a secret key).
    #[error("not an age public key: they start age1… (as `age-keygen` prints them)")]
    NotARecipient,
    /// Capitals and small letters mixed: Bech32 is one or the other.
    #[error("not an age public key: it mixes capital and small letters")]
    MixedCase,
    /// A character Bech32 never uses.
    #[error("not an age public key: it contains {0:?}, which age public keys never do")]
    BadCharacter(char),
    /// The checksum does not match: mistyped, or cut short.
    #[error("not an age public key: its checksum does not match (mistyped or cut short?)")]
    Checksum,
    /// The checksum matches but the key inside is not 32 bytes.
    #[error("not an age public key: it holds {0} bytes where an X25519 key has 32")]
    Length(usize),
}

/// An age X25519 public key (`age1…`), to encrypt to.
#[derive(Clone, PartialEq, Eq)]
pub struct Recipient([u8; 32]);

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Recipient(")?;
        for byte in &self.0[..4] {
            write!(f, "{byte:02x}")?;
        }
        f.write_str("…)")
    }
}

impl Recipient {
    /// The 32 bytes of the X25519 public key.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Parse an age public key as `age-keygen` prints it (`age1` and 58 more characters; space
/// around it is ignored).
pub fn parse_recipient(text: &str) -> Result<Recipient, RecipientError> {
    let text = text.trim();
    if !text.to_ascii_lowercase().starts_with("age1") {
        return Err(RecipientError::NotARecipient);
    }
    let (hrp, data) = bech32_decode(text)?;
    if hrp != RECIPIENT_HRP {
        return Err(RecipientError::NotARecipient);
    }
    let key: [u8; 32] = data
        .as_slice()
        .try_into()
        .map_err(|_| RecipientError::Length(data.len()))?;
    Ok(Recipient(key))
}

/// Encrypt everything `reader` gives to `recipient`, writing the age file to `writer`. Reads
/// and writes one 64 KiB chunk at a time; `writer` is flushed at the end.
pub fn encrypt(
    recipient: &Recipient,
    mut reader: impl Read,
    mut writer: impl Write,
) -> io::Result<()> {
    let file_key = Zeroizing::new(rand::random::<[u8; 16]>());
    let header = header(recipient, &file_key)?;
    writer.write_all(header.as_bytes())?;

    let nonce: [u8; 16] = rand::random();
    writer.write_all(&nonce)?;
    let payload_key = hkdf_sha256(&*file_key, &nonce, b"payload");
    let cipher = ChaCha20Poly1305::new(&(*payload_key).into());

    let mut chunk = vec![0u8; CHUNK];
    let mut next = vec![0u8; CHUNK];
    let mut len = read_full(&mut reader, &mut chunk)?;
    let mut counter: u64 = 0;
    loop {
        // A full chunk is the last one only if nothing follows it: look one chunk ahead.
        let (last, next_len) = if len < CHUNK {
            (true, 0)
        } else {
            let next_len = read_full(&mut reader, &mut next)?;
            (next_len == 0, next_len)
        };
        let mut chunk_nonce = [0u8; 12];
        chunk_nonce[3..11].copy_from_slice(&counter.to_be_bytes());
        chunk_nonce[11] = u8::from(last);
        let sealed = cipher
            .encrypt(&Nonce::from(chunk_nonce), &chunk[..len])
            .map_err(|_| io::Error::other("a chunk could not be encrypted"))?;
        writer.write_all(&sealed)?;
        if last {
            break;
        }
        std::mem::swap(&mut chunk, &mut next);
        len = next_len;
        counter = counter
            .checked_add(1)
            .ok_or_else(|| io::Error::other("too much to encrypt in one file"))?;
    }
    writer.flush()
}

/// The header, up to and including its MAC line: the file key sealed to `recipient` under a
/// fresh ephemeral X25519 key.
fn header(recipient: &Recipient, file_key: &[u8; 16]) -> io::Result<String> {
    let ephemeral = StaticSecret::from(*Zeroizing::new(rand::random::<[u8; 32]>()));
    let share = PublicKey::from(&ephemeral);
    let shared = ephemeral.diffie_hellman(&PublicKey::from(recipient.0));
    if shared.as_bytes() == &[0u8; 32] {
        // A low-order point: the "shared" secret would be known to anyone.
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "this age public key is not a usable X25519 key",
        ));
    }
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(share.as_bytes());
    salt[32..].copy_from_slice(&recipient.0);
    let wrap_key = hkdf_sha256(shared.as_bytes(), &salt, X25519_LABEL);
    let body = ChaCha20Poly1305::new(&(*wrap_key).into())
        .encrypt(&Nonce::from([0u8; 12]), file_key.as_slice())
        .map_err(|_| io::Error::other("the file key could not be sealed"))?;

    let mut header = format!("{HEADER_VERSION}\n-> X25519 {}\n", base64(share.as_bytes()));
    let body = base64(&body);
    // Full lines of 64, then always one shorter line (empty if nothing is left).
    let mut rest = body.as_str();
    while rest.len() >= COLUMNS {
        header.push_str(&rest[..COLUMNS]);
        header.push('\n');
        rest = &rest[COLUMNS..];
    }
    header.push_str(rest);
    header.push_str("\n---");

    let hmac_key = hkdf_sha256(file_key, b"", b"header");
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&*hmac_key).map_err(|_| io::Error::other("HMAC key"))?;
    mac.update(header.as_bytes());
    let tag = mac.finalize().into_bytes();
    header.push(' ');
    header.push_str(&base64(&tag));
    header.push('\n');
    Ok(header)
}

/// HKDF-SHA-256 to a 32-byte key.
fn hkdf_sha256(ikm: &[u8], salt: &[u8], info: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, key.as_mut_slice())
        // 32 bytes is far below HKDF-SHA-256's limit of 8160.
        .expect("HKDF output of 32 bytes");
    key
}

/// Fill `buf` from `reader` as far as it goes: fewer bytes only at the end of the input.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Standard base64 without padding, as age writes it.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut text = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=group.len() {
            text.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    text
}

const BECH32_CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// The Bech32 (BIP 173, not Bech32m) checksum's polynomial remainder.
fn bech32_polymod(values: impl IntoIterator<Item = u8>) -> u32 {
    const GENERATOR: [u32; 5] = [
        0x3b6a_57b2,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];
    values.into_iter().fold(1, |check, value| {
        let top = check >> 25;
        let mut check = (check & 0x01ff_ffff) << 5 ^ u32::from(value);
        for (i, g) in GENERATOR.iter().enumerate() {
            if top >> i & 1 == 1 {
                check ^= g;
            }
        }
        check
    })
}

/// The checksum's input: the human-readable part expanded, a zero, then the data.
fn bech32_checked(hrp: &str, data: &[u8]) -> Vec<u8> {
    let hrp = hrp.bytes();
    hrp.clone()
        .map(|b| b >> 5)
        .chain([0])
        .chain(hrp.map(|b| b & 31))
        .chain(data.iter().copied())
        .collect()
}

/// Decode Bech32 text: its human-readable part (lower case) and its data as bytes. No
/// overall length limit (age does not keep to BIP 173's 90 characters either).
fn bech32_decode(text: &str) -> Result<(String, Vec<u8>), RecipientError> {
    if text.bytes().any(|b| b.is_ascii_lowercase()) && text.bytes().any(|b| b.is_ascii_uppercase())
    {
        return Err(RecipientError::MixedCase);
    }
    let text = text.to_ascii_lowercase();
    let Some((hrp, data)) = text.rsplit_once('1') else {
        return Err(RecipientError::NotARecipient);
    };
    if hrp.is_empty() || data.len() < 6 || hrp.bytes().any(|b| !(33..=126).contains(&b)) {
        return Err(RecipientError::NotARecipient);
    }
    let values = data
        .chars()
        .map(|c| {
            u8::try_from(c)
                .ok()
                .and_then(|b| BECH32_CHARSET.iter().position(|&x| x == b))
                .map(|v| v as u8)
                .ok_or(RecipientError::BadCharacter(c))
        })
        .collect::<Result<Vec<u8>, _>>()?;
    if bech32_polymod(bech32_checked(hrp, &values)) != 1 {
        return Err(if hrp == RECIPIENT_HRP {
            RecipientError::Checksum
        } else {
            RecipientError::NotARecipient
        });
    }
    // 5-bit groups to bytes; what is left over must be fewer than 5 bits, all zero.
    let (mut bytes, mut acc, mut bits) = (Vec::new(), 0u32, 0u32);
    for &v in &values[..values.len() - 6] {
        acc = (acc << 5 | u32::from(v)) & 0xfff;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            bytes.push((acc >> bits) as u8);
        }
    }
    if bits >= 5 || acc & ((1 << bits) - 1) != 0 {
        return Err(RecipientError::Checksum);
    }
    Ok((hrp.to_owned(), bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A recipient made with `age-keygen` (age 1.1.1), its secret key, and the key's bytes
    /// as an independent Bech32 decoder gives them.
    const RECIPIENT: &str = "age1nhffdxcjh37kjx856vutfaq7vmk2yzt7ks2rty4t29rztennrc2q8rfyan";
    const RECIPIENT_HEX: &str = "9dd2969b12bc7d6918f4d338b4f41e66eca2097eb4143592ab514625e6731e14";
    const SECRET: &str =
        "AGE-SECRET-KEY-1CRVNEAK8HMC7KW4J6LNA9SKZ6YAVNEJQUGHH4XUGZ5EK2M20LAYSZNA6V4";

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Bech32 text for `hrp` and `bytes` with the given checksum constant (1: Bech32;
    /// 0x2bc830a3: Bech32m), to make well-formed keys of the wrong kind.
    fn bech32_encode(hrp: &str, bytes: &[u8], constant: u32) -> String {
        let mut values = Vec::new();
        let (mut acc, mut bits) = (0u32, 0u32);
        for &b in bytes {
            acc = acc << 8 | u32::from(b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                values.push((acc >> bits & 31) as u8);
            }
        }
        if bits > 0 {
            values.push((acc << (5 - bits) & 31) as u8);
        }
        let mut checked = bech32_checked(hrp, &values);
        checked.extend([0; 6]);
        let check = bech32_polymod(checked) ^ constant;
        values.extend((0..6).map(|i| (check >> (5 * (5 - i)) & 31) as u8));
        let data: String = values
            .iter()
            .map(|&v| char::from(BECH32_CHARSET[v as usize]))
            .collect();
        format!("{hrp}1{data}")
    }

    #[test]
    fn a_recipient_from_age_keygen_decodes_to_its_known_bytes_and_matches_its_secret() {
        let recipient = parse_recipient(RECIPIENT).unwrap();
        assert_eq!(hex(recipient.as_bytes()), RECIPIENT_HEX);
        assert_eq!(
            parse_recipient(&format!("  {RECIPIENT}\n")).unwrap(),
            recipient
        );
        assert_eq!(
            parse_recipient(&RECIPIENT.to_ascii_uppercase()).unwrap(),
            recipient,
            "all capitals is Bech32 too"
        );
        let (hrp, secret) = bech32_decode(SECRET).unwrap();
        assert_eq!(hrp, "age-secret-key-");
        let secret: [u8; 32] = secret.try_into().unwrap();
        assert_eq!(
            PublicKey::from(&StaticSecret::from(secret)).as_bytes(),
            recipient.as_bytes(),
            "the public key is the secret key's X25519 public key"
        );
        assert_eq!(bech32_encode("age", recipient.as_bytes(), 1), RECIPIENT);
        assert_eq!(format!("{recipient:?}"), "Recipient(9dd2969b…)");
    }

    #[test]
    fn anything_but_an_age_public_key_is_refused_with_its_reason() {
        let bytes = parse_recipient(RECIPIENT).unwrap().0;
        let last = RECIPIENT.len() - 1;
        let typo = format!("{}{}", &RECIPIENT[..last], "q");
        let mixed = format!("AGE1{}", &RECIPIENT[4..]);
        let short = bech32_encode("age", &bytes[..31], 1);
        let long = bech32_encode("age", &[bytes.as_slice(), &[7]].concat(), 1);
        let bech32m = bech32_encode("age", &bytes, 0x2bc8_30a3);
        let other_hrp = bech32_encode("agf", &bytes, 1);
        for (text, why) in [
            ("", RecipientError::NotARecipient),
            ("age1", RecipientError::NotARecipient),
            (
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5",
                RecipientError::NotARecipient,
            ),
            (SECRET, RecipientError::NotARecipient),
            (other_hrp.as_str(), RecipientError::NotARecipient),
            (typo.as_str(), RecipientError::Checksum),
            (&RECIPIENT[..last], RecipientError::Checksum),
            (bech32m.as_str(), RecipientError::Checksum),
            (mixed.as_str(), RecipientError::MixedCase),
            (short.as_str(), RecipientError::Length(31)),
            (long.as_str(), RecipientError::Length(33)),
            (
                "age1nhffdxcjh37kjx856vutfaq7vmk2yzt7ks2rty4t29rztennrc2q8rfyab",
                RecipientError::BadCharacter('b'),
            ),
        ] {
            assert_eq!(parse_recipient(text), Err(why), "{text:?}");
        }
        assert_eq!(
            RecipientError::NotARecipient.to_string(),
            "not an age public key: they start age1… (as `age-keygen` prints them)"
        );
    }

    #[test]
    fn base64_is_the_standard_alphabet_without_padding() {
        for (bytes, text) in [
            (&b""[..], ""),
            (b"f", "Zg"),
            (b"fo", "Zm8"),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg"),
            (b"\xfb\xff\xbf", "+/+/"),
        ] {
            assert_eq!(base64(bytes), text);
        }
    }

    fn unbase64(text: &str) -> Vec<u8> {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
        for b in text.bytes() {
            acc = acc << 6 | ALPHABET.iter().position(|&x| x == b).unwrap() as u32;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
            }
        }
        out
    }

    /// Open what [`encrypt`] wrote with the secret key, as the spec says a decryptor must
    /// (header MAC, chunk numbers, last-chunk flag); the plaintext and the number of chunks.
    fn decrypt(secret: &StaticSecret, file: &[u8]) -> (Vec<u8>, usize) {
        let end = file.windows(4).position(|w| w == b"\n---").unwrap() + 4;
        let text = std::str::from_utf8(&file[..end]).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(HEADER_VERSION));
        let share = lines.next().unwrap().strip_prefix("-> X25519 ").unwrap();
        let share: [u8; 32] = unbase64(share).try_into().unwrap();
        let body = unbase64(lines.next().unwrap());
        assert_eq!(lines.next(), Some("---"));
        let recipient = PublicKey::from(secret);
        let shared = secret.diffie_hellman(&PublicKey::from(share));
        let salt = [share.as_slice(), recipient.as_bytes()].concat();
        let wrap_key = hkdf_sha256(shared.as_bytes(), &salt, X25519_LABEL);
        let file_key: [u8; 16] = ChaCha20Poly1305::new(&(*wrap_key).into())
            .decrypt(&Nonce::from([0u8; 12]), body.as_slice())
            .unwrap()
            .try_into()
            .unwrap();
        let mac_end = file[end..].iter().position(|&b| b == b'\n').unwrap() + end;
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&*hkdf_sha256(&file_key, b"", b"header")).unwrap();
        mac.update(&file[..end]);
        let tag = std::str::from_utf8(&file[end + 1..mac_end]).unwrap();
        mac.verify_slice(&unbase64(tag)).expect("the header MAC");
        let nonce = &file[mac_end + 1..mac_end + 17];
        let cipher = ChaCha20Poly1305::new(&(*hkdf_sha256(&file_key, nonce, b"payload")).into());
        let sealed_chunks: Vec<&[u8]> = file[mac_end + 17..].chunks(CHUNK + 16).collect();
        let mut plaintext = Vec::new();
        for (i, sealed) in sealed_chunks.iter().enumerate() {
            let mut chunk_nonce = [0u8; 12];
            chunk_nonce[3..11].copy_from_slice(&(i as u64).to_be_bytes());
            chunk_nonce[11] = u8::from(i + 1 == sealed_chunks.len());
            let chunk = cipher
                .decrypt(&Nonce::from(chunk_nonce), *sealed)
                .expect("every chunk opens with its number and flag");
            assert!(
                !chunk.is_empty() || sealed_chunks.len() == 1,
                "an empty chunk only for an empty file"
            );
            plaintext.extend(chunk);
        }
        (plaintext, sealed_chunks.len())
    }

    /// A reader that gives at most a few bytes at a time, to check chunks are filled anyway.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.0.len()).min(7_000);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn chunks_are_full_numbered_and_the_last_is_flagged_at_every_boundary() {
        let secret = StaticSecret::from(rand::random::<[u8; 32]>());
        let recipient = Recipient(PublicKey::from(&secret).to_bytes());
        for (size, chunks) in [
            (0, 1),
            (1, 1),
            (CHUNK - 1, 1),
            (CHUNK, 1),
            (CHUNK + 1, 2),
            (2 * CHUNK, 2),
            (3 * CHUNK + 5, 4),
        ] {
            let plaintext: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
            let mut file = Vec::new();
            encrypt(&recipient, Trickle(&plaintext), &mut file).unwrap();
            assert!(file.starts_with(b"age-encryption.org/v1\n-> X25519 "));
            let (opened, count) = decrypt(&secret, &file);
            assert_eq!(count, chunks, "{size} bytes");
            assert!(opened == plaintext, "{size} bytes round-trip");
            let header = file.windows(4).position(|w| w == b"\n---").unwrap();
            let mac_line = file[header..]
                .iter()
                .skip(1)
                .position(|&b| b == b'\n')
                .unwrap();
            assert_eq!(
                file.len(),
                header + 1 + mac_line + 1 + 16 + size + 16 * chunks,
                "{size} bytes: header, nonce, chunks and one tag each"
            );
        }
    }

    #[test]
    fn every_file_has_its_own_key_and_nonce_and_a_low_order_key_is_refused() {
        let recipient = parse_recipient(RECIPIENT).unwrap();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        encrypt(&recipient, &b"the same notes"[..], &mut a).unwrap();
        encrypt(&recipient, &b"the same notes"[..], &mut b).unwrap();
        assert_ne!(a, b);
        assert!(!a.windows(9).any(|w| w == b"same note"));
        let zero = Recipient([0u8; 32]);
        let error = encrypt(&zero, &b"x"[..], Vec::new()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    }
}
