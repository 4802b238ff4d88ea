//! Limits that hold when requests arrive together, from one address or from many.
//!
//! Each test sends its requests at the same moment (spawned tasks over a shared client),
//! because a limit that is checked, then worked, then counted lets every one of them
//! through; these fail against that.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{STAFF_EMAIL, STAFF_PASSWORD, TestApp, enquiry_form};

/// Send `count` requests at once; `make(n)` builds the n-th. Returns every status.
async fn all_at_once(
    count: usize,
    make: impl Fn(usize) -> reqwest::RequestBuilder,
) -> Vec<StatusCode> {
    let requests: Vec<_> = (0..count).map(make).collect();
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|request| tokio::spawn(async move { request.send().await.map(|r| r.status()) }))
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap().expect("every request is answered"));
    }
    statuses
}

fn count(statuses: &[StatusCode], status: StatusCode) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_enquiries_at_once_from_one_address_store_five() {
    let app = TestApp::spawn().await;
    let form: Vec<(String, String)> = enquiry_form(&[])
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let statuses = all_at_once(60, |_| {
        app.client()
            .post(app.url("/contact"))
            .header("origin", &app.base)
            .form(&form)
    })
    .await;
    assert_eq!(count(&statuses, StatusCode::SEE_OTHER), 5, "{statuses:?}");
    assert_eq!(count(&statuses, StatusCode::TOO_MANY_REQUESTS), 55);
    assert_eq!(
        app.enquiries().await.len(),
        5,
        "exactly the limit is stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enquiry_with_mistakes_gives_its_place_back() {
    let app = TestApp::spawn().await;
    let wrong = enquiry_form(&[("email", "not an address")]);
    for _ in 0..8 {
        app.post_form("/contact", &wrong)
            .await
            .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    }
    for n in 1..=5 {
        let reply = app.post_form("/contact", &enquiry_form(&[])).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "enquiry {n}");
    }
    app.post_form("/contact", &enquiry_form(&[]))
        .await
        .assert_status(StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_addresses_are_counted_by_their_64() {
    let app = TestApp::spawn_behind_proxy().await;
    let form = enquiry_form(&[]);
    for n in 1..=5 {
        let from = format!("2001:db8:5:6::{n:x}");
        app.post_form_with("/contact", &form, &[("x-forwarded-for", &from)])
            .await
            .assert_redirect("/contact/thanks");
    }
    // Another address in the same /64 is the same household or phone.
    app.post_form_with(
        "/contact",
        &form,
        &[("x-forwarded-for", "2001:db8:5:6:ffff:ffff:ffff:ffff")],
    )
    .await
    .assert_status(StatusCode::TOO_MANY_REQUESTS);
    // The next /64 is someone else.
    app.post_form_with("/contact", &form, &[("x-forwarded-for", "2001:db8:5:7::1")])
        .await
        .assert_redirect("/contact/thanks");
}

/// The first `n` free consultation times in the next four weeks: `(location, start)`.
async fn free_times(app: &TestApp, n: usize) -> Vec<(String, String)> {
    let response = app
        .client()
        .get(app.url("/api/v1/availability?type=consultation"))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    let slots: Vec<(String, String)> = body["slots"]
        .as_array()
        .expect("slots")
        .iter()
        .map(|s| {
            (
                s["location"].as_str().unwrap().to_owned(),
                s["start"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(slots.len() >= n, "only {} free times", slots.len());
    slots.into_iter().take(n).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_api_bookings_at_once_from_one_address_make_ten() {
    let app = TestApp::spawn().await;
    // Every request is for a different free time, so only the limit can refuse one.
    let times = free_times(&app, 20).await;
    let statuses = all_at_once(30, |n| {
        let (location, start) = &times[n % times.len()];
        app.client()
            .post(app.url("/api/v1/bookings"))
            .header("idempotency-key", format!("burst-{n}"))
            .json(&json!({
                "type": "consultation",
                "location": location,
                "start": start,
                "name": "Sam Jones",
                "email": format!("sam{n}@example.com"),
                "contact_preference": "email",
                "consent": true
            }))
    })
    .await;
    let made = count(&statuses, StatusCode::CREATED);
    assert!(
        made <= 10,
        "{made} bookings made past a limit of 10: {statuses:?}"
    );
    assert!(made >= 1);
    for status in &statuses {
        assert!(
            matches!(
                *status,
                StatusCode::CREATED | StatusCode::CONFLICT | StatusCode::TOO_MANY_REQUESTS
            ),
            "{status}"
        );
    }
    let rows = app
        .store
        .bookings_between(
            app.practice,
            "2027-03-01T00:00:00Z".parse().unwrap(),
            "2027-06-01T00:00:00Z".parse().unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        rows.len(),
        made,
        "every booking answered 201 is stored, no more"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifteen_booking_forms_at_once_make_ten() {
    let app = TestApp::spawn().await;
    let times = free_times(&app, 15).await;
    let statuses = all_at_once(15, |n| {
        let (location, start) = &times[n];
        let email = format!("visitor{n}@example.com");
        let key = format!("form-{n}");
        let form = [
            ("location", location.as_str()),
            ("start", start.as_str()),
            ("name", "Sam Jones"),
            ("email", email.as_str()),
            ("contact_preference", "email"),
            ("consent", "yes"),
            ("idempotency_key", key.as_str()),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        app.client()
            .post(app.url("/book/confirm"))
            .header("origin", &app.base)
            .form(&form)
    })
    .await;
    let made = count(&statuses, StatusCode::SEE_OTHER);
    assert_eq!(made, 10, "{statuses:?}");
    assert_eq!(count(&statuses, StatusCode::TOO_MANY_REQUESTS), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_passwords_at_once_for_one_account_check_five() {
    let app = TestApp::spawn().await;
    let statuses = all_at_once(20, |_| {
        app.client()
            .post(app.url("/office/sign-in"))
            .header("origin", &app.base)
            .form(&[("email", STAFF_EMAIL), ("password", "a wrong guess at it")])
    })
    .await;
    assert_eq!(
        count(&statuses, StatusCode::UNAUTHORIZED),
        5,
        "only five passwords are checked: {statuses:?}"
    );
    assert_eq!(count(&statuses, StatusCode::TOO_MANY_REQUESTS), 15);
}

/// Sign in from `from` with `cookie` (if any); the reply's status and `Set-Cookie` values.
async fn sign_in_from(
    app: &TestApp,
    from: &str,
    password: &str,
    cookie: Option<&str>,
) -> (StatusCode, Vec<String>) {
    let mut request = app
        .client()
        .post(app.url("/office/sign-in"))
        .header("origin", &app.base)
        .header("x-forwarded-for", from)
        .form(&[("email", STAFF_EMAIL), ("password", password)]);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.unwrap();
    let cookies = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        .collect();
    (response.status(), cookies)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guesses_at_one_account_from_many_addresses_are_limited_but_the_owner_gets_in() {
    let app = TestApp::spawn_behind_proxy().await;
    // The therapist signs in once from her own browser, which then carries a device cookie.
    let (status, cookies) = sign_in_from(&app, "198.51.100.7", STAFF_PASSWORD, None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let device = cookies
        .iter()
        .find(|c| c.contains("anteroom_device="))
        .expect("a device cookie after a right password")
        .clone();

    // Someone guesses from ten addresses, one guess each: every one is checked…
    for n in 1..=10 {
        let (status, _) = sign_in_from(&app, &format!("203.0.113.{n}"), "guess guess", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "guess {n}");
    }
    // …then the account is limited for browsers it has not seen, from any address.
    let (status, _) = sign_in_from(&app, "203.0.113.99", "guess guess", None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, _) = sign_in_from(&app, "192.0.2.50", STAFF_PASSWORD, None).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "even a right password from an unknown browser waits"
    );
    // Her own browser is not held up, from wherever she is.
    let (status, cookies) = sign_in_from(&app, "192.0.2.51", STAFF_PASSWORD, Some(&device)).await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "the real therapist still signs in"
    );
    let renewed = cookies
        .iter()
        .find(|c| c.contains("anteroom_device="))
        .expect("the device cookie is renewed");
    assert_ne!(renewed, &device, "a new token at every sign-in");
    // The old token no longer counts as known.
    let (status, _) = sign_in_from(&app, "192.0.2.52", STAFF_PASSWORD, Some(&device)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // A device cookie is never given for a wrong password.
    let (_, cookies) = sign_in_from(&app, "192.0.2.53", "guess guess", Some(renewed)).await;
    assert!(cookies.iter().all(|c| !c.contains("anteroom_device=")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_links_to_one_inbox_are_limited_across_addresses() {
    let app = TestApp::spawn_behind_proxy().await;
    let ask = |from: String| {
        let request = app
            .client()
            .post(app.url("/portal/sign-in"))
            .header("origin", &app.base)
            .header("x-forwarded-for", from)
            .form(&[("email", "someone@example.org")]);
        async move { request.send().await.unwrap().status() }
    };
    for n in 1..=6 {
        assert_eq!(
            ask(format!("203.0.113.{n}")).await,
            StatusCode::OK,
            "link {n}"
        );
    }
    assert_eq!(
        ask("203.0.113.77".into()).await,
        StatusCode::TOO_MANY_REQUESTS,
        "nobody can fill one inbox from many addresses"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_sign_ins_waits_or_is_told_to_come_back_never_fails() {
    let app = TestApp::spawn_behind_proxy().await;
    let statuses = all_at_once(60, |n| {
        app.client()
            .post(app.url("/office/sign-in"))
            .header("origin", &app.base)
            .header(
                "x-forwarded-for",
                format!("10.9.{}.{}", n / 250, n % 250 + 1),
            )
            .form(&[
                ("email", format!("nobody{n}@example.com")),
                ("password", "a wrong guess at it".to_owned()),
            ])
    })
    .await;
    let busy = count(&statuses, StatusCode::SERVICE_UNAVAILABLE);
    let checked = count(&statuses, StatusCode::UNAUTHORIZED);
    assert_eq!(busy + checked, 60, "{statuses:?}");
    assert!(
        busy > 0,
        "more hashes than the pool holds are refused at once"
    );
    assert!(
        checked >= web::password::workers(),
        "the pool's threads keep checking"
    );
    // Afterwards the therapist signs in as usual.
    let (status, _) = sign_in_from(&app, "198.51.100.7", STAFF_PASSWORD, None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_from_the_same_host_over_another_scheme_or_port_is_refused() {
    let app = TestApp::spawn().await;
    let form = enquiry_form(&[]);
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    let other_port: u16 = port.parse::<u16>().unwrap().wrapping_add(1);
    for origin in [
        format!("https://127.0.0.1:{port}"),
        format!("http://127.0.0.1:{other_port}"),
    ] {
        app.post_form_with("/contact", &form, &[("origin", &origin)])
            .await
            .assert_status(StatusCode::FORBIDDEN);
    }
    assert!(app.enquiries().await.is_empty());
    app.post_form_with("/contact", &form, &[("origin", &app.base)])
        .await
        .assert_redirect("/contact/thanks");
}
