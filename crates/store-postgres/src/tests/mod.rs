//! The PostgreSQL backend's own tests, each on a database of its own (`testing`): the
//! conformance stories (`conformance`), the rules the schema itself holds to (`rules`), and
//! here what only this backend has to show (its migrations, several processes at once).

use std::sync::Arc;

use store::Store;

use crate::{PgStore, testing::TestDatabase};

mod conformance;
mod rules;

/// A fresh database and a store on it; `None` (the test is skipped) without a server.
async fn fresh() -> Option<(TestDatabase, PgStore)> {
    let db = TestDatabase::create().await?;
    let store = db.store(8).await;
    Some((db, store))
}

/// Two stores on one database, as two processes would hold them.
async fn two_handles() -> Option<(TestDatabase, Arc<dyn Store>, Arc<dyn Store>)> {
    let db = TestDatabase::create().await?;
    let first: Arc<dyn Store> = Arc::new(db.store(8).await);
    let second: Arc<dyn Store> = Arc::new(db.store(8).await);
    Some((db, first, second))
}

/// The held and confirmed consultations and occupying sessions, and the occupancy rows:
/// the two must say the same.
async fn assert_occupancy_in_step(pool: &sqlx::PgPool) -> (usize, usize) {
    type Rows = Vec<(String, i64, i64, i64)>;
    let owners: Rows = sqlx::query_as(concat!(
        "SELECT 'booking', id, starts_at, ends_at FROM bookings WHERE status IN ('requested', 'confirmed')
         UNION ALL
         SELECT 'session', id, starts_at, ends_at FROM sessions WHERE status IN ",
        crate::occupying!(),
        " ORDER BY 1, 2"
    ))
    .fetch_all(pool)
    .await
    .unwrap();
    let rows: Rows = sqlx::query_as(
        "SELECT CASE WHEN booking_id IS NOT NULL THEN 'booking' ELSE 'session' END,
                COALESCE(booking_id, session_id), starts_at, ends_at FROM occupancy ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(rows, owners, "occupancy is in step with its owners");
    let bookings = owners.iter().filter(|r| r.0 == "booking").count();
    (bookings, owners.len() - bookings)
}

/// A new practice made through the store: its id, and its location's and appointment
/// type's ids.
async fn practice(store: &PgStore) -> (i64, i64, i64) {
    use store::PracticeStore;
    let setup = domain::practice::PracticeSetup::from_toml(PRACTICE).unwrap();
    let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
    let practice = store.create_practice(&setup, now).await.unwrap().get();
    let location: i64 = sqlx::query_scalar("SELECT id FROM locations WHERE practice_id = $1")
        .bind(practice)
        .fetch_one(store.read())
        .await
        .unwrap();
    let kind: i64 = sqlx::query_scalar("SELECT id FROM appointment_types WHERE practice_id = $1")
        .bind(practice)
        .fetch_one(store.read())
        .await
        .unwrap();
    (practice, location, kind)
}

/// Insert a booking row of `practice` by hand (no occupancy): its id.
async fn raw_booking(
    store: &PgStore,
    (practice, location, kind): (i64, i64, i64),
    uid: &str,
    status: &str,
    (starts_at, ends_at): (i64, i64),
) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO bookings (practice_id, type_id, location_id, starts_at, ends_at, status,
             name, email, contact_preference, manage_token_hash, uid, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'Sam', 'sam@example.com', 'email',
             sha256(convert_to($7, 'UTF8')), $7, 0, 0)
         RETURNING id",
    )
    .bind(practice)
    .bind(kind)
    .bind(location)
    .bind(starts_at)
    .bind(ends_at)
    .bind(status)
    .bind(uid)
    .fetch_one(store.read())
    .await
    .unwrap()
}

/// Insert a session row of `practice` by hand (no occupancy), with a client and contract
/// of its own: its id.
async fn raw_session(
    store: &PgStore,
    (practice, location, _): (i64, i64, i64),
    uid: &str,
    (starts_at, ends_at): (i64, i64),
) -> i64 {
    sqlx::query_scalar(
        "WITH client AS (
             INSERT INTO clients (practice_id, name, email, contact_preference, created_at,
                 updated_at)
             VALUES ($1, 'Kim', 'kim@example.com', 'email', 0, 0) RETURNING id),
         contract AS (
             INSERT INTO contracts (practice_id, client_id, created_at)
             SELECT $1, id, 0 FROM client RETURNING id, client_id),
         version AS (
             INSERT INTO contract_versions (contract_id, version, kind, review_every_weeks,
                 frequency, times, location_id, minutes, fee_pence, start_date,
                 policy_version, effective_from, created_at)
             SELECT id, 1, 'open_ended', 6, 'weekly', 'monday 10:00', $2, 50, 0,
                 '2027-01-04', 1, 0, 0 FROM contract RETURNING id, contract_id)
         INSERT INTO sessions (practice_id, contract_id, client_id, version_id, location_id,
             occurrence_at, starts_at, ends_at, status, fee_pence, uid, created_at, updated_at)
         SELECT $1, contract.id, contract.client_id, version.id, $2, $3, $3, $4, 'scheduled',
             0, $5, 0, 0
         FROM contract JOIN version ON version.contract_id = contract.id
         RETURNING id",
    )
    .bind(practice)
    .bind(location)
    .bind(starts_at)
    .bind(ends_at)
    .bind(uid)
    .fetch_one(store.read())
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_story() {
    let Some((_db, store)) = fresh().await else {
        return;
    };
    store_conformance::story(&store).await;
    let (bookings, sessions) = assert_occupancy_in_step(store.read()).await;
    assert!(
        bookings > 0 && sessions > 0,
        "{bookings} bookings, {sessions} sessions"
    );
    // It moves to another database, row for row.
    let Some((_other_db, other)) = fresh().await else {
        return;
    };
    store_conformance::moving_story(&store, &other).await;
    // Then the practice it filled is closed: its rows go, every other practice's stay.
    store_conformance::closing_story(&store).await;
    assert_occupancy_in_step(store.read()).await;
}

/// Questionnaires answered before totals were stored (schema 10) get the total their
/// instrument's scoring gives, for every instrument and across its options.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_totals_migration_scores_what_was_answered_before() {
    type Totals = Vec<(i64, Option<i64>)>;
    let Some((db, store)) = fresh().await else {
        return;
    };
    store_conformance::measures_story(&store).await;
    let totals = "SELECT id, total FROM questionnaires ORDER BY id";
    let story: Totals = sqlx::query_as(totals)
        .fetch_all(store.read())
        .await
        .unwrap();
    assert!(story.iter().any(|(_, total)| total.is_some_and(|t| t > 0)));
    sqlx::raw_sql(
        "ALTER TABLE questionnaires DROP CONSTRAINT questionnaires_total_when_answered;
         DROP INDEX questionnaires_scores; DROP INDEX questionnaires_waiting;
         ALTER TABLE questionnaires DROP COLUMN total;
         DROP INDEX outbox_waiting_by_recipient;
         DROP TABLE directory_remote_portrait_variants; DROP TABLE directory_remote_portraits;
         DROP TABLE image_variants; DROP TABLE images;
         ALTER TABLE practices DROP COLUMN accent, DROP COLUMN theme;
         DELETE FROM anteroom_schema WHERE version IN (11, 12, 13, 14, 15);",
    )
    .execute(store.read())
    .await
    .unwrap();
    let scored = store_conformance::scored_answers();
    for (n, (instrument, answers, _)) in scored.iter().enumerate() {
        sqlx::query(
            "INSERT INTO questionnaires (practice_id, client_id, contract_id, instrument,
                 occasion, session_number, requested_at, completed_at, entered_by, answers)
             SELECT practice_id, client_id, contract_id, $1, 'other', $2, 0, 1, 'client', $3
             FROM questionnaires LIMIT 1",
        )
        .bind(instrument)
        .bind(i64::try_from(1000 + n).unwrap())
        .bind(answers)
        .execute(store.read())
        .await
        .unwrap();
    }
    store.close().await;
    let store = db.store(2).await;
    let after: Totals = sqlx::query_as(totals)
        .fetch_all(store.read())
        .await
        .unwrap();
    assert_eq!(after[..story.len()], story, "the story's totals as stored");
    let filled: Vec<u32> = after[story.len()..]
        .iter()
        .map(|(_, total)| u32::try_from(total.unwrap()).unwrap())
        .collect();
    let expected: Vec<u32> = scored.iter().map(|(_, _, total)| *total).collect();
    assert_eq!(filled, expected);
    store.close().await;
}

/// A small practice file: one location, one appointment type.
const PRACTICE: &str = r#"
[practice]
name = "Test Practice"
tagline = "Testing"
time_zone = "Europe/London"
notify_email = "therapist@example.com"
intro = "Hello."

[therapist]
name = "Alex Test"
title = "Psychotherapist"
professional_body = "UKCP"
registration = "000 (fictional)"
qualifications = ["MA"]
languages = ["English"]
about = "About."

[[locations]]
slug = "balham"
name = "Balham"
address_lines = ["1 Test Road", "London"]
postcode = "SW12 9AA"

[[appointment_types]]
slug = "consultation"
name = "First consultation"
minutes = 50
fee_pence = 6000
bookable_online = true
locations = ["balham"]

[policies]
cancellation = "48 hours."
confidentiality = "Kept private."

[privacy]
controller = "Alex Test"
retention_years = 7
"#;

/// An empty database of its own on the test server (not from the template), dropped with
/// any connections still open when this is dropped.
struct EmptyDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl EmptyDatabase {
    async fn create() -> Option<Self> {
        use sqlx::Connection;
        let admin_url = crate::testing::server_url()?;
        let name = format!(
            "anteroom_empty_{}_{}",
            std::process::id(),
            rand::random::<u32>()
        );
        let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        let _ = admin.close().await;
        let url = crate::testing::with_database(&admin_url, &name);
        Some(Self {
            admin_url,
            name,
            url,
        })
    }
}

impl Drop for EmptyDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // A runtime of its own on a thread of its own, as `TestDatabase` does.
        let dropped = std::thread::spawn(move || {
            use sqlx::Connection;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .map_err(std::io::Error::other)?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut admin)
                    .await
                    .map_err(std::io::Error::other)?;
                let _ = admin.close().await;
                Ok::<_, std::io::Error>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("note: could not drop the test database {}", self.name);
        }
    }
}

/// Processes starting together on a new database migrate it one at a time: every one
/// comes up, and each migration ran once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_migrate_one_database_at_once() {
    let Some(db) = EmptyDatabase::create().await else {
        return;
    };
    let barrier = Arc::new(tokio::sync::Barrier::new(4));
    let starting: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                PgStore::connect(&url, 2).await
            })
        })
        .collect();
    let mut stores = Vec::new();
    for started in starting {
        match started.await.unwrap() {
            Ok(store) => stores.push(store),
            Err(error) => panic!("a process failed to start: {error:?}"),
        }
    }
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM anteroom_schema ORDER BY version")
            .fetch_all(stores[0].read())
            .await
            .unwrap();
    let expected: Vec<i64> = (1..=i64::try_from(crate::MIGRATIONS.len()).unwrap()).collect();
    assert_eq!(versions, expected, "each migration ran once");
    let occupancy: bool = sqlx::query_scalar("SELECT to_regclass('public.occupancy') IS NOT NULL")
        .fetch_one(stores[0].read())
        .await
        .unwrap();
    assert!(occupancy, "the schema is there");
    // A fifth, later, finds nothing to do.
    let later = PgStore::connect(&db.url, 2).await.unwrap();
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM anteroom_schema")
        .fetch_one(later.read())
        .await
        .unwrap();
    assert_eq!(usize::try_from(count).unwrap(), crate::MIGRATIONS.len());
    later.close().await;
    for store in stores {
        store.close().await;
    }
}

/// A process hears every other process's changes: a diary change when the transaction
/// that made it commits (and not when it rolls back), a content change when announced; a
/// follower whose listener has gone stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_hear_each_others_changes() {
    use std::sync::Mutex;
    use store::{Change, ChangeFeed, Heard, PracticeId};
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let writer = db.store(4).await;
    let reader = db.store(4).await;
    let ids = practice(&writer).await;
    let practice_id = PracticeId::new(ids.0);
    let heard: Arc<Mutex<Vec<Heard>>> = Arc::default();
    let sink = Arc::clone(&heard);
    assert!(
        reader
            .follow(Box::new(move |h| {
                sink.lock().unwrap().push(h);
                true
            }))
            .await
            .unwrap()
    );
    let wait_for = |expected: Heard| {
        let heard = Arc::clone(&heard);
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while !heard.lock().unwrap().contains(&expected) {
                assert!(
                    std::time::Instant::now() < deadline,
                    "never heard {expected:?}: {:?}",
                    heard.lock().unwrap()
                );
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    };

    // A rolled-back diary change announces nothing; a committed one is heard.
    let booking = raw_booking(&writer, ids, "feed-1", "confirmed", (36_000, 39_000)).await;
    {
        let mut tx = writer.read().begin().await.unwrap();
        crate::occupancy::add_bookings(&mut tx, &[booking])
            .await
            .unwrap();
        tx.rollback().await.unwrap();
    }
    writer.announce(practice_id, Change::Content).await.unwrap();
    wait_for(Heard::Changed(practice_id, Change::Content)).await;
    assert!(
        !heard
            .lock()
            .unwrap()
            .contains(&Heard::Changed(practice_id, Change::Diary)),
        "a rolled-back change is not announced"
    );
    let mut tx = writer.read().begin().await.unwrap();
    crate::occupancy::add_bookings(&mut tx, &[booking])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    wait_for(Heard::Changed(practice_id, Change::Diary)).await;

    // A follower that no longer wants to hear is dropped, and the feed goes on for others.
    let stopped: Arc<Mutex<u32>> = Arc::default();
    let count = Arc::clone(&stopped);
    reader
        .follow(Box::new(move |_| {
            *count.lock().unwrap() += 1;
            false
        }))
        .await
        .unwrap();
    writer.announce(practice_id, Change::Content).await.unwrap();
    let stopped_count = || *stopped.lock().unwrap_or_else(|e| e.into_inner());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while stopped_count() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the second follower heard its first change"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // It said stop then: what is announced after is heard by the first follower only.
    let before = heard.lock().unwrap().len();
    writer.announce(practice_id, Change::Content).await.unwrap();
    writer.announce(practice_id, Change::Diary).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while heard.lock().unwrap().len() < before + 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the first follower goes on hearing"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        stopped_count(),
        1,
        "a follower that said stop hears no more"
    );
}
