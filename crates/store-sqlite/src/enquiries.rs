//! Enquiries and the outbox.

use async_trait::async_trait;
use domain::{ContactPreference, NewEnquiry};
use jiff::{SignedDuration, Timestamp};
use sqlx::sqlite::SqliteRow;
use store::{
    DashboardCounts, Enquiry, EnquiryId, EnquiryStore, MessageId, MessageStatus, NewMessage,
    OutboxMessage, OutboxStore, PracticeId, StoreError, StoreResult,
};

use crate::{SqliteStore, affected, convert::*, map_err, practice::get};

fn enquiry_from_row(row: &SqliteRow) -> StoreResult<Enquiry> {
    Ok(Enquiry {
        id: EnquiryId::new(get(row, "id")?),
        name: name(&get::<String>(row, "name")?)?,
        email: email(&get::<String>(row, "email")?)?,
        phone: phone(get(row, "phone")?)?,
        contact_preference: ContactPreference::parse(&get::<String>(row, "contact_preference")?)
            .ok_or_else(|| corrupt("contact preference"))?,
        message: get(row, "message")?,
        received_at: timestamp(get(row, "received_at")?)?,
        handled_at: opt_timestamp(get(row, "handled_at")?)?,
    })
}

fn message_from_row(row: &SqliteRow) -> StoreResult<OutboxMessage> {
    Ok(OutboxMessage {
        id: MessageId::new(get(row, "id")?),
        practice: PracticeId::new(get(row, "practice_id")?),
        message_id: get(row, "message_id")?,
        kind: get(row, "kind")?,
        to: email(&get::<String>(row, "recipient")?)?,
        subject: get(row, "subject")?,
        body_text: get(row, "body_text")?,
        calendar: match (
            get::<Option<String>>(row, "calendar_method")?,
            get::<Option<String>>(row, "calendar")?,
        ) {
            (Some(method), Some(ics)) => Some(store::CalendarAttachment { method, ics }),
            _ => None,
        },
        status: MessageStatus::parse(&get::<String>(row, "status")?)
            .ok_or_else(|| corrupt("message status"))?,
        attempts: u32_col(get(row, "attempts")?)?,
        last_error: get(row, "last_error")?,
        next_attempt_at: opt_timestamp(get(row, "next_attempt_at")?)?,
        claimed_until: opt_timestamp(get(row, "claimed_until")?)?,
        created_at: timestamp(get(row, "created_at")?)?,
        sent_at: opt_timestamp(get(row, "sent_at")?)?,
    })
}

/// A globally unique Message-ID, fixed when the message is queued so that retries carry the same one.
fn new_message_id(practice: PracticeId, now: Timestamp) -> String {
    let random: u128 = rand::random();
    format!(
        "<{}.{}.{random:032x}@anteroom.invalid>",
        practice.get(),
        now.as_millisecond()
    )
}

const OUTBOX_INSERT: &str =
    "INSERT INTO outbox (practice_id, message_id, kind, recipient, subject, body_text,
    calendar_method, calendar, status, next_attempt_at, created_at) VALUES ";
const OUTBOX_ROW: &str = "(?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)";

type SqliteQuery<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>;

fn bind_message<'q>(
    query: SqliteQuery<'q>,
    practice: PracticeId,
    message: &NewMessage,
    now: Timestamp,
) -> SqliteQuery<'q> {
    query
        .bind(practice.get())
        .bind(new_message_id(practice, now))
        .bind(&message.kind)
        .bind(message.to.as_str())
        .bind(&message.subject)
        .bind(&message.body_text)
        .bind(message.calendar.as_ref().map(|c| c.method.as_str()))
        .bind(message.calendar.as_ref().map(|c| c.ics.as_str()))
        .bind(secs(now))
        .bind(secs(now))
}

/// Queue one message in the caller's transaction.
pub(crate) async fn insert_message(
    tx: &mut sqlx::SqliteConnection,
    practice: PracticeId,
    message: &NewMessage,
    now: Timestamp,
) -> StoreResult<MessageId> {
    let sql = sqlx::AssertSqlSafe(format!("{OUTBOX_INSERT}{OUTBOX_ROW} RETURNING id"));
    let row = bind_message(sqlx::query(sql), practice, message, now)
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
    Ok(MessageId::new(get(&row, "id")?))
}

/// Queue several messages of one practice in the caller's transaction, in one statement.
pub(crate) async fn insert_messages(
    tx: &mut sqlx::SqliteConnection,
    practice: PracticeId,
    messages: &[NewMessage],
    now: Timestamp,
) -> StoreResult<()> {
    insert_message_rows(tx, messages.iter().map(|m| (practice, m, now))).await
}

/// Queue `(practice, message, queued at)` rows in the caller's transaction, in one statement.
pub(crate) async fn insert_message_rows<'m>(
    tx: &mut sqlx::SqliteConnection,
    rows: impl ExactSizeIterator<Item = (PracticeId, &'m NewMessage, Timestamp)>,
) -> StoreResult<()> {
    if rows.len() == 0 {
        return Ok(());
    }
    let values = vec![OUTBOX_ROW; rows.len()].join(", ");
    let mut query = sqlx::query(sqlx::AssertSqlSafe(format!("{OUTBOX_INSERT}{values}")));
    for (practice, message, now) in rows {
        query = bind_message(query, practice, message, now);
    }
    query.execute(&mut *tx).await.map_err(map_err)?;
    Ok(())
}

#[async_trait]
impl EnquiryStore for SqliteStore {
    async fn create_enquiry(
        &self,
        practice: PracticeId,
        enquiry: &NewEnquiry,
        notification: &NewMessage,
        now: Timestamp,
    ) -> StoreResult<EnquiryId> {
        let mut tx = self.write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO enquiries (practice_id, name, email, phone, contact_preference, message, received_at)
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(practice.get())
        .bind(enquiry.name.as_str())
        .bind(enquiry.email.as_str())
        .bind(enquiry.phone.as_ref().map(|p| p.as_str().to_owned()))
        .bind(enquiry.contact_preference.as_str())
        .bind(&enquiry.message)
        .bind(secs(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        insert_message(&mut tx, practice, notification, now).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(EnquiryId::new(id))
    }

    async fn enquiries(&self, practice: PracticeId) -> StoreResult<Vec<Enquiry>> {
        let rows = sqlx::query("SELECT * FROM enquiries WHERE practice_id = ? ORDER BY handled_at IS NOT NULL, received_at DESC, id DESC")
            .bind(practice.get())
            .fetch_all(self.read())
            .await
            .map_err(map_err)?;
        rows.iter().map(enquiry_from_row).collect()
    }

    async fn enquiry(&self, practice: PracticeId, id: EnquiryId) -> StoreResult<Enquiry> {
        let row = sqlx::query("SELECT * FROM enquiries WHERE practice_id = ? AND id = ?")
            .bind(practice.get())
            .bind(id.get())
            .fetch_one(self.read())
            .await
            .map_err(map_err)?;
        enquiry_from_row(&row)
    }

    async fn set_enquiry_handled(
        &self,
        practice: PracticeId,
        id: EnquiryId,
        handled: bool,
        now: Timestamp,
    ) -> StoreResult<()> {
        let result =
            sqlx::query("UPDATE enquiries SET handled_at = ? WHERE practice_id = ? AND id = ?")
                .bind(handled.then(|| secs(now)))
                .bind(practice.get())
                .bind(id.get())
                .execute(&self.writer)
                .await
                .map_err(map_err)?;
        affected(result)
    }

    async fn delete_enquiry(&self, practice: PracticeId, id: EnquiryId) -> StoreResult<()> {
        let result = sqlx::query("DELETE FROM enquiries WHERE practice_id = ? AND id = ?")
            .bind(practice.get())
            .bind(id.get())
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        affected(result)
    }

    async fn dashboard_counts(&self, practice: PracticeId) -> StoreResult<DashboardCounts> {
        let row = sqlx::query(
            "SELECT
                (SELECT COUNT(*) FROM enquiries WHERE practice_id = ?1 AND handled_at IS NULL) AS open_enquiries,
                (SELECT COUNT(*) FROM articles WHERE practice_id = ?1 AND kind = 'article' AND published = 1) AS published_articles,
                (SELECT COUNT(*) FROM articles WHERE practice_id = ?1 AND kind = 'article' AND published = 0) AS draft_articles,
                (SELECT COUNT(*) FROM outbox WHERE practice_id = ?1 AND status = 'pending') AS pending_messages,
                (SELECT COUNT(*) FROM outbox WHERE practice_id = ?1 AND status = 'failed') AS failed_messages,
                (SELECT COUNT(*) FROM outbox WHERE practice_id = ?1 AND status = 'pending' AND attempts > 0) AS retrying_messages,
                (SELECT MIN(created_at) FROM outbox WHERE practice_id = ?1 AND status = 'pending' AND attempts > 0) AS oldest_retrying",
        )
        .bind(practice.get())
        .fetch_one(self.read())
        .await
        .map_err(map_err)?;
        let count = |column: &str| -> StoreResult<u64> {
            Ok(u64::try_from(get::<i64>(&row, column)?).unwrap_or(0))
        };
        Ok(DashboardCounts {
            open_enquiries: count("open_enquiries")?,
            published_articles: count("published_articles")?,
            draft_articles: count("draft_articles")?,
            pending_messages: count("pending_messages")?,
            failed_messages: count("failed_messages")?,
            retrying_messages: count("retrying_messages")?,
            oldest_retrying: get::<Option<i64>>(&row, "oldest_retrying")?
                .map(crate::convert::timestamp)
                .transpose()?,
        })
    }
}

/// After a message is sent (the mail server takes mail again), every message waiting after
/// a failed attempt is due now rather than at the end of its backoff.
const OUTBOX_SERVER_BACK: &str = "UPDATE outbox SET next_attempt_at = ?1
     WHERE status = 'pending' AND attempts > 0 AND next_attempt_at > ?1";

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn enqueue(
        &self,
        practice: PracticeId,
        message: &NewMessage,
        now: Timestamp,
    ) -> StoreResult<MessageId> {
        let mut tx = self.write().await?;
        let id = insert_message(&mut tx, practice, message, now).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(id)
    }

    async fn outbox(&self, practice: PracticeId, limit: u32) -> StoreResult<Vec<OutboxMessage>> {
        let rows = sqlx::query(
            "SELECT * FROM outbox WHERE practice_id = ? ORDER BY created_at DESC, id DESC LIMIT ?",
        )
        .bind(practice.get())
        .bind(i64::from(limit))
        .fetch_all(self.read())
        .await
        .map_err(map_err)?;
        rows.iter().map(message_from_row).collect()
    }

    async fn claim_due(
        &self,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>> {
        let until = now
            .checked_add(lease)
            .map_err(|e| StoreError::Other(e.into()))?;
        // One write under the write lock: no other claimer, in this process or another,
        // can pick the same rows between the choice and the claim.
        let mut tx = self.write().await?;
        let rows = sqlx::query(
            "UPDATE outbox SET claimed_until = ?1
             WHERE id IN (SELECT m.id FROM outbox m
                 WHERE m.status = 'pending' AND m.next_attempt_at <= ?2
                     AND (m.claimed_until IS NULL OR m.claimed_until <= ?2)
                     AND NOT EXISTS (SELECT 1 FROM outbox o
                         WHERE o.practice_id = m.practice_id AND o.recipient = m.recipient
                             AND o.status = 'pending' AND o.id < m.id)
                 ORDER BY m.next_attempt_at, m.id LIMIT ?3)
             RETURNING *",
        )
        .bind(secs(until))
        .bind(secs(now))
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        let mut claimed = rows
            .iter()
            .map(message_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        // RETURNING gives rows in no particular order.
        claimed.sort_by_key(|m| (m.next_attempt_at, m.id.get()));
        Ok(claimed)
    }

    async fn mark_sent(&self, id: MessageId, now: Timestamp) -> StoreResult<()> {
        let mut tx = self.write().await?;
        sqlx::query(
            "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, last_error = NULL,
                next_attempt_at = NULL, claimed_until = NULL
             WHERE id = ?",
        )
        .bind(secs(now))
        .bind(id.get())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query(OUTBOX_SERVER_BACK)
            .bind(secs(now))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(())
    }

    async fn mark_failed(
        &self,
        id: MessageId,
        error: &str,
        retry_at: Option<Timestamp>,
    ) -> StoreResult<()> {
        let status = if retry_at.is_some() {
            "pending"
        } else {
            "failed"
        };
        sqlx::query(
            "UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ?, next_attempt_at = ?,
                claimed_until = NULL
             WHERE id = ?",
        )
        .bind(status)
        .bind(error)
        .bind(retry_at.map(secs))
        .bind(id.get())
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn retry_message(
        &self,
        practice: PracticeId,
        id: MessageId,
        now: Timestamp,
    ) -> StoreResult<()> {
        let result = sqlx::query(
            "UPDATE outbox SET status = 'pending', next_attempt_at = ? WHERE practice_id = ? AND id = ? AND status <> 'sent'",
        )
        .bind(secs(now))
        .bind(practice.get())
        .bind(id.get())
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        affected(result)
    }

    async fn pending_count(&self) -> StoreResult<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
            .fetch_one(self.read())
            .await
            .map_err(map_err)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}
