//! Appointments give their time back when they stop holding it.

use super::*;

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
