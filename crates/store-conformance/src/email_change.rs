//! A client's new email address, confirmed from its inbox, and many at once.

use super::*;

/// The confirmation email of a change of email address, to `to`.
pub(crate) fn confirmation_email(to: &str) -> NewMessage {
    NewMessage {
        kind: "portal_email_confirm".into(),
        to: EmailAddress::parse(to).unwrap(),
        subject: "Confirm your email address".into(),
        body_text: "A link.".into(),
        calendar: None,
    }
}

/// What [`email_change_story`] queues for an outcome: a notice of its kind.
pub(crate) fn email_change_notices(outcome: &store::EmailChangeOutcome) -> Vec<NewMessage> {
    use store::EmailChangeOutcome;
    let (kind, to) = match outcome {
        EmailChangeOutcome::Changed { client, .. } => ("changed", client.email.as_str()),
        EmailChangeOutcome::Clash { .. } => ("clash", "therapist@example.com"),
    };
    vec![NewMessage {
        kind: format!("email_change_{kind}"),
        to: EmailAddress::parse(to).unwrap(),
        subject: "Notice".into(),
        body_text: "Notice.".into(),
        calendar: None,
    }]
}

/// Changes of email address: stored with their confirmation email, a newer one replacing
/// an older one, a limit per client, made only when the link is followed (once, before it
/// expires), and never onto another client's address.
pub(crate) async fn email_change_story(
    store: &dyn Store,
    practice: store::PracticeId,
    client: store::ClientId,
    now: Timestamp,
) {
    use jiff::SignedDuration;

    use store::{EmailChangeLimit, EmailChangeOutcome, NewEmailChange};
    let limit = EmailChangeLimit {
        max: 3,
        within: SignedDuration::from_hours(1),
    };
    let before = store.client(practice, client).await.unwrap();
    let queued = store.outbox(practice, 500).await.unwrap().len();
    let first = NewEmailChange {
        token_hash: hash_of("change-1"),
        client,
        new_email: EmailAddress::parse("morgan.first@example.com").unwrap(),
        expires_at: now + SignedDuration::from_hours(24),
    };
    store
        .request_email_change(
            practice,
            &first,
            &confirmation_email("morgan.first@example.com"),
            limit,
            now,
        )
        .await
        .unwrap();
    assert_eq!(store.outbox(practice, 500).await.unwrap().len(), queued + 1);
    let stored = store
        .email_change(practice, &first.token_hash)
        .await
        .unwrap()
        .expect("the change is stored");
    assert_eq!(
        (
            stored.client,
            stored.new_email.as_str(),
            stored.created_at,
            stored.expires_at,
            stored.used_at,
            stored.replaced_at
        ),
        (
            client,
            "morgan.first@example.com",
            now,
            first.expires_at,
            None,
            None
        )
    );
    assert!(stored.usable(now) && !stored.usable(first.expires_at));
    assert_eq!(
        store.client(practice, client).await.unwrap().email,
        before.email,
        "asking changes nothing"
    );
    assert!(
        store
            .email_change(store::PracticeId::new(999), &first.token_hash)
            .await
            .unwrap()
            .is_none(),
        "another practice's change is not found"
    );
    // For a client of no practice of ours: nothing stored, nothing queued.
    let stray = NewEmailChange {
        token_hash: hash_of("change-stray"),
        client: store::ClientId::new(999_999),
        ..first.clone()
    };
    assert!(matches!(
        store
            .request_email_change(
                practice,
                &stray,
                &confirmation_email("x@example.com"),
                limit,
                now
            )
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(
        store
            .email_change(practice, &stray.token_hash)
            .await
            .unwrap()
            .is_none()
    );

    // A newer request replaces the older one, whose link no longer works.
    let second = NewEmailChange {
        token_hash: hash_of("change-2"),
        new_email: EmailAddress::parse("morgan.second@example.com").unwrap(),
        ..first.clone()
    };
    store
        .request_email_change(
            practice,
            &second,
            &confirmation_email("morgan.second@example.com"),
            limit,
            now,
        )
        .await
        .unwrap();
    let replaced = store
        .email_change(practice, &first.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(replaced.replaced_at, Some(now));
    assert!(!replaced.usable(now));
    assert_eq!(
        store
            .confirm_email_change(practice, &first.token_hash, &email_change_notices, now)
            .await
            .unwrap(),
        None,
        "a replaced link does not work"
    );

    // The third request in the hour is the last the limit allows; the fourth stores and
    // queues nothing.
    let third = NewEmailChange {
        token_hash: hash_of("change-3"),
        new_email: EmailAddress::parse("morgan.third@example.com").unwrap(),
        ..first.clone()
    };
    store
        .request_email_change(
            practice,
            &third,
            &confirmation_email("morgan.third@example.com"),
            limit,
            now,
        )
        .await
        .unwrap();
    let queued = store.outbox(practice, 500).await.unwrap().len();
    let fourth = NewEmailChange {
        token_hash: hash_of("change-4"),
        ..third.clone()
    };
    assert_eq!(
        conflict_of(
            &store
                .request_email_change(
                    practice,
                    &fourth,
                    &confirmation_email("morgan.third@example.com"),
                    limit,
                    now + SignedDuration::from_mins(59)
                )
                .await
        ),
        Some(ConflictKind::EmailChangeLimit)
    );
    assert_eq!(store.outbox(practice, 500).await.unwrap().len(), queued);
    assert!(
        store
            .email_change(practice, &fourth.token_hash)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .email_change(practice, &third.token_hash)
            .await
            .unwrap()
            .unwrap()
            .usable(now),
        "a refused request replaces nothing"
    );
    // An expired link does not work.
    assert_eq!(
        store
            .confirm_email_change(
                practice,
                &third.token_hash,
                &email_change_notices,
                third.expires_at
            )
            .await
            .unwrap(),
        None,
        "a link ends at its expiry"
    );

    // An hour on, the client may ask again; following the link changes the address, with
    // the notices queued, once.
    let later = now + SignedDuration::from_hours(1);
    let fifth = NewEmailChange {
        token_hash: hash_of("change-5"),
        new_email: EmailAddress::parse("morgan.fifth@example.com").unwrap(),
        expires_at: later + SignedDuration::from_hours(24),
        ..first.clone()
    };
    store
        .request_email_change(
            practice,
            &fifth,
            &confirmation_email("morgan.fifth@example.com"),
            limit,
            later,
        )
        .await
        .unwrap();
    let queued = store.outbox(practice, 500).await.unwrap().len();
    let outcome = store
        .confirm_email_change(practice, &fifth.token_hash, &email_change_notices, later)
        .await
        .unwrap()
        .expect("the link works");
    let EmailChangeOutcome::Changed {
        client: was,
        new_email,
    } = outcome
    else {
        panic!("the address changes: {outcome:?}");
    };
    assert_eq!(
        (was.id, was.email.as_str(), new_email.as_str()),
        (client, before.email.as_str(), "morgan.fifth@example.com")
    );
    let changed = store.client(practice, client).await.unwrap();
    assert_eq!(changed.email.as_str(), "morgan.fifth@example.com");
    assert_eq!(
        (changed.name, changed.phone, changed.reminders),
        (before.name.clone(), before.phone.clone(), before.reminders),
        "only the address"
    );
    let outbox = store.outbox(practice, 500).await.unwrap();
    assert_eq!(outbox.len(), queued + 1);
    assert!(
        outbox
            .iter()
            .any(|m| m.kind == "email_change_changed" && m.to == before.email),
        "the notice is queued with the change"
    );
    assert_eq!(
        store
            .email_change(practice, &fifth.token_hash)
            .await
            .unwrap()
            .unwrap()
            .used_at,
        Some(later)
    );
    assert_eq!(
        store
            .confirm_email_change(practice, &fifth.token_hash, &email_change_notices, later)
            .await
            .unwrap(),
        None,
        "a link works once"
    );

    // Another client has the address by the time the link is followed: nothing changes,
    // the practice's notice is queued, the link stops working, and the client's own rows
    // read as if nobody had followed it.
    let other = portal_client(store, practice, "taken@example.com", 21, now).await;
    let clashing = NewEmailChange {
        token_hash: hash_of("change-6"),
        new_email: EmailAddress::parse("TAKEN@example.com").unwrap(),
        expires_at: later + SignedDuration::from_hours(24),
        ..first.clone()
    };
    store
        .request_email_change(
            practice,
            &clashing,
            &confirmation_email("taken@example.com"),
            limit,
            later,
        )
        .await
        .unwrap();
    let rows_before = store.client_rows(practice, client).await.unwrap();
    let queued = store.outbox(practice, 500).await.unwrap().len();
    let outcome = store
        .confirm_email_change(practice, &clashing.token_hash, &email_change_notices, later)
        .await
        .unwrap()
        .expect("the link was waiting");
    assert_eq!(
        outcome,
        EmailChangeOutcome::Clash {
            client: store.client(practice, client).await.unwrap(),
            other,
            new_email: clashing.new_email.clone(),
        }
    );
    assert_eq!(
        store.client(practice, client).await.unwrap().email.as_str(),
        "morgan.fifth@example.com",
        "nothing changes on a clash"
    );
    assert_eq!(
        store.client(practice, other).await.unwrap().email.as_str(),
        "taken@example.com"
    );
    let outbox = store.outbox(practice, 500).await.unwrap();
    assert_eq!(outbox.len(), queued + 1);
    assert_eq!(
        outbox
            .iter()
            .filter(|m| m.kind == "email_change_clash")
            .count(),
        1
    );
    assert_eq!(
        store
            .email_change(practice, &clashing.token_hash)
            .await
            .unwrap(),
        None,
        "the link no longer works"
    );
    assert_eq!(
        store
            .confirm_email_change(practice, &clashing.token_hash, &email_change_notices, later)
            .await
            .unwrap(),
        None
    );
    let rows_after = store.client_rows(practice, client).await.unwrap();
    let asked_for = store::rights::Value::Text("TAKEN@example.com".into());
    assert!(
        rows_after
            .iter()
            .any(|t| t.rows.iter().any(|row| row.contains(&asked_for))),
        "the change asked for is among the client's rows"
    );
    assert_eq!(
        rows_before, rows_after,
        "what the client can see of their rows does not say the link was followed"
    );
}

/// Many attempts to use one sign-in link at the same moment: exactly one signs in.
pub async fn concurrent_portal_sign_ins(store: std::sync::Arc<dyn Store>) {
    use std::sync::Arc;

    use jiff::SignedDuration;
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let setup = PracticeSetup::from_toml(PRACTICE).unwrap();
    let practice = store.create_practice(&setup, now).await.unwrap();
    let client = portal_client(&*store, practice, "race@example.com", 18, now).await;
    let link = store::NewPortalLink {
        token_hash: hash_of("race-link"),
        client,
        browser_hash: hash_of("race-browser"),
        expires_at: now + SignedDuration::from_mins(10),
    };
    let email = NewMessage {
        kind: "portal_link".into(),
        to: EmailAddress::parse("race@example.com").unwrap(),
        subject: "Link".into(),
        body_text: "Link.".into(),
        calendar: None,
    };
    store
        .create_portal_link(practice, &link, &email, now)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for n in 0..20 {
        let store = Arc::clone(&store);
        let link = link.clone();
        tasks.push(tokio::spawn(async move {
            let session = hash_of(&format!("race-session-{n}"));
            store
                .use_portal_link(
                    practice,
                    &link.token_hash,
                    &link.browser_hash,
                    &session,
                    now,
                )
                .await
                .unwrap()
                .map(|_| session)
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        if let Some(session) = task.await.unwrap() {
            winners.push(session);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one sign-in from one link");
    assert!(store.portal_session(&winners[0]).await.unwrap().is_some());
}

/// Many changes of email address asked for at the same moment stay within the limit, and
/// many attempts to follow one confirmation link at the same moment change it once.
pub async fn concurrent_email_changes(store: std::sync::Arc<dyn Store>) {
    use std::sync::Arc;

    use jiff::SignedDuration;

    use store::{EmailChangeLimit, NewEmailChange};
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let setup = PracticeSetup::from_toml(PRACTICE).unwrap();
    let practice = store.create_practice(&setup, now).await.unwrap();
    let client = portal_client(&*store, practice, "race@example.com", 18, now).await;
    let limit = EmailChangeLimit {
        max: 5,
        within: SignedDuration::from_hours(1),
    };
    let mut tasks = Vec::new();
    for n in 0..20 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let change = NewEmailChange {
                token_hash: hash_of(&format!("race-change-{n}")),
                client,
                new_email: EmailAddress::parse(&format!("race.{n}@example.com")).unwrap(),
                expires_at: now + SignedDuration::from_hours(24),
            };
            let email = confirmation_email(change.new_email.as_str());
            match store
                .request_email_change(practice, &change, &email, limit, now)
                .await
            {
                Ok(()) => Some(change.token_hash),
                Err(StoreError::Conflict(ConflictKind::EmailChangeLimit)) => None,
                Err(other) => panic!("{other}"),
            }
        }));
    }
    let mut stored = Vec::new();
    for task in tasks {
        stored.extend(task.await.unwrap());
    }
    assert_eq!(
        stored.len(),
        5,
        "no more than the limit, however many ask at once"
    );
    let confirmations = store
        .outbox(practice, 500)
        .await
        .unwrap()
        .iter()
        .filter(|m| m.kind == "portal_email_confirm")
        .count();
    assert_eq!(confirmations, 5, "one email for each request stored");
    let mut waiting = Vec::new();
    for hash in &stored {
        if store
            .email_change(practice, hash)
            .await
            .unwrap()
            .unwrap()
            .usable(now)
        {
            waiting.push(hash.clone());
        }
    }
    assert_eq!(waiting.len(), 1, "only the newest change waits");

    let mut tasks = Vec::new();
    for _ in 0..20 {
        let store = Arc::clone(&store);
        let hash = waiting[0].clone();
        tasks.push(tokio::spawn(async move {
            store
                .confirm_email_change(practice, &hash, &email_change_notices, now)
                .await
                .unwrap()
        }));
    }
    let mut changed = 0;
    for task in tasks {
        if task.await.unwrap().is_some() {
            changed += 1;
        }
    }
    assert_eq!(
        changed, 1,
        "a link works once, however many follow it at once"
    );
    let notices = store
        .outbox(practice, 500)
        .await
        .unwrap()
        .iter()
        .filter(|m| m.kind == "email_change_changed")
        .count();
    assert_eq!(notices, 1, "one notice");
}
