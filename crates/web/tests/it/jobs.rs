//! The timed jobs with more than one runner: hosted mode runs several processes on one
//! database, and each runs the jobs.

use std::collections::HashMap;

use domain::{
    ContactPreference, EmailAddress, Pence, PersonName, Slug,
    therapy::{ContractKind, ContractTerms, Frequency, WeeklyTime},
};
use jiff::{SignedDuration, civil::date};
use reqwest::StatusCode;
use store::{NewClient, TherapyStore};
use web::RateLimits;

use crate::{
    helpers::{START, TestApp},
    office_therapy::planner,
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
async fn client_on_mondays(app: &TestApp, n: usize, hour: i8) {
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
    let elsewhere = app.another_process().await;
    let here = app.state.clone();
    let (ran_here, ran_elsewhere) = tokio::join!(
        tokio::spawn(async move { web::jobs::run_once(&here).await }),
        tokio::spawn(async move { web::jobs::run_once(&elsewhere).await }),
    );
    ran_here.unwrap().expect("the jobs ran here");
    ran_elsewhere.unwrap().expect("the jobs ran elsewhere");

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
