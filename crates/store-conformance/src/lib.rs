//! The conformance story: one walk through a practice's life that every backend must pass,
//! and the stories of many requests (and several writers) at once. A crate of its own, a
//! dev-dependency of each backend, so that it is compiled only for their tests.
//!
//! A backend's tests call [`story`] with a fresh, empty store. It panics with a message
//! naming the step that misbehaved.

use domain::{
    ArticleDraft, EmailAddress, NewEnquiry, PersonName, Slug,
    article::{ArticleForm, parse_tags},
    enquiry::EnquiryForm,
    practice::{FaqEntry, Location, PracticeSetup, RawLocation, SocialLink},
};
use jiff::{Timestamp, civil::date};

use store::{
    ArticleKind, ConflictKind, MessageStatus, NewMessage, NewUser, Page, SessionStage, Store,
    StoreError,
};

/// The kind of conflict a call was refused with, if it was.
fn conflict_of<T>(result: &store::StoreResult<T>) -> Option<ConflictKind> {
    match result {
        Err(StoreError::Conflict(kind)) => Some(*kind),
        _ => None,
    }
}

const PRACTICE: &str = r#"
[practice]
name = "Story Practice"
tagline = "Testing"
time_zone = "Europe/London"
notify_email = "therapist@example.com"
intro = "Hello."

[therapist]
name = "Alex Story"
title = "Psychotherapist"
professional_body = "UKCP"
registration = "000 (fictional)"
qualifications = ["MA"]
languages = ["English"]
about = "About."

[[locations]]
slug = "balham"
name = "Balham"
address_lines = ["1 Test Road", "London"]
postcode = "SW12 9AA"

[[locations]]
slug = "online"
name = "Online"
online = true

[[appointment_types]]
slug = "consultation"
name = "First consultation"
minutes = 50
fee_pence = 6000
bookable_online = true
locations = ["balham", "online"]
buffer_after = 10
notice_hours = 24

[booking]
mode = "request"
request_hold_hours = 24

[[hours]]
location = "balham"
day = "monday"
start = "09:00"
end = "13:00"

[[hours]]
location = "online"
day = "tuesday"
start = "18:00"
end = "21:00"

[[away]]
label = "Easter break"
first_day = "2027-04-05"
last_day = "2027-04-11"

[policies]
cancellation = "48 hours."
confidentiality = "Kept private."

[privacy]
controller = "Alex Story"
retention_years = 7

[[faq]]
question = "How long?"
answer = "50 minutes."
"#;

fn draft(title: &str, tags: &str, published: bool, day: i8) -> ArticleDraft {
    ArticleDraft::parse(
        &ArticleForm {
            title,
            slug: "",
            summary: "A summary.",
            body: "Some words here.",
            tags,
            date: "",
            published,
        },
        date(2026, 1, day),
    )
    .unwrap()
}

/// Run the story against an empty store.
pub async fn story(store: &dyn Store) {
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    assert!(
        store.first_practice().await.unwrap().is_none(),
        "a new store has no practice"
    );

    // Setting up a practice is all or nothing.
    let setup = PracticeSetup::from_toml(PRACTICE).unwrap();
    let practice = store.create_practice(&setup, now).await.unwrap();
    assert_eq!(store.first_practice().await.unwrap(), Some(practice));
    let loaded = store.practice(practice).await.unwrap();
    assert_eq!(loaded.details, setup.details, "practice details round-trip");
    assert_eq!(loaded.therapist, setup.therapist, "profile round-trips");
    assert_eq!(loaded.privacy.retention_years, 7);
    assert_eq!(
        store.locations(practice).await.unwrap(),
        setup.locations,
        "locations round-trip in order"
    );
    assert_eq!(
        store.appointment_types(practice).await.unwrap(),
        setup.appointment_types
    );
    assert_eq!(store.faq(practice).await.unwrap(), setup.faq);

    // Locations: rename keeps position, duplicate slugs are conflicts.
    let mut balham = setup.locations[0].clone();
    balham.name = "Balham room".into();
    store
        .save_location(practice, Some(&balham.slug.clone()), &balham)
        .await
        .unwrap();
    let locations = store.locations(practice).await.unwrap();
    assert_eq!(
        locations[0].name, "Balham room",
        "edited location keeps its place"
    );
    let duplicate = Location::parse(&RawLocation {
        slug: "online".into(),
        name: "Another".into(),
        online: true,
        ..RawLocation::default()
    })
    .unwrap();
    assert_eq!(
        conflict_of(&store.save_location(practice, None, &duplicate).await),
        Some(ConflictKind::LocationSlug)
    );
    assert_eq!(
        store.locations(practice).await.unwrap().len(),
        2,
        "a refused location is not stored"
    );
    let missing = Slug::parse("nowhere").unwrap();
    assert!(matches!(
        store.delete_location(practice, &missing).await,
        Err(StoreError::NotFound)
    ));

    // Links and FAQ are replaced as a whole.
    let links = vec![SocialLink::parse("Profile", "https://www.example.com/me").unwrap()];
    store.replace_social_links(practice, &links).await.unwrap();
    assert_eq!(store.social_links(practice).await.unwrap(), links);
    let faq = vec![
        FaqEntry::parse("Q1?", "A1").unwrap(),
        FaqEntry::parse("Q2?", "A2").unwrap(),
    ];
    store.replace_faq(practice, &faq).await.unwrap();
    assert_eq!(store.faq(practice).await.unwrap(), faq);

    // Articles: drafts stay hidden, slugs are unique per kind, tags keep their order.
    let first = store
        .create_article(
            practice,
            ArticleKind::Article,
            &draft("Sleep and worry", "anxiety, sleep", true, 1),
            0,
            now,
        )
        .await
        .unwrap();
    let second = store
        .create_article(
            practice,
            ArticleKind::Article,
            &draft("Anxiety at work", "anxiety, work", true, 2),
            0,
            now,
        )
        .await
        .unwrap();
    let hidden = store
        .create_article(
            practice,
            ArticleKind::Article,
            &draft("Unfinished", "anxiety", false, 3),
            0,
            now,
        )
        .await
        .unwrap();
    store
        .create_article(
            practice,
            ArticleKind::Approach,
            &draft("Sleep and worry", "", true, 4),
            1,
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        conflict_of(
            &store
                .create_article(
                    practice,
                    ArticleKind::Article,
                    &draft("Sleep and worry", "", true, 5),
                    0,
                    now
                )
                .await
        ),
        Some(ConflictKind::ArticleSlug)
    );
    let (page, total) = store
        .published_articles(practice, ArticleKind::Article, Page { number: 1, size: 1 })
        .await
        .unwrap();
    assert_eq!(total, 2, "drafts are not counted");
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].id, second, "newest first");
    let (page2, _) = store
        .published_articles(practice, ArticleKind::Article, Page { number: 2, size: 1 })
        .await
        .unwrap();
    assert_eq!(page2[0].id, first);
    let slug = Slug::parse("unfinished").unwrap();
    assert!(
        matches!(
            store
                .published_article(practice, ArticleKind::Article, &slug)
                .await,
            Err(StoreError::NotFound)
        ),
        "drafts are not public"
    );
    let article = store.article(practice, first).await.unwrap();
    assert_eq!(
        article.tags.iter().map(Slug::as_str).collect::<Vec<_>>(),
        ["anxiety", "sleep"]
    );
    let tags = store.tags(practice).await.unwrap();
    let counts: Vec<_> = tags.iter().map(|t| (t.tag.as_str(), t.count)).collect();
    assert_eq!(
        counts,
        [("anxiety", 2), ("sleep", 1), ("work", 1)],
        "tag counts ignore drafts"
    );
    let tagged = store
        .articles_tagged(practice, &Slug::parse("sleep").unwrap())
        .await
        .unwrap();
    assert_eq!(tagged.len(), 1);
    let related = store.related_articles(practice, first, 3).await.unwrap();
    assert_eq!(
        related.iter().map(|a| a.id).collect::<Vec<_>>(),
        [second],
        "related shares a tag and is published"
    );

    // Publishing an edit makes it visible; deleting removes it and its tags.
    let mut edited = draft("Unfinished", "anxiety, endings", true, 3);
    edited.title = "Finished now".into();
    store
        .update_article(practice, hidden, &edited, now)
        .await
        .unwrap();
    assert_eq!(
        store
            .published_article(practice, ArticleKind::Article, &slug)
            .await
            .unwrap()
            .title,
        "Finished now"
    );
    store.delete_article(practice, hidden).await.unwrap();
    assert!(matches!(
        store.article(practice, hidden).await,
        Err(StoreError::NotFound)
    ));
    assert!(
        store
            .tags(practice)
            .await
            .unwrap()
            .iter()
            .all(|t| t.tag.as_str() != "endings")
    );
    assert_eq!(store.all_articles(practice).await.unwrap().len(), 3);

    // An enquiry and its notification are stored together.
    let enquiry = NewEnquiry::parse(&EnquiryForm {
        name: "Sam Jones",
        email: "sam@example.com",
        phone: "",
        contact_preference: "email",
        message: "Robert'); DROP TABLE enquiries;--",
        consent: true,
    })
    .unwrap();
    let note = NewMessage {
        kind: "enquiry_notification".into(),
        to: EmailAddress::parse("therapist@example.com").unwrap(),
        subject: "New enquiry".into(),
        body_text: "Someone has been in touch.".into(),
        calendar: None,
    };
    let id = store
        .create_enquiry(practice, &enquiry, &note, now)
        .await
        .unwrap();
    let stored = store.enquiry(practice, id).await.unwrap();
    assert_eq!(
        stored.message, "Robert'); DROP TABLE enquiries;--",
        "text is stored as typed"
    );
    assert_eq!(
        store
            .dashboard_counts(practice)
            .await
            .unwrap()
            .open_enquiries,
        1
    );
    store
        .set_enquiry_handled(practice, id, true, now)
        .await
        .unwrap();
    assert!(
        store
            .enquiry(practice, id)
            .await
            .unwrap()
            .handled_at
            .is_some()
    );
    assert_eq!(
        store
            .dashboard_counts(practice)
            .await
            .unwrap()
            .open_enquiries,
        0
    );

    // The outbox: claimed by one worker at a time, failed with retry, sent; Message-ID
    // stays the same.
    let lease = jiff::SignedDuration::from_mins(5);
    let due = store.claim_due(now, lease, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    let message = &due[0];
    assert_eq!(message.status, MessageStatus::Pending);
    assert_eq!(message.claimed_until, Some(now + lease));
    assert!(
        store.claim_due(now, lease, 10).await.unwrap().is_empty(),
        "a claimed message is not handed to another worker"
    );
    let almost = now + lease - jiff::SignedDuration::from_secs(1);
    assert!(
        store.claim_due(almost, lease, 10).await.unwrap().is_empty(),
        "nor before its lease ends"
    );
    let reclaimed = store.claim_due(now + lease, lease, 10).await.unwrap();
    assert_eq!(
        reclaimed.iter().map(|m| m.id).collect::<Vec<_>>(),
        [message.id],
        "due again when the lease ends (its worker stopped mid-send)"
    );
    assert_eq!(reclaimed[0].claimed_until, Some(now + lease + lease));
    assert_eq!(reclaimed[0].attempts, 0, "a lapsed claim is not an attempt");
    let later = Timestamp::from_second(1_800_000_060).unwrap();
    store
        .mark_failed(message.id, "connection refused", Some(later))
        .await
        .unwrap();
    assert_eq!(
        store.outbox(practice, 10).await.unwrap()[0].claimed_until,
        None,
        "recording an attempt clears the claim"
    );
    assert!(
        store.claim_due(now, lease, 10).await.unwrap().is_empty(),
        "not due before the retry time"
    );
    let retried = store.claim_due(later, lease, 10).await.unwrap();
    assert_eq!(
        retried[0].message_id, message.message_id,
        "stable Message-ID across attempts"
    );
    assert_eq!(retried[0].attempts, 1);
    store
        .mark_failed(message.id, "gave up", None)
        .await
        .unwrap();
    assert!(
        store
            .claim_due(later + lease, lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "a failed message is not claimed"
    );
    assert_eq!(
        store.outbox(practice, 10).await.unwrap()[0].status,
        MessageStatus::Failed
    );
    assert_eq!(
        store
            .dashboard_counts(practice)
            .await
            .unwrap()
            .failed_messages,
        1
    );
    store
        .retry_message(practice, message.id, later)
        .await
        .unwrap();
    assert_eq!(store.claim_due(later, lease, 10).await.unwrap().len(), 1);
    store.mark_sent(message.id, later).await.unwrap();
    let sent = &store.outbox(practice, 10).await.unwrap()[0];
    assert_eq!(sent.status, MessageStatus::Sent);
    assert_eq!(sent.attempts, 3);
    assert_eq!(sent.claimed_until, None, "a sent message holds no claim");
    assert!(
        store
            .claim_due(later + lease, lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "a sent message is not claimed"
    );
    assert!(
        store
            .retry_message(practice, message.id, later)
            .await
            .is_err(),
        "sent messages are not resent"
    );
    assert_eq!(store.pending_count().await.unwrap(), 0);
    store.delete_enquiry(practice, id).await.unwrap();
    assert!(store.enquiries(practice).await.unwrap().is_empty());

    // Staff and sessions.
    let email = EmailAddress::parse("Therapist@Example.com").unwrap();
    let user = store
        .create_user(
            practice,
            &NewUser {
                email: email.clone(),
                name: PersonName::parse("Alex Story").unwrap(),
                password_hash: "hash-1".into(),
            },
            now,
        )
        .await
        .unwrap();
    let again = NewUser {
        email: EmailAddress::parse("THERAPIST@example.com").unwrap(),
        name: PersonName::parse("X").unwrap(),
        password_hash: "h".into(),
    };
    assert_eq!(
        conflict_of(&store.create_user(practice, &again, now).await),
        Some(ConflictKind::UserEmail),
        "emails are unique regardless of case"
    );
    store
        .create_session(b"token-hash", user, now)
        .await
        .unwrap();
    let (session, who) = store.session(b"token-hash").await.unwrap().unwrap();
    assert_eq!(who.id, user);
    assert_eq!(session.created_at, now);
    store.touch_session(b"token-hash", later).await.unwrap();
    assert_eq!(
        store
            .session(b"token-hash")
            .await
            .unwrap()
            .unwrap()
            .0
            .last_seen_at,
        later
    );
    store.set_password(&email, "hash-2").await.unwrap();
    assert_eq!(
        store
            .user_by_email(&email)
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "hash-2"
    );
    store.delete_user_sessions(user).await.unwrap();
    assert!(store.session(b"token-hash").await.unwrap().is_none());
    assert!(parse_tags("x").is_ok());
    staff_security_story(store, practice, user, now).await;

    booking_story(store, practice, &setup).await;
    therapy_story(store, practice).await;
    audit_story(store, practice, user).await;
    rights_story(store, practice).await;
    portal_story(store, practice).await;
    limits_story(store, practice, now).await;
}

/// Data rights: requests and their dates, retention decisions, a client's rows without
/// secrets, and erasure that keeps only ids.
async fn rights_story(store: &dyn Store, practice: store::PracticeId) {
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
    let facts = store.retention_facts(practice).await.unwrap();
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

/// The audit log: appended, chained, read back per client and in order, and verified.
async fn audit_story(store: &dyn Store, practice: store::PracticeId, user: store::UserId) {
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
    let before = audit::verify(store).await.unwrap().unwrap();
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
    }
    assert_eq!(
        audit::verify(store).await.unwrap(),
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

/// Owners, sign-in stages, the practice's sign-in rules, authenticator apps, recovery codes
/// and the wrong-code count (SECURITY.md R2, R3).
async fn staff_security_story(
    store: &dyn Store,
    practice: store::PracticeId,
    owner: store::UserId,
    now: Timestamp,
) {
    use domain::staff::{IdleTimeout, SignInPolicy};
    let owner_email = EmailAddress::parse("therapist@example.com").unwrap();
    let owner_row = store.user_by_email(&owner_email).await.unwrap().unwrap();
    assert_eq!(owner_row.id, owner);
    assert!(
        owner_row.owner,
        "the first account of a practice is its owner"
    );
    assert!(
        !owner_row.second_factor,
        "no authenticator app to begin with"
    );
    let colleague_email = EmailAddress::parse("colleague@example.com").unwrap();
    let colleague = store
        .create_user(
            practice,
            &NewUser {
                email: colleague_email.clone(),
                name: PersonName::parse("Sam Colleague").unwrap(),
                password_hash: "h".into(),
            },
            now,
        )
        .await
        .unwrap();
    assert!(
        !store
            .user_by_email(&colleague_email)
            .await
            .unwrap()
            .unwrap()
            .owner,
        "later accounts are not owners"
    );

    // The sign-in rules: no second factor required and 30 idle minutes, until changed.
    assert_eq!(
        store.sign_in_policy(practice).await.unwrap(),
        SignInPolicy::default()
    );
    let strict = SignInPolicy {
        second_factor_required: true,
        idle_timeout: IdleTimeout::from_minutes(10).unwrap(),
    };
    store.set_sign_in_policy(practice, &strict).await.unwrap();
    assert_eq!(store.sign_in_policy(practice).await.unwrap(), strict);

    // A session half-way through sign-in says so, and carries the rules.
    store
        .start_sign_in(b"pending", owner, SessionStage::CodeNeeded, now)
        .await
        .unwrap();
    let (pending, _) = store.session(b"pending").await.unwrap().unwrap();
    assert_eq!(pending.stage, SessionStage::CodeNeeded);
    assert_eq!(pending.policy, strict);
    store
        .start_sign_in(b"set-up", colleague, SessionStage::SetUpNeeded, now)
        .await
        .unwrap();
    assert_eq!(
        store.session(b"set-up").await.unwrap().unwrap().0.stage,
        SessionStage::SetUpNeeded
    );
    store.create_session(b"full", owner, now).await.unwrap();
    assert_eq!(
        store.session(b"full").await.unwrap().unwrap().0.stage,
        SessionStage::SignedIn
    );

    // An authenticator app: waiting for confirmation, then switched on with recovery codes.
    assert!(store.authenticator(owner).await.unwrap().is_none());
    store
        .begin_authenticator(owner, b"sealed-1", b"session-a")
        .await
        .unwrap();
    store
        .begin_authenticator(owner, b"sealed-2", b"session-b")
        .await
        .unwrap();
    let waiting = store.authenticator(owner).await.unwrap().unwrap();
    assert_eq!(
        waiting.sealed_secret, b"sealed-2",
        "a new set-up replaces an unconfirmed one"
    );
    assert_eq!(waiting.pending_session.as_deref(), Some(&b"session-b"[..]));
    assert!(waiting.enabled_at.is_none());
    assert!(
        !store.use_authenticator_step(owner, 100).await.unwrap(),
        "an unconfirmed app signs nobody in"
    );
    let codes: Vec<Vec<u8>> = (0u8..10).map(|i| vec![i; 32]).collect();
    // Only the session that began it, with the secret it saw, can switch it on.
    for (secret, session) in [
        (&b"sealed-1"[..], &b"session-b"[..]),
        (&b"sealed-2"[..], &b"session-a"[..]),
    ] {
        assert!(matches!(
            store
                .enable_authenticator(owner, secret, session, 100, &codes, now)
                .await,
            Err(StoreError::NotFound)
        ));
    }
    store
        .enable_authenticator(owner, b"sealed-2", b"session-b", 100, &codes, now)
        .await
        .unwrap();
    let on = store.authenticator(owner).await.unwrap().unwrap();
    assert_eq!(on.enabled_at, Some(now));
    assert_eq!(on.last_step, Some(100), "the confirming code is spent");
    assert!(
        store
            .user_by_email(&owner_email)
            .await
            .unwrap()
            .unwrap()
            .second_factor
    );
    assert_eq!(
        conflict_of(
            &store
                .begin_authenticator(owner, b"sealed-3", b"session-c")
                .await
        ),
        Some(ConflictKind::AuthenticatorEnabled)
    );
    assert!(
        matches!(
            store
                .enable_authenticator(colleague, b"x", b"session-c", 1, &codes, now)
                .await,
            Err(StoreError::NotFound)
        ),
        "nothing to switch on without a waiting secret"
    );

    // A time step is accepted once, and never an earlier one.
    assert!(!store.use_authenticator_step(owner, 100).await.unwrap());
    assert!(!store.use_authenticator_step(owner, 99).await.unwrap());
    assert!(store.use_authenticator_step(owner, 101).await.unwrap());
    assert!(!store.use_authenticator_step(owner, 101).await.unwrap());
    assert_eq!(
        store.authenticator(owner).await.unwrap().unwrap().last_step,
        Some(101)
    );

    // Recovery codes: each once; regenerating replaces all.
    assert_eq!(store.recovery_codes_left(owner).await.unwrap(), 10);
    assert!(
        store
            .use_recovery_code(owner, &codes[3], now)
            .await
            .unwrap()
    );
    assert!(
        !store
            .use_recovery_code(owner, &codes[3], now)
            .await
            .unwrap()
    );
    assert!(
        !store
            .use_recovery_code(colleague, &codes[4], now)
            .await
            .unwrap(),
        "a code is only its owner's"
    );
    assert_eq!(store.recovery_codes_left(owner).await.unwrap(), 9);
    let fresh: Vec<Vec<u8>> = (20u8..30).map(|i| vec![i; 32]).collect();
    store
        .replace_recovery_codes(owner, &fresh, now)
        .await
        .unwrap();
    assert_eq!(store.recovery_codes_left(owner).await.unwrap(), 10);
    assert!(
        !store
            .use_recovery_code(owner, &codes[4], now)
            .await
            .unwrap(),
        "old codes stop working"
    );

    // Re-sealing under a new key replaces only the stored bytes.
    let secrets = store.all_authenticator_secrets().await.unwrap();
    assert_eq!(secrets, vec![(practice, owner, b"sealed-2".to_vec())]);
    store
        .rewrap_under_new_key(&[], &[(owner, b"resealed".to_vec())])
        .await
        .unwrap();
    let resealed = store.authenticator(owner).await.unwrap().unwrap();
    assert_eq!(resealed.sealed_secret, b"resealed");
    assert_eq!(resealed.last_step, Some(101));
    // All or nothing: one key that is not there undoes the secrets written with it.
    assert!(
        store
            .rewrap_under_new_key(
                &[(store::ClientId::new(999_999), b"k".to_vec())],
                &[(owner, b"half".to_vec())],
            )
            .await
            .is_err()
    );
    assert_eq!(
        store
            .authenticator(owner)
            .await
            .unwrap()
            .unwrap()
            .sealed_secret,
        b"resealed",
        "nothing half-written"
    );

    // Browsers staff have signed in from: known only to their own account, forgotten on
    // request.
    store
        .remember_device(owner, &hash_of("device-1"), now)
        .await
        .unwrap();
    assert!(
        store
            .known_device(owner, &hash_of("device-1"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .known_device(colleague, &hash_of("device-1"))
            .await
            .unwrap(),
        "one person's browser is not known for another's account"
    );
    assert!(
        !store
            .known_device(owner, &hash_of("device-2"))
            .await
            .unwrap()
    );
    store.forget_device(&hash_of("device-1")).await.unwrap();
    assert!(
        !store
            .known_device(owner, &hash_of("device-1"))
            .await
            .unwrap()
    );

    // Switching off forgets the secret and the codes.
    store.disable_authenticator(owner).await.unwrap();
    assert!(store.authenticator(owner).await.unwrap().is_none());
    assert_eq!(store.recovery_codes_left(owner).await.unwrap(), 0);
    assert!(
        !store
            .user_by_email(&owner_email)
            .await
            .unwrap()
            .unwrap()
            .second_factor
    );
    store
        .set_sign_in_policy(practice, &SignInPolicy::default())
        .await
        .unwrap();
    store.delete_user_sessions(owner).await.unwrap();
    store.delete_user_sessions(colleague).await.unwrap();
}

async fn booking_story(store: &dyn Store, practice: store::PracticeId, setup: &PracticeSetup) {
    use domain::booking::{BookingMode, BookingStatus, DetailsForm, VisitorDetails};
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let settings = store.booking_settings(practice).await.unwrap();
    assert_eq!(settings.mode, BookingMode::Request);
    assert_eq!(settings.request_hold_hours, 24);
    assert_eq!(
        store.opening_hours(practice).await.unwrap(),
        setup.hours,
        "weekly hours round-trip"
    );
    let away = store.away_periods(practice).await.unwrap();
    assert_eq!(away.len(), 1);
    assert_eq!(
        away[0].start.to_string(),
        "2027-04-04T23:00:00Z",
        "a break starts at local midnight (BST)"
    );
    assert_eq!(away[0].end.to_string(), "2027-04-11T23:00:00Z");
    let types = store.appointment_types(practice).await.unwrap();
    assert_eq!(
        types[0]
            .booking
            .locations
            .iter()
            .map(Slug::as_str)
            .collect::<Vec<_>>(),
        ["balham", "online"]
    );
    assert!(types[0].booking.bookable_online);

    let visitor = VisitorDetails::parse(
        &DetailsForm {
            name: "Sam Jones",
            email: "sam@example.com",
            phone: "",
            contact_preference: "email",
            note: "",
            consent: true,
        },
        true,
    )
    .unwrap();
    let at = |s: &str| s.parse::<Timestamp>().unwrap();
    let new = |start: &str, end: &str, token: &[u8], key: Option<&str>| store::NewBooking {
        appointment_type: Slug::parse("consultation").unwrap(),
        location: Slug::parse("balham").unwrap(),
        start: at(start),
        end: at(end),
        status: BookingStatus::Requested,
        visitor: visitor.clone(),
        manage_token_hash: token.to_vec(),
        uid: format!("uid-{}", String::from_utf8_lossy(token)),
        hold_expires_at: Some(at(end)),
        idempotency_key: key.map(str::to_owned),
    };
    let note = NewMessage {
        kind: "booking_confirmation".into(),
        to: EmailAddress::parse("sam@example.com").unwrap(),
        subject: "Your consultation".into(),
        body_text: "Booked.".into(),
        calendar: None,
    };
    let day = |from: &str, to: &str| (at(from), at(to));
    let (window_from, window_to) = day("2027-03-29T00:00:00Z", "2027-03-30T00:00:00Z");
    let always = || store::Recheck::new(window_from, window_to, |_| true);
    let first = store
        .book(
            practice,
            &new(
                "2027-03-29T08:00:00Z",
                "2027-03-29T08:50:00Z",
                b"t1",
                Some("key-1"),
            ),
            std::slice::from_ref(&note),
            always(),
            now,
        )
        .await
        .unwrap();
    assert_eq!(first.status, BookingStatus::Requested);
    assert_eq!(first.location.as_str(), "balham");
    let again = store
        .book(
            practice,
            &new(
                "2027-03-29T08:00:00Z",
                "2027-03-29T08:50:00Z",
                b"t9",
                Some("key-1"),
            ),
            std::slice::from_ref(&note),
            always(),
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        again.id, first.id,
        "the same idempotency key returns the first booking"
    );
    // The engine's re-check sees the first booking and refuses.
    let saw = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = std::sync::Arc::clone(&saw);
    let refuse = store::Recheck::new(window_from, window_to, move |busy| {
        seen.lock().unwrap().extend_from_slice(busy);
        busy.is_empty()
    });
    let refused = store
        .book(
            practice,
            &new("2027-03-29T09:00:00Z", "2027-03-29T09:50:00Z", b"t2", None),
            std::slice::from_ref(&note),
            refuse,
            now,
        )
        .await;
    assert_eq!(conflict_of(&refused), Some(ConflictKind::SlotUnavailable));
    assert_eq!(
        saw.lock().unwrap().len(),
        1,
        "the re-check is shown the nearby busy time"
    );
    // Even if the code above got it wrong, the database refuses an overlap.
    let overlap = store
        .book(
            practice,
            &new("2027-03-29T08:30:00Z", "2027-03-29T09:20:00Z", b"t3", None),
            std::slice::from_ref(&note),
            always(),
            now,
        )
        .await;
    assert_eq!(
        conflict_of(&overlap),
        Some(ConflictKind::SlotUnavailable),
        "the database's own rule is the backstop"
    );
    assert_eq!(
        store
            .outbox(practice, 100)
            .await
            .unwrap()
            .iter()
            .filter(|m| m.kind == "booking_confirmation")
            .count(),
        1,
        "refused bookings queue no mail"
    );
    let busy = store
        .busy_between(
            practice,
            at("2027-03-29T00:00:00Z"),
            at("2027-03-30T00:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(busy.len(), 1);
    assert_eq!(
        store
            .booking_by_token(practice, b"t1")
            .await
            .unwrap()
            .unwrap()
            .id,
        first.id
    );
    // Another practice in the same database does not find this practice's booking.
    let other = store.create_practice(setup, now).await.unwrap();
    assert!(
        store
            .booking_by_token(other, b"t1")
            .await
            .unwrap()
            .is_none(),
        "a manage token finds only its own practice's booking"
    );
    assert!(
        store
            .booking_by_token(practice, b"nope")
            .await
            .unwrap()
            .is_none()
    );

    let confirmed = store
        .set_booking_status(practice, first.id, BookingStatus::Confirmed, &[], now)
        .await
        .unwrap();
    assert_eq!(
        (
            confirmed.status,
            confirmed.sequence,
            confirmed.hold_expires_at
        ),
        (BookingStatus::Confirmed, 1, None)
    );
    let cancelled = store
        .set_booking_status(
            practice,
            first.id,
            BookingStatus::Cancelled,
            std::slice::from_ref(&note),
            now,
        )
        .await
        .unwrap();
    assert_eq!(cancelled.sequence, 2);
    let queued = store.outbox(practice, 100).await.unwrap().len();
    assert!(
        matches!(
            store
                .set_booking_status(practice, first.id, BookingStatus::Cancelled, &[note], now)
                .await,
            Err(StoreError::NotFound)
        ),
        "a booking already cancelled (by another request or runner) is not cancelled again"
    );
    assert_eq!(
        store.outbox(practice, 100).await.unwrap().len(),
        queued,
        "and nothing is queued"
    );
    assert_eq!(store.booking(practice, first.id).await.unwrap().sequence, 2);
    assert!(
        store
            .busy_between(
                practice,
                at("2027-03-29T00:00:00Z"),
                at("2027-03-30T00:00:00Z")
            )
            .await
            .unwrap()
            .is_empty(),
        "cancelled frees the time"
    );
    store
        .book(
            practice,
            &new("2027-03-29T08:30:00Z", "2027-03-29T09:20:00Z", b"t4", None),
            &[],
            always(),
            now,
        )
        .await
        .expect("a cancelled booking's time can be booked again");
    assert_eq!(
        store
            .bookings_between(
                practice,
                at("2027-03-29T00:00:00Z"),
                at("2027-03-30T00:00:00Z")
            )
            .await
            .unwrap()
            .len(),
        2
    );
}

/// Many bookings at once on a fresh, empty store (run on its own, not after [`story`]):
/// each re-check sees every booking made before it, including those committed together
/// with it; a booking the database itself refuses spoils nothing for the others; and a
/// refused booking leaves no trace.
pub async fn concurrent_bookings(store: std::sync::Arc<dyn Store>) {
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let setup = PracticeSetup::from_toml(PRACTICE).unwrap();
    let practice = store.create_practice(&setup, now).await.unwrap();
    // Twice: first with honest racers only (they go through together), then with one whose
    // re-check wrongly says yes, so the database refuses a row and each booking of that
    // group is made again on its own.
    for (week, saboteur) in [(0i64, false), (1, true)] {
        race(&store, practice, now, week, saboteur).await;
    }
}

async fn race(
    store: &std::sync::Arc<dyn Store>,
    practice: store::PracticeId,
    now: Timestamp,
    week: i64,
    saboteur: bool,
) {
    use std::sync::Arc;

    use domain::{
        ContactPreference,
        booking::{BookingStatus, VisitorDetails},
    };
    let minutes = |m: i64| jiff::SignedDuration::from_mins(m);
    let monday_nine =
        "2027-03-29T08:00:00Z".parse::<Timestamp>().unwrap() + minutes(7 * 24 * 60 * week);
    let booking = |n: usize, start: Timestamp| store::NewBooking {
        appointment_type: Slug::parse("consultation").unwrap(),
        location: Slug::parse("balham").unwrap(),
        start,
        end: start + minutes(50),
        status: BookingStatus::Confirmed,
        visitor: VisitorDetails {
            name: PersonName::parse("Sam Jones").unwrap(),
            email: EmailAddress::parse("sam@example.com").unwrap(),
            phone: None,
            contact_preference: ContactPreference::Email,
            note: None,
        },
        manage_token_hash: format!("token-{week}-{n}").into_bytes(),
        uid: format!("uid-{week}-{n}"),
        hold_expires_at: None,
        idempotency_key: None,
    };
    let message = move |n: usize| NewMessage {
        kind: format!("racer-{week}-{n}"),
        to: EmailAddress::parse("sam@example.com").unwrap(),
        subject: "Booked".into(),
        body_text: "Booked.".into(),
        calendar: None,
    };
    // One booking already there, at 09:00.
    store
        .book(
            practice,
            &booking(1000, monday_nine),
            &[],
            store::Recheck::accept_any(now),
            now,
        )
        .await
        .unwrap();

    // 60 racers for the hours from 10:00 (20 each for 10:00, 11:00 and 12:00), each
    // re-checking honestly; racer 60 asks for 09:20 and its re-check wrongly says yes (the
    // database refuses it); racers 61 and 62 send the same idempotency key for Tuesday 18:00
    // online (one booking, both told about it).
    let tuesday_six = monday_nine + minutes(33 * 60);
    let mut tasks = Vec::new();
    for n in (0..63).filter(|&n| saboteur || n != 60) {
        let store = Arc::clone(store);
        let start = match n {
            60 => monday_nine + minutes(20),
            61 | 62 => tuesday_six,
            _ => monday_nine + minutes(60 * (1 + (n % 3) as i64)),
        };
        let mut new = booking(n, start);
        if n > 60 {
            new.location = Slug::parse("online").unwrap();
            new.idempotency_key = Some(format!("twin-{week}"));
        }
        let recheck = if n == 60 {
            store::Recheck::accept_any(start)
        } else {
            store::Recheck::new(
                start - minutes(10),
                new.end + minutes(10),
                move |busy: &[store::BusyTime]| busy.is_empty(),
            )
        };
        tasks.push((
            n,
            tokio::spawn(async move {
                store
                    .book(practice, &new, &[message(n)], recheck, now)
                    .await
                    .map(|b| (b.id, b.start))
            }),
        ));
    }
    let mut won = Vec::new();
    for (n, task) in tasks {
        match task.await.unwrap() {
            Ok(made) => won.push((n, made)),
            Err(StoreError::Conflict(ConflictKind::SlotUnavailable)) => {}
            Err(other) => panic!("racer {n}: {other}"),
        }
    }
    let mut starts: Vec<Timestamp> = won.iter().map(|(_, (_, start))| *start).collect();
    starts.sort();
    assert_eq!(
        starts,
        [
            monday_nine + minutes(60),
            monday_nine + minutes(120),
            monday_nine + minutes(180),
            tuesday_six,
            tuesday_six
        ],
        "one winner per hour, the overlap the database refused is not among them, both twins answered"
    );
    let twins: Vec<_> = won
        .iter()
        .filter(|(n, _)| *n > 60)
        .map(|(_, (id, _))| *id)
        .collect();
    assert_eq!(twins.len(), 2);
    assert_eq!(twins[0], twins[1], "one idempotency key, one booking");
    let mut queued: Vec<String> = store
        .outbox(practice, 500)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.kind)
        .filter(|kind| kind.starts_with(&format!("racer-{week}-")))
        .collect();
    queued.sort();
    let mut expected: Vec<String> = won
        .iter()
        .filter(|(n, _)| *n <= 60)
        .map(|(n, _)| format!("racer-{week}-{n}"))
        .collect();
    expected.sort();
    assert_eq!(
        queued.len(),
        expected.len() + 1,
        "the twins queue one message"
    );
    assert!(
        expected.iter().all(|kind| queued.contains(kind)),
        "only the winners' messages are queued"
    );
    let rows = store
        .bookings_between(practice, monday_nine, monday_nine + minutes(48 * 60))
        .await
        .unwrap();
    assert_eq!(
        rows.len(),
        5,
        "09:00, the three winners and the twins' one booking"
    );
}

/// Clients, contracts, sessions, outcomes and charges (after [`booking_story`]).
async fn therapy_story(store: &dyn Store, practice: store::PracticeId) {
    use domain::{
        ContactPreference, Pence,
        availability::AwayPeriod,
        therapy::{
            ContractKind, ContractTerms, Frequency, WeeklyTime,
            policy::{CancellationPolicy, Outcome},
            schedule::plan,
        },
    };
    use jiff::{civil::Weekday, tz::TimeZone};

    use store::{NewCharge, NewClient, SessionStatus};
    let now = Timestamp::from_second(1_800_000_000).unwrap(); // 2027-01-15
    let zone = TimeZone::get("Europe/London").unwrap();
    let planner = move |terms: &ContractTerms, kept: &[domain::therapy::schedule::Kept], from| {
        plan(terms, &zone, &[], kept, from, date(2027, 12, 31))
    };

    assert_eq!(
        store.therapy_settings(practice).await.unwrap(),
        domain::therapy::TherapySettings::default()
    );
    // The cancellation policy is versioned; version 1 is the default.
    let first = store.policy(practice, None).await.unwrap();
    assert_eq!((first.version, first.notice_hours), (1, 48));
    let stricter = CancellationPolicy {
        notice_hours: 72,
        ..first.clone()
    };
    assert_eq!(store.add_policy(practice, &stricter, now).await.unwrap(), 2);
    assert_eq!(store.policy(practice, None).await.unwrap().notice_hours, 72);
    assert_eq!(store.policy(practice, Some(1)).await.unwrap(), first);
    assert!(matches!(
        store.policy(practice, Some(9)).await,
        Err(StoreError::NotFound)
    ));

    // Clients: from a consultation, or added directly.
    let details = |name: &str, email: &str| NewClient {
        name: PersonName::parse(name).unwrap(),
        email: EmailAddress::parse(email).unwrap(),
        phone: None,
        contact_preference: ContactPreference::Email,
        reminders: true,
    };
    let consultation = store
        .bookings_between(
            practice,
            "2027-03-29T00:00:00Z".parse().unwrap(),
            "2027-03-30T00:00:00Z".parse().unwrap(),
        )
        .await
        .unwrap()
        .into_iter()
        .find(|b| b.status.is_active())
        .expect("a consultation from the booking story")
        .id;
    let robin = store
        .create_client(
            practice,
            &details("Robin Vale", "robin@example.com"),
            Some(consultation),
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .consultation_outcome(practice, consultation)
            .await
            .unwrap(),
        Some(("working_together".to_owned(), Some(robin)))
    );
    assert!(
        matches!(
            store
                .create_client(
                    practice,
                    &details("Twice", "t@example.com"),
                    Some(consultation),
                    now
                )
                .await,
            Err(StoreError::NotFound)
        ),
        "a consultation's outcome is recorded once"
    );
    let kim = store
        .create_client(practice, &details("Kim Ash", "kim@example.com"), None, now)
        .await
        .unwrap();
    let mut changed = details("Kim Ashdown", "kim@example.com");
    changed.reminders = false;
    store
        .update_client(practice, kim, &changed, now)
        .await
        .unwrap();
    let clients = store.clients(practice).await.unwrap();
    assert_eq!(clients.len(), 2, "the refused client was not stored");
    let kim_row = store.client(practice, kim).await.unwrap();
    assert_eq!(
        (kim_row.name.as_str(), kim_row.reminders),
        ("Kim Ashdown", false)
    );
    assert_eq!(
        store.client(practice, robin).await.unwrap().consultation,
        Some(consultation)
    );

    // A brief contract of four weekly sessions, Monday 10:00 at Balham, from 3 May 2027.
    let terms = ContractTerms {
        kind: ContractKind::Brief {
            focus: "Sleep and worry since the move.".into(),
            sessions: 4,
            reviews_at: vec![2],
        },
        frequency: Frequency::Weekly,
        times: vec![WeeklyTime {
            weekday: Weekday::Monday,
            time: jiff::civil::time(10, 0, 0, 0),
        }],
        location: Slug::parse("balham").unwrap(),
        minutes: 50,
        fee: Pence::new(7000),
        start: date(2027, 5, 3),
        policy_version: 2,
    };
    let contract = store
        .save_contract(practice, robin, None, &terms, "", now, &planner, now)
        .await
        .unwrap();
    let sessions = store.client_sessions(practice, robin).await.unwrap();
    assert_eq!(
        sessions
            .iter()
            .map(|s| (s.start.to_string(), s.number))
            .collect::<Vec<_>>(),
        [
            ("2027-05-03T09:00:00Z".to_owned(), Some(1)),
            ("2027-05-10T09:00:00Z".to_owned(), Some(2)),
            ("2027-05-17T09:00:00Z".to_owned(), Some(3)),
            ("2027-05-24T09:00:00Z".to_owned(), Some(4)),
        ]
    );
    assert!(
        sessions
            .iter()
            .all(|s| s.status == SessionStatus::Scheduled)
    );
    let saved = store.contract(practice, contract).await.unwrap();
    assert_eq!(saved.current().terms, terms);
    assert_eq!(saved.versions.len(), 1);

    // The same time for another client clashes, and nothing of it is stored.
    let clash = store
        .save_contract(practice, kim, None, &terms, "", now, &planner, now)
        .await;
    assert_eq!(
        conflict_of(&clash),
        Some(ConflictKind::AppointmentsOverlap),
        "{clash:?}"
    );
    assert!(store.contracts(practice, kim).await.unwrap().is_empty());
    // Sessions hold the therapist's time against consultations too.
    let busy = store
        .busy_between(practice, sessions[0].start, sessions[0].end)
        .await
        .unwrap();
    assert_eq!(busy.len(), 1);

    // Cancelled in time: it no longer counts, so the brief work gains a session at the end.
    let cancelled = store
        .record_outcome(
            practice,
            sessions[1].id,
            &NewCharge {
                outcome: Outcome::CancelledInTime,
                told_at: Some(now),
                amount: Pence::new(0),
                rule: "Cancelled with plenty of notice: no charge.".into(),
                policy_version: 2,
                used_free_allowance: false,
            },
            &planner,
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        cancelled.status,
        SessionStatus::Done(Outcome::CancelledInTime)
    );
    assert_eq!(cancelled.number, None);
    assert_eq!(cancelled.charge.as_ref().unwrap().amount, Pence::new(0));
    let sessions = store.client_sessions(practice, robin).await.unwrap();
    assert_eq!(
        sessions.iter().map(|s| s.number).collect::<Vec<_>>(),
        [Some(1), None, Some(2), Some(3), Some(4)]
    );
    assert_eq!(sessions[4].start.to_string(), "2027-05-31T09:00:00Z");

    // A late cancellation that used the free allowance, then waived… no: charged, then waived.
    let late = store
        .record_outcome(
            practice,
            sessions[2].id,
            &NewCharge {
                outcome: Outcome::LateCancellation,
                told_at: Some(sessions[2].start),
                amount: Pence::new(7000),
                rule: "Late cancellation: 100% of the fee.".into(),
                policy_version: 2,
                used_free_allowance: true,
            },
            &planner,
            now,
        )
        .await
        .unwrap();
    let charge = late.charge.clone().unwrap();
    assert_eq!(charge.rule, "Late cancellation: 100% of the fee.");
    assert_eq!(
        store
            .free_late_cancellations(practice, robin)
            .await
            .unwrap(),
        [sessions[2].start]
    );
    store
        .waive_charge(practice, charge.id, "Family emergency", now)
        .await
        .unwrap();
    assert!(matches!(
        store.waive_charge(practice, charge.id, "again", now).await,
        Err(StoreError::NotFound)
    ));
    let waived = store.therapy_session(practice, late.id).await.unwrap();
    let waived_charge = waived.charge.unwrap();
    assert_eq!(waived_charge.waived.unwrap().0, "Family emergency");
    assert_eq!(waived_charge.amount, Pence::new(7000), "the charge is kept");

    // Move one session; the regular time is remembered.
    let last = sessions[4].clone();
    let moved = store
        .move_session(
            practice,
            last.id,
            &Slug::parse("online").unwrap(),
            last.start + jiff::SignedDuration::from_hours(3),
            last.end + jiff::SignedDuration::from_hours(3),
            now,
        )
        .await
        .unwrap();
    assert!(moved.moved);
    assert_eq!((moved.occurrence, moved.sequence), (last.start, 1));
    assert_eq!(moved.location.as_str(), "online");
    assert_eq!(
        conflict_of(
            &store
                .move_session(
                    practice,
                    last.id,
                    &Slug::parse("balham").unwrap(),
                    sessions[0].start,
                    sessions[0].end,
                    now
                )
                .await
        ),
        Some(ConflictKind::AppointmentsOverlap)
    );

    // "This and following": from session 4 (24 May) the time changes to Tuesday 11:00.
    let mut later = terms.clone();
    later.times = vec![WeeklyTime {
        weekday: Weekday::Tuesday,
        time: jiff::civil::time(11, 0, 0, 0),
    }];
    store
        .save_contract(
            practice,
            robin,
            Some(contract),
            &later,
            "Moved to Tuesdays",
            sessions[3].start,
            &planner,
            now,
        )
        .await
        .unwrap();
    let saved = store.contract(practice, contract).await.unwrap();
    assert_eq!(saved.versions.len(), 2);
    assert_eq!(saved.versions[0].terms, terms, "the old version is kept");
    assert_eq!(saved.current().note, "Moved to Tuesdays");
    let after = store.client_sessions(practice, robin).await.unwrap();
    assert_eq!(
        after
            .iter()
            .map(|s| (s.start.to_string(), s.number))
            .collect::<Vec<_>>(),
        [
            ("2027-05-03T09:00:00Z".to_owned(), Some(1)),
            ("2027-05-10T09:00:00Z".to_owned(), None),
            ("2027-05-17T09:00:00Z".to_owned(), Some(2)),
            ("2027-05-25T10:00:00Z".to_owned(), Some(3)),
            ("2027-05-31T12:00:00Z".to_owned(), Some(4)),
        ],
        "earlier sessions and the moved one stay; the rest follow the new time"
    );

    // A break over the Tuesday session marks it; it stops counting.
    let away = AwayPeriod {
        start: "2027-05-25T00:00:00Z".parse().unwrap(),
        end: "2027-05-26T00:00:00Z".parse().unwrap(),
    };
    assert_eq!(store.mark_break(practice, &away).await.unwrap(), [robin]);
    let in_break = store.client_sessions(practice, robin).await.unwrap();
    assert_eq!(in_break[3].status, SessionStatus::Break);
    assert_eq!(in_break[3].number, None);

    // The client is told about a break once, when the notice is due.
    let half_term = store
        .add_away_period(practice, "Half term", away.start, away.end)
        .await
        .unwrap();
    for _ in 0..2 {
        store
            .add_break_notices(practice, half_term, &[(robin, now)])
            .await
            .unwrap();
    }
    let later_notice = [(kim, now + jiff::SignedDuration::from_hours(1))];
    store
        .add_break_notices(practice, half_term, &later_notice)
        .await
        .unwrap();
    assert_eq!(
        store.break_notices_due(now).await.unwrap(),
        [(practice, half_term, robin)]
    );
    let notice = NewMessage {
        kind: "break_notice".into(),
        to: EmailAddress::parse("robin@example.com").unwrap(),
        subject: "A break".into(),
        body_text: "No sessions that week.".into(),
        calendar: None,
    };
    let queued = |kind: &'static str| async move {
        store
            .outbox(practice, 500)
            .await
            .unwrap()
            .iter()
            .filter(|m| m.kind == kind)
            .count()
    };
    for _ in 0..2 {
        store
            .send_break_notice(practice, half_term, robin, &notice, now)
            .await
            .unwrap();
    }
    assert_eq!(queued("break_notice").await, 1, "sent once");
    assert!(store.break_notices_due(now).await.unwrap().is_empty());

    // Session reminders: due once, for clients who want them.
    let first_session = &after[0];
    let due = store
        .session_reminders_due(practice, first_session.start, first_session.end)
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].1.as_str(), "robin@example.com");
    let reminder = NewMessage {
        kind: "session_reminder".into(),
        ..notice.clone()
    };
    for _ in 0..2 {
        store
            .send_session_reminder(practice, first_session.id, &reminder, now)
            .await
            .unwrap();
    }
    assert_eq!(queued("session_reminder").await, 1);
    assert!(
        store
            .session_reminders_due(practice, first_session.start, first_session.end)
            .await
            .unwrap()
            .is_empty()
    );

    // A client's page: what is coming, and only the latest of what has been.
    let all = store.client_sessions(practice, robin).await.unwrap();
    let middle = all[2].start;
    let around = store
        .client_sessions_around(practice, robin, middle, None, Some(2))
        .await
        .unwrap();
    assert_eq!(around.past_total, 3);
    assert_eq!(
        around.past.iter().map(|s| s.id).collect::<Vec<_>>(),
        [all[2].id, all[1].id],
        "newest first, two of them"
    );
    assert_eq!(
        around.coming.iter().map(|s| s.id).collect::<Vec<_>>(),
        all[3..].iter().map(|s| s.id).collect::<Vec<_>>()
    );
    let everything = store
        .client_sessions_around(practice, robin, middle, Some(1), None)
        .await
        .unwrap();
    assert_eq!(everything.past.len(), 3);
    assert_eq!(
        everything.coming.iter().map(|s| s.id).collect::<Vec<_>>(),
        [all[3].id]
    );

    // Settings for reminders, breaks and invoices.
    let settings = domain::therapy::TherapySettings {
        invoice_mode: domain::therapy::InvoiceMode::PerSession,
        bank_details: "Sort code 00-00-00".into(),
        payment_terms_days: 7,
        ..domain::therapy::TherapySettings::default()
    };
    store
        .update_therapy_settings(practice, &settings)
        .await
        .unwrap();
    assert_eq!(store.therapy_settings(practice).await.unwrap(), settings);

    // Invoices: the attended first session is charged; waived and free charges are not.
    let attended = store
        .record_outcome(
            practice,
            first_session.id,
            &NewCharge {
                outcome: Outcome::Attended,
                told_at: None,
                amount: Pence::new(7000),
                rule: "Attended: the session fee.".into(),
                policy_version: 2,
                used_free_allowance: false,
            },
            &planner,
            now,
        )
        .await
        .unwrap();
    let far = now + jiff::SignedDuration::from_hours(24 * 365);
    let owed = store
        .uninvoiced_charges(practice, Some(robin), far)
        .await
        .unwrap();
    assert_eq!(
        owed.iter().map(|s| s.id).collect::<Vec<_>>(),
        [attended.id],
        "only the attended session: the others are free or waived"
    );
    assert_eq!(
        store.balance(practice, robin).await.unwrap(),
        store::Balance {
            invoiced_unpaid: Pence::new(0),
            not_invoiced: Pence::new(7000)
        }
    );
    let charge = attended.charge.clone().unwrap().id;
    let new_invoice = |charges: Vec<store::ChargeId>, token: &[u8]| store::NewInvoice {
        client: robin,
        issued_on: date(2027, 5, 3),
        due_on: date(2027, 5, 10),
        period: "Monday 3 May 2027".into(),
        charges,
        lines: vec![store::InvoiceLine {
            description: "Session 1, Monday 3 May 2027 at 10am".into(),
            detail: "Attended: the session fee.".into(),
            amount: Pence::new(7000),
        }],
        token_hash: token.to_vec(),
    };
    let email = |invoice: &store::Invoice| {
        Some(NewMessage {
            kind: "invoice".into(),
            to: EmailAddress::parse("robin@example.com").unwrap(),
            subject: format!("Invoice {}", invoice.number),
            body_text: "Your invoice.".into(),
            calendar: None,
        })
    };
    let invoice = store
        .create_invoice(practice, &new_invoice(vec![charge], b"inv-1"), &email, now)
        .await
        .unwrap();
    assert!(
        store
            .outbox(practice, 500)
            .await
            .unwrap()
            .iter()
            .any(|m| m.subject == "Invoice 1"),
        "the email is queued with the invoice"
    );
    assert_eq!((invoice.number, invoice.total), (1, Pence::new(7000)));
    assert_eq!(invoice.client_name, "Robin Vale");
    assert_eq!(invoice.lines.len(), 1);
    assert_eq!(
        conflict_of(
            &store
                .create_invoice(practice, &new_invoice(vec![charge], b"inv-x"), &email, now)
                .await
        ),
        Some(ConflictKind::ChargesChanged),
        "a charge goes on one invoice"
    );
    assert!(
        store
            .uninvoiced_charges(practice, Some(robin), far)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .balance(practice, robin)
            .await
            .unwrap()
            .invoiced_unpaid,
        Pence::new(7000)
    );
    store
        .set_invoice_paid(practice, invoice.id, Some(date(2027, 5, 5)))
        .await
        .unwrap();
    assert_eq!(
        store.balance(practice, robin).await.unwrap(),
        store::Balance::default()
    );
    assert_eq!(
        store
            .invoice_by_token(practice, b"inv-1")
            .await
            .unwrap()
            .unwrap()
            .paid_on,
        Some(date(2027, 5, 5))
    );
    let other = store
        .create_practice(&PracticeSetup::from_toml(PRACTICE).unwrap(), now)
        .await
        .unwrap();
    assert!(
        store
            .invoice_by_token(other, b"inv-1")
            .await
            .unwrap()
            .is_none(),
        "an invoice link finds only its own practice's invoice"
    );
    store
        .set_invoice_token(practice, invoice.id, b"inv-2", &[], now)
        .await
        .unwrap();
    assert!(
        store
            .invoice_by_token(practice, b"inv-1")
            .await
            .unwrap()
            .is_none()
    );
    let second = store
        .create_invoice(practice, &new_invoice(Vec::new(), b"inv-3"), &email, now)
        .await
        .unwrap();
    assert_eq!(second.number, 2, "the refused invoice used no number");
    assert_eq!(
        store
            .invoices(practice, Some(robin))
            .await
            .unwrap()
            .iter()
            .map(|i| i.number)
            .collect::<Vec<_>>(),
        [2, 1]
    );
    assert!(
        store
            .invoices(practice, Some(kim))
            .await
            .unwrap()
            .is_empty()
    );

    // Notes: the store keeps what it is given, sealed by the caller with the note's id.
    assert!(store.client_key(practice, robin).await.unwrap().is_none());
    assert_eq!(
        store
            .add_client_key(practice, robin, b"wrapped-1", now)
            .await
            .unwrap(),
        b"wrapped-1"
    );
    assert_eq!(
        store
            .add_client_key(practice, robin, b"wrapped-2", now)
            .await
            .unwrap(),
        b"wrapped-1",
        "the first key stays"
    );
    let seal = |text: &'static str| move |id: store::NoteId| format!("{id}:{text}").into_bytes();
    let general = store
        .save_note(practice, robin, None, None, &seal("general"), now)
        .await
        .unwrap();
    assert_eq!(
        store
            .save_note(practice, robin, None, Some(general), &seal("changed"), now)
            .await
            .unwrap(),
        general
    );
    let session_id = after[1].id;
    let first = store
        .save_note(practice, robin, Some(session_id), None, &seal("s1"), now)
        .await
        .unwrap();
    let second = store
        .save_note(practice, robin, Some(session_id), None, &seal("s2"), now)
        .await
        .unwrap();
    assert_eq!(first, second, "one note per session");
    assert_eq!(
        store
            .session_note(practice, session_id)
            .await
            .unwrap()
            .unwrap()
            .body,
        format!("{first}:s2").into_bytes()
    );
    let notes = store.notes(practice, robin).await.unwrap();
    assert_eq!(notes.len(), 2);
    assert!(
        notes
            .iter()
            .any(|n| n.id == general && n.body == format!("{general}:changed").into_bytes())
    );
    assert!(
        matches!(
            store
                .save_note(practice, kim, Some(session_id), None, &seal("x"), now)
                .await,
            Err(StoreError::NotFound)
        ),
        "a session note goes only on that session's client"
    );
    assert!(store.notes(practice, kim).await.unwrap().is_empty());

    // Ending the contract removes what has not happened yet.
    store.end_contract(practice, contract, now).await.unwrap();
    assert!(!store.contract(practice, contract).await.unwrap().active);
    let ended = store.client_sessions(practice, robin).await.unwrap();
    assert!(
        ended
            .iter()
            .all(|s| !matches!(s.status, SessionStatus::Scheduled | SessionStatus::Break)),
        "{ended:?}"
    );
    assert!(store.active_contracts(practice).await.unwrap().is_empty());
}

/// Invoice numbers stay sequential, unique and gap-free when many are made at once and
/// some are refused (run on a fresh, empty store).
pub async fn concurrent_invoices(store: std::sync::Arc<dyn Store>) {
    use std::sync::Arc;

    use domain::{ContactPreference, Pence};
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let setup = PracticeSetup::from_toml(PRACTICE).unwrap();
    let practice = store.create_practice(&setup, now).await.unwrap();
    let client = store
        .create_client(
            practice,
            &store::NewClient {
                name: PersonName::parse("Robin Vale").unwrap(),
                email: EmailAddress::parse("robin@example.com").unwrap(),
                phone: None,
                contact_preference: ContactPreference::Email,
                reminders: true,
            },
            None,
            now,
        )
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for n in 0..40 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            // Every fourth names a charge that does not exist, and is refused.
            let charges = if n % 4 == 3 {
                vec![store::ChargeId::new(999_999)]
            } else {
                Vec::new()
            };
            let invoice = store::NewInvoice {
                client,
                issued_on: date(2027, 5, 1),
                due_on: date(2027, 5, 15),
                period: "April 2027".into(),
                charges,
                lines: vec![store::InvoiceLine {
                    description: format!("Line {n}"),
                    detail: String::new(),
                    amount: Pence::new(100),
                }],
                token_hash: format!("token-{n}").into_bytes(),
            };
            store
                .create_invoice(practice, &invoice, &|_| None, now)
                .await
        }));
    }
    let mut numbers = Vec::new();
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(invoice) => numbers.push(invoice.number),
            Err(StoreError::Conflict(ConflictKind::ChargesChanged)) => refused += 1,
            Err(other) => panic!("{other}"),
        }
    }
    numbers.sort_unstable();
    assert_eq!(refused, 10);
    assert_eq!(
        numbers,
        (1..=30).collect::<Vec<u32>>(),
        "1 to 30, no gaps, no repeats"
    );
}

/// A 32-byte stand-in for the SHA-256 of a secret.
fn hash_of(label: &str) -> Vec<u8> {
    let mut hash = [0u8; 32];
    for (i, b) in label.bytes().enumerate().take(32) {
        hash[i] = b;
    }
    hash[31] = 0xAA;
    hash.to_vec()
}

/// A client of the portal story: Mondays at `hour` online, weekly, from 3 May 2027.
async fn portal_client(
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
async fn portal_story(store: &dyn Store, practice: store::PracticeId) {
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

/// Rate-limit counters, one step at a time: a window of `max`, refusals until it ends, a
/// new window after, places given back, counters apart by practice, kind and subject.
async fn limits_story(store: &dyn Store, practice: store::PracticeId, now: Timestamp) {
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
fn either(
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

/// Forty invoices at once, half through each of two handles on one database (two processes,
/// as in hosted mode), every fourth refused for a charge that does not exist: the numbers
/// made are 1 to 30, each once. A backend must serialise the practice's counter (see
/// `TherapyStore::create_invoice`).
pub async fn concurrent_invoices_from_two_writers(
    first: std::sync::Arc<dyn Store>,
    second: std::sync::Arc<dyn Store>,
) {
    use domain::{ContactPreference, Pence};
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let setup = PracticeSetup::from_toml(PRACTICE).unwrap();
    let practice = first.create_practice(&setup, now).await.unwrap();
    let client = first
        .create_client(
            practice,
            &store::NewClient {
                name: PersonName::parse("Robin Vale").unwrap(),
                email: EmailAddress::parse("robin@example.com").unwrap(),
                phone: None,
                contact_preference: ContactPreference::Email,
                reminders: true,
            },
            None,
            now,
        )
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for n in 0..40 {
        let store = either(n, &first, &second);
        tasks.push(tokio::spawn(async move {
            let charges = if n % 4 == 3 {
                vec![store::ChargeId::new(999_999)]
            } else {
                Vec::new()
            };
            let invoice = store::NewInvoice {
                client,
                issued_on: date(2027, 5, 1),
                due_on: date(2027, 5, 15),
                period: "April 2027".into(),
                charges,
                lines: vec![store::InvoiceLine {
                    description: format!("Line {n}"),
                    detail: String::new(),
                    amount: Pence::new(100),
                }],
                token_hash: format!("two-writers-{n}").into_bytes(),
            };
            store
                .create_invoice(practice, &invoice, &|_| None, now)
                .await
        }));
    }
    let mut numbers = Vec::new();
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(invoice) => numbers.push(invoice.number),
            Err(StoreError::Conflict(ConflictKind::ChargesChanged)) => refused += 1,
            Err(other) => panic!("{other}"),
        }
    }
    numbers.sort_unstable();
    assert_eq!(refused, 10);
    assert_eq!(
        numbers,
        (1..=30).collect::<Vec<u32>>(),
        "1 to 30 across both writers: no gaps, no repeats"
    );
    let mut stored: Vec<u32> = second
        .invoices(practice, Some(client))
        .await
        .unwrap()
        .iter()
        .map(|i| i.number)
        .collect();
    stored.sort_unstable();
    assert_eq!(stored, numbers, "what was answered is what was stored");
}

/// Two hundred audit entries appended at once, half through each of two handles on one
/// database: the chain verifies, its ids run without a gap, and every entry is in it once.
/// A backend must serialise appends to the one chain (see `AuditStore::append_audit`).
pub async fn concurrent_audit_from_two_writers(
    first: std::sync::Arc<dyn Store>,
    second: std::sync::Arc<dyn Store>,
) {
    use store::{Actor, AuditAction, NewAuditEntry, audit};
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let setup = PracticeSetup::from_toml(PRACTICE).unwrap();
    let practice = first.create_practice(&setup, now).await.unwrap();
    let before = audit::verify(&*first).await.unwrap().unwrap();
    let mut tasks = Vec::new();
    for n in 0..200 {
        let store = either(n, &first, &second);
        tasks.push(tokio::spawn(async move {
            let entry = NewAuditEntry {
                actor: Actor::System,
                action: AuditAction::ClientViewed,
                client: None,
                object: Some(("client", i64::try_from(n).unwrap())),
                source: Some(format!("writer {}", n % 2)),
            };
            store.append_audit(practice, &entry, now).await.unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(
        audit::verify(&*second).await.unwrap(),
        Ok(before + 200),
        "the chain holds every entry, each linked to the one before"
    );
    let entries = first.audit_after(0, 10_000).await.unwrap();
    let ids: Vec<i64> = entries.iter().map(|e| e.id).collect();
    let expected: Vec<i64> = (1..=i64::try_from(entries.len()).unwrap()).collect();
    assert_eq!(ids, expected, "ids in order, without a gap");
    let mut objects: Vec<i64> = entries
        .iter()
        .filter(|e| {
            e.source
                .as_deref()
                .is_some_and(|s| s.starts_with("writer "))
        })
        .filter_map(|e| e.object_id)
        .collect();
    objects.sort_unstable();
    assert_eq!(objects, (0..200).collect::<Vec<i64>>(), "each entry once");
}

/// A consultation and a session for the same time, at once, through two handles on one
/// database, twelve times over (the handles swap roles half-way): each time exactly one
/// wins, the booking that loses is `SlotUnavailable` and the session that loses
/// `AppointmentsOverlap`, and no two appointments overlap afterwards. The database's own
/// rule decides: the booking's re-check accepts anything, and moving a session checks
/// nothing first.
pub async fn booking_and_session_race(
    first: std::sync::Arc<dyn Store>,
    second: std::sync::Arc<dyn Store>,
) {
    use domain::{
        ContactPreference, Pence,
        booking::{BookingStatus, VisitorDetails},
        therapy::{ContractKind, ContractTerms, Frequency, WeeklyTime, schedule::plan},
    };
    use jiff::{SignedDuration, civil::Weekday, tz::TimeZone};
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let setup = PracticeSetup::from_toml(PRACTICE).unwrap();
    let practice = first.create_practice(&setup, now).await.unwrap();
    let client = first
        .create_client(
            practice,
            &store::NewClient {
                name: PersonName::parse("Robin Vale").unwrap(),
                email: EmailAddress::parse("robin@example.com").unwrap(),
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
        plan(terms, &zone, &[], kept, from, date(2027, 12, 31))
    };
    let terms = ContractTerms {
        kind: ContractKind::Brief {
            focus: "Racing.".into(),
            sessions: 12,
            reviews_at: vec![],
        },
        frequency: Frequency::Weekly,
        times: vec![WeeklyTime {
            weekday: Weekday::Monday,
            time: jiff::civil::time(10, 0, 0, 0),
        }],
        location: Slug::parse("balham").unwrap(),
        minutes: 50,
        fee: Pence::new(7000),
        start: date(2027, 5, 3),
        policy_version: 1,
    };
    first
        .save_contract(practice, client, None, &terms, "", now, &planner, now)
        .await
        .unwrap();
    let sessions = first.client_sessions(practice, client).await.unwrap();
    assert_eq!(sessions.len(), 12);
    let balham = Slug::parse("balham").unwrap();
    let mut tasks = Vec::new();
    for (n, session) in sessions.iter().enumerate() {
        // The same week's Wednesday, at a time nothing holds yet.
        let start = session.start + SignedDuration::from_hours(2 * 24 + 5);
        let end = start + SignedDuration::from_mins(50);
        let (booker, mover) = if n < 6 {
            (first.clone(), second.clone())
        } else {
            (second.clone(), first.clone())
        };
        let booking = store::NewBooking {
            appointment_type: Slug::parse("consultation").unwrap(),
            location: balham.clone(),
            start,
            end,
            status: BookingStatus::Confirmed,
            visitor: VisitorDetails {
                name: PersonName::parse("Sam Jones").unwrap(),
                email: EmailAddress::parse("sam@example.com").unwrap(),
                phone: None,
                contact_preference: ContactPreference::Email,
                note: None,
            },
            manage_token_hash: format!("race-token-{n}").into_bytes(),
            uid: format!("race-uid-{n}"),
            hold_expires_at: None,
            idempotency_key: None,
        };
        let booked = tokio::spawn(async move {
            booker
                .book(
                    practice,
                    &booking,
                    &[],
                    store::Recheck::accept_any(start),
                    now,
                )
                .await
                .map(|b| b.id)
        });
        let (id, location) = (session.id, balham.clone());
        let moved = tokio::spawn(async move {
            mover
                .move_session(practice, id, &location, start, end, now)
                .await
                .map(|s| s.id)
        });
        tasks.push((n, booked, moved));
    }
    let mut bookings_won = 0;
    for (n, booked, moved) in tasks {
        match (booked.await.unwrap(), moved.await.unwrap()) {
            (Ok(_), Err(StoreError::Conflict(ConflictKind::AppointmentsOverlap))) => {
                bookings_won += 1;
            }
            (Err(StoreError::Conflict(ConflictKind::SlotUnavailable)), Ok(_)) => {}
            (booked, moved) => panic!("round {n}: booking {booked:?}, session {moved:?}"),
        }
    }
    let from: Timestamp = "2027-05-01T00:00:00Z".parse().unwrap();
    let to: Timestamp = "2027-08-01T00:00:00Z".parse().unwrap();
    let mut busy = first.busy_between(practice, from, to).await.unwrap();
    busy.sort_by_key(|b| b.start);
    assert_eq!(
        busy.len(),
        12 + bookings_won,
        "every session (moved or not) and every booking that won"
    );
    assert!(
        busy.windows(2).all(|pair| pair[0].end <= pair[1].start),
        "no two appointments overlap: {busy:?}"
    );
}

/// Every way an appointment stops holding time gives the time back, and every way it
/// starts holding time takes it (run on a fresh, empty store): a session put into a break,
/// a session moved (its old time free, its new one taken), a cancelled consultation, and a
/// consultation cancelled by the erasure of the client who booked it. Each is checked by
/// booking the time with a re-check that accepts anything, so only the database decides.
pub async fn appointments_give_their_time_back(store: &dyn Store) {
    use domain::{
        ContactPreference, Pence,
        availability::AwayPeriod,
        booking::{BookingStatus, VisitorDetails},
        therapy::{ContractKind, ContractTerms, Frequency, WeeklyTime, schedule::plan},
    };
    use jiff::{SignedDuration, civil::Weekday, tz::TimeZone};
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let setup = PracticeSetup::from_toml(PRACTICE).unwrap();
    let practice = store.create_practice(&setup, now).await.unwrap();
    let client = store
        .create_client(
            practice,
            &store::NewClient {
                name: PersonName::parse("Robin Vale").unwrap(),
                email: EmailAddress::parse("robin@example.com").unwrap(),
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
        plan(terms, &zone, &[], kept, from, date(2027, 12, 31))
    };
    let balham = Slug::parse("balham").unwrap();
    let terms = ContractTerms {
        kind: ContractKind::Brief {
            focus: "Time.".into(),
            sessions: 4,
            reviews_at: vec![],
        },
        frequency: Frequency::Weekly,
        times: vec![WeeklyTime {
            weekday: Weekday::Monday,
            time: jiff::civil::time(10, 0, 0, 0),
        }],
        location: balham.clone(),
        minutes: 50,
        fee: Pence::new(7000),
        start: date(2027, 5, 3),
        policy_version: 1,
    };
    store
        .save_contract(practice, client, None, &terms, "", now, &planner, now)
        .await
        .unwrap();
    let sessions = store.client_sessions(practice, client).await.unwrap();
    let made = std::sync::atomic::AtomicUsize::new(0);
    let book = |start: Timestamp, email: &str| {
        let n = made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let booking = store::NewBooking {
            appointment_type: Slug::parse("consultation").unwrap(),
            location: balham.clone(),
            start,
            end: start + SignedDuration::from_mins(50),
            status: BookingStatus::Confirmed,
            visitor: VisitorDetails {
                name: PersonName::parse("Sam Jones").unwrap(),
                email: EmailAddress::parse(email).unwrap(),
                phone: None,
                contact_preference: ContactPreference::Email,
                note: None,
            },
            manage_token_hash: format!("time-back-{n}").into_bytes(),
            uid: format!("time-back-{n}"),
            hold_expires_at: None,
            idempotency_key: None,
        };
        async move {
            store
                .book(
                    practice,
                    &booking,
                    &[],
                    store::Recheck::accept_any(start),
                    now,
                )
                .await
        }
    };

    // A session holds its time; put into a break, it gives it back.
    let first = sessions[0].start;
    assert_eq!(
        conflict_of(&book(first, "sam@example.com").await),
        Some(ConflictKind::SlotUnavailable),
        "a scheduled session holds its time"
    );
    let away = AwayPeriod {
        start: first - SignedDuration::from_hours(1),
        end: first + SignedDuration::from_hours(2),
    };
    assert_eq!(store.mark_break(practice, &away).await.unwrap(), [client]);
    book(first, "sam@example.com")
        .await
        .expect("a session in a break holds no time");

    // A moved session frees its old time and holds its new one.
    let (old, new) = (
        sessions[1].start,
        sessions[1].start + SignedDuration::from_hours(3),
    );
    store
        .move_session(
            practice,
            sessions[1].id,
            &balham,
            new,
            new + SignedDuration::from_mins(50),
            now,
        )
        .await
        .unwrap();
    book(old, "sam@example.com")
        .await
        .expect("the time a session moved from is free");
    assert_eq!(
        conflict_of(&book(new, "sam@example.com").await),
        Some(ConflictKind::SlotUnavailable),
        "the time it moved to is held"
    );

    // A cancelled consultation gives its time back.
    let later = sessions[2].start + SignedDuration::from_hours(24);
    let booking = book(later, "sam@example.com").await.unwrap();
    store
        .set_booking_status(practice, booking.id, BookingStatus::Cancelled, &[], now)
        .await
        .unwrap();
    book(later, "sam@example.com")
        .await
        .expect("a cancelled consultation holds no time");

    // The erased client's coming consultation is cancelled, and its time is free.
    let theirs = sessions[3].start + SignedDuration::from_hours(24);
    book(theirs, "robin@example.com").await.unwrap();
    let entry = store::NewAuditEntry {
        actor: store::Actor::System,
        action: store::AuditAction::ClientErased,
        client: Some(client),
        object: Some(("client", client.get())),
        source: None,
    };
    store
        .erase_client(practice, client, &entry, now)
        .await
        .unwrap();
    book(theirs, "sam@example.com")
        .await
        .expect("an erased client's cancelled consultation holds no time");
}

/// The confirmation email of a change of email address, to `to`.
fn confirmation_email(to: &str) -> NewMessage {
    NewMessage {
        kind: "portal_email_confirm".into(),
        to: EmailAddress::parse(to).unwrap(),
        subject: "Confirm your email address".into(),
        body_text: "A link.".into(),
        calendar: None,
    }
}

/// What [`email_change_story`] queues for an outcome: a notice of its kind.
fn email_change_notices(outcome: &store::EmailChangeOutcome) -> Vec<NewMessage> {
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
async fn email_change_story(
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

/// A break change and the planning it causes are one unit (issue 11): a break whose
/// replanning would put a session over another appointment is refused whole (no break, not
/// one session changed, no notice); one that fits stores the break, the sessions in it, the
/// moved ending and the notices together; removing it plans the sessions back in.
pub async fn break_changes_all_or_nothing(store: &dyn Store) {
    use domain::{
        ContactPreference, Pence,
        availability::AwayPeriod,
        therapy::{
            ContractKind, ContractTerms, Frequency, WeeklyTime,
            schedule::{Kept, plan},
        },
    };
    use jiff::{SignedDuration, civil::Weekday, tz::TimeZone};

    use store::{BreakChange, SessionStatus};

    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let setup = PracticeSetup::from_toml(PRACTICE).unwrap();
    let practice = store.create_practice(&setup, now).await.unwrap();
    let add_client = |name: &'static str, email: &'static str| async move {
        store
            .create_client(
                practice,
                &store::NewClient {
                    name: PersonName::parse(name).unwrap(),
                    email: EmailAddress::parse(email).unwrap(),
                    phone: None,
                    contact_preference: ContactPreference::Email,
                    reminders: true,
                },
                None,
                now,
            )
            .await
            .unwrap()
    };
    let robin = add_client("Robin Vale", "robin@example.com").await;
    let kim = add_client("Kim Lee", "kim@example.com").await;
    let zone = TimeZone::get("Europe/London").unwrap();
    // The planner as the application builds it: the zone and the breaks as they will be.
    let planner_with = |breaks: Vec<AwayPeriod>| {
        let zone = zone.clone();
        move |terms: &ContractTerms, kept: &[Kept], from| {
            plan(terms, &zone, &breaks, kept, from, date(2027, 12, 31))
        }
    };
    let balham = Slug::parse("balham").unwrap();
    let brief = |sessions: u32, hour: i8| ContractTerms {
        kind: ContractKind::Brief {
            focus: "Time.".into(),
            sessions,
            reviews_at: vec![],
        },
        frequency: Frequency::Weekly,
        times: vec![WeeklyTime {
            weekday: Weekday::Monday,
            time: jiff::civil::time(hour, 0, 0, 0),
        }],
        location: balham.clone(),
        minutes: 50,
        fee: Pence::new(7000),
        start: date(2027, 5, 3),
        policy_version: 1,
    };
    let no_breaks = planner_with(Vec::new());
    // Robin: Mondays at 10, 3, 10 and 17 May. Kim: Mondays at noon, five sessions to 31 May,
    // the fourth (24 May) moved to 10am: exactly where Robin's work would end if it grew by a
    // week.
    store
        .save_contract(
            practice,
            robin,
            None,
            &brief(3, 10),
            "",
            now,
            &no_breaks,
            now,
        )
        .await
        .unwrap();
    store
        .save_contract(practice, kim, None, &brief(5, 12), "", now, &no_breaks, now)
        .await
        .unwrap();
    let at = |day: i8, hour: i8| {
        date(2027, 5, day)
            .at(hour, 0, 0, 0)
            .to_zoned_datetime(zone.clone())
            .unwrap()
            .timestamp()
    };
    let kims = store.client_sessions(practice, kim).await.unwrap();
    assert_eq!(kims[3].start, at(24, 12));
    store
        .move_session(
            practice,
            kims[3].id,
            &balham,
            at(24, 10),
            at(24, 10) + SignedDuration::from_mins(50),
            now,
        )
        .await
        .unwrap();
    let sessions_of = |client| async move {
        store
            .client_sessions(practice, client)
            .await
            .unwrap()
            .into_iter()
            .map(|s| (s.id, s.start, s.end, s.status, s.number, s.moved))
            .collect::<Vec<_>>()
    };
    let calendar = || async { [sessions_of(robin).await, sessions_of(kim).await].concat() };
    let before = calendar().await;
    // The practice's own Easter break, from its setup, is before all of this.
    let easter: Vec<_> = store
        .away_periods(practice)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    let breaks = || async {
        store
            .away_periods(practice)
            .await
            .unwrap()
            .into_iter()
            .map(|a| (a.id, a.start))
            .filter(|(id, _)| !easter.contains(id))
            .collect::<Vec<_>>()
    };
    let robins_before = sessions_of(robin).await;
    let far = Timestamp::from_second(2_000_000_000).unwrap();
    let notices_due = || async {
        store
            .break_notices_due(far)
            .await
            .unwrap()
            .into_iter()
            .filter(|(p, ..)| *p == practice)
            .map(|(_, _, client)| client)
            .collect::<Vec<_>>()
    };

    // A break over 10 May moves Robin's ending to 24 May at 10am, onto Kim's moved session.
    let week_of_10 = AwayPeriod {
        start: at(9, 0),
        end: at(11, 0),
    };
    let clashing = BreakChange::Add {
        label: "Long weekend".into(),
        start: week_of_10.start,
        end: week_of_10.end,
        notify_at: now,
    };
    let refused = store
        .change_break(
            practice,
            &clashing,
            &planner_with(vec![week_of_10.clone()]),
            now,
        )
        .await;
    assert_eq!(
        conflict_of(&refused),
        Some(ConflictKind::AppointmentsOverlap),
        "a replan that clashes refuses the break: {refused:?}"
    );
    assert!(breaks().await.is_empty(), "the refused break is not stored");
    assert_eq!(
        calendar().await,
        before,
        "no session was marked, removed or added"
    );
    assert!(notices_due().await.is_empty(), "no notice was planned");

    // A break over 31 May touches only Kim's work: it is stored with everything it causes.
    let week_of_31 = AwayPeriod {
        start: at(30, 0),
        end: date(2027, 6, 1)
            .at(0, 0, 0, 0)
            .to_zoned_datetime(zone.clone())
            .unwrap()
            .timestamp(),
    };
    let notify_at = now + SignedDuration::from_hours(1);
    let away = store
        .change_break(
            practice,
            &BreakChange::Add {
                label: "Half term".into(),
                start: week_of_31.start,
                end: week_of_31.end,
                notify_at,
            },
            &planner_with(vec![week_of_31.clone()]),
            now,
        )
        .await
        .expect("a break that clashes with nothing is stored");
    assert_eq!(breaks().await, [(away, week_of_31.start)]);
    let kims = store.client_sessions(practice, kim).await.unwrap();
    let on = |sessions: &[store::Session], start: Timestamp| {
        sessions
            .iter()
            .find(|s| s.start == start)
            .map(|s| (s.status, s.number))
    };
    assert_eq!(
        on(&kims, at(31, 12)),
        Some((SessionStatus::Break, None)),
        "{kims:?}"
    );
    let june_7 = date(2027, 6, 7)
        .at(12, 0, 0, 0)
        .to_zoned_datetime(zone.clone())
        .unwrap()
        .timestamp();
    assert_eq!(
        on(&kims, june_7),
        Some((SessionStatus::Scheduled, Some(5))),
        "Kim's work ends a week later"
    );
    assert_eq!(notices_due().await, [kim], "only Kim has a session in it");
    assert!(
        store.break_notices_due(now).await.unwrap().is_empty(),
        "the notice waits for its time"
    );
    assert_eq!(
        sessions_of(robin).await,
        robins_before,
        "Robin's work, outside the break, is untouched"
    );

    // Removing it plans Kim's session back in and the extra week away.
    store
        .change_break(
            practice,
            &BreakChange::Remove(away),
            &planner_with(Vec::new()),
            now,
        )
        .await
        .unwrap();
    assert!(breaks().await.is_empty());
    let kims = store.client_sessions(practice, kim).await.unwrap();
    assert_eq!(
        on(&kims, at(31, 12)),
        Some((SessionStatus::Scheduled, Some(5)))
    );
    assert_eq!(on(&kims, june_7), None);
    assert_eq!(
        calendar().await.len(),
        before.len(),
        "as many sessions as before the breaks"
    );
    assert!(matches!(
        store
            .change_break(
                practice,
                &BreakChange::Remove(away),
                &planner_with(Vec::new()),
                now
            )
            .await,
        Err(StoreError::NotFound)
    ));
}
