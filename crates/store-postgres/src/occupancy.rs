//! Occupancy: one row for every appointment that holds the therapist's time, so that one
//! rule on one table keeps "one therapist in one place at a time" (migrations/0012).
//!
//! Every statement that inserts a booking or session is followed in the same transaction by
//! [`add_new_bookings`] or [`add_sessions`] for the rows it made, and every one that changes
//! their times or status by [`sync_bookings`] or [`sync_sessions`] for the rows it touched;
//! deleting an owner deletes its row by `ON DELETE CASCADE`. The sync derives
//! the rows from the owners themselves (which statuses occupy time is said here once), so a
//! caller only has to name the rows it touched. An overlap is refused by the table's rule
//! when the sync writes the row, and rolls the caller's transaction back.
//!
//! The statements are the SQLite backend's, with `= ANY($1)` for its `json_each`. The rule
//! is the exclusion constraint `one_place_at_a_time`; its refusal is mapped here to the
//! conflict of whoever wrote the row: a consultation finds its slot no longer free, a
//! session clashes with another appointment. Every change takes the practice's diary lock
//! first ([`crate::lock_practice`]), so a booking's re-check of buffers and travel, made
//! under the same lock, sees every appointment committed before it, and announces the
//! change to every process (`NOTIFY`, delivered at commit), so none keeps offering a time
//! another has just booked.

use sqlx::PgConnection;
use store::{ConflictKind, StoreError, StoreResult};

use crate::{EXCLUSION_VIOLATION, Guard, lock_practice, map_err};

/// Booking statuses that hold the therapist's time: a request waiting for an answer, and a
/// confirmed consultation.
pub(crate) const BOOKINGS_OCCUPYING: &str = "('requested', 'confirmed')";

/// Whose occupancy: the owner table, its column in `occupancy`, and its occupying statuses.
#[derive(Clone, Copy)]
enum Owner {
    Booking,
    Session,
}

impl Owner {
    fn table(self) -> &'static str {
        match self {
            Self::Booking => "bookings",
            Self::Session => "sessions",
        }
    }

    fn column(self) -> &'static str {
        match self {
            Self::Booking => "booking_id",
            Self::Session => "session_id",
        }
    }

    fn occupying(self) -> &'static str {
        match self {
            Self::Booking => BOOKINGS_OCCUPYING,
            Self::Session => crate::occupying!(),
        }
    }
}

/// Add the occupancy of bookings just inserted (`ids`), reading them back: one statement.
/// (The group commit knows its rows and uses [`add_new_bookings`]; the tests insert
/// bookings by hand.)
#[cfg(test)]
pub(crate) async fn add_bookings(conn: &mut PgConnection, ids: &[i64]) -> StoreResult<()> {
    run(conn, Owner::Booking, &[insert(Owner::Booking)], ids).await
}

/// Add the occupancy of bookings just made by the caller, who holds their practices' diary
/// locks already and knows each row: `(practice, booking, starts_at, ends_at)`, occupying
/// ones only. One statement that reads nothing back (the group commit's path), then the
/// change announced for each practice.
pub(crate) async fn add_new_bookings(
    conn: &mut PgConnection,
    rows: &[(i64, i64, i64, i64)],
) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO occupancy (practice_id, booking_id, starts_at, ends_at)
         SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[]) ORDER BY 3",
    )
    .bind(rows.iter().map(|r| r.0).collect::<Vec<i64>>())
    .bind(rows.iter().map(|r| r.1).collect::<Vec<i64>>())
    .bind(rows.iter().map(|r| r.2).collect::<Vec<i64>>())
    .bind(rows.iter().map(|r| r.3).collect::<Vec<i64>>())
    .execute(&mut *conn)
    .await
    .map_err(|error| refused(Owner::Booking, error))?;
    let mut practices: Vec<i64> = rows.iter().map(|r| r.0).collect();
    practices.sort_unstable();
    practices.dedup();
    announce(conn, practices).await
}

/// The overlap rule's refusal as the conflict of whoever wrote the row.
fn refused(owner: Owner, error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.code().as_deref() == Some(EXCLUSION_VIOLATION) => {
            StoreError::Conflict(match owner {
                Owner::Booking => ConflictKind::SlotUnavailable,
                Owner::Session => ConflictKind::AppointmentsOverlap,
            })
        }
        _ => map_err(error),
    }
}

/// Every process drops its cached availability of `practices` when this commits (nothing
/// is sent if it rolls back).
async fn announce(conn: &mut PgConnection, practices: Vec<i64>) -> StoreResult<()> {
    for practice in practices {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(crate::hosting::CHANGES)
            .bind(crate::hosting::payload(practice, store::Change::Diary))
            .execute(&mut *conn)
            .await
            .map_err(map_err)?;
    }
    Ok(())
}

/// Add the occupancy of sessions just inserted (`ids`): one statement.
pub(crate) async fn add_sessions(conn: &mut PgConnection, ids: &[i64]) -> StoreResult<()> {
    run(conn, Owner::Session, &[insert(Owner::Session)], ids).await
}

/// Bring the occupancy of the bookings `ids` in step with them after a change.
pub(crate) async fn sync_bookings(conn: &mut PgConnection, ids: &[i64]) -> StoreResult<()> {
    sync(conn, Owner::Booking, ids).await
}

/// Bring the occupancy of the sessions `ids` in step with them after a change.
pub(crate) async fn sync_sessions(conn: &mut PgConnection, ids: &[i64]) -> StoreResult<()> {
    sync(conn, Owner::Session, ids).await
}

/// Add rows for the owners among `?1` that occupy time and have none yet.
fn insert(owner: Owner) -> String {
    let (table, column, occupying) = (owner.table(), owner.column(), owner.occupying());
    format!(
        "INSERT INTO occupancy (practice_id, {column}, starts_at, ends_at)
         SELECT t.practice_id, t.id, t.starts_at, t.ends_at FROM {table} t
         WHERE t.id = ANY($1) AND t.status IN {occupying}
           AND NOT EXISTS (SELECT 1 FROM occupancy o WHERE o.{column} = t.id)
         ORDER BY t.starts_at"
    )
}

/// Run `statements` in order under the diary locks of the practices the owners belong to,
/// each with the ids as an array in `$1` (one parameter however many rows).
async fn run(
    conn: &mut PgConnection,
    owner: Owner,
    statements: &[String],
    ids: &[i64],
) -> StoreResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let table = owner.table();
    let practices: Vec<i64> = sqlx::query_scalar(crate::numbered(format!(
        "SELECT DISTINCT practice_id FROM {table} WHERE id = ANY($1) ORDER BY practice_id"
    )))
    .bind(ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?;
    for &practice in &practices {
        lock_practice(conn, Guard::Diary, practice).await?;
    }
    for sql in statements {
        sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(ids)
            .execute(&mut *conn)
            .await
            .map_err(|error| refused(owner, error))?;
    }
    announce(conn, practices).await
}

/// Three statements whatever the number of rows: remove the rows of owners that no longer
/// occupy time (or are gone), move the rows of those whose times changed, and add rows for
/// those that now occupy time. A row whose times have not changed is left alone, so the rule
/// does not look at it again.
async fn sync(conn: &mut PgConnection, owner: Owner, ids: &[i64]) -> StoreResult<()> {
    let (table, column, occupying) = (owner.table(), owner.column(), owner.occupying());
    let statements = [
        format!(
            "DELETE FROM occupancy
             WHERE {column} = ANY($1)
               AND {column} NOT IN (SELECT id FROM {table}
                                    WHERE id = ANY($1)
                                      AND status IN {occupying})"
        ),
        format!(
            "UPDATE occupancy SET starts_at = t.starts_at, ends_at = t.ends_at
             FROM {table} t
             WHERE t.id = ANY($1) AND t.status IN {occupying}
               AND occupancy.{column} = t.id
               AND (occupancy.starts_at <> t.starts_at OR occupancy.ends_at <> t.ends_at)"
        ),
        insert(owner),
    ];
    run(conn, owner, &statements, ids).await
}
