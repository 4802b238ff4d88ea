//! Benchmark of issue 4: a practice with 40 active clients and about five years of history
//! (some 8,000 sessions, each with an outcome and a charge). Measures the server time of a
//! client's page and of the week view, in process (the router called directly, the whole
//! body collected), and prints the median and p99 of each:
//!
//!     cargo bench -p anteroom-web --bench therapy
//!
//! Issue 14 adds measures: five of the clients answered PHQ-9, GAD-7 and CORE-10 before
//! every session (some 3,800 questionnaires), and 500 ended contracts each have a first and
//! a latest PHQ-9 and GAD-7; it times those clients' pages and the practice outcomes page.
//!
//! `cargo xtask bench therapy` runs this and checks the medians against the 5 ms target
//! (50 ms for the outcomes page).

extern crate anteroom_web as web;

#[path = "therapy/measures.rs"]
mod measures;

use std::{sync::Arc, time::Instant};

use axum::{body::Body, http::Request};
use domain::{
    ContactPreference, EmailAddress, Pence, PersonName, Slug,
    availability::AwayPeriod,
    practice::PracticeSetup,
    therapy::{
        ContractKind, ContractTerms, Frequency, WeeklyTime, policy::Outcome, schedule::plan,
    },
};
use jiff::{SignedDuration, Timestamp, ToSpan, civil::Weekday, tz::TimeZone};
use sha2::{Digest, Sha256};
use store::{
    BookingStore, MeasureStore, NewCharge, NewClient, NewUser, PracticeStore, StaffStore, Store,
    TherapyStore,
};
use store_sqlite::{OpenMode, SqliteStore};
use tower::ServiceExt;
use web::{AppState, Clock, Config, RateLimits};

const PRACTICE: &str = include_str!("../../../content/demo/practice.toml");
const CLIENTS: usize = 40;
/// Clients whose pages show three measures.
const MEASURED: usize = 5;
const RUNS: usize = 400;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(bench());
}

async fn bench() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("anteroom.db"), OpenMode::CreateIfMissing)
            .await
            .expect("open the database"),
    );
    let now: Timestamp = "2027-03-25T09:00:00Z".parse().expect("now");
    let setup = PracticeSetup::from_toml(PRACTICE).expect("the demo practice");
    let practice = store.create_practice(&setup, now).await.expect("practice");
    let zone = TimeZone::get(&setup.details.time_zone).expect("zone");
    let today = now.to_zoned_datetime(zone.clone()).date();

    let seeding = Instant::now();
    let breaks: Vec<AwayPeriod> = store
        .away_periods(practice)
        .await
        .expect("breaks")
        .into_iter()
        .map(|a| AwayPeriod {
            start: a.start,
            end: a.end,
        })
        .collect();
    let until = today.checked_add(400.days()).expect("a date");
    let planner = {
        let zone = zone.clone();
        move |terms: &ContractTerms, kept: &[_], from| {
            plan(terms, &zone, &breaks, kept, from, until)
        }
    };
    let days = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
    ];
    let mut clients = Vec::new();
    for n in 0..CLIENTS {
        let client = store
            .create_client(
                practice,
                &NewClient {
                    name: PersonName::parse(&format!("Client Number{n}")).expect("name"),
                    email: EmailAddress::parse(&format!("client{n}@example.com")).expect("email"),
                    phone: None,
                    contact_preference: ContactPreference::Email,
                    reminders: true,
                },
                None,
                now,
            )
            .await
            .expect("client");
        // Started between five years and two and a half years ago: about 200 weeks each.
        let weeks_ago = 260 - i64::try_from(n).expect("n") * 3;
        let start = today
            .checked_sub((weeks_ago * 7).days())
            .expect("a start date");
        let terms = ContractTerms {
            kind: ContractKind::OpenEnded {
                review_every_weeks: 6,
            },
            frequency: Frequency::Weekly,
            times: vec![WeeklyTime {
                weekday: days[n % 5],
                time: jiff::civil::time(8 + i8::try_from(n / 5).expect("hour"), 0, 0, 0),
            }],
            location: Slug::parse(if n % 2 == 0 {
                "balham"
            } else {
                "chancery-lane"
            })
            .expect("slug"),
            minutes: 50,
            fee: Pence::new(7000),
            start,
            policy_version: 1,
        };
        let begun = start
            .to_zoned_datetime(zone.clone())
            .expect("start")
            .timestamp();
        let earlier = begun - SignedDuration::from_hours(24);
        store
            .save_contract(practice, client, None, &terms, "", begun, &planner, earlier)
            .await
            .expect("contract");
        clients.push(client);
    }
    // Every past session gets an outcome and a charge.
    let mut past = 0;
    for &client in &clients {
        let sessions = store
            .client_sessions(practice, client)
            .await
            .expect("sessions");
        for (i, session) in sessions.iter().filter(|s| s.end < now).enumerate() {
            if session.status != store::SessionStatus::Scheduled {
                continue;
            }
            let (outcome, amount, rule) = match i % 25 {
                7 => (
                    Outcome::LateCancellation,
                    7000,
                    "Late cancellation: 20 hours' notice, less than the 48 hours the policy (version 1) asks for. 100% of the £70 fee.",
                ),
                19 => (
                    Outcome::CancelledInTime,
                    0,
                    "Cancelled with 72 hours' notice (the policy, version 1, asks for 48): no charge.",
                ),
                _ => (Outcome::Attended, 7000, "Attended: the session fee."),
            };
            store
                .record_outcome(
                    practice,
                    session.id,
                    &NewCharge {
                        outcome,
                        told_at: None,
                        amount: Pence::new(amount),
                        rule: rule.into(),
                        policy_version: 1,
                        used_free_allowance: false,
                    },
                    &planner,
                    now,
                )
                .await
                .expect("outcome");
            past += 1;
        }
    }
    let mut total = 0;
    for &client in &clients {
        total += store
            .client_sessions(practice, client)
            .await
            .expect("sessions")
            .len();
    }
    println!(
        "therapy practice: {CLIENTS} active clients, {total} sessions ({past} with an outcome and a charge), seeded in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    // A signed-in therapist.
    let user = store
        .create_user(
            practice,
            &NewUser {
                email: EmailAddress::parse("therapist@example.com").expect("email"),
                name: PersonName::parse("Bench Therapist").expect("name"),
                password_hash: "not used".into(),
            },
            now,
        )
        .await
        .expect("user");
    let token = "ab".repeat(32);
    store
        .create_session(&Sha256::digest(token.as_bytes()), user, now)
        .await
        .expect("session");
    let cookie = format!("__Host-anteroom_office={token}");
    let shared: Arc<dyn Store> = store.clone();
    let state = AppState::new(
        shared,
        web::Resolver::Single(practice),
        Clock::pinned(now),
        Config {
            public_url: "http://127.0.0.1:8080".into(),
            trust_proxy: false,
            rate_limits: RateLimits::default(),
            theme_dir: None,
            mail_configured: false,
            host_key: None,
            operator: None,
            directory_host: None,
            outcode_centroids: None,
        },
        None,
    )
    .expect("app state");
    let app = web::app(state);

    // Where a client page's time goes: the store calls it makes, on their own.
    let mut parts = Vec::new();
    for run in 0..RUNS {
        let client = clients[run % clients.len()];
        let started = Instant::now();
        let sessions = store
            .client_sessions_around(practice, client, now, Some(12), Some(20))
            .await
            .expect("sessions")
            .past;
        let sessions_took = started.elapsed();
        let contracts = store.contracts(practice, client).await.expect("contracts");
        let _ = store
            .invoices(practice, Some(client))
            .await
            .expect("invoices");
        let _ = store.balance(practice, client).await.expect("balance");
        parts.push((
            sessions_took.as_secs_f64() * 1e6,
            started.elapsed().as_secs_f64() * 1e6,
        ));
        assert!(!sessions.is_empty() && !contracts.is_empty());
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    // One small query, for scale: what a single round trip to the database costs.
    let mut single = Vec::new();
    for run in 0..RUNS {
        let started = Instant::now();
        store
            .client(practice, clients[run % clients.len()])
            .await
            .expect("client");
        single.push(started.elapsed().as_secs_f64() * 1e6);
    }
    println!(
        "one small query (a client's row): median {:.1} µs",
        median(single)
    );
    println!(
        "store calls of a client page: sessions (next 12, latest 20 past, count) median {:.1} µs; with contracts, invoices and balance {:.1} µs",
        median(parts.iter().map(|p| p.0).collect()),
        median(parts.iter().map(|p| p.1).collect())
    );

    let client_pages: Vec<String> = clients[MEASURED..]
        .iter()
        .map(|c| format!("/office/clients/{c}"))
        .collect();
    let weeks: Vec<String> = (0..8)
        .map(|w| {
            let day = today.checked_sub((w * 7).days()).expect("a date");
            format!("/office/calendar?view=week&date={day}")
        })
        .collect();
    // The pages of issue 4 first, on the practice as it was; then measures are added.
    time_pages(&app, &cookie, "client page", &client_pages, "Client Number").await;
    time_pages(&app, &cookie, "week view", &weeks, "Session").await;

    // The first MEASURED clients (about five years of weekly sessions) answered three
    // measures before every session; 500 ended contracts have a first and a latest score.
    let measuring = Instant::now();
    let answered = measures::seed_weekly(&*store, practice, &clients[..MEASURED], now).await;
    let ended = measures::seed_ended(&*store, practice, now).await;
    println!(
        "measures: {answered} questionnaires of {MEASURED} clients, {ended} ended contracts with four each, seeded in {:.1} s",
        measuring.elapsed().as_secs_f64()
    );
    // Where the measured page's time goes: the client's questionnaires, read on their own.
    let mut reads = Vec::new();
    for run in 0..RUNS / 4 {
        let started = Instant::now();
        let all = store
            .questionnaire_summaries(practice, clients[run % MEASURED])
            .await
            .expect("questionnaires");
        reads.push(started.elapsed().as_secs_f64() * 1e6);
        assert!(all.len() > 600);
    }
    reads.sort_by(f64::total_cmp);
    println!(
        "store call of a measured client page: questionnaire summaries (about 730) median {:.1} µs",
        reads[reads.len() / 2]
    );
    let measured_pages: Vec<String> = clients[..MEASURED]
        .iter()
        .map(|c| format!("/office/clients/{c}"))
        .collect();
    time_pages(
        &app,
        &cookie,
        "client page with 3 measures",
        &measured_pages,
        "CORE-10 scores by session",
    )
    .await;
    // The same plain pages in the larger practice (540 clients, 500 ended contracts).
    time_pages(
        &app,
        &cookie,
        "client page in the larger practice",
        &client_pages,
        "Client Number",
    )
    .await;
    let outcomes = ["/office/outcomes".to_owned()];
    time_pages(&app, &cookie, "outcomes page", &outcomes, "PHQ-9").await;
}

/// Request `paths` in turn (20 to warm up, then RUNS timed) and print the median and p99.
async fn time_pages(app: &axum::Router, cookie: &str, name: &str, paths: &[String], needle: &str) {
    let mut times = Vec::with_capacity(RUNS);
    let mut bytes = 0;
    for run in 0..RUNS + 20 {
        let path = &paths[run % paths.len()];
        let request = Request::get(path.as_str())
            .header("cookie", cookie)
            .body(Body::empty())
            .expect("request");
        let started = Instant::now();
        let response = app.clone().oneshot(request).await.expect("response");
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        let took = started.elapsed();
        assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
        assert!(
            String::from_utf8_lossy(&body).contains(needle),
            "{path} does not show {needle}"
        );
        if run >= 20 {
            times.push(took.as_secs_f64() * 1e6);
            bytes = body.len();
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let p99 = times[times.len() * 99 / 100];
    println!("{name}: median {median:.1} µs p99 {p99:.1} µs ({RUNS} requests, last {bytes} bytes)");
}
