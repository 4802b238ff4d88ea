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

/// Notes and the clients' wrapped data keys.
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
    /// Every client's wrapped key, of every practice: `(practice, client, wrapped)`.
    async fn all_client_keys(&self) -> StoreResult<Vec<(PracticeId, ClientId, Vec<u8>)>>;
    /// After the master key changed: replace every client's wrapped key and every staff
    /// authenticator secret (`(user, sealed)`), all in ONE transaction, so that a crash
    /// leaves either everything under the old key or everything under the new one.
    async fn rewrap_under_new_key(
        &self,
        keys: &[(ClientId, Vec<u8>)],
        authenticator_secrets: &[(crate::UserId, Vec<u8>)],
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
