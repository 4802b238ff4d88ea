//! The conformance stories (`store-conformance`) on SQLite, each on a fresh file.

use super::*;

#[tokio::test]
async fn appointments_give_their_time_back() {
    let (_dir, store) = fresh().await;
    store_conformance::appointments_give_their_time_back(&store).await;
    let (bookings, sessions) = assert_occupancy_in_step(&store.reader).await;
    assert_eq!(
        (bookings, sessions),
        (4, 0),
        "the erased client's sessions went too"
    );
}

#[tokio::test]
async fn break_changes_all_or_nothing() {
    let (_dir, store) = fresh().await;
    store_conformance::break_changes_all_or_nothing(&store).await;
    assert_occupancy_in_step(&store.reader).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invoices_across_two_handles() {
    let (_dir, first, second) = two_handles().await;
    store_conformance::concurrent_invoices_from_two_writers(first, second).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_audit_across_two_handles() {
    let (_dir, first, second) = two_handles().await;
    store_conformance::concurrent_audit_from_two_writers(first, second).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_and_a_session_race_across_two_handles() {
    let (dir, first, second) = two_handles().await;
    store_conformance::booking_and_session_race(first, second).await;
    let store = SqliteStore::open(&dir.path().join("anteroom.db"), OpenMode::Existing)
        .await
        .unwrap();
    let (bookings, sessions) = assert_occupancy_in_step(&store.reader).await;
    assert_eq!(sessions, 12, "every session holds time, moved or not");
    assert!(
        bookings <= 12,
        "at most one booking won each round: {bookings}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_bookings() {
    let (_dir, store) = fresh().await;
    store_conformance::concurrent_bookings(std::sync::Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invoices() {
    let (_dir, store) = fresh().await;
    store_conformance::concurrent_invoices(std::sync::Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_portal_sign_ins() {
    let (_dir, store) = fresh().await;
    store_conformance::concurrent_portal_sign_ins(std::sync::Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_limits_across_two_handles() {
    let (_dir, first, second) = two_handles().await;
    store_conformance::concurrent_limits(first, second).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claims_across_two_handles() {
    let (_dir, first, second) = two_handles().await;
    store_conformance::concurrent_claims(first, second).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_email_changes() {
    let (_dir, store) = fresh().await;
    store_conformance::concurrent_email_changes(std::sync::Arc::new(store)).await;
}

#[tokio::test]
async fn directory_story() {
    let (_dir, store) = fresh().await;
    store_conformance::directory_story(&store).await;
}

#[tokio::test]
async fn operators_story() {
    let (_dir, store) = fresh().await;
    store_conformance::operators_story(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_races_across_two_handles() {
    let (_dir, first, second) = two_handles().await;
    store_conformance::operator_races(first, second).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_claims_across_two_handles() {
    let (_dir, first, second) = two_handles().await;
    store_conformance::job_claims_from_two_writers(first, second).await;
}

#[tokio::test]
async fn measures_story() {
    let (_dir, store) = fresh().await;
    store_conformance::measures_story(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measure_races_across_two_handles() {
    let (_dir, first, second) = two_handles().await;
    store_conformance::measure_races(first, second).await;
}

#[tokio::test]
async fn health_story() {
    let (_dir, store) = fresh().await;
    store_conformance::health_story(&store).await;
}

#[tokio::test]
async fn photos_story() {
    let (_dir, store) = fresh().await;
    store_conformance::photos_story(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photo_races_across_two_handles() {
    let (_dir, first, second) = two_handles().await;
    store_conformance::photo_races(first, second).await;
}

#[tokio::test]
async fn remote_portraits_story() {
    let (_dir, store) = fresh().await;
    store_conformance::remote_portraits_story(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_portrait_races_across_two_handles() {
    let (_dir, first, second) = two_handles().await;
    store_conformance::remote_portrait_races(first, second).await;
}

#[tokio::test]
async fn mail_order_story() {
    let (_dir, store) = fresh().await;
    store_conformance::mail_order_story(&store).await;
}
