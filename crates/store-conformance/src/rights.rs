//! Data rights: requests, retention decisions, a client's rows, erasure.

use super::*;

/// Data rights: requests and their dates, retention decisions, a client's rows without
/// secrets, and erasure that keeps only ids.
pub(crate) async fn rights_story(store: &dyn Store, practice: store::PracticeId) {
    use domain::rights::{Reason, due_date, extended_due_date};
    use store::{
        Actor, AuditAction, NewAuditEntry, NewClient, RetentionDecision, StoreError,
        rights::{Kind, Record, Value, is_secret_column},
    };
    let now = Timestamp::from_second(1_810_000_000).unwrap();
    let new_client = |name: &str, email: &str| NewClient {
        name: PersonName::parse(name).unwrap(),
        email: EmailAddress::parse(email).unwrap(),
        phone: None,
        contact_preference: domain::ContactPreference::Email,
        reminders: true,
    };
    let client = store
        .create_client(
            practice,
            &new_client("Rights Person", "rights@example.com"),
            None,
            now,
        )
        .await
        .unwrap();
    let other = store
        .create_client(
            practice,
            &new_client("Other Person", "other@example.com"),
            None,
            now,
        )
        .await
        .unwrap();
    store
        .add_client_key(practice, client, b"wrapped-key-bytes", now)
        .await
        .unwrap();
    let seal = |_: store::NoteId| b"sealed-note".to_vec();
    store
        .save_note(practice, client, None, None, &seal, now)
        .await
        .unwrap();
    store
        .append_audit(
            practice,
            &NewAuditEntry {
                actor: Actor::System,
                action: AuditAction::ClientViewed,
                client: Some(client),
                object: None,
                source: None,
            },
            now,
        )
        .await
        .unwrap();

    // Subject access requests.
    let received = date(2027, 1, 31);
    let request = store
        .add_subject_access(practice, client, received, due_date(received), now)
        .await
        .unwrap();
    assert!(matches!(
        store
            .add_subject_access(
                practice,
                store::ClientId::new(999_999),
                received,
                received,
                now
            )
            .await,
        Err(StoreError::NotFound)
    ));
    let reason = Reason::parse("The records are in two places.").unwrap();
    store
        .extend_subject_access(practice, request, extended_due_date(received), &reason)
        .await
        .unwrap();
    assert_eq!(
        conflict_of(
            &store
                .extend_subject_access(practice, request, extended_due_date(received), &reason)
                .await
        ),
        Some(ConflictKind::AlreadyExtended)
    );
    store
        .complete_subject_access(practice, request, date(2027, 2, 20))
        .await
        .unwrap();
    store
        .complete_subject_access(practice, request, date(2027, 2, 21))
        .await
        .unwrap();
    let stored = store.subject_access(practice, request).await.unwrap();
    assert_eq!(stored.due, date(2027, 3, 1));
    assert_eq!(stored.due_now(), date(2027, 4, 30));
    assert_eq!(stored.extended.as_ref().unwrap().1, reason.as_str());
    assert_eq!(
        stored.completed,
        Some(date(2027, 2, 20)),
        "the first date stays"
    );

    // Retention decisions, and what the review needs.
    let keep = RetentionDecision::Keep {
        reason: Reason::parse("A complaint is open.").unwrap(),
        review_on: date(2028, 6, 1),
    };
    store
        .add_retention_decision(practice, client, &keep, now)
        .await
        .unwrap();
    let refused = RetentionDecision::ErasureRefused {
        reason: Reason::parse("Records must be kept for the insurer.").unwrap(),
    };
    store
        .add_retention_decision(practice, client, &refused, now)
        .await
        .unwrap();
    let decisions = store.retention_decisions(practice, client).await.unwrap();
    assert_eq!(decisions.len(), 2);
    assert_eq!(decisions[0].decision, refused, "newest first");
    let facts = store.retention_facts(practice, None).await.unwrap();
    assert_eq!(
        store
            .retention_facts(practice, Some(facts[0].client))
            .await
            .unwrap(),
        facts[..1],
        "one client's facts"
    );
    let mine = facts.iter().find(|f| f.client == client).unwrap();
    assert_eq!(mine.created_at, now);
    assert_eq!(mine.last_session, None);
    assert_eq!(
        mine.kept_until,
        Some((date(2028, 6, 1), "A complaint is open.".to_owned()))
    );

    // Emails: to the client, or the practice's own notices naming them as a whole name;
    // never another address that merely contains theirs, or a longer name.
    let notify = store.practice(practice).await.unwrap().details.notify_email;
    let email = |to: &str, body: &str| store::NewMessage {
        kind: "test".into(),
        to: EmailAddress::parse(to).unwrap(),
        subject: "A message".into(),
        body_text: body.into(),
        calendar: None,
    };
    for (to, body) in [
        ("rights@example.com", "mail-to-them"),
        ("xrights@example.com", "mail-to-a-longer-address"),
        (notify.as_str(), "Notice: Rights Person, Tuesday."),
        (notify.as_str(), "Notice: Rights Personality booked."),
    ] {
        store
            .enqueue(practice, &email(to, body), now)
            .await
            .unwrap();
    }
    let outbox = store
        .client_rows(practice, client)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.record == Record::Email)
        .expect("the emails are searched");
    let bodies: Vec<String> = outbox
        .rows
        .iter()
        .filter_map(|row| match outbox.value(row, "body_text") {
            Some(Value::Text(text)) => Some(text.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        bodies.len(),
        2,
        "only their own mail and the notice naming them: {bodies:?}"
    );
    assert!(bodies.iter().any(|b| b == "mail-to-them"));
    assert!(
        bodies
            .iter()
            .any(|b| b == "Notice: Rights Person, Tuesday.")
    );

    // Every row about the client, every kind of record in order, typed the same on every
    // backend, no secret, nothing about the other client.
    let rows = store.client_rows(practice, client).await.unwrap();
    assert_eq!(
        rows.iter().map(|t| t.record).collect::<Vec<_>>(),
        Record::ALL,
        "every kind of record is listed, in order"
    );
    let table = |record: Record| rows.iter().find(|t| t.record == record).unwrap();
    let named = |t: &store::rights::ClientRows, row: usize| -> Vec<(&str, Value)> {
        t.columns
            .iter()
            .map(|c| c.name)
            .zip(t.rows[row].iter().cloned())
            .collect()
    };
    let id = |n: i64| Value::Integer(n);
    let text = |s: &str| Value::Text(s.to_owned());
    assert_eq!(
        named(table(Record::Client), 0),
        [
            ("id", id(client.get())),
            ("practice_id", id(practice.get())),
            ("name", text("Rights Person")),
            ("email", text("rights@example.com")),
            ("phone", Value::Null),
            ("contact_preference", text("email")),
            ("reminders", Value::Bool(true)),
            ("status", text("active")),
            ("consultation_id", Value::Null),
            ("created_at", Value::Instant(now)),
            ("updated_at", Value::Instant(now)),
        ],
        "the client's row, typed"
    );
    assert_eq!(
        named(table(Record::SubjectAccessRequest), 0),
        [
            ("id", id(request.get())),
            ("practice_id", id(practice.get())),
            ("client_id", id(client.get())),
            ("received_on", Value::Date(received)),
            ("due_on", Value::Date(date(2027, 3, 1))),
            ("extended_due_on", Value::Date(date(2027, 4, 30))),
            ("extension_reason", text(reason.as_str())),
            ("completed_on", Value::Date(date(2027, 2, 20))),
            ("created_at", Value::Instant(now)),
        ],
        "a request, with its dates as dates"
    );
    let key = table(Record::DataKey);
    assert_eq!(key.withheld, ["wrapped"]);
    assert_eq!(
        named(key, 0),
        [
            ("client_id", id(client.get())),
            ("practice_id", id(practice.get())),
            ("created_at", Value::Instant(now)),
        ]
    );
    assert_eq!(table(Record::RetentionDecision).rows.len(), 2);
    let audit = table(Record::AuditEntry);
    assert_eq!(audit.rows.len(), 1);
    assert_eq!(
        audit.value(&audit.rows[0], "at"),
        Some(&Value::Instant(now))
    );
    assert_eq!(audit.withheld, ["prev_hash", "hash"], "the chain's hashes");
    for t in &rows {
        for column in &t.columns {
            assert!(!is_secret_column(column.name), "{:?}", t.record);
            assert_ne!(column.kind, Kind::Secret, "{:?}", t.record);
        }
        for row in &t.rows {
            assert_eq!(row.len(), t.columns.len(), "{:?}", t.record);
            assert!(!row.contains(&Value::Bytes(b"wrapped-key-bytes".to_vec())));
            if let Some(Value::Integer(id)) = t.value(row, "client_id") {
                assert_eq!(*id, client.get(), "{:?}", t.record);
            }
        }
    }
    let notes = table(Record::Note);
    let note = store.notes(practice, client).await.unwrap()[0].id;
    assert_eq!(
        notes.value(&notes.rows[0], "body"),
        Some(&Value::Note(note)),
        "a note comes as its id, for the caller to open"
    );

    // Erasure: the key first, then every row, and its own audit entry in the same
    // transaction; the requests and the audit entries stay.
    let erased = |who: store::ClientId| store::NewAuditEntry {
        actor: store::Actor::System,
        action: store::AuditAction::ClientErased,
        client: Some(who),
        object: Some(("client", who.get())),
        source: None,
    };
    let log_before = store.recent_audit(practice, 1000).await.unwrap().len();
    store
        .erase_client(practice, client, &erased(client), now)
        .await
        .unwrap();
    let log = store.recent_audit(practice, 1000).await.unwrap();
    assert_eq!(log.len(), log_before + 1, "the erasure wrote its entry");
    assert_eq!(log[0].action, store::AuditAction::ClientErased.code());
    assert!(matches!(
        store.client(practice, client).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.client_key(practice, client).await.unwrap(), None);
    assert!(store.notes(practice, client).await.unwrap().is_empty());
    assert!(
        store
            .retention_decisions(practice, client)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .subject_access_requests(practice, client)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store
            .client_audit(practice, client, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(matches!(
        store.client_rows(practice, client).await,
        Err(StoreError::NotFound)
    ));
    let log_before = store.recent_audit(practice, 1000).await.unwrap().len();
    assert!(matches!(
        store
            .erase_client(practice, client, &erased(client), now)
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store.recent_audit(practice, 1000).await.unwrap().len(),
        log_before,
        "a failed erasure writes no entry"
    );
    assert!(
        store.client(practice, other).await.is_ok(),
        "others untouched"
    );
    // The erased id is never given to a new client, even when it was the highest.
    store
        .erase_client(practice, other, &erased(other), now)
        .await
        .unwrap();
    let next = store
        .create_client(
            practice,
            &new_client("Next Person", "next@example.com"),
            None,
            now,
        )
        .await
        .unwrap();
    assert!(next.get() > other.get().max(client.get()));
}
