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
