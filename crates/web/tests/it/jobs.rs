//! The timed jobs with more than one runner: hosted mode runs several processes on one
//! database, and each runs the jobs.

use std::collections::HashMap;

use domain::{
    ContactPreference, EmailAddress, Pence, PersonName, Slug,
    therapy::{ContractKind, ContractTerms, Frequency, WeeklyTime},
};
use jiff::{SignedDuration, civil::date};
use reqwest::StatusCode;
use store::{ClientId, NewClient};
use web::RateLimits;

use crate::{
    helpers::{START, TestApp},
    office_therapy::{attended, planner},
};

/// Book a consultation in Balham at `start` (UTC) as `email`.
async fn book(app: &TestApp, start: &str, email: &str) {
    let form = [
        ("location", "balham"),
        ("start", start),
        ("name", "Sam Jones"),
        ("email", email),
        ("contact_preference", "email"),
        ("consent", "true"),
        ("idempotency_key", start),
    ];
    let reply = app.post_form("/book/confirm", &form).await;
    assert_eq!(
        reply.status,
        StatusCode::SEE_OTHER,
        "{start}: {}",
        reply.body
    );
}

/// A client with weekly sessions on Mondays at `hour`:00 in Balham from 29 March 2027.
async fn client_on_mondays(app: &TestApp, n: usize, hour: i8) -> ClientId {
    let now = START.parse().unwrap();
    let client = app
        .store
        .create_client(
            app.practice,
            &NewClient {
                name: PersonName::parse(&format!("Client Number{n}")).unwrap(),
                email: EmailAddress::parse(&format!("client{n}@example.com")).unwrap(),
                phone: None,
                contact_preference: ContactPreference::Email,
                reminders: true,
            },
            None,
            now,
        )
        .await
        .unwrap();
    let terms = ContractTerms {
        kind: ContractKind::OpenEnded {
            review_every_weeks: 6,
        },
        frequency: Frequency::Weekly,
        times: vec![WeeklyTime {
            weekday: jiff::civil::Weekday::Monday,
            time: jiff::civil::time(hour, 0, 0, 0),
        }],
        location: Slug::parse("balham").unwrap(),
        minutes: 50,
        fee: Pence::new(7000),
        start: date(2027, 3, 29),
        policy_version: 1,
    };
    let planner = planner(app).await;
    app.store
        .save_contract(app.practice, client, None, &terms, "", now, &planner, now)
        .await
        .unwrap();
    client
}

/// Run the jobs in two processes at once; both runs succeed.
async fn run_twice_at_once(app: &TestApp) {
    let elsewhere = app.another_process().await;
    let here = app.state.clone();
    let (ran_here, ran_elsewhere) = tokio::join!(
        tokio::spawn(async move { web::jobs::run_once(&here).await }),
        tokio::spawn(async move { web::jobs::run_once(&elsewhere).await }),
    );
    ran_here.unwrap().expect("the jobs ran here");
    ran_elsewhere.unwrap().expect("the jobs ran elsewhere");
}

/// Two runners in two processes (two handles on one database file) run the jobs at the same
/// moment: each consultation and session reminder, and the notice of each released
/// request, is queued exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_job_runners_at_once_queue_each_reminder_exactly_once() {
    let app = TestApp::spawn_with_limits(RateLimits {
        disabled: true,
        ..RateLimits::default()
    })
    .await;
    // Four consultations, confirmed at once: Monday 29 March from 9am to noon.
    const MONDAY: [&str; 4] = ["08", "09", "10", "11"];
    for (n, hour) in MONDAY.iter().enumerate() {
        let start = format!("2027-03-29T{hour}:00:00Z");
        book(&app, &start, &format!("visitor{n}@example.com")).await;
    }
    // Eight requests for later Mondays that nobody answers.
    app.sign_in().await;
    app.office_post(
        "/office/settings/booking",
        &[
            ("mode", "request"),
            ("request_hold_hours", "24"),
            ("reminder_hours", "24"),
        ],
    )
    .await
    .assert_redirect("/office/settings/booking?saved=1");
    let mut requests = 0;
    for day in ["12", "19"] {
        for hour in MONDAY {
            let start = format!("2027-04-{day}T{hour}:00:00Z");
            book(&app, &start, &format!("asker{requests}@example.com")).await;
            requests += 1;
        }
    }
    // Eight clients with sessions that Monday afternoon and evening.
    const CLIENTS: usize = 8;
    for n in 0..CLIENTS {
        client_on_mondays(&app, n, 13 + i8::try_from(n).unwrap()).await;
    }
    let queued_before = app.outbox().await.len();

    // Sunday 28 March, 9pm BST: everything on Monday until 9pm is within 24 hours.
    app.advance_clock(SignedDuration::from_hours(3 * 24 + 11));
    run_twice_at_once(&app).await;

    let outbox = app.outbox().await;
    let queued = &outbox[..outbox.len() - queued_before];
    let mut copies: HashMap<(&str, &str, &str), usize> = HashMap::new();
    for message in queued {
        *copies
            .entry((&message.kind, message.to.as_str(), &message.subject))
            .or_default() += 1;
    }
    let twice: Vec<_> = copies.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "queued more than once: {twice:?}");
    let of_kind = |kind: &str| queued.iter().filter(|m| m.kind == kind).count();
    assert_eq!(
        of_kind("booking_reminder"),
        MONDAY.len(),
        "every consultation"
    );
    assert_eq!(of_kind("session_reminder"), CLIENTS, "every session");
    assert_eq!(
        of_kind("booking_expired"),
        requests,
        "every request released"
    );
}

/// At the start of a month, two runners at once invoice each client's sessions once, with
/// invoice numbers that run on without gaps, and neither fails because the other was first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_job_runners_at_once_invoice_each_client_once() {
    let app = TestApp::spawn().await;
    const CLIENTS: usize = 8;
    let mut clients = Vec::new();
    for n in 0..CLIENTS {
        let hour = 13 + i8::try_from(n).unwrap();
        clients.push((client_on_mondays(&app, n, hour).await, hour));
    }
    app.advance_clock(SignedDuration::from_hours(24 * 5)); // Tuesday 30 March
    for (client, hour) in &clients {
        // Monday 29 March, in UTC (BST is an hour ahead).
        attended(&app, *client, &format!("2027-03-29T{:02}:00:00Z", hour - 1)).await;
    }
    app.advance_clock(SignedDuration::from_hours(24 * 2)); // Thursday 1 April
    run_twice_at_once(&app).await;

    let invoices = app.store.invoices(app.practice, None).await.unwrap();
    let mut numbers: Vec<u32> = invoices.iter().map(|i| i.number).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=8).collect::<Vec<u32>>(), "one each, no gaps");
    let mut invoiced: Vec<ClientId> = invoices.iter().map(|i| i.client).collect();
    invoiced.sort_unstable();
    invoiced.dedup();
    assert_eq!(invoiced.len(), CLIENTS, "every client once");
    let emails = app
        .outbox()
        .await
        .into_iter()
        .filter(|m| m.subject.starts_with("Invoice "))
        .count();
    assert_eq!(emails, CLIENTS, "one invoice email each");
}
