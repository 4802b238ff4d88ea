//! The contact form, as a visitor, a robot and another website use it.

use reqwest::StatusCode;

use crate::helpers::{NOTIFY_EMAIL, TestApp, assert_crisis_block, enquiry_form, without};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_form_shows_every_problem_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let page = app.post_form("/contact", &[]).await;
    page.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.title().starts_with("Error: "),
        "title: {}",
        page.title()
    );
    assert!(page.body.contains("There is a problem"));
    for field in ["name", "email", "contact_preference", "message", "consent"] {
        assert!(
            page.body.contains(&format!(r#"id="{field}-error""#)),
            "no message at {field}"
        );
        assert!(
            page.body.contains(&format!(r##"href="#{field}""##)),
            "the summary does not link to {field}"
        );
    }
    assert!(page.body.contains("Enter your name"));
    assert!(page.body.contains("Enter your email address"));
    assert_crisis_block(&page.body);
    assert!(page.set_cookies().is_empty());
    assert!(app.enquiries().await.is_empty());
    assert!(app.outbox().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_email_keeps_what_was_typed() {
    let app = TestApp::spawn().await;
    let form = enquiry_form(&[
        ("email", "sam at example"),
        ("contact_preference", "phone"),
        ("phone", "020 7946 0000"),
    ]);
    let page = app.post_form("/contact", &form).await;
    page.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains(r#"id="email-error""#));
    assert!(
        page.body
            .contains("Enter an email address in the right format")
    );
    assert!(
        page.body.contains(r#"value="Sam Whitlock""#),
        "the typed name was lost"
    );
    assert!(
        page.body.contains(r#"value="sam at example""#),
        "the typed email was lost"
    );
    assert!(
        page.body.contains(r#"value="020 7946 0000""#),
        "the typed phone was lost"
    );
    assert!(
        page.body.contains("I am free on Tuesday evenings"),
        "the typed message was lost"
    );
    assert!(
        page.body.contains(r#"value="phone" checked"#),
        "the chosen contact preference was lost"
    );
    assert!(
        !page.body.contains(r#"id="name-error""#),
        "a good field was marked wrong"
    );
    assert!(app.enquiries().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_in_a_field_is_shown_as_text() {
    let app = TestApp::spawn().await;
    let form = without(
        enquiry_form(&[
            ("name", r#""><script>alert(1)</script>"#),
            ("message", "<img src=x onerror=alert(2)>"),
        ]),
        "consent",
    );
    let page = app.post_form("/contact", &form).await;
    page.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains(r#"id="consent-error""#));
    assert!(
        !page.body.contains("<script>alert(1)"),
        "the name was not escaped"
    );
    assert!(
        !page.body.contains("<img src=x"),
        "the message was not escaped"
    );
    assert!(
        page.body.contains("&lt;script&gt;alert(1)"),
        "the name is shown as text"
    );
    assert!(app.enquiries().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_enquiry_is_stored_and_the_therapist_is_told_without_details() {
    let app = TestApp::spawn().await;
    let form = enquiry_form(&[]);
    let reply = app.post_form("/contact", &form).await;
    reply.assert_redirect("/contact/thanks");
    assert!(reply.set_cookies().is_empty());

    let enquiries = app.enquiries().await;
    assert_eq!(enquiries.len(), 1);
    let enquiry = &enquiries[0];
    assert_eq!(enquiry.name.as_str(), "Sam Whitlock");
    assert_eq!(enquiry.email.as_str(), "sam.whitlock@example.org");
    assert!(enquiry.message.contains("Tuesday evenings"));
    assert_eq!(
        enquiry.received_at,
        crate::helpers::START.parse().expect("instant")
    );
    assert!(enquiry.handled_at.is_none());

    let outbox = app.outbox().await;
    assert_eq!(outbox.len(), 1, "exactly one notification");
    let note = &outbox[0];
    assert_eq!(note.to.as_str(), NOTIFY_EMAIL);
    for secret in [
        "Sam",
        "Whitlock",
        "sam.whitlock",
        "example.org",
        "Tuesday",
        "Balham",
    ] {
        assert!(
            !note.subject.contains(secret),
            "the subject gives away {secret:?}"
        );
        assert!(
            !note.body_text.contains(secret),
            "the body gives away {secret:?}"
        );
    }
    assert!(
        note.body_text.contains(&app.url("/office/enquiries")),
        "the email says where to read it"
    );
    // The worker is woken by the new message (its own round comes only every 15 seconds),
    // and sends it.
    assert_eq!(app.wait_until_sent().await, vec![], "sent at once");
    let received = app.sink.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].rcpt_to, vec![NOTIFY_EMAIL.to_owned()]);

    let thanks = app.get("/contact/thanks").await;
    thanks.assert_status(StatusCode::OK);
    assert_crisis_block(&thanks.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusual_text_is_stored_exactly_as_typed() {
    let app = TestApp::spawn().await;
    let name = "Robert'); DROP TABLE enquiries;-- Ó Séaghdha";
    let message = "Quotes \" ' and -- and ; and <b>tags</b> and emoji 🌿, kept as typed.";
    let form = enquiry_form(&[("name", name), ("message", message)]);
    app.post_form("/contact", &form)
        .await
        .assert_redirect("/contact/thanks");
    let enquiries = app.enquiries().await;
    assert_eq!(enquiries.len(), 1);
    assert_eq!(enquiries[0].name.as_str(), name);
    assert_eq!(enquiries[0].message, message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hidden_control_characters_are_refused() {
    let app = TestApp::spawn().await;
    let form = enquiry_form(&[("name", "Sam \u{202E}kcolhtiW")]);
    let page = app.post_form("/contact", &form).await;
    page.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains(r#"id="name-error""#));
    assert!(app.enquiries().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_robot_filling_the_honeypot_is_thanked_but_nothing_is_kept() {
    let app = TestApp::spawn().await;
    let form = enquiry_form(&[("website", "https://spam.example")]);
    app.post_form("/contact", &form)
        .await
        .assert_redirect("/contact/thanks");
    assert!(app.enquiries().await.is_empty());
    assert!(app.outbox().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_website_cannot_submit_the_form() {
    let app = TestApp::spawn().await;
    let form = enquiry_form(&[]);
    let attempts: [&[(&str, &str)]; 3] = [
        &[("sec-fetch-site", "cross-site")],
        &[("sec-fetch-site", "same-site")],
        &[("origin", "http://evil.example")],
    ];
    for headers in attempts {
        let page = app.post_form_with("/contact", &form, headers).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{headers:?}");
        assert!(
            page.body.contains("You cannot do that from here"),
            "{headers:?}"
        );
        assert_crisis_block(&page.body);
    }
    assert!(app.enquiries().await.is_empty());
    assert!(app.outbox().await.is_empty());

    let same_site = app
        .post_form_with("/contact", &form, &[("sec-fetch-site", "same-origin")])
        .await;
    same_site.assert_redirect("/contact/thanks");
    assert_eq!(app.enquiries().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_enquiries_from_one_address_are_refused_for_a_while() {
    let app = TestApp::spawn().await;
    let form = enquiry_form(&[]);
    for n in 1..=5 {
        let reply = app.post_form("/contact", &form).await;
        assert_eq!(
            reply.status,
            StatusCode::SEE_OTHER,
            "enquiry {n} was refused"
        );
    }
    let sixth = app.post_form("/contact", &form).await;
    assert_eq!(sixth.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = sixth
        .header("retry-after")
        .expect("a Retry-After header")
        .parse()
        .expect("seconds");
    assert!((1..=3600).contains(&retry), "Retry-After: {retry}");
    assert!(sixth.body.contains("Please wait a little"));
    assert_crisis_block(&sixth.body);
    assert_eq!(app.enquiries().await.len(), 5);
    assert_eq!(app.outbox().await.len(), 5);
}
