//! Rate-limit counters and known staff browsers.
//!
//! A reservation is one upsert: it inserts the counter, starts a new window over one that
//! has ended, or adds one to a window under its limit — and changes nothing (so returns no
//! row) when the limit is reached. Under the single writer no two can interleave, which is
//! what makes "reserve before the work" hold when requests arrive together.

use async_trait::async_trait;
use jiff::Timestamp;
use store::{LimitKey, LimitRule, LimitStore, PracticeId, Reservation, StoreResult, UserId};

use crate::{SqliteStore, convert::*, map_err, relaxed};

#[async_trait]
impl LimitStore for SqliteStore {
    async fn reserve(
        &self,
        key: &LimitKey,
        rule: LimitRule,
        now: Timestamp,
    ) -> StoreResult<Reservation> {
        let key = key.clone();
        relaxed(&self.writer, move |conn| {
            Box::pin(async move {
                let counted: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO rate_counters (practice_id, kind, subject, window_end, count)
                     VALUES (?1, ?2, ?3, ?4, 1)
                     ON CONFLICT (practice_id, kind, subject) DO UPDATE SET
                         count = CASE WHEN rate_counters.window_end <= ?5 THEN 1
                                      ELSE rate_counters.count + 1 END,
                         window_end = CASE WHEN rate_counters.window_end <= ?5 THEN ?4
                                           ELSE rate_counters.window_end END
                     WHERE rate_counters.window_end <= ?5 OR rate_counters.count < ?6
                     RETURNING count",
                )
                .bind(key.practice.get())
                .bind(key.kind)
                .bind(&key.subject[..])
                .bind(secs(now + rule.window))
                .bind(secs(now))
                .bind(i64::from(rule.max))
                .fetch_optional(&mut *conn)
                .await
                .map_err(map_err)?;
                if counted.is_some() {
                    return Ok(Reservation::Counted);
                }
                let end: i64 = sqlx::query_scalar(
                    "SELECT window_end FROM rate_counters
                     WHERE practice_id = ? AND kind = ? AND subject = ?",
                )
                .bind(key.practice.get())
                .bind(key.kind)
                .bind(&key.subject[..])
                .fetch_one(&mut *conn)
                .await
                .map_err(map_err)?;
                Ok(Reservation::Refused {
                    until: timestamp(end)?,
                })
            })
        })
        .await
    }

    async fn release(&self, key: &LimitKey, now: Timestamp) -> StoreResult<()> {
        let key = key.clone();
        relaxed(&self.writer, move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE rate_counters SET count = count - 1
                     WHERE practice_id = ? AND kind = ? AND subject = ?
                       AND count > 0 AND window_end > ?",
                )
                .bind(key.practice.get())
                .bind(key.kind)
                .bind(&key.subject[..])
                .bind(secs(now))
                .execute(&mut *conn)
                .await
                .map_err(map_err)?;
                Ok(())
            })
        })
        .await
    }

    async fn clear_limit(&self, key: &LimitKey) -> StoreResult<()> {
        sqlx::query("DELETE FROM rate_counters WHERE practice_id = ? AND kind = ? AND subject = ?")
            .bind(key.practice.get())
            .bind(key.kind)
            .bind(&key.subject[..])
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn forget_ended_limits(&self, now: Timestamp) -> StoreResult<u64> {
        // The practices' counters and the deployment's own (the operator console's).
        let mut tx = self.write().await?;
        let mut forgotten = 0;
        for sql in [
            "DELETE FROM rate_counters WHERE window_end <= ?",
            "DELETE FROM host_counters WHERE window_end <= ?",
        ] {
            let result = sqlx::query(sql)
                .bind(secs(now))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            forgotten += result.rows_affected();
        }
        tx.commit().await.map_err(map_err)?;
        Ok(forgotten)
    }

    async fn claim_jobs(
        &self,
        practices: &[PracticeId],
        now: Timestamp,
        every: jiff::SignedDuration,
    ) -> StoreResult<Vec<PracticeId>> {
        self.claim_job_runs(practices, now, every).await
    }

    async fn remember_device(
        &self,
        user: UserId,
        token_hash: &[u8],
        now: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO staff_devices (token_hash, user_id, created_at, last_used_at)
             VALUES (?, ?, ?, ?)",
        )
        .bind(token_hash)
        .bind(user.get())
        .bind(secs(now))
        .bind(secs(now))
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn forget_device(&self, token_hash: &[u8]) -> StoreResult<()> {
        sqlx::query("DELETE FROM staff_devices WHERE token_hash = ?")
            .bind(token_hash)
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn known_device(&self, user: UserId, token_hash: &[u8]) -> StoreResult<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM staff_devices WHERE token_hash = ? AND user_id = ?")
                .bind(token_hash)
                .bind(user.get())
                .fetch_optional(self.read())
                .await
                .map_err(map_err)?;
        Ok(found.is_some())
    }
}

/// A statement made at run time (placeholders only, never anything typed).
fn dynamic(text: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(text)
}

store_sql::job_claims!(SqliteStore, dynamic = dynamic);
