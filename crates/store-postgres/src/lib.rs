//! The PostgreSQL backend, for hosted mode: many practices in one database, served by
//! several processes at once. PostgreSQL 15 or newer.
//!
//! It keeps the SQLite backend's shape module for module, with the same columns (see
//! migrations/0001_schema.sql), so that a change to one is easy to carry to the other. What
//! differs is what a server database with many writers needs:
//!
//! * One pool of connections for reads and writes; writes run in `READ COMMITTED`
//!   transactions, and what must not interleave is serialised by a transaction-scoped
//!   advisory lock per practice ([`lock_practice`]): the diary (bookings, sessions and
//!   their occupancy, so a booking's buffers and travel are re-checked against everything
//!   committed), the audit chain (its order is the commit order), and the invoice counter.
//! * The overlap rule is an exclusion constraint on `occupancy`; its refusal (SQLSTATE
//!   23P01) becomes the conflict kind of whoever wrote the row (`occupancy`).
//! * Mail claims use `FOR UPDATE SKIP LOCKED`, so two workers never wait on each other.
//! * Bookings are group-committed per process as on SQLite (`group_commit`): one
//!   transaction and one WAL flush for every booking waiting at that moment.
//!
//! All SQL of the PostgreSQL backend lives here.
#![forbid(unsafe_code)]

mod articles;
mod audit;
mod booking;
mod client_tables;
mod convert;
mod directory;
mod enquiries;
mod group_commit;
mod health;
mod hosting;
mod images;
mod keys;
mod limits;
mod measures;
mod moving;
mod notes;
mod occupancy;
mod operator;
mod operator_accounts;
mod portal;
mod practice;
mod rights;
mod staff;
pub mod testing;
mod therapy;

use std::{str::FromStr, time::Duration};

use sqlx::{
    PgPool, Postgres, Transaction,
    postgres::{PgConnectOptions, PgPoolOptions},
};
use store::{ConflictKind, StoreError, StoreResult};

/// The session statuses that hold the therapist's time (and so have an `occupancy` row,
/// see `occupancy`), as a literal for `concat!` and SQL `IN`.
macro_rules! occupying {
    () => {
        "('scheduled', 'attended', 'late_cancellation', 'did_not_attend')"
    };
}
pub(crate) use occupying;

/// Migrations, applied in order; the table `anteroom_schema` records how many have run.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_schema.sql"),
    include_str!("../migrations/0002_hosting.sql"),
    include_str!("../migrations/0003_practice_keys.sql"),
    include_str!("../migrations/0004_closing.sql"),
    include_str!("../migrations/0005_job_runs.sql"),
    include_str!("../migrations/0006_occupancy_by_time.sql"),
    include_str!("../migrations/0007_operators.sql"),
    include_str!("../migrations/0008_directory.sql"),
    include_str!("../migrations/0009_remote_reviews.sql"),
    include_str!("../migrations/0010_measures.sql"),
    include_str!("../migrations/0011_questionnaire_totals.sql"),
    include_str!("../migrations/0012_mail_order.sql"),
    include_str!("../migrations/0013_photos.sql"),
    include_str!("../migrations/0014_look.sql"),
    include_str!("../migrations/0015_remote_portraits.sql"),
];

/// The advisory lock every migrating process takes, so that processes starting together
/// migrate one at a time (an arbitrary constant: "anteroom" in ASCII, truncated).
const MIGRATION_LOCK: i64 = 0x616e_7465_726f_6f6d;

/// Many practices in one PostgreSQL database.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Bookings are made by one task per process, several to a commit (see `group_commit`).
    bookings: group_commit::Bookings,
}

/// What a per-practice advisory lock guards; each its own lock, so that a booking does not
/// wait for an audit entry.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Guard {
    /// Bookings, sessions and their occupancy.
    Diary = 1,
    /// The audit chain's order.
    Audit = 2,
}

/// Take `guard`'s lock for `practice` until the end of the transaction. Locks of several
/// practices are taken in ascending id order by the one caller that takes several
/// (`group_commit`), so two transactions never wait on each other in a circle.
pub(crate) async fn lock_practice(
    conn: &mut sqlx::PgConnection,
    guard: Guard,
    practice: i64,
) -> StoreResult<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, ($2 % 2147483647)::int4)")
        .bind(guard as i32)
        .bind(practice)
        .execute(conn)
        .await
        .map_err(map_err)?;
    Ok(())
}

fn other(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Other(Box::new(error))
}

/// The kind of each uniqueness rule, by constraint or index name (migrations/0001, 0002
/// and 0007).
const UNIQUE_RULES: [(&str, ConflictKind); 9] = [
    ("article_slug", ConflictKind::ArticleSlug),
    ("location_slug", ConflictKind::LocationSlug),
    ("appointment_type_slug", ConflictKind::AppointmentTypeSlug),
    ("user_email", ConflictKind::UserEmail),
    ("operator_email", ConflictKind::UserEmail),
    ("outbox_message_id", ConflictKind::OutboxMessageId),
    ("practice_hosts_pkey", ConflictKind::HostTaken),
    ("practice_one_name", ConflictKind::HostTaken),
    ("image_key", ConflictKind::PhotoTwice),
];

/// SQLSTATE of a unique violation.
const UNIQUE_VIOLATION: &str = "23505";
/// SQLSTATE of an exclusion-constraint violation (the overlap rule).
pub(crate) const EXCLUSION_VIOLATION: &str = "23P01";

/// Map a sqlx error to a store error: unique violations become `Conflict` of the rule's
/// kind (`Unique` for a rule no kind names). The overlap rule is mapped where the row is
/// written (`occupancy`), which knows whose it is; here it becomes `AppointmentsOverlap`.
/// SQLSTATE disk_full.
const DISK_FULL: &str = "53100";

pub(crate) fn map_err(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) if db.code().as_deref() == Some(UNIQUE_VIOLATION) => {
            let constraint = db.constraint().unwrap_or_default();
            let kind = UNIQUE_RULES
                .iter()
                .find(|(name, _)| constraint == *name)
                .map_or(ConflictKind::Unique, |&(_, kind)| kind);
            StoreError::Conflict(kind)
        }
        sqlx::Error::Database(db) if db.code().as_deref() == Some(EXCLUSION_VIOLATION) => {
            StoreError::Conflict(ConflictKind::AppointmentsOverlap)
        }
        // disk_full: the server refused the transaction whole.
        sqlx::Error::Database(db) if db.code().as_deref() == Some(DISK_FULL) => StoreError::Full,
        _ => other(error),
    }
}

/// Run `work` in a transaction that commits without waiting for its WAL record to reach
/// the disk (`synchronous_commit = off`), for small writes whose loss in a crash of the
/// database server costs nothing that matters (audit entries for page views, rate-limit
/// counters): they are durable a moment later, with the next flush. It runs to the end in
/// a task of its own, even if the request that asked is dropped.
pub(crate) async fn relaxed<T, F>(pool: &PgPool, work: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: for<'c> FnOnce(
            &'c mut sqlx::PgConnection,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = StoreResult<T>> + Send + 'c>,
        > + Send
        + 'static,
{
    let pool = pool.clone();
    tokio::spawn(async move {
        let mut tx = pool.begin().await.map_err(map_err)?;
        sqlx::query("SET LOCAL synchronous_commit TO OFF")
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let result = work(&mut tx).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(result)
    })
    .await
    .map_err(|e| StoreError::Other(Box::new(e)))?
}

/// `NotFound` when a statement changed no row (the thing, or the practice's thing, is not there).
pub(crate) fn affected(result: sqlx::postgres::PgQueryResult) -> StoreResult<()> {
    if result.rows_affected() == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Number the `?` placeholders of SQL put together at run time (`$1`, `$2`, …), as the
/// SQLite backend writes them; `?N` keeps its number. Never sees data: only placeholders.
pub(crate) fn numbered(sql: impl AsRef<str>) -> sqlx::AssertSqlSafe<String> {
    let sql = sql.as_ref();
    let mut out = String::with_capacity(sql.len() + 16);
    let mut highest = 0u32;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '?' {
            out.push(c);
            continue;
        }
        let mut digits = String::new();
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            digits.push(*d);
            chars.next();
        }
        let number = match digits.parse::<u32>() {
            Ok(n) => n,
            Err(_) => highest + 1,
        };
        highest = highest.max(number);
        out.push('$');
        out.push_str(&number.to_string());
    }
    sqlx::AssertSqlSafe(out)
}

impl PgStore {
    /// Connect to the database at `url` (`postgres://…`) and bring its schema up to date.
    /// `connections` is the most this process holds open at once.
    pub async fn connect(url: &str, connections: u32) -> StoreResult<Self> {
        Self::connect_within(url, connections, Duration::from_secs(30)).await
    }

    /// [`PgStore::connect`], giving up when the server cannot be reached within `timeout`
    /// (the command line's answer to a wrong address should not keep anyone waiting); a
    /// request later waits as long for a free connection.
    pub async fn connect_within(
        url: &str,
        connections: u32,
        timeout: Duration,
    ) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(other)?
            .application_name("anteroom");
        let pool = PgPoolOptions::new()
            .max_connections(connections.max(2))
            .acquire_timeout(timeout)
            .connect_with(options.clone())
            .await
            .map_err(map_err)?;
        Self::migrate(&pool).await?;
        // The booking writer commits one batch at a time, so one connection of its own, which
        // keeps its few prepared statements, each planned once (generic plans: its statements
        // take every row as arrays, and replanning them per batch cost more than running them).
        let writer = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .acquire_timeout(timeout)
            .connect_lazy_with(options);
        let bookings = group_commit::Bookings::start(writer);
        Ok(Self { pool, bookings })
    }

    async fn migrate(pool: &PgPool) -> StoreResult<()> {
        let mut tx = pool.begin().await.map_err(map_err)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS anteroom_schema (
                version BIGINT PRIMARY KEY,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )",
        )
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let applied: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM anteroom_schema")
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?;
        let applied = usize::try_from(applied).unwrap_or(0);
        if applied > MIGRATIONS.len() {
            return Err(StoreError::Other(
                format!("the database was written by a newer Anteroom (schema {applied}, this version knows {})", MIGRATIONS.len()).into(),
            ));
        }
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
            sqlx::raw_sql(*sql)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            sqlx::query("INSERT INTO anteroom_schema (version) VALUES ($1)")
                .bind(i64::try_from(index + 1).unwrap_or(i64::MAX))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }

    /// Begin a write transaction.
    pub(crate) async fn write(&self) -> StoreResult<Transaction<'static, Postgres>> {
        self.pool.begin().await.map_err(map_err)
    }

    /// The pool for reads.
    pub(crate) fn read(&self) -> &PgPool {
        &self.pool
    }

    /// Close the pool.
    pub async fn close(&self) {
        self.bookings.close().await;
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests;
