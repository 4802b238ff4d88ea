//! The embedded SQLite backend: one file, WAL, `synchronous=FULL`, one writer.
//!
//! Writes go through a single-connection pool and begin `IMMEDIATE`, so a transaction
//! that reads and then writes can never fail half-way with `SQLITE_BUSY`; reads use a
//! separate pool and never wait for writers (WAL). Bookings are group-committed
//! (`group_commit`). All SQL of the SQLite backend lives here.
//!
//! The files it makes are its owner's alone (mode 0600) whatever the umask: the database is
//! created empty with that mode before SQLite opens it, SQLite gives its `-wal` and `-shm`
//! files the database's own mode, and a backup is written into a file created the same way.
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
mod therapy;

use std::{io, path::Path, str::FromStr, time::Duration};

use sqlx::{
    Sqlite, SqlitePool, Transaction,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use store::{ConflictKind, StoreError, StoreResult};

/// The session statuses that hold the therapist's time (and so have an `occupancy` row,
/// see `occupancy`; migrations/0012_occupancy.sql lists the same for its backfill), as a
/// literal for `concat!` and SQL `IN`.
macro_rules! occupying {
    () => {
        "('scheduled', 'attended', 'late_cancellation', 'did_not_attend')"
    };
}
pub(crate) use occupying;

/// Migrations, applied in order; `PRAGMA user_version` records how many have run.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_site.sql"),
    include_str!("../migrations/0002_booking.sql"),
    include_str!("../migrations/0003_therapy.sql"),
    include_str!("../migrations/0004_notes.sql"),
    include_str!("../migrations/0005_audit.sql"),
    include_str!("../migrations/0006_staff_security.sql"),
    include_str!("../migrations/0007_data_rights.sql"),
    include_str!("../migrations/0008_portal.sql"),
    include_str!("../migrations/0009_limits.sql"),
    include_str!("../migrations/0010_email_change.sql"),
    include_str!("../migrations/0011_outbox_claims.sql"),
    include_str!("../migrations/0012_occupancy.sql"),
    include_str!("../migrations/0013_hosting.sql"),
    include_str!("../migrations/0014_practice_keys.sql"),
    include_str!("../migrations/0015_closing.sql"),
    include_str!("../migrations/0016_job_runs.sql"),
    include_str!("../migrations/0017_operators.sql"),
    include_str!("../migrations/0018_directory.sql"),
    include_str!("../migrations/0019_remote_reviews.sql"),
    include_str!("../migrations/0020_measures.sql"),
    include_str!("../migrations/0021_questionnaire_totals.sql"),
    include_str!("../migrations/0022_mail_order.sql"),
    include_str!("../migrations/0023_photos.sql"),
    include_str!("../migrations/0024_look.sql"),
    include_str!("../migrations/0025_remote_portraits.sql"),
];

/// A practice database in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// Bookings are made by one task, several to a commit (see `group_commit`).
    bookings: group_commit::Bookings,
}

/// How to open the database file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// The file must already exist (`serve`): a typo in a path must not start an empty practice.
    Existing,
    /// Create the file if it does not exist (`init`, `demo`, tests).
    CreateIfMissing,
}

/// Create `path` as an empty file that only its owner can read and write (0600, whatever
/// the umask); an error if it already exists.
fn create_private_file(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    // The umask can only take bits away from 0600; this makes the mode exactly 0600.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
}

fn other(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Other(Box::new(error))
}

/// The kind of each uniqueness rule, by the table named in SQLite's message
/// (`UNIQUE constraint failed: articles.practice_id, articles.kind, articles.slug`).
const UNIQUE_RULES: [(&str, ConflictKind); 8] = [
    ("articles.", ConflictKind::ArticleSlug),
    ("locations.", ConflictKind::LocationSlug),
    ("appointment_types.", ConflictKind::AppointmentTypeSlug),
    ("users.", ConflictKind::UserEmail),
    ("operators.", ConflictKind::UserEmail),
    ("outbox.", ConflictKind::OutboxMessageId),
    ("practice_hosts.", ConflictKind::HostTaken),
    ("images.practice_id, images.key", ConflictKind::PhotoTwice),
];

/// Map a sqlx error to a store error: unique violations become `Conflict` of the table's
/// kind (`Unique` for a table with none), and the overlap rule on `occupancy` its own kinds:
/// whose write it refused is in the message (a consultation's or a session's).
/// Whether the writer connection may be used (`false`: close it, and the pool opens a new
/// one). A COMMIT that fails because the disk is full leaves SQLite with the transaction
/// rolled back, but sqlx still counts it as open: its ROLLBACK on drop then fails, and
/// every later BEGIN on that connection is refused. Without this the server would refuse
/// every write until restarted, even once there is room again.
async fn discard_if_poisoned(conn: &mut sqlx::SqliteConnection) -> Result<bool, sqlx::Error> {
    use sqlx::Connection as _;
    if conn.is_in_transaction() {
        // A rollback queued by a dropped transaction runs first; then look again.
        conn.ping().await?;
        if conn.is_in_transaction() {
            tracing::warn!("closing a database connection left inside a failed transaction");
            return Ok(false);
        }
    }
    Ok(true)
}

/// SQLite's result code for "database or disk is full".
const SQLITE_FULL: &str = "13";

pub(crate) fn map_err(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            let message = db.message();
            let kind = UNIQUE_RULES
                .iter()
                .find(|(table, _)| message.contains(table))
                .map_or(ConflictKind::Unique, |&(_, kind)| kind);
            StoreError::Conflict(kind)
        }
        // The rule on `occupancy` (migrations/0012_occupancy.sql) refusing a consultation:
        // the backstop against double booking.
        sqlx::Error::Database(db) if db.message().contains("bookings_no_overlap") => {
            StoreError::Conflict(ConflictKind::SlotUnavailable)
        }
        sqlx::Error::Database(db) if db.message().contains("appointments_overlap") => {
            StoreError::Conflict(ConflictKind::AppointmentsOverlap)
        }
        // SQLITE_FULL: the transaction is rolled back whole; the connection stays usable.
        sqlx::Error::Database(db) if db.code().as_deref() == Some(SQLITE_FULL) => StoreError::Full,
        _ => other(error),
    }
}

/// Run `work` on the writer connection with `synchronous=NORMAL`, for small writes whose
/// loss in a power cut costs nothing that matters (audit entries for page views, rate-limit
/// counters). In WAL mode such a commit survives a crash of the process (kill -9) and becomes
/// durable against power loss with the next FULL commit (any change, booking or note),
/// instead of costing an fsync of its own. It runs to the end in a task of its own, even if
/// the request that asked is dropped, so the connection is always put back to FULL before
/// it returns to the pool (or closed, and a new one opens FULL, if that fails).
pub(crate) async fn relaxed<T, F>(writer: &SqlitePool, work: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: for<'c> FnOnce(
            &'c mut sqlx::SqliteConnection,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = StoreResult<T>> + Send + 'c>,
        > + Send
        + 'static,
{
    let writer = writer.clone();
    tokio::spawn(async move {
        let mut conn = writer.acquire().await.map_err(map_err)?;
        sqlx::query("PRAGMA synchronous = NORMAL")
            .execute(&mut *conn)
            .await
            .map_err(map_err)?;
        let result = work(&mut conn).await;
        if sqlx::query("PRAGMA synchronous = FULL")
            .execute(&mut *conn)
            .await
            .is_err()
        {
            let _ = conn.close().await;
        }
        result
    })
    .await
    .map_err(|e| StoreError::Other(Box::new(e)))?
}

/// `NotFound` when a statement changed no row (the thing, or the practice's thing, is not there).
pub(crate) fn affected(result: sqlx::sqlite::SqliteQueryResult) -> StoreResult<()> {
    if result.rows_affected() == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

impl SqliteStore {
    /// Open (and if allowed, create) the database at `path`, then bring its schema up to date.
    pub async fn open(path: &Path, mode: OpenMode) -> StoreResult<Self> {
        if mode == OpenMode::Existing && !path.is_file() {
            return Err(StoreError::NotFound);
        }
        if mode == OpenMode::CreateIfMissing {
            // SQLite would create the file 0644 less the umask, and its -wal and -shm with
            // the same mode; an empty file is a new database to it.
            match create_private_file(path) {
                Err(error) if error.kind() != io::ErrorKind::AlreadyExists => {
                    return Err(other(error));
                }
                _ => {}
            }
        }
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(other)?
            .filename(path)
            .create_if_missing(mode == OpenMode::CreateIfMissing)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("temp_store", "memory")
            // A deleted row (an erased client, a deleted enquiry) is overwritten with zeros
            // in the file, not just marked free (SECURITY.md R17).
            .pragma("secure_delete", "on")
            // sqlx hands rows from the connection's thread to the caller through a channel;
            // the default of 50 makes a long result (a client's five years of sessions)
            // stop and wake the other side every 50 rows. Results here are bounded by what
            // a page shows, so let a whole one through at once.
            .row_buffer_size(4096);
        // A pool normally pings a connection before handing it out; an SQLite file in this
        // process cannot have gone away, and the ping is one more hand-over to the
        // connection's thread on every query.
        let writer = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .before_acquire(|conn, _| Box::pin(discard_if_poisoned(conn)))
            .max_connections(1)
            .min_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(map_err)?;
        let store_migrations = Self::migrate(&writer).await;
        store_migrations?;
        let readers = std::thread::available_parallelism().map_or(4, |n| n.get().clamp(2, 8));
        let reader = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(u32::try_from(readers).unwrap_or(4))
            .connect_with(options.read_only(true))
            .await
            .map_err(map_err)?;
        let bookings = group_commit::Bookings::start(writer.clone());
        Ok(Self {
            writer,
            reader,
            bookings,
        })
    }

    async fn migrate(writer: &SqlitePool) -> StoreResult<()> {
        let version: i64 = sqlx::query_scalar("PRAGMA user_version")
            .fetch_one(writer)
            .await
            .map_err(map_err)?;
        let applied = usize::try_from(version).unwrap_or(0);
        if applied > MIGRATIONS.len() {
            return Err(StoreError::Other(
                format!("the database was written by a newer Anteroom (schema {applied}, this version knows {})", MIGRATIONS.len()).into(),
            ));
        }
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
            let mut tx = writer
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map_err(map_err)?;
            sqlx::raw_sql(*sql)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            let bump = format!("PRAGMA user_version = {}", index + 1);
            sqlx::raw_sql(sqlx::AssertSqlSafe(bump))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            tx.commit().await.map_err(map_err)?;
        }
        Ok(())
    }

    /// Begin a write transaction that holds the write lock from its first statement.
    pub(crate) async fn write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(map_err)
    }

    /// The pool for reads.
    pub(crate) fn read(&self) -> &SqlitePool {
        &self.reader
    }

    /// Check a backup before it is restored, without changing it: an SQLite file whose
    /// every page passes `PRAGMA integrity_check`, with Anteroom's tables, written by this
    /// version or an earlier one (opening it brings it up to date). Returns its schema
    /// version; each refusal says why in words.
    pub async fn check_backup(path: &Path) -> StoreResult<u32> {
        use sqlx::Connection;
        let refuse = |why: String| StoreError::Other(why.into());
        if !path.is_file() {
            return Err(refuse(format!("{} is not a file", path.display())));
        }
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(other)?
            .filename(path)
            .read_only(true);
        let not_sqlite = |_| refuse(format!("{} is not an SQLite database", path.display()));
        let mut db = sqlx::SqliteConnection::connect_with(&options)
            .await
            .map_err(not_sqlite)?;
        let checked: StoreResult<u32> = async {
            let problems: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
                .fetch_all(&mut db)
                .await
                .map_err(not_sqlite)?;
            if problems != ["ok"] {
                return Err(refuse(format!(
                    "{} is damaged ({}); try an older backup",
                    path.display(),
                    problems.first().map_or("", String::as_str)
                )));
            }
            let ours: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table'
                 AND name IN ('practices', 'audit_log', 'outbox')",
            )
            .fetch_one(&mut db)
            .await
            .map_err(map_err)?;
            let version: i64 = sqlx::query_scalar("PRAGMA user_version")
                .fetch_one(&mut db)
                .await
                .map_err(map_err)?;
            let version = u32::try_from(version).unwrap_or(0);
            if ours != 3 || version == 0 {
                return Err(refuse(format!(
                    "{} is an SQLite database, but not an Anteroom one",
                    path.display()
                )));
            }
            if version as usize > MIGRATIONS.len() {
                return Err(refuse(format!(
                    "{} was written by a newer Anteroom (schema {version}; this version knows {}): restore it with that version or a later one",
                    path.display(),
                    MIGRATIONS.len()
                )));
            }
            Ok(version)
        }
        .await;
        let _ = db.close().await;
        checked
    }

    /// Write a consistent copy of the database to `target`, which must not exist; the copy
    /// is readable by its owner only, and on disk when this returns.
    pub async fn backup_to(&self, target: &Path) -> StoreResult<()> {
        let name = target
            .to_str()
            .ok_or_else(|| StoreError::Other("backup path is not valid UTF-8".into()))?;
        // VACUUM INTO writes into an empty file as into a new one, keeping its mode.
        create_private_file(target).map_err(|error| match error.kind() {
            io::ErrorKind::AlreadyExists => StoreError::Other(
                format!(
                    "{} already exists; choose a new file name",
                    target.display()
                )
                .into(),
            ),
            _ => other(error),
        })?;
        let written = sqlx::query("VACUUM INTO ?")
            .bind(name)
            .execute(&self.writer)
            .await
            .map_err(map_err);
        let synced = match written {
            Ok(_) => std::fs::File::open(target)
                .and_then(|file| file.sync_all())
                .map_err(other),
            Err(error) => Err(error),
        };
        if synced.is_err() {
            // Leave no empty or partial copy that looks like a backup.
            let _ = std::fs::remove_file(target);
        }
        synced
    }

    /// Close both pools, checkpointing the WAL.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

#[cfg(test)]
mod tests;
