//! The audit log: appended in its own write transaction, chained to the row before it.

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::postgres::PgRow;
use store::{
    Actor, AuditAction, AuditEntry, AuditStore, ClientId, NewAuditEntry, PracticeId, RecordAccess,
    StoreResult,
    audit::{GENESIS, Hashed, entry_hash},
};

use crate::{PgStore, convert::*, map_err, practice::get};

macro_rules! select {
    ($rest:literal) => {
        concat!(
            "SELECT id, practice_id, at, actor_kind, actor_id, action, client_id, \
             object_kind, object_id, source, prev_hash, hash FROM audit_log ",
            $rest
        )
    };
}

fn entry_from_row(row: &PgRow) -> StoreResult<AuditEntry> {
    let kind: String = get(row, "actor_kind")?;
    Ok(AuditEntry {
        id: get(row, "id")?,
        practice: PracticeId::new(get(row, "practice_id")?),
        at: timestamp(get(row, "at")?)?,
        actor: Actor::from_parts(&kind, get(row, "actor_id")?)
            .ok_or_else(|| corrupt("audit actor"))?,
        action: get(row, "action")?,
        client: get::<Option<i64>>(row, "client_id")?.map(ClientId::new),
        object_kind: get(row, "object_kind")?,
        object_id: get(row, "object_id")?,
        source: get(row, "source")?,
        prev_hash: get(row, "prev_hash")?,
        hash: get(row, "hash")?,
    })
}

#[async_trait]
impl AuditStore for PgStore {
    async fn append_audit(
        &self,
        practice: PracticeId,
        entry: &NewAuditEntry,
        now: Timestamp,
    ) -> StoreResult<()> {
        let entry = entry.clone();
        crate::relaxed(&self.pool, move |conn| {
            Box::pin(async move { append_in(conn, practice, &entry, now).await })
        })
        .await
    }

    async fn audit_subject(
        &self,
        practice: PracticeId,
        kind: &str,
        id: i64,
    ) -> StoreResult<Option<ClientId>> {
        let sql = match kind {
            "client" => "SELECT id FROM clients WHERE practice_id = $1 AND id = $2",
            "session" => "SELECT client_id FROM sessions WHERE practice_id = $1 AND id = $2",
            "invoice" => "SELECT client_id FROM invoices WHERE practice_id = $1 AND id = $2",
            "booking" => "SELECT client_id FROM bookings WHERE practice_id = $1 AND id = $2",
            "questionnaire" => {
                "SELECT client_id FROM questionnaires WHERE practice_id = $1 AND id = $2"
            }
            _ => return Ok(None),
        };
        let found: Option<Option<i64>> = sqlx::query_scalar(sql)
            .bind(practice.get())
            .bind(id)
            .fetch_optional(self.read())
            .await
            .map_err(map_err)?;
        Ok(found.flatten().map(ClientId::new))
    }

    async fn last_audit_at(
        &self,
        practice: PracticeId,
        actor: Actor,
        action: AuditAction,
        object: (&'static str, i64),
    ) -> StoreResult<Option<Timestamp>> {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(at) FROM (SELECT * FROM audit_log WHERE practice_id = $1
                                  ORDER BY id DESC LIMIT 500) AS latest
             WHERE actor_kind = $2 AND actor_id IS NOT DISTINCT FROM $3 AND action = $4
               AND object_kind = $5 AND object_id = $6",
        )
        .bind(practice.get())
        .bind(actor.kind())
        .bind(actor.id())
        .bind(action.code())
        .bind(object.0)
        .bind(object.1)
        .fetch_one(self.read())
        .await
        .map_err(map_err)?;
        opt_timestamp(at)
    }

    async fn client_audit(
        &self,
        practice: PracticeId,
        client: ClientId,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>> {
        let rows = sqlx::query(select!(
            "WHERE practice_id = $1 AND client_id = $2 ORDER BY id DESC LIMIT $3"
        ))
        .bind(practice.get())
        .bind(client.get())
        .bind(i64::from(limit))
        .fetch_all(self.read())
        .await
        .map_err(map_err)?;
        rows.iter().map(entry_from_row).collect()
    }

    async fn record_access(
        &self,
        practice: PracticeId,
        client: ClientId,
    ) -> StoreResult<Vec<RecordAccess>> {
        let rows: Vec<(String, Option<i64>, Option<String>, i64, i64)> = sqlx::query_as(
            "SELECT a.actor_kind, a.actor_id, u.name, COUNT(*), MAX(a.at)
             FROM audit_log a
             LEFT JOIN users u ON a.actor_kind = 'staff' AND u.id = a.actor_id
             WHERE a.practice_id = $1 AND a.client_id = $2
               AND a.actor_kind IN ('staff', 'client')
             GROUP BY a.actor_kind, a.actor_id, u.name
             ORDER BY MAX(a.id) DESC",
        )
        .bind(practice.get())
        .bind(client.get())
        .fetch_all(self.read())
        .await
        .map_err(map_err)?;
        rows.into_iter()
            .map(|(kind, id, name, count, last)| {
                let actor = Actor::from_parts(&kind, id).ok_or_else(|| corrupt("audit actor"))?;
                let name = match actor {
                    Actor::Client(_) => "The client (portal)".to_owned(),
                    _ => name.unwrap_or_else(|| "A former member of staff".to_owned()),
                };
                Ok(RecordAccess {
                    actor,
                    name,
                    count: u64::try_from(count).map_err(|_| corrupt("count"))?,
                    last_at: timestamp(last)?,
                })
            })
            .collect()
    }

    async fn audit_after(
        &self,
        practice: PracticeId,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>> {
        let rows = sqlx::query(select!(
            "WHERE practice_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(practice.get())
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(self.read())
        .await
        .map_err(map_err)?;
        rows.iter().map(entry_from_row).collect()
    }

    async fn recent_audit(&self, practice: PracticeId, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        let rows = sqlx::query(select!("WHERE practice_id = $1 ORDER BY id DESC LIMIT $2"))
            .bind(practice.get())
            .bind(i64::from(limit))
            .fetch_all(self.read())
            .await
            .map_err(map_err)?;
        rows.iter().map(entry_from_row).collect()
    }
}

/// Append one entry on the writer connection (through [`crate::relaxed`]: audit entries are
/// committed with `synchronous_commit = off`, so a page view costs no WAL flush of its own).
async fn append_in(
    conn: &mut sqlx::PgConnection,
    practice: PracticeId,
    entry: &NewAuditEntry,
    now: Timestamp,
) -> StoreResult<()> {
    use sqlx::Connection;
    // `insert_entry` takes the practice's audit lock, so no other entry of the practice
    // can slip in between reading the last hash and inserting the row that points at it.
    let mut tx = conn.begin().await.map_err(map_err)?;
    insert_entry(&mut tx, practice, entry, now).await?;
    tx.commit().await.map_err(map_err)
}

/// Chain one entry onto the log inside a write transaction the caller holds (so it commits
/// or rolls back with the change it records: erasure).
pub(crate) async fn insert_entry(
    tx: &mut sqlx::PgConnection,
    practice: PracticeId,
    entry: &NewAuditEntry,
    now: Timestamp,
) -> StoreResult<()> {
    crate::lock_practice(&mut *tx, crate::Guard::Audit, practice.get()).await?;
    let prev: Option<Vec<u8>> = sqlx::query_scalar(
        "SELECT hash FROM audit_log WHERE practice_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(practice.get())
    .fetch_optional(&mut *tx)
    .await
    .map_err(map_err)?;
    let prev = prev.unwrap_or_else(|| GENESIS.to_vec());
    // Taken under the practice's lock, so the practice's ids follow its chain.
    let id: i64 = sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('audit_log', 'id'))")
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
    let at = Timestamp::from_second(now.as_second()).map_err(|_| corrupt("time"))?;
    let hash = entry_hash(
        &prev,
        &Hashed {
            id,
            practice,
            at,
            actor: entry.actor,
            action: entry.action.code(),
            client: entry.client,
            object_kind: entry.object.map(|(kind, _)| kind),
            object_id: entry.object.map(|(_, id)| id),
            source: entry.source.as_deref(),
        },
    );
    sqlx::query(
        "INSERT INTO audit_log (id, practice_id, at, actor_kind, actor_id, action, client_id,
             object_kind, object_id, source, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(id)
    .bind(practice.get())
    .bind(secs(at))
    .bind(entry.actor.kind())
    .bind(entry.actor.id())
    .bind(entry.action.code())
    .bind(entry.client.map(ClientId::get))
    .bind(entry.object.map(|(kind, _)| kind))
    .bind(entry.object.map(|(_, id)| id))
    .bind(entry.source.as_deref())
    .bind(prev)
    .bind(&hash[..])
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    Ok(())
}
