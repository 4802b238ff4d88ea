//! The conformance story: one walk through a practice's life that every backend must pass,
//! and the stories of many requests (and several writers) at once. A crate of its own, a
//! dev-dependency of each backend, so that it is compiled only for their tests.
//!
//! A backend's tests call [`story`] with a fresh, empty store. It panics with a message
//! naming the step that misbehaved. Each subject's stories are a module of their own (the
//! walk here calls the single-handle ones); the races and two-writer stories are called by
//! the backend's tests directly.

mod audit;
mod booking;
mod breaks;
mod claims;
mod directory;
mod email_change;
mod health;
mod hosting;
mod keys;
mod limits;
mod measures;
mod moving;
mod occupancy;
mod operators;
mod photos;
mod portal;
mod rights;
mod staff;
mod therapy;
mod two_writers;

use self::{audit::*, hosting::*, keys::*, portal::*, rights::*, staff::*};
pub use self::{
    booking::*, breaks::*, claims::*, email_change::*, limits::*, occupancy::*, therapy::*,
    two_writers::*,
};
pub use self::{
    directory::directory_story,
    health::health_story,
    hosting::closing_story,
    measures::{measure_races, measures_story, scored_answers},
    moving::moving_story,
    operators::{operator_races, operators_story},
    photos::{photo_races, photos_story, remote_portrait_races, remote_portraits_story},
};
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
pub(crate) fn conflict_of<T>(result: &store::StoreResult<T>) -> Option<ConflictKind> {
    match result {
        Err(StoreError::Conflict(kind)) => Some(*kind),
        _ => None,
    }
}

pub(crate) const PRACTICE: &str = r#"
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

pub(crate) fn draft(title: &str, tags: &str, published: bool, day: i8) -> ArticleDraft {
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
    assert_eq!(store.practice_ids().await.unwrap(), vec![practice]);
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
    hosting_story(store, practice).await;
    keys_story(store).await;
}
