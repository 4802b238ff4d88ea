//! A whole practice as one sealed file: what `anteroom practice export` writes and the
//! operator console hands out, and what `anteroom practice import` reads.
//!
//! The file holds every row of the practice (`store::moving::Dump`, numbered by the dump
//! itself) and the practice's own key, the whole sealed with a key made for this export
//! alone (a *transfer key*, kept apart from the file). The export holds the practice's
//! clients' names and addresses, so it is never handed out in the clear; its notes and
//! secrets are sealed inside it a second time, as they are in the database.

use anyhow::{anyhow, bail};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use store::{PracticeId, Store, moving::Dump};

/// How an export file starts.
const MAGIC: &[u8] = b"anteroom-practice-export-v1\n";
/// What the export's sealing is bound to.
const BINDING: &[u8] = b"anteroom/v1/practice-export";
/// The `format` inside.
const FORMAT: &str = "anteroom-practice";

/// What the export holds, once opened.
#[derive(Serialize, Deserialize)]
pub struct Payload {
    pub format: String,
    pub version: u32,
    pub exported_at: Timestamp,
    /// The practice's own key, as a key file holds it.
    pub key: String,
    pub dump: Dump,
}

impl Payload {
    /// The practice's name, from its row.
    pub fn practice_name(&self) -> String {
        let dump = &self.dump;
        dump.table("practices")
            .and_then(|t| Some(t.rows.first()?[t.column("name")?].text()?.to_owned()))
            .unwrap_or_default()
    }

    /// How many rows it carries.
    pub fn rows(&self) -> usize {
        self.dump.tables.iter().map(|t| t.rows.len()).sum()
    }
}

/// The dump numbered by itself, its sealed values sealed under those numbers, with the key.
/// Refused if the practice's audit log does not verify.
pub fn payload_of(key: &crypto::MasterKey, dump: &Dump, now: Timestamp) -> anyhow::Result<Payload> {
    if !dump.chain_holds()? {
        bail!(
            "the practice's audit log does not verify (run anteroom audit verify); nothing was \
             exported"
        );
    }
    let (numbered, _) = dump.renumber();
    let rekey = crate::keys::Rekey::new(key, None, dump).map_err(|e| anyhow!(e))?;
    let mut numbered = dump.rebound(&numbered, &rekey).map_err(|e| anyhow!(e))?;
    numbered.rechain()?;
    Ok(Payload {
        format: FORMAT.into(),
        version: 1,
        exported_at: now,
        key: key.to_text().to_string(),
        dump: numbered,
    })
}

/// Read `practice` from the store and make its payload: its key opened (or given its own
/// first) with the host key.
pub async fn payload(
    store: &dyn Store,
    host_key: &crypto::MasterKey,
    practice: PracticeId,
    now: Timestamp,
) -> anyhow::Result<Payload> {
    crate::keys::check_host_key(store, host_key).await?;
    let key = crate::keys::open_or_adopt(store, host_key, practice, now).await?;
    let dump = store.dump_practice(practice).await?;
    payload_of(&key, &dump, now)
}

/// The export file's bytes: the payload sealed with `transfer`.
pub fn seal(payload: &Payload, transfer: &crypto::MasterKey) -> anyhow::Result<Vec<u8>> {
    // The opened export holds client data: wiped from memory once sealed.
    let json = zeroize::Zeroizing::new(serde_json::to_vec(payload)?);
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&transfer.seal_secret(&json, BINDING));
    Ok(bytes)
}

/// Why an export does not open.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("it is not an Anteroom practice export")]
    NotAnExport,
    #[error("it does not open with this key: the wrong key, or the export was changed or damaged")]
    WrongKey,
    #[error("it holds no practice this version can read")]
    Unreadable,
    #[error(
        "it is an export of another kind or version ({0}); use the Anteroom version that made \
         it, or a newer one"
    )]
    OtherVersion(String),
}

/// Open an export's bytes with its transfer key: the payload, checked.
pub fn open(bytes: &[u8], transfer: &crypto::MasterKey) -> Result<Payload, OpenError> {
    let sealed = bytes.strip_prefix(MAGIC).ok_or(OpenError::NotAnExport)?;
    let opened = transfer
        .open_secret(sealed, BINDING)
        .map_err(|_| OpenError::WrongKey)?;
    let payload: Payload = serde_json::from_slice(&opened).map_err(|_| OpenError::Unreadable)?;
    if payload.format != FORMAT || payload.version != 1 {
        return Err(OpenError::OtherVersion(format!(
            "{} {}",
            payload.format, payload.version
        )));
    }
    Ok(payload)
}
