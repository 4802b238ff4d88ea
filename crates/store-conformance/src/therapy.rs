//! The work with clients: contracts, sessions, charges, invoices, and invoices at once.

use super::*;

/// Clients, contracts, sessions, outcomes and charges (after [`booking_story`]).
pub(crate) async fn therapy_story(store: &dyn Store, practice: store::PracticeId) {
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
