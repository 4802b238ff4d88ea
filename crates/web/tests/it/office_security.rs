//! The staff second factor (authenticator apps, recovery codes), the owner's sign-in rules
//! and the sessions they shape (SECURITY.md R2, R3, R10).

use jiff::SignedDuration;
use reqwest::StatusCode;
use web::second_factor::TotpSecret;

use crate::helpers::{Reply, STAFF_EMAIL, STAFF_PASSWORD, TestApp};

const COLLEAGUE: &str = "colleague@example.com";
const STEP: SignedDuration = SignedDuration::from_secs(30);

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} not on the page:\n{text}"))
        + start.len();
    let to = text[from..].find(end).expect("the end marker") + from;
    &text[from..to]
}

/// The secret as the set-up page shows it for typing by hand.
fn secret_on(page: &Reply) -> TotpSecret {
    let key = between(&page.body, r#"<code class="secret-key">"#, "</code>");
    assert_eq!(key.len(), 39, "eight groups of four: {key:?}");
    TotpSecret::from_base32(key).expect("the key on the page is base32")
}

fn recovery_codes_on(page: &Reply) -> Vec<String> {
    let list = between(&page.body, r#"<ol class="recovery-codes">"#, "</ol>");
    list.split("<code>")
        .skip(1)
        .map(|c| c.split("</code>").next().unwrap_or_default().to_owned())
        .collect()
}

/// A six-digit code that is right for none of the steps around now.
fn wrong_code(app: &TestApp, secret: &TotpSecret) -> String {
    let now = app.clock.now();
    let near: Vec<String> = [now - STEP, now, now + STEP]
        .iter()
        .map(|at| secret.code_at(*at))
        .collect();
    (0..)
        .map(|n: u32| format!("{:06}", (n * 7919) % 1_000_000))
        .find(|c| !near.contains(c))
        .expect("a wrong code")
}

/// RFC 4648 base32 (no padding) decoded, written out here so the check does not lean on the
/// code under test.
fn base32_bytes(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits: u64 = 0;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        let value = ALPHABET
            .iter()
            .position(|a| *a == c)
            .expect("base32 letter") as u64;
        bits = (bits << 5) | value;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

async fn sign_in_as(app: &TestApp, email: &str) -> Reply {
    app.sign_in_with(email, STAFF_PASSWORD).await
}

/// Set up an app for the account signed in with `cookie`: its secret and recovery codes.
async fn set_up_app(app: &TestApp, cookie: &str) -> (TotpSecret, Vec<String>) {
    let form = app
        .get_with_cookie("/office/settings/security/set-up", cookie)
        .await;
    form.assert_status(StatusCode::OK);
    let secret = secret_on(&form);
    let code = secret.code_at(app.clock.now());
    let done = app
        .post_with_cookie(
            "/office/settings/security/set-up",
            cookie,
            &[("code", &code)],
        )
        .await;
    done.assert_status(StatusCode::OK);
    let codes = recovery_codes_on(&done);
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

/// The owner, signed in, with an app set up; the clock moved on a step so that the code used
/// at set-up is not the current one. Returns the secret and recovery codes.
async fn owner_with_app(app: &TestApp) -> (TotpSecret, Vec<String>) {
    let cookie = app.sign_in().await;
    let made = set_up_app(app, &cookie).await;
    app.post_with_cookie("/office/sign-out", &cookie, &[])
        .await
        .assert_redirect("/office/sign-in");
    app.advance_clock(STEP);
    made
}

/// Password accepted: the cookie of the session that waits for the code.
async fn password_step(app: &TestApp, email: &str) -> String {
    let reply = sign_in_as(app, email).await;
    reply.assert_redirect("/office/sign-in/code");
    reply.cookie().expect("a cookie for the second step")
}

async fn enter_code(app: &TestApp, pending: &str, field: &str, code: &str) -> Reply {
    app.post_with_cookie("/office/sign-in/code", pending, &[(field, code)])
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setting_up_an_app_shows_a_local_qr_code_and_needs_a_right_code() {
    let app = TestApp::spawn().await;
    let cookie = app.sign_in().await;
    let overview = app.get_with_cookie("/office/settings", &cookie).await;
    assert!(
        overview
            .body
            .contains(r#"href="/office/settings/security""#)
    );
    let security = app
        .get_with_cookie("/office/settings/security", &cookie)
        .await;
    security.assert_status(StatusCode::OK);
    assert!(
        security
            .body
            .contains("You sign in with your password only")
    );

    let form = app
        .get_with_cookie("/office/settings/security/set-up", &cookie)
        .await;
    form.assert_status(StatusCode::OK);
    let secret = secret_on(&form);
    let svg = between(&form.body, "<svg", "</svg>");
    assert!(svg.contains(r#"role="img""#) && svg.contains("aria-label="));
    assert_eq!(svg.matches("<path").count(), 1);
    let decoded = form.decoded();
    let url = between(&decoded, r#"href="otpauth://"#, "\"");
    assert!(
        url.starts_with("totp/Larchwood%20Psychotherapy:therapist%40example.com?secret="),
        "{url}"
    );
    let key = between(&form.body, r#"<code class="secret-key">"#, "</code>").replace(' ', "");
    assert!(url.contains(&format!("?secret={key}&")), "{url}");
    assert!(url.ends_with("&issuer=Larchwood%20Psychotherapy&algorithm=SHA1&digits=6&period=30"));
    assert!(
        !form.body.contains("src=\"http") && !form.body.contains("<script"),
        "the page fetches nothing from elsewhere"
    );
    assert!(
        form.header("content-security-policy")
            .is_some_and(|csp| csp.contains("default-src 'self'"))
    );
    assert!(
        app.get_with_cookie("/office/settings/security/set-up", &cookie)
            .await
            .body
            .contains(between(
                &form.body,
                r#"<code class="secret-key">"#,
                "</code>"
            )),
        "reloading keeps the secret being set up (the app may have scanned it already)"
    );

    // Stored only sealed: the database holds neither the base32 text nor the bytes.
    assert!(!app.database_contains(&key));
    assert!(!app.database_contains_bytes(&base32_bytes(&key)));

    for (typed, message) in [
        ("", "Enter the 6-digit code from your authenticator app"),
        ("12345", "Enter the 6 digits your app shows, like 123456"),
        (
            "<script>alert(1)</script>",
            "Enter the 6 digits your app shows",
        ),
        (&"9".repeat(5000), "Enter the 6 digits your app shows"),
        (&wrong_code(&app, &secret), "That code is not right"),
    ] {
        let refused = app
            .post_with_cookie(
                "/office/settings/security/set-up",
                &cookie,
                &[("code", typed)],
            )
            .await;
        refused.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.title().starts_with("Error: "));
        assert!(
            refused.body.contains(message),
            "{typed:?}: {}",
            refused.body
        );
        assert!(
            refused.body.contains(r##"href="#code""##),
            "the summary links to the field"
        );
        assert!(!refused.body.contains("<script>alert"), "input is escaped");
    }
    assert!(
        !app.store
            .user_by_email(&domain::EmailAddress::parse(STAFF_EMAIL).unwrap())
            .await
            .unwrap()
            .unwrap()
            .second_factor,
        "wrong codes switch nothing on"
    );

    let code = secret.code_at(app.clock.now());
    let done = app
        .post_with_cookie(
            "/office/settings/security/set-up",
            &cookie,
            &[("code", &code)],
        )
        .await;
    done.assert_status(StatusCode::OK);
    assert!(done.body.contains("Your authenticator app is set up"));
    let codes = recovery_codes_on(&done);
    assert_eq!(codes.len(), 10);
    for code in &codes {
        assert!(
            !app.database_contains(code) && !app.database_contains(&code.replace('-', "")),
            "recovery codes are stored only as hashes"
        );
    }
    app.get_with_cookie("/office/settings/security/set-up", &cookie)
        .await
        .assert_redirect("/office/settings/security");
    let security = app
        .get_with_cookie("/office/settings/security", &cookie)
        .await;
    assert!(security.body.contains("You have 10 recovery codes left"));
    app.get_with_cookie("/office", &cookie)
        .await
        .assert_status(StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_app_the_password_alone_opens_nothing_and_a_code_is_used_once() {
    let app = TestApp::spawn().await;
    let cookie = app.sign_in().await;
    let (secret, _) = set_up_app(&app, &cookie).await;
    let used_at_set_up = secret.code_at(app.clock.now());

    let pending = password_step(&app, STAFF_EMAIL).await;
    assert_ne!(pending, cookie);
    for path in [
        "/office",
        "/office/settings",
        "/office/settings/security",
        "/office/clients",
        "/office/enquiries",
    ] {
        app.get_with_cookie(path, &pending)
            .await
            .assert_redirect("/office/sign-in/code");
    }
    app.post_with_cookie(
        "/office/settings/practice",
        &pending,
        &[("name", "Changed")],
    )
    .await
    .assert_redirect("/office/sign-in/code");
    app.get_with_cookie("/office/sign-in", &pending)
        .await
        .assert_redirect("/office");
    let page = app.get_with_cookie("/office/sign-in/code", &pending).await;
    page.assert_status(StatusCode::OK);
    assert!(page.body.contains("Enter the 6-digit code from your app"));
    assert!(page.body.contains(r#"autocomplete="one-time-code""#));

    // The code that switched the app on is spent: the same step is refused.
    let replay = enter_code(&app, &pending, "code", &used_at_set_up).await;
    replay.assert_status(StatusCode::UNAUTHORIZED);
    assert!(replay.title().starts_with("Error: "));
    assert!(
        replay
            .body
            .contains("That code has already been used. Wait for the next one")
    );
    assert!(replay.set_cookies().is_empty());

    let wrong = enter_code(&app, &pending, "code", &wrong_code(&app, &secret)).await;
    wrong.assert_status(StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("That code is not right"));
    for junk in ["", "12 34", "١٢٣٤٥٦", "' OR 1=1 --"] {
        let refused = enter_code(&app, &pending, "code", junk).await;
        refused.assert_status(StatusCode::UNAUTHORIZED);
        assert!(refused.body.contains("Enter the"), "{junk:?}");
    }

    // The next step's code works, and the session gets a new token.
    app.advance_clock(STEP);
    let code = secret.code_at(app.clock.now());
    let done = enter_code(&app, &pending, "code", &code).await;
    done.assert_redirect("/office");
    let full = done.cookie().expect("a new session cookie");
    assert_ne!(
        full, pending,
        "the token is replaced after the second factor"
    );
    app.get_with_cookie("/office", &full)
        .await
        .assert_status(StatusCode::OK);
    app.get_with_cookie("/office", &pending)
        .await
        .assert_redirect("/office/sign-in");

    // Signing in again within the same 30 seconds: that code is spent.
    let again = password_step(&app, STAFF_EMAIL).await;
    enter_code(&app, &again, "code", &code)
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    // A code one step behind is still within the window but older than the last used: refused.
    let older = secret.code_at(app.clock.now() - STEP);
    let refused = enter_code(&app, &again, "code", &older).await;
    assert!(refused.body.contains("already been used"));
    app.advance_clock(STEP);
    enter_code(&app, &again, "code", &secret.code_at(app.clock.now()))
        .await
        .assert_redirect("/office");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovery_code_works_once() {
    let app = TestApp::spawn().await;
    let (_, codes) = owner_with_app(&app).await;

    let pending = password_step(&app, STAFF_EMAIL).await;
    let page = app.get_with_cookie("/office/sign-in/code", &pending).await;
    assert!(page.body.contains("I cannot use my app"));
    enter_code(&app, &pending, "recovery_code", &codes[0])
        .await
        .assert_redirect("/office");

    let pending = password_step(&app, STAFF_EMAIL).await;
    let again = enter_code(&app, &pending, "recovery_code", &codes[0]).await;
    again.assert_status(StatusCode::UNAUTHORIZED);
    assert!(
        again
            .body
            .contains("That recovery code is not right, or it has already been used")
    );
    assert!(again.body.contains(r##"href="#recovery_code""##));
    assert!(again.body.contains("<details class=\"details\" open>"));

    // Typed in capitals with spaces instead of dashes, another code still works.
    let typed = codes[1].to_uppercase().replace('-', " ");
    let done = enter_code(&app, &pending, "recovery_code", &typed).await;
    done.assert_redirect("/office");
    let full = done.cookie().expect("a session");
    let security = app
        .get_with_cookie("/office/settings/security", &full)
        .await;
    assert!(security.body.contains("You have 8 recovery codes left"));

    // The audit log has each step: the app switched on, the recovery sign-ins, the refusal.
    let mut log = app.store.recent_audit(app.practice, 50).await.unwrap();
    log.reverse();
    let actions: Vec<&str> = log
        .iter()
        .map(|e| e.action.as_str())
        .filter(|a| a.starts_with("staff."))
        .collect();
    assert_eq!(
        actions,
        [
            "staff.sign_in",
            "staff.second_factor_on",
            "staff.sign_out",
            "staff.recovery_code_used",
            "staff.sign_in",
            "staff.second_factor_failed",
            "staff.recovery_code_used",
            "staff.sign_in",
        ],
        "{log:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_codes_are_limited_per_account_and_the_wait_ends() {
    let app = TestApp::spawn().await;
    let (secret, codes) = owner_with_app(&app).await;

    let pending = password_step(&app, STAFF_EMAIL).await;
    let wrong = wrong_code(&app, &secret);
    for n in 1..=5 {
        let reply = enter_code(&app, &pending, "code", &wrong).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let sixth = enter_code(&app, &pending, "code", &secret.code_at(app.clock.now())).await;
    assert_eq!(
        sixth.status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right code waits"
    );
    let retry: u64 = sixth
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=900).contains(&retry), "Retry-After: {retry}");
    assert!(sixth.set_cookies().is_empty());
    let by_recovery = enter_code(&app, &pending, "recovery_code", &codes[0]).await;
    assert_eq!(by_recovery.status, StatusCode::TOO_MANY_REQUESTS);

    // A new password sign-in (another address, another browser) does not reset the count.
    let other = password_step(&app, STAFF_EMAIL).await;
    assert_eq!(
        enter_code(&app, &other, "code", &secret.code_at(app.clock.now()))
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS
    );

    // Fifteen minutes after the first wrong code the account may try again.
    app.advance_clock(SignedDuration::from_mins(15));
    let fresh = password_step(&app, STAFF_EMAIL).await;
    enter_code(&app, &fresh, "code", &secret.code_at(app.clock.now()))
        .await
        .assert_redirect("/office");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_finished_sign_in_expires_after_five_minutes() {
    let app = TestApp::spawn().await;
    let (secret, _) = owner_with_app(&app).await;
    let pending = password_step(&app, STAFF_EMAIL).await;
    app.advance_clock(SignedDuration::from_mins(4));
    app.get_with_cookie("/office/sign-in/code", &pending)
        .await
        .assert_status(StatusCode::OK);
    app.advance_clock(SignedDuration::from_secs(61));
    let late = enter_code(&app, &pending, "code", &secret.code_at(app.clock.now())).await;
    late.assert_redirect("/office/sign-in");
    app.get_with_cookie("/office/sign-in/code", &pending)
        .await
        .assert_redirect("/office/sign-in");
    app.get_with_cookie("/office", &pending)
        .await
        .assert_redirect("/office/sign-in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_can_require_an_app_for_all_staff() {
    let app = TestApp::spawn().await;
    app.add_staff(COLLEAGUE, "Sam Colleague").await;
    let before = sign_in_as(&app, COLLEAGUE).await;
    before.assert_redirect("/office");
    let colleague_session = before.cookie().expect("a session");

    let owner = app.sign_in().await;
    let form = [("second_factor_required", "true"), ("idle_timeout", "30")];
    let refused = app
        .post_with_cookie("/office/settings/security/rules", &owner, &form)
        .await;
    refused.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .body
            .contains("Set up your own authenticator app before you require one for everyone")
    );
    assert!(refused.body.contains(r##"href="#second_factor_required""##));

    set_up_app(&app, &owner).await;
    app.post_with_cookie("/office/settings/security/rules", &owner, &form)
        .await
        .assert_redirect("/office/settings/security?saved=1");
    assert!(
        app.store
            .sign_in_policy(app.practice)
            .await
            .unwrap()
            .second_factor_required
    );
    app.get_with_cookie("/office", &owner)
        .await
        .assert_status(StatusCode::OK);

    // A colleague already signed in is sent to set-up at their next click.
    app.get_with_cookie("/office/clients", &colleague_session)
        .await
        .assert_redirect("/office/sign-in/set-up");

    // Signing in, the password leads straight to set-up and nothing else opens.
    let reply = sign_in_as(&app, COLLEAGUE).await;
    reply.assert_redirect("/office/sign-in/set-up");
    let pending = reply.cookie().expect("a cookie");
    for path in [
        "/office",
        "/office/settings/security",
        "/office/sign-in/code",
    ] {
        let r = app.get_with_cookie(path, &pending).await;
        assert!(
            r.location() == Some("/office/sign-in/set-up") || r.location() == Some("/office"),
            "{path}: {:?}",
            r.location()
        );
        if path != "/office/sign-in/code" {
            r.assert_redirect("/office/sign-in/set-up");
        }
    }
    let page = app
        .get_with_cookie("/office/sign-in/set-up", &pending)
        .await;
    page.assert_status(StatusCode::OK);
    assert!(
        page.body
            .contains("Your practice asks everyone to use an authenticator app")
    );
    assert!(
        !page.body.contains(r#"aria-label="Back office""#),
        "no navigation yet"
    );
    let secret = secret_on(&page);
    let wrong = app
        .post_with_cookie(
            "/office/sign-in/set-up",
            &pending,
            &[("code", &wrong_code(&app, &secret))],
        )
        .await;
    wrong.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("That code is not right"));

    let done = app
        .post_with_cookie(
            "/office/sign-in/set-up",
            &pending,
            &[("code", &secret.code_at(app.clock.now()))],
        )
        .await;
    done.assert_status(StatusCode::OK);
    assert_eq!(recovery_codes_on(&done).len(), 10);
    assert!(done.body.contains("Continue to your back office"));
    let full = done.cookie().expect("a new token after set-up");
    assert_ne!(full, pending);
    app.get_with_cookie("/office", &full)
        .await
        .assert_status(StatusCode::OK);
    app.get_with_cookie("/office", &pending)
        .await
        .assert_redirect("/office/sign-in");

    // Next time, the colleague needs a code like everyone else.
    app.advance_clock(STEP);
    let next = sign_in_as(&app, COLLEAGUE).await;
    next.assert_redirect("/office/sign-in/code");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_owner_sees_and_sets_the_sign_in_rules() {
    let app = TestApp::spawn().await;
    app.add_staff(COLLEAGUE, "Sam Colleague").await;
    let colleague = sign_in_as(&app, COLLEAGUE)
        .await
        .cookie()
        .expect("a session");
    let page = app
        .get_with_cookie("/office/settings/security", &colleague)
        .await;
    page.assert_status(StatusCode::OK);
    assert!(!page.body.contains("Sign-in rules for everyone"));
    assert!(!page.body.contains("second_factor_required"));
    let refused = app
        .post_with_cookie(
            "/office/settings/security/rules",
            &colleague,
            &[("idle_timeout", "5")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.store
            .sign_in_policy(app.practice)
            .await
            .unwrap()
            .idle_timeout
            .minutes(),
        30,
        "nothing changed"
    );

    let owner = app.sign_in().await;
    let page = app
        .get_with_cookie("/office/settings/security", &owner)
        .await;
    assert!(page.body.contains("Sign-in rules for everyone"));
    assert!(page.body.contains("Require a second factor for all staff"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idle_timeout_is_the_practice_setting() {
    let app = TestApp::spawn().await;
    let owner = app.sign_in().await;
    for bad in ["4", "31", "ten", "", "<b>9</b>", "1e1"] {
        let refused = app
            .post_with_cookie(
                "/office/settings/security/rules",
                &owner,
                &[("idle_timeout", bad)],
            )
            .await;
        refused.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            refused
                .body
                .contains("Enter a whole number of minutes between 5 and 30"),
            "{bad:?}"
        );
        assert!(!refused.body.contains("<b>9</b>"));
    }
    app.post_with_cookie(
        "/office/settings/security/rules",
        &owner,
        &[("idle_timeout", "10")],
    )
    .await
    .assert_redirect("/office/settings/security?saved=1");
    let saved = app
        .get_with_cookie("/office/settings/security?saved=1", &owner)
        .await;
    assert!(
        saved
            .body
            .contains("Saved. The new sign-in rules apply from now on.")
    );
    assert!(saved.body.contains(r#"value="10""#));

    let cookie = app.sign_in().await;
    app.advance_clock(SignedDuration::from_mins(9));
    app.get_with_cookie("/office", &cookie)
        .await
        .assert_status(StatusCode::OK);
    app.advance_clock(SignedDuration::from_mins(9));
    app.get_with_cookie("/office", &cookie)
        .await
        .assert_status(StatusCode::OK);
    app.advance_clock(SignedDuration::from_mins(11));
    app.get_with_cookie("/office", &cookie)
        .await
        .assert_redirect("/office/sign-in");
    app.advance_clock(SignedDuration::from_mins(-11));
    app.get_with_cookie("/office", &cookie)
        .await
        .assert_redirect("/office/sign-in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_in_session_with_an_app_still_ends_after_twelve_hours() {
    let app = TestApp::spawn().await;
    let (secret, _) = owner_with_app(&app).await;
    let pending = password_step(&app, STAFF_EMAIL).await;
    let full = enter_code(&app, &pending, "code", &secret.code_at(app.clock.now()))
        .await
        .cookie()
        .expect("a session");
    for _ in 0..(12 * 60 / 20) {
        app.advance_clock(SignedDuration::from_mins(20));
        app.get_with_cookie("/office", &full)
            .await
            .assert_status(StatusCode::OK);
    }
    app.advance_clock(SignedDuration::from_mins(20));
    app.get_with_cookie("/office", &full)
        .await
        .assert_redirect("/office/sign-in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_recovery_codes_and_turning_off_need_a_current_code() {
    let app = TestApp::spawn().await;
    let (secret, old_codes) = owner_with_app(&app).await;
    let pending = password_step(&app, STAFF_EMAIL).await;
    let cookie = enter_code(&app, &pending, "code", &secret.code_at(app.clock.now()))
        .await
        .cookie()
        .expect("a session");
    app.advance_clock(STEP);

    let form = app
        .get_with_cookie("/office/settings/security/recovery-codes", &cookie)
        .await;
    form.assert_status(StatusCode::OK);
    assert!(form.body.contains("Your old codes will stop working"));
    let refused = app
        .post_with_cookie(
            "/office/settings/security/recovery-codes",
            &cookie,
            &[("code", &wrong_code(&app, &secret))],
        )
        .await;
    refused.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("That code is not right"));
    let made = app
        .post_with_cookie(
            "/office/settings/security/recovery-codes",
            &cookie,
            &[("code", &secret.code_at(app.clock.now()))],
        )
        .await;
    made.assert_status(StatusCode::OK);
    assert!(made.body.contains("Your old ones no longer work"));
    let new_codes = recovery_codes_on(&made);
    assert_eq!(new_codes.len(), 10);
    assert!(new_codes.iter().all(|c| !old_codes.contains(c)));

    let pending = password_step(&app, STAFF_EMAIL).await;
    enter_code(&app, &pending, "recovery_code", &old_codes[2])
        .await
        .assert_status(StatusCode::UNAUTHORIZED);

    // Turning off: a wrong code changes nothing; a recovery code will do.
    app.get_with_cookie("/office/settings/security/turn-off", &cookie)
        .await
        .assert_status(StatusCode::OK);
    let refused = app
        .post_with_cookie(
            "/office/settings/security/turn-off",
            &cookie,
            &[("code", "")],
        )
        .await;
    refused.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .body
            .contains("Enter the 6-digit code from your authenticator app")
    );
    app.post_with_cookie(
        "/office/settings/security/turn-off",
        &cookie,
        &[("code", &new_codes[0])],
    )
    .await
    .assert_redirect("/office/settings/security?off=1");
    let page = app
        .get_with_cookie("/office/settings/security?off=1", &cookie)
        .await;
    assert!(page.body.contains("Your authenticator app is turned off"));
    assert!(
        app.store
            .authenticator(
                app.store
                    .user_by_email(&domain::EmailAddress::parse(STAFF_EMAIL).unwrap())
                    .await
                    .unwrap()
                    .unwrap()
                    .id
            )
            .await
            .unwrap()
            .is_none(),
        "the secret is forgotten"
    );
    app.sign_in_with(STAFF_EMAIL, STAFF_PASSWORD)
        .await
        .assert_redirect("/office");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_being_set_up_is_seen_and_confirmed_by_one_session_only() {
    let app = TestApp::spawn().await;
    let mine = app.sign_in().await;
    // Someone else signed in with the same password, at the same time.
    let theirs = sign_in_as(&app, STAFF_EMAIL)
        .await
        .cookie()
        .expect("a second session");
    let page = |cookie: String| {
        let app = &app;
        async move {
            app.get_with_cookie("/office/settings/security/set-up", &cookie)
                .await
        }
    };
    let my_page = page(mine.clone()).await;
    let their_page = page(theirs.clone()).await;
    let key =
        |reply: &Reply| between(&reply.body, r#"<code class="secret-key">"#, "</code>").to_owned();
    assert_ne!(
        key(&my_page),
        key(&their_page),
        "the other session is never shown the secret being set up here"
    );
    let my_secret = secret_on(&my_page);
    let their_secret = secret_on(&their_page);
    // Their page replaced mine: my code no longer switches anything on, and nor does
    // theirs from my session.
    for secret in [&my_secret, &their_secret] {
        let code = secret.code_at(app.clock.now());
        let refused = app
            .post_with_cookie(
                "/office/settings/security/set-up",
                &mine,
                &[("code", &code)],
            )
            .await;
        refused.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        // Mine: expired (their page replaced it; a fresh one is shown). Theirs: not the
        // secret this session is setting up.
        let text = refused.decoded();
        assert!(
            text.contains("Your set-up had expired") || text.contains("That code is not right"),
            "{text}"
        );
    }
    let user = app
        .store
        .user_by_email(&domain::EmailAddress::parse(STAFF_EMAIL).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(!user.second_factor, "nothing was switched on");
    // A fresh page in my session, confirmed there, works.
    set_up_app(&app, &mine).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_codes_sent_all_at_once_are_still_limited() {
    let app = TestApp::spawn().await;
    let (secret, _) = owner_with_app(&app).await;
    let pending = password_step(&app, STAFF_EMAIL).await;
    let wrong = wrong_code(&app, &secret);
    let answers = futures_all(&app, &pending, &wrong, 20).await;
    let checked = answers
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(checked, 5, "only five wrong codes are checked: {answers:?}");
    assert_eq!(
        answers
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count(),
        15
    );
}

/// Send `count` copies of one code for the waiting session at the same moment.
async fn futures_all(app: &TestApp, pending: &str, code: &str, count: usize) -> Vec<StatusCode> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..count {
        let client = app.client().clone();
        let url = app.url("/office/sign-in/code");
        let origin = app.url("");
        let cookie = pending.to_owned();
        let code = code.to_owned();
        tasks.spawn(async move {
            client
                .post(url)
                .header("origin", origin)
                .header("cookie", cookie)
                .form(&[("code", code)])
                .send()
                .await
                .expect("POST")
                .status()
        });
    }
    let mut answers = Vec::new();
    while let Some(answer) = tasks.join_next().await {
        answers.push(answer.expect("a task"));
    }
    answers
}
