//! Staff accounts and sessions.

use async_trait::async_trait;
use domain::EmailAddress;
use domain::staff::{IdleTimeout, SignInPolicy};
use jiff::Timestamp;
use sqlx::sqlite::SqliteRow;
use store::{
    Authenticator, ConflictKind, NewUser, PracticeId, SessionStage, StaffSession, StaffStore,
    StoreError, StoreResult, User, UserId,
};

use crate::{SqliteStore, affected, convert::*, map_err, practice::get};

/// A session's stage as stored (staff and operator sessions alike).
pub(crate) fn stage_text(stage: SessionStage) -> &'static str {
    match stage {
        SessionStage::SignedIn => "signed_in",
        SessionStage::CodeNeeded => "code_needed",
        SessionStage::SetUpNeeded => "set_up_needed",
    }
}

/// A stored session stage.
pub(crate) fn stage_from(text: &str) -> StoreResult<SessionStage> {
    match text {
        "signed_in" => Ok(SessionStage::SignedIn),
        "code_needed" => Ok(SessionStage::CodeNeeded),
        "set_up_needed" => Ok(SessionStage::SetUpNeeded),
        _ => Err(corrupt("session stage")),
    }
}

fn policy_from_row(row: &SqliteRow) -> StoreResult<SignInPolicy> {
    Ok(SignInPolicy {
        second_factor_required: get::<i64>(row, "second_factor_required")? != 0,
        idle_timeout: IdleTimeout::from_minutes(get(row, "idle_timeout_minutes")?)
            .ok_or_else(|| corrupt("idle timeout"))?,
    })
}

fn step_to_db(step: u64) -> StoreResult<i64> {
    i64::try_from(step).map_err(|_| corrupt("time step"))
}

fn user_from_row(row: &SqliteRow) -> StoreResult<User> {
    Ok(User {
        id: UserId::new(get(row, "id")?),
        practice: PracticeId::new(get(row, "practice_id")?),
        email: email(&get::<String>(row, "email")?)?,
        name: name(&get::<String>(row, "name")?)?,
        password_hash: get(row, "password_hash")?,
        owner: get::<i64>(row, "is_owner")? != 0,
        second_factor: get::<Option<i64>>(row, "totp_enabled_at")?.is_some(),
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
        let mut conn = self.writer.acquire().await.map_err(map_err)?;
        insert_user(&mut conn, practice, user, now).await
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
        self.start_sign_in(token_hash, user, SessionStage::SignedIn, now)
            .await
    }

    async fn start_sign_in(
        &self,
        token_hash: &[u8],
        user: UserId,
        stage: SessionStage,
        now: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO staff_sessions (token_hash, user_id, stage, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)")
            .bind(token_hash)
            .bind(user.get())
            .bind(stage_text(stage))
            .bind(secs(now))
            .bind(secs(now))
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn session(&self, token_hash: &[u8]) -> StoreResult<Option<(StaffSession, User)>> {
        let row = sqlx::query(
            "SELECT u.*, s.stage, s.created_at AS session_created_at,
                    s.last_seen_at AS session_last_seen_at,
                    p.second_factor_required, p.idle_timeout_minutes
             FROM staff_sessions s JOIN users u ON u.id = s.user_id
             JOIN practices p ON p.id = u.practice_id
             WHERE s.token_hash = ?",
        )
        .bind(token_hash)
        .fetch_optional(self.read())
        .await
        .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        let user = user_from_row(&row)?;
        let session = StaffSession {
            user: user.id,
            stage: stage_from(&get::<String>(&row, "stage")?)?,
            created_at: timestamp(get(&row, "session_created_at")?)?,
            last_seen_at: timestamp(get(&row, "session_last_seen_at")?)?,
            policy: policy_from_row(&row)?,
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

    async fn staff_names(&self, practice: PracticeId) -> StoreResult<Vec<(UserId, String)>> {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, name FROM users WHERE practice_id = ? ORDER BY id")
                .bind(practice.get())
                .fetch_all(self.read())
                .await
                .map_err(map_err)?;
        Ok(rows
            .into_iter()
            .map(|(id, name)| (UserId::new(id), name))
            .collect())
    }

    async fn sign_in_policy(&self, practice: PracticeId) -> StoreResult<SignInPolicy> {
        let row = sqlx::query(
            "SELECT second_factor_required, idle_timeout_minutes FROM practices WHERE id = ?",
        )
        .bind(practice.get())
        .fetch_one(self.read())
        .await
        .map_err(map_err)?;
        policy_from_row(&row)
    }

    async fn set_sign_in_policy(
        &self,
        practice: PracticeId,
        policy: &SignInPolicy,
    ) -> StoreResult<()> {
        let result = sqlx::query(
            "UPDATE practices SET second_factor_required = ?, idle_timeout_minutes = ? WHERE id = ?",
        )
        .bind(i64::from(policy.second_factor_required))
        .bind(i64::from(policy.idle_timeout.minutes()))
        .bind(practice.get())
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        affected(result)
    }

    async fn authenticator(&self, user: UserId) -> StoreResult<Option<Authenticator>> {
        let row = sqlx::query(
            "SELECT totp_secret, totp_enabled_at, totp_last_step, totp_pending_session FROM users
             WHERE id = ? AND totp_secret IS NOT NULL",
        )
        .bind(user.get())
        .fetch_optional(self.read())
        .await
        .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        let last_step = get::<Option<i64>>(&row, "totp_last_step")?
            .map(|step| u64::try_from(step).map_err(|_| corrupt("time step")))
            .transpose()?;
        Ok(Some(Authenticator {
            sealed_secret: get(&row, "totp_secret")?,
            enabled_at: opt_timestamp(get(&row, "totp_enabled_at")?)?,
            last_step,
            pending_session: get(&row, "totp_pending_session")?,
        }))
    }

    async fn begin_authenticator(
        &self,
        user: UserId,
        sealed_secret: &[u8],
        session: &[u8],
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let enabled: Option<Option<i64>> =
            sqlx::query_scalar("SELECT totp_enabled_at FROM users WHERE id = ?")
                .bind(user.get())
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
        match enabled {
            None => return Err(StoreError::NotFound),
            Some(Some(_)) => return Err(StoreError::Conflict(ConflictKind::AuthenticatorEnabled)),
            Some(None) => {}
        }
        sqlx::query(
            "UPDATE users SET totp_secret = ?, totp_pending_session = ?, totp_last_step = NULL
             WHERE id = ?",
        )
        .bind(sealed_secret)
        .bind(session)
        .bind(user.get())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    async fn enable_authenticator(
        &self,
        user: UserId,
        sealed_secret: &[u8],
        session: &[u8],
        step: u64,
        recovery_hashes: &[Vec<u8>],
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let result = sqlx::query(
            "UPDATE users SET totp_enabled_at = ?, totp_last_step = ?, totp_pending_session = NULL
             WHERE id = ? AND totp_secret = ? AND totp_pending_session = ?
               AND totp_enabled_at IS NULL",
        )
        .bind(secs(now))
        .bind(step_to_db(step)?)
        .bind(user.get())
        .bind(sealed_secret)
        .bind(session)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        affected(result)?;
        replace_codes(&mut tx, user, recovery_hashes, now).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn use_authenticator_step(&self, user: UserId, step: u64) -> StoreResult<bool> {
        let step = step_to_db(step)?;
        let result = sqlx::query(
            "UPDATE users SET totp_last_step = ?1
             WHERE id = ?2 AND totp_enabled_at IS NOT NULL
               AND (totp_last_step IS NULL OR totp_last_step < ?1)",
        )
        .bind(step)
        .bind(user.get())
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        Ok(result.rows_affected() == 1)
    }

    async fn disable_authenticator(&self, user: UserId) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let result = sqlx::query(
            "UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL,
                 totp_pending_session = NULL
             WHERE id = ?",
        )
        .bind(user.get())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        affected(result)?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = ?")
            .bind(user.get())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    async fn replace_recovery_codes(
        &self,
        user: UserId,
        hashes: &[Vec<u8>],
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        replace_codes(&mut tx, user, hashes, now).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn use_recovery_code(
        &self,
        user: UserId,
        hash: &[u8],
        now: Timestamp,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE recovery_codes SET used_at = ?
             WHERE user_id = ? AND code_hash = ? AND used_at IS NULL",
        )
        .bind(secs(now))
        .bind(user.get())
        .bind(hash)
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        Ok(result.rows_affected() == 1)
    }

    async fn recovery_codes_left(&self, user: UserId) -> StoreResult<u32> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL",
        )
        .bind(user.get())
        .fetch_one(self.read())
        .await
        .map_err(map_err)?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    async fn authenticator_secrets(
        &self,
        practice: PracticeId,
    ) -> StoreResult<Vec<(UserId, Vec<u8>)>> {
        self.authenticator_secrets_of(practice).await
    }
}

async fn replace_codes(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    user: UserId,
    hashes: &[Vec<u8>],
    now: Timestamp,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = ?")
        .bind(user.get())
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    for hash in hashes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (?, ?, ?)")
            .bind(user.get())
            .bind(hash.as_slice())
            .bind(secs(now))
            .execute(&mut **tx)
            .await
            .map_err(map_err)?;
    }
    Ok(())
}

/// Insert a back-office account in the caller's transaction; the practice's first account
/// is its owner.
pub(crate) async fn insert_user(
    conn: &mut sqlx::SqliteConnection,
    practice: PracticeId,
    user: &NewUser,
    now: Timestamp,
) -> StoreResult<UserId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (practice_id, email, name, password_hash, created_at, is_owner)
         VALUES (?1, ?2, ?3, ?4, ?5, NOT EXISTS (SELECT 1 FROM users WHERE practice_id = ?1))
         RETURNING id",
    )
    .bind(practice.get())
    .bind(user.email.as_str())
    .bind(user.name.as_str())
    .bind(&user.password_hash)
    .bind(secs(now))
    .fetch_one(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(UserId::new(id))
}
