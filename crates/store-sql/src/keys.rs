/// The practices' own keys and the host key's name (`practice_keys`, `host_key`): the
/// bodies behind `NoteStore::{client_keys, practice_key, host_key_id, adopt_practice_key,
/// practice_keys, rewrap_practice_keys}` and `StaffStore::authenticator_secrets`, as
/// `pub(crate)` methods of the store. `share` is what follows the read of the host key's row
/// inside an adoption, so that a rotation and an adoption wait for each other
/// (`" FOR SHARE"` on PostgreSQL; SQLite's write transactions already run one at a time).
#[allow(clippy::crate_in_macro_def)]
#[macro_export]
macro_rules! practice_keys {
    ($store:ident, $db:ty, sql = $sql:path, share = $share:literal) => {
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
        pub(crate) async fn hold_host_key(
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

        /// Replace, in every row `count` counts, an `old` sealed value by its `new` one with
        /// `swap` (`new`, the practice if `practice` is given, row id, `old`); refused, as
        /// `KeysChanged`, unless `rows` names every such row exactly as it is stored. With a
        /// practice, `count` has one `?` for it; without, none (rows of the whole deployment).
        async fn replace_exactly(
            tx: &mut sqlx::Transaction<'static, $db>,
            practice: Option<PracticeId>,
            (count, swap): (&'static str, &'static str),
            rows: &[(i64, &[u8], &[u8])],
        ) -> StoreResult<()> {
            let mut counting = sqlx::query_scalar($sql(count));
            if let Some(practice) = practice {
                counting = counting.bind(practice.get());
            }
            let counted: i64 = counting.fetch_one(&mut **tx).await.map_err(map_err)?;
            if usize::try_from(counted).ok() != Some(rows.len()) {
                return Err(changed());
            }
            for (id, old, new) in rows {
                let mut swapping = sqlx::query($sql(swap)).bind(*new);
                if let Some(practice) = practice {
                    swapping = swapping.bind(practice.get());
                }
                let result = swapping
                    .bind(*id)
                    .bind(*old)
                    .execute(&mut **tx)
                    .await
                    .map_err(map_err)?;
                if result.rows_affected() != 1 {
                    return Err(changed());
                }
            }
            Ok(())
        }

        /// `(row id, sealed value)` for every row `sql` lists (one `?`: the practice).
        async fn sealed_rows<'e, E>(
            executor: E,
            sql: &'static str,
            practice: PracticeId,
        ) -> StoreResult<Vec<(i64, Vec<u8>)>>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            sqlx::query_as($sql(sql))
                .bind(practice.get())
                .fetch_all(executor)
                .await
                .map_err(map_err)
        }

        impl $store {
            pub(crate) async fn client_keys_of(
                &self,
                practice: PracticeId,
            ) -> StoreResult<Vec<(ClientId, Vec<u8>)>> {
                let sql =
                    "SELECT client_id, wrapped FROM client_keys WHERE practice_id = ? ORDER BY client_id";
                let rows = sealed_rows(self.read(), sql, practice).await?;
                Ok(rows.into_iter().map(|(c, w)| (ClientId::new(c), w)).collect())
            }

            pub(crate) async fn authenticator_secrets_of(
                &self,
                practice: PracticeId,
            ) -> StoreResult<Vec<(UserId, Vec<u8>)>> {
                let sql = "SELECT id, totp_secret FROM users WHERE practice_id = ? AND totp_secret IS NOT NULL ORDER BY id";
                let rows = sealed_rows(self.read(), sql, practice).await?;
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
                    let exists: i64 =
                        sqlx::query_scalar($sql("SELECT COUNT(*) FROM practices WHERE id = ?"))
                            .bind(practice.get())
                            .fetch_one(&mut *tx)
                            .await
                            .map_err(map_err)?;
                    return Err(if exists == 0 {
                        StoreError::NotFound
                    } else {
                        changed()
                    });
                }
                let client_keys: Vec<(i64, &[u8], &[u8])> = adoption
                    .client_keys
                    .iter()
                    .map(|k| (k.id.get(), k.old.as_slice(), k.new.as_slice()))
                    .collect();
                replace_exactly(
                    &mut tx,
                    Some(practice),
                    (
                        "SELECT COUNT(*) FROM client_keys WHERE practice_id = ?",
                        "UPDATE client_keys SET wrapped = ? WHERE practice_id = ? AND client_id = ? AND wrapped = ?",
                    ),
                    &client_keys,
                )
                .await?;
                let secrets: Vec<(i64, &[u8], &[u8])> = adoption
                    .authenticator_secrets
                    .iter()
                    .map(|k| (k.id.get(), k.old.as_slice(), k.new.as_slice()))
                    .collect();
                replace_exactly(
                    &mut tx,
                    Some(practice),
                    (
                        "SELECT COUNT(*) FROM users WHERE practice_id = ? AND totp_secret IS NOT NULL",
                        "UPDATE users SET totp_secret = ? WHERE practice_id = ? AND id = ? AND totp_secret = ?",
                    ),
                    &secrets,
                )
                .await?;
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
                operators: &[Rewrapped<store::OperatorId>],
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
                let practice_keys: Vec<(i64, &[u8], &[u8])> = keys
                    .iter()
                    .map(|k| (k.id.get(), k.old.as_slice(), k.new.as_slice()))
                    .collect();
                replace_exactly(
                    &mut tx,
                    None,
                    (
                        "SELECT COUNT(*) FROM practice_keys",
                        "UPDATE practice_keys SET wrapped = ? WHERE practice_id = ? AND wrapped = ?",
                    ),
                    &practice_keys,
                )
                .await?;
                let secrets: Vec<(i64, &[u8], &[u8])> = operators
                    .iter()
                    .map(|o| (o.id.get(), o.old.as_slice(), o.new.as_slice()))
                    .collect();
                replace_exactly(
                    &mut tx,
                    None,
                    (
                        "SELECT COUNT(*) FROM operators WHERE sealed_secret IS NOT NULL",
                        "UPDATE operators SET sealed_secret = ? WHERE id = ? AND sealed_secret = ?",
                    ),
                    &secrets,
                )
                .await?;
                // A secret being set up is sealed with the old key: those sign-ins start again.
                sqlx::query($sql("DELETE FROM operator_sessions"))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                tx.commit().await.map_err(map_err)
            }
        }
    };
}
