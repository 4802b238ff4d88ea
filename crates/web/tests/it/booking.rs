//! Booking a first consultation: the flow, the emails, the manage link and the guarantee
//! that one slot is never booked twice.

use reqwest::StatusCode;
use store::OutboxMessage;
use web::RateLimits;

use crate::helpers::{TestApp, decode_entities};

/// Monday 29 March 2027, 9am in London (BST began the day before).
pub(crate) const MONDAY_9AM: &str = "2027-03-29T08:00:00Z";

pub(crate) fn details<'a>(start: &'a str, key: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("location", "balham"),
        ("start", start),
        ("name", "Sam Jones"),
        ("email", "sam@example.com"),
        ("phone", ""),
        ("contact_preference", "email"),
        ("note", "A ground-floor room, please."),
        ("consent", "true"),
        ("idempotency_key", key),
    ]
}

pub(crate) fn token_of(location: &str) -> String {
    let path = location.split('?').next().unwrap_or(location);
    path.trim_start_matches("/booking/").to_owned()
}

pub(crate) async fn book(app: &TestApp, start: &str, key: &str) -> String {
    let reply = app.post_form("/book/confirm", &details(start, key)).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let location = reply
        .location()
        .expect("a redirect to the manage page")
        .to_owned();
    assert!(
        location.starts_with("/booking/") && location.ends_with("?new=1"),
        "{location}"
    );
    token_of(&location)
}

fn mail_of<'a>(outbox: &'a [OutboxMessage], kind: &str) -> Vec<&'a OutboxMessage> {
    outbox.iter().filter(|m| m.kind == kind).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn times_are_listed_by_day_in_local_time_across_the_clock_change() {
    let app = TestApp::spawn().await;
    let reply = app.get("/book").await;
    reply.assert_status(StatusCode::OK);
    assert!(reply.body.contains("In person in Balham") && reply.body.contains("Online, by video"));
    let times = app.get("/book/times?location=balham").await;
    times.assert_status(StatusCode::OK);
    let body = decode_entities(&times.body);
    assert!(body.contains("Monday 29 March"), "{body}");
    assert!(
        body.contains(&format!("start={MONDAY_9AM}\"")),
        "9am BST is 08:00 UTC"
    );
    assert!(body.contains(">9am</a>") || body.contains("</span>9am</a>"));
    assert!(
        !body.contains("Monday 5 April"),
        "no times in the Easter break"
    );
    assert!(body.contains("Later dates"));
    let later = decode_entities(
        &app.get("/book/times?location=balham&from=2027-04-12")
            .await
            .body,
    );
    assert!(later.contains("Monday 12 April") && later.contains("Earlier dates"));
    app.get("/book/times?location=nowhere")
        .await
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    app.get("/book/times?location=balham&from=not-a-date")
        .await
        .assert_status(StatusCode::NOT_FOUND);
    app.get("/book/details?location=balham&start=garbage")
        .await
        .assert_status(StatusCode::NOT_FOUND);
    assert!(times.set_cookies().is_empty(), "no cookies while booking");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_books_and_both_emails_are_queued() {
    let app = TestApp::spawn().await;
    let details_page = app
        .get(&format!("/book/details?location=balham&start={MONDAY_9AM}"))
        .await;
    details_page.assert_status(StatusCode::OK);
    assert!(details_page.body.contains("Monday 29 March 2027 at 9am"));

    let bad = app
        .post_form(
            "/book/check",
            &[
                ("location", "balham"),
                ("start", MONDAY_9AM),
                ("name", "Sam <b>Jones</b>"),
                ("email", "nope"),
            ],
        )
        .await;
    bad.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.title().starts_with("Error: "));
    assert!(bad.body.contains("There is a problem") && bad.body.contains("right format"));
    assert!(!bad.body.contains("<b>Jones</b>"), "typed HTML is escaped");

    let check = app.post_form("/book/check", &details(MONDAY_9AM, "")).await;
    check.assert_status(StatusCode::OK);
    assert!(check.body.contains("Check your booking") && check.body.contains("£60"));

    let token = book(&app, MONDAY_9AM, "key-1").await;
    let manage = app.get(&format!("/booking/{token}?new=1")).await;
    manage.assert_status(StatusCode::OK);
    assert!(manage.body.contains("Consultation booked"));
    assert!(
        manage.body.contains("Need help now?"),
        "crisis block on the confirmation"
    );
    assert_eq!(manage.header("cache-control"), Some("no-store"));

    let outbox = app.outbox().await;
    let visitor = mail_of(&outbox, "booking_confirmation");
    assert_eq!(visitor.len(), 1);
    assert_eq!(visitor[0].to.as_str(), "sam@example.com");
    assert!(
        visitor[0].body_text.contains(&format!("/booking/{token}")),
        "the manage link is in the email"
    );
    assert!(visitor[0].body_text.contains("116 123"));
    let ics = &visitor[0].calendar.as_ref().expect("an ICS attachment").ics;
    assert!(
        ics.contains("METHOD:REQUEST")
            && ics.contains("DTSTART:20270329T080000Z")
            && ics.contains("SEQUENCE:0")
    );
    let notice = mail_of(&outbox, "booking_notice");
    assert_eq!(notice.len(), 1);
    for text in [&notice[0].subject, &notice[0].body_text] {
        assert!(
            !text.contains("Sam") && !text.contains("ground-floor"),
            "nothing the visitor typed: {text}"
        );
    }

    let times = decode_entities(&app.get("/book/times?location=balham").await.body);
    assert!(
        !times.contains(&format!("start={MONDAY_9AM}\"")),
        "a booked slot is no longer offered"
    );
    assert!(
        times.contains("start=2027-03-29T09:00:00Z\""),
        "10am still fits: 9:50 plus the 10-minute buffer"
    );
    let online = decode_entities(&app.get("/book/times?location=online").await.body);
    assert!(
        online.contains("Tuesday 30 March"),
        "online times the next day are unaffected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retrying_the_same_submission_books_once() {
    let app = TestApp::spawn().await;
    book(&app, MONDAY_9AM, "same-key").await;
    let again = app
        .post_form("/book/confirm", &details(MONDAY_9AM, "same-key"))
        .await;
    again.assert_redirect("/book/already");
    let bookings = app
        .store
        .bookings_between(
            app.practice,
            "2027-03-01T00:00:00Z".parse().unwrap(),
            "2027-05-01T00:00:00Z".parse().unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(bookings.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_visitors_racing_for_one_slot_get_one_booking() {
    let app = TestApp::spawn_with_limits(RateLimits {
        disabled: true,
        // Every one of the 200 reaches the store, none turned away as busy.
        in_flight: 256,
        ..RateLimits::default()
    })
    .await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let client = app.client().clone();
        let url = app.url("/book/confirm");
        let origin = app.base.clone();
        tasks.push(tokio::spawn(async move {
            let key = format!("racer-{i}");
            let form = details(MONDAY_9AM, &key);
            let form: Vec<(String, String)> = form
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            client
                .post(url)
                .header("origin", origin)
                .form(&form)
                .send()
                .await
                .map(|r| r.status())
        }));
    }
    let mut booked = 0;
    let mut taken = 0;
    for task in tasks {
        match task.await.unwrap().expect("every request is answered") {
            StatusCode::SEE_OTHER => booked += 1,
            StatusCode::CONFLICT => taken += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((booked, taken), (1, 199));
    let bookings = app
        .store
        .bookings_between(
            app.practice,
            "2027-03-29T00:00:00Z".parse().unwrap(),
            "2027-03-30T00:00:00Z".parse().unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(bookings.len(), 1, "one row in the database");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_race_offers_nearby_times() {
    let app = TestApp::spawn().await;
    book(&app, MONDAY_9AM, "first").await;
    let second = app
        .post_form(
            "/book/confirm",
            &[
                ("email", "al@example.com"),
                ("name", "Al"),
                ("location", "balham"),
                ("start", MONDAY_9AM),
                ("contact_preference", "email"),
                ("consent", "true"),
            ],
        )
        .await;
    second.assert_status(StatusCode::CONFLICT);
    assert!(second.body.contains("that time has just gone"));
    assert!(
        decode_entities(&second.body).contains("/book/details?location=balham&start="),
        "alternatives are offered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manage_link_cancels_and_moves() {
    let app = TestApp::spawn().await;
    let token = book(&app, MONDAY_9AM, "k").await;
    app.get("/booking/0000000000000000000000000000000000000000000000000000000000000000")
        .await
        .assert_status(StatusCode::NOT_FOUND);
    app.get("/booking/short")
        .await
        .assert_status(StatusCode::NOT_FOUND);

    // GET never changes anything.
    let confirm = app.get(&format!("/booking/{token}/cancel")).await;
    confirm.assert_status(StatusCode::OK);
    assert!(confirm.body.contains("Cancel your consultation?"));

    // Move to 11am the same day.
    let new_start = "2027-03-29T10:00:00Z";
    let page = app.get(&format!("/booking/{token}/move")).await;
    page.assert_status(StatusCode::OK);
    assert!(decode_entities(&page.body).contains(&format!(
        "/booking/{token}/move/confirm?location=balham&start={new_start}"
    )));
    app.get(&format!(
        "/booking/{token}/move/confirm?location=balham&start={new_start}"
    ))
    .await
    .assert_status(StatusCode::OK);
    let moved = app
        .post_form(
            &format!("/booking/{token}/move/confirm"),
            &[("location", "balham"), ("start", new_start)],
        )
        .await;
    moved.assert_redirect(&format!("/booking/{token}"));
    let booking = app
        .store
        .booking_by_token(app.practice, &sha(&token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(booking.start.to_string(), new_start);
    assert_eq!(booking.sequence, 1);
    let outbox = app.outbox().await;
    let moved_mail = mail_of(&outbox, "booking_moved");
    let ics = &moved_mail[0].calendar.as_ref().unwrap().ics;
    assert!(
        ics.contains(&format!("UID:{}", booking.uid))
            && ics.contains("SEQUENCE:1")
            && ics.contains("DTSTART:20270329T100000Z")
    );

    let cancelled = app
        .post_form(&format!("/booking/{token}/cancel"), &[])
        .await;
    cancelled.assert_redirect(&format!("/booking/{token}"));
    let page = app.get(&format!("/booking/{token}")).await;
    assert!(page.body.contains("has been cancelled"));
    let outbox = app.outbox().await;
    let cancel_mail = mail_of(&outbox, "booking_cancelled");
    assert!(
        cancel_mail[0]
            .calendar
            .as_ref()
            .unwrap()
            .ics
            .contains("METHOD:CANCEL")
    );
    let times = decode_entities(&app.get("/book/times?location=balham").await.body);
    assert!(
        times.contains(&format!("start={new_start}\"")),
        "the cancelled time is free again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_close_at_the_notice_cut_off() {
    let app = TestApp::spawn().await;
    let token = book(&app, MONDAY_9AM, "k").await;
    // Sunday 28 March, 10am: less than 24 hours before.
    app.advance_clock(jiff::SignedDuration::from_hours(72));
    let page = app.get(&format!("/booking/{token}")).await;
    assert!(page.body.contains("too close to the start"));
    app.post_form(&format!("/booking/{token}/cancel"), &[])
        .await;
    let booking = app
        .store
        .booking_by_token(app.practice, &sha(&token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        booking.status.as_str(),
        "confirmed",
        "too late to cancel online"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_booking_posts_are_refused() {
    let app = TestApp::spawn().await;
    let reply = app
        .post_form_with(
            "/book/confirm",
            &details(MONDAY_9AM, "x"),
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    reply.assert_status(StatusCode::FORBIDDEN);
    let bookings = app
        .store
        .bookings_between(
            app.practice,
            "2027-03-01T00:00:00Z".parse().unwrap(),
            "2027-05-01T00:00:00Z".parse().unwrap(),
        )
        .await
        .unwrap();
    assert!(bookings.is_empty());
}

fn sha(token: &str) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    Sha256::digest(token.as_bytes()).to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_twice_or_to_the_same_time_changes_nothing_more() {
    let app = TestApp::spawn().await;
    let token = book(&app, MONDAY_9AM, "twice").await;
    let form = [("location", "balham"), ("start", "2027-03-29T10:00:00Z")];
    let path = format!("/booking/{token}/move/confirm");
    app.post_form(&path, &form)
        .await
        .assert_redirect(&format!("/booking/{token}"));
    app.post_form(&path, &form)
        .await
        .assert_redirect(&format!("/booking/{token}"));
    let booking = app
        .store
        .booking_by_token(app.practice, &sha(&token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        booking.sequence, 1,
        "the second, identical submission changed nothing"
    );
    assert_eq!(
        mail_of(&app.outbox().await, "booking_moved").len(),
        1,
        "and sent nothing"
    );
    let same = app
        .get(&format!(
            "{path}?location=balham&start=2027-03-29T10:00:00Z"
        ))
        .await;
    assert!(same.body.contains("the time you already have"));
    let taken = app
        .get(&format!(
            "{path}?location=balham&start=2027-03-29T10:30:00Z"
        ))
        .await;
    taken.assert_status(StatusCode::CONFLICT);
    app.post_form(&format!("/booking/{token}/cancel"), &[])
        .await;
    app.get(&format!(
        "{path}?location=balham&start=2027-03-29T11:00:00Z"
    ))
    .await
    .assert_redirect(&format!("/booking/{token}"));
    let ics = app
        .get(&format!("/booking/{token}/calendar.ics"))
        .await
        .body;
    assert!(
        !ics.contains("ATTENDEE") && !ics.contains("ORGANIZER"),
        "a published file is not an invitation"
    );
}
