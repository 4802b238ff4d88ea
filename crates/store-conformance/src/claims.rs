//! Outbox claims: two workers never hold the same message.

use super::*;

/// Eight workers, half through each of two handles on one database (two processes, as in
/// hosted mode), claim 300 messages in small batches at once: each message is claimed by
/// exactly one of them, and by another only once the lease has ended.
pub async fn concurrent_claims(
    first: std::sync::Arc<dyn Store>,
    second: std::sync::Arc<dyn Store>,
) {
    use std::collections::HashSet;
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let lease = jiff::SignedDuration::from_mins(5);
    let setup = PracticeSetup::from_toml(PRACTICE).unwrap();
    let practice = first.create_practice(&setup, now).await.unwrap();
    let mut queued = HashSet::new();
    for n in 0..300 {
        let message = NewMessage {
            kind: "claim_test".into(),
            to: EmailAddress::parse(&format!("client{n}@example.com")).unwrap(),
            subject: format!("Message {n}"),
            body_text: "Hello.".into(),
            calendar: None,
        };
        queued.insert(first.enqueue(practice, &message, now).await.unwrap());
    }
    let mut tasks = Vec::new();
    for n in 0..8 {
        let store = if n % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        tasks.push(tokio::spawn(async move {
            let mut claimed = Vec::new();
            loop {
                let batch = store.claim_due(now, lease, 7).await.unwrap();
                if batch.is_empty() {
                    return claimed;
                }
                assert!(batch.len() <= 7, "no more than the limit at a time");
                claimed.extend(batch.into_iter().map(|m| m.id));
            }
        }));
    }
    let mut claimed = HashSet::new();
    for task in tasks {
        for id in task.await.unwrap() {
            assert!(claimed.insert(id), "{id:?} was claimed twice");
        }
    }
    assert_eq!(
        claimed, queued,
        "every message is claimed, each by one worker"
    );
    let handed_on = second.claim_due(now + lease, lease, 1000).await.unwrap();
    assert_eq!(
        handed_on.len(),
        300,
        "when the lease ends unmarked, every message is due again"
    );
}

/// The handle the `n`th racer writes through: even through `first`, odd through `second`.
pub(crate) fn either(
    n: usize,
    first: &std::sync::Arc<dyn Store>,
    second: &std::sync::Arc<dyn Store>,
) -> std::sync::Arc<dyn Store> {
    if n.is_multiple_of(2) {
        first.clone()
    } else {
        second.clone()
    }
}

/// Mail to one address goes in the order it was queued: a message is not claimed while an
/// older one of the practice to the same address waits (claimed, or to be tried again);
/// another address, or another practice's mail to it, is not held up. A message sent means
/// the server takes mail again: those waiting after a failed attempt are due at once.
pub async fn mail_order_story(store: &dyn Store) {
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let lease = jiff::SignedDuration::from_mins(5);
    let setup = PracticeSetup::from_toml(PRACTICE).unwrap();
    let practice = store.create_practice(&setup, now).await.unwrap();
    let other = store.create_practice(&setup, now).await.unwrap();
    let to = |practice, address: &str, subject: &str| {
        let message = NewMessage {
            kind: "order_test".into(),
            to: EmailAddress::parse(address).unwrap(),
            subject: subject.into(),
            body_text: "Hello.".into(),
            calendar: None,
        };
        async move { store.enqueue(practice, &message, now).await.unwrap() }
    };
    let first = to(practice, "rowan@example.com", "first").await;
    let second = to(practice, "rowan@example.com", "second").await;
    let elsewhere = to(practice, "sorrel@example.com", "elsewhere").await;
    let theirs = to(other, "rowan@example.com", "theirs").await;
    let ids =
        |batch: Vec<store::OutboxMessage>| batch.into_iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.claim_due(now, lease, 10).await.unwrap()),
        [first, elsewhere, theirs],
        "the second to rowan waits for the first"
    );
    assert!(store.claim_due(now, lease, 10).await.unwrap().is_empty());
    let later = now + jiff::SignedDuration::from_mins(10);
    store
        .mark_failed(first, "451 try again later", Some(later))
        .await
        .unwrap();
    assert!(
        store.claim_due(now, lease, 10).await.unwrap().is_empty(),
        "still waiting behind the first, now to be tried again"
    );
    let moment = now + jiff::SignedDuration::from_secs(30);
    store.mark_sent(elsewhere, moment).await.unwrap();
    assert_eq!(
        ids(store.claim_due(moment, lease, 10).await.unwrap()),
        [first],
        "a message got through: the first is due at once, ahead of the second"
    );
    store.mark_sent(first, moment).await.unwrap();
    assert_eq!(
        ids(store.claim_due(moment, lease, 10).await.unwrap()),
        [second]
    );
}
