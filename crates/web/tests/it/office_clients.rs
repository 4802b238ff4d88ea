//! The therapist's clients: adding one, what came of a consultation, agreeing and changing a
//! contract, and recording, charging, waiving and moving sessions.

use domain::{
    ContactPreference, EmailAddress, Pence, PersonName, Slug,
    practice::PracticeSetup,
    therapy::{ContractKind, ContractTerms, Frequency, WeeklyTime, policy::Outcome},
};
use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use store::{BookingId, ClientId, NewClient, Session, SessionStatus};

use crate::helpers::{PRACTICE_TOML, Reply, START, TestApp};

/// Book a first consultation through the public flow (the test practice books instantly).
async fn book(app: &TestApp, start: &str, name: &str, email: &str) -> BookingId {
    let form = [
        ("location", "balham"),
        ("start", start),
        ("name", name),
        ("email", email),
        ("phone", "07700 900982"),
        ("contact_preference", "phone"),
        ("consent", "true"),
        ("idempotency_key", start),
    ];
    let reply = app.post_form("/book/confirm", &form).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let at: Timestamp = start.parse().unwrap();
    app.store
        .bookings_between(app.practice, at, at + SignedDuration::from_mins(1))
        .await
        .unwrap()
        .first()
        .expect("the booking just made")
        .id
}

/// Move the clock to `at`, then sign in (an office session lasts hours, not days).
async fn sign_in_at(app: &TestApp, at: &str) {
    let at: Timestamp = at.parse().unwrap();
    let now = app.clock.now();
    assert!(at >= now, "the clock only moves forward");
    app.advance_clock(at.duration_since(now));
    app.sign_in().await;
}

/// The number at the end of a redirect such as `/office/clients/7` or `/office/clients/7/…`.
fn id_in(location: &str, prefix: &str) -> i64 {
    location
        .strip_prefix(prefix)
        .and_then(|rest| rest.split('/').next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no id after {prefix} in {location}"))
}

/// Add a client through the office form.
async fn add_client(app: &TestApp, name: &str, email: &str) -> ClientId {
    let reply = app
        .office_post(
            "/office/clients/new",
            &[
                ("name", name),
                ("email", email),
                ("phone", ""),
                ("contact_preference", "email"),
                ("reminders", "true"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    ClientId::new(id_in(reply.location().unwrap(), "/office/clients/"))
}

/// A brief contract of 12 weekly sessions, Mondays at 10:00 in Balham, with some fields
/// replaced.
fn brief<'a>(overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("kind", "brief"),
        ("focus", "Worry about work and sleep since the move."),
        ("sessions", "12"),
        ("reviews_at", "6"),
        ("review_every_weeks", "6"),
        ("frequency", "weekly"),
        ("day", "monday"),
        ("time", "10:00"),
        ("day2", ""),
        ("time2", ""),
        ("location", "balham"),
        ("minutes", "50"),
        ("fee", "70"),
        ("start", "2027-04-12"),
    ];
    for (name, value) in overrides {
        match form.iter_mut().find(|(k, _)| k == name) {
            Some(field) => field.1 = value,
            None => form.push((name, value)),
        }
    }
    form
}

async fn agree(app: &TestApp, client: ClientId, form: &[(&str, &str)]) -> Reply {
    app.office_post(&format!("/office/clients/{client}/contract/new"), form)
        .await
}

async fn sessions_of(app: &TestApp, client: ClientId) -> Vec<Session> {
    app.store
        .client_sessions(app.practice, client)
        .await
        .unwrap()
}

/// Whether the input with this id is checked (or the option selected).
fn is_checked(body: &str, id: &str) -> bool {
    let Some(at) = body.find(&format!(r#"id="{id}""#)) else {
        panic!("no input {id}");
    };
    let tag = &body[at..at + body[at..].find('>').unwrap_or(0)];
    tag.contains(" checked")
}

fn starts(sessions: &[Session]) -> Vec<String> {
    sessions.iter().map(|s| s.start.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_pages_need_a_signed_in_therapist() {
    let app = TestApp::spawn().await;
    for path in [
        "/office/clients",
        "/office/clients/new",
        "/office/clients/1",
        "/office/sessions/1",
        "/office/bookings/1/outcome",
    ] {
        app.get(path).await.assert_redirect("/office/sign-in");
    }
    let form = [
        ("name", "Kim Ash"),
        ("email", "kim@example.com"),
        ("contact_preference", "email"),
    ];
    app.post_form("/office/clients/new", &form)
        .await
        .assert_redirect("/office/sign-in");
    assert!(
        app.store.clients(app.practice).await.unwrap().is_empty(),
        "nothing was added"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_can_be_added_directly_and_mistakes_are_explained() {
    let app = TestApp::spawn().await;
    app.sign_in().await;
    let list = app.office_get("/office/clients").await;
    list.assert_status(StatusCode::OK);
    assert!(list.body.contains("Add a client") && list.body.contains("No clients yet"));
    assert!(
        list.body
            .contains(r#"href="/office/clients" aria-current="page">Clients"#)
            || list
                .decoded()
                .contains(r#"href="/office/clients" aria-current="page">Clients"#),
        "Clients is in the navigation and is the current page"
    );
    let form = app.office_get("/office/clients/new").await;
    assert!(
        is_checked(&form.body, "reminders"),
        "reminders are on by default"
    );

    let wrong = app
        .office_post(
            "/office/clients/new",
            &[
                ("name", " "),
                ("email", "kim.example.com"),
                ("phone", ""),
                ("contact_preference", "phone"),
            ],
        )
        .await;
    wrong.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.title().starts_with("Error: "));
    let text = wrong.decoded();
    for message in [
        "There is a problem",
        "Enter the client’s name",
        "Enter an email address in the right format, like name@example.com",
        "Enter a phone number, or choose email as the way to contact them",
    ] {
        assert!(text.contains(message), "missing {message:?}");
    }
    assert!(
        text.contains(r##"<a href="#email">"##),
        "the summary links to the field"
    );
    assert!(
        text.contains(r#"value="kim.example.com""#),
        "what was typed is kept"
    );
    assert!(
        is_checked(&text, "contact_preference-phone"),
        "the choice is kept"
    );
    assert!(app.store.clients(app.practice).await.unwrap().is_empty());

    let reply = app
        .office_post(
            "/office/clients/new",
            &[
                ("name", "Kim Ash"),
                ("email", "Kim@Example.com"),
                ("phone", "07700 900 123"),
                ("contact_preference", "phone"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let id = ClientId::new(id_in(reply.location().unwrap(), "/office/clients/"));
    let kim = app.store.client(app.practice, id).await.unwrap();
    assert_eq!(kim.name.as_str(), "Kim Ash");
    assert_eq!(kim.email.as_str(), "Kim@example.com");
    assert_eq!(kim.contact_preference, ContactPreference::Phone);
    assert!(!kim.reminders, "an unticked box turns reminders off");
    assert_eq!(kim.consultation, None);

    let page = app.office_get(&format!("/office/clients/{id}")).await;
    page.assert_status(StatusCode::OK);
    assert!(page.body.contains("Kim Ash") && page.body.contains("07700 900 123"));
    assert!(page.body.contains("Agree a contract"));
    let list = app.office_get("/office/clients").await;
    assert!(list.body.contains("Kim Ash") && list.body.contains("No contract yet"));

    // Changing the details keeps what was typed when something is wrong, too.
    let edit = format!("/office/clients/{id}/edit");
    let form = app.office_get(&edit).await;
    assert!(form.body.contains(r#"value="Kim Ash""#));
    let wrong = app
        .office_post(
            &edit,
            &[
                ("name", "Kim Ashdown"),
                ("email", ""),
                ("contact_preference", "email"),
            ],
        )
        .await;
    wrong.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.decoded().contains("Enter the client’s email address"));
    assert!(wrong.body.contains(r#"value="Kim Ashdown""#));
    app.office_post(
        &edit,
        &[
            ("name", "Kim Ashdown"),
            ("email", "kim@example.com"),
            ("contact_preference", "email"),
            ("reminders", "true"),
        ],
    )
    .await
    .assert_redirect(&format!("/office/clients/{id}"));
    let kim = app.store.client(app.practice, id).await.unwrap();
    assert_eq!(
        (kim.name.as_str(), kim.reminders, kim.phone),
        ("Kim Ashdown", true, None)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consultation_becomes_a_brief_contract_of_twelve_weekly_sessions_in_balham() {
    let app = TestApp::spawn().await;
    // Monday 29 March 2027, 9am BST.
    let booking = book(&app, "2027-03-29T08:00:00Z", "Sam Jones", "sam@example.com").await;
    app.sign_in().await;
    let before = app.office_get(&format!("/office/bookings/{booking}")).await;
    assert!(
        !before.body.contains("What came of this consultation?"),
        "not before it has happened"
    );
    let early = app
        .office_get(&format!("/office/bookings/{booking}/outcome"))
        .await;
    // Before it has happened the page says so, but a therapist who has already agreed the
    // work can record it.
    assert!(early.decoded().contains("has not happened yet"));
    assert!(early.body.contains("value=\"working_together\""));

    sign_in_at(&app, "2027-03-29T10:00:00Z").await;
    let detail = app.office_get(&format!("/office/bookings/{booking}")).await;
    assert!(detail.body.contains("What came of this consultation?"));
    assert!(
        detail
            .decoded()
            .contains(&format!("/office/bookings/{booking}/outcome"))
    );
    let outcome = format!("/office/bookings/{booking}/outcome");
    let form = app.office_get(&outcome).await;
    form.assert_status(StatusCode::OK);
    assert!(form.body.contains("Working together") && form.body.contains("Not going ahead"));
    assert!(
        form.body.contains("Alex Morgan"),
        "the default message is signed by the therapist"
    );
    let none = app.office_post(&outcome, &[("outcome", "")]).await;
    none.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(none.body.contains("Choose what came of the consultation"));

    let reply = app
        .office_post(&outcome, &[("outcome", "working_together")])
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let location = reply.location().unwrap().to_owned();
    let client = ClientId::new(id_in(&location, "/office/clients/"));
    assert_eq!(location, format!("/office/clients/{client}/contract/new"));
    let sam = app.store.client(app.practice, client).await.unwrap();
    assert_eq!(sam.name.as_str(), "Sam Jones");
    assert_eq!(sam.email.as_str(), "sam@example.com");
    assert_eq!(sam.phone.as_ref().map(|p| p.as_str()), Some("07700 900982"));
    assert_eq!(sam.contact_preference, ContactPreference::Phone);
    assert!(sam.reminders);
    assert_eq!(sam.consultation, Some(booking));
    let recorded = app.office_get(&outcome).await;
    assert!(recorded.body.contains("You are working together"));
    assert!(recorded.body.contains(&format!("/office/clients/{client}")));
    assert!(
        !recorded.body.contains("Record what came of it"),
        "recorded once"
    );

    let form = app.office_get(&location).await;
    form.assert_status(StatusCode::OK);
    assert!(form.body.contains("Agree a contract with Sam Jones"));
    assert!(
        form.body.contains(r#"name="fee" type="text" value="£60""#),
        "the fee comes from the consultation's appointment type"
    );
    assert!(form.body.contains("Cancellation policy, version 1"));
    assert!(form.decoded().contains("Please give at least 48 hours"));

    app.office_post(&location, &brief(&[]))
        .await
        .assert_redirect(&format!("/office/clients/{client}"));
    let sessions = sessions_of(&app, client).await;
    assert_eq!(sessions.len(), 12);
    assert_eq!(
        sessions.iter().map(|s| s.number).collect::<Vec<_>>(),
        (1..=12).map(Some).collect::<Vec<_>>()
    );
    assert!(sessions.iter().all(|s| s.location.as_str() == "balham"
        && s.status == SessionStatus::Scheduled
        && s.fee == Pence::new(7000)));
    assert_eq!(sessions[0].start.to_string(), "2027-04-12T09:00:00Z");
    assert_eq!(sessions[11].start.to_string(), "2027-06-28T09:00:00Z");

    let page = app.office_get(&format!("/office/clients/{client}")).await;
    page.assert_status(StatusCode::OK);
    let text = page.decoded();
    for needle in [
        "Brief work",
        "Worry about work and sleep since the move.",
        "Session 1 of 12: Monday 12 April 2027 at 10am, Balham",
        "12 of 12",
        "Monday 28 June 2027",
        "Session 6 (Monday 17 May 2027)",
        "Weekly: Mondays at 10am",
        "£70 a session",
        "Change from a date",
        "End this work",
    ] {
        assert!(
            text.contains(needle),
            "the client page is missing {needle:?}"
        );
    }
    assert!(!text.contains("Agree a contract"));
    let list = app.office_get("/office/clients").await.decoded();
    assert!(list.contains("Brief, 12 sessions"));
    assert!(list.contains("Monday 12 April at 10am, Balham"));
    // A second contract is not agreed over the first.
    app.office_post(&location, &brief(&[("start", "2027-09-06")]))
        .await
        .assert_redirect(&format!("/office/clients/{client}"));
    assert_eq!(sessions_of(&app, client).await.len(), 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consultation_not_going_ahead_can_send_a_kind_message() {
    let app = TestApp::spawn().await;
    let booking = book(&app, "2027-03-29T08:00:00Z", "Sam Jones", "sam@example.com").await;
    sign_in_at(&app, "2027-03-29T10:00:00Z").await;
    let outcome = format!("/office/bookings/{booking}/outcome");
    let empty = app
        .office_post(
            &outcome,
            &[
                ("outcome", "not_going_ahead"),
                ("words", "  "),
                ("send", "true"),
            ],
        )
        .await;
    empty.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.body.contains("Enter a message to send"));
    assert!(
        is_checked(&empty.body, "outcome-not_going_ahead"),
        "the choice is kept"
    );
    app.office_post(
        &outcome,
        &[
            ("outcome", "not_going_ahead"),
            (
                "words",
                "Thank you for meeting me. I wish you well.\n\nAlex",
            ),
            ("send", "true"),
        ],
    )
    .await
    .assert_redirect(&outcome);
    let outbox = app.outbox().await;
    let sent: Vec<_> = outbox
        .iter()
        .filter(|m| m.kind == "consultation_not_going_ahead")
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to.as_str(), "sam@example.com");
    assert_eq!(
        sent[0].subject,
        "Your consultation with Larchwood Psychotherapy"
    );
    assert!(sent[0].body_text.starts_with("Dear Sam Jones,"));
    assert!(sent[0].body_text.contains("I wish you well."));
    assert!(app.store.clients(app.practice).await.unwrap().is_empty());
    let page = app.office_get(&outcome).await;
    assert!(page.body.contains("not going ahead"));
    assert!(!page.body.contains("Record what came of it"));
    // Nothing twice.
    app.office_post(&outcome, &[("outcome", "working_together")])
        .await
        .assert_redirect(&outcome);
    assert!(app.store.clients(app.practice).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contract_that_clashes_is_refused_with_the_dates_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    // Monday 19 April 2027, 11am BST: a consultation with someone else.
    book(&app, "2027-04-19T10:00:00Z", "Jo Bright", "jo@example.com").await;
    app.sign_in().await;
    let client = add_client(&app, "Kim Ash", "kim@example.com").await;
    let refused = agree(&app, client, &brief(&[("time", "11:00")])).await;
    refused.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.title().starts_with("Error: "));
    let text = refused.decoded();
    assert!(
        text.contains("Monday 19 April 2027 at 11am clashes with another appointment"),
        "{text}"
    );
    assert!(text.contains(r##"<a href="#time">"##));
    assert!(
        text.contains("Worry about work and sleep since the move."),
        "input kept"
    );
    assert!(text.contains(r#"value="11:00""#));
    assert!(
        app.store
            .contracts(app.practice, client)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(sessions_of(&app, client).await.is_empty());

    // Bad fields are shown at each field, with the input kept.
    let wrong = agree(
        &app,
        client,
        &brief(&[("sessions", "twelve"), ("location", "mars"), ("kind", "")]),
    )
    .await;
    wrong.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let text = wrong.decoded();
    assert!(text.contains("Choose brief work or open-ended work"));
    assert!(text.contains("Choose where sessions take place"));
    assert!(sessions_of(&app, client).await.is_empty());

    // An hour earlier is free.
    agree(&app, client, &brief(&[]))
        .await
        .assert_redirect(&format!("/office/clients/{client}"));
    assert_eq!(sessions_of(&app, client).await.len(), 12);
}

/// Sign in, add a client with a brief contract of 12 weekly sessions on Mondays at 10:00 in
/// Balham from 29 March 2027 (5 April falls in the Easter break).
async fn client_from_29_march(app: &TestApp) -> (ClientId, Vec<Session>) {
    app.sign_in().await;
    let client = add_client(app, "Robin Vale", "robin@example.com").await;
    agree(app, client, &brief(&[("start", "2027-03-29")]))
        .await
        .assert_redirect(&format!("/office/clients/{client}"));
    let sessions = sessions_of(app, client).await;
    assert_eq!(sessions.len(), 13, "12 sessions and one in the break");
    assert_eq!(sessions[1].status, SessionStatus::Break);
    (client, sessions)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_cancellation_shows_its_charge_and_rule_and_can_be_waived() {
    let app = TestApp::spawn().await;
    let (client, sessions) = client_from_29_march(&app).await;
    let first = &sessions[0];
    assert_eq!(first.start.to_string(), "2027-03-29T09:00:00Z");
    let path = format!("/office/sessions/{}", first.id);
    let page = app.office_get(&path).await;
    page.assert_status(StatusCode::OK);
    assert!(page.body.contains("What happened?") && page.body.contains("Session 1 of 12"));
    let too_soon = app
        .office_post(&format!("{path}/outcome"), &[("outcome", "attended")])
        .await;
    too_soon.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(too_soon.body.contains("once the session has started"));

    // Sunday 28 March, 1pm BST: 20 hours before the session.
    sign_in_at(&app, "2027-03-28T12:00:00Z").await;
    let page = app.office_get(&path).await;
    assert!(
        page.body.contains(r#"value="2027-03-28""#) && page.body.contains(r#"value="13:00""#),
        "when they told you defaults to now, in UK time"
    );
    let future = app
        .office_post(
            &format!("{path}/outcome"),
            &[
                ("outcome", "client_cancelled"),
                ("told_date", "2027-03-28"),
                ("told_time", "18:00"),
            ],
        )
        .await;
    future.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(future.body.contains("has already passed"));
    app.office_post(
        &format!("{path}/outcome"),
        &[
            ("outcome", "client_cancelled"),
            ("told_date", "2027-03-28"),
            ("told_time", "13:00"),
        ],
    )
    .await
    .assert_redirect(&path);
    let recorded = app
        .store
        .therapy_session(app.practice, first.id)
        .await
        .unwrap();
    assert_eq!(
        recorded.status,
        SessionStatus::Done(Outcome::LateCancellation)
    );
    let charge = recorded.charge.clone().expect("a charge");
    assert_eq!(charge.amount, Pence::new(7000));
    assert!(
        charge
            .rule
            .contains("less than the 48 hours the policy (version 1) asks for"),
        "{}",
        charge.rule
    );
    let page = app.office_get(&path).await.decoded();
    assert!(page.contains("Late cancellation") && page.contains("£70"));
    assert!(page.contains(&charge.rule), "the rule is shown");
    assert!(page.contains("Waive the £70 charge"));
    let client_page = app
        .office_get(&format!("/office/clients/{client}"))
        .await
        .decoded();
    assert!(client_page.contains(&charge.rule));

    let waive = format!("{path}/waive");
    let empty = app.office_post(&waive, &[("reason", " ")]).await;
    empty.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        empty
            .body
            .contains("Enter the reason for waiving the charge")
    );
    let long = "x".repeat(501);
    let too_long = app.office_post(&waive, &[("reason", long.as_str())]).await;
    too_long.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(too_long.body.contains(&long), "the reason is kept");
    app.office_post(&waive, &[("reason", "A family emergency")])
        .await
        .assert_redirect(&path);
    let waived = app
        .store
        .therapy_session(app.practice, first.id)
        .await
        .unwrap()
        .charge
        .unwrap();
    assert_eq!(waived.waived.unwrap().0, "A family emergency");
    let page = app.office_get(&path).await.decoded();
    assert!(page.contains("A family emergency") && !page.contains("Waive the £70 charge"));
    let client_page = app
        .office_get(&format!("/office/clients/{client}"))
        .await
        .decoded();
    assert!(client_page.contains("Waived: A family emergency"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_can_be_moved_but_not_onto_another_appointment() {
    let app = TestApp::spawn().await;
    let (client, sessions) = client_from_29_march(&app).await;
    let second = &sessions[2];
    assert_eq!(second.start.to_string(), "2027-04-12T09:00:00Z");
    let path = format!("/office/sessions/{}", second.id);
    let move_to = |date: &'static str, time: &'static str, location: &'static str| {
        [
            ("move_date", date),
            ("move_time", time),
            ("move_location", location),
        ]
    };
    let clash = app
        .office_post(
            &format!("{path}/move"),
            &move_to("2027-04-19", "10:30", "balham"),
        )
        .await;
    clash.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        clash
            .body
            .contains("Monday 19 April 2027 at 10:30am clashes with another appointment")
    );
    assert!(clash.body.contains(r#"value="10:30""#), "input kept");
    let past = app
        .office_post(
            &format!("{path}/move"),
            &move_to("2027-03-01", "10:00", "balham"),
        )
        .await;
    past.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(past.body.contains("has not passed yet"));
    let nowhere = app
        .office_post(
            &format!("{path}/move"),
            &move_to("2027-04-13", "14:00", "mars"),
        )
        .await;
    nowhere.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.store
            .therapy_session(app.practice, second.id)
            .await
            .unwrap()
            .start,
        second.start,
        "nothing moved yet"
    );

    app.office_post(
        &format!("{path}/move"),
        &move_to("2027-04-13", "14:00", "online"),
    )
    .await
    .assert_redirect(&path);
    let moved = app
        .store
        .therapy_session(app.practice, second.id)
        .await
        .unwrap();
    assert_eq!(moved.start.to_string(), "2027-04-13T13:00:00Z");
    assert_eq!(moved.end.to_string(), "2027-04-13T13:50:00Z");
    assert_eq!(moved.location.as_str(), "online");
    assert!(moved.moved);
    assert_eq!(moved.number, Some(2));
    let page = app.office_get(&path).await;
    assert!(page.body.contains("Tuesday 13 April 2027 at 2pm"));
    assert!(
        page.body
            .contains("Moved from Monday 12 April 2027 at 10am")
    );
    assert_eq!(
        sessions_of(&app, client).await.len(),
        13,
        "the rest of the work is as it was"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_ended_work_changed_from_a_session_keeps_the_earlier_sessions() {
    let app = TestApp::spawn().await;
    app.sign_in().await;
    let client = add_client(&app, "Robin Vale", "robin@example.com").await;
    let open = brief(&[
        ("kind", "open_ended"),
        ("focus", ""),
        ("sessions", ""),
        ("reviews_at", ""),
        ("review_every_weeks", "6"),
        ("start", "2027-03-29"),
    ]);
    agree(&app, client, &open)
        .await
        .assert_redirect(&format!("/office/clients/{client}"));
    let before = sessions_of(&app, client).await;
    assert!(
        before.len() > 52,
        "planned a little over a year ahead: {}",
        before.len()
    );
    let page = app
        .office_get(&format!("/office/clients/{client}"))
        .await
        .decoded();
    assert!(page.contains("Open-ended work") && page.contains("Session 1: Monday 29 March 2027"));
    assert!(
        page.contains("Monday 10 May 2027 (every 6 weeks)"),
        "the next review"
    );
    // 29 March, 5 April (break), 12, 19, then 26 April: the change starts there.
    let from = &before[4];
    assert_eq!(from.start.to_string(), "2027-04-26T09:00:00Z");
    let contract = from.contract;
    let change = format!("/office/clients/{client}/contracts/{contract}/change");
    let form = app.office_get(&format!("{change}?from={}", from.id)).await;
    form.assert_status(StatusCode::OK);
    assert!(form.body.contains("Change the contract with Robin Vale"));
    assert!(
        form.body
            .contains(&format!(r#"<option value="{}" selected>"#, from.id)),
        "the chosen session is selected"
    );
    assert!(is_checked(&form.body, "kind-open_ended"), "prefilled");

    let from_id = from.id.to_string();
    let mut wednesdays = open.clone();
    for (name, value) in [("day", "wednesday"), ("time", "11:00")] {
        wednesdays.iter_mut().find(|(k, _)| *k == name).unwrap().1 = value;
    }
    wednesdays.push(("from", from_id.as_str()));
    let no_note = app.office_post(&change, &wednesdays).await;
    no_note.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_note.body.contains("Enter what changed and why"));
    assert!(
        no_note.body.contains(r#"value="wednesday" selected"#),
        "input kept"
    );
    assert_eq!(
        app.store
            .contract(app.practice, contract)
            .await
            .unwrap()
            .versions
            .len(),
        1
    );

    wednesdays.push(("note", "Moving to Wednesdays after a change of job."));
    app.office_post(&change, &wednesdays)
        .await
        .assert_redirect(&format!("/office/clients/{client}"));
    let after = sessions_of(&app, client).await;
    assert_eq!(
        starts(&after[..4]),
        starts(&before[..4]),
        "the sessions before the change are kept"
    );
    assert_eq!(
        after[..4].iter().map(|s| s.id).collect::<Vec<_>>(),
        before[..4].iter().map(|s| s.id).collect::<Vec<_>>()
    );
    assert_eq!(after[4].start.to_string(), "2027-04-28T10:00:00Z");
    assert_eq!(after[4].number, Some(4));
    let zone = jiff::tz::TimeZone::get("Europe/London").unwrap();
    assert!(
        after[4..].iter().all(|s| {
            let local = zone.to_datetime(s.start);
            local.date().weekday() == jiff::civil::Weekday::Wednesday && local.hour() == 11
        }),
        "from then on, Wednesdays at 11am"
    );
    let saved = app.store.contract(app.practice, contract).await.unwrap();
    assert_eq!(saved.versions.len(), 2);
    let page = app
        .office_get(&format!("/office/clients/{client}"))
        .await
        .decoded();
    assert!(page.contains("Earlier versions"));
    assert!(
        page.contains("Mondays at 10am"),
        "the earlier version is shown"
    );
    assert!(page.contains("Wednesdays at 11am"));
    assert!(page.contains("Moving to Wednesdays after a change of job."));

    // Ending the work asks first, then removes only what has not happened yet.
    let end = format!("/office/clients/{client}/contracts/{contract}/end");
    let confirm = app.office_get(&end).await;
    assert!(confirm.body.contains("End the work with Robin Vale?"));
    app.office_post(&end, &[])
        .await
        .assert_redirect(&format!("/office/clients/{client}"));
    assert!(
        sessions_of(&app, client).await.is_empty(),
        "all were still to come"
    );
    let page = app.office_get(&format!("/office/clients/{client}")).await;
    assert!(page.body.contains("Agree a contract"));
    let list = app.office_get("/office/clients").await;
    assert!(list.body.contains("Work ended") && list.body.contains("Robin Vale"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_ids_and_another_practices_records_are_not_found() {
    let app = TestApp::spawn().await;
    let (mine, sessions) = client_from_29_march(&app).await;
    let now: Timestamp = START.parse().unwrap();
    let setup = PracticeSetup::from_toml(PRACTICE_TOML).unwrap();
    let other = app.store.create_practice(&setup, now).await.unwrap();
    let theirs = app
        .store
        .create_client(
            other,
            &NewClient {
                name: PersonName::parse("Someone Else").unwrap(),
                email: EmailAddress::parse("else@example.com").unwrap(),
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
        kind: ContractKind::Brief {
            focus: "Theirs.".into(),
            sessions: 2,
            reviews_at: vec![],
        },
        frequency: Frequency::Weekly,
        times: vec![WeeklyTime {
            weekday: jiff::civil::Weekday::Friday,
            time: jiff::civil::time(9, 0, 0, 0),
        }],
        location: Slug::parse("balham").unwrap(),
        minutes: 50,
        fee: Pence::new(5000),
        start: jiff::civil::date(2027, 4, 2),
        policy_version: 1,
    };
    let zone = jiff::tz::TimeZone::get("Europe/London").unwrap();
    let planner = move |terms: &ContractTerms, kept: &[_], from| {
        domain::therapy::schedule::plan(
            terms,
            &zone,
            &[],
            kept,
            from,
            jiff::civil::date(2027, 12, 31),
        )
    };
    let their_contract = app
        .store
        .save_contract(other, theirs, None, &terms, "", now, &planner, now)
        .await
        .unwrap();
    let their_session = app.store.client_sessions(other, theirs).await.unwrap()[0].id;
    let mine_contract = sessions[0].contract;

    for path in [
        "/office/clients/999999".to_owned(),
        "/office/clients/abc".to_owned(),
        "/office/clients/0/edit".to_owned(),
        "/office/sessions/999999".to_owned(),
        "/office/sessions/-1".to_owned(),
        "/office/bookings/999999/outcome".to_owned(),
        format!("/office/clients/{theirs}"),
        format!("/office/clients/{theirs}/edit"),
        format!("/office/clients/{theirs}/contract/new"),
        format!("/office/sessions/{their_session}"),
        format!("/office/clients/{mine}/contracts/{their_contract}/change"),
        format!("/office/clients/{mine}/contracts/{their_contract}/end"),
        format!("/office/clients/{theirs}/contracts/{mine_contract}/change"),
    ] {
        let reply = app.office_get(&path).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "GET {path}");
    }
    for (path, form) in [
        (
            format!("/office/clients/{theirs}/edit"),
            vec![
                ("name", "Changed"),
                ("email", "x@example.com"),
                ("contact_preference", "email"),
            ],
        ),
        (
            format!("/office/sessions/{their_session}/outcome"),
            vec![("outcome", "therapist_cancelled")],
        ),
        (
            format!("/office/sessions/{their_session}/move"),
            vec![
                ("move_date", "2027-04-20"),
                ("move_time", "12:00"),
                ("move_location", "balham"),
            ],
        ),
        (
            format!("/office/clients/{mine}/contracts/{their_contract}/end"),
            vec![],
        ),
        (format!("/office/clients/{theirs}/contract/new"), brief(&[])),
    ] {
        let reply = app.office_post(&path, &form).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "POST {path}");
    }
    let untouched = app.store.client(other, theirs).await.unwrap();
    assert_eq!(untouched.name.as_str(), "Someone Else");
    let their_sessions = app.store.client_sessions(other, theirs).await.unwrap();
    assert!(
        their_sessions
            .iter()
            .all(|s| s.status == SessionStatus::Scheduled && !s.moved)
    );
    assert!(
        app.store
            .contract(other, their_contract)
            .await
            .unwrap()
            .active
    );
}
