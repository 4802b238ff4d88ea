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
