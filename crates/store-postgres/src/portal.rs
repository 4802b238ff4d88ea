//! The client portal: sign-in links, portal sessions, a client's own details, changes of
//! email address and cancellations.

use async_trait::async_trait;
use domain::EmailAddress;
use jiff::{SignedDuration, Timestamp};
use store::{
    Client, ClientId, ConflictKind, EmailChange, EmailChangeLimit, EmailChangeNotices,
    EmailChangeOutcome, NewCharge, NewEmailChange, NewMessage, NewPortalLink, OwnDetails, Planner,
    PortalLink, PortalSession, PortalStore, PracticeId, Session, SessionId, SessionStatus,
    StoreError, StoreResult,
};

use crate::{
    PgStore,
    convert::*,
    enquiries::{insert_message, insert_messages},
    map_err,
    practice::get,
    therapy::{client_from_row, record_outcome_in, session_in},
};

/// Used and expired links are kept this long (to say "this link has been used" rather than
/// "not recognised"), then cleared out.
const KEEP_OLD_LINKS: SignedDuration = SignedDuration::from_hours(24);

#[async_trait]
impl PortalStore for PgStore {
    async fn client_by_email(
        &self,
        practice: PracticeId,
        email: &EmailAddress,
    ) -> StoreResult<Option<Client>> {
        let row = sqlx::query(
            "SELECT * FROM clients WHERE practice_id = $1 AND lower(email) = lower($2)
             ORDER BY status = 'active' DESC, created_at DESC, id DESC LIMIT 1",
        )
        .bind(practice.get())
        .bind(email.as_str())
        .fetch_optional(self.read())
        .await
        .map_err(map_err)?;
        row.as_ref().map(client_from_row).transpose()
    }

    async fn create_portal_link(
        &self,
        practice: PracticeId,
        link: &NewPortalLink,
        email: &NewMessage,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let cutoff = now.checked_sub(KEEP_OLD_LINKS).unwrap_or(now);
        sqlx::query("DELETE FROM portal_links WHERE expires_at < $1")
            .bind(secs(cutoff))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        sqlx::query(
            "INSERT INTO portal_links (token_hash, practice_id, client_id, browser_hash, created_at, expires_at)
             SELECT $1, practice_id, id, $2, $3, $4 FROM clients WHERE practice_id = $5 AND id = $6",
        )
        .bind(link.token_hash.as_slice())
        .bind(link.browser_hash.as_slice())
        .bind(secs(now))
        .bind(secs(link.expires_at))
        .bind(practice.get())
        .bind(link.client.get())
        .execute(&mut *tx)
        .await
        .map_err(map_err)
        .and_then(crate::affected)?;
        insert_message(&mut tx, practice, email, now).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn portal_link(
        &self,
        practice: PracticeId,
        token_hash: &[u8],
    ) -> StoreResult<Option<PortalLink>> {
        let row = sqlx::query(
            "SELECT client_id, browser_hash, expires_at, used_at FROM portal_links
             WHERE practice_id = $1 AND token_hash = $2",
        )
        .bind(practice.get())
        .bind(token_hash)
        .fetch_optional(self.read())
        .await
        .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(PortalLink {
            client: ClientId::new(get(&row, "client_id")?),
            browser_hash: get(&row, "browser_hash")?,
            expires_at: timestamp(get(&row, "expires_at")?)?,
            used_at: opt_timestamp(get(&row, "used_at")?)?,
        }))
    }

    async fn use_portal_link(
        &self,
        practice: PracticeId,
        token_hash: &[u8],
        browser_hash: &[u8],
        session_hash: &[u8],
        now: Timestamp,
    ) -> StoreResult<Option<ClientId>> {
        let mut tx = self.write().await?;
        // One statement decides: of any number of attempts, only the first finds it unused.
        let client: Option<i64> = sqlx::query_scalar(
            "UPDATE portal_links SET used_at = $1
             WHERE practice_id = $2 AND token_hash = $3 AND browser_hash = $4
               AND used_at IS NULL AND expires_at > $5
             RETURNING client_id",
        )
        .bind(secs(now))
        .bind(practice.get())
        .bind(token_hash)
        .bind(browser_hash)
        .bind(secs(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let Some(client) = client else {
            return Ok(None);
        };
        sqlx::query(
            "INSERT INTO portal_sessions (token_hash, practice_id, client_id, created_at, last_seen_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(session_hash)
        .bind(practice.get())
        .bind(client)
        .bind(secs(now))
        .bind(secs(now))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(Some(ClientId::new(client)))
    }

    async fn portal_session(&self, token_hash: &[u8]) -> StoreResult<Option<PortalSession>> {
        let row = sqlx::query(
            "SELECT practice_id, client_id, created_at, last_seen_at FROM portal_sessions
             WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(self.read())
        .await
        .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(PortalSession {
            practice: PracticeId::new(get(&row, "practice_id")?),
            client: ClientId::new(get(&row, "client_id")?),
            created_at: timestamp(get(&row, "created_at")?)?,
            last_seen_at: timestamp(get(&row, "last_seen_at")?)?,
        }))
    }

    async fn touch_portal_session(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<()> {
        sqlx::query("UPDATE portal_sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(secs(now))
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn delete_portal_session(&self, token_hash: &[u8]) -> StoreResult<()> {
        sqlx::query("DELETE FROM portal_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn update_own_details(
        &self,
        practice: PracticeId,
        client: ClientId,
        details: &OwnDetails,
        now: Timestamp,
    ) -> StoreResult<()> {
        let result = sqlx::query(
            "UPDATE clients SET phone = $1, contact_preference = $2, reminders = $3, updated_at = $4
             WHERE practice_id = $5 AND id = $6",
        )
        .bind(details.phone.as_ref().map(|p| p.as_str().to_owned()))
        .bind(details.contact_preference.as_str())
        .bind(i64::from(details.reminders))
        .bind(secs(now))
        .bind(practice.get())
        .bind(client.get())
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        crate::affected(result)
    }

    async fn request_email_change(
        &self,
        practice: PracticeId,
        change: &NewEmailChange,
        email: &NewMessage,
        limit: EmailChangeLimit,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let window = now.checked_sub(limit.within).unwrap_or(now);
        // Counted with the client's row locked until commit, so requests at the same
        // moment are counted one after another. Old changes are kept:
        // they record what the client asked for, and lead their export and erasure to the
        // emails sent to addresses never on their record.
        sqlx::query("SELECT 1 FROM clients WHERE practice_id = $1 AND id = $2 FOR UPDATE")
            .bind(practice.get())
            .bind(change.client.get())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let asked: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM email_changes
             WHERE practice_id = $1 AND client_id = $2 AND created_at > $3",
        )
        .bind(practice.get())
        .bind(change.client.get())
        .bind(secs(window))
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        if asked >= i64::from(limit.max) {
            return Err(StoreError::Conflict(ConflictKind::EmailChangeLimit));
        }
        sqlx::query(
            "UPDATE email_changes SET replaced_at = $1
             WHERE practice_id = $2 AND client_id = $3 AND used_at IS NULL AND replaced_at IS NULL",
        )
        .bind(secs(now))
        .bind(practice.get())
        .bind(change.client.get())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let message = insert_message(&mut tx, practice, email, now).await?;
        sqlx::query(
            "INSERT INTO email_changes (practice_id, client_id, new_email, token_hash, outbox_id, created_at, expires_at)
             SELECT practice_id, id, $1, $2, $3, $4, $5 FROM clients WHERE practice_id = $6 AND id = $7",
        )
        .bind(change.new_email.as_str())
        .bind(change.token_hash.as_slice())
        .bind(message.get())
        .bind(secs(now))
        .bind(secs(change.expires_at))
        .bind(practice.get())
        .bind(change.client.get())
        .execute(&mut *tx)
        .await
        .map_err(map_err)
        .and_then(crate::affected)?;
        tx.commit().await.map_err(map_err)
    }

    async fn email_change(
        &self,
        practice: PracticeId,
        token_hash: &[u8],
    ) -> StoreResult<Option<EmailChange>> {
        let row = sqlx::query(
            "SELECT client_id, new_email, created_at, expires_at, used_at, replaced_at
             FROM email_changes WHERE practice_id = $1 AND token_hash = $2",
        )
        .bind(practice.get())
        .bind(token_hash)
        .fetch_optional(self.read())
        .await
        .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(EmailChange {
            client: ClientId::new(get(&row, "client_id")?),
            new_email: email(&get::<String>(&row, "new_email")?)?,
            created_at: timestamp(get(&row, "created_at")?)?,
            expires_at: timestamp(get(&row, "expires_at")?)?,
            used_at: opt_timestamp(get(&row, "used_at")?)?,
            replaced_at: opt_timestamp(get(&row, "replaced_at")?)?,
        }))
    }

    async fn confirm_email_change(
        &self,
        practice: PracticeId,
        token_hash: &[u8],
        notices: &EmailChangeNotices<'_>,
        now: Timestamp,
    ) -> StoreResult<Option<EmailChangeOutcome>> {
        let mut tx = self.write().await?;
        // One statement decides: of any number of attempts, only the first finds it waiting.
        let row = sqlx::query(
            "UPDATE email_changes SET used_at = $1
             WHERE practice_id = $2 AND token_hash = $3
               AND used_at IS NULL AND replaced_at IS NULL AND expires_at > $4
             RETURNING id, client_id, new_email",
        )
        .bind(secs(now))
        .bind(practice.get())
        .bind(token_hash)
        .bind(secs(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let id: i64 = get(&row, "id")?;
        let new_email = email(&get::<String>(&row, "new_email")?)?;
        let client = sqlx::query("SELECT * FROM clients WHERE practice_id = $1 AND id = $2")
            .bind(practice.get())
            .bind(get::<i64>(&row, "client_id")?)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)
            .and_then(|row| client_from_row(&row))?;
        let other: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM clients WHERE practice_id = $1 AND id <> $2 AND lower(email) = lower($3)
             ORDER BY status = 'active' DESC, id LIMIT 1",
        )
        .bind(practice.get())
        .bind(client.id.get())
        .bind(new_email.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let outcome = match other {
            Some(other) => {
                // The link stops working, and the row reads as if nobody had followed it
                // (see migrations/0010_email_change.sql).
                sqlx::query(
                    "UPDATE email_changes SET used_at = NULL, token_hash = $1 WHERE id = $2",
                )
                .bind(rand::random::<[u8; 32]>().to_vec())
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                EmailChangeOutcome::Clash {
                    client,
                    other: ClientId::new(other),
                    new_email,
                }
            }
            None => {
                sqlx::query(
                    "UPDATE clients SET email = $1, updated_at = $2 WHERE practice_id = $3 AND id = $4",
                )
                .bind(new_email.as_str())
                .bind(secs(now))
                .bind(practice.get())
                .bind(client.id.get())
                .execute(&mut *tx)
                .await
                .map_err(map_err)
                .and_then(crate::affected)?;
                EmailChangeOutcome::Changed { client, new_email }
            }
        };
        insert_messages(&mut tx, practice, &notices(&outcome), now).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(Some(outcome))
    }

    async fn cancel_own_session(
        &self,
        practice: PracticeId,
        client: ClientId,
        id: SessionId,
        charge: &NewCharge,
        planner: &Planner,
        messages: &[NewMessage],
        now: Timestamp,
    ) -> StoreResult<Session> {
        let mut tx = self.write().await?;
        let session = session_in(&mut tx, practice, id).await?;
        if session.client != client {
            return Err(StoreError::NotFound);
        }
        if session.status != SessionStatus::Scheduled || session.start <= now {
            return Err(StoreError::Conflict(ConflictKind::NotCancellable));
        }
        let recorded = record_outcome_in(&mut tx, practice, id, charge, planner, now).await?;
        insert_messages(&mut tx, practice, messages, now).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(recorded)
    }
}
