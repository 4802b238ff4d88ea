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

/// Moving a practice (`MoveStore`, implemented for the store): reading every row of it by
/// the engine's catalogue, and writing a dump as a new practice in one transaction. The work that does not touch the
/// database (numbering, chaining, sealing again) is `store::moving`'s.
///
/// `columns` lists `(table, column, type)` of every table in column order; `foreign_keys`
/// lists `(table, column, target table)`; `integer` is what follows an integer column in a
/// select so the driver reads it as a 64-bit integer; `placeholder` gives the placeholder
/// for a value of a column's type; `reserve` is a statement, with `{table}` and one `?` (how
/// many), that returns that many new ids for the table, in increasing order; `snapshot`
/// (unless empty) makes a read transaction see one moment throughout; `defer` defers the
/// foreign keys to the commit; `hold_host_key` is the backend's check of the host key's name
/// inside a transaction.
#[allow(clippy::crate_in_macro_def)]
#[macro_export]
macro_rules! moving {
    (
        $store:ident,
        $db:ty,
        sql = $sql:path,
        dynamic = $dynamic:path,
        columns = $columns:literal,
        foreign_keys = $foreign_keys:literal,
        integer = $integer:literal,
        placeholder = $placeholder:path,
        reserve = $reserve:literal,
        snapshot = $snapshot:literal,
        defer = $defer:literal,
        hold_host_key = $hold:path
    ) => {
        use std::collections::{BTreeMap, HashMap};

        use domain::hosting::PracticeName;
        use jiff::Timestamp;
        use sqlx::Row;
        use store::{
            PracticeId, StoreError, StoreResult,
            moving::{Cell, Dump, LEFT_BEHIND, Rebind, Reference, TableDump, Target, unfit},
        };

        use crate::{convert::secs, map_err};

        /// How a column's values are kept.
        #[derive(Clone, Copy, PartialEq)]
        enum Kind {
            Integer,
            Real,
            Text,
            Bytes,
        }

        fn kind_of(table: &str, column: &str, declared: &str) -> StoreResult<Kind> {
            let declared = declared.to_ascii_lowercase();
            Ok(if declared.contains("int") {
                Kind::Integer
            } else if declared.contains("text") || declared.contains("char") {
                Kind::Text
            } else if declared.contains("blob") || declared.contains("bytea") {
                Kind::Bytes
            } else if declared.contains("real")
                || declared.contains("doub")
                || declared.contains("floa")
            {
                Kind::Real
            } else {
                return Err(unfit(format!(
                    "{table}.{column} is of a type a move does not know ({declared})"
                )));
            })
        }

        /// Every table's columns and their kinds and declared types, in column order.
        async fn catalogue<'e, E>(
            executor: E,
        ) -> StoreResult<BTreeMap<String, Vec<(String, Kind, String)>>>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            let rows: Vec<(String, String, String)> = sqlx::query_as($columns)
                .fetch_all(executor)
                .await
                .map_err(map_err)?;
            let mut tables: BTreeMap<String, Vec<(String, Kind, String)>> = BTreeMap::new();
            for (table, column, declared) in rows {
                if LEFT_BEHIND.contains(&table.as_str()) {
                    continue;
                }
                let kind = kind_of(&table, &column, &declared)?;
                tables
                    .entry(table)
                    .or_default()
                    .push((column, kind, declared));
            }
            Ok(tables)
        }

        fn quoted(name: &str) -> StoreResult<String> {
            if name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                Ok(format!("\"{name}\""))
            } else {
                Err(unfit(format!(
                    "an unexpected name in the catalogue: {name:?}"
                )))
            }
        }

        fn cell_of(row: &<$db as sqlx::Database>::Row, at: usize, kind: Kind) -> StoreResult<Cell> {
            let cell = match kind {
                Kind::Integer => row
                    .try_get::<Option<i64>, _>(at)
                    .map(|v| v.map(Cell::Integer)),
                Kind::Real => row.try_get::<Option<f64>, _>(at).map(|v| v.map(Cell::Real)),
                Kind::Text => row
                    .try_get::<Option<String>, _>(at)
                    .map(|v| v.map(Cell::Text)),
                Kind::Bytes => row
                    .try_get::<Option<Vec<u8>>, _>(at)
                    .map(|v| v.map(Cell::Bytes)),
            };
            Ok(cell.map_err(map_err)?.unwrap_or(Cell::Null))
        }

        /// Parents before children, by the declared foreign keys (a table's references to
        /// itself and cycles aside: the load defers the foreign keys to its commit).
        fn ordered(names: Vec<String>, references: &[(String, String, String)]) -> Vec<String> {
            let mut done: Vec<String> = Vec::new();
            let mut left = names;
            while !left.is_empty() {
                let ready: Vec<String> = left
                    .iter()
                    .filter(|t| {
                        references.iter().all(|(table, _, target)| {
                            table != *t
                                || target == *t
                                || done.contains(target)
                                || !left.contains(target)
                        })
                    })
                    .cloned()
                    .collect();
                // A cycle: take the first left, in name order.
                let next = if ready.is_empty() {
                    vec![left[0].clone()]
                } else {
                    ready
                };
                left.retain(|t| !next.contains(t));
                done.extend(next);
            }
            done
        }

        impl $store {
            pub(crate) async fn dump_rows(&self, practice: PracticeId) -> StoreResult<Dump> {
                // One snapshot of the whole practice.
                let mut tx = self.read().begin().await.map_err(map_err)?;
                if !$snapshot.is_empty() {
                    sqlx::query($snapshot)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                }
                let tables = catalogue(&mut *tx).await?;
                let declared: Vec<(String, String, String)> = sqlx::query_as($foreign_keys)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(map_err)?;
                let has = |table: &str, column: &str| {
                    tables
                        .get(table)
                        .is_some_and(|cols| cols.iter().any(|(c, ..)| c == column))
                };
                let names: Vec<String> = tables
                    .keys()
                    .filter(|t| !LEFT_BEHIND.contains(&t.as_str()))
                    .filter(|t| {
                        t.as_str() == "practices"
                            || has(t, "practice_id")
                            || declared
                                .iter()
                                .any(|(table, _, target)| table == *t && has(target, "practice_id"))
                    })
                    .cloned()
                    .collect();
                let mut order = ordered(names, &declared);
                order.retain(|t| t != "practices");
                order.insert(0, "practices".to_owned());
                let mut dumped = Vec::new();
                for name in order {
                    let columns = &tables[&name];
                    let list = columns
                        .iter()
                        .map(|(column, kind, _)| {
                            let column = quoted(column)?;
                            Ok(match kind {
                                Kind::Integer => format!("{column}{}", $integer),
                                _ => column,
                            })
                        })
                        .collect::<StoreResult<Vec<_>>>()?
                        .join(", ");
                    let filter = if name == "practices" {
                        "id = ?".to_owned()
                    } else if has(&name, "practice_id") {
                        "practice_id = ?".to_owned()
                    } else {
                        let (_, column, parent) = declared
                            .iter()
                            .find(|(table, _, target)| *table == name && has(target, "practice_id"))
                            .ok_or_else(|| unfit(format!("{name} belongs to no practice")))?;
                        format!(
                            "{} IN (SELECT id FROM {} WHERE practice_id = ?)",
                            quoted(column)?,
                            quoted(parent)?
                        )
                    };
                    let order_by = if has(&name, "id") { " ORDER BY id" } else { "" };
                    let rows = sqlx::query($dynamic(format!(
                        "SELECT {list} FROM {} WHERE {filter}{order_by}",
                        quoted(&name)?
                    )))
                    .bind(practice.get())
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(map_err)?;
                    if name == "practices" && rows.is_empty() {
                        return Err(StoreError::NotFound);
                    }
                    let rows = rows
                        .iter()
                        .map(|row| {
                            columns
                                .iter()
                                .enumerate()
                                .map(|(at, (_, kind, _))| cell_of(row, at, *kind))
                                .collect::<StoreResult<Vec<Cell>>>()
                        })
                        .collect::<StoreResult<Vec<_>>>()?;
                    dumped.push(TableDump {
                        columns: columns.iter().map(|(c, ..)| c.clone()).collect(),
                        name,
                        rows,
                    });
                }
                tx.commit().await.map_err(map_err)?;
                let mut references: Vec<Reference> = declared
                    .into_iter()
                    .filter(|(table, _, target)| {
                        dumped.iter().any(|t| &t.name == table) && target != "practices"
                    })
                    .map(|(table, column, target)| Reference {
                        table,
                        column,
                        target: Target::Table(target),
                    })
                    .collect();
                references.extend(store::moving::undeclared());
                references.sort();
                references.dedup();
                Ok(Dump {
                    practice: practice.get(),
                    tables: dumped,
                    references,
                })
            }

            pub(crate) async fn load_rows(
                &self,
                dump: &Dump,
                rebind: &dyn Rebind,
                name: Option<&PracticeName>,
                host_key_id: &[u8],
                now: Timestamp,
            ) -> StoreResult<PracticeId> {
                let mut tx = self.write().await?;
                $hold(&mut tx, host_key_id, now).await?;
                let tables = catalogue(&mut *tx).await?;
                for table in &dump.tables {
                    let columns = tables.get(&table.name).ok_or_else(|| {
                        unfit(format!(
                            "the export has a table {} that this database does not; bring \
                             Anteroom here up to date first",
                            table.name
                        ))
                    })?;
                    for column in &table.columns {
                        if !columns.iter().any(|(c, ..)| c == column) {
                            return Err(unfit(format!(
                                "the export has a column {}.{column} that this database does \
                                 not; bring Anteroom here up to date first",
                                table.name
                            )));
                        }
                    }
                }
                if let Some(practices) = dump.table("practices")
                    && let Some(at) = practices.column("closing_at")
                    && practices.rows.iter().any(|row| row[at] != Cell::Null)
                {
                    return Err(unfit("the export is of a practice that was being closed"));
                }
                // New ids for every row (and every row referred to), reserved up front, so
                // that references between tables are known before anything is written.
                let mut new_ids: HashMap<String, Vec<i64>> = HashMap::new();
                for (table, count) in dump.id_counts() {
                    if table == "practices"
                        || !tables
                            .get(&table)
                            .is_some_and(|cols| cols.iter().any(|(c, ..)| c == "id"))
                    {
                        continue;
                    }
                    let count = i64::try_from(count).unwrap_or(i64::MAX);
                    let ids: Vec<i64> =
                        sqlx::query_scalar($dynamic($reserve.replace("{table}", &quoted(&table)?)))
                            .bind(count)
                            .fetch_all(&mut *tx)
                            .await
                            .map_err(map_err)?;
                    new_ids.insert(table, ids);
                }
                let practice: i64 =
                    sqlx::query_scalar($dynamic($reserve.replace("{table}", "\"practices\"")))
                        .bind(1_i64)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(map_err)?;
                let (_, numbers) = dump.renumber();
                let moved = dump.map_ids(practice, |table, old| {
                    numbers
                        .get(&(table.to_owned(), old))
                        .and_then(|n| new_ids.get(table)?.get(usize::try_from(*n - 1).ok()?))
                        .copied()
                        .unwrap_or(old)
                });
                let mut moved = dump.rebound(&moved, rebind).map_err(unfit)?;
                moved.rechain()?;

                sqlx::query($defer)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                for table in &moved.tables {
                    let columns = &tables[&table.name];
                    let kinds: Vec<(Kind, &str)> = table
                        .columns
                        .iter()
                        .map(|c| {
                            let (_, kind, declared) = columns
                                .iter()
                                .find(|(name, ..)| name == c)
                                .expect("checked above");
                            (*kind, declared.as_str())
                        })
                        .collect();
                    let list = table
                        .columns
                        .iter()
                        .map(|c| quoted(c))
                        .collect::<StoreResult<Vec<_>>>()?
                        .join(", ");
                    let values = kinds
                        .iter()
                        .map(|(_, declared)| $placeholder(declared))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let statement = format!(
                        "INSERT INTO {} ({list}) VALUES ({values})",
                        quoted(&table.name)?
                    );
                    for row in &table.rows {
                        let mut query = sqlx::query($dynamic(statement.clone()));
                        for (cell, (kind, _)) in row.iter().zip(&kinds) {
                            query = match (cell, kind) {
                                (Cell::Integer(n), _) => query.bind(*n),
                                (Cell::Real(x), _) => query.bind(*x),
                                (Cell::Text(text), _) => query.bind(text.clone()),
                                (Cell::Bytes(bytes), _) => query.bind(bytes.clone()),
                                (Cell::Null, Kind::Integer) => query.bind(None::<i64>),
                                (Cell::Null, Kind::Real) => query.bind(None::<f64>),
                                (Cell::Null, Kind::Text) => query.bind(None::<String>),
                                (Cell::Null, Kind::Bytes) => query.bind(None::<Vec<u8>>),
                            };
                        }
                        query.execute(&mut *tx).await.map_err(map_err)?;
                    }
                    if table.name == "practices" {
                        // What inserting a practice makes by itself (its default policy)
                        // gives way to the practice's own rows.
                        for (other, columns) in &tables {
                            if other != "practices"
                                && columns.iter().any(|(c, ..)| c == "practice_id")
                            {
                                sqlx::query($dynamic(format!(
                                    "DELETE FROM {} WHERE practice_id = ?",
                                    quoted(other)?
                                )))
                                .bind(practice)
                                .execute(&mut *tx)
                                .await
                                .map_err(map_err)?;
                            }
                        }
                    }
                }
                let practice = PracticeId::new(practice);
                let wrapped = rebind.practice_key(practice).map_err(unfit)?;
                sqlx::query($sql(
                    "INSERT INTO practice_keys (practice_id, wrapped, created_at) VALUES (?, ?, ?)",
                ))
                .bind(practice.get())
                .bind(wrapped)
                .bind(secs(now))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                if let Some(name) = name {
                    sqlx::query($sql(
                        "INSERT INTO practice_hosts (host, practice_id, kind, created_at)
                         VALUES (?, ?, 'name', ?)",
                    ))
                    .bind(name.as_str())
                    .bind(practice.get())
                    .bind(secs(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                }
                tx.commit().await.map_err(map_err)?;
                Ok(practice)
            }
        }

        #[async_trait::async_trait]
        impl store::moving::MoveStore for $store {
            async fn dump_practice(&self, practice: PracticeId) -> StoreResult<Dump> {
                self.dump_rows(practice).await
            }

            async fn load_practice(
                &self,
                dump: &Dump,
                rebind: &dyn Rebind,
                name: Option<&PracticeName>,
                host_key_id: &[u8],
                now: Timestamp,
            ) -> StoreResult<PracticeId> {
                self.load_rows(dump, rebind, name, host_key_id, now).await
            }
        }
    };
}

/// The claims on practices' timed jobs (`LimitStore::claim_jobs`), as a `pub(crate)` method
/// `claim_job_runs` of the store: one multi-row upsert per 500 practices, in one
/// transaction, that succeeds for each practice in one process per period. `dynamic` turns a
/// statement made at run time into what the driver takes.
#[allow(clippy::crate_in_macro_def)]
#[macro_export]
macro_rules! job_claims {
    ($store:ident, dynamic = $dynamic:path) => {
        impl $store {
            pub(crate) async fn claim_job_runs(
                &self,
                practices: &[store::PracticeId],
                now: jiff::Timestamp,
                every: jiff::SignedDuration,
            ) -> store::StoreResult<Vec<store::PracticeId>> {
                use crate::{convert::secs, map_err};
                let next = now.checked_add(every).unwrap_or(now);
                let mut sorted = practices.to_vec();
                // In one order everywhere, so two processes claiming at once never wait on
                // each other in a circle.
                sorted.sort_unstable();
                sorted.dedup();
                let mut claimed = Vec::new();
                let mut tx = self.write().await?;
                for chunk in sorted.chunks(500) {
                    let rows = vec!["(?, ?)"; chunk.len()].join(", ");
                    let mut query = sqlx::query_scalar::<_, i64>($dynamic(format!(
                        "INSERT INTO job_runs (practice_id, next_at) VALUES {rows}
                         ON CONFLICT (practice_id) DO UPDATE SET next_at = excluded.next_at
                         WHERE job_runs.next_at <= ?
                         RETURNING practice_id"
                    )));
                    for practice in chunk {
                        query = query.bind(practice.get()).bind(secs(next));
                    }
                    let ids = query
                        .bind(secs(now))
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(map_err)?;
                    claimed.extend(ids.into_iter().map(store::PracticeId::new));
                }
                tx.commit().await.map_err(map_err)?;
                claimed.sort_unstable();
                Ok(claimed)
            }
        }
    };
}
