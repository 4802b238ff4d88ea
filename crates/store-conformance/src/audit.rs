//! The audit log: entries, the hash chain, what each record's page shows.

use super::*;

/// The audit log: appended, chained, read back per client and in order, and verified.
pub(crate) async fn audit_story(
    store: &dyn Store,
    practice: store::PracticeId,
    user: store::UserId,
) {
    use store::{Actor, AuditAction, NewAuditEntry, NewClient, audit};
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let client = store
        .create_client(
            practice,
            &NewClient {
                name: PersonName::parse("Audit Person").unwrap(),
                email: EmailAddress::parse("audit@example.com").unwrap(),
                phone: None,
                contact_preference: domain::ContactPreference::Email,
                reminders: true,
            },
            None,
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .audit_subject(practice, "client", client.get())
            .await
            .unwrap(),
        Some(client)
    );
    assert_eq!(
        store
            .audit_subject(practice, "client", 999_999)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.audit_subject(practice, "nonsense", 1).await.unwrap(),
        None
    );
    let before = audit::verify(store, practice).await.unwrap().unwrap();
    let neighbour = store
        .create_practice(&PracticeSetup::from_toml(crate::PRACTICE).unwrap(), now)
        .await
        .unwrap();
    let entries = [
        (Actor::Anonymous, AuditAction::SignInFailed, None, None),
        (Actor::Staff(user), AuditAction::SignIn, None, None),
        (
            Actor::Staff(user),
            AuditAction::ClientViewed,
            Some(client),
            Some(("client", client.get())),
        ),
        (
            Actor::Client(client),
            AuditAction::PortalViewed,
            Some(client),
            None,
        ),
        (
            Actor::Staff(user),
            AuditAction::ClientViewed,
            Some(client),
            Some(("client", client.get())),
        ),
    ];
    for (i, (actor, action, about, object)) in entries.iter().enumerate() {
        let entry = NewAuditEntry {
            actor: *actor,
            action: *action,
            client: *about,
            object: *object,
            source: Some("192.0.2.1".into()),
        };
        let at = now + jiff::SignedDuration::from_secs(i as i64);
        store.append_audit(practice, &entry, at).await.unwrap();
        // Another practice's entries in between are in a chain of their own.
        store.append_audit(neighbour, &entry, at).await.unwrap();
    }
    let theirs = store.audit_after(neighbour, 0, 100).await.unwrap();
    assert_eq!(
        theirs.len(),
        entries.len(),
        "only the practice's own entries"
    );
    assert_eq!(
        theirs[0].prev_hash,
        audit::GENESIS.to_vec(),
        "each practice's chain starts from the beginning"
    );
    assert_eq!(
        audit::verify(store, neighbour).await.unwrap(),
        Ok(entries.len() as u64),
        "the neighbour's chain verifies on its own"
    );
    assert_eq!(
        audit::verify(store, practice).await.unwrap(),
        Ok(before + entries.len() as u64),
        "the chain verifies after appending"
    );
    let about = store.client_audit(practice, client, 10).await.unwrap();
    assert_eq!(
        about.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["client.view", "portal.view", "client.view"],
        "newest first, only entries about the client"
    );
    assert_eq!(about[0].source.as_deref(), Some("192.0.2.1"));
    assert_eq!(about[0].object_kind.as_deref(), Some("client"));
    let access = store.record_access(practice, client).await.unwrap();
    assert_eq!(access.len(), 2, "{access:?}");
    assert_eq!((access[0].actor, access[0].count), (Actor::Staff(user), 2));
    assert_eq!(access[1].actor, Actor::Client(client));
    let recent = store.recent_audit(practice, 2).await.unwrap();
    assert_eq!(recent.len(), 2);
    assert!(recent[0].id > recent[1].id);
    assert_eq!(
        store
            .last_audit_at(
                practice,
                Actor::Staff(user),
                AuditAction::ClientViewed,
                ("client", client.get())
            )
            .await
            .unwrap(),
        Some(now + jiff::SignedDuration::from_secs(4)),
        "the latest of the two views"
    );
    assert_eq!(
        store
            .last_audit_at(
                practice,
                Actor::Staff(user),
                AuditAction::ClientChanged,
                ("client", client.get())
            )
            .await
            .unwrap(),
        None
    );
}
