//! Staff accounts and sessions.

use async_trait::async_trait;
use domain::EmailAddress;
use jiff::Timestamp;
use sqlx::sqlite::SqliteRow;
use store::{NewUser, PracticeId, StaffSession, StaffStore, StoreResult, User, UserId};

use crate::{SqliteStore, affected, convert::*, map_err, practice::get};

fn user_from_row(row: &SqliteRow) -> StoreResult<User> {
    Ok(User {
        id: UserId::new(get(row, "id")?),
        practice: PracticeId::new(get(row, "practice_id")?),
        email: email(&get::<String>(row, "email")?)?,
        name: name(&get::<String>(row, "name")?)?,
        password_hash: get(row, "password_hash")?,
    })
}

#[async_trait]
impl StaffStore for SqliteStore {
    async fn create_user(
        &self,
        practice: PracticeId,
        user: &NewUser,
        now: Timestamp,
    ) -> StoreResult<UserId> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (practice_id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(practice.get())
        .bind(user.email.as_str())
        .bind(user.name.as_str())
        .bind(&user.password_hash)
        .bind(secs(now))
        .fetch_one(&self.writer)
        .await
        .map_err(map_err)?;
        Ok(UserId::new(id))
    }

    async fn set_password(&self, email: &EmailAddress, password_hash: &str) -> StoreResult<()> {
        let result = sqlx::query("UPDATE users SET password_hash = ? WHERE email = ?")
            .bind(password_hash)
            .bind(email.as_str())
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        affected(result)
    }

    async fn user_by_email(&self, email: &EmailAddress) -> StoreResult<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE email = ?")
            .bind(email.as_str())
            .fetch_optional(self.read())
            .await
            .map_err(map_err)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn create_session(
        &self,
        token_hash: &[u8],
        user: UserId,
        now: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO staff_sessions (token_hash, user_id, created_at, last_seen_at) VALUES (?, ?, ?, ?)")
            .bind(token_hash)
            .bind(user.get())
            .bind(secs(now))
            .bind(secs(now))
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn session(&self, token_hash: &[u8]) -> StoreResult<Option<(StaffSession, User)>> {
        let row = sqlx::query(
            "SELECT u.*, s.created_at AS session_created_at, s.last_seen_at AS session_last_seen_at
             FROM staff_sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?",
        )
        .bind(token_hash)
        .fetch_optional(self.read())
        .await
        .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        let user = user_from_row(&row)?;
        let session = StaffSession {
            user: user.id,
            created_at: timestamp(get(&row, "session_created_at")?)?,
            last_seen_at: timestamp(get(&row, "session_last_seen_at")?)?,
        };
        Ok(Some((session, user)))
    }

    async fn touch_session(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<()> {
        sqlx::query("UPDATE staff_sessions SET last_seen_at = ? WHERE token_hash = ?")
            .bind(secs(now))
            .bind(token_hash)
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()> {
        sqlx::query("DELETE FROM staff_sessions WHERE token_hash = ?")
            .bind(token_hash)
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn delete_user_sessions(&self, user: UserId) -> StoreResult<()> {
        sqlx::query("DELETE FROM staff_sessions WHERE user_id = ?")
            .bind(user.get())
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}
