//! The conformance stories (`store-conformance`) on PostgreSQL, each on a database of its own.

use super::*;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measure_races_across_two_handles() {
    let Some((_db, first, second)) = two_handles().await else {
        return;
    };
    store_conformance::measure_races(first, second).await;
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
