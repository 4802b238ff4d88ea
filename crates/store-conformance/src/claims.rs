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
