//! Staff sign-in, sessions and sign-out.

use jiff::SignedDuration;
use reqwest::StatusCode;

use crate::helpers::{STAFF_EMAIL, STAFF_PASSWORD, TestApp, assert_crisis_block};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_needs_a_session() {
    let app = TestApp::spawn().await;
    for path in [
        "/office",
        "/office/articles",
        "/office/enquiries",
        "/office/settings",
        "/office/outbox",
        "/office/articles/new",
    ] {
        app.get(path).await.assert_redirect("/office/sign-in");
    }
    let made_up = format!("__Host-anteroom_office={}", "ab".repeat(32));
    app.get_with_cookie("/office", &made_up)
        .await
        .assert_redirect("/office/sign-in");
    let form = app.get("/office/sign-in").await;
    form.assert_status(StatusCode::OK);
    assert!(form.body.contains("Sign in to your back office"));
    assert!(form.body.contains(r#"name="robots" content="noindex""#));
    assert!(
        form.set_cookies().is_empty(),
        "the sign-in page sets no cookie before sign-in"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_refused_without_a_session() {
    let app = TestApp::spawn().await;
    for (email, password) in [
        (STAFF_EMAIL, "not the password at all"),
        ("nobody@example.com", STAFF_PASSWORD),
        (STAFF_EMAIL, ""),
    ] {
        let page = app.sign_in_with(email, password).await;
        assert_eq!(
            page.status,
            StatusCode::UNAUTHORIZED,
            "{email} / {password:?}"
        );
        assert!(
            page.body
                .contains("The email address or password is not right"),
            "{email}"
        );
        assert!(page.title().starts_with("Error: "));
        assert!(
            page.body.contains(&format!(r#"value="{email}""#)),
            "the typed email was lost"
        );
        assert!(
            !page.body.contains(STAFF_PASSWORD),
            "the password was echoed back"
        );
        assert!(
            page.set_cookies().is_empty(),
            "a refused sign-in set a cookie"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_email_address_is_not_case_sensitive_at_sign_in() {
    let app = TestApp::spawn().await;
    app.sign_in_with("  Therapist@EXAMPLE.com ", STAFF_PASSWORD)
        .await
        .assert_redirect("/office");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_sets_a_locked_down_cookie_whose_token_is_not_stored() {
    let app = TestApp::spawn().await;
    let reply = app.sign_in_with(STAFF_EMAIL, STAFF_PASSWORD).await;
    reply.assert_redirect("/office");
    let cookies = reply.set_cookies();
    assert_eq!(
        cookies.len(),
        2,
        "the session, and the browser as a known device"
    );
    let cookie = cookies[0];
    let attributes: Vec<&str> = cookie.split(';').map(str::trim).collect();
    let device: Vec<&str> = cookies[1].split(';').map(str::trim).collect();
    let (device_name, device_token) = device[0].split_once('=').expect("name=value");
    assert_eq!(device_name, "__Host-anteroom_device");
    for wanted in ["HttpOnly", "SameSite=Strict", "Path=/", "Secure"] {
        assert!(device.contains(&wanted), "{} lacks {wanted}", cookies[1]);
    }
    assert_eq!(device_token.len(), 64);
    assert!(
        !app.database_contains(device_token),
        "only the device token's hash is stored"
    );
    let (name, token) = attributes[0].split_once('=').expect("name=value");
    assert_eq!(
        name, "__Host-anteroom_office",
        "loopback is a secure context, so the __Host- prefix is used"
    );
    for wanted in ["HttpOnly", "SameSite=Lax", "Path=/", "Secure"] {
        assert!(attributes.contains(&wanted), "{cookie} lacks {wanted}");
    }
    assert!(
        !attributes
            .iter()
            .any(|a| a.to_ascii_lowercase().starts_with("domain")),
        "__Host- cookies have no Domain"
    );
    assert_eq!(token.len(), 64, "a 256-bit token in hex");

    let dashboard = app.get_with_cookie("/office", attributes[0]).await;
    dashboard.assert_status(StatusCode::OK);
    assert!(
        app.database_contains(STAFF_EMAIL),
        "the scan reads the stored data"
    );
    assert!(
        !app.database_contains(token),
        "the session token is stored in clear"
    );
    assert!(
        !app.database_contains(STAFF_PASSWORD),
        "the password is stored in clear"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_what_needs_attention() {
    let app = TestApp::spawn().await;
    app.post_form("/contact", &crate::helpers::enquiry_form(&[]))
        .await
        .assert_redirect("/contact/thanks");
    app.sign_in().await;
    let page = app.office_get("/office").await;
    page.assert_status(StatusCode::OK);
    assert!(page.body.contains("Signed in as Alex Morgan"));
    assert!(
        page.body
            .contains(r#"<span class="stat-number">1</span> enquiry to answer"#),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(r#"<span class="stat-number">2</span> published articles, 1 draft"#)
    );
    assert!(
        page.body
            .contains(r#"<span class="stat-number">1</span> email waiting"#)
            || page
                .body
                .contains(r#"<span class="stat-number">0</span> emails waiting"#),
        "the notification is waiting, or the mail worker has sent it already"
    );
    assert_eq!(app.wait_until_sent().await, vec![]);
    let page = app.office_get("/office").await;
    assert!(
        page.body
            .contains(r#"<span class="stat-number">0</span> emails waiting"#),
        "nothing waits once the worker has sent it"
    );
    assert!(
        page.body.contains("Sam Whitlock"),
        "the open enquiry is listed"
    );
    assert!(!page.body.contains("Email is not set up"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_ends_the_session_on_the_server() {
    let app = TestApp::spawn().await;
    let cookie = app.sign_in().await;
    app.office_get("/office")
        .await
        .assert_status(StatusCode::OK);

    let reply = app.office_post("/office/sign-out", &[]).await;
    reply.assert_redirect("/office/sign-in");
    assert!(
        reply.set_cookies().iter().any(|c| c.contains("Max-Age=0")),
        "the browser is told to forget the cookie"
    );

    app.office_get("/office")
        .await
        .assert_redirect("/office/sign-in");
    app.get_with_cookie("/office", &cookie)
        .await
        .assert_redirect("/office/sign-in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_again_replaces_the_old_session() {
    let app = TestApp::spawn().await;
    let first = app.sign_in().await;
    let second = app.sign_in().await;
    assert_ne!(first, second, "a new token at every sign-in");
    app.get_with_cookie("/office", &second)
        .await
        .assert_status(StatusCode::OK);
    app.get_with_cookie("/office", &first)
        .await
        .assert_redirect("/office/sign-in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_session_expires_after_thirty_minutes() {
    let app = TestApp::spawn().await;
    let cookie = app.sign_in().await;
    app.advance_clock(SignedDuration::from_mins(29));
    app.get_with_cookie("/office", &cookie)
        .await
        .assert_status(StatusCode::OK);
    app.advance_clock(SignedDuration::from_mins(29));
    app.get_with_cookie("/office", &cookie)
        .await
        .assert_status(StatusCode::OK);

    app.advance_clock(SignedDuration::from_mins(31));
    app.get_with_cookie("/office", &cookie)
        .await
        .assert_redirect("/office/sign-in");
    app.advance_clock(SignedDuration::from_mins(-31));
    app.get_with_cookie("/office", &cookie)
        .await
        .assert_redirect("/office/sign-in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ends_after_twelve_hours_however_active() {
    let app = TestApp::spawn().await;
    let cookie = app.sign_in().await;
    for _ in 0..(12 * 60 / 20) {
        app.advance_clock(SignedDuration::from_mins(20));
        app.get_with_cookie("/office", &cookie)
            .await
            .assert_status(StatusCode::OK);
    }
    app.advance_clock(SignedDuration::from_mins(20));
    app.get_with_cookie("/office", &cookie)
        .await
        .assert_redirect("/office/sign-in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_wrong_passwords_are_slowed_down() {
    let app = TestApp::spawn().await;
    for n in 1..=5 {
        let page = app.sign_in_with(STAFF_EMAIL, "guess guess guess").await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let sixth = app.sign_in_with(STAFF_EMAIL, "guess guess guess").await;
    assert_eq!(sixth.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = sixth
        .header("retry-after")
        .expect("a Retry-After header")
        .parse()
        .expect("seconds");
    assert!((1..=900).contains(&retry), "Retry-After: {retry}");
    assert!(sixth.body.contains("Please wait a little"));
    assert!(sixth.set_cookies().is_empty());

    let other_account = app
        .sign_in_with("someone.else@example.com", "guess guess guess")
        .await;
    assert_eq!(
        other_account.status,
        StatusCode::UNAUTHORIZED,
        "the limit is per account, not for the whole address"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_never_signs_out() {
    let app = TestApp::spawn().await;
    let cookie = app.sign_in().await;
    let page = app.get_with_cookie("/office/sign-out", &cookie).await;
    assert_eq!(page.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(page.header("allow"), Some("POST"));
    assert!(
        page.header("content-type")
            .is_some_and(|c| c.starts_with("text/html"))
    );
    assert!(
        page.body
            .contains("This address does not accept that kind of request")
    );
    assert_crisis_block(&page.body);
    assert!(page.set_cookies().is_empty(), "a GET cleared the cookie");
    app.get_with_cookie("/office", &cookie)
        .await
        .assert_status(StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn office_forms_refuse_cross_origin_posts() {
    let app = TestApp::spawn().await;
    let cookie = app.sign_in().await;
    let form = [
        ("name", "Hijacked"),
        ("time_zone", "Europe/London"),
        ("notify_email", "attacker@evil.example"),
        ("intro", "x"),
    ];
    let page = app
        .post_form_with(
            "/office/settings/practice",
            &form,
            &[
                ("cookie", cookie.as_str()),
                ("origin", "http://evil.example"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let practice = store::PracticeStore::practice(app.store.as_ref(), app.practice)
        .await
        .expect("practice");
    assert_eq!(
        practice.details.notify_email.as_str(),
        crate::helpers::NOTIFY_EMAIL
    );
    let sign_out = app
        .post_form_with(
            "/office/sign-out",
            &[],
            &[
                ("cookie", cookie.as_str()),
                ("sec-fetch-site", "cross-site"),
            ],
        )
        .await;
    assert_eq!(sign_out.status, StatusCode::FORBIDDEN);
    app.get_with_cookie("/office", &cookie)
        .await
        .assert_status(StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_smtp_server_the_dashboard_says_emails_wait() {
    let app = TestApp::spawn_without_mail().await;
    app.post_form("/contact", &crate::helpers::enquiry_form(&[]))
        .await
        .assert_redirect("/contact/thanks");
    app.sign_in().await;
    let page = app.office_get("/office").await;
    assert!(page.body.contains("Email is not set up"));
    assert!(
        page.body
            .contains(r#"<span class="stat-number">1</span> email waiting"#)
    );
    assert!(app.sink.received().is_empty(), "nothing is sent");
}

/// A hosted practice's therapist has no server to run commands on: the sign-in page sends
/// them to their host for a forgotten password, where a self-hosted one names the command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sign_in_page_says_where_help_with_a_password_comes_from() {
    let single = TestApp::spawn().await;
    let page = single.get("/office/sign-in").await;
    assert!(page.body.contains("anteroom user reset"), "{}", page.body);
    let hosted = TestApp::spawn_hosted().await;
    let page = hosted.get("/office/sign-in").await;
    assert!(
        page.body
            .contains("Ask the people who host your practice to reset it"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("anteroom user reset"));
}
