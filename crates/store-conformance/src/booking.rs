//! Consultations: booking, moving, cancelling, and many bookings at once.

use super::*;

pub(crate) async fn booking_story(
    store: &dyn Store,
    practice: store::PracticeId,
    setup: &PracticeSetup,
) {
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
    let all = store.practice_ids().await.unwrap();
    assert!(
        all.ends_with(&[other]) && all.len() >= 2,
        "every practice is listed, oldest first"
    );
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

pub(crate) async fn race(
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
