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

/// What an operator does to whole practices: suspend and resume, the overview with counts,
/// and closing (`begin_closing`, `delete_practice`). The bodies behind the `HostingStore`
/// methods of those names, as `pub(crate)` methods of the store (`*_rows`, `*_practice`).
/// Expanded in the backend's `operator` module, whose `super::hosting` has `host_from` and
/// `count`.
///
/// `tables` lists the tables that have a `practice_id` column, from the engine's catalogue
/// (one column of names), so that a table added later is emptied too; `defer` defers the
/// foreign keys to the commit, so those tables can be emptied in any order; `dynamic` turns
/// a statement made at run time into what the driver takes.
#[allow(clippy::crate_in_macro_def)]
#[macro_export]
macro_rules! operator {
    (
        $store:ident,
        $db:ty,
        sql = $sql:path,
        dynamic = $dynamic:path,
        tables = $tables:literal,
        defer = $defer:literal
    ) => {
        use jiff::Timestamp;
        use store::{ConflictKind, HostedPractice, PracticeId, StoreError, StoreResult};

        use super::hosting::{count, host_from};
        use crate::{
            convert::{opt_timestamp, secs, timestamp},
            map_err,
            practice::get,
        };

        /// Whether the practice is suspended and whether it is closing, read in `tx`.
        async fn state_of(
            tx: &mut sqlx::Transaction<'static, $db>,
            practice: PracticeId,
        ) -> StoreResult<(Option<i64>, Option<i64>)> {
            sqlx::query_as($sql(
                "SELECT suspended_at, closing_at FROM practices WHERE id = ?",
            ))
            .bind(practice.get())
            .fetch_optional(&mut **tx)
            .await
            .map_err(map_err)?
            .ok_or(StoreError::NotFound)
        }

        impl $store {
            pub(crate) async fn suspend_practice(
                &self,
                practice: PracticeId,
                at: Option<Timestamp>,
            ) -> StoreResult<()> {
                let mut tx = self.write().await?;
                let (_, closing) = state_of(&mut tx, practice).await?;
                if closing.is_some() && at.is_none() {
                    return Err(StoreError::Conflict(ConflictKind::PracticeClosing));
                }
                // Suspending a suspended practice keeps the first date.
                sqlx::query($sql(
                    "UPDATE practices SET suspended_at = CASE WHEN ? IS NULL THEN NULL
                                                         ELSE COALESCE(suspended_at, ?) END
                     WHERE id = ?",
                ))
                .bind(at.map(secs))
                .bind(at.map(secs))
                .bind(practice.get())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                tx.commit().await.map_err(map_err)
            }

            pub(crate) async fn practices_overview(&self) -> StoreResult<Vec<HostedPractice>> {
                let rows = sqlx::query($sql(
                    "SELECT p.id, p.name, p.created_at, p.suspended_at, p.closing_at,
                        (SELECT COUNT(*) FROM users u WHERE u.practice_id = p.id) AS staff,
                        (SELECT COUNT(*) FROM clients c WHERE c.practice_id = p.id) AS clients,
                        (SELECT COUNT(*) FROM bookings b WHERE b.practice_id = p.id) AS bookings
                     FROM practices p ORDER BY p.id",
                ))
                .fetch_all(self.read())
                .await
                .map_err(map_err)?;
                let hosts: Vec<(i64, String, String)> = sqlx::query_as($sql(
                    "SELECT practice_id, kind, host FROM practice_hosts ORDER BY kind DESC, host",
                ))
                .fetch_all(self.read())
                .await
                .map_err(map_err)?;
                rows.iter()
                    .map(|row| {
                        let id: i64 = get(row, "id")?;
                        Ok(HostedPractice {
                            id: PracticeId::new(id),
                            name: get(row, "name")?,
                            hosts: hosts
                                .iter()
                                .filter(|(practice, ..)| *practice == id)
                                .map(|(_, kind, host)| host_from(kind, host))
                                .collect::<StoreResult<_>>()?,
                            created_at: timestamp(get(row, "created_at")?)?,
                            suspended_at: opt_timestamp(get(row, "suspended_at")?)?,
                            closing_at: opt_timestamp(get(row, "closing_at")?)?,
                            staff: count(row, "staff")?,
                            clients: count(row, "clients")?,
                            bookings: count(row, "bookings")?,
                        })
                    })
                    .collect()
            }

            pub(crate) async fn begin_closing_practice(
                &self,
                practice: PracticeId,
                now: Timestamp,
            ) -> StoreResult<()> {
                let mut tx = self.write().await?;
                let (suspended, _) = state_of(&mut tx, practice).await?;
                if suspended.is_none() {
                    return Err(StoreError::Conflict(ConflictKind::PracticeActive));
                }
                sqlx::query($sql(
                    "UPDATE practices SET closing_at = COALESCE(closing_at, ?) WHERE id = ?",
                ))
                .bind(secs(now))
                .bind(practice.get())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                sqlx::query($sql("DELETE FROM practice_keys WHERE practice_id = ?"))
                    .bind(practice.get())
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                tx.commit().await.map_err(map_err)
            }

            pub(crate) async fn delete_practice_rows(&self, practice: PracticeId) -> StoreResult<()> {
                let mut tx = self.write().await?;
                let (_, closing) = state_of(&mut tx, practice).await?;
                if closing.is_none() {
                    return Err(StoreError::Conflict(ConflictKind::PracticeActive));
                }
                sqlx::query($defer)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                let tables: Vec<String> = sqlx::query_scalar($tables)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(map_err)?;
                for table in tables.iter().filter(|t| t.as_str() != "practices") {
                    // A name from the catalogue, quoted; never anything typed.
                    if !table.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                        return Err(crate::convert::corrupt("table name"));
                    }
                    sqlx::query($dynamic(format!(
                        "DELETE FROM \"{table}\" WHERE practice_id = ?"
                    )))
                    .bind(practice.get())
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                }
                sqlx::query($sql("DELETE FROM practices WHERE id = ?"))
                    .bind(practice.get())
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                tx.commit().await.map_err(map_err)
            }
        }
    };
}
