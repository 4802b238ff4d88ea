//! Notes and wrapped client keys: only sealed bytes pass through here.

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::sqlite::SqliteRow;
use store::{
    ClientId, KeyAdoption, NoteId, NoteStore, PracticeId, Rewrapped, SealedNote, Sealer, SessionId,
    StoreError, StoreResult,
};

use crate::{SqliteStore, affected, convert::*, map_err, practice::get};

fn note_from_row(row: &SqliteRow) -> StoreResult<SealedNote> {
    Ok(SealedNote {
        id: NoteId::new(get(row, "id")?),
        client: ClientId::new(get(row, "client_id")?),
        session: get::<Option<i64>>(row, "session_id")?.map(SessionId::new),
        body: get(row, "body")?,
        created_at: timestamp(get(row, "created_at")?)?,
        updated_at: timestamp(get(row, "updated_at")?)?,
    })
}

#[async_trait]
impl NoteStore for SqliteStore {
    async fn client_key(
        &self,
        practice: PracticeId,
        client: ClientId,
    ) -> StoreResult<Option<Vec<u8>>> {
        sqlx::query_scalar(
            "SELECT wrapped FROM client_keys WHERE practice_id = ? AND client_id = ?",
        )
        .bind(practice.get())
        .bind(client.get())
        .fetch_optional(self.read())
        .await
        .map_err(map_err)
    }

    async fn add_client_key(
        &self,
        practice: PracticeId,
        client: ClientId,
        wrapped: &[u8],
        now: Timestamp,
    ) -> StoreResult<Vec<u8>> {
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT OR IGNORE INTO client_keys (client_id, practice_id, wrapped, created_at)
             SELECT id, practice_id, ?, ? FROM clients WHERE practice_id = ? AND id = ?",
        )
        .bind(wrapped)
        .bind(secs(now))
        .bind(practice.get())
        .bind(client.get())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let stored: Vec<u8> = sqlx::query_scalar(
            "SELECT wrapped FROM client_keys WHERE practice_id = ? AND client_id = ?",
        )
        .bind(practice.get())
        .bind(client.get())
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(stored)
    }

    async fn save_note(
        &self,
        practice: PracticeId,
        client: ClientId,
        session: Option<SessionId>,
        id: Option<NoteId>,
        seal: &Sealer<'_>,
        now: Timestamp,
    ) -> StoreResult<NoteId> {
        let mut tx = self.write().await?;
        let existing: Option<i64> = match (session, id) {
            (Some(session), _) => {
                // The session must be this client's.
                sqlx::query_scalar::<_, i64>(
                    "SELECT id FROM sessions WHERE practice_id = ? AND client_id = ? AND id = ?",
                )
                .bind(practice.get())
                .bind(client.get())
                .bind(session.get())
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?
                .ok_or(StoreError::NotFound)?;
                sqlx::query_scalar("SELECT id FROM notes WHERE session_id = ?")
                    .bind(session.get())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_err)?
            }
            (None, Some(id)) => Some(
                sqlx::query_scalar(
                    "SELECT id FROM notes WHERE practice_id = ? AND client_id = ? AND id = ? AND session_id IS NULL",
                )
                .bind(practice.get())
                .bind(client.get())
                .bind(id.get())
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?
                .ok_or(StoreError::NotFound)?,
            ),
            (None, None) => None,
        };
        let note = match existing {
            Some(note) => note,
            None => sqlx::query_scalar(
                "INSERT INTO notes (practice_id, client_id, session_id, body, created_at, updated_at)
                 SELECT practice_id, id, ?, X'', ?, ? FROM clients WHERE practice_id = ? AND id = ?
                 RETURNING id",
            )
            .bind(session.map(SessionId::get))
            .bind(secs(now))
            .bind(secs(now))
            .bind(practice.get())
            .bind(client.get())
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?
            .ok_or(StoreError::NotFound)?,
        };
        let sealed = seal(NoteId::new(note));
        let result = sqlx::query("UPDATE notes SET body = ?, updated_at = ? WHERE id = ?")
            .bind(sealed)
            .bind(secs(now))
            .bind(note)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        affected(result)?;
        tx.commit().await.map_err(map_err)?;
        Ok(NoteId::new(note))
    }

    async fn client_keys(&self, practice: PracticeId) -> StoreResult<Vec<(ClientId, Vec<u8>)>> {
        self.client_keys_of(practice).await
    }

    async fn practice_key(&self, practice: PracticeId) -> StoreResult<Option<Vec<u8>>> {
        self.practice_key_of(practice).await
    }

    async fn host_key_id(&self) -> StoreResult<Option<Vec<u8>>> {
        self.stored_host_key_id().await
    }

    async fn adopt_practice_key(
        &self,
        adoption: &KeyAdoption<'_>,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.adopt_key(adoption, now).await
    }

    async fn practice_keys(&self) -> StoreResult<Vec<(PracticeId, Vec<u8>)>> {
        self.all_practice_keys().await
    }

    async fn rewrap_practice_keys(
        &self,
        old_host: &[u8],
        new_host: &[u8],
        keys: &[Rewrapped<PracticeId>],
        operators: &[Rewrapped<store::OperatorId>],
    ) -> StoreResult<()> {
        self.rewrap_keys(old_host, new_host, keys, operators).await
    }

    async fn notes(&self, practice: PracticeId, client: ClientId) -> StoreResult<Vec<SealedNote>> {
        sqlx::query(
            "SELECT * FROM notes WHERE practice_id = ? AND client_id = ? ORDER BY created_at DESC, id DESC",
        )
        .bind(practice.get())
        .bind(client.get())
        .fetch_all(self.read())
        .await
        .map_err(map_err)?
        .iter()
        .map(note_from_row)
        .collect()
    }

    async fn session_note(
        &self,
        practice: PracticeId,
        session: SessionId,
    ) -> StoreResult<Option<SealedNote>> {
        sqlx::query("SELECT * FROM notes WHERE practice_id = ? AND session_id = ?")
            .bind(practice.get())
            .bind(session.get())
            .fetch_optional(self.read())
            .await
            .map_err(map_err)?
            .as_ref()
            .map(note_from_row)
            .transpose()
    }
}
