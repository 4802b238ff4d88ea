//! The audit log (SECURITY.md R9): scripted actions write exactly the expected entries, the
//! chain verifies, nothing secret is in it, and the client's page shows who has seen it.

use reqwest::StatusCode;
use store::{Actor, audit};

use crate::{
    helpers::{STAFF_EMAIL, TestApp},
    office_therapy::robin_on_mondays,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_actions_write_exactly_the_expected_entries() {
    const NOTE: &str = "audit-canary-3f9a: she spoke about her father";
    let app = TestApp::spawn().await;
    let robin = robin_on_mondays(&app).await;
    let session = app
        .store
        .client_sessions(app.practice, robin)
        .await
        .unwrap()
        .remove(0);
    let before = app
        .store
        .recent_audit(app.practice, 100)
        .await
        .unwrap()
        .len();

    app.sign_in_with(STAFF_EMAIL, "not the password")
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    app.sign_in_with("nobody@example.com", "guess")
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    app.sign_in().await;
    app.office_get("/office")
        .await
        .assert_status(StatusCode::OK);
    app.office_get(&format!("/office/clients/{robin}"))
        .await
        .assert_status(StatusCode::OK);
    app.office_post(
        &format!("/office/clients/{robin}/edit"),
        &[
            ("name", "Robin Vale"),
            ("email", "robin.vale@example.com"),
            ("contact_preference", "email"),
            ("reminders", "true"),
        ],
    )
    .await
    .assert_redirect(&format!("/office/clients/{robin}"));
    // A mistake changes nothing and is not written down as a change.
    app.office_post(
        &format!("/office/clients/{robin}/edit"),
        &[("name", ""), ("email", ""), ("contact_preference", "email")],
    )
    .await
    .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    app.office_get(&format!("/office/sessions/{}", session.id))
        .await
        .assert_status(StatusCode::OK);
    app.office_post(
        &format!("/office/sessions/{}/note", session.id),
        &[("note", NOTE)],
    )
    .await
    .assert_status(StatusCode::SEE_OTHER);
    app.office_get("/office/sessions/999999")
        .await
        .assert_status(StatusCode::NOT_FOUND);
    app.office_post(
        "/office/settings/therapy",
        &[("session_reminder_hours", "x")],
    )
    .await;
    app.office_post("/office/sign-out", &[]).await;

    let mut entries = app.store.recent_audit(app.practice, 100).await.unwrap();
    entries.truncate(entries.len() - before);
    entries.reverse();
    let got: Vec<_> = entries
        .iter()
        .map(|e| {
            (
                e.actor.kind(),
                e.action.as_str(),
                e.object_kind.as_deref(),
                e.client.map(|c| c.get()),
            )
        })
        .collect();
    let robin_id = Some(robin.get());
    assert_eq!(
        got,
        [
            ("staff", "staff.sign_in_failed", None, None),
            ("anonymous", "staff.sign_in_failed", None, None),
            ("staff", "staff.sign_in", None, None),
            ("staff", "client.view", Some("client"), robin_id),
            ("staff", "client.change", Some("client"), robin_id),
            ("staff", "session.view", Some("session"), robin_id),
            ("staff", "note.write", Some("session"), robin_id),
            ("staff", "staff.sign_out", None, None),
        ],
        "the dashboard, a refused edit, an unknown session and a refused setting write nothing"
    );
    assert!(
        entries
            .iter()
            .all(|e| e.source.as_deref() == Some("127.0.0.1")),
        "every entry says where it came from"
    );
    assert!(matches!(entries[2].actor, Actor::Staff(_)));
    assert_eq!(
        audit::verify(app.store.as_ref(), app.practice)
            .await
            .unwrap(),
        Ok(u64::try_from(before + entries.len()).unwrap())
    );
    assert!(
        !app.database_contains("audit-canary-3f9a"),
        "no note text anywhere in the database, the audit log included"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_page_shows_who_has_seen_the_record() {
    let app = TestApp::spawn().await;
    let robin = robin_on_mondays(&app).await;
    app.sign_in().await;
    let first = app.office_get(&format!("/office/clients/{robin}")).await;
    assert!(first.decoded().contains("Who has seen this record"));
    assert!(first.decoded().contains("Nobody yet"));
    let second = app.office_get(&format!("/office/clients/{robin}")).await;
    let text = second.decoded();
    assert!(!text.contains("Nobody yet"), "the first visit is listed");
    assert!(text.contains("Viewed the client"), "{text}");
    let access = app.store.record_access(app.practice, robin).await.unwrap();
    assert_eq!(access.len(), 1);
    assert_eq!(access[0].count, 2);
    assert!(text.contains(&access[0].name));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_reads_the_log_and_checks_the_chain_and_nobody_else_can() {
    use domain::{EmailAddress, PersonName};
    use store::NewUser;
    let app = TestApp::spawn().await;
    app.sign_in().await;
    let settings = app.office_get("/office/settings").await;
    assert!(settings.decoded().contains("/office/settings/audit"));
    let log = app.office_get("/office/settings/audit").await;
    log.assert_status(StatusCode::OK);
    assert!(log.decoded().contains("Signed in"));
    let checked = app.office_get("/office/settings/audit?check=1").await;
    assert!(
        checked.decoded().contains("The log is intact"),
        "{}",
        checked.decoded()
    );

    // A colleague (not the owner) is refused, and the refusal is written down.
    app.store
        .create_user(
            app.practice,
            &NewUser {
                email: EmailAddress::parse("colleague@example.com").unwrap(),
                name: PersonName::parse("Sam Colleague").unwrap(),
                password_hash: web::password::hash("a colleague's long password").unwrap(),
            },
            app.clock.now(),
        )
        .await
        .unwrap();
    let reply = app
        .sign_in_with("colleague@example.com", "a colleague's long password")
        .await;
    let cookie = reply.set_cookies()[0].split(';').next().unwrap().to_owned();
    let refused = app.get_with_cookie("/office/settings/audit", &cookie).await;
    refused.assert_status(StatusCode::FORBIDDEN);
    let latest = &app.store.recent_audit(app.practice, 1).await.unwrap()[0];
    assert_eq!(latest.action, "access.refused");

    // Erasing a record is the owner's decision too.
    let robin = robin_on_mondays(&app).await;
    app.get_with_cookie(&format!("/office/clients/{robin}/erase"), &cookie)
        .await
        .assert_status(StatusCode::FORBIDDEN);
    let post = app
        .post_form_with(
            &format!("/office/clients/{robin}/erase"),
            &[],
            &[("origin", &app.url("")), ("cookie", &cookie)],
        )
        .await;
    post.assert_status(StatusCode::FORBIDDEN);
    assert!(
        app.store.client(app.practice, robin).await.is_ok(),
        "not erased"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_an_enquiry_is_written_down() {
    let app = TestApp::spawn().await;
    app.post_form("/contact", &crate::helpers::enquiry_form(&[]))
        .await
        .assert_status(StatusCode::SEE_OTHER);
    let enquiry = app.enquiries().await[0].id;
    app.sign_in().await;
    app.office_get(&format!("/office/enquiries/{enquiry}"))
        .await
        .assert_status(StatusCode::OK);
    let latest = &app.store.recent_audit(app.practice, 1).await.unwrap()[0];
    assert_eq!(
        (
            latest.action.as_str(),
            latest.object_kind.as_deref(),
            latest.object_id
        ),
        ("enquiry.view", Some("enquiry"), Some(enquiry.get()))
    );
}
