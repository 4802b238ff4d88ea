//! Data rights: subject access requests, retention decisions, a client's rows and erasure in
//! one transaction, both driven by the description in `client_tables.rs`.

use async_trait::async_trait;
use domain::rights::Reason;
use jiff::{Timestamp, civil::Date};
use sqlx::{PgConnection, Row, postgres::PgRow};
use store::{
    ClientId, ConflictKind, NewAuditEntry, NoteId, PracticeId, RecordedDecision, RetentionDecision,
    RetentionFacts, RightsStore, StoreError, StoreResult, SubjectAccessId, SubjectAccessRequest,
    rights::{ClientRows, Column, Kind, Value},
};

use crate::{
    PgStore, affected,
    client_tables::{CLIENT_TABLES, Erase},
    convert::*,
    map_err,
    practice::get,
};

/// The client's email address and, if it has two words or more, their name (a single short
/// word would match unrelated text).
async fn identity(
    conn: &mut PgConnection,
    practice: PracticeId,
    client: ClientId,
) -> StoreResult<(String, Option<String>)> {
    let (email, name): (String, String) =
        sqlx::query_as("SELECT email, name FROM clients WHERE id = $1 AND practice_id = $2")
            .bind(client.get())
            .bind(practice.get())
            .fetch_optional(&mut *conn)
            .await
            .map_err(map_err)?
            .ok_or(StoreError::NotFound)?;
    let name = (name.split_whitespace().count() >= 2).then_some(name);
    Ok((email, name))
}

/// What the export reads of `column`: a note's sealed body is read as its row's id, for
/// the caller to open.
fn selected(column: &Column) -> &'static str {
    match column.kind {
        Kind::Note => "id",
        _ => column.name,
    }
}

/// The value of `column` in `row`, typed by its kind (not by SQLite's storage class).
fn value(row: &PgRow, index: usize, column: &Column) -> StoreResult<Value> {
    let integer = || -> StoreResult<Option<i64>> { row.try_get(index).map_err(map_err) };
    Ok(match column.kind {
        Kind::Integer => integer()?.map_or(Value::Null, Value::Integer),
        Kind::Bool => integer()?.map_or(Value::Null, |n| Value::Bool(n != 0)),
        Kind::Instant => match integer()? {
            Some(secs) => Value::Instant(timestamp(secs)?),
            None => Value::Null,
        },
        Kind::Note => integer()?.map_or(Value::Null, |id| Value::Note(NoteId::new(id))),
        Kind::Text => row
            .try_get::<Option<String>, _>(index)
            .map_err(map_err)?
            .map_or(Value::Null, Value::Text),
        Kind::Date => match row.try_get::<Option<String>, _>(index).map_err(map_err)? {
            Some(day) => Value::Date(date(&day)?),
            None => Value::Null,
        },
        Kind::Bytes => row
            .try_get::<Option<Vec<u8>>, _>(index)
            .map_err(map_err)?
            .map_or(Value::Null, Value::Bytes),
        // Left out before the statement is made (`rows_of`); never read, even by mistake.
        Kind::Secret => return Err(StoreError::Other("a secret column was read".into())),
    })
}

async fn rows_of(
    conn: &mut PgConnection,
    practice: PracticeId,
    client: ClientId,
) -> StoreResult<Vec<ClientRows>> {
    let (email, name) = identity(conn, practice, client).await?;
    let mut out = Vec::with_capacity(CLIENT_TABLES.len());
    for table in CLIENT_TABLES {
        let (withheld, columns): (Vec<Column>, Vec<Column>) =
            table.columns.iter().partition(|c| c.kind == Kind::Secret);
        let list: Vec<&str> = columns.iter().map(selected).collect();
        let sql = crate::numbered(format!(
            "SELECT {} FROM {} WHERE ({}) ORDER BY {}",
            list.join(", "),
            table.table,
            table.rows,
            table.order_by,
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
            .map(|row| {
                columns
                    .iter()
                    .enumerate()
                    .map(|(i, column)| value(row, i, column))
                    .collect()
            })
            .collect::<StoreResult<Vec<Vec<Value>>>>()?;
        out.push(ClientRows {
            record: table.record,
            columns,
            withheld: withheld.iter().map(|c| c.name).collect(),
            rows,
        });
    }
    out.sort_by_key(|rows| rows.record);
    Ok(out)
}

// ---- Rows of this module's tables ----------------------------------------------------------

fn request_from_row(row: &PgRow) -> StoreResult<SubjectAccessRequest> {
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

fn decision_from_row(row: &PgRow) -> StoreResult<RecordedDecision> {
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
impl RightsStore for PgStore {
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
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
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
            "SELECT extended_due_on FROM subject_access_requests WHERE practice_id = $1 AND id = $2",
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
            "UPDATE subject_access_requests SET extended_due_on = $1, extension_reason = $2
             WHERE practice_id = $3 AND id = $4",
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
            "SELECT id FROM subject_access_requests WHERE practice_id = $1 AND id = $2",
        )
        .bind(practice.get())
        .bind(id.get())
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        exists.ok_or(StoreError::NotFound)?;
        sqlx::query(
            "UPDATE subject_access_requests SET completed_on = $1
             WHERE practice_id = $2 AND id = $3 AND completed_on IS NULL",
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
        let sql = crate::numbered(format!("{REQUESTS} WHERE practice_id = ? AND id = ?"));
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
        let sql = crate::numbered(format!(
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
             VALUES ($1, $2, $3, $4, $5, $6)",
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
             WHERE practice_id = $1 AND client_id = $2 ORDER BY id DESC",
        )
        .bind(practice.get())
        .bind(client.get())
        .fetch_all(self.read())
        .await
        .map_err(map_err)?;
        rows.iter().map(decision_from_row).collect()
    }

    async fn retention_facts(
        &self,
        practice: PracticeId,
        client: Option<ClientId>,
    ) -> StoreResult<Vec<RetentionFacts>> {
        let rows = sqlx::query(
            "SELECT c.id, c.name, c.created_at,
                (SELECT MAX(s.starts_at) FROM sessions s WHERE s.client_id = c.id) AS last_session,
                k.review_on, k.reason
             FROM clients c
             LEFT JOIN retention_decisions k ON k.id = (
                 SELECT d.id FROM retention_decisions d
                 WHERE d.client_id = c.id AND d.kind = 'keep' ORDER BY d.id DESC LIMIT 1)
             WHERE c.practice_id = $1 AND ($2::BIGINT IS NULL OR c.id = $2)
             ORDER BY c.name, c.id",
        )
        .bind(practice.get())
        .bind(client.map(ClientId::get))
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
    ) -> StoreResult<Vec<ClientRows>> {
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
        // Rows are deleted children first, but foreign keys may point any way (a client's
        // consultation, a booking's client): check them all at commit instead of after each
        // statement.
        sqlx::query("SET CONSTRAINTS ALL DEFERRED")
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        // Crypto-shredding first: without the data key no copy of a sealed note can be
        // opened. Then the rows that stay without the person, then the rest, the tables
        // found through others before those they are found through.
        let shred = CLIENT_TABLES.iter().filter(|t| t.erase == Erase::Shred);
        let anonymise = CLIENT_TABLES
            .iter()
            .filter(|t| matches!(t.erase, Erase::Anonymise(_)));
        let delete = CLIENT_TABLES
            .iter()
            .rev()
            .filter(|t| t.erase == Erase::Delete);
        for table in shred.chain(anonymise).chain(delete) {
            let rows = format!("({})", table.rows);
            let sql = match table.erase {
                Erase::Anonymise(set) => format!("UPDATE {} SET {set} WHERE {rows}", table.table),
                Erase::Shred | Erase::Delete | Erase::Keep => {
                    format!("DELETE FROM {} WHERE {rows}", table.table)
                }
            };
            // A consultation cancelled by erasure gives its time back.
            let cancels = table.table == "bookings" && matches!(table.erase, Erase::Anonymise(_));
            let sql = if cancels {
                format!("{sql} RETURNING id")
            } else {
                sql
            };
            let touched: Vec<i64> = sqlx::query_scalar(crate::numbered(sql))
                .bind(client.get())
                .bind(practice.get())
                .bind(&email)
                .bind(name.as_deref())
                .bind(secs(now))
                .fetch_all(&mut *tx)
                .await
                .map_err(map_err)?;
            if cancels {
                crate::occupancy::sync_bookings(&mut tx, &touched).await?;
            }
        }
        sqlx::query(
            "INSERT INTO erased_clients (client_id, practice_id, erased_at) VALUES ($1, $2, $3)",
        )
        .bind(client.get())
        .bind(practice.get())
        .bind(secs(now))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        crate::audit::insert_entry(&mut tx, practice, audit, now).await?;
        tx.commit().await.map_err(map_err)?;
        // PostgreSQL reuses a deleted row's space at its next vacuum; until then the bytes
        // stay in the table's files, as they stay in its write-ahead log and backups
        // (the erasure page says so). Notes are unreadable at once: their key is gone.
        Ok(())
    }
}
