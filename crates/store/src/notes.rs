//! Confidential notes, as the store keeps them: sealed. The store never sees a note's text
//! or a client's data key in the clear; sealing and opening happen above it (`crypto`).

use async_trait::async_trait;
use jiff::Timestamp;
use serde::Serialize;

use crate::{ClientId, PracticeId, SessionId, StoreResult};

crate::model::id_type!(/// A note.
    NoteId);

/// A note as stored: its body sealed with the client's data key, bound to the note's id.
#[derive(Debug, Clone)]
pub struct SealedNote {
    pub id: NoteId,
    pub client: ClientId,
    /// The session it is about (`None`: a general note on the client).
    pub session: Option<SessionId>,
    pub body: Vec<u8>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Seals a note's text once its id is known (the id is part of what the seal is bound to).
pub type Sealer<'a> = dyn Fn(NoteId) -> Vec<u8> + Send + Sync + 'a;

/// A secret re-wrapped under another key: which row, what is stored now, what replaces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewrapped<Id> {
    pub id: Id,
    pub old: Vec<u8>,
    pub new: Vec<u8>,
}

/// A practice taking its own key (see [`NoteStore::adopt_practice_key`]).
#[derive(Debug, Clone)]
pub struct KeyAdoption<'a> {
    pub practice: PracticeId,
    /// The name of the host key `wrapped` is wrapped with.
    pub host_key_id: &'a [u8],
    /// The practice's new key, wrapped by the host key.
    pub wrapped: &'a [u8],
    /// Every client key of the practice, re-wrapped under the new key.
    pub client_keys: &'a [Rewrapped<ClientId>],
    /// Every authenticator secret of the practice's staff, re-sealed under the new key.
    pub authenticator_secrets: &'a [Rewrapped<crate::UserId>],
}

/// Notes, the clients' wrapped data keys and the practices' own keys.
#[async_trait]
pub trait NoteStore: Send + Sync {
    /// The client's data key, wrapped by the master key (`None` if it has none yet).
    async fn client_key(
        &self,
        practice: PracticeId,
        client: ClientId,
    ) -> StoreResult<Option<Vec<u8>>>;
    /// Store a client's first wrapped data key; if one was stored meanwhile, keep that one
    /// and return it. Returns the key now stored.
    async fn add_client_key(
        &self,
        practice: PracticeId,
        client: ClientId,
        wrapped: &[u8],
        now: Timestamp,
    ) -> StoreResult<Vec<u8>>;
    /// Write a note: the session's note (one per session, replaced), a new general note
    /// (`session` and `id` both `None`), or a change to general note `id`. `seal` is called
    /// inside the write transaction with the note's id.
    async fn save_note(
        &self,
        practice: PracticeId,
        client: ClientId,
        session: Option<SessionId>,
        id: Option<NoteId>,
        seal: &Sealer<'_>,
        now: Timestamp,
    ) -> StoreResult<NoteId>;
    /// The practice's clients' wrapped keys: `(client, wrapped)`.
    async fn client_keys(&self, practice: PracticeId) -> StoreResult<Vec<(ClientId, Vec<u8>)>>;
    /// The practice's own master key, wrapped by the host's key file (`None`: it has none
    /// yet, as in a database written before practices had their own keys).
    async fn practice_key(&self, practice: PracticeId) -> StoreResult<Option<Vec<u8>>>;
    /// The name of the host key that wraps the practices' keys (a key id, which reveals
    /// nothing of the key), `None` before the first practice key.
    async fn host_key_id(&self) -> StoreResult<Option<Vec<u8>>>;
    /// Give a practice its own key: store it and replace its clients' keys and its staff's
    /// authenticator secrets with the same secrets re-wrapped under it, all in ONE
    /// transaction. Refused, with nothing changed, as [`ConflictKind::HostKeyChanged`] if
    /// the database's host key is not `host_key_id`, and as [`ConflictKind::KeysChanged`] if
    /// the practice has a key already or its keys and secrets are not exactly the `old`
    /// ones given (changed meanwhile).
    ///
    /// [`ConflictKind::HostKeyChanged`]: crate::ConflictKind::HostKeyChanged
    /// [`ConflictKind::KeysChanged`]: crate::ConflictKind::KeysChanged
    async fn adopt_practice_key(
        &self,
        adoption: &KeyAdoption<'_>,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Every practice's wrapped key: `(practice, wrapped)`.
    async fn practice_keys(&self) -> StoreResult<Vec<(PracticeId, Vec<u8>)>>;
    /// After the host key changed: replace every practice's wrapped key (`(practice, old,
    /// new)`), every operator's sealed authenticator secret (`operators`), and the host
    /// key's name, in ONE transaction, so that a crash leaves everything under one key; and
    /// end every operator session (one may hold a secret being set up, sealed with the old
    /// key). Refused, with nothing changed, as [`ConflictKind::HostKeyChanged`] if the host
    /// key is not `old_host`, and as [`ConflictKind::KeysChanged`] unless `keys` and
    /// `operators` name every practice key and operator secret exactly as stored.
    ///
    /// [`ConflictKind::HostKeyChanged`]: crate::ConflictKind::HostKeyChanged
    /// [`ConflictKind::KeysChanged`]: crate::ConflictKind::KeysChanged
    async fn rewrap_practice_keys(
        &self,
        old_host: &[u8],
        new_host: &[u8],
        keys: &[Rewrapped<PracticeId>],
        operators: &[Rewrapped<crate::OperatorId>],
    ) -> StoreResult<()>;
    /// A client's notes, newest first.
    async fn notes(&self, practice: PracticeId, client: ClientId) -> StoreResult<Vec<SealedNote>>;
    /// The note on a session, if there is one.
    async fn session_note(
        &self,
        practice: PracticeId,
        session: SessionId,
    ) -> StoreResult<Option<SealedNote>>;
}
