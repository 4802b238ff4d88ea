/// Moving a practice (`MoveStore`, implemented for the store): reading every row of it by
/// the engine's catalogue, and writing a dump as a new practice in one transaction. The work
/// that does not touch the database (numbering, chaining, sealing again) is
/// `store::moving`'s.
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
