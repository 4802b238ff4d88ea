//! SQL that both backends share, as macros that expand inside each backend with its own
//! store type, sqlx database and placeholder style.
//!
//! The SQLite and PostgreSQL backends keep the same tables and columns (see each backend's
//! migrations), so much of their SQL is the same text. A macro here holds it once: the
//! backend passes its store type, its `sqlx` database type, a function `sql` that turns a
//! statement written with `?` placeholders into what its driver takes (SQLite: the text as
//! it is; PostgreSQL: numbered `$1`, `$2`, …) and that function's return type, and what the
//! two engines write differently (a row lock SQLite has no words for). The expansion uses the
//! backend's own `map_err`, `convert::secs`, `write()` (a write transaction) and `read()` (the
//! pool for reads), which both backends name alike.

/// The practices' own keys and the host key's name (`practice_keys`, `host_key`): the
/// bodies behind `NoteStore::{client_keys, practice_key, host_key_id, adopt_practice_key,
/// practice_keys, rewrap_practice_keys}` and `StaffStore::authenticator_secrets`, as
/// `pub(crate)` methods of the store. `share` is what follows the read of the host key's row
/// inside an adoption, so that a rotation and an adoption wait for each other
/// (`" FOR SHARE"` on PostgreSQL; SQLite's write transactions already run one at a time).
// `crate::` names the backend the macro expands in: its `map_err` and `convert`, on purpose.
#[allow(clippy::crate_in_macro_def)]
#[macro_export]
macro_rules! practice_keys {
    ($store:ident, $db:ty, sql = $sql:path, sql_type = $sqltype:ty, share = $share:literal) => {
        use jiff::Timestamp;
        use store::{
            ClientId, ConflictKind, KeyAdoption, PracticeId, Rewrapped, StoreError, StoreResult, UserId,
        };

        use crate::{convert::secs, map_err};

        fn changed() -> StoreError {
            StoreError::Conflict(ConflictKind::KeysChanged)
        }

        /// Hold the host key's name in this transaction: record `id` if there is none yet, and
        /// refuse if it is another key's.
        async fn hold_host_key(
            tx: &mut sqlx::Transaction<'static, $db>,
            id: &[u8],
            now: Timestamp,
        ) -> StoreResult<()> {
            sqlx::query(
                $sql("INSERT INTO host_key (id, key_id, changed_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING"),
            )
            .bind(id)
            .bind(secs(now))
            .execute(&mut **tx)
            .await
            .map_err(map_err)?;
            let stored: Vec<u8> = sqlx::query_scalar($sql(concat!(
                "SELECT key_id FROM host_key WHERE id = 1",
                $share
            )))
            .fetch_one(&mut **tx)
            .await
            .map_err(map_err)?;
            if stored == id {
                Ok(())
            } else {
                Err(StoreError::Conflict(ConflictKind::HostKeyChanged))
            }
        }

        /// How many rows `sql` counts (one `?`: the practice).
        async fn count(
            tx: &mut sqlx::Transaction<'static, $db>,
            sql: $sqltype,
            practice: PracticeId,
        ) -> StoreResult<usize> {
            let n: i64 = sqlx::query_scalar(sql)
                .bind(practice.get())
                .fetch_one(&mut **tx)
                .await
                .map_err(map_err)?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        }

        /// Swap `old` for `new` in one row, or refuse if the row no longer holds `old`.
        async fn swap(
            tx: &mut sqlx::Transaction<'static, $db>,
            sql: $sqltype,
            practice: PracticeId,
            id: i64,
            old: &[u8],
            new: &[u8],
        ) -> StoreResult<()> {
            let result = sqlx::query(sql)
                .bind(new)
                .bind(practice.get())
                .bind(id)
                .bind(old)
                .execute(&mut **tx)
                .await
                .map_err(map_err)?;
            if result.rows_affected() == 1 {
                Ok(())
            } else {
                Err(changed())
            }
        }

        impl $store {
            pub(crate) async fn client_keys_of(
                &self,
                practice: PracticeId,
            ) -> StoreResult<Vec<(ClientId, Vec<u8>)>> {
                let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as($sql(
                    "SELECT client_id, wrapped FROM client_keys WHERE practice_id = ? ORDER BY client_id",
                ))
                .bind(practice.get())
                .fetch_all(self.read())
                .await
                .map_err(map_err)?;
                Ok(rows
                    .into_iter()
                    .map(|(c, w)| (ClientId::new(c), w))
                    .collect())
            }

            pub(crate) async fn authenticator_secrets_of(
                &self,
                practice: PracticeId,
            ) -> StoreResult<Vec<(UserId, Vec<u8>)>> {
                let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
                    $sql("SELECT id, totp_secret FROM users WHERE practice_id = ? AND totp_secret IS NOT NULL ORDER BY id"),
                )
                .bind(practice.get())
                .fetch_all(self.read())
                .await
                .map_err(map_err)?;
                Ok(rows.into_iter().map(|(u, s)| (UserId::new(u), s)).collect())
            }

            pub(crate) async fn practice_key_of(
                &self,
                practice: PracticeId,
            ) -> StoreResult<Option<Vec<u8>>> {
                sqlx::query_scalar($sql(
                    "SELECT wrapped FROM practice_keys WHERE practice_id = ?",
                ))
                .bind(practice.get())
                .fetch_optional(self.read())
                .await
                .map_err(map_err)
            }

            pub(crate) async fn stored_host_key_id(&self) -> StoreResult<Option<Vec<u8>>> {
                sqlx::query_scalar($sql("SELECT key_id FROM host_key WHERE id = 1"))
                    .fetch_optional(self.read())
                    .await
                    .map_err(map_err)
            }

            pub(crate) async fn adopt_key(
                &self,
                adoption: &KeyAdoption<'_>,
                now: Timestamp,
            ) -> StoreResult<()> {
                let practice = adoption.practice;
                let mut tx = self.write().await?;
                hold_host_key(&mut tx, adoption.host_key_id, now).await?;
                let inserted = sqlx::query($sql(
                    "INSERT INTO practice_keys (practice_id, wrapped, created_at)
                     SELECT id, ?, ? FROM practices WHERE id = ?
                     ON CONFLICT (practice_id) DO NOTHING",
                ))
                .bind(adoption.wrapped)
                .bind(secs(now))
                .bind(practice.get())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                if inserted.rows_affected() != 1 {
                    let exists = count(
                        &mut tx,
                        $sql("SELECT COUNT(*) FROM practices WHERE id = ?"),
                        practice,
                    )
                    .await?;
                    return Err(if exists == 0 {
                        StoreError::NotFound
                    } else {
                        changed()
                    });
                }
                if count(
                    &mut tx,
                    $sql("SELECT COUNT(*) FROM client_keys WHERE practice_id = ?"),
                    practice,
                )
                .await?
                    != adoption.client_keys.len()
                {
                    return Err(changed());
                }
                for key in adoption.client_keys {
                    swap(
                        &mut tx,
                        $sql("UPDATE client_keys SET wrapped = ? WHERE practice_id = ? AND client_id = ? AND wrapped = ?"),
                        practice,
                        key.id.get(),
                        &key.old,
                        &key.new,
                    )
                    .await?;
                }
                if count(
                    &mut tx,
                    $sql("SELECT COUNT(*) FROM users WHERE practice_id = ? AND totp_secret IS NOT NULL"),
                    practice,
                )
                .await?
                    != adoption.authenticator_secrets.len()
                {
                    return Err(changed());
                }
                for secret in adoption.authenticator_secrets {
                    swap(
                        &mut tx,
                        $sql("UPDATE users SET totp_secret = ? WHERE practice_id = ? AND id = ? AND totp_secret = ?"),
                        practice,
                        secret.id.get(),
                        &secret.old,
                        &secret.new,
                    )
                    .await?;
                }
                tx.commit().await.map_err(map_err)
            }

            pub(crate) async fn all_practice_keys(&self) -> StoreResult<Vec<(PracticeId, Vec<u8>)>> {
                let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as($sql(
                    "SELECT practice_id, wrapped FROM practice_keys ORDER BY practice_id",
                ))
                .fetch_all(self.read())
                .await
                .map_err(map_err)?;
                Ok(rows
                    .into_iter()
                    .map(|(p, w)| (PracticeId::new(p), w))
                    .collect())
            }

            pub(crate) async fn rewrap_keys(
                &self,
                old_host: &[u8],
                new_host: &[u8],
                keys: &[Rewrapped<PracticeId>],
            ) -> StoreResult<()> {
                let mut tx = self.write().await?;
                let moved = sqlx::query($sql(
                    "UPDATE host_key SET key_id = ? WHERE id = 1 AND key_id = ?",
                ))
                .bind(new_host)
                .bind(old_host)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                if moved.rows_affected() != 1 {
                    return Err(StoreError::Conflict(ConflictKind::HostKeyChanged));
                }
                let stored: i64 = sqlx::query_scalar($sql("SELECT COUNT(*) FROM practice_keys"))
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_err)?;
                if usize::try_from(stored).ok() != Some(keys.len()) {
                    return Err(changed());
                }
                for key in keys {
                    let result = sqlx::query($sql(
                        "UPDATE practice_keys SET wrapped = ? WHERE practice_id = ? AND wrapped = ?",
                    ))
                    .bind(&key.new)
                    .bind(key.id.get())
                    .bind(&key.old)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                    if result.rows_affected() != 1 {
                        return Err(changed());
                    }
                }
                tx.commit().await.map_err(map_err)
            }
        }
    };
}
