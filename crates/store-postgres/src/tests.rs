//! The PostgreSQL backend's own tests: the conformance stories, each on a database of its
//! own (`testing`), and what only this backend has to show.

use std::sync::Arc;

use store::Store;

use crate::{PgStore, testing::TestDatabase};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appointments_give_their_time_back() {
    let Some((_db, store)) = fresh().await else {
        return;
    };
    store_conformance::appointments_give_their_time_back(&store).await;
    let (bookings, sessions) = assert_occupancy_in_step(store.read()).await;
    assert_eq!(
        (bookings, sessions),
        (4, 0),
        "the erased client's sessions went too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn break_changes_all_or_nothing() {
    let Some((_db, store)) = fresh().await else {
        return;
    };
    store_conformance::break_changes_all_or_nothing(&store).await;
    assert_occupancy_in_step(store.read()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invoices_across_two_handles() {
    let Some((_db, first, second)) = two_handles().await else {
        return;
    };
    store_conformance::concurrent_invoices_from_two_writers(first, second).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_audit_across_two_handles() {
    let Some((_db, first, second)) = two_handles().await else {
        return;
    };
    store_conformance::concurrent_audit_from_two_writers(first, second).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_and_a_session_race_across_two_handles() {
    let Some((db, first, second)) = two_handles().await else {
        return;
    };
    store_conformance::booking_and_session_race(first, second).await;
    let store = db.store(2).await;
    let (bookings, sessions) = assert_occupancy_in_step(store.read()).await;
    assert_eq!(sessions, 12, "every session holds time, moved or not");
    assert!(
        bookings <= 12,
        "at most one booking won each round: {bookings}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_bookings() {
    let Some((_db, store)) = fresh().await else {
        return;
    };
    store_conformance::concurrent_bookings(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invoices() {
    let Some((_db, store)) = fresh().await else {
        return;
    };
    store_conformance::concurrent_invoices(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_portal_sign_ins() {
    let Some((_db, store)) = fresh().await else {
        return;
    };
    store_conformance::concurrent_portal_sign_ins(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_limits_across_two_handles() {
    let Some((_db, first, second)) = two_handles().await else {
        return;
    };
    store_conformance::concurrent_limits(first, second).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claims_across_two_handles() {
    let Some((_db, first, second)) = two_handles().await else {
        return;
    };
    store_conformance::concurrent_claims(first, second).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_email_changes() {
    let Some((_db, store)) = fresh().await else {
        return;
    };
    store_conformance::concurrent_email_changes(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_story() {
    let Some((_db, store)) = fresh().await else {
        return;
    };
    store_conformance::directory_story(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_story() {
    let Some((_db, store)) = fresh().await else {
        return;
    };
    store_conformance::operators_story(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_races_across_two_handles() {
    let Some((_db, first, second)) = two_handles().await else {
        return;
    };
    store_conformance::operator_races(first, second).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measures_story() {
    let Some((_db, store)) = fresh().await else {
        return;
    };
    store_conformance::measures_story(&store).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measure_races_across_two_handles() {
    let Some((_db, first, second)) = two_handles().await else {
        return;
    };
    store_conformance::measure_races(first, second).await;
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

/// Each uniqueness rule of the real schema, broken, maps to its kind; a rule no kind
/// names is `Unique`; no row is `NotFound`; a broken statement is `Other`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn map_err_names_each_rule() {
    use store::{ConflictKind, StoreError};
    let Some((_db, store)) = fresh().await else {
        return;
    };
    let (practice, location, kind) = practice(&store).await;
    let article = format!(
        "INSERT INTO articles (practice_id, kind, slug, title, summary, body, reading_minutes,
             published, date, created_at, updated_at)
         VALUES ({practice}, 'article', 'a', 'A', 'A.', 'A.', 1, 1, '2027-01-01', 0, 0)"
    );
    let location_row = format!(
        "INSERT INTO locations (practice_id, slug, position, name, online, address_lines,
             summary, getting_there, accessibility, building)
         VALUES ({practice}, 'balham', 9, 'Again', 0, '', '', '', '', '')"
    );
    let kind_row = format!(
        "INSERT INTO appointment_types (practice_id, slug, position, name, minutes, fee_pence,
             description)
         VALUES ({practice}, 'consultation', 9, 'Again', 50, 0, '')"
    );
    let user = |email: &str| {
        format!(
            "INSERT INTO users (practice_id, email, name, password_hash, created_at)
             VALUES ({practice}, '{email}', 'Alex', 'x', 0)"
        )
    };
    let operator = |email: &str| {
        format!(
            "INSERT INTO operators (email, name, password_hash, created_at)
             VALUES ('{email}', 'Ola', 'x', 0)"
        )
    };
    let message = format!(
        "INSERT INTO outbox (practice_id, message_id, kind, recipient, subject, body_text,
             status, created_at)
         VALUES ({practice}, '<a@example.com>', 'test', 'a@example.com', 'S', 'B', 'pending', 0)"
    );
    raw_booking(
        &store,
        (practice, location, kind),
        "a",
        "cancelled",
        (0, 3000),
    )
    .await;
    let booking = format!(
        "INSERT INTO bookings (practice_id, type_id, location_id, starts_at, ends_at, status,
             name, email, contact_preference, manage_token_hash, uid, created_at, updated_at)
         VALUES ({practice}, {kind}, {location}, 0, 3000, 'cancelled', 'Sam', 'sam@example.com',
             'email', '\\x00', 'a', 0, 0)"
    );
    for sql in [
        &article,
        &user("a@example.com"),
        &operator("a@example.com"),
        &message,
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.as_str()))
            .execute(store.read())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let cases = [
        (article, ConflictKind::ArticleSlug),
        (location_row, ConflictKind::LocationSlug),
        (kind_row, ConflictKind::AppointmentTypeSlug),
        (user("a@example.com"), ConflictKind::UserEmail),
        (user("A@Example.com"), ConflictKind::UserEmail),
        (operator("a@example.com"), ConflictKind::UserEmail),
        (operator("A@Example.com"), ConflictKind::UserEmail),
        (message, ConflictKind::OutboxMessageId),
        (booking, ConflictKind::Unique),
    ];
    for (sql, kind) in cases {
        let error = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.as_str()))
            .execute(store.read())
            .await
            .unwrap_err();
        match crate::map_err(error) {
            StoreError::Conflict(got) => assert_eq!(got, kind, "{sql}"),
            other => panic!("{sql}: {other:?}"),
        }
    }
    let missing = sqlx::query("SELECT 1 WHERE false")
        .fetch_one(store.read())
        .await
        .unwrap_err();
    assert!(matches!(crate::map_err(missing), StoreError::NotFound));
    let broken = sqlx::query("INSERT INTO nowhere VALUES (1)")
        .execute(store.read())
        .await
        .unwrap_err();
    assert!(matches!(crate::map_err(broken), StoreError::Other(_)));
}

/// The SQLSTATE of a database error.
fn sqlstate(error: &sqlx::Error) -> Option<String> {
    match error {
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// The overlap rule is the exclusion constraint on `occupancy`: half-open ranges per
/// practice, and no empty or reversed range; the occupancy module names its refusal after
/// whoever wrote the row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overlap_rule_is_an_exclusion_constraint() {
    use store::{ConflictKind, StoreError};
    let Some((_db, store)) = fresh().await else {
        return;
    };
    let first = practice(&store).await;
    let second = practice(&store).await;
    // Monday 2027-01-04 10:00 UTC.
    let ten = 1_799_056_800;
    let (minutes_50, minutes_10) = (50 * 60, 10 * 60);
    let occupy = |practice: i64, booking: i64, (starts_at, ends_at): (i64, i64)| {
        let pool = store.read().clone();
        async move {
            sqlx::query(
                "INSERT INTO occupancy (practice_id, booking_id, starts_at, ends_at)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(practice)
            .bind(booking)
            .bind(starts_at)
            .bind(ends_at)
            .execute(&pool)
            .await
        }
    };
    let mut bookings = Vec::new();
    for n in 0..6 {
        let owner = if n == 5 { second } else { first };
        bookings.push(raw_booking(&store, owner, &format!("b{n}"), "cancelled", (0, 60)).await);
    }
    let back_to_back = [
        (ten, ten + minutes_50),
        (ten + minutes_50, ten + 2 * minutes_50),
    ];
    for (booking, times) in bookings.iter().zip(back_to_back) {
        occupy(first.0, *booking, times)
            .await
            .expect("back to back is allowed");
    }
    let overlapping = occupy(
        first.0,
        bookings[2],
        (
            ten + minutes_50 - minutes_10,
            ten + 2 * minutes_50 + minutes_10,
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(
        sqlstate(&overlapping).as_deref(),
        Some(crate::EXCLUSION_VIOLATION)
    );
    assert!(
        overlapping.to_string().contains("one_place_at_a_time"),
        "{overlapping}"
    );
    assert!(matches!(
        crate::map_err(overlapping),
        StoreError::Conflict(ConflictKind::AppointmentsOverlap)
    ));
    let inside = occupy(
        first.0,
        bookings[2],
        (ten + minutes_10, ten + 2 * minutes_10),
    )
    .await
    .unwrap_err();
    assert_eq!(
        sqlstate(&inside).as_deref(),
        Some(crate::EXCLUSION_VIOLATION)
    );
    occupy(second.0, bookings[5], (ten, ten + minutes_50))
        .await
        .expect("another practice's diary is its own");
    for times in [
        (ten + 3 * minutes_50, ten + 3 * minutes_50),
        (ten + 4 * minutes_50, ten + 3 * minutes_50),
    ] {
        let refused = occupy(first.0, bookings[3], times).await.unwrap_err();
        assert_eq!(
            sqlstate(&refused).as_deref(),
            Some("23514"),
            "{times:?}: {refused}"
        );
    }
    // Moving a row onto another is refused too.
    let moved = sqlx::query(
        "UPDATE occupancy SET starts_at = starts_at - 600, ends_at = ends_at - 600
         WHERE booking_id = $1",
    )
    .bind(bookings[1])
    .execute(store.read())
    .await
    .unwrap_err();
    assert_eq!(
        sqlstate(&moved).as_deref(),
        Some(crate::EXCLUSION_VIOLATION)
    );
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM occupancy")
        .fetch_one(store.read())
        .await
        .unwrap();
    assert_eq!(rows, 3, "only what was allowed is there");

    // The occupancy module names the refusal: a consultation finds its slot gone, a
    // session clashes with another appointment.
    let booking = raw_booking(
        &store,
        first,
        "held",
        "confirmed",
        (ten + minutes_10, ten + minutes_50),
    )
    .await;
    let session = raw_session(
        &store,
        first,
        "session",
        (ten + minutes_10, ten + minutes_50),
    )
    .await;
    let mut tx = store.write().await.unwrap();
    let refused = crate::occupancy::add_bookings(&mut tx, &[booking]).await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Conflict(ConflictKind::SlotUnavailable))
        ),
        "{refused:?}"
    );
    tx.rollback().await.unwrap();
    let mut tx = store.write().await.unwrap();
    let refused = crate::occupancy::add_sessions(&mut tx, &[session]).await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Conflict(ConflictKind::AppointmentsOverlap))
        ),
        "{refused:?}"
    );
    tx.rollback().await.unwrap();
    // Moved clear of the others, both are accepted.
    sqlx::query("UPDATE bookings SET starts_at = $2, ends_at = $3 WHERE id = $1")
        .bind(booking)
        .bind(ten + 4 * minutes_50)
        .bind(ten + 5 * minutes_50)
        .execute(store.read())
        .await
        .unwrap();
    sqlx::query("UPDATE sessions SET starts_at = $2, ends_at = $3 WHERE id = $1")
        .bind(session)
        .bind(ten + 5 * minutes_50)
        .bind(ten + 6 * minutes_50)
        .execute(store.read())
        .await
        .unwrap();
    let mut tx = store.write().await.unwrap();
    crate::occupancy::add_bookings(&mut tx, &[booking])
        .await
        .unwrap();
    crate::occupancy::add_sessions(&mut tx, &[session])
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_refuses_changes_and_verify_finds_tampering() {
    use store::{Actor, AuditAction, AuditStore, NewAuditEntry, PracticeId, audit};
    let Some((_db, store)) = fresh().await else {
        return;
    };
    let practice = PracticeId::new(practice(&store).await.0);
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
    let ids: Vec<i64> = store
        .audit_after(practice, 0, 10)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    let [_, second, third] = ids[..] else {
        panic!("three entries: {ids:?}");
    };
    for refused in [
        "UPDATE audit_log SET action = 'staff.sign_out' WHERE id = $1",
        "DELETE FROM audit_log WHERE id = $1",
    ] {
        let error = sqlx::query(refused)
            .bind(second)
            .execute(store.read())
            .await
            .unwrap_err();
        assert!(error.to_string().contains("append-only"), "{error}");
    }
    // Someone with the database's owner role goes around the trigger: verify notices.
    sqlx::raw_sql("DROP TRIGGER audit_log_no_update ON audit_log")
        .execute(store.read())
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET source = '10.0.0.1' WHERE id = $1")
        .bind(second)
        .execute(store.read())
        .await
        .unwrap();
    assert_eq!(
        audit::verify(&store, practice).await.unwrap(),
        Err(audit::ChainError::Altered { id: second })
    );
    sqlx::query("UPDATE audit_log SET source = NULL WHERE id = $1")
        .bind(second)
        .execute(store.read())
        .await
        .unwrap();
    assert_eq!(
        audit::verify(&store, practice).await.unwrap(),
        Ok(3),
        "put back"
    );
    sqlx::query("DELETE FROM audit_log WHERE id = $1")
        .bind(second)
        .execute(store.read())
        .await
        .unwrap();
    assert_eq!(
        audit::verify(&store, practice).await.unwrap(),
        Err(audit::ChainError::Link { id: third })
    );
}

/// What the description of a client's tables (`client_tables.rs`) misses or gets wrong
/// about the schema of `db`: a table with a `client_id` column or a foreign key to
/// `clients` that is not listed, a listed table or column that does not exist, a column
/// not described (or out of order), a kind that does not fit the column's type, a column
/// named like a secret that is not described as one.
async fn undescribed(db: &sqlx::PgPool) -> Vec<String> {
    use store::rights::{Kind, Record, is_secret_column};
    let mut problems = Vec::new();
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
           AND table_name <> 'anteroom_schema'
         ORDER BY table_name",
    )
    .fetch_all(db)
    .await
    .unwrap();
    assert!(names.iter().any(|n| n == "clients"), "{names:?}");
    for table in crate::client_tables::CLIENT_TABLES {
        if !names.iter().any(|n| n == table.table) {
            problems.push(format!("{} is described but is not a table", table.table));
        }
    }
    let mut records: Vec<Record> = crate::client_tables::CLIENT_TABLES
        .iter()
        .map(|t| t.record)
        .collect();
    records.sort();
    if records != Record::ALL {
        problems.push(format!("each kind of record once: {records:?}"));
    }
    for name in &names {
        let columns: Vec<(String, String)> = sqlx::query_as(
            "SELECT column_name::text, data_type::text FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name = $1
             ORDER BY ordinal_position",
        )
        .bind(name)
        .fetch_all(db)
        .await
        .unwrap();
        let to_clients: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_constraint
             WHERE contype = 'f' AND conrelid = to_regclass('public.' || quote_ident($1))
               AND confrelid = 'public.clients'::regclass",
        )
        .bind(name)
        .fetch_one(db)
        .await
        .unwrap();
        let Some(described) = crate::client_tables::CLIENT_TABLES
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
                Kind::Integer | Kind::Bool | Kind::Instant => kind == "bigint",
                Kind::Text | Kind::Date => kind == "text",
                Kind::Bytes | Kind::Note => kind == "bytea",
                Kind::Secret => kind == "bytea" || kind == "text",
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
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_table_about_a_client_is_described() {
    let Some((_db, store)) = fresh().await else {
        return;
    };
    assert_eq!(undescribed(store.read()).await, Vec::<String>::new());
    sqlx::raw_sql(
        "CREATE TABLE client_moods (id BIGINT PRIMARY KEY, client_id BIGINT, mood TEXT);
         CREATE TABLE session_extras (session_id BIGINT, payer BIGINT REFERENCES clients(id));
         ALTER TABLE notes ADD COLUMN share_token TEXT;
         ALTER TABLE invoices ALTER COLUMN number TYPE INTEGER;",
    )
    .execute(store.read())
    .await
    .unwrap();
    let problems = undescribed(store.read()).await;
    for expected in [
        "client_moods refers to clients but is not described",
        "session_extras refers to clients but is not described",
        "notes.share_token looks secret",
        "invoices.number is integer, not Integer",
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_claims_across_two_handles() {
    let Some((_db, first, second)) = two_handles().await else {
        return;
    };
    store_conformance::job_claims_from_two_writers(first, second).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_story() {
    let Some((_db, store)) = fresh().await else {
        return;
    };
    store_conformance::health_story(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_story() {
    let Some((_db, store)) = fresh().await else {
        return;
    };
    store_conformance::photos_story(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photo_races_across_two_handles() {
    let Some((_db, first, second)) = two_handles().await else {
        return;
    };
    store_conformance::photo_races(first, second).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_portraits_story() {
    let Some((_db, store)) = fresh().await else {
        return;
    };
    store_conformance::remote_portraits_story(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_portrait_races_across_two_handles() {
    let Some((_db, first, second)) = two_handles().await else {
        return;
    };
    store_conformance::remote_portrait_races(first, second).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_order_story() {
    let Some((_db, store)) = fresh().await else {
        return;
    };
    store_conformance::mail_order_story(&store).await;
}
