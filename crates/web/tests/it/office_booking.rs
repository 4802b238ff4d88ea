//! The therapist's side of booking: settings, requests, the calendar and timed jobs.

use reqwest::StatusCode;
use store::OutboxMessage;

use crate::helpers::{TestApp, decode_entities};

const MONDAY_9AM: &str = "2027-03-29T08:00:00Z";

async fn book(app: &TestApp, start: &str) -> String {
    let form = [
        ("location", "balham"),
        ("start", start),
        ("name", "Sam Jones"),
        ("email", "sam@example.com"),
        ("contact_preference", "email"),
        ("consent", "true"),
        ("idempotency_key", start),
    ];
    let reply = app.post_form("/book/confirm", &form).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    reply
        .location()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .trim_start_matches("/booking/")
        .to_owned()
}

fn sha(token: &str) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    Sha256::digest(token.as_bytes()).to_vec()
}

async fn status_of(app: &TestApp, token: &str) -> String {
    app.store
        .booking_by_token(app.practice, &sha(token))
        .await
        .unwrap()
        .unwrap()
        .status
        .as_str()
        .to_owned()
}

fn of_kind<'a>(outbox: &'a [OutboxMessage], kind: &str) -> Vec<&'a OutboxMessage> {
    outbox.iter().filter(|m| m.kind == kind).collect()
}

async fn request_mode(app: &TestApp) {
    app.sign_in().await;
    let reply = app
        .office_post(
            "/office/settings/booking",
            &[
                ("mode", "request"),
                ("request_hold_hours", "24"),
                ("reminder_hours", "24"),
            ],
        )
        .await;
    reply.assert_redirect("/office/settings/booking?saved=1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_accepted_from_the_office() {
    let app = TestApp::spawn().await;
    request_mode(&app).await;
    let token = book(&app, MONDAY_9AM).await;
    assert_eq!(status_of(&app, &token).await, "requested");
    let outbox = app.outbox().await;
    let received = of_kind(&outbox, "booking_request_received");
    assert_eq!(received.len(), 1);
    let tentative = &received[0]
        .calendar
        .as_ref()
        .expect("a pencilled-in entry")
        .ics;
    assert!(tentative.contains("STATUS:TENTATIVE") && tentative.contains("SEQUENCE:0"));
    crate::helpers::ics_parses(tentative);
    let manage = app.get(&format!("/booking/{token}?new=1")).await;
    assert!(manage.body.contains("Request sent"));

    let dashboard = app.office_get("/office").await;
    assert!(dashboard.body.contains("Requests to answer") && dashboard.body.contains("S.J."));
    assert!(
        !dashboard.body.contains("Sam Jones"),
        "initials only on the dashboard"
    );
    let booking = app
        .store
        .booking_by_token(app.practice, &sha(&token))
        .await
        .unwrap()
        .unwrap();
    let page = app
        .office_get(&format!("/office/bookings/{}", booking.id))
        .await;
    page.assert_status(StatusCode::OK);
    assert!(page.body.contains("Accept and confirm"));
    app.office_post(&format!("/office/bookings/{}/accept", booking.id), &[])
        .await
        .assert_redirect(&format!("/office/bookings/{}", booking.id));
    assert_eq!(status_of(&app, &token).await, "confirmed");
    let outbox = app.outbox().await;
    let confirmed = of_kind(&outbox, "booking_confirmation");
    let ics = &confirmed[0]
        .calendar
        .as_ref()
        .expect("an invitation once confirmed")
        .ics;
    assert!(
        ics.contains("METHOD:REQUEST")
            && ics.contains("SEQUENCE:1")
            && ics.contains(&format!("UID:{}", booking.uid))
    );
    // A second click (another tab): answered already, so nothing more is sent.
    app.office_post(&format!("/office/bookings/{}/accept", booking.id), &[])
        .await
        .assert_redirect(&format!("/office/bookings/{}", booking.id));
    assert_eq!(
        of_kind(&app.outbox().await, "booking_confirmation").len(),
        1,
        "one confirmation"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declining_sends_the_therapists_own_words_and_frees_the_time() {
    let app = TestApp::spawn().await;
    request_mode(&app).await;
    let token = book(&app, MONDAY_9AM).await;
    let booking = app
        .store
        .booking_by_token(app.practice, &sha(&token))
        .await
        .unwrap()
        .unwrap();
    let form = app
        .office_get(&format!("/office/bookings/{}/decline", booking.id))
        .await;
    assert!(
        form.body.contains("cannot offer that time"),
        "a kind default message to edit"
    );
    let empty = app
        .office_post(
            &format!("/office/bookings/{}/decline", booking.id),
            &[("words", "  ")],
        )
        .await;
    empty.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        status_of(&app, &token).await,
        "requested",
        "nothing changes until the form is right"
    );
    app.office_post(
        &format!("/office/bookings/{}/decline", booking.id),
        &[("words", "I am away that week, sorry. Could Wednesday work?")],
    )
    .await
    .assert_redirect(&format!("/office/bookings/{}", booking.id));
    assert_eq!(status_of(&app, &token).await, "declined");
    let outbox = app.outbox().await;
    assert!(
        of_kind(&outbox, "booking_declined")[0]
            .body_text
            .contains("Could Wednesday work?")
    );
    let times = decode_entities(&app.get("/book/times?location=balham").await.body);
    assert!(
        times.contains(&format!("start={MONDAY_9AM}\"")),
        "the time is free again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_requests_are_released_and_the_visitor_told() {
    let app = TestApp::spawn().await;
    request_mode(&app).await;
    let token = book(&app, MONDAY_9AM).await;
    assert_eq!(web::jobs::run_once(&app.state).await.unwrap(), (0, 0));
    app.advance_clock(jiff::SignedDuration::from_hours(25));
    let (released, _) = web::jobs::run_once(&app.state).await.unwrap();
    assert_eq!(released, 1);
    assert_eq!(status_of(&app, &token).await, "expired");
    assert_eq!(of_kind(&app.outbox().await, "booking_expired").len(), 1);
    assert_eq!(
        web::jobs::run_once(&app.state).await.unwrap(),
        (0, 0),
        "nothing twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_is_sent_once_a_day_before() {
    let app = TestApp::spawn().await;
    let token = book(&app, MONDAY_9AM).await;
    assert_eq!(
        web::jobs::run_once(&app.state).await.unwrap(),
        (0, 0),
        "too early for a reminder"
    );
    // Sunday 28 March, 10am BST: within 24 hours of the start.
    app.advance_clock(jiff::SignedDuration::from_hours(72));
    assert_eq!(web::jobs::run_once(&app.state).await.unwrap(), (0, 1));
    assert_eq!(
        web::jobs::run_once(&app.state).await.unwrap(),
        (0, 0),
        "reminded once only"
    );
    let outbox = app.outbox().await;
    let reminder = of_kind(&outbox, "booking_reminder");
    assert_eq!(reminder.len(), 1);
    assert!(
        reminder[0]
            .subject
            .starts_with("Reminder: Monday 29 March 2027 at 9am")
    );
    let neutral = reminder[0]
        .body_text
        .replace("Larchwood Psychotherapy", "")
        .to_lowercase();
    for word in ["therap", "consultation", "mental health", "counsel"] {
        assert!(
            !neutral.contains(word),
            "neutral wording, found {word}: {neutral}"
        );
    }
    assert_eq!(status_of(&app, &token).await, "confirmed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hours_and_breaks_change_what_is_offered() {
    let app = TestApp::spawn().await;
    app.sign_in().await;
    let bad = app
        .office_post(
            "/office/settings/hours/balham",
            &[
                ("day", "monday"),
                ("start", "13:00"),
                ("end", "09:00"),
                ("day", ""),
                ("start", ""),
                ("end", ""),
            ],
        )
        .await;
    bad.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body
            .contains("The end time must be after the start time")
    );
    app.office_post(
        "/office/settings/hours/balham",
        &[("day", "friday"), ("start", "10:00"), ("end", "12:00")],
    )
    .await
    .assert_redirect("/office/settings/hours/balham?saved=1");
    let times = decode_entities(&app.get("/book/times?location=balham").await.body);
    assert!(
        times.contains("Friday 26 March") && !times.contains("Monday 29 March"),
        "the new hours replace the old"
    );

    let bad = app
        .office_post(
            "/office/settings/away",
            &[
                ("label", "Spring"),
                ("first_day", "2027-04-20"),
                ("last_day", "2027-04-19"),
            ],
        )
        .await;
    bad.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    app.office_post(
        "/office/settings/away",
        &[
            ("label", "Long weekend"),
            ("first_day", "2027-03-26"),
            ("last_day", "2027-03-29"),
        ],
    )
    .await
    .assert_redirect("/office/settings/away");
    let times = decode_entities(&app.get("/book/times?location=balham").await.body);
    assert!(
        !times.contains("Friday 26 March"),
        "no times during a break"
    );
    let away = app.office_get("/office/settings/away").await;
    assert!(away.body.contains("Long weekend") && away.body.contains("Monday 29 March 2027"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_calendar_shows_each_booking_with_its_place_and_initials() {
    let app = TestApp::spawn().await;
    book(&app, MONDAY_9AM).await;
    app.get("/office/calendar")
        .await
        .assert_redirect("/office/sign-in");
    app.sign_in().await;
    let week = app.office_get("/office/calendar?date=2027-03-29").await;
    week.assert_status(StatusCode::OK);
    assert!(
        week.body.contains("9am–9:50am")
            && week.body.contains("Balham")
            && week.body.contains("S.J.")
    );
    assert!(!week.body.contains("Sam Jones"));
    let day = app
        .office_get("/office/calendar?view=day&date=2027-03-29")
        .await;
    assert!(day.body.contains("Monday 29 March 2027"));
    app.office_get("/office/calendar?date=garbage")
        .await
        .assert_status(StatusCode::NOT_FOUND);
    app.office_get("/office/bookings/999")
        .await
        .assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn booking_actions_need_a_signed_in_therapist() {
    let app = TestApp::spawn().await;
    let token = book(&app, MONDAY_9AM).await;
    let booking = app
        .store
        .booking_by_token(app.practice, &sha(&token))
        .await
        .unwrap()
        .unwrap();
    let reply = app
        .post_form(
            &format!("/office/bookings/{}/cancel", booking.id),
            &[("words", "Sorry")],
        )
        .await;
    reply.assert_redirect("/office/sign-in");
    assert_eq!(status_of(&app, &token).await, "confirmed");
    app.get(&format!("/office/bookings/{}", booking.id))
        .await
        .assert_redirect("/office/sign-in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_private_calendar_feed_shows_initials_and_can_be_replaced() {
    let app = TestApp::spawn().await;
    book(&app, MONDAY_9AM).await;
    app.sign_in().await;
    let made = app.office_post("/office/settings/calendar-feed", &[]).await;
    made.assert_status(StatusCode::OK);
    let body = decode_entities(&made.body);
    let start = body.find("/calendar/").expect("the feed address is shown");
    let path: String = body[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '<')
        .collect();
    assert!(path.ends_with(".ics"), "{path}");
    let feed = app.get(&path).await;
    feed.assert_status(StatusCode::OK);
    assert!(
        feed.body.starts_with("BEGIN:VCALENDAR") && feed.body.contains("DTSTART:20270329T080000Z")
    );
    assert!(
        feed.body.contains("Consultation\\, S.J.") && !feed.body.contains("Sam"),
        "initials only"
    );
    assert!(
        !app.database_contains(
            path.trim_start_matches("/calendar/")
                .trim_end_matches(".ics")
        ),
        "the secret is stored hashed"
    );
    app.office_post("/office/settings/calendar-feed", &[]).await;
    app.get(&path).await.assert_status(StatusCode::NOT_FOUND);
    app.get("/calendar/0000000000000000000000000000000000000000000000000000000000000000.ics")
        .await
        .assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_therapist_moves_a_consultation_and_the_visitor_is_told() {
    let app = TestApp::spawn().await;
    let token = book(&app, MONDAY_9AM).await;
    let booking = app
        .store
        .booking_by_token(app.practice, &sha(&token))
        .await
        .unwrap()
        .unwrap();
    app.sign_in().await;
    let times = decode_entities(
        &app.office_get(&format!("/office/bookings/{}/move", booking.id))
            .await
            .body,
    );
    let online = "2027-03-30T17:00:00Z";
    let link = format!(
        "/office/bookings/{}/move/confirm?location=online&start={online}",
        booking.id
    );
    let online_times = decode_entities(
        &app.office_get(&format!(
            "/office/bookings/{}/move?location=online",
            booking.id
        ))
        .await
        .body,
    );
    assert!(
        times.contains("Online") && online_times.contains(&link),
        "{online_times}"
    );
    app.office_get(&link).await.assert_status(StatusCode::OK);
    app.office_post(
        &format!("/office/bookings/{}/move/confirm", booking.id),
        &[("location", "online"), ("start", online)],
    )
    .await
    .assert_redirect(&format!("/office/bookings/{}", booking.id));
    let moved = app.store.booking(app.practice, booking.id).await.unwrap();
    assert_eq!(
        (
            moved.location.as_str(),
            moved.start.to_string().as_str(),
            moved.sequence
        ),
        ("online", online, 1)
    );
    let outbox = app.outbox().await;
    let mail = of_kind(&outbox, "booking_moved");
    assert_eq!(mail.len(), 1);
    assert!(mail[0].body_text.contains("I am sorry to have to move"));
    assert!(
        mail[0]
            .calendar
            .as_ref()
            .unwrap()
            .ics
            .contains("SEQUENCE:1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_process_looks_after_its_own_practice_in_a_shared_database() {
    let app = TestApp::spawn().await;
    let other = app.second_practice().await;
    request_mode(&app).await;
    request_mode(&other).await;
    let here = book(&app, MONDAY_9AM).await;
    let there = book(&other, MONDAY_9AM).await;
    app.advance_clock(jiff::SignedDuration::from_hours(25));
    other.advance_clock(jiff::SignedDuration::from_hours(25));
    // This practice's jobs release its request, and leave the other practice's to the
    // process that serves it (its emails carry that process's address).
    let (released, _) = web::jobs::run_once(&app.state).await.unwrap();
    assert_eq!(released, 1);
    assert_eq!(status_of(&app, &here).await, "expired");
    assert_eq!(status_of(&other, &there).await, "requested");
    let (released, _) = web::jobs::run_once(&other.state).await.unwrap();
    assert_eq!(released, 1);
    assert_eq!(status_of(&other, &there).await, "expired");
    let outbox = other.outbox().await;
    let notice = &of_kind(&outbox, "booking_expired")[0].body_text;
    assert!(notice.contains(&other.base), "{notice}");
    assert!(!notice.contains(&format!("{}/", app.base)), "{notice}");
}
