/// The operator console's accounts and sessions, the deployment's own rate counters, and the
/// links that let a practice's staff set a password: `OperatorStore`, implemented for the
/// store. Expanded in the backend's `operator_accounts` module, whose `crate::staff` has
/// `stage_text` and `stage_from` (a session's stage as staff sessions store it) and whose
/// `crate::enquiries` has `insert_message` (the outbox's insert, in the caller's
/// transaction, as `OutboxStore::enqueue` does it).
///
/// Operators' email addresses are matched whatever their case, as staff accounts' are
/// (`lower(email)` on both sides; each backend's migration keeps them unique that way).
#[allow(clippy::crate_in_macro_def)]
#[macro_export]
macro_rules! operator_accounts {
    ($store:ident, $db:ty, sql = $sql:path) => {
        use domain::EmailAddress;
        use jiff::Timestamp;
        use store::{
            ConflictKind, LimitRule, MessageId, NewMessage, NewUser, Operator, OperatorId,
            OperatorSession, OperatorStore, PracticeId, Reservation, SessionStage, StaffAccount,
            StoreError, StoreResult, UserId,
        };

        use crate::{
            convert::{corrupt, email, secs, timestamp},
            map_err,
            staff::{stage_from, stage_text},
        };

        /// An operator's row: id, email, name, password hash, sealed secret, created at.
        type OperatorRow = (i64, String, String, String, Option<Vec<u8>>, i64);

        fn operator_from(row: OperatorRow) -> StoreResult<Operator> {
            let (id, address, name, password_hash, sealed_secret, created_at) = row;
            Ok(Operator {
                id: OperatorId::new(id),
                email: email(&address)?,
                name,
                password_hash,
                sealed_secret,
                created_at: timestamp(created_at)?,
            })
        }

        fn step_to_db(step: u64) -> StoreResult<i64> {
            i64::try_from(step).map_err(|_| corrupt("time step"))
        }

        /// End every session of `operator`, the id an `UPDATE … RETURNING id` of their row
        /// gave in `tx` (`NotFound` if it found no operator).
        async fn end_sessions(
            tx: &mut sqlx::Transaction<'static, $db>,
            operator: Option<i64>,
        ) -> StoreResult<()> {
            let operator = operator.ok_or(StoreError::NotFound)?;
            sqlx::query($sql("DELETE FROM operator_sessions WHERE operator_id = ?"))
                .bind(operator)
                .execute(&mut **tx)
                .await
                .map_err(map_err)?;
            Ok(())
        }

        #[async_trait::async_trait]
        impl OperatorStore for $store {
            async fn create_operator(
                &self,
                operator: &NewUser,
                now: Timestamp,
            ) -> StoreResult<OperatorId> {
                let mut tx = self.write().await?;
                let id: i64 = sqlx::query_scalar($sql(
                    "INSERT INTO operators (email, name, password_hash, created_at)
                     VALUES (?, ?, ?, ?) RETURNING id",
                ))
                .bind(operator.email.as_str())
                .bind(operator.name.as_str())
                .bind(&operator.password_hash)
                .bind(secs(now))
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?;
                tx.commit().await.map_err(map_err)?;
                Ok(OperatorId::new(id))
            }

            async fn operators(&self) -> StoreResult<Vec<Operator>> {
                let rows: Vec<OperatorRow> = sqlx::query_as($sql(
                    "SELECT id, email, name, password_hash, sealed_secret, created_at
                     FROM operators ORDER BY id",
                ))
                .fetch_all(self.read())
                .await
                .map_err(map_err)?;
                rows.into_iter().map(operator_from).collect()
            }

            async fn operator_by_email(
                &self,
                email: &EmailAddress,
            ) -> StoreResult<Option<Operator>> {
                let row: Option<OperatorRow> = sqlx::query_as($sql(
                    "SELECT id, email, name, password_hash, sealed_secret, created_at
                     FROM operators WHERE lower(email) = lower(?)",
                ))
                .bind(email.as_str())
                .fetch_optional(self.read())
                .await
                .map_err(map_err)?;
                row.map(operator_from).transpose()
            }

            async fn set_operator_password(
                &self,
                email: &EmailAddress,
                password_hash: &str,
            ) -> StoreResult<()> {
                let mut tx = self.write().await?;
                let operator: Option<i64> = sqlx::query_scalar($sql(
                    "UPDATE operators SET password_hash = ? WHERE lower(email) = lower(?)
                     RETURNING id",
                ))
                .bind(password_hash)
                .bind(email.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
                end_sessions(&mut tx, operator).await?;
                tx.commit().await.map_err(map_err)
            }

            async fn reset_operator_authenticator(&self, email: &EmailAddress) -> StoreResult<()> {
                let mut tx = self.write().await?;
                let operator: Option<i64> = sqlx::query_scalar($sql(
                    "UPDATE operators SET sealed_secret = NULL, last_step = NULL
                     WHERE lower(email) = lower(?) RETURNING id",
                ))
                .bind(email.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
                end_sessions(&mut tx, operator).await?;
                tx.commit().await.map_err(map_err)
            }

            async fn start_operator_session(
                &self,
                token_hash: &[u8],
                operator: OperatorId,
                stage: SessionStage,
                now: Timestamp,
            ) -> StoreResult<()> {
                let mut tx = self.write().await?;
                sqlx::query($sql(
                    "INSERT INTO operator_sessions
                         (token_hash, operator_id, stage, created_at, last_seen_at)
                     VALUES (?, ?, ?, ?, ?)",
                ))
                .bind(token_hash)
                .bind(operator.get())
                .bind(stage_text(stage))
                .bind(secs(now))
                .bind(secs(now))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                tx.commit().await.map_err(map_err)
            }

            async fn operator_session(
                &self,
                token_hash: &[u8],
            ) -> StoreResult<Option<(OperatorSession, Operator)>> {
                // The session's stage, times and pending secret, then its operator's row.
                type Row = (
                    String, i64, i64, Option<Vec<u8>>,
                    i64, String, String, String, Option<Vec<u8>>, i64,
                );
                let row: Option<Row> = sqlx::query_as($sql(
                    "SELECT s.stage, s.created_at, s.last_seen_at, s.pending_secret,
                            o.id, o.email, o.name, o.password_hash, o.sealed_secret, o.created_at
                     FROM operator_sessions s JOIN operators o ON o.id = s.operator_id
                     WHERE s.token_hash = ?",
                ))
                .bind(token_hash)
                .fetch_optional(self.read())
                .await
                .map_err(map_err)?;
                let Some((stage, created_at, last_seen_at, pending, o1, o2, o3, o4, o5, o6)) = row else {
                    return Ok(None);
                };
                let operator = operator_from((o1, o2, o3, o4, o5, o6))?;
                let session = OperatorSession {
                    operator: operator.id,
                    stage: stage_from(&stage)?,
                    created_at: timestamp(created_at)?,
                    last_seen_at: timestamp(last_seen_at)?,
                    pending_secret: pending,
                };
                Ok(Some((session, operator)))
            }

            async fn touch_operator_session(
                &self,
                token_hash: &[u8],
                now: Timestamp,
            ) -> StoreResult<()> {
                let mut tx = self.write().await?;
                sqlx::query($sql(
                    "UPDATE operator_sessions SET last_seen_at = ? WHERE token_hash = ?",
                ))
                .bind(secs(now))
                .bind(token_hash)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                tx.commit().await.map_err(map_err)
            }

            async fn set_pending_secret(
                &self,
                token_hash: &[u8],
                sealed_secret: &[u8],
            ) -> StoreResult<()> {
                let mut tx = self.write().await?;
                let result = sqlx::query($sql(
                    "UPDATE operator_sessions SET pending_secret = ? WHERE token_hash = ?",
                ))
                .bind(sealed_secret)
                .bind(token_hash)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                if result.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                tx.commit().await.map_err(map_err)
            }

            async fn delete_operator_session(&self, token_hash: &[u8]) -> StoreResult<()> {
                let mut tx = self.write().await?;
                sqlx::query($sql("DELETE FROM operator_sessions WHERE token_hash = ?"))
                    .bind(token_hash)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                tx.commit().await.map_err(map_err)
            }

            async fn enable_operator_authenticator(
                &self,
                operator: OperatorId,
                sealed_secret: &[u8],
                step: u64,
                _now: Timestamp,
            ) -> StoreResult<()> {
                let step = step_to_db(step)?;
                let mut tx = self.write().await?;
                // One statement, so that of two set-ups racing, the second finds the first's
                // secret (PostgreSQL re-reads the row it waited for) and changes nothing.
                let enabled = sqlx::query($sql(
                    "UPDATE operators SET sealed_secret = ?, last_step = ?
                     WHERE id = ? AND sealed_secret IS NULL",
                ))
                .bind(sealed_secret)
                .bind(step)
                .bind(operator.get())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                if enabled.rows_affected() == 0 {
                    let exists: Option<i64> =
                        sqlx::query_scalar($sql("SELECT id FROM operators WHERE id = ?"))
                            .bind(operator.get())
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(map_err)?;
                    return Err(match exists {
                        None => StoreError::NotFound,
                        Some(_) => StoreError::Conflict(ConflictKind::AuthenticatorEnabled),
                    });
                }
                tx.commit().await.map_err(map_err)
            }

            async fn use_operator_step(&self, operator: OperatorId, step: u64) -> StoreResult<bool> {
                let step = step_to_db(step)?;
                let mut tx = self.write().await?;
                let result = sqlx::query($sql(
                    "UPDATE operators SET last_step = ?1
                     WHERE id = ?2 AND (last_step IS NULL OR last_step < ?1)",
                ))
                .bind(step)
                .bind(operator.get())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                tx.commit().await.map_err(map_err)?;
                Ok(result.rows_affected() == 1)
            }

            async fn reserve_host_limit(
                &self,
                kind: &'static str,
                subject: &[u8; 32],
                rule: LimitRule,
                now: Timestamp,
            ) -> StoreResult<Reservation> {
                // `LimitStore::reserve`'s upsert, on counters of no practice.
                let mut tx = self.write().await?;
                let counted: Option<i64> = sqlx::query_scalar($sql(
                    "INSERT INTO host_counters (kind, subject, window_end, count)
                     VALUES (?1, ?2, ?3, 1)
                     ON CONFLICT (kind, subject) DO UPDATE SET
                         count = CASE WHEN host_counters.window_end <= ?4 THEN 1
                                      ELSE host_counters.count + 1 END,
                         window_end = CASE WHEN host_counters.window_end <= ?4 THEN ?3
                                           ELSE host_counters.window_end END
                     WHERE host_counters.window_end <= ?4 OR host_counters.count < ?5
                     RETURNING count",
                ))
                .bind(kind)
                .bind(&subject[..])
                .bind(secs(now + rule.window))
                .bind(secs(now))
                .bind(i64::from(rule.max))
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
                let reservation = if counted.is_some() {
                    Reservation::Counted
                } else {
                    let end: i64 = sqlx::query_scalar($sql(
                        "SELECT window_end FROM host_counters WHERE kind = ? AND subject = ?",
                    ))
                    .bind(kind)
                    .bind(&subject[..])
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_err)?;
                    Reservation::Refused {
                        until: timestamp(end)?,
                    }
                };
                tx.commit().await.map_err(map_err)?;
                Ok(reservation)
            }

            async fn clear_host_limit(&self, kind: &'static str, subject: &[u8; 32]) -> StoreResult<()> {
                let mut tx = self.write().await?;
                sqlx::query($sql("DELETE FROM host_counters WHERE kind = ? AND subject = ?"))
                    .bind(kind)
                    .bind(&subject[..])
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                tx.commit().await.map_err(map_err)
            }

            async fn staff_accounts(
                &self,
                practice: PracticeId,
                now: Timestamp,
            ) -> StoreResult<Vec<StaffAccount>> {
                // The owner as `StaffStore` reads it: the flag the first account was given.
                let rows: Vec<(i64, String, String, i64, Option<i64>)> = sqlx::query_as($sql(
                    "SELECT u.id, u.email, u.name, u.is_owner, l.expires_at
                     FROM users u
                     LEFT JOIN password_links l ON l.user_id = u.id AND l.expires_at > ?
                     WHERE u.practice_id = ?
                     ORDER BY u.id",
                ))
                .bind(secs(now))
                .bind(practice.get())
                .fetch_all(self.read())
                .await
                .map_err(map_err)?;
                rows.into_iter()
                    .map(|(id, address, name, owner, until)| {
                        Ok(StaffAccount {
                            id: UserId::new(id),
                            email: email(&address)?,
                            name,
                            owner: owner != 0,
                            link_until: until.map(timestamp).transpose()?,
                        })
                    })
                    .collect()
            }

            async fn create_password_link(
                &self,
                practice: PracticeId,
                user: UserId,
                token_hash: &[u8],
                expires_at: Timestamp,
                message: &NewMessage,
                now: Timestamp,
            ) -> StoreResult<MessageId> {
                let mut tx = self.write().await?;
                let theirs: Option<i64> = sqlx::query_scalar($sql(
                    "SELECT id FROM users WHERE id = ? AND practice_id = ?",
                ))
                .bind(user.get())
                .bind(practice.get())
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
                if theirs.is_none() {
                    return Err(StoreError::NotFound);
                }
                // One link per account: a new one takes the old one's place.
                sqlx::query($sql(
                    "INSERT INTO password_links (user_id, practice_id, token_hash, expires_at, created_at)
                     VALUES (?, ?, ?, ?, ?)
                     ON CONFLICT (user_id) DO UPDATE SET
                         practice_id = excluded.practice_id, token_hash = excluded.token_hash,
                         expires_at = excluded.expires_at, created_at = excluded.created_at",
                ))
                .bind(user.get())
                .bind(practice.get())
                .bind(token_hash)
                .bind(secs(expires_at))
                .bind(secs(now))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                let id = crate::enquiries::insert_message(&mut tx, practice, message, now).await?;
                tx.commit().await.map_err(map_err)?;
                Ok(id)
            }

            async fn password_link(
                &self,
                practice: PracticeId,
                token_hash: &[u8],
                now: Timestamp,
            ) -> StoreResult<Option<(UserId, EmailAddress)>> {
                let row: Option<(i64, String)> = sqlx::query_as($sql(
                    "SELECT u.id, u.email FROM password_links l JOIN users u ON u.id = l.user_id
                     WHERE l.token_hash = ? AND l.practice_id = ? AND l.expires_at > ?",
                ))
                .bind(token_hash)
                .bind(practice.get())
                .bind(secs(now))
                .fetch_optional(self.read())
                .await
                .map_err(map_err)?;
                row.map(|(id, address)| Ok((UserId::new(id), email(&address)?)))
                    .transpose()
            }

            async fn use_password_link(
                &self,
                practice: PracticeId,
                token_hash: &[u8],
                password_hash: &str,
                now: Timestamp,
            ) -> StoreResult<Option<UserId>> {
                let mut tx = self.write().await?;
                // The delete is the use: of two racing, one deletes the row and the other
                // (PostgreSQL: after waiting for it) finds none.
                let used: Option<i64> = sqlx::query_scalar($sql(
                    "DELETE FROM password_links
                     WHERE token_hash = ? AND practice_id = ? AND expires_at > ?
                     RETURNING user_id",
                ))
                .bind(token_hash)
                .bind(practice.get())
                .bind(secs(now))
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
                let Some(user) = used else {
                    return Ok(None);
                };
                let changed = sqlx::query($sql(
                    "UPDATE users SET password_hash = ? WHERE id = ? AND practice_id = ?",
                ))
                .bind(password_hash)
                .bind(user)
                .bind(practice.get())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                if changed.rows_affected() != 1 {
                    return Err(StoreError::NotFound);
                }
                sqlx::query($sql("DELETE FROM staff_sessions WHERE user_id = ?"))
                    .bind(user)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                tx.commit().await.map_err(map_err)?;
                Ok(Some(UserId::new(user)))
            }
        }
    };
}
