//! Each practice's own master key (SECURITY.md R8).
//!
//! The key file the server is started with is the host's key. It wraps one key per practice,
//! stored in `practice_keys`; the practice's key wraps its clients' data keys, seals its
//! staff's authenticator secrets and the sign-in links waiting in its outbox. So a host key
//! rotation re-wraps one small key per practice, and closing a practice destroys its key
//! before its rows: whatever copy of a row is left can no longer be opened.
//!
//! A practice without a key of its own (a new one, or one written before practices had
//! their own keys, whose secrets are under the host key itself) takes one the first time
//! it is needed: its secrets are re-wrapped under the new key in the same transaction, and
//! if another process did it a moment before, that process's key is used.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use crypto::{CryptoError, MasterKey, row_binding};
use jiff::Timestamp;
use store::{ConflictKind, KeyAdoption, PracticeId, Rewrapped, Store, StoreError, UserId};

/// What can stop a practice's key from opening.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The server was started without a key file.
    #[error("the server was started without the key file")]
    NoHostKey,
    /// The database's keys are wrapped by another key file (or it was rotated meanwhile).
    #[error(
        "the database's practice keys are wrapped with another key file than this process's \
         (was the key rotated? then restart with the new key file)"
    )]
    OtherHostKey,
    /// A stored key or secret does not open with the key that should wrap it.
    #[error("{0} does not open with the key file (is this the database's key file?)")]
    Unreadable(String),
    /// Operators' secrets are sealed with the key file, but no practice has a key yet, so
    /// the database does not name its key file and a rotation could not be checked.
    #[error(
        "no practice has a key yet, so this database does not name its key file: create the \
         first practice before rotating, or reset the operators' authenticator apps \
         (anteroom operator reset-second-factor)"
    )]
    NothingToRotate,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a practice's own key is bound to in its row.
pub fn practice_binding(practice: PracticeId) -> Vec<u8> {
    row_binding(practice.get(), "practice_keys", practice.get(), "key")
}

/// What a client's wrapped data key is bound to.
pub fn client_key_binding(practice: PracticeId, client: store::ClientId) -> Vec<u8> {
    row_binding(practice.get(), "client_keys", client.get(), "key")
}

/// What a note's sealed body is bound to.
pub fn note_binding(practice: PracticeId, note: store::NoteId) -> Vec<u8> {
    row_binding(practice.get(), "notes", note.get(), "body")
}

/// What a staff member's sealed authenticator secret is bound to.
pub fn secret_binding(practice: PracticeId, user: UserId) -> Vec<u8> {
    row_binding(practice.get(), "users", user.get(), "totp_secret")
}

/// What an operator's authenticator secret is sealed to (with the host key itself: an
/// operator belongs to no practice).
pub fn operator_secret_binding(operator: store::OperatorId) -> Vec<u8> {
    row_binding(0, "operators", operator.get(), "totp_secret")
}

fn unreadable(what: String) -> impl FnOnce(CryptoError) -> KeyError {
    move |_| KeyError::Unreadable(what)
}

/// The host key and the practices' keys this process has opened.
pub struct PracticeKeys {
    host: Option<Arc<MasterKey>>,
    opened: Mutex<HashMap<PracticeId, Arc<MasterKey>>>,
}

impl std::fmt::Debug for PracticeKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PracticeKeys(…)")
    }
}

impl PracticeKeys {
    /// Keys opened with `host` (none without it: notes and secrets are then unavailable).
    pub fn new(host: Option<Arc<MasterKey>>) -> Self {
        Self {
            host,
            opened: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the server has a key file (without one, nothing sealed can be written).
    pub fn loaded(&self) -> bool {
        self.host.is_some()
    }

    /// Keep only the opened keys of practices for which `keep` is true (the others were
    /// closed); the keys are wiped from memory as they are dropped.
    pub fn retain(&self, keep: impl Fn(PracticeId) -> bool) {
        self.lock().retain(|practice, _| keep(*practice));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PracticeId, Arc<MasterKey>>> {
        self.opened.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The practice's own key: opened before, or unwrapped from the store, or made now.
    pub async fn of(
        &self,
        store: &dyn Store,
        practice: PracticeId,
        now: Timestamp,
    ) -> Result<Arc<MasterKey>, KeyError> {
        if let Some(key) = self.lock().get(&practice) {
            return Ok(Arc::clone(key));
        }
        let host = self.host.as_deref().ok_or(KeyError::NoHostKey)?;
        let key = Arc::new(open_or_adopt(store, host, practice, now).await?);
        self.lock().insert(practice, Arc::clone(&key));
        Ok(key)
    }
}

/// Check that `host` is the key the database's practice keys are wrapped with (true also
/// before the first practice key).
pub async fn check_host_key(store: &dyn Store, host: &MasterKey) -> Result<(), KeyError> {
    match store.host_key_id().await? {
        Some(id) if id != host.id() => Err(KeyError::OtherHostKey),
        _ => Ok(()),
    }
}

/// The practice's key unwrapped with `host`, or, if it has none yet, a new one it takes now.
pub async fn open_or_adopt(
    store: &dyn Store,
    host: &MasterKey,
    practice: PracticeId,
    now: Timestamp,
) -> Result<MasterKey, KeyError> {
    // Twice at most: if another process gives the practice its key while this one is
    // making one, the second round opens that process's key.
    for _ in 0..2 {
        if let Some(wrapped) = store.practice_key(practice).await? {
            check_host_key(store, host).await?;
            return host
                .unwrap_key(&wrapped, &practice_binding(practice))
                .map_err(unreadable(format!("practice {practice}'s key")));
        }
        match adopt(store, host, practice, now).await {
            Err(KeyError::Store(StoreError::Conflict(ConflictKind::KeysChanged))) => continue,
            Err(KeyError::Store(StoreError::Conflict(ConflictKind::HostKeyChanged))) => {
                return Err(KeyError::OtherHostKey);
            }
            done => return done,
        }
    }
    Err(KeyError::Store(StoreError::Conflict(
        ConflictKind::KeysChanged,
    )))
}

/// Give `practice` a key of its own: its client keys and staff secrets, under `host` until
/// now, re-wrapped under the new key in one transaction.
async fn adopt(
    store: &dyn Store,
    host: &MasterKey,
    practice: PracticeId,
    now: Timestamp,
) -> Result<MasterKey, KeyError> {
    let key = MasterKey::generate();
    let mut client_keys = Vec::new();
    for (client, old) in store.client_keys(practice).await? {
        let binding = client_key_binding(practice, client);
        let data = host
            .unwrap(&old, &binding)
            .map_err(unreadable(format!("client {client}'s key")))?;
        let new = key.wrap(&data, &binding);
        client_keys.push(Rewrapped {
            id: client,
            old,
            new,
        });
    }
    let mut secrets = Vec::new();
    for (user, old) in store.authenticator_secrets(practice).await? {
        let binding = secret_binding(practice, user);
        let secret = host
            .open_secret(&old, &binding)
            .map_err(unreadable(format!("user {user}'s authenticator secret")))?;
        let new = key.seal_secret(&secret, &binding);
        secrets.push(Rewrapped { id: user, old, new });
    }
    let host_id = host.id();
    let wrapped = host.wrap_key(&key, &practice_binding(practice));
    store
        .adopt_practice_key(
            &KeyAdoption {
                practice,
                host_key_id: &host_id,
                wrapped: &wrapped,
                client_keys: &client_keys,
                authenticator_secrets: &secrets,
            },
            now,
        )
        .await?;
    Ok(key)
}

/// Re-wrap every practice's key under `new` (a host key rotation), in one transaction. Every
/// practice takes its own key first, so that nothing is left under `old` alone. Returns how
/// many practice keys were re-wrapped.
pub async fn rewrap_all(
    store: &dyn Store,
    old: &MasterKey,
    new: &MasterKey,
    now: Timestamp,
) -> Result<usize, KeyError> {
    check_host_key(store, old).await?;
    for practice in store.practice_ids().await? {
        open_or_adopt(store, old, practice, now).await?;
    }
    let mut keys = Vec::new();
    for (practice, wrapped) in store.practice_keys().await? {
        let binding = practice_binding(practice);
        let key = old
            .unwrap_key(&wrapped, &binding)
            .map_err(unreadable(format!("practice {practice}'s key")))?;
        keys.push(Rewrapped {
            id: practice,
            new: new.wrap_key(&key, &binding),
            old: wrapped,
        });
    }
    let mut operators = Vec::new();
    for operator in store.operators().await? {
        if let Some(sealed) = operator.sealed_secret {
            let binding = operator_secret_binding(operator.id);
            let secret = old
                .open_secret(&sealed, &binding)
                .map_err(unreadable(format!("operator {}'s secret", operator.id)))?;
            operators.push(Rewrapped {
                id: operator.id,
                new: new.seal_secret(&secret, &binding),
                old: sealed,
            });
        }
    }
    if store.host_key_id().await?.is_none() {
        // No practice has a key, so the database does not name its key file yet.
        if !operators.is_empty() {
            return Err(KeyError::NothingToRotate);
        }
        return Ok(0);
    }
    match store
        .rewrap_practice_keys(&old.id(), &new.id(), &keys, &operators)
        .await
    {
        Err(StoreError::Conflict(ConflictKind::HostKeyChanged)) => Err(KeyError::OtherHostKey),
        done => done.map(|()| keys.len()).map_err(KeyError::Store),
    }
}

/// Seals a practice's sealed values again under new ids, for a move between databases
/// (`store::moving`): the practice keeps its own key, which opens each value under its old
/// ids and seals it under the new ones. The clients' data keys are opened once, from the
/// dump the values come from.
pub struct Rekey<'a> {
    key: &'a MasterKey,
    /// The key that wraps the practice's key where it arrives (none when the dump goes to a
    /// file, where the practice's key travels sealed by other means).
    host: Option<&'a MasterKey>,
    data_keys: HashMap<i64, crypto::DataKey>,
}

impl<'a> Rekey<'a> {
    /// For the values of `dump`, sealed (under its ids) by the practice's `key`.
    pub fn new(
        key: &'a MasterKey,
        host: Option<&'a MasterKey>,
        dump: &store::moving::Dump,
    ) -> Result<Self, String> {
        use store::moving::Cell;
        let practice = PracticeId::new(dump.practice);
        let mut data_keys = HashMap::new();
        if let Some(table) = dump.table("client_keys") {
            let (Some(client_at), Some(wrapped_at)) =
                (table.column("client_id"), table.column("wrapped"))
            else {
                return Err("client_keys has not the columns it should".into());
            };
            for row in &table.rows {
                let (Some(client), Cell::Bytes(wrapped)) =
                    (row[client_at].integer(), &row[wrapped_at])
                else {
                    return Err("a client key of the practice is damaged".into());
                };
                let client = store::ClientId::new(client);
                let data = key
                    .unwrap(wrapped, &client_key_binding(practice, client))
                    .map_err(|_| {
                        format!("client {client}'s key does not open with the practice's key")
                    })?;
                data_keys.insert(client.get(), data);
            }
        }
        Ok(Self {
            key,
            host,
            data_keys,
        })
    }
}

impl store::moving::Rebind for Rekey<'_> {
    fn practice_key(&self, practice: PracticeId) -> Result<Vec<u8>, String> {
        let host = self
            .host
            .ok_or("no key file to wrap the practice's key with")?;
        Ok(host.wrap_key(self.key, &practice_binding(practice)))
    }

    fn client_key(
        &self,
        ids: store::moving::Moved,
        client: store::moving::Moved,
        _wrapped: &[u8],
    ) -> Result<Vec<u8>, String> {
        let data = self
            .data_keys
            .get(&client.old)
            .ok_or_else(|| format!("client {}'s key was not opened", client.old))?;
        let binding =
            client_key_binding(PracticeId::new(ids.new), store::ClientId::new(client.new));
        Ok(self.key.wrap(data, &binding))
    }

    fn note(
        &self,
        ids: store::moving::Moved,
        client: store::moving::Moved,
        note: store::moving::Moved,
        body: &[u8],
    ) -> Result<Vec<u8>, String> {
        let data = self
            .data_keys
            .get(&client.old)
            .ok_or_else(|| format!("note {}'s client has no key", note.old))?;
        let text = data
            .open(
                body,
                &note_binding(PracticeId::new(ids.old), store::NoteId::new(note.old)),
            )
            .map_err(|_| format!("note {} does not open", note.old))?;
        Ok(data.seal(
            &text,
            &note_binding(PracticeId::new(ids.new), store::NoteId::new(note.new)),
        ))
    }

    fn secret(
        &self,
        ids: store::moving::Moved,
        user: store::moving::Moved,
        sealed: &[u8],
    ) -> Result<Vec<u8>, String> {
        let secret = self
            .key
            .open_secret(
                sealed,
                &secret_binding(PracticeId::new(ids.old), UserId::new(user.old)),
            )
            .map_err(|_| format!("user {}'s authenticator secret does not open", user.old))?;
        Ok(self.key.seal_secret(
            &secret,
            &secret_binding(PracticeId::new(ids.new), UserId::new(user.new)),
        ))
    }
}
