//! The operator console (hosted mode, issue 12): sign-in with a password and an app, the
//! practices with counts and never client data, creating a practice and inviting its
//! therapist by a one-time link, suspending and resuming, domains, the export, closing, and
//! the console kept apart from the practices' hosts.

use domain::{EmailAddress, PersonName};
use reqwest::StatusCode;
use store::{NewUser, PracticeId};
use web::second_factor::TotpSecret;

use crate::helpers::{HOSTED_NAMES, Reply, STAFF_PASSWORD, TestApp, password_hash};

const OPERATOR_EMAIL: &str = "ops@host.example";
/// A client's name seeded into the practice: no console page may show it.
const CLIENT_CANARY: &str = "Quentin Canary-Operator";

async fn get(browser: &reqwest::Client, url: &str) -> Reply {
    Reply::read(browser.get(url).send().await.expect("GET")).await
}

async fn post(browser: &reqwest::Client, url: &str, form: &[(&str, &str)]) -> Reply {
    Reply::read(browser.post(url).form(form).send().await.expect("POST")).await
}

/// The text between `start` and the next `end` in `body`.
fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let from = body
        .find(start)
        .unwrap_or_else(|| panic!("{start} in {body}"))
        + start.len();
    let to = body[from..].find(end).expect("the end") + from;
    &body[from..to]
}

/// An operator account, and a browser signed in to the console as it (the app set up on
/// the way); the app's secret, for later codes.
pub(crate) async fn signed_in_operator(app: &TestApp) -> (reqwest::Client, TotpSecret) {
    app.store
        .create_operator(
            &NewUser {
                email: EmailAddress::parse(OPERATOR_EMAIL).unwrap(),
                name: PersonName::parse("Sam Operator").unwrap(),
                password_hash: password_hash().to_owned(),
            },
            app.clock.now(),
        )
        .await
        .expect("add the operator");
    let browser = app.operator_browser(&[]);
    let first = get(&browser, &app.operator_url("/")).await;
    assert_eq!(
        first.location(),
        Some("/sign-in"),
        "the console needs a sign-in"
    );
    let wrong = post(
        &browser,
        &app.operator_url("/sign-in"),
        &[
            ("email", OPERATOR_EMAIL),
            ("password", "not the password at all"),
        ],
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let right = post(
        &browser,
        &app.operator_url("/sign-in"),
        &[("email", OPERATOR_EMAIL), ("password", STAFF_PASSWORD)],
    )
    .await;
    assert_eq!(right.location(), Some("/sign-in/set-up"));
    // The password alone opens nothing.
    let early = get(&browser, &app.operator_url("/")).await;
    assert_eq!(early.location(), Some("/sign-in/set-up"));
    let set_up = get(&browser, &app.operator_url("/sign-in/set-up")).await;
    assert_eq!(set_up.status, StatusCode::OK);
    let key = between(&set_up.body, "<code class=\"secret-key\">", "</code>");
    let secret = TotpSecret::from_base32(key).expect("the key on the page");
    let refused = post(
        &browser,
        &app.operator_url("/sign-in/set-up"),
        &[("code", "000000")],
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let done = post(
        &browser,
        &app.operator_url("/sign-in/set-up"),
        &[("code", &secret.code_at(app.clock.now()))],
    )
    .await;
    assert_eq!(done.location(), Some("/"), "{}", done.body);
    (browser, secret)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_signs_in_with_a_password_and_an_app_every_time() {
    let app = TestApp::spawn_hosted().await;
    let (browser, secret) = signed_in_operator(&app).await;
    let list = get(&browser, &app.operator_url("/")).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        list.body.contains("Larchwood Psychotherapy"),
        "{}",
        list.body
    );

    // Signed out, the next sign-in asks for a code, and a code used already is refused.
    let out = post(&browser, &app.operator_url("/sign-out"), &[]).await;
    assert_eq!(out.location(), Some("/sign-in"));
    assert_eq!(
        get(&browser, &app.operator_url("/")).await.location(),
        Some("/sign-in")
    );
    let password = post(
        &browser,
        &app.operator_url("/sign-in"),
        &[("email", OPERATOR_EMAIL), ("password", STAFF_PASSWORD)],
    )
    .await;
    assert_eq!(password.location(), Some("/sign-in/code"));
    let reused = post(
        &browser,
        &app.operator_url("/sign-in/code"),
        &[("code", &secret.code_at(app.clock.now()))],
    )
    .await;
    assert_eq!(
        reused.status,
        StatusCode::UNAUTHORIZED,
        "the set-up's code works once"
    );
    app.advance_clock(jiff::SignedDuration::from_secs(30));
    let code = post(
        &browser,
        &app.operator_url("/sign-in/code"),
        &[("code", &secret.code_at(app.clock.now()))],
    )
    .await;
    assert_eq!(code.location(), Some("/"));
    assert_eq!(
        get(&browser, &app.operator_url("/")).await.status,
        StatusCode::OK
    );

    // Wrong codes are limited per account: the sixth is refused whatever it is.
    let again = app.operator_browser(&[]);
    post(
        &again,
        &app.operator_url("/sign-in"),
        &[("email", OPERATOR_EMAIL), ("password", STAFF_PASSWORD)],
    )
    .await;
    for _ in 0..5 {
        let wrong = post(
            &again,
            &app.operator_url("/sign-in/code"),
            &[("code", "000000")],
        )
        .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    }
    app.advance_clock(jiff::SignedDuration::from_secs(30));
    let held = post(
        &again,
        &app.operator_url("/sign-in/code"),
        &[("code", &secret.code_at(app.clock.now()))],
    )
    .await;
    assert_eq!(held.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_and_the_practices_answer_on_their_own_hosts_only() {
    let app = TestApp::spawn_hosted().await;
    let (browser, _) = signed_in_operator(&app).await;
    // The console's pages are not on a practice's host, and a practice's are not on the
    // console's.
    let on_practice = get(
        &browser,
        &format!("{}/practices/{}", app.base, app.practice),
    )
    .await;
    assert_eq!(on_practice.status, StatusCode::NOT_FOUND);
    let sign_in_there = get(&browser, &format!("{}/sign-in", app.base)).await;
    assert_eq!(sign_in_there.status, StatusCode::NOT_FOUND);
    for path in ["/office", "/office/sign-in", "/portal/sign-in", "/about"] {
        let reply = get(&browser, &app.operator_url(path)).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path} on the console");
        assert!(
            !reply.body.contains("Larchwood"),
            "{path} names no practice"
        );
    }
    // A form posted from another site is refused.
    let forged = Reply::read(
        browser
            .post(app.operator_url(&format!("/practices/{}/suspend", app.practice)))
            .header("origin", "http://evil.example")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(
        app.store.host_directory().await.unwrap()[0]
            .suspended_at
            .is_none()
    );
    // Every console page is private.
    let list = get(&browser, &app.operator_url("/")).await;
    assert_eq!(list.header("cache-control"), Some("no-store"));
    assert_eq!(list.header("x-robots-tag"), Some("noindex"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_shows_counts_and_never_a_client() {
    let app = TestApp::spawn_hosted().await;
    crate::portal::add_client(&app, CLIENT_CANARY, "quentin@example.com").await;
    let (browser, _) = signed_in_operator(&app).await;
    let list = get(&browser, &app.operator_url("/")).await;
    let practice = get(
        &browser,
        &app.operator_url(&format!("/practices/{}", app.practice)),
    )
    .await;
    let export = get(
        &browser,
        &app.operator_url(&format!("/practices/{}/export", app.practice)),
    )
    .await;
    let close = get(
        &browser,
        &app.operator_url(&format!("/practices/{}/close", app.practice)),
    )
    .await;
    for page in [&list, &practice, &export, &close] {
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.body.contains("Quentin"), "{}", page.body);
        assert!(!page.body.contains("quentin@"), "{}", page.body);
    }
    assert!(
        practice.body.contains("1 client record"),
        "{}",
        practice.body
    );
    assert!(practice.body.contains(crate::helpers::STAFF_EMAIL));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_practice_invites_its_therapist_by_a_link_that_works_once() {
    let app = TestApp::spawn_hosted().await;
    let (browser, _) = signed_in_operator(&app).await;
    // Mistakes are shown at their fields, and nothing is made.
    let bad = post(
        &browser,
        &app.operator_url("/practices/new"),
        &[
            ("title", ""),
            ("name", "Not A Name!"),
            ("therapist", "Robin Hart"),
            ("email", "robin"),
        ],
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body.contains("Enter the practice&#x27;s name")
            || bad.body.contains("Enter the practice's name"),
        "{}",
        bad.body
    );
    let taken = post(
        &browser,
        &app.operator_url("/practices/new"),
        &[
            ("title", "Hart Counselling"),
            ("name", HOSTED_NAMES[0]),
            ("therapist", "Robin Hart"),
            ("email", "robin@hart.example"),
        ],
    )
    .await;
    assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(taken.body.contains("another practice"), "{}", taken.body);
    assert_eq!(app.store.hosted_practices().await.unwrap().len(), 1);

    let made = post(
        &browser,
        &app.operator_url("/practices/new"),
        &[
            ("title", "Hart Counselling"),
            ("name", "hart"),
            ("therapist", "Robin Hart"),
            ("email", "robin@hart.example"),
        ],
    )
    .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let practices = app.store.hosted_practices().await.unwrap();
    let hart = practices
        .iter()
        .find(|p| p.name == "Hart Counselling")
        .expect("the new practice");
    let shown = get(&browser, &app.operator_url(made.location().unwrap())).await;
    assert!(shown.body.contains("emailed a link"), "{}", shown.body);

    // The invitation waits in the new practice's outbox with its link sealed.
    let link = invitation_link(&app, hart.id).await;
    let port = app.addr().port();
    assert!(
        link.starts_with(&format!("http://hart.localhost:{port}/office/password/")),
        "{link}"
    );
    let therapist = app.operator_browser(&["hart"]);
    let form = get(&therapist, &link).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("robin@hart.example"));
    let short = post(
        &therapist,
        &link,
        &[("password", "short"), ("confirm", "short")],
    )
    .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    let new_password = "a lantern by the harbour wall";
    // Two uses at once: exactly one sets the password.
    let uses = (0..8).map(|_| {
        let therapist = therapist.clone();
        let link = link.clone();
        async move {
            post(
                &therapist,
                &link,
                &[("password", new_password), ("confirm", new_password)],
            )
            .await
            .status
        }
    });
    let statuses = futures_join_all(uses).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::NOT_FOUND)
    );
    assert_eq!(get(&therapist, &link).await.status, StatusCode::NOT_FOUND);
    // The therapist signs in to their own back office with it.
    let signed_in = post(
        &therapist,
        &format!("http://hart.localhost:{port}/office/sign-in"),
        &[("email", "robin@hart.example"), ("password", new_password)],
    )
    .await;
    assert_eq!(signed_in.location(), Some("/office"), "{}", signed_in.body);
    // And the practice's audit log says what its host did.
    let actions: Vec<_> = app
        .store
        .recent_audit(hart.id, 20)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        actions
            .iter()
            .any(|a| a == store::AuditAction::PasswordLinkSent.code())
    );
    assert!(
        actions
            .iter()
            .any(|a| a == store::AuditAction::PasswordSet.code())
    );
}

/// Run the futures together, in order.
async fn futures_join_all<F: std::future::Future<Output = StatusCode> + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<StatusCode> {
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

/// The link in the newest password email of `practice`, opened as the mail worker opens it.
async fn invitation_link(app: &TestApp, practice: PracticeId) -> String {
    let message = app
        .store
        .outbox(practice, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.kind == "staff_password_link")
        .expect("a password email");
    assert!(
        !message.body_text.contains("/office/password/"),
        "the link waits in the outbox sealed"
    );
    let sent = app
        .state
        .open_sealed(practice, &message.body_text)
        .await
        .expect("the link opens");
    let start = sent.find("http://").expect("a link");
    let end = sent[start..].find('\n').unwrap() + start;
    sent[start..end].to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn suspending_domains_and_links_from_the_console() {
    let app = TestApp::spawn_hosted().await;
    let (browser, _) = signed_in_operator(&app).await;
    let page = |path: &str| app.operator_url(&format!("/practices/{}{path}", app.practice));
    let suspended = post(&browser, &page("/suspend"), &[]).await;
    assert_eq!(suspended.status, StatusCode::SEE_OTHER);
    let site = app.get("/").await;
    assert_eq!(site.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(site.body.contains("This site is paused"));
    post(&browser, &page("/resume"), &[]).await;
    assert_eq!(app.get("/").await.status, StatusCode::OK);

    // A domain of its own; not one under the base domain, nor another practice's.
    let under = post(&browser, &page("/domains"), &[("domain", "x.localhost")]).await;
    assert_eq!(under.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad = post(&browser, &page("/domains"), &[("domain", "not a domain")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let added = post(&browser, &page("/domains"), &[("domain", "larchwood.test")]).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let direct = reqwest::Client::builder()
        .resolve("larchwood.test", app.addr())
        .build()
        .unwrap();
    let own = Reply::read(
        direct
            .get(format!("http://larchwood.test:{}/", app.addr().port()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(own.status, StatusCode::OK);
    assert!(own.body.contains("Larchwood Psychotherapy"));

    // A link to set a password, for one of this practice's accounts only.
    let staff = app
        .store
        .staff_accounts(app.practice, app.clock.now())
        .await
        .unwrap();
    let sent = post(
        &browser,
        &page(&format!("/staff/{}/link", staff[0].id)),
        &[],
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let second = app.second_practice().await;
    let theirs = app
        .store
        .staff_accounts(second.practice, app.clock.now())
        .await
        .unwrap();
    let across = post(
        &browser,
        &page(&format!("/staff/{}/link", theirs[0].id)),
        &[],
    )
    .await;
    assert_eq!(across.status, StatusCode::NOT_FOUND);
    let actions: Vec<_> = app
        .store
        .recent_audit(app.practice, 50)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for action in [
        store::AuditAction::HostSuspended,
        store::AuditAction::HostResumed,
        store::AuditAction::HostDomainAdded,
        store::AuditAction::PasswordLinkSent,
    ] {
        assert!(
            actions.iter().any(|a| a == action.code()),
            "{action:?} in {actions:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_from_the_console_opens_with_its_key_and_closing_needs_a_suspension() {
    let app = TestApp::spawn_hosted().await;
    crate::portal::add_client(&app, CLIENT_CANARY, "quentin@example.com").await;
    let (browser, _) = signed_in_operator(&app).await;
    let page = |path: &str| app.operator_url(&format!("/practices/{}{path}", app.practice));
    let export_page = get(&browser, &page("/export")).await;
    let key_text = between(&export_page.body, "name=\"key\" value=\"", "\"").to_owned();
    let file = browser
        .post(page("/export"))
        .form(&[("key", key_text.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), StatusCode::OK);
    assert!(
        file.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".anteroom-export")
    );
    let bytes = file.bytes().await.unwrap();
    assert!(
        !bytes.windows(7).any(|w| w == b"Quentin"),
        "the export is sealed"
    );
    let key = crypto::MasterKey::parse(&key_text, "the page").unwrap();
    let payload = web::export::open(&bytes, &key).expect("the export opens with its key");
    assert_eq!(payload.practice_name(), "Larchwood Psychotherapy");
    assert!(payload.rows() > 10);
    let other = crypto::MasterKey::generate();
    assert!(web::export::open(&bytes, &other).is_err());
    let key_file = Reply::read(
        browser
            .post(page("/export/key"))
            .form(&[("key", key_text.as_str())])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(key_file.body.trim(), key_text);

    // Closing: only a suspended practice, and only with its name typed.
    let active = post(&browser, &page("/close"), &[("confirm", HOSTED_NAMES[0])]).await;
    assert_eq!(active.status, StatusCode::CONFLICT);
    post(&browser, &page("/suspend"), &[]).await;
    let unconfirmed = post(&browser, &page("/close"), &[("confirm", "yes")]).await;
    assert_eq!(unconfirmed.status, StatusCode::UNPROCESSABLE_ENTITY);
    let closed = post(&browser, &page("/close"), &[("confirm", HOSTED_NAMES[0])]).await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.body);
    assert!(closed.body.contains("Backups made before now"));
    assert!(app.store.hosted_practices().await.unwrap().is_empty());
    assert_eq!(app.get("/").await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&browser, &page("")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_app_is_switched_off_from_the_console_and_its_sessions_end() {
    let app = TestApp::spawn_hosted().await;
    let staff = app
        .store
        .staff_accounts(app.practice, app.clock.now())
        .await
        .unwrap()[0]
        .clone();
    let therapist = app.sign_in().await;
    app.store
        .begin_authenticator(staff.id, b"sealed secret", b"session")
        .await
        .unwrap();
    app.store
        .enable_authenticator(
            staff.id,
            b"sealed secret",
            b"session",
            1,
            &[],
            app.clock.now(),
        )
        .await
        .unwrap();
    let (browser, _) = signed_in_operator(&app).await;
    let practice = get(
        &browser,
        &app.operator_url(&format!("/practices/{}", app.practice)),
    )
    .await;
    assert!(practice.body.contains("Switch off their authenticator app"));
    let off = post(
        &browser,
        &app.operator_url(&format!(
            "/practices/{}/staff/{}/second-factor",
            app.practice, staff.id
        )),
        &[],
    )
    .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    assert!(app.store.authenticator(staff.id).await.unwrap().is_none());
    let office = app.get_with_cookie("/office", &therapist).await;
    assert_eq!(
        office.location(),
        Some("/office/sign-in"),
        "their sessions ended"
    );
    let practice = get(
        &browser,
        &app.operator_url(&format!("/practices/{}", app.practice)),
    )
    .await;
    assert!(!practice.body.contains("Switch off their authenticator app"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_operator_checks_registrations_hides_listings_and_sees_first_places() {
    let app = TestApp::spawn_hosted().await;
    let settings =
        domain::directory::ListingSettings::parse(&domain::directory::RawListingSettings {
            listed: true,
            help_with: vec!["anxiety".into()],
            approaches: vec!["psychodynamic".into()],
            ways: vec!["brief".into()],
            body: "bacp".into(),
            number: "DEMO-777".into(),
            accepting: true,
            ..Default::default()
        })
        .unwrap();
    let id = app
        .store
        .save_listing_settings(
            app.practice,
            &settings,
            "44444444-4444-4444-8444-444444444444",
            app.clock.now(),
        )
        .await
        .unwrap()
        .id;
    web::directory::refresh(&app.state).await.unwrap();
    let (browser, _) = signed_in_operator(&app).await;
    let finder = app.directory_browser();
    let listing_url = app.directory_url(&format!("/listings/{id}"));
    let practice_page = app.operator_url(&format!("/practices/{}", app.practice.get()));
    let shown = get(&browser, &practice_page).await;
    assert!(shown.body.contains("DEMO-777"));
    assert!(
        shown
            .body
            .contains("https://www.bacp.co.uk/search/Register"),
        "the register's address"
    );
    assert!(
        get(&finder, &listing_url)
            .await
            .body
            .contains("has not checked it yet")
    );

    // A check needs a real date, not in the future.
    let check_url = format!("{practice_page}/directory/check");
    for bad in ["yesterday", "2030-01-01"] {
        let refused = post(&browser, &check_url, &[("checked_on", bad)]).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(
            refused.body.contains("Enter the date you checked it"),
            "{bad}"
        );
    }
    let checked = post(&browser, &check_url, &[("checked_on", "2027-03-24")]).await;
    assert_eq!(checked.status, StatusCode::SEE_OTHER);
    web::directory::refresh(&app.state).await.unwrap();
    assert!(
        get(&finder, &listing_url)
            .await
            .body
            .contains("has checked it on the public register")
    );
    assert!(
        get(&browser, &practice_page)
            .await
            .body
            .contains("checked on 24 March 2027")
    );

    // Hiding needs a reason; the therapist sees it; the listing leaves the directory.
    let hide_url = format!("{practice_page}/directory/hide");
    let refused = post(&browser, &hide_url, &[("reason", "  ")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let reason = "The registration number is not on the BACP register.";
    assert_eq!(
        post(&browser, &hide_url, &[("reason", reason)])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    web::directory::refresh(&app.state).await.unwrap();
    assert_eq!(
        get(&finder, &listing_url).await.status,
        StatusCode::NOT_FOUND
    );
    app.sign_in().await;
    let settings_page = app.office_get("/office/settings/directory").await;
    assert!(
        settings_page.body.contains(reason),
        "the therapist is told why"
    );
    assert_eq!(
        post(&browser, &format!("{practice_page}/directory/show"), &[])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    web::directory::refresh(&app.state).await.unwrap();
    assert_eq!(get(&finder, &listing_url).await.status, StatusCode::OK);

    let overview = get(&browser, &app.operator_url("/directory")).await;
    assert_eq!(overview.status, StatusCode::OK);
    assert!(overview.body.contains("Share of first places"));
    assert!(overview.body.contains("Checked"));
    let actions: Vec<_> = app
        .store
        .recent_audit(app.practice, 50)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for action in [
        store::AuditAction::HostDirectoryChecked,
        store::AuditAction::HostDirectoryHidden,
        store::AuditAction::HostDirectoryShown,
    ] {
        assert!(actions.iter().any(|a| a == action.code()), "{action:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_operator_checks_and_hides_a_self_hosted_listing() {
    use web::directory::remote::fetch_due;
    let directory = TestApp::spawn_hosted().await;
    let alpha = TestApp::spawn().await;
    let listed = |number: &str| {
        domain::directory::ListingSettings::parse(&domain::directory::RawListingSettings {
            listed: true,
            help_with: vec!["loss".into()],
            approaches: vec!["integrative".into()],
            ways: vec!["open-ended".into()],
            body: "ukcp".into(),
            number: number.into(),
            accepting: true,
            ..Default::default()
        })
        .unwrap()
    };
    let id = "cccccccc-0000-4000-8000-000000000003";
    alpha
        .store
        .save_listing_settings(alpha.practice, &listed("UK-1001"), id, alpha.clock.now())
        .await
        .unwrap();
    let (browser, _) = signed_in_operator(&directory).await;
    let added = post(
        &browser,
        &directory.operator_url("/directory/remotes"),
        &[("address", &alpha.url(""))],
    )
    .await;
    assert_eq!(added.location(), Some("/directory?done=added"));
    let timeout = std::time::Duration::from_secs(2);
    fetch_due(&directory.state, timeout).await.unwrap();
    web::directory::refresh(&directory.state).await.unwrap();
    let remote = directory.store.remotes().await.unwrap()[0].id;
    let page_url = directory.operator_url(&format!("/directory/remotes/{remote}"));
    let finder = directory.directory_browser();
    let listing_url = directory.directory_url(&format!("/listings/{id}"));

    // The overview links to it; its page shows the registration and where to look it up.
    let overview = get(&browser, &directory.operator_url("/directory")).await;
    assert!(
        overview
            .body
            .contains(&format!("href=\"/directory/remotes/{remote}\""))
    );
    let title = between(&overview.body, "<title>", "</title>");
    assert!(
        !title.contains("Self-hosted"),
        "the section is on the page: {title}"
    );
    let page = get(&browser, &page_url).await;
    page.assert_status(StatusCode::OK);
    assert!(page.body.contains("UK-1001"));
    assert!(page.body.contains("the UKCP register"));
    assert!(
        get(&finder, &listing_url)
            .await
            .body
            .contains("has not checked it yet")
    );

    // The check: a real date, then the directory says so at once.
    let check_url = format!("{page_url}/check");
    let refused = post(&browser, &check_url, &[("checked_on", "soon")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("Enter the date you checked it"));
    assert!(refused.body.contains("<title>Error: "));
    let checked = post(&browser, &check_url, &[("checked_on", "2027-03-24")]).await;
    assert_eq!(
        checked.location(),
        Some(format!("/directory/remotes/{remote}?done=checked").as_str())
    );
    assert!(
        get(&finder, &listing_url)
            .await
            .body
            .contains("has checked it on the public register")
    );
    assert!(
        get(&browser, &page_url)
            .await
            .body
            .contains("checked on 24 March 2027")
    );

    // The practice changes its number: the check no longer counts until made again.
    alpha
        .store
        .save_listing_settings(alpha.practice, &listed("UK-2002"), id, alpha.clock.now())
        .await
        .unwrap();
    directory.advance_clock(jiff::SignedDuration::from_mins(10));
    fetch_due(&directory.state, timeout).await.unwrap();
    web::directory::refresh(&directory.state).await.unwrap();
    assert!(
        get(&finder, &listing_url)
            .await
            .body
            .contains("has not checked it yet")
    );
    assert!(get(&browser, &page_url).await.body.contains("check again"));

    // Hidden with a reason: out of the directory, still read, and back when shown.
    let hide_url = format!("{page_url}/hide");
    let refused = post(&browser, &hide_url, &[("reason", " ")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let reason = "The number given is not on the UKCP register.";
    let hidden = post(&browser, &hide_url, &[("reason", reason)]).await;
    assert_eq!(hidden.status, StatusCode::SEE_OTHER);
    assert_eq!(
        get(&finder, &listing_url).await.status,
        StatusCode::NOT_FOUND
    );
    let page = get(&browser, &page_url).await;
    assert!(page.body.contains(reason));
    assert!(page.body.contains("by Sam Operator"));
    assert!(
        get(&browser, &directory.operator_url("/directory"))
            .await
            .body
            .contains("(hidden)")
    );
    let shown = post(&browser, &format!("{page_url}/show"), &[]).await;
    assert_eq!(shown.status, StatusCode::SEE_OTHER);
    assert_eq!(get(&finder, &listing_url).await.status, StatusCode::OK);
    let withdrawn = post(&browser, &format!("{page_url}/uncheck"), &[]).await;
    assert_eq!(withdrawn.status, StatusCode::SEE_OTHER);
    assert_eq!(
        directory
            .store
            .remote(remote)
            .await
            .unwrap()
            .unwrap()
            .review
            .checked,
        None
    );

    // Only remotes that are there, and only for the operator.
    for missing in ["/directory/remotes/999999", "/directory/remotes/nope"] {
        get(&browser, &directory.operator_url(missing))
            .await
            .assert_status(StatusCode::NOT_FOUND);
    }
    let missing = post(
        &browser,
        &directory.operator_url("/directory/remotes/999999/hide"),
        &[("reason", reason)],
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let stranger = directory.operator_browser(&[]);
    assert_eq!(get(&stranger, &page_url).await.location(), Some("/sign-in"));
    let sneaky = post(&stranger, &hide_url, &[("reason", reason)]).await;
    assert_eq!(sneaky.location(), Some("/sign-in"));
    assert_eq!(
        directory
            .store
            .remote(remote)
            .await
            .unwrap()
            .unwrap()
            .review
            .hidden,
        None,
        "nothing done"
    );
}
