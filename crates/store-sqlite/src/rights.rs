//! Data rights: subject access requests, retention decisions, a client's rows found from the
//! schema itself, and erasure in one transaction.

use std::collections::BTreeMap;

use async_trait::async_trait;
use domain::rights::Reason;
use jiff::{Timestamp, civil::Date};
use sqlx::{Row, SqliteConnection, TypeInfo, ValueRef, sqlite::SqliteRow};
use store::{
    ClientId, ConflictKind, NewAuditEntry, PracticeId, RecordedDecision, RetentionDecision,
    RetentionFacts, RightsStore, StoreError, StoreResult, SubjectAccessId, SubjectAccessRequest,
    rights::{Cell, KEPT_AFTER_ERASURE, TableRows, is_secret_column},
};

use crate::{SqliteStore, affected, convert::*, map_err, practice::get};

/// What the erased consultation keeps in place of the person's details (it still held the
/// therapist's time, so its slot stays in the history). The address is unroutable (RFC 2606).
const ERASED_NAME: &str = "Erased";
const ERASED_EMAIL: &str = "erased@erased.invalid";

// ---- The schema, read from the database itself -------------------------------------------

struct TableInfo {
    name: String,
    columns: Vec<String>,
    /// `(column, parent table, parent column)`.
    foreign_keys: Vec<(String, String, String)>,
}

/// A selection's condition for a statement bound with all four parameters: SQLite refuses a
/// parameter the statement does not mention, so the last one is always mentioned.
fn bound(condition: &str) -> String {
    format!("({condition}) AND (?4 IS ?4)")
}

fn quoted(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// Tables that hold nothing about anyone, only what the store derives from other rows, and
/// follow those rows by themselves: `occupancy` (when a booking or session is busy) goes
/// with its owner, and an erased client's consultation keeps its time.
const DERIVED: &[&str] = &["occupancy"];

async fn schema(conn: &mut SqliteConnection) -> StoreResult<Vec<TableInfo>> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?;
    let mut tables = Vec::with_capacity(names.len());
    for name in names.into_iter().filter(|n| !DERIVED.contains(&n.as_str())) {
        let columns: Vec<String> =
            sqlx::query_scalar("SELECT name FROM pragma_table_info(?) ORDER BY cid")
                .bind(&name)
                .fetch_all(&mut *conn)
                .await
                .map_err(map_err)?;
        let foreign_keys: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT \"from\", \"table\", \"to\" FROM pragma_foreign_key_list(?) ORDER BY id, seq",
        )
        .bind(&name)
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?;
        tables.push(TableInfo {
            name,
            columns,
            foreign_keys: foreign_keys
                .into_iter()
                .map(|(from, table, to)| (from, table, to.unwrap_or_else(|| "rowid".to_owned())))
                .collect(),
        });
    }
    Ok(tables)
}

/// How the rows of one table that concern the client are found: a condition over the
/// statement's parameters `?1` (client id), `?2` (practice id), `?3` (the client's email
/// address) and `?4` (their full name, when it has two words or more).
struct Selection {
    condition: String,
    found_by: &'static str,
    /// 0: the client's row; 1: rows with their id or that their row points at; 2 and more:
    /// rows pointing at those. Erasure deletes the deepest first.
    depth: u32,
}

/// Every table that can hold rows about a client, and how to find them (see the module
/// documentation of `store::rights`).
fn selections(tables: &[TableInfo]) -> BTreeMap<String, Selection> {
    let mut found = BTreeMap::new();
    found.insert(
        "clients".to_owned(),
        Selection {
            condition: "id = ?1 AND practice_id = ?2".to_owned(),
            found_by: "the client's own record",
            depth: 0,
        },
    );
    let clients = tables.iter().find(|t| t.name == "clients");
    for table in tables.iter().filter(|t| t.name != "clients") {
        let mut parts = Vec::new();
        if table.columns.iter().any(|c| c == "client_id") {
            parts.push("client_id = ?1".to_owned());
        }
        // Records the client's row points at (the consultation the work came from); never
        // the practice itself.
        for (from, _, to) in clients
            .into_iter()
            .flat_map(|c| &c.foreign_keys)
            .filter(|(_, parent, _)| *parent == table.name && parent != "practices")
        {
            parts.push(format!(
                "{} IN (SELECT {} FROM clients WHERE id = ?1)",
                quoted(to),
                quoted(from)
            ));
        }
        if !parts.is_empty() {
            found.insert(
                table.name.clone(),
                Selection {
                    condition: parts.join(" OR "),
                    found_by: "rows with the client's id",
                    depth: 1,
                },
            );
        }
    }
    // Rows that point at rows already found (a contract's versions, an invoice's lines).
    for depth in 2..8 {
        let mut added = Vec::new();
        for table in tables.iter().filter(|t| !found.contains_key(&t.name)) {
            let parts: Vec<String> = table
                .foreign_keys
                .iter()
                .filter(|(_, parent, _)| parent != "practices")
                .filter_map(|(from, parent, to)| {
                    let selection = found.get(parent)?;
                    Some(format!(
                        "{} IN (SELECT {} FROM {} WHERE {})",
                        quoted(from),
                        quoted(to),
                        quoted(parent),
                        selection.condition
                    ))
                })
                .collect();
            if !parts.is_empty() {
                added.push((table.name.clone(), parts.join(" OR ")));
            }
        }
        if added.is_empty() {
            break;
        }
        for (name, condition) in added {
            found.insert(
                name,
                Selection {
                    condition,
                    found_by: "rows belonging to the records above",
                    depth,
                },
            );
        }
    }
    // No column holds the client's id here. Emails are theirs when sent to their address,
    // or when they are the practice's own notices (to its notification address) naming
    // them as a whole word — never by a substring of someone else's address or name — or
    // when a change of email address they asked for names the email (the link to confirm
    // a new address, which goes to an address not yet on their record). Found through
    // those changes, the emails are erased before them (a greater depth).
    if tables.iter().any(|t| t.name == "outbox") {
        let confirmations = if tables
            .iter()
            .any(|t| t.name == "email_changes" && t.columns.iter().any(|c| c == "outbox_id"))
        {
            " OR id IN (SELECT outbox_id FROM email_changes
                WHERE client_id = ?1 AND practice_id = ?2 AND outbox_id IS NOT NULL)"
        } else {
            ""
        };
        found.insert(
            "outbox".to_owned(),
            Selection {
                condition: format!(
                    "practice_id = ?2 AND (recipient = ?3 COLLATE NOCASE
                    OR (?4 IS NOT NULL
                        AND recipient IN (SELECT notify_email FROM practices WHERE id = ?2)
                        AND instr(' ' || replace(replace(replace(replace(subject || ' ' || body_text,
                                char(10), ' '), ',', ' '), '.', ' '), ':', ' ') || ' ',
                            ' ' || ?4 || ' ') > 0){confirmations})"
                ),
                found_by: "emails to the client, the practice's notices naming them, and links \
                    sent to confirm a new address",
                depth: 2,
            },
        );
    }
    // A later booking made with the same address but never linked to the client is theirs
    // too (it holds their name, address, phone and note).
    if let Some(bookings) = found.get_mut("bookings") {
        bookings.condition = format!(
            "({}) OR (practice_id = ?2 AND email = ?3 COLLATE NOCASE)",
            bookings.condition
        );
    }
    if tables.iter().any(|t| t.name == "enquiries") {
        found.insert(
            "enquiries".to_owned(),
            Selection {
                condition: "practice_id = ?2 AND email = ?3 COLLATE NOCASE".to_owned(),
                found_by: "messages sent from the client's email address",
                depth: 1,
            },
        );
    }
    found
}

/// The client's email address and, if it has two words or more, their name (a single short
/// word would match unrelated text).
async fn identity(
    conn: &mut SqliteConnection,
    practice: PracticeId,
    client: ClientId,
) -> StoreResult<(String, Option<String>)> {
    let (email, name): (String, String) =
        sqlx::query_as("SELECT email, name FROM clients WHERE id = ? AND practice_id = ?")
            .bind(client.get())
            .bind(practice.get())
            .fetch_optional(&mut *conn)
            .await
            .map_err(map_err)?
            .ok_or(StoreError::NotFound)?;
    let name = (name.split_whitespace().count() >= 2).then_some(name);
    Ok((email, name))
}

fn cell(row: &SqliteRow, index: usize) -> StoreResult<Cell> {
    let raw = row.try_get_raw(index).map_err(map_err)?;
    if raw.is_null() {
        return Ok(Cell::Null);
    }
    let kind = raw.type_info().name().to_owned();
    Ok(match kind.as_str() {
        "INTEGER" | "BOOLEAN" => Cell::Integer(row.try_get(index).map_err(map_err)?),
        "REAL" => Cell::Real(row.try_get(index).map_err(map_err)?),
        "BLOB" => Cell::Blob(row.try_get(index).map_err(map_err)?),
        _ => Cell::Text(row.try_get(index).map_err(map_err)?),
    })
}

async fn rows_of(
    conn: &mut SqliteConnection,
    practice: PracticeId,
    client: ClientId,
) -> StoreResult<Vec<TableRows>> {
    let (email, name) = identity(conn, practice, client).await?;
    let tables = schema(conn).await?;
    let mut out = Vec::new();
    for (table, selection) in selections(&tables) {
        let Some(info) = tables.iter().find(|t| t.name == table) else {
            continue;
        };
        let (withheld, columns): (Vec<String>, Vec<String>) = info
            .columns
            .iter()
            .cloned()
            .partition(|c| is_secret_column(c));
        let list: Vec<String> = columns.iter().map(|c| quoted(c)).collect();
        let order = if info.columns.iter().any(|c| c == "id") {
            " ORDER BY \"id\""
        } else {
            ""
        };
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM {} WHERE {}{order}",
            list.join(", "),
            quoted(&table),
            bound(&selection.condition)
        ));
        let found = sqlx::query(sql)
            .bind(client.get())
            .bind(practice.get())
            .bind(&email)
            .bind(name.as_deref())
            .fetch_all(&mut *conn)
            .await
            .map_err(map_err)?;
        let rows = found
            .iter()
            .map(|row| (0..columns.len()).map(|i| cell(row, i)).collect())
            .collect::<StoreResult<Vec<Vec<Cell>>>>()?;
        out.push(TableRows {
            table,
            found_by: selection.found_by.to_owned(),
            columns,
            withheld,
            rows,
        });
    }
    Ok(out)
}

// ---- Rows of this module's tables ----------------------------------------------------------

fn request_from_row(row: &SqliteRow) -> StoreResult<SubjectAccessRequest> {
    let extended: Option<String> = get(row, "extended_due_on")?;
    let reason: Option<String> = get(row, "extension_reason")?;
    Ok(SubjectAccessRequest {
        id: SubjectAccessId::new(get(row, "id")?),
        client: ClientId::new(get(row, "client_id")?),
        received: date(&get::<String>(row, "received_on")?)?,
        due: date(&get::<String>(row, "due_on")?)?,
        extended: match (extended, reason) {
            (Some(day), Some(reason)) => Some((date(&day)?, reason)),
            _ => None,
        },
        completed: get::<Option<String>>(row, "completed_on")?
            .map(|d| date(&d))
            .transpose()?,
        created_at: timestamp(get(row, "created_at")?)?,
    })
}

fn decision_from_row(row: &SqliteRow) -> StoreResult<RecordedDecision> {
    let reason = Reason::parse(&get::<String>(row, "reason")?).map_err(|_| corrupt("reason"))?;
    let kind: String = get(row, "kind")?;
    let decision = match (kind.as_str(), get::<Option<String>>(row, "review_on")?) {
        ("keep", Some(day)) => RetentionDecision::Keep {
            reason,
            review_on: date(&day)?,
        },
        ("erasure_refused", None) => RetentionDecision::ErasureRefused { reason },
        _ => return Err(corrupt("retention decision")),
    };
    Ok(RecordedDecision {
        id: get(row, "id")?,
        client: ClientId::new(get(row, "client_id")?),
        decision,
        decided_at: timestamp(get(row, "decided_at")?)?,
    })
}

const REQUESTS: &str = "SELECT id, client_id, received_on, due_on, extended_due_on, \
    extension_reason, completed_on, created_at FROM subject_access_requests";

#[async_trait]
impl RightsStore for SqliteStore {
    async fn add_subject_access(
        &self,
        practice: PracticeId,
        client: ClientId,
        received: Date,
        due: Date,
        now: Timestamp,
    ) -> StoreResult<SubjectAccessId> {
        let mut tx = self.write().await?;
        identity(&mut tx, practice, client).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO subject_access_requests (practice_id, client_id, received_on, due_on, created_at)
             VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(practice.get())
        .bind(client.get())
        .bind(received.to_string())
        .bind(due.to_string())
        .bind(secs(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(SubjectAccessId::new(id))
    }

    async fn extend_subject_access(
        &self,
        practice: PracticeId,
        id: SubjectAccessId,
        extended_due: Date,
        reason: &Reason,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let extended: Option<Option<String>> = sqlx::query_scalar(
            "SELECT extended_due_on FROM subject_access_requests WHERE practice_id = ? AND id = ?",
        )
        .bind(practice.get())
        .bind(id.get())
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        match extended {
            None => return Err(StoreError::NotFound),
            Some(Some(_)) => return Err(StoreError::Conflict(ConflictKind::AlreadyExtended)),
            Some(None) => {}
        }
        sqlx::query(
            "UPDATE subject_access_requests SET extended_due_on = ?, extension_reason = ?
             WHERE practice_id = ? AND id = ?",
        )
        .bind(extended_due.to_string())
        .bind(reason.as_str())
        .bind(practice.get())
        .bind(id.get())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    async fn complete_subject_access(
        &self,
        practice: PracticeId,
        id: SubjectAccessId,
        on: Date,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let exists: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM subject_access_requests WHERE practice_id = ? AND id = ?",
        )
        .bind(practice.get())
        .bind(id.get())
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        exists.ok_or(StoreError::NotFound)?;
        sqlx::query(
            "UPDATE subject_access_requests SET completed_on = ?
             WHERE practice_id = ? AND id = ? AND completed_on IS NULL",
        )
        .bind(on.to_string())
        .bind(practice.get())
        .bind(id.get())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    async fn subject_access(
        &self,
        practice: PracticeId,
        id: SubjectAccessId,
    ) -> StoreResult<SubjectAccessRequest> {
        let sql = sqlx::AssertSqlSafe(format!("{REQUESTS} WHERE practice_id = ? AND id = ?"));
        let row = sqlx::query(sql)
            .bind(practice.get())
            .bind(id.get())
            .fetch_one(self.read())
            .await
            .map_err(map_err)?;
        request_from_row(&row)
    }

    async fn subject_access_requests(
        &self,
        practice: PracticeId,
        client: ClientId,
    ) -> StoreResult<Vec<SubjectAccessRequest>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{REQUESTS} WHERE practice_id = ? AND client_id = ? ORDER BY received_on DESC, id DESC"
        ));
        let rows = sqlx::query(sql)
            .bind(practice.get())
            .bind(client.get())
            .fetch_all(self.read())
            .await
            .map_err(map_err)?;
        rows.iter().map(request_from_row).collect()
    }

    async fn add_retention_decision(
        &self,
        practice: PracticeId,
        client: ClientId,
        decision: &RetentionDecision,
        now: Timestamp,
    ) -> StoreResult<()> {
        let (kind, reason, review_on) = match decision {
            RetentionDecision::Keep { reason, review_on } => {
                ("keep", reason, Some(review_on.to_string()))
            }
            RetentionDecision::ErasureRefused { reason } => ("erasure_refused", reason, None),
        };
        let mut tx = self.write().await?;
        identity(&mut tx, practice, client).await?;
        let result = sqlx::query(
            "INSERT INTO retention_decisions (practice_id, client_id, kind, reason, review_on, decided_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(practice.get())
        .bind(client.get())
        .bind(kind)
        .bind(reason.as_str())
        .bind(review_on)
        .bind(secs(now))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        affected(result)?;
        tx.commit().await.map_err(map_err)
    }

    async fn retention_decisions(
        &self,
        practice: PracticeId,
        client: ClientId,
    ) -> StoreResult<Vec<RecordedDecision>> {
        let rows = sqlx::query(
            "SELECT id, client_id, kind, reason, review_on, decided_at FROM retention_decisions
             WHERE practice_id = ? AND client_id = ? ORDER BY id DESC",
        )
        .bind(practice.get())
        .bind(client.get())
        .fetch_all(self.read())
        .await
        .map_err(map_err)?;
        rows.iter().map(decision_from_row).collect()
    }

    async fn retention_facts(&self, practice: PracticeId) -> StoreResult<Vec<RetentionFacts>> {
        let rows = sqlx::query(
            "SELECT c.id, c.name, c.created_at,
                (SELECT MAX(s.starts_at) FROM sessions s WHERE s.client_id = c.id) AS last_session,
                k.review_on, k.reason
             FROM clients c
             LEFT JOIN retention_decisions k ON k.id = (
                 SELECT d.id FROM retention_decisions d
                 WHERE d.client_id = c.id AND d.kind = 'keep' ORDER BY d.id DESC LIMIT 1)
             WHERE c.practice_id = ? ORDER BY c.name, c.id",
        )
        .bind(practice.get())
        .fetch_all(self.read())
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|row| {
                let review_on: Option<String> = get(row, "review_on")?;
                let reason: Option<String> = get(row, "reason")?;
                Ok(RetentionFacts {
                    client: ClientId::new(get(row, "id")?),
                    name: name(&get::<String>(row, "name")?)?,
                    created_at: timestamp(get(row, "created_at")?)?,
                    last_session: opt_timestamp(get(row, "last_session")?)?,
                    kept_until: match (review_on, reason) {
                        (Some(day), Some(reason)) => Some((date(&day)?, reason)),
                        _ => None,
                    },
                })
            })
            .collect()
    }

    async fn client_rows(
        &self,
        practice: PracticeId,
        client: ClientId,
    ) -> StoreResult<Vec<TableRows>> {
        // One read transaction, so the export is a consistent picture.
        let mut tx = self.read().begin().await.map_err(map_err)?;
        let rows = rows_of(&mut tx, practice, client).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(rows)
    }

    async fn erase_client(
        &self,
        practice: PracticeId,
        client: ClientId,
        audit: &NewAuditEntry,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let (email, name) = identity(&mut tx, practice, client).await?;
        let tables = schema(&mut tx).await?;
        let found = selections(&tables);
        // Rows are deleted deepest first, but a new table's foreign keys may point any way:
        // check them all at commit instead of after each statement.
        sqlx::query("PRAGMA defer_foreign_keys = ON")
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        // Crypto-shredding: without the data key no copy of a sealed note can be opened.
        sqlx::query("DELETE FROM client_keys WHERE client_id = ? AND practice_id = ?")
            .bind(client.get())
            .bind(practice.get())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        // The consultation keeps its time, not the person.
        if let Some(bookings) = found.get("bookings") {
            let sql = sqlx::AssertSqlSafe(format!(
                "UPDATE bookings SET name = '{ERASED_NAME}', email = '{ERASED_EMAIL}', phone = NULL,
                    note = NULL, client_id = NULL, idempotency_key = NULL,
                    status = CASE WHEN status IN ('requested', 'confirmed') AND starts_at > ?5
                        THEN 'cancelled' ELSE status END
                 WHERE practice_id = ?2 AND {}
                 RETURNING id",
                bound(&bookings.condition)
            ));
            let kept: Vec<i64> = sqlx::query_scalar(sql)
                .bind(client.get())
                .bind(practice.get())
                .bind(&email)
                .bind(name.as_deref())
                .bind(secs(now))
                .fetch_all(&mut *tx)
                .await
                .map_err(map_err)?;
            // A cancelled one gives its time back.
            crate::occupancy::sync_bookings(&mut tx, &kept).await?;
        }
        let mut doomed: Vec<(&String, &Selection)> = found
            .iter()
            .filter(|(table, _)| {
                !KEPT_AFTER_ERASURE.contains(&table.as_str())
                    && !matches!(table.as_str(), "bookings" | "client_keys")
            })
            .collect();
        doomed.sort_by_key(|(table, selection)| (std::cmp::Reverse(selection.depth), *table));
        for (table, selection) in doomed {
            let sql = sqlx::AssertSqlSafe(format!(
                "DELETE FROM {} WHERE {}",
                quoted(table),
                bound(&selection.condition)
            ));
            sqlx::query(sql)
                .bind(client.get())
                .bind(practice.get())
                .bind(&email)
                .bind(name.as_deref())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        sqlx::query(
            "INSERT INTO erased_clients (client_id, practice_id, erased_at) VALUES (?, ?, ?)",
        )
        .bind(client.get())
        .bind(practice.get())
        .bind(secs(now))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        // Nothing with the client's id may be left outside the kept tables.
        for table in tables.iter().filter(|t| {
            t.columns.iter().any(|c| c == "client_id")
                && !KEPT_AFTER_ERASURE.contains(&t.name.as_str())
        }) {
            let sql = sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM {} WHERE client_id = ?",
                quoted(&table.name)
            ));
            let left: i64 = sqlx::query_scalar(sql)
                .bind(client.get())
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?;
            if left > 0 {
                return Err(StoreError::Other(
                    format!("erasure left {left} rows in {}", table.name).into(),
                ));
            }
        }
        crate::audit::insert_entry(&mut tx, practice, audit, now).await?;
        tx.commit().await.map_err(map_err)?;
        // Deleted rows are overwritten in the file (secure_delete); old copies of the pages
        // in the write-ahead log go when it is checkpointed and truncated. A reader still
        // busy keeps the log for now; the next checkpoint clears it.
        let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.writer)
            .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quoted("notes"), "\"notes\"");
        assert_eq!(quoted("we\"ird"), "\"we\"\"ird\"");
    }
}
