//! The client portal: sign-in links and sessions, and the client's own changes.

use super::*;

/// A 32-byte stand-in for the SHA-256 of a secret.
pub(crate) fn hash_of(label: &str) -> Vec<u8> {
    let mut hash = [0u8; 32];
    for (i, b) in label.bytes().enumerate().take(32) {
        hash[i] = b;
    }
    hash[31] = 0xAA;
    hash.to_vec()
}

/// A client of the portal story: Mondays at `hour` online, weekly, from 3 May 2027.
pub(crate) async fn portal_client(
    store: &dyn Store,
    practice: store::PracticeId,
    email: &str,
    hour: i8,
    now: Timestamp,
) -> store::ClientId {
    use domain::{
        ContactPreference, Pence,
        therapy::{ContractKind, ContractTerms, Frequency, WeeklyTime, schedule::plan},
    };
    use jiff::{civil::Weekday, tz::TimeZone};
    let client = store
        .create_client(
            practice,
            &store::NewClient {
                name: PersonName::parse("Morgan Lea").unwrap(),
                email: EmailAddress::parse(email).unwrap(),
                phone: None,
                contact_preference: ContactPreference::Email,
                reminders: true,
            },
            None,
            now,
        )
        .await
        .unwrap();
    let zone = TimeZone::get("Europe/London").unwrap();
    let planner = move |terms: &ContractTerms, kept: &[domain::therapy::schedule::Kept], from| {
        plan(terms, &zone, &[], kept, from, date(2027, 6, 30))
    };
    let terms = ContractTerms {
        kind: ContractKind::Brief {
            focus: "Work and rest.".into(),
            sessions: 3,
            reviews_at: vec![],
        },
        frequency: Frequency::Weekly,
        times: vec![WeeklyTime {
            weekday: Weekday::Monday,
            time: jiff::civil::time(hour, 0, 0, 0),
        }],
        location: Slug::parse("online").unwrap(),
        minutes: 50,
        fee: Pence::new(6500),
        start: date(2027, 5, 3),
        policy_version: 1,
    };
    store
        .save_contract(practice, client, None, &terms, "", now, &planner, now)
        .await
        .unwrap();
    client
}

/// The client portal: finding a client by email, single-use links bound to a browser,
/// sessions, and a client cancelling their own session.
pub(crate) async fn portal_story(store: &dyn Store, practice: store::PracticeId) {
    use domain::{
        Pence,
        therapy::{ContractTerms, policy::Outcome, schedule::plan},
    };
    use jiff::{SignedDuration, tz::TimeZone};

    use store::{NewCharge, NewPortalLink, SessionStatus};
    let now = Timestamp::from_second(1_800_000_000).unwrap(); // 2027-01-15
    let client = portal_client(store, practice, "Morgan.Lea@example.com", 18, now).await;

    // Found by email whatever the case; an unknown address finds nobody.
    let found = store
        .client_by_email(
            practice,
            &EmailAddress::parse("morgan.lea@EXAMPLE.com").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        found.map(|c| c.id),
        Some(client),
        "found by email, any case"
    );
    assert!(
        store
            .client_by_email(
                practice,
                &EmailAddress::parse("nobody@example.com").unwrap()
            )
            .await
            .unwrap()
            .is_none()
    );

    // A link and its email are stored together.
    let queued = store.outbox(practice, 500).await.unwrap().len();
    let link = NewPortalLink {
        token_hash: hash_of("link-1"),
        client,
        browser_hash: hash_of("browser-1"),
        expires_at: now + SignedDuration::from_mins(10),
    };
    let email = NewMessage {
        kind: "portal_link".into(),
        to: EmailAddress::parse("morgan.lea@example.com").unwrap(),
        subject: "Your sign-in link".into(),
        body_text: "A link.".into(),
        calendar: None,
    };
    store
        .create_portal_link(practice, &link, &email, now)
        .await
        .unwrap();
    assert_eq!(store.outbox(practice, 500).await.unwrap().len(), queued + 1);
    let stored = store
        .portal_link(practice, &link.token_hash)
        .await
        .unwrap()
        .expect("the link is stored");
    assert_eq!(
        (stored.client, stored.used_at, stored.expires_at),
        (client, None, link.expires_at)
    );
    assert!(
        store
            .portal_link(store::PracticeId::new(999), &link.token_hash)
            .await
            .unwrap()
            .is_none(),
        "another practice's link is not found"
    );
    // A link for a client of no practice of ours is refused, and its email is not queued.
    let stray = NewPortalLink {
        token_hash: hash_of("stray"),
        client: store::ClientId::new(999_999),
        ..link.clone()
    };
    assert!(matches!(
        store
            .create_portal_link(practice, &stray, &email, now)
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.outbox(practice, 500).await.unwrap().len(), queued + 1);

    // Another browser cannot use it, and trying does not use it up.
    let soon = now + SignedDuration::from_mins(2);
    assert_eq!(
        store
            .use_portal_link(
                practice,
                &link.token_hash,
                &hash_of("browser-2"),
                &hash_of("s-0"),
                soon
            )
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .portal_session(&hash_of("s-0"))
            .await
            .unwrap()
            .is_none()
    );
    // The browser that asked signs in, once.
    assert_eq!(
        store
            .use_portal_link(
                practice,
                &link.token_hash,
                &link.browser_hash,
                &hash_of("s-1"),
                soon
            )
            .await
            .unwrap(),
        Some(client)
    );
    assert_eq!(
        store
            .use_portal_link(
                practice,
                &link.token_hash,
                &link.browser_hash,
                &hash_of("s-2"),
                soon
            )
            .await
            .unwrap(),
        None,
        "a link works once"
    );
    assert!(
        store
            .portal_session(&hash_of("s-2"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .portal_link(practice, &link.token_hash)
            .await
            .unwrap()
            .unwrap()
            .used_at,
        Some(soon)
    );
    let session = store
        .portal_session(&hash_of("s-1"))
        .await
        .unwrap()
        .expect("the portal session");
    assert_eq!(
        (
            session.practice,
            session.client,
            session.created_at,
            session.last_seen_at
        ),
        (practice, client, soon, soon)
    );
    let later = soon + SignedDuration::from_mins(5);
    store
        .touch_portal_session(&hash_of("s-1"), later)
        .await
        .unwrap();
    assert_eq!(
        store
            .portal_session(&hash_of("s-1"))
            .await
            .unwrap()
            .unwrap()
            .last_seen_at,
        later
    );
    store.delete_portal_session(&hash_of("s-1")).await.unwrap();
    assert!(
        store
            .portal_session(&hash_of("s-1"))
            .await
            .unwrap()
            .is_none()
    );

    // An expired link does not work, even in the right browser.
    let old = NewPortalLink {
        token_hash: hash_of("link-2"),
        ..link.clone()
    };
    store
        .create_portal_link(practice, &old, &email, now)
        .await
        .unwrap();
    assert_eq!(
        store
            .use_portal_link(
                practice,
                &old.token_hash,
                &old.browser_hash,
                &hash_of("s-3"),
                old.expires_at
            )
            .await
            .unwrap(),
        None,
        "a link ends at its expiry"
    );
    // Links long expired are cleared out when another is made.
    let next_day = now + SignedDuration::from_hours(30);
    let fresh = NewPortalLink {
        token_hash: hash_of("link-3"),
        expires_at: next_day + SignedDuration::from_mins(10),
        ..link.clone()
    };
    store
        .create_portal_link(practice, &fresh, &email, next_day)
        .await
        .unwrap();
    assert!(
        store
            .portal_link(practice, &old.token_hash)
            .await
            .unwrap()
            .is_none()
    );

    // The client changes their own details (never their name or address); a client of no
    // practice of ours changes nothing.
    let mut details = store::OwnDetails {
        phone: Some(domain::PhoneNumber::parse("07700 900 123").unwrap()),
        contact_preference: domain::ContactPreference::Phone,
        reminders: false,
    };
    store
        .update_own_details(practice, client, &details, now)
        .await
        .unwrap();
    let changed = store.client(practice, client).await.unwrap();
    assert_eq!(
        (
            changed.email.as_str(),
            changed.name.as_str(),
            changed.phone.as_ref().map(|p| p.as_str()),
            changed.contact_preference,
            changed.reminders
        ),
        (
            "Morgan.Lea@example.com",
            "Morgan Lea",
            Some("07700 900 123"),
            domain::ContactPreference::Phone,
            false
        )
    );
    details.reminders = true;
    assert!(matches!(
        store
            .update_own_details(practice, store::ClientId::new(999_999), &details, now)
            .await,
        Err(StoreError::NotFound)
    ));

    email_change_story(store, practice, client, now).await;

    // The client cancels their own session, with its charge and messages, in one go.
    let zone = TimeZone::get("Europe/London").unwrap();
    let planner = move |terms: &ContractTerms, kept: &[domain::therapy::schedule::Kept], from| {
        plan(terms, &zone, &[], kept, from, date(2027, 6, 30))
    };
    let sessions = store.client_sessions(practice, client).await.unwrap();
    assert_eq!(sessions.len(), 3);
    let charge = NewCharge {
        outcome: Outcome::CancelledInTime,
        told_at: Some(now),
        amount: Pence::new(0),
        rule: "Cancelled in good time: no charge.".into(),
        policy_version: 1,
        used_free_allowance: false,
    };
    let notice = NewMessage {
        kind: "portal_cancellation".into(),
        ..email.clone()
    };
    let other = portal_client(store, practice, "someone.else@example.com", 20, now).await;
    assert!(
        matches!(
            store
                .cancel_own_session(
                    practice,
                    other,
                    sessions[0].id,
                    &charge,
                    &planner,
                    std::slice::from_ref(&notice),
                    now
                )
                .await,
            Err(StoreError::NotFound)
        ),
        "another client's session is not theirs to cancel"
    );
    let queued = store.outbox(practice, 500).await.unwrap().len();
    let cancelled = store
        .cancel_own_session(
            practice,
            client,
            sessions[0].id,
            &charge,
            &planner,
            std::slice::from_ref(&notice),
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        cancelled.status,
        SessionStatus::Done(Outcome::CancelledInTime)
    );
    assert_eq!(
        cancelled.charge.as_ref().map(|c| c.amount),
        Some(Pence::new(0))
    );
    assert_eq!(store.outbox(practice, 500).await.unwrap().len(), queued + 1);
    let after = store.client_sessions(practice, client).await.unwrap();
    assert_eq!(
        after
            .iter()
            .filter(|s| s.status == SessionStatus::Scheduled)
            .count(),
        3,
        "brief work gains a session at the end for one cancelled in time"
    );
    assert_eq!(
        conflict_of(
            &store
                .cancel_own_session(
                    practice,
                    client,
                    sessions[0].id,
                    &charge,
                    &planner,
                    std::slice::from_ref(&notice),
                    now
                )
                .await
        ),
        Some(ConflictKind::NotCancellable),
        "a session is cancelled once"
    );
    assert_eq!(
        conflict_of(
            &store
                .cancel_own_session(
                    practice,
                    client,
                    sessions[1].id,
                    &charge,
                    &planner,
                    &[],
                    sessions[1].start
                )
                .await
        ),
        Some(ConflictKind::NotCancellable),
        "a session that has started cannot be cancelled by the client"
    );
    assert_eq!(store.outbox(practice, 500).await.unwrap().len(), queued + 1);
}
