//! The access matrix (SECURITY.md R1), generated from the app's own route table: every
//! route that touches client data is tried as each kind of caller, and only the right one
//! gets through. A route without a rule answers 404 (the guard), so it cannot slip past.
//! Practices share one database, so the same table is also tried the other way: this
//! practice's own staff and clients with a second practice's ids and links.

use domain::{EmailAddress, PersonName, practice::PracticeSetup};
use reqwest::StatusCode;
use store::NewUser;
use web::access::{Rule, rules};

use crate::{
    booking::{MONDAY_9AM, book},
    helpers::{PRACTICE_TOML, Reply, START, TestApp, enquiry_form},
    office_therapy::{attended, robin_on_mondays},
};

/// Ids of one of each record, to put into the routes' placeholders.
struct Fixture {
    client: i64,
    contract: i64,
    session: i64,
    invoice: i64,
    booking: i64,
    article: i64,
    enquiry: i64,
    message: i64,
    away: i64,
    request: i64,
    /// A questionnaire asked of the client, not yet answered.
    questionnaire: i64,
    appointment_type: String,
    location: String,
    /// The consultation's manage link secret, and its id in the JSON API.
    booking_token: String,
    booking_public_id: String,
    /// The invoice link's secret, from the email that sent it.
    invoice_token: String,
    /// A room photo's key (each practice's its own).
    photo: String,
}

impl Fixture {
    /// The route with every placeholder replaced by a real id of this practice (secrets by
    /// a wrong one).
    fn path(&self, route: &str) -> String {
        let id = if route.starts_with("/office/clients/") {
            self.client
        } else if route.starts_with("/office/sessions/") {
            self.session
        } else if route.starts_with("/office/invoices/") {
            self.invoice
        } else if route.starts_with("/office/bookings/") {
            self.booking
        } else if route.starts_with("/office/articles/") {
            self.article
        } else if route.starts_with("/office/enquiries/") {
            self.enquiry
        } else if route.starts_with("/office/outbox/") {
            self.message
        } else if route.starts_with("/office/settings/away/") {
            self.away
        } else if route.starts_with("/office/questionnaires/") {
            self.questionnaire
        } else {
            0
        };
        let slug = if route.starts_with("/office/settings/appointment-types/") {
            self.appointment_type.as_str()
        } else {
            self.location.as_str()
        };
        route
            .replace("{id}", &id.to_string())
            .replace("{contract}", &self.contract.to_string())
            .replace("{request}", &self.request.to_string())
            .replace("{instrument}", "phq-9")
            .replace("{slug}", slug)
            .replace("{location}", &self.location)
            .replace("{token}", &"0".repeat(64))
            .replace("{file}", &format!("{}.ics", "0".repeat(64)))
            .replace("{key}", &self.photo)
            .replace("{theme}", "warm")
            .replace("{photo}", &format!("{}-320.webp", self.photo))
            .replace("{*rest}", "nothing-here")
    }
}

async fn fixture(app: &TestApp) -> Fixture {
    let token = book(app, MONDAY_9AM, "matrix").await;
    let consultation = app
        .store
        .booking_by_token(app.practice, &sha256(&token))
        .await
        .unwrap()
        .expect("the consultation");
    let booking = consultation.id.get();
    let booking_public_id = consultation.uid.split('@').next().unwrap().to_owned();
    let robin = robin_on_mondays(app).await;
    app.advance_clock(jiff::SignedDuration::from_hours(24 * 12));
    attended(app, robin, "2027-03-29T09:00:00Z").await;
    app.sign_in().await;
    app.office_post(
        "/office/settings/therapy",
        &[
            ("session_reminder_hours", "24"),
            ("break_notice_days", "28"),
            ("invoice_mode", "monthly"),
            ("payment_terms_days", "14"),
            ("bank_details", "Sort code 00-00-00"),
        ],
    )
    .await
    .assert_status(StatusCode::SEE_OTHER);
    app.office_post("/office/invoices/new", &[("client", &robin.to_string())])
        .await
        .assert_status(StatusCode::SEE_OTHER);
    let sessions = app
        .store
        .client_sessions(app.practice, robin)
        .await
        .unwrap();
    let invoice = app.store.invoices(app.practice, Some(robin)).await.unwrap()[0].id;
    let invoice_token = app
        .outbox()
        .await
        .into_iter()
        .find(|m| m.kind == "invoice")
        .and_then(|m| {
            let start = m.body_text.find("/invoice/")? + "/invoice/".len();
            Some(m.body_text[start..start + 64].to_owned())
        })
        .expect("the invoice link is emailed");
    app.post_form("/contact", &enquiry_form(&[]))
        .await
        .assert_status(StatusCode::SEE_OTHER);
    let now = app.clock.now();
    let away = app
        .store
        .add_away_period(
            app.practice,
            "Summer",
            now + jiff::SignedDuration::from_hours(24 * 100),
            now + jiff::SignedDuration::from_hours(24 * 107),
        )
        .await
        .unwrap();
    let today = jiff::civil::date(2027, 4, 6);
    let request = app
        .store
        .add_subject_access(app.practice, robin, today, today, now)
        .await
        .unwrap();
    let contract = sessions[0].contract;
    app.store
        .set_measure_plans(
            app.practice,
            contract,
            &[store::MeasurePlan {
                instrument: "phq-9".into(),
                schedule: domain::measures::plan::Schedule {
                    first: true,
                    ..Default::default()
                },
            }],
            now,
        )
        .await
        .unwrap();
    let questionnaire = app
        .store
        .request_questionnaires(
            app.practice,
            &[store::NewRequest {
                client: robin,
                contract,
                instrument: "phq-9".into(),
                occasion: domain::measures::plan::Occasion::Regular,
                session_number: 2,
            }],
            &|_| None,
            now,
        )
        .await
        .unwrap()[0];
    let photo = format!("{:020x}", app.practice.get());
    app.store
        .save_image(
            app.practice,
            &store::NewImage {
                role: store::ImageRole::Room(domain::Slug::parse("balham").unwrap()),
                key: photo.clone(),
                alt: "The room".into(),
                width: 320,
                height: 240,
                variants: vec![store::ImageVariant {
                    width: 320,
                    height: 240,
                    format: "webp",
                    bytes: b"RIFF....WEBP".to_vec(),
                }],
            },
            app.clock.now(),
        )
        .await
        .unwrap();
    Fixture {
        photo,
        questionnaire: questionnaire.get(),
        request: request.get(),
        client: robin.get(),
        contract: sessions[0].contract.get(),
        session: sessions[0].id.get(),
        invoice: invoice.get(),
        booking,
        article: app.store.all_articles(app.practice).await.unwrap()[0]
            .id
            .get(),
        enquiry: app.enquiries().await[0].id.get(),
        message: app.outbox().await[0].id.get(),
        away: away.get(),
        appointment_type: app.store.appointment_types(app.practice).await.unwrap()[0]
            .slug
            .to_string(),
        location: "balham".into(),
        booking_token: token,
        booking_public_id,
        invoice_token,
    }
}

fn sha256(text: &str) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes()).to_vec()
}

/// A member of staff of another practice in the same database, signed in: their session is
/// real, but not for this practice.
async fn other_practice_staff(app: &TestApp) -> String {
    let now: jiff::Timestamp = START.parse().unwrap();
    let setup = PracticeSetup::from_toml(PRACTICE_TOML).unwrap();
    let other = app.store.create_practice(&setup, now).await.unwrap();
    app.store
        .create_user(
            other,
            &NewUser {
                email: EmailAddress::parse("other@example.com").unwrap(),
                name: PersonName::parse("Other Therapist").unwrap(),
                password_hash: web::password::hash("another quiet room").unwrap(),
            },
            now,
        )
        .await
        .unwrap();
    // Their address and password sign nobody in here: the account is not this practice's.
    let reply = app
        .sign_in_with("other@example.com", "another quiet room")
        .await;
    reply.assert_status(StatusCode::UNAUTHORIZED);
    assert!(
        reply.set_cookies().is_empty(),
        "no session from another practice's account"
    );
    // A session they hold at their own practice's address, brought here.
    let user = app
        .store
        .user_by_email(&EmailAddress::parse("other@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    let token = "cd".repeat(32);
    app.store
        .create_session(&sha256(&token), user.id, now)
        .await
        .unwrap();
    format!("__Host-anteroom_office={token}")
}

async fn send(app: &TestApp, method: &str, path: &str, cookie: Option<&str>) -> Reply {
    let mut request = match method {
        "GET" => app.client().get(app.url(path)),
        _ => app
            .client()
            .post(app.url(path))
            .header("origin", app.url(""))
            .form(&[("matrix", "1")]),
    };
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    Reply::read(request.send().await.expect("send")).await
}

fn refused(reply: &Reply) -> bool {
    matches!(reply.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND)
        || (reply.status == StatusCode::SEE_OTHER
            && reply.location().is_some_and(|l| {
                l.starts_with("/office/sign-in") || l.starts_with("/portal/sign-in")
            }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_staff_route_lets_in_only_this_practices_staff() {
    let app = TestApp::spawn().await;
    let fixture = fixture(&app).await;
    let owner = app.sign_in().await;
    let other = other_practice_staff(&app).await;

    let mut checked = 0;
    // Refusals first (they must change nothing), then the owner's reads.
    for rule in rules().iter().filter(|r| r.rule == Rule::Staff) {
        let path = fixture.path(rule.path);
        for (who, cookie) in [
            ("anonymous", None),
            ("another practice's staff", Some(other.as_str())),
        ] {
            let reply = send(&app, rule.method, &path, cookie).await;
            assert!(
                refused(&reply),
                "{} {path} as {who}: {} {:?}",
                rule.method,
                reply.status,
                reply.location()
            );
            checked += 1;
        }
    }
    for rule in rules()
        .iter()
        .filter(|r| r.rule == Rule::Staff && r.method == "GET")
    {
        let mut path = fixture.path(rule.path);
        if rule.path.ends_with("/move/confirm") {
            // The confirmation needs a free time: the first one the move page offers.
            let times = send(&app, "GET", path.trim_end_matches("/confirm"), Some(&owner)).await;
            let body = times.decoded().replace("&amp;", "&");
            let start = body.find("/move/confirm?").expect("a free time to move to");
            let link = &body[start..];
            path.push_str(&link[link.find('?').unwrap()..link.find('"').unwrap()]);
        }
        let reply = send(&app, "GET", &path, Some(&owner)).await;
        // Through: the page, or (contract/new for a client with work going on) a redirect
        // to the client's page, never to sign-in.
        assert!(
            reply.status.is_success() || (reply.status.is_redirection() && !refused(&reply)),
            "GET {path} as the owner: {}",
            reply.status
        );
        checked += 1;
    }
    assert!(checked > 150, "only {checked} requests");
    // Nothing the refused callers sent changed the record.
    let robin = app
        .store
        .client(app.practice, store::ClientId::new(fixture.client))
        .await
        .unwrap();
    assert_eq!(robin.name.as_str(), "Robin Vale");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_links_with_a_wrong_secret_are_not_found() {
    let app = TestApp::spawn().await;
    let fixture = fixture(&app).await;
    let owner = app.sign_in().await;
    for rule in rules().iter().filter(|r| r.rule == Rule::Secret) {
        let path = fixture.path(rule.path);
        for cookie in [None, Some(owner.as_str())] {
            let reply = send(&app, rule.method, &path, cookie).await;
            assert!(
                matches!(
                    reply.status,
                    StatusCode::NOT_FOUND
                        | StatusCode::GONE
                        | StatusCode::UNPROCESSABLE_ENTITY
                        | StatusCode::FORBIDDEN
                        // The JSON API refuses the form body before it looks for a token.
                        | StatusCode::UNSUPPORTED_MEDIA_TYPE
                ),
                "{} {path}: {}",
                rule.method,
                reply.status
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_route_lets_in_only_that_client() {
    use crate::portal::{Browser, add_client, sign_in};
    let app = TestApp::spawn().await;
    let fixture = fixture(&app).await;
    // Robin's next session that can still be cancelled, and his invoice.
    let robin = store::ClientId::new(fixture.client);
    let now = app.clock.now();
    let coming = app
        .store
        .client_sessions(app.practice, robin)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.start > now && s.status == store::SessionStatus::Scheduled)
        .expect("a session to come")
        .id
        .get();
    let as_robin = Browser::new(&app);
    sign_in(&app, &as_robin, "robin@example.com").await;
    add_client(&app, "Kim Ash", "kim@example.com").await;
    let as_kim = Browser::new(&app);
    sign_in(&app, &as_kim, "kim@example.com").await;
    let owner = app.sign_in().await;
    let other = other_practice_staff(&app).await;
    let robins = |route: &str| {
        let id = if route.starts_with("/portal/invoices/") {
            fixture.invoice
        } else if route.starts_with("/portal/questionnaires/") {
            fixture.questionnaire
        } else {
            coming
        };
        route.replace("{id}", &id.to_string())
    };

    let mut checked = 0;
    for rule in rules().iter().filter(|r| r.rule == Rule::Client) {
        let path = robins(rule.path);
        // Nobody else gets in: not anonymous, not staff of this or another practice…
        for (who, cookie) in [
            ("anonymous", None),
            ("this practice's staff", Some(owner.as_str())),
            ("another practice's staff", Some(other.as_str())),
        ] {
            let reply = send(&app, rule.method, &path, cookie).await;
            assert!(
                refused(&reply),
                "{} {path} as {who}: {}",
                rule.method,
                reply.status
            );
            checked += 1;
        }
        if rule.method != "GET" {
            continue;
        }
        // …nor another client: Robin's records are not found for Kim.
        if rule.path.contains("{id}") {
            let reply = as_kim.get(&path).await;
            assert_eq!(
                reply.status,
                StatusCode::NOT_FOUND,
                "GET {path} as another client"
            );
            checked += 1;
        }
        // Robin himself gets in.
        let reply = as_robin.get(&path).await;
        assert!(
            reply.status.is_success(),
            "GET {path} as the client: {}",
            reply.status
        );
        checked += 1;
    }
    // Kim's own pages never show Robin.
    for path in ["/portal", "/portal/invoices", "/portal/details"] {
        let page = as_kim.get(path).await;
        page.assert_status(StatusCode::OK);
        assert!(!page.body.contains("Robin"), "{path} shows another client");
    }
    // And a signed-in client is no member of staff.
    for rule in rules()
        .iter()
        .filter(|r| r.rule == Rule::Staff && r.method == "GET")
    {
        let path = fixture.path(rule.path);
        let reply = as_robin.get(&path).await;
        assert!(refused(&reply), "GET {path} as a client: {}", reply.status);
        checked += 1;
    }
    assert!(checked > 80, "only {checked} requests");
}

/// What a caller of practice A could have changed in practice B: B's records as the store
/// reads them, B's outbox and B's audit log.
async fn snapshot(second: &TestApp, theirs: &Fixture) -> Vec<String> {
    let (app, practice) = (second, second.practice);
    let client = store::ClientId::new(theirs.client);
    let mut rows = vec![
        format!("{:?}", app.store.client(practice, client).await.unwrap()),
        format!(
            "{:?}",
            app.store.client_sessions(practice, client).await.unwrap()
        ),
        format!(
            "{:?}",
            app.store.invoices(practice, Some(client)).await.unwrap()
        ),
        format!(
            "{:?}",
            app.store
                .booking(practice, store::BookingId::new(theirs.booking))
                .await
                .unwrap()
        ),
        format!("{:?}", app.store.away_periods(practice).await.unwrap()),
        format!("{:?}", app.store.enquiries(practice).await.unwrap()),
        format!("{:?}", app.store.all_articles(practice).await.unwrap()),
        format!("{:?}", app.store.appointment_types(practice).await.unwrap()),
        format!(
            "{} messages",
            app.store.outbox(practice, 1000).await.unwrap().len()
        ),
    ];
    let audit = app.store.recent_audit(practice, 1000).await.unwrap();
    rows.push(format!("{} audit entries", audit.len()));
    rows
}

/// Issue 11: two practices share one SQLite file, and ids are unique across the file, so a
/// handler that forgets to scope a lookup by practice would hand practice B's record to
/// practice A. Practice A's own owner and A's own client try every route that takes a
/// record's id (and every secret link) with B's records: each is refused and nothing of
/// B's changes. Generated from the route table, so a new route is checked as it is added.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn this_practices_staff_and_clients_cannot_reach_another_practices_records() {
    practices_cannot_reach_each_other(TestApp::spawn().await).await;
}

/// Issue 12: the same in hosted mode, where one app serves both practices and the request's
/// host picks which (`first.localhost` and `second.localhost`). Besides everything above, A's
/// owner's session sent to B's host is refused on every staff route, and none of A's pages
/// shows anything seeded only into B.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_hosted_mode_practices_cannot_reach_each_other_by_id_or_by_host() {
    practices_cannot_reach_each_other(TestApp::spawn_hosted().await).await;
}

async fn practices_cannot_reach_each_other(app: TestApp) {
    use std::fmt::Write;

    use crate::portal::{Browser, sign_in};
    let ours = fixture(&app).await;
    let second = app.second_practice().await;
    if app.is_hosted() {
        // One app, one clock: B's records are made from the same start as A's (the fixture
        // moves the clock on twelve days).
        app.advance_clock(jiff::SignedDuration::from_hours(-24 * 12));
    }
    let mut theirs = fixture(&second).await;
    // B's own location and appointment type: their slugs name nothing in A.
    theirs.location = "tooting-online".into();
    theirs.appointment_type = "second-assessment".into();
    // Ids are unique across the file, so none of B's is also one of A's.
    for (a, b) in [
        (ours.client, theirs.client),
        (ours.session, theirs.session),
        (ours.invoice, theirs.invoice),
        (ours.booking, theirs.booking),
        (ours.article, theirs.article),
        (ours.away, theirs.away),
    ] {
        assert_ne!(a, b, "B's record has A's id");
    }
    let owner = app.sign_in().await;
    let as_robin = Browser::new(&app);
    sign_in(&app, &as_robin, "robin@example.com").await;
    let coming = second
        .store
        .client_sessions(second.practice, store::ClientId::new(theirs.client))
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.start > second.clock.now() && s.status == store::SessionStatus::Scheduled)
        .expect("a session of B's to come")
        .id
        .get();
    // The same ids and links are real in B: B's owner, B's client and B's link holder get
    // in at B's address, so each refusal below is about the practice, not a wrong id.
    let their_owner = second.sign_in().await;
    let params = |r: &&web::access::RouteRule| r.method == "GET" && r.path.contains('{');
    for rule in rules().iter().filter(params) {
        let path = match rule.rule {
            Rule::Staff if !rule.path.ends_with("/move/confirm") => theirs.path(rule.path),
            Rule::Secret if rule.path.starts_with("/booking/{token}") => {
                rule.path.replace("{token}", &theirs.booking_token)
            }
            Rule::Secret if rule.path.starts_with("/invoice/{token}") => {
                rule.path.replace("{token}", &theirs.invoice_token)
            }
            _ => continue,
        };
        let reply = send(&second, "GET", &path, Some(&their_owner)).await;
        assert!(
            reply.status.is_success() || (reply.status.is_redirection() && !refused(&reply)),
            "GET {path} in B: {}",
            reply.status
        );
    }
    let their_robin = Browser::new(&second);
    sign_in(&second, &their_robin, "robin@example.com").await;
    for path in [
        format!("/portal/sessions/{coming}/cancel"),
        format!("/portal/invoices/{}", theirs.invoice),
    ] {
        their_robin.get(&path).await.assert_status(StatusCode::OK);
    }
    let before = snapshot(&second, &theirs).await;

    let mut checked = 0;
    let mut failures = String::new();
    for rule in rules().iter().filter(|r| r.path.contains('{')) {
        let (who, path, reply) = match rule.rule {
            // A theme's name is no record of anyone's: A's owner may preview any theme.
            Rule::Staff if rule.path.ends_with("/{theme}") => continue,
            Rule::Staff => {
                let path = theirs.path(rule.path);
                let reply = send(&app, rule.method, &path, Some(&owner)).await;
                ("A's owner", path, reply)
            }
            Rule::Client => {
                let id = if rule.path.starts_with("/portal/invoices/") {
                    theirs.invoice
                } else if rule.path.starts_with("/portal/questionnaires/") {
                    theirs.questionnaire
                } else {
                    coming
                };
                let path = rule.path.replace("{id}", &id.to_string());
                let reply = if rule.method == "GET" {
                    as_robin.get(&path).await
                } else {
                    as_robin.post(&path, &[("matrix", "1")]).await
                };
                ("A's client", path, reply)
            }
            Rule::Secret => {
                // B's real secrets, at A's address.
                let path = if rule.path.starts_with("/booking/{token}") {
                    rule.path.replace("{token}", &theirs.booking_token)
                } else if rule.path.starts_with("/invoice/{token}") {
                    rule.path.replace("{token}", &theirs.invoice_token)
                } else if rule.path == "/api/v1/bookings/{id}/cancel" {
                    rule.path.replace("{id}", &theirs.booking_public_id)
                } else {
                    // The other secrets (portal sign-in and email links, the calendar
                    // feed) are looked up within the practice by the store already.
                    continue;
                };
                let reply = if rule.path.starts_with("/api/") {
                    let request = app.client().post(app.url(&path));
                    let request = request.bearer_auth(&theirs.booking_token);
                    Reply::read(request.send().await.expect("send")).await
                } else {
                    send(&app, rule.method, &path, None).await
                };
                ("a holder of B's link", path, reply)
            }
            Rule::Public => continue,
        };
        if !matches!(
            reply.status,
            StatusCode::NOT_FOUND | StatusCode::FORBIDDEN | StatusCode::GONE
        ) {
            let location = reply.location().unwrap_or_default();
            let status = reply.status;
            let method = rule.method;
            let _ = writeln!(failures, "{method} {path} as {who}: {status} {location}");
        }
        checked += 1;
    }
    if app.is_hosted() {
        // A's owner's session cookie, sent to B's host: every staff route refuses it.
        for rule in rules().iter().filter(|r| r.rule == Rule::Staff) {
            let path = theirs.path(rule.path);
            let reply = send(&second, rule.method, &path, Some(&owner)).await;
            if !refused(&reply) && reply.status != StatusCode::GONE {
                let location = reply.location().unwrap_or_default();
                let (status, method) = (reply.status, rule.method);
                let _ = writeln!(
                    failures,
                    "{method} {path} at B's host with A's owner's session: {status} {location}"
                );
            }
            checked += 1;
        }
        // Nothing seeded only into B shows on A's public pages or A's back office.
        let only_b = [
            "Tooting online",
            "Video sessions for the Tooting practice.",
            "An assessment in the second practice.",
        ];
        for path in [
            "/",
            "/about",
            "/locations",
            "/fees",
            "/book",
            "/faq",
            "/sitemap.xml",
        ] {
            let page = app.get(path).await;
            for text in only_b {
                assert!(!page.body.contains(text), "A's {path} shows B's {text:?}");
            }
        }
        for path in [
            "/office",
            "/office/settings",
            "/office/settings/faq",
            "/office/calendar",
        ] {
            let page = send(&app, "GET", path, Some(&owner)).await;
            assert_eq!(page.status, StatusCode::OK, "{path}");
            for text in only_b {
                assert!(!page.body.contains(text), "A's {path} shows B's {text:?}");
            }
        }
    }
    assert!(
        failures.is_empty(),
        "let through to B's records:\n{failures}"
    );
    assert!(checked >= 70, "only {checked} requests");

    // Nothing of B's changed, B's log has no new entry, and A's log names none of B's
    // clients.
    let mut after = snapshot(&second, &theirs).await;
    if app.is_hosted() {
        // A's owner's session at B's host is refused and written down in B's log: the only
        // new entries there.
        let (mut before, new) = (before.clone(), after.pop().unwrap_or_default());
        let old = before.pop().unwrap_or_default();
        let count = |row: &str| -> usize {
            row.split(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        let added = count(&new) - count(&old);
        let log = second
            .store
            .recent_audit(second.practice, u32::try_from(added).unwrap())
            .await
            .unwrap();
        assert!(
            log.iter()
                .all(|e| e.action == store::AuditAction::AccessRefused.code()
                    && matches!(e.actor, store::Actor::Staff(_))),
            "B's log gained only refusals of A's staff: {log:?}"
        );
        assert_eq!(after, before);
    } else {
        assert_eq!(after, before);
    }
    let our_log = app.store.recent_audit(app.practice, 1000).await.unwrap();
    assert!(
        our_log
            .iter()
            .all(|e| e.client != Some(store::ClientId::new(theirs.client))),
        "A's log names B's client"
    );
}
