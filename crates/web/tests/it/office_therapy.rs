//! The regular work seen from the rest of the app: sessions hold the therapist's time
//! against consultations, show in the calendar, get reminders, and move for breaks; the
//! cancellation policy's settings page.

use domain::{
    ContactPreference, EmailAddress, Pence, PersonName, Slug,
    availability::AwayPeriod,
    therapy::{ContractKind, ContractTerms, Frequency, WeeklyTime, schedule::plan},
};
use jiff::{SignedDuration, civil::date, tz::TimeZone};
use reqwest::StatusCode;
use store::{ClientId, NewClient, SessionStatus};

use crate::helpers::{START, TestApp, decode_entities};

/// Plans sessions as the app does (the practice's zone and breaks), to the end of June 2027.
pub(crate) async fn planner(app: &TestApp) -> Box<store::Planner> {
    let zone = TimeZone::get("Europe/London").unwrap();
    let breaks: Vec<AwayPeriod> = app
        .store
        .away_periods(app.practice)
        .await
        .unwrap()
        .into_iter()
        .map(|a| AwayPeriod {
            start: a.start,
            end: a.end,
        })
        .collect();
    Box::new(move |terms: &ContractTerms, kept: &[_], from| {
        plan(terms, &zone, &breaks, kept, from, date(2027, 6, 30))
    })
}

/// Record that Robin attended the session starting at `start`, charged the full fee.
pub(crate) async fn attended(app: &TestApp, client: ClientId, start: &str) {
    let session = app
        .store
        .client_sessions(app.practice, client)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.start.to_string() == start)
        .expect("a session then");
    let planner = planner(app).await;
    app.store
        .record_outcome(
            app.practice,
            session.id,
            &store::NewCharge {
                outcome: domain::therapy::policy::Outcome::Attended,
                told_at: None,
                amount: Pence::new(7000),
                rule: "Attended: the session fee.".into(),
                policy_version: 1,
                used_free_allowance: false,
            },
            &*planner,
            app.clock.now(),
        )
        .await
        .unwrap();
}

/// Robin Vale, open-ended weekly work on Mondays at 10:00 in Balham from 29 March 2027.
pub(crate) async fn robin_on_mondays(app: &TestApp) -> ClientId {
    let client = app
        .store
        .create_client(
            app.practice,
            &NewClient {
                name: PersonName::parse("Robin Vale").unwrap(),
                email: EmailAddress::parse("robin@example.com").unwrap(),
                phone: None,
                contact_preference: ContactPreference::Email,
                reminders: true,
            },
            None,
            START.parse().unwrap(),
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
            time: jiff::civil::time(10, 0, 0, 0),
        }],
        location: Slug::parse("balham").unwrap(),
        minutes: 50,
        fee: Pence::new(7000),
        start: date(2027, 3, 29),
        policy_version: 1,
    };
    let planner = planner(app).await;
    let now = START.parse().unwrap();
    app.store
        .save_contract(app.practice, client, None, &terms, "", now, &planner, now)
        .await
        .unwrap();
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regular_session_cannot_be_booked_over() {
    let app = TestApp::spawn().await;
    robin_on_mondays(&app).await;
    let reply = app
        .get("/api/v1/availability?type=consultation&location=balham&from=2027-03-29&to=2027-03-29")
        .await;
    let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    let starts: Vec<&str> = body["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["start"].as_str().unwrap())
        .collect();
    assert_eq!(
        starts,
        [
            "2027-03-29T09:00:00+01:00",
            "2027-03-29T11:00:00+01:00",
            "2027-03-29T12:00:00+01:00"
        ],
        "10:00 is Robin's"
    );
    let booking = serde_json::json!({
        "type": "consultation", "location": "balham", "start": "2027-03-29T10:00:00+01:00",
        "name": "Sam Jones", "email": "sam@example.com", "consent": true
    });
    let refused = app
        .client()
        .post(app.url("/api/v1/bookings"))
        .header("content-type", "application/json")
        .body(booking.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::CONFLICT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_calendar_and_today_show_sessions_with_initials_and_numbers() {
    let app = TestApp::spawn().await;
    robin_on_mondays(&app).await;
    app.sign_in().await;
    let week = app
        .office_get("/office/calendar?view=week&date=2027-04-12")
        .await;
    week.assert_status(StatusCode::OK);
    let text = decode_entities(&week.body);
    // 5 April is in the practice's Easter break, so 12 April is the second session.
    assert!(text.contains("Session 2, R.V."), "{text}");
    assert!(text.contains("/office/sessions/"));
    // On the Monday itself the dashboard lists the day's session.
    app.advance_clock(SignedDuration::from_hours(4 * 24));
    app.sign_in().await;
    let today = decode_entities(&app.office_get("/office").await.body);
    assert!(today.contains("Session 1"), "{today}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_reminder_goes_once_the_day_before_and_says_nothing_about_therapy() {
    let app = TestApp::spawn().await;
    robin_on_mondays(&app).await;
    web::jobs::run_once(&app.state).await.unwrap();
    assert!(
        !app.outbox()
            .await
            .iter()
            .any(|m| m.kind == "session_reminder"),
        "not yet: Monday is four days away"
    );
    // Sunday 28 March, 12:00 UK time: Monday's 10:00 session is 22 hours away.
    app.advance_clock(SignedDuration::from_hours(3 * 24 + 2));
    web::jobs::run_once(&app.state).await.unwrap();
    web::jobs::run_once(&app.state).await.unwrap();
    let reminders: Vec<_> = app
        .outbox()
        .await
        .into_iter()
        .filter(|m| m.kind == "session_reminder")
        .collect();
    assert_eq!(reminders.len(), 1, "once");
    let reminder = &reminders[0];
    assert_eq!(reminder.to.as_str(), "robin@example.com");
    assert!(reminder.subject.contains("Monday 29 March 2027 at 10am"));
    // Only the practice's name: nothing about what the appointment is for.
    let name = app.store.practice(app.practice).await.unwrap().details.name;
    let text = format!("{} {}", reminder.subject, reminder.body_text)
        .replace(&name, "")
        .to_lowercase();
    assert!(reminder.body_text.contains(&name));
    for word in ["therapy", "session", "counselling", "contract"] {
        assert!(!text.contains(word), "neutral wording: {word}");
    }
    assert!(
        reminder.body_text.contains(&format!(
            "See or cancel your appointments: {}/portal/sign-in",
            app.base
        )),
        "where to see or cancel: {}",
        reminder.body_text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_break_marks_the_sessions_in_it_and_tells_the_client() {
    let app = TestApp::spawn().await;
    let robin = robin_on_mondays(&app).await;
    app.sign_in().await;
    let reply = app
        .office_post(
            "/office/settings/away",
            &[
                ("label", "Spring break"),
                ("first_day", "2027-04-12"),
                ("last_day", "2027-04-18"),
            ],
        )
        .await;
    reply.assert_status(StatusCode::SEE_OTHER);
    let sessions = app
        .store
        .client_sessions(app.practice, robin)
        .await
        .unwrap();
    let on = |day: &str| {
        sessions
            .iter()
            .find(|s| s.start.to_string().starts_with(day))
            .map(|s| (s.status, s.number))
    };
    assert_eq!(on("2027-04-12"), Some((SessionStatus::Break, None)));
    assert_eq!(
        on("2027-04-19").map(|(status, _)| status),
        Some(SessionStatus::Scheduled)
    );
    web::jobs::run_once(&app.state).await.unwrap();
    let notices: Vec<_> = app
        .outbox()
        .await
        .into_iter()
        .filter(|m| m.kind == "break_notice")
        .collect();
    assert_eq!(
        notices.len(),
        1,
        "told at once: the break is under four weeks away"
    );
    let body = &notices[0].body_text;
    assert!(body.contains("Monday 12 April 2027"), "{body}");
    assert!(body.contains("Your next appointment after the break is Monday 19 April 2027 at 10am"));
    assert!(
        !body.contains("Spring break"),
        "the label is the therapist's own"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cancellation_policy_is_saved_as_a_new_version() {
    let app = TestApp::spawn().await;
    app.sign_in().await;
    let page = app
        .office_get("/office/settings/cancellation-charges")
        .await;
    page.assert_status(StatusCode::OK);
    assert!(decode_entities(&page.body).contains("This is version 1"));
    let mut form = vec![
        ("notice_hours", "abc"),
        ("grace_minutes", "0"),
        ("late_cancellation_percent", "100"),
        ("did_not_attend_percent", "100"),
        ("free_late_cancellations", "1"),
        ("free_period_days", "365"),
    ];
    let invalid = app
        .office_post("/office/settings/cancellation-charges", &form)
        .await;
    invalid.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(invalid.body.contains("value=\"abc\""), "input kept");
    assert_eq!(
        app.store.policy(app.practice, None).await.unwrap().version,
        1
    );
    form[0] = ("notice_hours", "72");
    app.office_post("/office/settings/cancellation-charges", &form)
        .await
        .assert_status(StatusCode::SEE_OTHER);
    let policy = app.store.policy(app.practice, None).await.unwrap();
    assert_eq!(
        (
            policy.version,
            policy.notice_hours,
            policy.free_late_cancellations
        ),
        (2, 72, 1)
    );
    assert_eq!(
        app.store
            .policy(app.practice, Some(1))
            .await
            .unwrap()
            .notice_hours,
        48
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoice_now_makes_numbered_invoices_the_client_can_open_and_print() {
    let app = TestApp::spawn().await;
    let robin = robin_on_mondays(&app).await;
    app.advance_clock(SignedDuration::from_hours(24 * 12)); // Tuesday 6 April
    attended(&app, robin, "2027-03-29T09:00:00Z").await;
    app.sign_in().await;
    let settings = [
        ("session_reminder_hours", "24"),
        ("break_notice_days", "28"),
        ("invoice_mode", "monthly"),
        ("payment_terms_days", "14"),
        (
            "bank_details",
            "Larchwood Psychotherapy\nSort code 00-00-00\nAccount 00000000",
        ),
    ];
    app.office_post("/office/settings/therapy", &settings)
        .await
        .assert_status(StatusCode::SEE_OTHER);
    let list = decode_entities(&app.office_get("/office/invoices").await.body);
    assert!(
        list.contains("Robin Vale") && list.contains("£70"),
        "{list}"
    );
    let made = app
        .office_post("/office/invoices/new", &[("client", &robin.to_string())])
        .await;
    assert_eq!(made.location(), Some("/office/invoices?made=1"));
    // Sent twice: nothing left to invoice, no second invoice.
    app.office_post("/office/invoices/new", &[("client", &robin.to_string())])
        .await
        .assert_status(StatusCode::SEE_OTHER);
    let invoices = app.store.invoices(app.practice, Some(robin)).await.unwrap();
    assert_eq!(invoices.len(), 1);
    assert_eq!(invoices[0].due_on.to_string(), "2027-04-20");
    let email = app
        .outbox()
        .await
        .into_iter()
        .find(|m| m.kind == "invoice")
        .expect("the link is emailed");
    assert_eq!(email.subject, "Invoice 1 from Larchwood Psychotherapy");
    assert!(email.body_text.contains("£70"));
    let link = email
        .body_text
        .lines()
        .find(|l| l.contains("/invoice/"))
        .unwrap()
        .trim()
        .to_owned();
    let path = &link[link.find("/invoice/").unwrap()..];
    let public = app.get(path).await;
    public.assert_status(StatusCode::OK);
    assert_eq!(public.header("cache-control"), Some("no-store"));
    assert_eq!(public.header("x-robots-tag"), Some("noindex"));
    let text = decode_entities(&public.body);
    for expected in [
        "Invoice 1",
        "Session 1, Monday 29 March 2027 at 10am",
        "Attended: the session fee.",
        "Sort code 00-00-00",
        "Waiting for payment",
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
    let last = if path.ends_with('0') { "1" } else { "0" };
    app.get(&format!("{}{last}", &path[..path.len() - 1]))
        .await
        .assert_status(StatusCode::NOT_FOUND);

    let id = invoices[0].id;
    let bad = app
        .office_post(
            &format!("/office/invoices/{id}/paid"),
            &[("paid_on", "2099-01-01")],
        )
        .await;
    bad.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    app.office_post(
        &format!("/office/invoices/{id}/paid"),
        &[("paid_on", "2027-04-05")],
    )
    .await
    .assert_status(StatusCode::SEE_OTHER);
    assert!(decode_entities(&app.get(path).await.body).contains("Paid on 5 April 2027"));
    // A new link replaces the old one.
    app.office_post(&format!("/office/invoices/{id}/send"), &[])
        .await
        .assert_status(StatusCode::SEE_OTHER);
    app.get(path).await.assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monthly_invoices_are_made_once_at_the_start_of_the_month() {
    let app = TestApp::spawn().await;
    let robin = robin_on_mondays(&app).await;
    app.advance_clock(SignedDuration::from_hours(24 * 5)); // Tuesday 30 March
    attended(&app, robin, "2027-03-29T09:00:00Z").await;
    web::jobs::run_once(&app.state).await.unwrap();
    assert!(
        app.store
            .invoices(app.practice, None)
            .await
            .unwrap()
            .is_empty(),
        "not before March is over"
    );
    app.advance_clock(SignedDuration::from_hours(24 * 2)); // Thursday 1 April
    web::jobs::run_once(&app.state).await.unwrap();
    web::jobs::run_once(&app.state).await.unwrap();
    let invoices = app.store.invoices(app.practice, None).await.unwrap();
    assert_eq!(invoices.len(), 1, "once");
    assert_eq!(
        (
            invoices[0].number,
            invoices[0].period.as_str(),
            invoices[0].total
        ),
        (1, "March 2027", Pence::new(7000))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brief_work_near_its_ending_says_so() {
    let app = TestApp::spawn().await;
    let client = brief_work(
        &app,
        "Kim Short",
        3,
        (jiff::civil::Weekday::Wednesday, 14),
        date(2027, 3, 31),
    )
    .await;
    app.sign_in().await;
    let page = decode_entities(
        &app.office_get(&format!("/office/clients/{client}"))
            .await
            .body,
    );
    assert!(page.contains("3 of 3"), "{page}");
    assert!(page.contains("Ending soon"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_are_readable_in_the_office_and_nowhere_in_the_database_or_a_backup() {
    const CANARY: &str = "canary-5d1e7b: we talked about the move and her sister";
    let app = TestApp::spawn().await;
    let robin = robin_on_mondays(&app).await;
    let session = app
        .store
        .client_sessions(app.practice, robin)
        .await
        .unwrap()
        .remove(0);
    app.sign_in().await;
    let path = format!("/office/sessions/{}/note", session.id);
    let empty = app.office_post(&path, &[("note", "  ")]).await;
    empty.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.decoded().contains("Write the note before saving it"));
    app.office_post(&path, &[("note", CANARY)])
        .await
        .assert_redirect(&format!("/office/sessions/{}#session-note", session.id));
    let page = app
        .office_get(&format!("/office/sessions/{}", session.id))
        .await;
    assert!(
        page.decoded().contains(CANARY),
        "the therapist reads it back"
    );
    // A general note on the client, too.
    app.office_post(
        &format!("/office/clients/{robin}/notes"),
        &[("note", "canary-general-91c: **important** context")],
    )
    .await
    .assert_status(StatusCode::SEE_OTHER);
    let client_page = app.office_get(&format!("/office/clients/{robin}")).await;
    assert!(
        client_page
            .body
            .contains("canary-general-91c: <strong>important</strong>")
    );
    assert!(client_page.decoded().contains("1 session has a note"));

    for marker in ["canary-5d1e7b", "canary-general-91c"] {
        assert!(
            !app.database_contains(marker),
            "{marker} in the database or WAL"
        );
    }
    // A SQLite backup (a copy of the file) holds only ciphertext too; PostgreSQL's backups
    // are its own tools' (pg_dump reads the same rows checked above).
    if let Some(sqlite) = app.sqlite() {
        let backup = tempfile::tempdir().unwrap();
        let copy = backup.path().join("backup.db");
        sqlite.backup_to(&copy).await.unwrap();
        let bytes = std::fs::read(&copy).unwrap();
        assert!(
            !bytes.windows(13).any(|w| w == b"canary-5d1e7b"),
            "in a backup"
        );
    }

    // A damaged note is an error page that says nothing of the note.
    let damaged = &|_: store::NoteId| vec![1u8; 60];
    app.store
        .save_note(
            app.practice,
            robin,
            Some(session.id),
            None,
            damaged,
            app.clock.now(),
        )
        .await
        .unwrap();
    let broken = app
        .office_get(&format!("/office/sessions/{}", session.id))
        .await;
    broken.assert_status(StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!broken.body.contains("canary"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_save_while_typing_and_a_general_note_is_changed_not_added_again() {
    let app = TestApp::spawn().await;
    let robin = robin_on_mondays(&app).await;
    let session = app
        .store
        .client_sessions(app.practice, robin)
        .await
        .unwrap()
        .remove(0);
    let cookie = app.sign_in().await;
    let autosave = |path: String, form: Vec<(&'static str, String)>| {
        let app = &app;
        let cookie = cookie.clone();
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let headers = [
                ("origin", app.url("")),
                ("cookie", cookie),
                ("x-autosave", "1".to_owned()),
            ];
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post_form_with(&path, &form, &headers).await
        }
    };

    // The session's note, saved twice while typing: one note, the latest words.
    let path = format!("/office/sessions/{}/note", session.id);
    for text in ["First thoughts", "First thoughts, then more"] {
        let reply = autosave(path.clone(), vec![("note", text.to_owned())]).await;
        reply.assert_status(StatusCode::OK);
        let answer: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(
            answer["saved"], "09:00",
            "local time at the pinned clock (GMT)"
        );
        assert!(answer["id"].as_i64().is_some());
    }
    // Both saves were one burst of typing: one entry in the audit log. A save after a
    // quarter of an hour is written down again.
    let note_entries = |log: Vec<store::AuditEntry>| {
        log.iter()
            .filter(|e| e.action == "note.write" && e.object_id == Some(session.id.get()))
            .count()
    };
    let log = app.store.recent_audit(app.practice, 50).await.unwrap();
    assert_eq!(note_entries(log), 1);
    app.advance_clock(SignedDuration::from_mins(16));
    autosave(path.clone(), vec![("note", "Later, more".to_owned())])
        .await
        .assert_status(StatusCode::OK);
    let log = app.store.recent_audit(app.practice, 50).await.unwrap();
    assert_eq!(note_entries(log), 2);
    let page = app
        .office_get(&format!("/office/sessions/{}", session.id))
        .await;
    assert!(page.decoded().contains("Later, more"));
    assert!(page.body.contains("data-autosave"));
    assert!(page.decoded().contains("/assets/notes.js?v="));

    // A general note: the first save makes it, later saves (with its id) change it.
    let notes = format!("/office/clients/{robin}/notes");
    let first = autosave(notes.clone(), vec![("note", "Draft".to_owned())]).await;
    first.assert_status(StatusCode::OK);
    let id = serde_json::from_str::<serde_json::Value>(&first.body).unwrap()["id"]
        .as_i64()
        .unwrap();
    autosave(
        notes.clone(),
        vec![
            ("note", "Draft, finished".to_owned()),
            ("note_id", id.to_string()),
        ],
    )
    .await
    .assert_status(StatusCode::OK);
    let general: Vec<_> = app
        .store
        .notes(app.practice, robin)
        .await
        .unwrap()
        .into_iter()
        .filter(|n| n.session.is_none())
        .collect();
    assert_eq!(general.len(), 1, "changed, not added again");

    // Empty: a JSON message, nothing stored; someone else's note id: not found.
    let empty = autosave(notes.clone(), vec![("note", " ".to_owned())]).await;
    empty.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.body.contains("message"), "{}", empty.body);
    let session_note = app
        .store
        .session_note(app.practice, session.id)
        .await
        .unwrap()
        .unwrap();
    autosave(
        notes,
        vec![
            ("note", "x".to_owned()),
            ("note_id", session_note.id.get().to_string()),
        ],
    )
    .await
    .assert_status(StatusCode::NOT_FOUND);

    // The script itself is served from the site, cached by its fingerprint.
    let script = app.get("/assets/notes.js").await;
    script.assert_status(StatusCode::OK);
    assert!(
        script.body.contains("sessionStorage") && !script.body.contains("localStorage.setItem")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_key_file_notes_are_locked_with_a_clear_page_never_a_500() {
    let app = TestApp::spawn_without_key().await;
    let robin = robin_on_mondays(&app).await;
    app.sign_in().await;
    let page = app.office_get(&format!("/office/clients/{robin}")).await;
    page.assert_status(StatusCode::OK);
    assert!(page.decoded().contains("Notes are switched off"));
    // A note written while the key was there (sealed bytes the store just keeps).
    app.store
        .save_note(
            app.practice,
            robin,
            None,
            None,
            &|_| vec![7; 64],
            app.clock.now(),
        )
        .await
        .unwrap();
    let export = app
        .office_post(&format!("/office/clients/{robin}/export"), &[])
        .await;
    export.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        export
            .decoded()
            .contains("started without the practice's key file")
    );
    let page = app.office_get(&format!("/office/clients/{robin}")).await;
    page.assert_status(StatusCode::OK);
    let session = app
        .store
        .client_sessions(app.practice, robin)
        .await
        .unwrap()[0]
        .id;
    app.office_get(&format!("/office/sessions/{session}"))
        .await
        .assert_status(StatusCode::OK);
}

/// Kim Lee, brief work of `sessions` sessions on Mondays at 11:00 in Balham from 12 April 2027.
async fn kim_brief_at_eleven(app: &TestApp, sessions: u32) -> ClientId {
    brief_work(
        app,
        "Kim Lee",
        sessions,
        (jiff::civil::Weekday::Monday, 11),
        date(2027, 4, 12),
    )
    .await
}

/// `name`, brief work of `sessions` weekly sessions at (`weekday`, `hour`:00) in Balham from
/// `start`, agreed at the start instant.
async fn brief_work(
    app: &TestApp,
    name: &str,
    sessions: u32,
    (weekday, hour): (jiff::civil::Weekday, i8),
    start: jiff::civil::Date,
) -> ClientId {
    let now = START.parse().unwrap();
    let client = app
        .store
        .create_client(
            app.practice,
            &NewClient {
                name: PersonName::parse(name).unwrap(),
                email: EmailAddress::parse("kim@example.com").unwrap(),
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
            focus: "Sleep.".into(),
            sessions,
            reviews_at: vec![],
        },
        frequency: Frequency::Weekly,
        times: vec![WeeklyTime {
            weekday,
            time: jiff::civil::time(hour, 0, 0, 0),
        }],
        location: Slug::parse("balham").unwrap(),
        minutes: 50,
        fee: Pence::new(7000),
        start,
        policy_version: 1,
    };
    let planner = planner(app).await;
    app.store
        .save_contract(app.practice, client, None, &terms, "", now, &planner, now)
        .await
        .unwrap();
    client
}

/// Move a client's session starting at `from` (UTC, as `Timestamp` shows it) to `to`.
async fn move_by_hand(app: &TestApp, client: ClientId, from: &str, to: &str) {
    let session = app
        .store
        .client_sessions(app.practice, client)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.start.to_string() == from)
        .expect("a session then");
    let start: jiff::Timestamp = to.parse().unwrap();
    app.store
        .move_session(
            app.practice,
            session.id,
            &session.location,
            start,
            start + SignedDuration::from_mins(50),
            app.clock.now(),
        )
        .await
        .unwrap();
}

/// Every session of the clients as (start, status, number): what a half-stored change would
/// disturb.
async fn calendar_of(app: &TestApp, clients: &[ClientId]) -> Vec<String> {
    let mut rows = Vec::new();
    for client in clients {
        for s in app
            .store
            .client_sessions(app.practice, *client)
            .await
            .unwrap()
        {
            rows.push(format!("{} {:?} {:?}", s.start, s.status, s.number));
        }
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_break_whose_replanning_clashes_is_refused_whole_with_the_dates() {
    let app = TestApp::spawn().await;
    let robin = robin_on_mondays(&app).await;
    // Kim's two sessions are 12 and 19 April at 11am; a break over the 12th would move her
    // ending to 26 April at 11am, where Robin's session has been moved by hand.
    let kim = kim_brief_at_eleven(&app, 2).await;
    move_by_hand(&app, robin, "2027-04-26T09:00:00Z", "2027-04-26T10:00:00Z").await;
    let breaks_before = app.store.away_periods(app.practice).await.unwrap().len();
    let before = calendar_of(&app, &[robin, kim]).await;
    app.sign_in().await;

    let reply = app
        .office_post(
            "/office/settings/away",
            &[
                ("label", "Spring break"),
                ("first_day", "2027-04-12"),
                ("last_day", "2027-04-18"),
            ],
        )
        .await;
    reply.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let text = decode_entities(&reply.body);
    assert!(
        text.contains(
            "Adding this break plans the work again, and Monday 26 April 2027 at 11am would \
             clash with another appointment. Nothing has been changed."
        ),
        "{text}"
    );
    assert!(
        text.contains("Spring break"),
        "the form keeps what was typed"
    );
    assert_eq!(
        app.store.away_periods(app.practice).await.unwrap().len(),
        breaks_before,
        "the break is not stored"
    );
    assert_eq!(
        calendar_of(&app, &[robin, kim]).await,
        before,
        "no session was marked or planned again"
    );
    web::jobs::run_once(&app.state).await.unwrap();
    assert!(
        app.outbox().await.iter().all(|m| m.kind != "break_notice"),
        "nobody is told about a break that is not there"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_break_whose_sessions_would_clash_keeps_it_and_says_why() {
    let app = TestApp::spawn().await;
    let robin = robin_on_mondays(&app).await;
    let kim = kim_brief_at_eleven(&app, 2).await;
    app.sign_in().await;
    app.office_post(
        "/office/settings/away",
        &[
            ("label", "Spring break"),
            ("first_day", "2027-04-12"),
            ("last_day", "2027-04-18"),
        ],
    )
    .await
    .assert_status(StatusCode::SEE_OTHER);
    // Robin's 10am on 12 April is in the break, so its time is free: Kim's 19 April session
    // is moved there by hand.
    move_by_hand(&app, kim, "2027-04-19T10:00:00Z", "2027-04-12T09:00:00Z").await;
    let away = app.store.away_periods(app.practice).await.unwrap();
    let spring = away
        .iter()
        .find(|a| a.label == "Spring break")
        .expect("the break");
    let before = calendar_of(&app, &[robin, kim]).await;

    let reply = app
        .office_post(&format!("/office/settings/away/{}/delete", spring.id), &[])
        .await;
    reply.assert_status(StatusCode::CONFLICT);
    let text = decode_entities(&reply.body);
    assert!(
        text.contains(
            "Removing this break plans the work again, and Monday 12 April 2027 at 10am would \
             clash with another appointment. Nothing has been changed."
        ),
        "{text}"
    );
    assert_eq!(
        app.store.away_periods(app.practice).await.unwrap().len(),
        away.len(),
        "the break is still there"
    );
    assert_eq!(calendar_of(&app, &[robin, kim]).await, before);
}

/// Kim's two sessions (12 and 19 April at 11am), and Robin's 26 April session moved by hand
/// to 11am: where Kim's work would end if one of hers stopped counting.
async fn kim_with_her_ending_taken(app: &TestApp) -> (ClientId, store::Session) {
    let robin = robin_on_mondays(app).await;
    let kim = kim_brief_at_eleven(app, 2).await;
    move_by_hand(app, robin, "2027-04-26T09:00:00Z", "2027-04-26T10:00:00Z").await;
    let first = app
        .store
        .client_sessions(app.practice, kim)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(first.start.to_string(), "2027-04-12T10:00:00Z");
    (kim, first)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outcome_whose_replanning_clashes_is_not_recorded_and_says_when() {
    let app = TestApp::spawn().await;
    let (_, first) = kim_with_her_ending_taken(&app).await;
    app.sign_in().await;
    // A session the therapist cancels does not count: brief work grows by one, onto Robin's.
    let reply = app
        .office_post(
            &format!("/office/sessions/{}/outcome", first.id),
            &[("outcome", "therapist_cancelled")],
        )
        .await;
    reply.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let text = decode_entities(&reply.body);
    assert!(
        text.contains(
            "Recording this plans the rest of the work again, and Monday 26 April 2027 at 11am \
             clashes with another appointment."
        ),
        "{text}"
    );
    let session = app
        .store
        .therapy_session(app.practice, first.id)
        .await
        .unwrap();
    assert_eq!(session.status, SessionStatus::Scheduled);
    assert!(session.charge.is_none(), "no charge without an outcome");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portal_cancellation_whose_replanning_clashes_changes_nothing() {
    let app = TestApp::spawn().await;
    let (_, first) = kim_with_her_ending_taken(&app).await;
    let browser = crate::portal::Browser::new(&app);
    crate::portal::sign_in(&app, &browser, "kim@example.com").await;
    // In good time, so free, and it stops counting: the work would grow onto Robin's session.
    let reply = browser
        .post(
            &format!("/portal/sessions/{}/cancel", first.id),
            &[("charge", "0")],
        )
        .await;
    reply.assert_status(StatusCode::CONFLICT);
    assert!(
        reply
            .body
            .contains("This session could not be cancelled online just now"),
        "{}",
        reply.body
    );
    let session = app
        .store
        .therapy_session(app.practice, first.id)
        .await
        .unwrap();
    assert_eq!(session.status, SessionStatus::Scheduled);
    assert!(
        app.outbox()
            .await
            .iter()
            .all(|m| !m.kind.starts_with("portal_cancellation")),
        "no email about a cancellation that did not happen"
    );
}
