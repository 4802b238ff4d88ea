//! The SQLite backend's own tests: the conformance stories run against it (`conformance`),
//! and here its migrations, its error mapping and what only SQLite keeps (occupancy in step,
//! the schema described, private files).

use super::*;

mod conformance;

/// A new database in a temporary folder (kept while the folder lives).
async fn fresh() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("anteroom.db"), OpenMode::CreateIfMissing)
        .await
        .unwrap();
    (dir, store)
}

/// Two handles on one new database file, as two processes would have.
async fn two_handles() -> (
    tempfile::TempDir,
    std::sync::Arc<dyn store::Store>,
    std::sync::Arc<dyn store::Store>,
) {
    let (dir, first) = fresh().await;
    let second = SqliteStore::open(&dir.path().join("anteroom.db"), OpenMode::Existing)
        .await
        .unwrap();
    (dir, std::sync::Arc::new(first), std::sync::Arc::new(second))
}

/// Each rule's own error, raised by SQLite from tables and triggers shaped like ours,
/// maps to its kind; a unique rule of another table is `Unique`.
#[tokio::test]
async fn map_err_names_each_rule() {
    use sqlx::Connection;
    let mut db = sqlx::SqliteConnection::connect("sqlite::memory:")
        .await
        .unwrap();
    let schema = "
        CREATE TABLE articles (practice_id INTEGER, kind TEXT, slug TEXT,
            CONSTRAINT article_slug UNIQUE (practice_id, kind, slug));
        CREATE TABLE locations (practice_id INTEGER, slug TEXT,
            CONSTRAINT location_slug UNIQUE (practice_id, slug));
        CREATE TABLE appointment_types (practice_id INTEGER, slug TEXT,
            CONSTRAINT appointment_type_slug UNIQUE (practice_id, slug));
        CREATE TABLE users (email TEXT, CONSTRAINT user_email UNIQUE (email));
        CREATE TABLE operators (email TEXT, CONSTRAINT operator_email UNIQUE (email));
        CREATE TABLE outbox (message_id TEXT NOT NULL UNIQUE);
        CREATE TABLE bookings (uid TEXT NOT NULL UNIQUE);
        CREATE TABLE occupancy (booking_id INTEGER UNIQUE, session_id INTEGER UNIQUE);
        CREATE TRIGGER occupancy_no_overlap_booking_insert BEFORE INSERT ON occupancy
            WHEN NEW.booking_id IS NOT NULL
            BEGIN SELECT RAISE(ABORT, 'bookings_no_overlap'); END;
        CREATE TRIGGER occupancy_no_overlap_session_insert BEFORE INSERT ON occupancy
            WHEN NEW.session_id IS NOT NULL
            BEGIN SELECT RAISE(ABORT, 'appointments_overlap'); END;
        INSERT INTO articles VALUES (1, 'article', 'a');
        INSERT INTO locations VALUES (1, 'a');
        INSERT INTO appointment_types VALUES (1, 'a');
        INSERT INTO users VALUES ('a@example.com');
        INSERT INTO operators VALUES ('a@example.com');
        INSERT INTO outbox VALUES ('<a@example.com>');
        INSERT INTO bookings VALUES ('a');
    ";
    sqlx::raw_sql(schema).execute(&mut db).await.unwrap();
    let cases = [
        (
            "INSERT INTO articles VALUES (1, 'article', 'a')",
            ConflictKind::ArticleSlug,
        ),
        (
            "INSERT INTO locations VALUES (1, 'a')",
            ConflictKind::LocationSlug,
        ),
        (
            "INSERT INTO appointment_types VALUES (1, 'a')",
            ConflictKind::AppointmentTypeSlug,
        ),
        (
            "INSERT INTO users VALUES ('a@example.com')",
            ConflictKind::UserEmail,
        ),
        (
            "INSERT INTO operators VALUES ('a@example.com')",
            ConflictKind::UserEmail,
        ),
        (
            "INSERT INTO outbox VALUES ('<a@example.com>')",
            ConflictKind::OutboxMessageId,
        ),
        ("INSERT INTO bookings VALUES ('a')", ConflictKind::Unique),
        (
            "INSERT INTO occupancy VALUES (1, NULL)",
            ConflictKind::SlotUnavailable,
        ),
        (
            "INSERT INTO occupancy VALUES (NULL, 1)",
            ConflictKind::AppointmentsOverlap,
        ),
    ];
    for (sql, kind) in cases {
        let error = sqlx::query(sql).execute(&mut db).await.unwrap_err();
        match map_err(error) {
            StoreError::Conflict(got) => assert_eq!(got, kind, "{sql}"),
            other => panic!("{sql}: {other:?}"),
        }
    }
    let missing = sqlx::query("SELECT 1 WHERE 0")
        .fetch_one(&mut db)
        .await
        .unwrap_err();
    assert!(matches!(map_err(missing), StoreError::NotFound));
    let broken = sqlx::query("INSERT INTO nowhere VALUES (1)")
        .execute(&mut db)
        .await
        .unwrap_err();
    assert!(matches!(map_err(broken), StoreError::Other(_)));
}

/// Every occupancy row, and the rows the owners say there should be: (practice,
/// booking, session, start, end), sorted.
type Occupancy = Vec<(i64, Option<i64>, Option<i64>, i64, i64)>;

async fn occupancy_and_owners(pool: &SqlitePool) -> (Occupancy, Occupancy) {
    let stored: Occupancy = sqlx::query_as(
        "SELECT practice_id, booking_id, session_id, starts_at, ends_at FROM occupancy
         ORDER BY 1, 2, 3",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let owners: Occupancy = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT practice_id, id, NULL, starts_at, ends_at FROM bookings
         WHERE status IN {}
         UNION ALL
         SELECT practice_id, NULL, id, starts_at, ends_at FROM sessions
         WHERE status IN {}
         ORDER BY 1, 2, 3",
        occupancy::BOOKINGS_OCCUPYING,
        occupying!()
    )))
    .fetch_all(pool)
    .await
    .unwrap();
    (stored, owners)
}

/// The occupancy table holds exactly one row for each held or confirmed booking and
/// each occupying session, at its time; returns how many of each kind.
async fn assert_occupancy_in_step(pool: &SqlitePool) -> (usize, usize) {
    let (stored, owners) = occupancy_and_owners(pool).await;
    assert_eq!(stored, owners, "occupancy follows its owners");
    (
        owners.iter().filter(|o| o.1.is_some()).count(),
        owners.iter().filter(|o| o.2.is_some()).count(),
    )
}

/// What the description of a client's tables (`client_tables.rs`) misses or gets
/// wrong about the schema of `db`: a table with a `client_id` column or a foreign key to
/// `clients` that is not listed, a listed table or column that does not exist, a column
/// not described (or out of order), a kind that does not fit the column's type, a
/// column named like a secret that is not described as one.
async fn undescribed(db: &SqlitePool) -> Vec<String> {
    use store::rights::{Kind, Record, is_secret_column};
    let mut problems = Vec::new();
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
         ORDER BY name",
    )
    .fetch_all(db)
    .await
    .unwrap();
    for table in client_tables::CLIENT_TABLES {
        if !names.iter().any(|n| n == table.table) {
            problems.push(format!("{} is described but is not a table", table.table));
        }
    }
    let mut records: Vec<Record> = client_tables::CLIENT_TABLES
        .iter()
        .map(|t| t.record)
        .collect();
    records.sort();
    if records != Record::ALL {
        problems.push(format!("each kind of record once: {records:?}"));
    }
    for name in &names {
        let columns: Vec<(String, String)> =
            sqlx::query_as("SELECT name, type FROM pragma_table_info(?) ORDER BY cid")
                .bind(name)
                .fetch_all(db)
                .await
                .unwrap();
        let to_clients: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pragma_foreign_key_list(?) WHERE \"table\" = 'clients'",
        )
        .bind(name)
        .fetch_one(db)
        .await
        .unwrap();
        let Some(described) = client_tables::CLIENT_TABLES
            .iter()
            .find(|t| t.table == name)
        else {
            if columns.iter().any(|(c, _)| c == "client_id") || to_clients > 0 {
                problems.push(format!("{name} refers to clients but is not described"));
            }
            continue;
        };
        let stored: Vec<&str> = columns.iter().map(|(c, _)| c.as_str()).collect();
        let listed: Vec<&str> = described.columns.iter().map(|c| c.name).collect();
        if stored != listed {
            problems.push(format!(
                "{name} has columns {stored:?}, described {listed:?}"
            ));
        }
        for column in described.columns {
            let Some((_, kind)) = columns.iter().find(|(c, _)| c == column.name) else {
                continue;
            };
            let fits = match column.kind {
                Kind::Integer | Kind::Bool | Kind::Instant => kind == "INTEGER",
                Kind::Text | Kind::Date => kind == "TEXT",
                Kind::Bytes | Kind::Note => kind == "BLOB",
                Kind::Secret => kind == "BLOB" || kind == "TEXT",
            };
            if !fits {
                problems.push(format!(
                    "{name}.{} is {kind}, not {:?}",
                    column.name, column.kind
                ));
            }
        }
        for (column, _) in &columns {
            let kind = described.columns.iter().find(|c| c.name == column);
            if is_secret_column(column) && kind.is_none_or(|c| c.kind != Kind::Secret) {
                problems.push(format!("{name}.{column} looks secret"));
            }
        }
    }
    problems
}

/// The description of a client's tables matches the schema; a table or column added
/// without describing it is found.
#[tokio::test]
async fn every_table_about_a_client_is_described() {
    let (_dir, store) = fresh().await;
    assert_eq!(undescribed(&store.reader).await, Vec::<String>::new());
    sqlx::raw_sql(
        "CREATE TABLE client_moods (id INTEGER PRIMARY KEY, client_id INTEGER, mood TEXT);
         CREATE TABLE session_extras (session_id INTEGER, payer INTEGER REFERENCES clients(id));
         ALTER TABLE notes ADD COLUMN share_token TEXT;",
    )
    .execute(&store.writer)
    .await
    .unwrap();
    let problems = undescribed(&store.reader).await;
    for expected in [
        "client_moods refers to clients but is not described",
        "session_extras refers to clients but is not described",
        "notes.share_token looks secret",
    ] {
        assert!(
            problems.iter().any(|p| p == expected),
            "{expected}: {problems:?}"
        );
    }
    assert!(
        problems.iter().any(|p| p.starts_with("notes has columns")),
        "{problems:?}"
    );
}

#[tokio::test]
async fn conformance_story() {
    let (_dir, store) = fresh().await;
    store_conformance::story(&store).await;
    // Made, moved, confirmed, cancelled, recorded, replanned, put in a break, erased:
    // after all of it, occupancy is exactly what the bookings and sessions say.
    let (bookings, sessions) = assert_occupancy_in_step(&store.reader).await;
    assert!(
        bookings > 0 && sessions > 0,
        "{bookings} bookings, {sessions} sessions"
    );
    // It moves to another database, row for row.
    let (_other_dir, other) = fresh().await;
    store_conformance::moving_story(&store, &other).await;
    // Then the practice it filled is closed: its rows go, every other practice's stay.
    store_conformance::closing_story(&store).await;
    assert_occupancy_in_step(&store.reader).await;
}

/// A database written before occupancy (schema 11, with the six cross-table triggers)
/// gets a row for every appointment holding time, and the rule from then on.
#[tokio::test]
async fn the_occupancy_migration_fills_the_table_from_existing_appointments() {
    let (dir, store) = fresh().await;
    store_conformance::story(&store).await;
    let (_, owners) = occupancy_and_owners(&store.reader).await;
    store.close().await;
    // Back to schema 11 as it was: no occupancy, the old triggers in place, no hosts.
    let old_booking_triggers = MIGRATIONS[1]
        .split_once("CREATE TRIGGER bookings_no_overlap_insert")
        .map(|(_, rest)| format!("CREATE TRIGGER bookings_no_overlap_insert{rest}"))
        .unwrap();
    let old_session_triggers = MIGRATIONS[2]
        .split_once("CREATE TRIGGER sessions_no_overlap_insert")
        .and_then(|(_, rest)| rest.split_once("-- Every practice starts"))
        .map(|(triggers, _)| format!("CREATE TRIGGER sessions_no_overlap_insert{triggers}"))
        .unwrap();
    {
        use sqlx::Connection;
        let path = dir.path().join("anteroom.db");
        let mut db =
            sqlx::SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(&path))
                .await
                .unwrap();
        // Schemas 13 to 25 go with it (their tables and columns are new; the story's hosts
        // and keys go, and the audit log's old rule comes back).
        let downgrade = format!(
            "DROP TABLE directory_remote_portrait_variants; DROP TABLE directory_remote_portraits; ALTER TABLE practices DROP COLUMN accent; ALTER TABLE practices DROP COLUMN theme; DROP TABLE image_variants; DROP TABLE images; DROP INDEX outbox_waiting_by_recipient; DROP TABLE questionnaires; DROP TABLE measure_stops; DROP TABLE measure_plans; DROP TABLE practice_instruments;
             DROP TABLE directory_remotes; DROP TABLE directory_reviews; DROP TABLE directory_listings; DROP TABLE password_links; DROP TABLE host_counters; DROP TABLE operator_sessions; DROP TABLE operators;
             DROP TABLE job_runs; DROP TRIGGER audit_log_no_delete; ALTER TABLE practices DROP COLUMN closing_at;
             CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
             BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
             DROP TABLE practice_keys; DROP TABLE host_key; DROP TABLE practice_hosts; ALTER TABLE practices DROP COLUMN suspended_at;
             DROP TABLE occupancy; {old_booking_triggers} {old_session_triggers}
             PRAGMA user_version = 11;"
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(downgrade))
            .execute(&mut db)
            .await
            .unwrap();
        let triggers: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'trigger' AND name LIKE '%overlap%'",
        )
        .fetch_one(&mut db)
        .await
        .unwrap();
        assert_eq!(triggers, 6, "the old triggers are back");
        db.close().await.unwrap();
    }
    let store = SqliteStore::open(&dir.path().join("anteroom.db"), OpenMode::Existing)
        .await
        .unwrap();
    let (stored, _) = occupancy_and_owners(&store.reader).await;
    assert!(!owners.is_empty());
    assert_eq!(stored, owners, "one row for each appointment holding time");
    let triggers: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_schema WHERE type = 'trigger' AND name LIKE '%overlap%'
         ORDER BY name",
    )
    .fetch_all(&store.reader)
    .await
    .unwrap();
    assert_eq!(
        triggers,
        [
            "occupancy_no_overlap_booking_insert",
            "occupancy_no_overlap_booking_update",
            "occupancy_no_overlap_session_insert",
            "occupancy_no_overlap_session_update",
        ],
        "the rule lives on occupancy alone"
    );
    // The rule holds against what was filled in: a second row at a session's time.
    let (practice, _, _, start, end) = *owners.iter().find(|o| o.2.is_some()).unwrap();
    let refused = sqlx::query(
        "INSERT INTO occupancy (practice_id, booking_id, starts_at, ends_at)
         SELECT ?, MAX(id), ?, ? FROM bookings",
    )
    .bind(practice)
    .bind(start + 600)
    .bind(end + 600)
    .execute(&store.writer)
    .await
    .unwrap_err();
    assert!(
        matches!(
            map_err(refused),
            StoreError::Conflict(ConflictKind::SlotUnavailable)
        ),
        "an overlapping consultation is refused"
    );
}

#[tokio::test]
async fn the_audit_log_refuses_changes_and_verify_finds_tampering() {
    use store::{Actor, AuditAction, AuditStore, NewAuditEntry, PracticeId, audit};
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("anteroom.db"), OpenMode::CreateIfMissing)
        .await
        .unwrap();
    let practice = PracticeId::new(1);
    let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
    for action in [
        AuditAction::SignIn,
        AuditAction::ClientViewed,
        AuditAction::SignOut,
    ] {
        let entry = NewAuditEntry {
            actor: Actor::System,
            action,
            client: None,
            object: None,
            source: None,
        };
        store.append_audit(practice, &entry, now).await.unwrap();
    }
    assert_eq!(audit::verify(&store, practice).await.unwrap(), Ok(3));
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&store.writer)
        .await
        .unwrap();
    assert_eq!(
        sync, 2,
        "the writer is back to synchronous=FULL after an entry"
    );
    for refused in [
        "UPDATE audit_log SET action = 'staff.sign_out' WHERE id = 2",
        "DELETE FROM audit_log WHERE id = 2",
    ] {
        let error = sqlx::query(refused)
            .execute(&store.writer)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("append-only"), "{error}");
    }
    // Someone with the file goes around the triggers: verify notices.
    sqlx::raw_sql(
        "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;
         UPDATE audit_log SET source = '10.0.0.1' WHERE id = 2;",
    )
    .execute(&store.writer)
    .await
    .unwrap();
    assert_eq!(
        audit::verify(&store, practice).await.unwrap(),
        Err(audit::ChainError::Altered { id: 2 })
    );
    sqlx::query("UPDATE audit_log SET source = NULL WHERE id = 2")
        .execute(&store.writer)
        .await
        .unwrap();
    assert_eq!(
        audit::verify(&store, practice).await.unwrap(),
        Ok(3),
        "put back"
    );
    sqlx::query("DELETE FROM audit_log WHERE id = 2")
        .execute(&store.writer)
        .await
        .unwrap();
    assert_eq!(
        audit::verify(&store, practice).await.unwrap(),
        Err(audit::ChainError::Link { id: 3 })
    );
}

/// The mode bits of a file.
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// This process's umask, from `/proc/self/status`.
fn umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .expect("the umask");
    u32::from_str_radix(line.trim(), 8).unwrap()
}

#[tokio::test]
async fn the_database_its_wal_and_shm_and_backups_are_private_to_their_owner() {
    assert_eq!(
        umask() & 0o044,
        0,
        "run the tests under a umask that lets others read new files (022), or this proves nothing"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("anteroom.db");
    let store = SqliteStore::open(&path, OpenMode::CreateIfMissing)
        .await
        .unwrap();
    sqlx::query("CREATE TABLE scratch (x TEXT)")
        .execute(&store.writer)
        .await
        .unwrap();
    sqlx::query("INSERT INTO scratch VALUES ('written')")
        .execute(&store.writer)
        .await
        .unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let file = dir.path().join(format!("anteroom.db{suffix}"));
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    let backup = dir.path().join("copy.db");
    store.backup_to(&backup).await.unwrap();
    assert_eq!(mode(&backup), 0o600);
    let copy = SqliteStore::open(&backup, OpenMode::Existing)
        .await
        .unwrap();
    let x: String = sqlx::query_scalar("SELECT x FROM scratch")
        .fetch_one(&copy.reader)
        .await
        .unwrap();
    assert_eq!(x, "written", "the backup holds the data");
    copy.close().await;
    let refused = store.backup_to(&backup).await.unwrap_err().to_string();
    assert!(refused.contains("already exists"), "{refused}");
    store.close().await;
}

#[tokio::test]
async fn refuses_to_create_a_missing_file_when_serving() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.db");
    assert!(matches!(
        SqliteStore::open(&path, OpenMode::Existing).await,
        Err(StoreError::NotFound)
    ));
    assert!(!path.exists());
}

#[tokio::test]
async fn reopening_keeps_data_and_pragmas() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("anteroom.db");
    let store = SqliteStore::open(&path, OpenMode::CreateIfMissing)
        .await
        .unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&store.writer)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&store.writer)
        .await
        .unwrap();
    assert_eq!(sync, 2, "synchronous=FULL");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(&store.reader)
        .await
        .unwrap();
    assert_eq!(fk, 1);
    store.close().await;
    let again = SqliteStore::open(&path, OpenMode::Existing).await.unwrap();
    let version: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(&again.writer)
        .await
        .unwrap();
    assert_eq!(version, MIGRATIONS.len() as i64);
}

/// Questionnaires answered before totals were stored (schema 20) get the total their
/// instrument's scoring gives, for every instrument and across its options.
#[tokio::test]
async fn the_totals_migration_scores_what_was_answered_before() {
    type Totals = Vec<(i64, Option<i64>)>;
    let (dir, store) = fresh().await;
    store_conformance::measures_story(&store).await;
    let totals = "SELECT id, total FROM questionnaires ORDER BY id";
    let story: Totals = sqlx::query_as(totals)
        .fetch_all(&store.reader)
        .await
        .unwrap();
    assert!(story.iter().any(|(_, total)| total.is_some_and(|t| t > 0)));
    store.close().await;
    let scored = store_conformance::scored_answers();
    {
        use sqlx::Connection;
        let path = dir.path().join("anteroom.db");
        let mut db =
            sqlx::SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(&path))
                .await
                .unwrap();
        sqlx::raw_sql(
            "DROP INDEX questionnaires_scores; DROP INDEX questionnaires_waiting;
             ALTER TABLE questionnaires DROP COLUMN total; DROP INDEX outbox_waiting_by_recipient;
             DROP TABLE directory_remote_portrait_variants; DROP TABLE directory_remote_portraits;
             DROP TABLE image_variants; DROP TABLE images;
             ALTER TABLE practices DROP COLUMN accent; ALTER TABLE practices DROP COLUMN theme;
             PRAGMA user_version = 20;",
        )
        .execute(&mut db)
        .await
        .unwrap();
        for (n, (instrument, answers, _)) in scored.iter().enumerate() {
            sqlx::query(
                "INSERT INTO questionnaires (practice_id, client_id, contract_id, instrument,
                     occasion, session_number, requested_at, completed_at, entered_by, answers)
                 SELECT practice_id, client_id, contract_id, ?, 'other', ?, 0, 1, 'client', ?
                 FROM questionnaires LIMIT 1",
            )
            .bind(instrument)
            .bind(i64::try_from(1000 + n).unwrap())
            .bind(answers)
            .execute(&mut db)
            .await
            .unwrap();
        }
        db.close().await.unwrap();
    }
    let store = SqliteStore::open(&dir.path().join("anteroom.db"), OpenMode::Existing)
        .await
        .unwrap();
    let after: Totals = sqlx::query_as(totals)
        .fetch_all(&store.reader)
        .await
        .unwrap();
    assert_eq!(after[..story.len()], story, "the story's totals as stored");
    let filled: Vec<u32> = after[story.len()..]
        .iter()
        .map(|(_, total)| u32::try_from(total.unwrap()).unwrap())
        .collect();
    let expected: Vec<u32> = scored.iter().map(|(_, _, total)| *total).collect();
    assert_eq!(filled, expected);
}

/// A backup is checked before it is restored: a good one gives its schema; a file that is
/// not SQLite, an SQLite file that is not Anteroom's, a damaged one and one from a newer
/// version are each refused with the reason.
#[tokio::test]
async fn a_backup_is_checked_before_it_is_restored() {
    let refusal = |result: StoreResult<u32>| match result {
        Err(StoreError::Other(why)) => why.to_string(),
        other => panic!("not refused: {other:?}"),
    };
    let (dir, store) = fresh().await;
    store_conformance::story(&store).await;
    let backup = dir.path().join("monday.db");
    store.backup_to(&backup).await.unwrap();
    store.close().await;
    let known = u32::try_from(MIGRATIONS.len()).unwrap();
    assert_eq!(SqliteStore::check_backup(&backup).await.unwrap(), known);

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a database at all, just some words").unwrap();
    assert!(refusal(SqliteStore::check_backup(&text).await).contains("is not an SQLite database"));
    assert!(
        refusal(SqliteStore::check_backup(&dir.path().join("missing.db")).await)
            .contains("is not a file")
    );

    let other = dir.path().join("other.db");
    {
        use sqlx::Connection;
        let options = SqliteConnectOptions::new()
            .filename(&other)
            .create_if_missing(true);
        let mut db = sqlx::SqliteConnection::connect_with(&options)
            .await
            .unwrap();
        sqlx::raw_sql("CREATE TABLE recipes (name TEXT); PRAGMA user_version = 3;")
            .execute(&mut db)
            .await
            .unwrap();
        db.close().await.unwrap();
    }
    assert!(refusal(SqliteStore::check_backup(&other).await).contains("not an Anteroom one"));

    let newer = dir.path().join("newer.db");
    std::fs::copy(&backup, &newer).unwrap();
    {
        use sqlx::Connection;
        let options = SqliteConnectOptions::new().filename(&newer);
        let mut db = sqlx::SqliteConnection::connect_with(&options)
            .await
            .unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "PRAGMA user_version = {}",
            known + 1
        )))
        .execute(&mut db)
        .await
        .unwrap();
        db.close().await.unwrap();
    }
    assert!(
        refusal(SqliteStore::check_backup(&newer).await).contains("written by a newer Anteroom")
    );

    // Damage: a run of pages in the middle overwritten.
    let damaged = dir.path().join("damaged.db");
    let mut bytes = std::fs::read(&backup).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle..middle + 8192].fill(0x5a);
    std::fs::write(&damaged, bytes).unwrap();
    let why = refusal(SqliteStore::check_backup(&damaged).await);
    assert!(
        why.contains("is damaged") || why.contains("not an SQLite database"),
        "{why}"
    );
}
