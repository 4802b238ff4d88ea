//! Hosted mode: hosts, suspension and the operator's overview.

use super::*;

use domain::hosting::{DomainName, PracticeName};
use store::{PracticeHost, PracticeId};

fn name(text: &str) -> PracticeHost {
    PracticeHost::Name(PracticeName::parse(text).unwrap())
}

fn domain(text: &str) -> PracticeHost {
    PracticeHost::Domain(DomainName::parse(text).unwrap())
}

/// Hosts belong to one practice each; a practice has one name and any number of domains;
/// suspension keeps its first date and leaves the data; the overview counts, and names no
/// client.
pub(crate) async fn hosting_story(store: &dyn Store, practice: PracticeId) {
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let setup = PracticeSetup::from_toml(PRACTICE).unwrap();
    let other = store.create_practice(&setup, now).await.unwrap();

    store.add_host(practice, &name("story"), now).await.unwrap();
    store
        .add_host(practice, &domain("therapy.example.org"), now)
        .await
        .unwrap();
    store
        .add_host(practice, &domain("www.therapy.example.org"), now)
        .await
        .unwrap();
    store.add_host(other, &name("other"), now).await.unwrap();
    for (owner, host) in [
        (other, name("story")),
        (other, domain("therapy.example.org")),
        (practice, name("second-name")),
    ] {
        assert_eq!(
            conflict_of(&store.add_host(owner, &host, now).await),
            Some(ConflictKind::HostTaken),
            "{host:?} for {owner:?}"
        );
    }
    assert!(matches!(
        store
            .add_host(PracticeId::new(999_999), &name("nobody"), now)
            .await,
        Err(StoreError::NotFound)
    ));

    let directory = store.host_directory().await.unwrap();
    let mine: Vec<&str> = directory
        .iter()
        .filter(|e| e.practice == practice)
        .map(|e| e.host.as_str())
        .collect();
    assert_eq!(
        mine,
        ["story", "therapy.example.org", "www.therapy.example.org"],
        "each host once, in order"
    );
    assert!(directory.iter().all(|e| e.suspended_at.is_none()));

    // Suspension: the date of the first suspension stays; resuming clears it.
    let later = now + jiff::SignedDuration::from_hours(1);
    store.set_suspended(other, Some(now)).await.unwrap();
    store.set_suspended(other, Some(later)).await.unwrap();
    let directory = store.host_directory().await.unwrap();
    let theirs = directory.iter().find(|e| e.practice == other).unwrap();
    assert_eq!(theirs.suspended_at, Some(now), "the first date stays");
    assert!(
        directory
            .iter()
            .filter(|e| e.practice == practice)
            .all(|e| e.suspended_at.is_none()),
        "only that practice is suspended"
    );
    assert_eq!(
        store.practice(other).await.unwrap().details.name,
        setup.details.name,
        "its data stays"
    );
    store.set_suspended(other, None).await.unwrap();
    assert!(
        store
            .host_directory()
            .await
            .unwrap()
            .iter()
            .all(|e| e.suspended_at.is_none())
    );
    assert!(matches!(
        store
            .set_suspended(PracticeId::new(999_999), Some(now))
            .await,
        Err(StoreError::NotFound)
    ));

    // A host is taken away only from its own practice.
    assert!(matches!(
        store
            .remove_host(other, &domain("www.therapy.example.org"))
            .await,
        Err(StoreError::NotFound)
    ));
    store
        .remove_host(practice, &domain("www.therapy.example.org"))
        .await
        .unwrap();
    store
        .add_host(other, &domain("www.therapy.example.org"), now)
        .await
        .unwrap();

    // The overview: every practice, its hosts and counts.
    let overview = store.hosted_practices().await.unwrap();
    let ids: Vec<PracticeId> = overview.iter().map(|p| p.id).collect();
    assert_eq!(
        ids,
        store.practice_ids().await.unwrap(),
        "every practice, oldest first"
    );
    let ours = overview.iter().find(|p| p.id == practice).unwrap();
    assert_eq!(
        ours.hosts,
        vec![name("story"), domain("therapy.example.org")],
        "the name first, then the domains"
    );
    assert!(
        ours.staff >= 1 && ours.clients >= 1 && ours.bookings >= 1,
        "{ours:?}"
    );
    let theirs = overview.iter().find(|p| p.id == other).unwrap();
    assert_eq!(
        (theirs.staff, theirs.clients, theirs.bookings),
        (0, 0, 0),
        "a new practice holds nothing"
    );
    assert_eq!(theirs.name, setup.details.name);
    assert_eq!(theirs.created_at, now);

    // A practice made with its name and owner in one go; a name or email already taken
    // leaves nothing behind.
    let owner = |email: &str| store::NewUser {
        email: EmailAddress::parse(email).unwrap(),
        name: PersonName::parse("Robin Hosted").unwrap(),
        password_hash: "hash".into(),
    };
    let before = store.practice_ids().await.unwrap().len();
    let made = store
        .create_hosted_practice(
            &setup,
            &PracticeName::parse("robin").unwrap(),
            &owner("robin@example.com"),
            now,
        )
        .await
        .unwrap();
    let user = store
        .user_by_email(&EmailAddress::parse("robin@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (user.practice, user.owner),
        (made, true),
        "its first account owns it"
    );
    assert!(
        store
            .host_directory()
            .await
            .unwrap()
            .iter()
            .any(|e| e.practice == made && e.host == name("robin"))
    );
    for (host, email, kind) in [
        ("robin", "someone-new@example.com", ConflictKind::HostTaken),
        ("robin-two", "robin@example.com", ConflictKind::UserEmail),
    ] {
        let refused = store
            .create_hosted_practice(
                &setup,
                &PracticeName::parse(host).unwrap(),
                &owner(email),
                now,
            )
            .await;
        assert_eq!(conflict_of(&refused), Some(kind), "{host} {email}");
    }
    assert_eq!(
        store.practice_ids().await.unwrap().len(),
        before + 1,
        "a refused practice leaves nothing behind"
    );
}

/// Closing a practice, for good: only once suspended; its key goes first, in a transaction
/// of its own, and it cannot be resumed after; then every row of it goes at once, audit log
/// included, and the other practices are untouched. Run after [`crate::story`], on the
/// practice its walk filled with every kind of record.
pub async fn closing_story(store: &dyn Store) {
    use store::{KeyAdoption, Rewrapped};
    let practice = store.first_practice().await.unwrap().unwrap();
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let before = store.practice_ids().await.unwrap();
    let others: Vec<PracticeId> = before.iter().copied().filter(|p| *p != practice).collect();
    assert!(!others.is_empty(), "other practices to leave alone");
    assert!(
        !store.audit_after(practice, 0, 1).await.unwrap().is_empty(),
        "the practice has an audit log to go with it"
    );
    // Give it a key of its own, as serving would have.
    fn same<Id>((id, old): (Id, Vec<u8>)) -> Rewrapped<Id> {
        Rewrapped {
            id,
            new: old.clone(),
            old,
        }
    }
    let client_keys: Vec<_> = store
        .client_keys(practice)
        .await
        .unwrap()
        .into_iter()
        .map(same)
        .collect();
    let secrets: Vec<_> = store
        .authenticator_secrets(practice)
        .await
        .unwrap()
        .into_iter()
        .map(same)
        .collect();
    let host_key_id = store.host_key_id().await.unwrap().unwrap();
    store
        .adopt_practice_key(
            &KeyAdoption {
                practice,
                host_key_id: &host_key_id,
                wrapped: b"the practice's key",
                client_keys: &client_keys,
                authenticator_secrets: &secrets,
            },
            now,
        )
        .await
        .unwrap();

    store.set_suspended(practice, None).await.unwrap();
    assert_eq!(
        conflict_of(&store.begin_closing(practice, now).await),
        Some(ConflictKind::PracticeActive),
        "an active practice is suspended first"
    );
    store.set_suspended(practice, Some(now)).await.unwrap();
    assert_eq!(
        conflict_of(&store.delete_practice(practice).await),
        Some(ConflictKind::PracticeActive),
        "its rows go only after its key"
    );
    assert!(store.practice_key(practice).await.unwrap().is_some());
    store.begin_closing(practice, now).await.unwrap();
    assert_eq!(
        store.practice_key(practice).await.unwrap(),
        None,
        "its key is gone"
    );
    let listed = store.hosted_practices().await.unwrap();
    let closing = listed.iter().find(|p| p.id == practice).unwrap();
    assert_eq!(closing.closing_at, Some(now));
    assert_eq!(
        conflict_of(&store.set_suspended(practice, None).await),
        Some(ConflictKind::PracticeClosing),
        "closing is for good"
    );
    let later = now
        .checked_add(jiff::SignedDuration::from_hours(1))
        .unwrap();
    store.begin_closing(practice, later).await.unwrap();
    assert_eq!(
        store
            .hosted_practices()
            .await
            .unwrap()
            .iter()
            .find(|p| p.id == practice)
            .unwrap()
            .closing_at,
        Some(now),
        "asked again, nothing changes"
    );

    store.delete_practice(practice).await.unwrap();
    assert_eq!(store.practice_ids().await.unwrap(), others);
    assert!(matches!(
        store.practice(practice).await,
        Err(StoreError::NotFound)
    ));
    assert!(store.audit_after(practice, 0, 10).await.unwrap().is_empty());
    assert!(
        store
            .host_directory()
            .await
            .unwrap()
            .iter()
            .all(|entry| entry.practice != practice)
    );
    assert!(matches!(
        store.delete_practice(practice).await,
        Err(StoreError::NotFound)
    ));
    for other in others {
        store::audit::verify(store, other)
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("practice {other}'s audit chain: {e:?}"));
        store.practice(other).await.unwrap();
    }
}
