//! Rate-limit counters, one step at a time and from two handles at once.

use super::*;

/// Rate-limit counters, one step at a time: a window of `max`, refusals until it ends, a
/// new window after, places given back, counters apart by practice, kind and subject.
pub(crate) async fn limits_story(store: &dyn Store, practice: store::PracticeId, now: Timestamp) {
    use jiff::SignedDuration;
    use store::{LimitKey, LimitRule, Reservation};
    let key = |kind: &'static str, subject: &str| LimitKey {
        practice,
        kind,
        subject: hash_of(subject).try_into().unwrap(),
    };
    let rule = LimitRule {
        max: 3,
        window: SignedDuration::from_mins(15),
    };
    let enquiry = key("enquiry", "192.0.2.1");
    for n in 0..3 {
        assert_eq!(
            store
                .reserve(&enquiry, rule, now + SignedDuration::from_mins(n))
                .await
                .unwrap(),
            Reservation::Counted
        );
    }
    let end = now + SignedDuration::from_mins(15);
    assert_eq!(
        store
            .reserve(&enquiry, rule, now + SignedDuration::from_mins(5))
            .await
            .unwrap(),
        Reservation::Refused { until: end },
        "the window runs from its first attempt"
    );
    assert_eq!(
        store
            .reserve(&key("booking", "192.0.2.1"), rule, now)
            .await
            .unwrap(),
        Reservation::Counted,
        "another kind has its own counter"
    );
    assert_eq!(
        store
            .reserve(&key("enquiry", "192.0.2.2"), rule, now)
            .await
            .unwrap(),
        Reservation::Counted,
        "another subject has its own counter"
    );
    // A place given back can be taken again; giving back never goes below nothing.
    store.release(&enquiry, now).await.unwrap();
    assert_eq!(
        store.reserve(&enquiry, rule, now).await.unwrap(),
        Reservation::Counted
    );
    assert!(matches!(
        store.reserve(&enquiry, rule, now).await.unwrap(),
        Reservation::Refused { .. }
    ));
    // When the window ends, a new one starts with this attempt.
    assert_eq!(
        store.reserve(&enquiry, rule, end).await.unwrap(),
        Reservation::Counted
    );
    assert_eq!(
        store.reserve(&enquiry, rule, end).await.unwrap(),
        Reservation::Counted
    );
    // Clearing forgets the counter at once.
    store.clear_limit(&enquiry).await.unwrap();
    for _ in 0..3 {
        assert_eq!(
            store.reserve(&enquiry, rule, end).await.unwrap(),
            Reservation::Counted
        );
    }
    // Ended windows are deleted; live ones stay.
    let forgotten = store
        .forget_ended_limits(now + SignedDuration::from_mins(20))
        .await
        .unwrap();
    assert_eq!(forgotten, 2, "the booking and second-address windows ended");
    assert!(matches!(
        store.reserve(&enquiry, rule, end).await.unwrap(),
        Reservation::Refused { .. }
    ));
}

/// Sixty attempts against a limit of five at once, through two handles on one database
/// (two processes, as in hosted mode): exactly five are counted.
pub async fn concurrent_limits(
    first: std::sync::Arc<dyn Store>,
    second: std::sync::Arc<dyn Store>,
) {
    use store::{LimitKey, LimitRule, Reservation};
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let setup = PracticeSetup::from_toml(PRACTICE).unwrap();
    let practice = first.create_practice(&setup, now).await.unwrap();
    let key = LimitKey {
        practice,
        kind: "enquiry",
        subject: hash_of("203.0.113.9").try_into().unwrap(),
    };
    let rule = LimitRule {
        max: 5,
        window: jiff::SignedDuration::from_hours(1),
    };
    let mut tasks = Vec::new();
    for n in 0..60 {
        let store = if n % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            store.reserve(&key, rule, now).await.unwrap()
        }));
    }
    let mut counted = 0;
    for task in tasks {
        if task.await.unwrap() == Reservation::Counted {
            counted += 1;
        }
    }
    assert_eq!(
        counted, 5,
        "exactly the limit is counted, however the attempts arrive"
    );
}

/// A practice's timed jobs are claimed by one of several processes per period: 20 claims
/// at once, from two handles, make one for each practice; a claim not ended stays; the next
/// period is free again; more practices than one statement takes are claimed in one call.
pub async fn job_claims_from_two_writers(
    first: std::sync::Arc<dyn Store>,
    second: std::sync::Arc<dyn Store>,
) {
    use jiff::SignedDuration;
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let setup = PracticeSetup::from_toml(PRACTICE).unwrap();
    let practice = first.create_practice(&setup, now).await.unwrap();
    let other = first.create_practice(&setup, now).await.unwrap();
    let minute = SignedDuration::from_mins(1);
    let both = [practice, other];
    let attempts = (0..20).map(|n| {
        let store = if n % 2 == 0 { &first } else { &second };
        let store = std::sync::Arc::clone(store);
        tokio::spawn(async move { store.claim_jobs(&both, now, minute).await.unwrap() })
    });
    let mut claimed = Vec::new();
    for attempt in attempts {
        claimed.extend(attempt.await.unwrap());
    }
    claimed.sort_unstable();
    assert_eq!(claimed, vec![practice, other], "one claim a period, each");
    let almost = now + SignedDuration::from_secs(59);
    assert_eq!(
        second.claim_jobs(&both, almost, minute).await.unwrap(),
        vec![]
    );
    assert_eq!(
        second
            .claim_jobs(&[practice], now + minute, minute)
            .await
            .unwrap(),
        vec![practice],
        "the next period is free"
    );
    assert_eq!(
        first.claim_jobs(&both, now + minute, minute).await.unwrap(),
        vec![other],
        "the claim just made stays"
    );
    // More practices than one statement takes (500), each named twice: each claimed once.
    let mut many = Vec::new();
    for _ in 0..510 {
        many.push(first.create_practice(&setup, now).await.unwrap());
    }
    let twice: Vec<store::PracticeId> = many.iter().chain(&many).copied().collect();
    assert_eq!(first.claim_jobs(&twice, now, minute).await.unwrap(), many);
}
