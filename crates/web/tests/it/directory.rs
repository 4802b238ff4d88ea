//! The "find a therapist" directory (issue 13): a practice's settings and its listing as
//! open data, and the directory's search over hosted practices with every filter, its
//! listing pages, the published order, and a booking reaching it.

use domain::directory::{ListingSettings, RawListingSettings};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Reply, TestApp, addresses_under, assert_crisis_block};

async fn get(browser: &reqwest::Client, url: &str) -> Reply {
    Reply::read(browser.get(url).send().await.expect("GET")).await
}

fn settings(help: &[&str], approach: &str, accepting: bool) -> ListingSettings {
    ListingSettings::parse(&RawListingSettings {
        listed: true,
        help_with: help.iter().map(|h| (*h).to_owned()).collect(),
        approaches: vec![approach.to_owned()],
        ways: vec!["open-ended".into()],
        body: "ukcp".into(),
        number: "DEMO-123".into(),
        accepting,
        ..Default::default()
    })
    .expect("valid settings")
}

/// `app`'s practice listed under `id`, taking new clients; the listing's id.
async fn list(app: &TestApp, help: &[&str], approach: &str, id: &str) -> String {
    app.store
        .save_listing_settings(
            app.practice,
            &settings(help, approach, true),
            id,
            app.clock.now(),
        )
        .await
        .unwrap()
        .id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_therapist_lists_the_practice_and_it_is_published_as_open_data() {
    let app = TestApp::spawn().await;
    let unlisted = app.get("/api/v1/listing").await;
    unlisted.assert_status(StatusCode::NOT_FOUND);
    assert!(unlisted.body.contains("not_found"), "{}", unlisted.body);

    app.sign_in().await;
    let form = app.office_get("/office/settings/directory").await;
    form.assert_status(StatusCode::OK);
    assert!(form.body.contains("List my practice in the directory"));
    assert!(form.body.contains("Anxiety and worry"));

    // Turned on with nothing ticked: each problem at its field, nothing stored.
    let bad = app
        .office_post(
            "/office/settings/directory",
            &[
                ("listed", "true"),
                ("concession_places", "two"),
                ("body", "ukcp"),
            ],
        )
        .await;
    bad.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    for message in [
        "Tick at least one thing you help with",
        "Tick at least one approach",
        "Enter the number of places as a whole number",
        "Enter your registration or membership number",
    ] {
        assert!(bad.body.contains(message), "{message}");
    }
    assert_eq!(
        app.store.listing_settings(app.practice).await.unwrap(),
        None
    );

    app.office_post(
        "/office/settings/directory",
        &[
            ("listed", "true"),
            ("accepting", "true"),
            ("help_with", "loss"),
            ("help_with", "anxiety"),
            ("approaches", "psychodynamic"),
            ("ways", "open-ended"),
            ("concession_places", "2"),
            ("concession_fee", "40"),
            ("body", "ukcp"),
            ("number", "DEMO-123"),
            ("identity", "woman, she/her"),
        ],
    )
    .await
    .assert_redirect("/office/settings/directory?saved=1");

    let reply = app.get("/api/v1/listing").await;
    reply.assert_status(StatusCode::OK);
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    let doc: Value = serde_json::from_str(&reply.body).expect("JSON");
    assert_eq!(doc["format"], "anteroom-listing/1");
    let listing = &doc["listing"];
    assert_eq!(listing["help_with"], serde_json::json!(["anxiety", "loss"]));
    assert_eq!(
        listing["rooms"],
        serde_json::json!([{ "area": "Balham", "outcode": "SW12" }])
    );
    assert_eq!(listing["concessions"]["from_pence"], 4000);
    assert_eq!(listing["registration"]["body"], "ukcp");
    assert_eq!(listing["online"], true);
    assert!(
        !reply.body.contains("SW12 9RT"),
        "rooms by district only, never the full postcode"
    );
    // The first free consultation of each day: Monday at 9 in Balham, Tuesday at 6pm online.
    assert_eq!(
        doc["free_consultations"]["in_person"][0],
        "2027-03-29T08:00:00Z"
    );
    assert_eq!(
        doc["free_consultations"]["online"][0],
        "2027-03-30T17:00:00Z"
    );
    let id = listing["id"].as_str().expect("an id").to_owned();

    // Saving again keeps the id; turning it off unpublishes it.
    app.office_post(
        "/office/settings/directory",
        &[
            ("help_with", "loss"),
            ("approaches", "cbt"),
            ("ways", "brief"),
        ],
    )
    .await
    .assert_redirect("/office/settings/directory?saved=1");
    let stored = app
        .store
        .listing_settings(app.practice)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.id, id);
    assert!(!stored.settings.listed);
    app.get("/api/v1/listing")
        .await
        .assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_directory_searches_hosted_practices_fairly_and_follows_their_diaries() {
    let app = TestApp::spawn_hosted().await;
    let second = app.second_practice().await;
    let now = app.clock.now();
    let first_id = app
        .store
        .save_listing_settings(
            app.practice,
            &settings(&["anxiety", "loss"], "psychodynamic", true),
            "11111111-1111-4111-8111-111111111111",
            now,
        )
        .await
        .unwrap()
        .id;
    app.store
        .save_listing_settings(
            second.practice,
            &settings(&["trauma"], "cbt", false),
            "22222222-2222-4222-8222-222222222222",
            now,
        )
        .await
        .unwrap();
    web::directory::refresh(&app.state).await.expect("refresh");
    let browser = app.directory_browser();
    let search = |query: &str| {
        let url = app.directory_url(&format!("/{query}"));
        let browser = browser.clone();
        async move { get(&browser, &url).await }
    };

    let all = search("").await;
    all.assert_status(StatusCode::OK);
    assert!(
        all.set_cookies().is_empty(),
        "no cookies for anyone searching"
    );
    assert_crisis_block(&all.body);
    assert!(all.body.contains("2 therapists"), "{}", all.body);
    let (first_name, second_name) = ("Alex Morgan", "Second");
    assert!(all.body.contains(first_name));

    // Each filter narrows to the listing that matches it.
    for (query, expect_first, expect_second) in [
        ("?help=anxiety", true, false),
        ("?help=trauma", false, true),
        ("?approach=cbt", false, true),
        ("?within=28", true, false),
        ("?near=SW12+9AA&meeting=in-person", true, true),
        ("?near=M20&meeting=in-person", false, false),
        ("?body=ukcp", true, true),
        ("?body=bacp", false, false),
        ("?fee=10", false, false),
        ("?meeting=online", true, true),
        ("?language=klingon", false, false),
        ("?q=bereavement", true, false),
        ("?identity=she", false, false),
        ("?way=open-ended", true, true),
        ("?way=brief", false, false),
        ("?concessions=true", false, false),
        ("?meeting=in-person", true, true),
    ] {
        let page = search(query).await;
        page.assert_status(StatusCode::OK);
        let results = page
            .body
            .split("id=\"results-heading\"")
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            results.contains(&format!("/listings/{first_id}")),
            expect_first,
            "{query}: the first practice"
        );
        assert_eq!(
            results.contains("/listings/22222222-2222-4222-8222-222222222222"),
            expect_second,
            "{query}: the second practice ({second_name})"
        );
    }

    // Bad input is told at its field, never a 500.
    for (query, message) in [
        (
            "?help=astrology",
            "Choose what you would like help with from the list",
        ),
        ("?near=Atlantis", "No listing has a room in a place called"),
        ("?within=3", "Choose within 7, 14 or 28 days"),
        (
            "?fee=lots",
            "Enter the most you can pay a session in pounds",
        ),
        ("?page=0", "Choose a page"),
    ] {
        let page = search(query).await;
        page.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.body.contains(message), "{query}: {message}");
        assert!(page.body.contains("There is a problem"));
    }
    // A place name the listings give is understood.
    search("?near=Balham&meeting=in-person")
        .await
        .assert_status(StatusCode::OK);
    search("?page=9").await.assert_status(StatusCode::NOT_FOUND);

    // The listing's page, with schema.org for search engines and its next free time.
    let page = get(
        &browser,
        &app.directory_url(&format!("/listings/{first_id}")),
    )
    .await;
    page.assert_status(StatusCode::OK);
    let ld = page.json_ld();
    assert_eq!(ld[0]["@type"], "MedicalClinic");
    assert_eq!(ld[0]["isAcceptingNewPatients"], true);
    assert!(
        page.body.contains("Monday 29 March 2027 at 9am"),
        "{}",
        page.body
    );
    get(&browser, &app.directory_url("/listings/nope"))
        .await
        .assert_status(StatusCode::NOT_FOUND);

    let ordering = get(&browser, &app.directory_url("/how-listings-are-ordered")).await;
    ordering.assert_status(StatusCode::OK);
    let today = jiff::civil::date(2027, 3, 25);
    assert!(
        ordering
            .body
            .contains(&format!("{:016x}", domain::directory::daily_seed(today)))
    );

    // Nothing changed: the next refresh rebuilds nothing.
    assert_eq!(web::directory::refresh(&app.state).await.unwrap(), 0);
    // A booking of that time: only that practice is rebuilt, and its next free time moves on.
    let booked = app
        .client()
        .post(app.url("/api/v1/bookings"))
        .header("idempotency-key", "directory-1")
        .json(&serde_json::json!({
            "type": "consultation", "location": "balham", "start": "2027-03-29T09:00:00+01:00",
            "name": "Sam Jones", "email": "sam@example.com", "phone": "07700 900123",
            "contact_preference": "email", "consent": true
        }))
        .send()
        .await
        .expect("book");
    assert_eq!(booked.status(), StatusCode::CREATED);
    assert_eq!(web::directory::refresh(&app.state).await.unwrap(), 1);
    let page = get(
        &browser,
        &app.directory_url(&format!("/listings/{first_id}")),
    )
    .await;
    assert!(
        page.body.contains("Monday 29 March 2027 at 10am"),
        "{}",
        page.body
    );

    // Hidden by the operator: gone from the directory, with its page.
    app.store
        .set_listing_hidden(
            app.practice,
            Some(&store::HiddenListing {
                reason: "Registration could not be confirmed.".into(),
                at: now,
                by: "Sam Operator".into(),
            }),
        )
        .await
        .unwrap();
    web::directory::refresh(&app.state).await.unwrap();
    get(
        &browser,
        &app.directory_url(&format!("/listings/{first_id}")),
    )
    .await
    .assert_status(StatusCode::NOT_FOUND);
    // The directory's host is no practice's: a practice route there is not found.
    get(&browser, &app.directory_url("/office"))
        .await
        .assert_status(StatusCode::NOT_FOUND);
}

/// A server that takes connections and never answers.
async fn silent_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    address
}

/// A slow way to `target`: each connection is held for `delay` before it is passed on.
async fn slow_proxy(target: &str, delay: std::time::Duration) -> String {
    let target = target
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let target = target.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                if let Ok(mut upstream) = tokio::net::TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut socket, &mut upstream).await;
                }
            });
        }
    });
    address
}

/// A server that answers every request with a redirect to another site.
async fn redirecting_server() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buffer = [0u8; 2048];
            let _ = socket.read(&mut buffer).await;
            let _ = socket
                .write_all(b"HTTP/1.1 301 Moved Permanently\r\nLocation: http://elsewhere.example/api/v1/listing\r\nContent-Length: 0\r\n\r\n")
                .await;
        }
    });
    address
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_hosted_practices_are_read_from_their_addresses_and_a_silent_one_drops_out() {
    use std::time::Duration;
    use web::directory::remote::fetch_due;
    let directory = TestApp::spawn_hosted().await;
    let alpha = TestApp::spawn().await;
    let mut beta = TestApp::spawn().await;
    // A third, real, that answers slowly (a second late, within the time allowed).
    let gamma = TestApp::spawn().await;
    for (app, help, id) in [
        (&alpha, "anxiety", "aaaaaaaa-0000-4000-8000-000000000001"),
        (&beta, "trauma", "bbbbbbbb-0000-4000-8000-000000000002"),
        (&gamma, "loss", "dddddddd-0000-4000-8000-000000000004"),
    ] {
        list(app, &[help], "integrative", id).await;
    }
    let silent = silent_server().await;
    let redirecting = redirecting_server().await;
    let slow = slow_proxy(&gamma.url(""), Duration::from_secs(1)).await;
    let now = directory.clock.now();
    for address in [
        alpha.url(""),
        beta.url(""),
        silent.clone(),
        redirecting.clone(),
        slow.clone(),
    ] {
        directory
            .store
            .add_remote(&address, "Sam Operator", now)
            .await
            .unwrap()
            .expect("added");
    }
    let timeout = Duration::from_secs(2);
    assert_eq!(fetch_due(&directory.state, timeout).await.unwrap(), 5);
    assert_eq!(
        fetch_due(&directory.state, timeout).await.unwrap(),
        0,
        "once per period"
    );
    let remotes = directory.store.remotes().await.unwrap();
    let by_address = |address: &str| {
        remotes
            .iter()
            .find(|r| r.address == address)
            .cloned()
            .expect("the remote")
    };
    assert_eq!(by_address(&alpha.url("")).heard_at, Some(now));
    assert!(
        by_address(&alpha.url("")).etag.is_some(),
        "its ETag is kept"
    );
    assert_eq!(by_address(&beta.url("")).heard_at, Some(now));
    let slow_row = by_address(&slow);
    assert_eq!(
        (slow_row.heard_at, slow_row.error),
        (Some(now), None),
        "slow but in time"
    );
    let silent_row = by_address(&silent);
    assert_eq!(silent_row.heard_at, None);
    assert!(
        silent_row
            .error
            .unwrap()
            .contains("did not answer within 2 seconds")
    );
    assert!(
        by_address(&redirecting).error.unwrap().contains("redirect"),
        "never followed"
    );

    web::directory::refresh(&directory.state).await.unwrap();
    let browser = directory.directory_browser();
    let search = |query: &str| {
        let url = directory.directory_url(&format!("/{query}"));
        let browser = browser.clone();
        async move { get(&browser, &url).await }
    };
    let soon = search("?within=28").await;
    assert!(
        soon.body
            .contains("/listings/aaaaaaaa-0000-4000-8000-000000000001")
    );
    assert!(
        soon.body
            .contains("/listings/bbbbbbbb-0000-4000-8000-000000000002")
    );
    assert!(
        search("?help=loss")
            .await
            .body
            .contains("/listings/dddddddd-0000-4000-8000-000000000004"),
        "the slow one is listed"
    );
    let trauma = search("?help=trauma").await;
    assert!(
        trauma
            .body
            .contains("/listings/bbbbbbbb-0000-4000-8000-000000000002")
    );
    assert!(
        !trauma
            .body
            .contains("/listings/aaaaaaaa-0000-4000-8000-000000000001")
    );

    // Ten minutes on: alpha has not changed (304), beta has gone away.
    beta.begin_shutdown().await.unwrap().unwrap();
    directory.advance_clock(jiff::SignedDuration::from_mins(10));
    fetch_due(&directory.state, timeout).await.unwrap();
    let remotes = directory.store.remotes().await.unwrap();
    let later = directory.clock.now();
    let alpha_row = remotes.iter().find(|r| r.address == alpha.url("")).unwrap();
    assert_eq!(
        (alpha_row.heard_at, alpha_row.error.as_deref()),
        (Some(later), None),
        "not modified is still heard"
    );
    let beta_row = remotes.iter().find(|r| r.address == beta.url("")).unwrap();
    assert_eq!(beta_row.heard_at, Some(now), "last heard before it went");
    assert!(
        beta_row
            .error
            .as_deref()
            .unwrap()
            .contains("could not be reached")
    );
    web::directory::refresh(&directory.state).await.unwrap();
    assert!(
        search("?within=28")
            .await
            .body
            .contains("/listings/bbbbbbbb-0000-4000-8000-000000000002"),
        "still counted for a while"
    );

    // A day after it was last heard, it leaves searches for a consultation soon, but its
    // listing stays, saying its free times are not known.
    directory.advance_clock(jiff::SignedDuration::from_hours(25));
    fetch_due(&directory.state, timeout).await.unwrap();
    web::directory::refresh(&directory.state).await.unwrap();
    let soon = search("?within=28").await;
    assert!(
        soon.body
            .contains("/listings/aaaaaaaa-0000-4000-8000-000000000001")
    );
    assert!(
        !soon
            .body
            .contains("/listings/bbbbbbbb-0000-4000-8000-000000000002")
    );
    let page = get(
        &browser,
        &directory.directory_url("/listings/bbbbbbbb-0000-4000-8000-000000000002"),
    )
    .await;
    page.assert_status(StatusCode::OK);
    assert!(page.body.contains("Free times not known just now"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listing_has_an_etag_and_answers_not_modified() {
    let app = TestApp::spawn().await;
    list(
        &app,
        &["loss"],
        "cbt",
        "cccccccc-0000-4000-8000-000000000003",
    )
    .await;
    let first = app.get("/api/v1/listing").await;
    let etag = first.header("etag").expect("an ETag").to_owned();
    let again = app
        .get_with("/api/v1/listing", &[("if-none-match", &etag)])
        .await;
    again.assert_status(StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    let other = app
        .get_with("/api/v1/listing", &[("if-none-match", "\"nope\"")])
        .await;
    other.assert_status(StatusCode::OK);
}

/// A listed hosted practice's portrait shows on its listing page, served by the directory's
/// own host from the shared database; nothing else of the practice's photos is reachable
/// there, and a portrait removed is gone from the listing at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listed_practices_portrait_is_shown_from_the_directorys_own_host() {
    use images::testing::{HOME, phone_jpeg, picture};
    use store::ImageRole;

    let app = TestApp::spawn_hosted().await;
    let id = list(
        &app,
        &["anxiety"],
        "psychodynamic",
        "33333333-3333-4333-8333-333333333333",
    )
    .await;
    let mut keys = Vec::new();
    for (role, width) in [
        (ImageRole::Portrait, 900),
        (
            ImageRole::Room(domain::Slug::parse("balham").unwrap()),
            1000,
        ),
    ] {
        let processed = images::process(&phone_jpeg(&picture(width, 1100), &HOME)).unwrap();
        keys.push(processed.key.clone());
        let image = web::new_image(role, "Alex Morgan, smiling".into(), processed);
        app.store
            .save_image(app.practice, &image, app.clock.now())
            .await
            .unwrap();
    }
    web::directory::refresh(&app.state).await.expect("refresh");
    let browser = app.directory_browser();
    let page = get(&browser, &app.directory_url(&format!("/listings/{id}"))).await;
    page.assert_status(StatusCode::OK);
    let portrait = format!("/listings/{id}/portrait/{}-320.jpg", keys[0]);
    assert!(page.body.contains("<picture>"), "{}", page.body);
    assert!(page.body.contains(&portrait), "{}", page.body);
    assert!(page.decoded().contains(r#"alt="Alex Morgan, smiling""#));
    let served = browser
        .get(app.directory_url(&portrait))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.headers()["content-type"], "image/jpeg");
    assert!(served.bytes().await.unwrap().starts_with(&[0xff, 0xd8]));
    let webp = format!("/listings/{id}/portrait/{}-640.webp", keys[0]);
    get(&browser, &app.directory_url(&webp))
        .await
        .assert_status(StatusCode::OK);
    // A room photo, another listing's address, a made-up name: not found.
    for path in [
        format!("/listings/{id}/portrait/{}-320.jpg", keys[1]),
        format!(
            "/listings/44444444-4444-4444-8444-444444444444/portrait/{}-320.jpg",
            keys[0]
        ),
        format!("/listings/{id}/portrait/../../media/{}-320.jpg", keys[0]),
    ] {
        get(&browser, &app.directory_url(&path))
            .await
            .assert_status(StatusCode::NOT_FOUND);
    }
    // Removed: gone from the page and its address.
    app.store
        .delete_image(app.practice, &keys[0])
        .await
        .unwrap();
    let page = get(&browser, &app.directory_url(&format!("/listings/{id}"))).await;
    assert!(!page.body.contains("<picture>"));
    get(&browser, &app.directory_url(&portrait))
        .await
        .assert_status(StatusCode::NOT_FOUND);
}

/// A self-hosted practice's portrait: named in its listing, copied by the directory (and
/// made again, like an upload), shown from the directory's own host; a new portrait is
/// copied when the listing names it, and one taken down leaves the directory too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_hosted_practices_portrait_is_copied_and_shown_from_the_directorys_own_host() {
    use images::testing::{HOME, phone_jpeg, picture};
    use std::time::Duration;
    use store::ImageRole;
    use web::directory::remote::fetch_due;

    let directory = TestApp::spawn_hosted().await;
    let alpha = TestApp::spawn().await;
    let id = "eeeeeeee-0000-4000-8000-000000000005";
    list(&alpha, &["anxiety"], "psychodynamic", id).await;
    let save_portrait = |width: u32, alt: &'static str| {
        let store = alpha.store.clone();
        let (practice, now) = (alpha.practice, alpha.clock.now());
        async move {
            let processed = images::process(&phone_jpeg(&picture(width, 1100), &HOME)).unwrap();
            let key = processed.key.clone();
            let image = web::new_image(ImageRole::Portrait, alt.into(), processed);
            store.save_image(practice, &image, now).await.unwrap();
            key
        }
    };
    let first_key = save_portrait(900, "Alex Morgan, smiling").await;

    // The practice's listing names its portrait on its own site.
    let document: Value = serde_json::from_str(
        &get(&reqwest::Client::new(), &alpha.url("/api/v1/listing"))
            .await
            .body,
    )
    .unwrap();
    let named = &document["listing"]["portrait"];
    assert!(
        named["url"]
            .as_str()
            .unwrap()
            .starts_with(&alpha.url(&format!("/media/{first_key}-"))),
        "{named}"
    );
    assert_eq!(named["alt"], "Alex Morgan, smiling");

    let (operator, _) = crate::operator::signed_in_operator(&directory).await;
    let remote = directory
        .store
        .add_remote(&alpha.url(""), "Sam Operator", directory.clock.now())
        .await
        .unwrap()
        .unwrap();
    let timeout = Duration::from_secs(5);
    fetch_due(&directory.state, timeout).await.unwrap();
    web::directory::refresh(&directory.state).await.unwrap();
    let finder = directory.directory_browser();
    let listing_url = directory.directory_url(&format!("/listings/{id}"));
    let prefix = format!("/listings/{id}/portrait/");
    let page = get(&finder, &listing_url).await;
    page.assert_status(StatusCode::OK);
    assert!(page.body.contains("<picture>"), "{}", page.body);
    assert!(page.decoded().contains(r#"alt="Alex Morgan, smiling""#));
    assert!(
        !page.body.contains(&alpha.url("/media/")),
        "nothing is loaded from the practice's own site"
    );
    let first = addresses_under(&page.body, &prefix);
    assert!(first.len() >= 4, "{first:?}");
    for address in &first {
        let served = finder
            .get(directory.directory_url(address))
            .send()
            .await
            .unwrap();
        assert_eq!(served.status(), StatusCode::OK, "{address}");
        let kind = served.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(kind == "image/jpeg" || kind == "image/webp", "{kind}");
        assert!(!served.bytes().await.unwrap().is_empty());
    }
    let console = get(
        &operator,
        &directory.operator_url(&format!("/directory/remotes/{remote}")),
    )
    .await;
    assert!(
        console
            .decoded()
            .contains("shown on its listing, described as “Alex Morgan, smiling”"),
        "{}",
        console.body
    );

    // Ten minutes on, nothing changed: it is not read again.
    directory.advance_clock(jiff::SignedDuration::from_mins(10));
    let before = directory
        .store
        .remote_portrait(remote)
        .await
        .unwrap()
        .unwrap();
    fetch_due(&directory.state, timeout).await.unwrap();
    assert_eq!(
        directory
            .store
            .remote_portrait(remote)
            .await
            .unwrap()
            .unwrap()
            .read_at,
        before.read_at
    );

    // A new portrait: copied at the next reading, the old one's addresses gone.
    alpha
        .store
        .delete_image(alpha.practice, &first_key)
        .await
        .unwrap();
    let second_key = save_portrait(1000, "Alex Morgan by a window").await;
    directory.advance_clock(jiff::SignedDuration::from_mins(10));
    fetch_due(&directory.state, timeout).await.unwrap();
    web::directory::refresh(&directory.state).await.unwrap();
    let page = get(&finder, &listing_url).await;
    assert!(page.decoded().contains(r#"alt="Alex Morgan by a window""#));
    let second = addresses_under(&page.body, &prefix);
    assert!(!second.is_empty() && second != first, "{second:?}");
    for address in &first {
        get(&finder, &directory.directory_url(address))
            .await
            .assert_status(StatusCode::NOT_FOUND);
    }

    // Taken down on the practice's site: gone from the directory at the next reading.
    alpha
        .store
        .delete_image(alpha.practice, &second_key)
        .await
        .unwrap();
    directory.advance_clock(jiff::SignedDuration::from_mins(10));
    fetch_due(&directory.state, timeout).await.unwrap();
    web::directory::refresh(&directory.state).await.unwrap();
    let page = get(&finder, &listing_url).await;
    page.assert_status(StatusCode::OK);
    assert!(!page.body.contains("<picture>"));
    assert_eq!(directory.store.remote_portrait(remote).await.unwrap(), None);
    for address in &second {
        get(&finder, &directory.directory_url(address))
            .await
            .assert_status(StatusCode::NOT_FOUND);
    }
}

/// A practice's site as a stand-in: answers each path with what `answers` holds for it
/// now (404 otherwise), and writes down every path asked for.
async fn stand_in_site(
    answers: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, Vec<u8>>>>,
    asked: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (answers, asked) = (answers.clone(), asked.clone());
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 2048];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&request);
                let path = text.split(' ').nth(1).unwrap_or("").to_owned();
                asked.lock().unwrap().push(path.clone());
                let body = answers.lock().unwrap().get(&path).cloned();
                let head = match &body {
                    Some(body) => format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    ),
                    None => {
                        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .to_owned()
                    }
                };
                let _ = socket.write_all(head.as_bytes()).await;
                if let Some(body) = body {
                    let _ = socket.write_all(&body).await;
                }
            });
        }
    });
    address
}

/// A portrait named by a practice running anything at all: a GPS-tagged original is made
/// again with nothing but its pixels; a file that is not a photo, one too large, or one on
/// another site is refused with the reason shown to the operator, and the listing stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_hosted_portrait_is_cleaned_and_a_bad_one_refused_with_the_reason() {
    use images::testing::{HOME, contains, phone_jpeg, picture, telltales};
    use std::{
        collections::HashMap,
        sync::{Arc, Mutex},
        time::Duration,
    };
    use web::directory::remote::fetch_due;

    let directory = TestApp::spawn_hosted().await;
    let answers = Arc::new(Mutex::new(HashMap::new()));
    let asked = Arc::new(Mutex::new(Vec::new()));
    let site = stand_in_site(answers.clone(), asked.clone()).await;
    let id = "ffffffff-0000-4000-8000-000000000006";
    let document_described = |portrait: &str, alt: &str| {
        serde_json::to_vec(&serde_json::json!({
            "format": "anteroom-listing/1",
            "listing": {
                "id": id, "name": "Harbour Counselling", "therapist": "Jo Bell",
                "title": "Counsellor", "summary": "Counselling for adults.",
                "url": site, "booking_url": null,
                "help_with": ["anxiety"], "approaches": ["integrative"], "ways": [],
                "languages": ["English"], "identity": "", "rooms": [], "online": true,
                "consultation_fee_pence": null, "session_fee_pence": null,
                "concessions": null, "registration": null, "accepting": true,
                "portrait": {
                    "url": portrait, "alt": alt, "width": 640, "height": 800
                }
            },
            "free_consultations": { "in_person": [], "online": [] }
        }))
        .unwrap()
    };
    let document = |portrait: &str| document_described(portrait, "Jo Bell at her desk");
    let original = phone_jpeg(&picture(1200, 1500), &HOME);
    for needle in [&b"Exif"[..], b"GPS", &HOME.latitude[2].to_be_bytes()] {
        assert!(
            contains(&original, needle),
            "the original tells where it was taken"
        );
    }
    {
        let mut answers = answers.lock().unwrap();
        answers.insert(
            "/api/v1/listing".to_owned(),
            document(&format!("{site}/media/original.jpg")),
        );
        answers.insert("/media/original.jpg".to_owned(), original);
        answers.insert("/media/notes.jpg".to_owned(), b"Dear diary".to_vec());
        answers.insert("/media/huge.jpg".to_owned(), vec![0xff; 3 * 1024 * 1024]);
        // Under 2 MB, but more pixels than a portrait needs (4.8 million).
        answers.insert(
            "/media/vast.jpg".to_owned(),
            phone_jpeg(&picture(2400, 2000), &HOME),
        );
    }
    let remote = directory
        .store
        .add_remote(&site, "Sam Operator", directory.clock.now())
        .await
        .unwrap()
        .unwrap();
    let timeout = Duration::from_secs(5);
    let read_again = || async {
        directory.advance_clock(jiff::SignedDuration::from_mins(10));
        fetch_due(&directory.state, timeout).await.unwrap();
        web::directory::refresh(&directory.state).await.unwrap();
    };
    fetch_due(&directory.state, timeout).await.unwrap();
    web::directory::refresh(&directory.state).await.unwrap();
    let finder = directory.directory_browser();
    let listing_url = directory.directory_url(&format!("/listings/{id}"));
    let prefix = format!("/listings/{id}/portrait/");
    let page = get(&finder, &listing_url).await;
    let copies = addresses_under(&page.body, &prefix);
    assert!(copies.len() >= 4, "{}", page.body);
    for address in &copies {
        let bytes = finder
            .get(directory.directory_url(address))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert!(bytes.len() > 100, "{address}");
        for needle in telltales() {
            assert!(
                !contains(&bytes, &needle),
                "{address} carries {:?}",
                String::from_utf8_lossy(&needle)
            );
        }
    }

    let (operator, _) = crate::operator::signed_in_operator(&directory).await;
    let console_url = directory.operator_url(&format!("/directory/remotes/{remote}"));
    for (path, why) in [
        (
            "/media/notes.jpg",
            "refused: the file must be a JPEG, PNG or WebP photo",
        ),
        ("/media/huge.jpg", "larger than 2048 KB"),
        (
            "/media/vast.jpg",
            "5 megapixels, more than the 4 taken here",
        ),
        (
            "/media/missing.jpg",
            "Its portrait could not be read: It answered 404",
        ),
    ] {
        answers.lock().unwrap().insert(
            "/api/v1/listing".to_owned(),
            document(&format!("{site}{path}")),
        );
        read_again().await;
        let kept = directory
            .store
            .remote_portrait(remote)
            .await
            .unwrap()
            .unwrap();
        let error = kept.image.unwrap_err();
        assert!(error.contains(why), "{path}: {error}");
        let page = get(&finder, &listing_url).await;
        page.assert_status(StatusCode::OK);
        assert!(
            page.body.contains("Harbour Counselling"),
            "the listing stays"
        );
        assert!(!page.body.contains("<picture>"), "{path}");
        let console = get(&operator, &console_url).await;
        assert!(console.decoded().contains(why), "{path}: {}", console.body);
    }
    for address in &copies {
        get(&finder, &directory.directory_url(address))
            .await
            .assert_status(StatusCode::NOT_FOUND);
    }

    // A portrait that could not be read is not asked for again at every reading, but after
    // six hours it is.
    let times_asked = |path: &str| asked.lock().unwrap().iter().filter(|p| *p == path).count();
    assert_eq!(times_asked("/media/missing.jpg"), 1);
    read_again().await;
    assert_eq!(times_asked("/media/missing.jpg"), 1);
    directory.advance_clock(jiff::SignedDuration::from_hours(6));
    read_again().await;
    assert_eq!(times_asked("/media/missing.jpg"), 2);

    // Another port of the same host: the listing stays, without the portrait, saying why.
    let other_port = format!("{}:9/media/original.jpg", site.rsplit_once(':').unwrap().0);
    answers
        .lock()
        .unwrap()
        .insert("/api/v1/listing".to_owned(), document(&other_port));
    read_again().await;
    let row = directory.store.remote(remote).await.unwrap().unwrap();
    assert_eq!(row.error, None, "the listing itself is read");
    let kept = directory
        .store
        .remote_portrait(remote)
        .await
        .unwrap()
        .unwrap();
    assert!(
        kept.image
            .unwrap_err()
            .contains(&format!("Its portrait is not at {site}")),
        "{other_port}"
    );

    // The same portrait described again: its new words, without reading the photo again.
    let original_url = format!("{site}/media/original.jpg");
    answers
        .lock()
        .unwrap()
        .insert("/api/v1/listing".to_owned(), document(&original_url));
    read_again().await;
    assert_eq!(times_asked("/media/original.jpg"), 2, "copied again");
    answers.lock().unwrap().insert(
        "/api/v1/listing".to_owned(),
        document_described(&original_url, "Jo Bell by the bookcase"),
    );
    read_again().await;
    assert_eq!(times_asked("/media/original.jpg"), 2, "not read again");
    let page = get(&finder, &listing_url).await;
    assert!(page.decoded().contains(r#"alt="Jo Bell by the bookcase""#));

    // A portrait on another site: the listing is refused as a whole (the last good one
    // stays, portrait and all), and the other site is never asked.
    answers.lock().unwrap().insert(
        "/api/v1/listing".to_owned(),
        document("http://elsewhere.example/media/x.jpg"),
    );
    read_again().await;
    let row = directory.store.remote(remote).await.unwrap().unwrap();
    assert!(
        row.error
            .as_deref()
            .unwrap_or("")
            .contains("portrait is not a plain address"),
        "{:?}",
        row.error
    );
    let page = get(&finder, &listing_url).await;
    page.assert_status(StatusCode::OK);
    assert!(page.decoded().contains(r#"alt="Jo Bell by the bookcase""#));
    let asked = asked.lock().unwrap().clone();
    assert!(
        asked
            .iter()
            .all(|p| p == "/api/v1/listing" || p.starts_with("/media/")),
        "{asked:?}"
    );
    assert!(!asked.iter().any(|p| p.contains("elsewhere")), "{asked:?}");
}
