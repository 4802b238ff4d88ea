//! Health: the schema as this build knows it, the mail waiting and since when, the jobs'
//! next run, and the pools.

use jiff::SignedDuration;

use super::*;

/// On a new store: every migration applied; what waits in the outbox counted from the
/// oldest; the jobs' next run as claimed; the pools' use within their limits.
pub async fn health_story(store: &dyn Store) {
    let start = store.health().await.unwrap();
    assert!(start.schema > 0);
    assert_eq!(start.schema, start.schema_known, "every migration applied");
    assert_eq!(
        (
            start.outbox_pending,
            start.oldest_pending,
            start.earliest_job_due
        ),
        (0, None, None)
    );
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let setup = PracticeSetup::from_toml(PRACTICE).unwrap();
    let practice = store.create_practice(&setup, now).await.unwrap();
    let message = NewMessage {
        kind: "enquiry".into(),
        to: EmailAddress::parse("health@example.com").unwrap(),
        subject: "Hello".into(),
        body_text: "Words.".into(),
        calendar: None,
    };
    let later = now + SignedDuration::from_mins(5);
    let first = store.enqueue(practice, &message, now).await.unwrap();
    store.enqueue(practice, &message, later).await.unwrap();
    let waiting = store.health().await.unwrap();
    assert_eq!(
        (waiting.outbox_pending, waiting.oldest_pending),
        (2, Some(now))
    );
    store.mark_sent(first, later).await.unwrap();
    let one = store.health().await.unwrap();
    assert_eq!((one.outbox_pending, one.oldest_pending), (1, Some(later)));
    store
        .claim_jobs(&[practice], now, SignedDuration::from_mins(1))
        .await
        .unwrap();
    assert_eq!(
        store.health().await.unwrap().earliest_job_due,
        Some(now + SignedDuration::from_mins(1))
    );
    let pools = store.pools();
    assert!(!pools.is_empty());
    for pool in pools {
        assert!(pool.max >= 1 && pool.open <= pool.max && pool.idle <= pool.open);
    }
}
