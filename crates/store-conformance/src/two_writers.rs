//! Two writers on one database: invoice numbers, the audit chain, one place at a time.

use super::*;

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
    let before = audit::verify(&*first, practice).await.unwrap().unwrap();
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
        audit::verify(&*second, practice).await.unwrap(),
        Ok(before + 200),
        "the chain holds every entry, each linked to the one before"
    );
    let entries = first.audit_after(practice, 0, 10_000).await.unwrap();
    assert!(
        entries.windows(2).all(|w| w[0].id < w[1].id),
        "ids follow the chain"
    );
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
