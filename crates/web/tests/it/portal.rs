//! The client portal (SECURITY.md R4): sign-in links that work once, for ten minutes, in the
//! browser that asked; the same answer for addresses known or not; short sessions that end on
//! the server; cancelling with the policy explained first; only ever one's own records.

use std::time::Duration;

use domain::{ContactPreference, EmailAddress, Pence, PersonName, therapy::policy::Outcome};
use jiff::SignedDuration;
use reqwest::StatusCode;
use store::{
    Actor, AuditAction, AuditEntry, ClientId, InvoiceLine, NewClient, NewInvoice, Session,
    SessionStatus,
};

use crate::{
    helpers::{
        NOTIFY_EMAIL, PRACTICE_NAME, Reply, TestApp, assert_crisis_block, decode_entities,
        ics_parses,
    },
    office_therapy::robin_on_mondays,
};

const ROBIN: &str = "robin@example.com";

/// A browser: keeps its own cookies, follows no redirects.
#[derive(Clone)]
pub(crate) struct Browser {
    http: reqwest::Client,
    base: String,
}

impl Browser {
    pub(crate) fn new(app: &TestApp) -> Self {
        Self {
            http: app.cookie_client(),
            base: app.base.clone(),
        }
    }

    pub(crate) async fn get(&self, path: &str) -> Reply {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        read(response).await
    }

    pub(crate) async fn post(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("origin", &self.base)
            .form(form)
            .send()
            .await
            .unwrap();
        read(response).await
    }

    /// Ask for a sign-in link for `email`.
    async fn ask_for_link(&self, email: &str) -> Reply {
        self.post("/portal/sign-in", &[("email", email)]).await
    }
}

async fn read(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap();
    Reply {
        status,
        headers,
        body,
    }
}

fn links_to(outbox: &[store::OutboxMessage], to: &str) -> usize {
    outbox
        .iter()
        .filter(|m| m.kind == "portal_link" && m.to.as_str() == to)
        .count()
}

/// Wait (polling, up to ten seconds) until `count` sign-in emails to `to` are queued: the
/// link is stored off the answer's path, a moment after the answer.
async fn wait_for_links(app: &TestApp, to: &str, count: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while links_to(&app.outbox().await, to) < count {
        assert!(
            std::time::Instant::now() < deadline,
            "{count} sign-in emails to {to} were not queued in time"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The path of the newest sign-in link emailed to `to`.
async fn emailed_link(app: &TestApp, to: &str) -> String {
    let message = app
        .outbox()
        .await
        .into_iter()
        .find(|m| m.kind == "portal_link" && m.to.as_str() == to)
        .expect("a sign-in email");
    assert!(
        !message.body_text.contains("/portal/link/"),
        "the link waits in the outbox sealed"
    );
    let sent = app
        .state
        .open_sealed(message.practice, &message.body_text)
        .await
        .expect("the link opens");
    let start = sent.find("/portal/link/").expect("a link in the email");
    sent[start..start + "/portal/link/".len() + 64].to_owned()
}

/// Sign `browser` in as the client with this email; returns the link path used.
pub(crate) async fn sign_in(app: &TestApp, browser: &Browser, email: &str) -> String {
    let before = links_to(&app.outbox().await, email);
    browser
        .ask_for_link(email)
        .await
        .assert_status(StatusCode::OK);
    wait_for_links(app, email, before + 1).await;
    let link = emailed_link(app, email).await;
    browser.post(&link, &[]).await.assert_redirect("/portal");
    link
}

fn portal_links_sent(outbox: &[store::OutboxMessage]) -> usize {
    outbox.iter().filter(|m| m.kind == "portal_link").count()
}

async fn audit(app: &TestApp) -> Vec<AuditEntry> {
    let mut entries = app.store.recent_audit(app.practice, 500).await.unwrap();
    entries.reverse();
    entries
}

fn entries_of(entries: &[AuditEntry], action: AuditAction) -> Vec<&AuditEntry> {
    entries
        .iter()
        .filter(|e| e.action == action.code())
        .collect()
}

async fn sessions_of(app: &TestApp, client: ClientId) -> Vec<Session> {
    app.store
        .client_sessions(app.practice, client)
        .await
        .unwrap()
}

pub(crate) async fn add_client(app: &TestApp, name: &str, email: &str) -> ClientId {
    app.store
        .create_client(
            app.practice,
            &NewClient {
                name: PersonName::parse(name).unwrap(),
                email: EmailAddress::parse(email).unwrap(),
                phone: None,
                contact_preference: ContactPreference::Email,
                reminders: true,
            },
            None,
            app.clock.now(),
        )
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_opened_three_times_signs_in_once_when_continued() {
    let app = TestApp::spawn().await;
    let robin = robin_on_mondays(&app).await;
    let browser = Browser::new(&app);

    let asked = browser.ask_for_link(ROBIN).await;
    asked.assert_status(StatusCode::OK);
    assert!(asked.body.contains("Check your email"));
    let cookies = asked.set_cookies().join("\n");
    assert!(
        cookies.contains("anteroom_portal_link=")
            && cookies.contains("HttpOnly")
            && cookies.contains("SameSite=Lax")
            && cookies.contains("Max-Age=600"),
        "{cookies}"
    );
    let nonce = cookies
        .split("anteroom_portal_link=")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .unwrap();
    assert_eq!(nonce.len(), 64);
    assert!(
        !app.database_contains(nonce),
        "only the browser's hash is stored"
    );

    wait_for_links(&app, ROBIN, 1).await;
    let email = app
        .outbox()
        .await
        .into_iter()
        .find(|m| m.kind == "portal_link")
        .expect("the email");
    assert_eq!(email.to.as_str(), ROBIN);
    assert_eq!(
        email.subject,
        format!("Your sign-in link for {PRACTICE_NAME}")
    );
    let sent = app
        .state
        .open_sealed(email.practice, &email.body_text)
        .await
        .unwrap();
    for needed in [
        "works once",
        "10 minutes",
        "only in the browser where you asked",
        "If you did not ask for this link",
        "116 123",
        "999",
    ] {
        assert!(sent.contains(needed), "{needed}: {sent}");
    }
    wait_for_links(&app, ROBIN, 1).await;
    let link = emailed_link(&app, ROBIN).await;
    let token = link.trim_start_matches("/portal/link/");
    assert!(
        !app.database_contains(token),
        "only the link's hash is stored"
    );

    // Mail scanners and the person open it: nothing changes.
    for _ in 0..3 {
        let shown = browser.get(&link).await;
        shown.assert_status(StatusCode::OK);
        assert!(shown.body.contains(">Continue</button>"), "{}", shown.body);
        assert!(shown.set_cookies().is_empty());
        assert_crisis_block(&shown.body);
        assert_eq!(shown.header("cache-control"), Some("no-store"));
        assert_eq!(shown.header("x-robots-tag"), Some("noindex"));
    }
    assert!(
        app.store
            .portal_link(app.practice, &sha256(token))
            .await
            .unwrap()
            .unwrap()
            .used_at
            .is_none(),
        "GET uses nothing"
    );

    let signed_in = browser.post(&link, &[]).await;
    signed_in.assert_redirect("/portal");
    let cookies = signed_in.set_cookies().join("\n");
    assert!(cookies.contains("anteroom_portal="), "{cookies}");
    let home = browser.get("/portal").await;
    home.assert_status(StatusCode::OK);
    let text = decode_entities(&home.body);
    for shown in [
        "Your sessions",
        "Monday 29 March 2027 at 10am",
        "Balham, 27 Larchwood Mews, London, SW12 9RT",
        "Session 1",
        "to your calendar</a>",
        "Cancel this session",
        "Your data",
        "href=\"/portal/data\"",
    ] {
        assert!(text.contains(shown), "{shown}:\n{text}");
    }
    assert_crisis_block(&home.body);
    assert_eq!(home.header("cache-control"), Some("no-store"));
    assert_eq!(home.header("x-robots-tag"), Some("noindex"));

    // The same link again, even from the same browser, does nothing.
    let again = browser.post(&link, &[]).await;
    again.assert_status(StatusCode::GONE);
    assert!(again.body.contains("no longer works"));

    let entries = audit(&app).await;
    let requested = entries_of(&entries, AuditAction::PortalLinkRequested);
    assert_eq!(requested.len(), 1);
    assert_eq!(
        (requested[0].actor, requested[0].client),
        (Actor::Anonymous, Some(robin))
    );
    let signed = entries_of(&entries, AuditAction::PortalSignIn);
    assert_eq!(signed.len(), 1);
    assert_eq!(
        (signed[0].actor, signed[0].client),
        (Actor::Client(robin), Some(robin))
    );
    assert_eq!(
        entries_of(&entries, AuditAction::PortalSignInFailed).len(),
        1
    );
    let viewed = entries_of(&entries, AuditAction::PortalViewed);
    assert_eq!(viewed.len(), 1);
    assert_eq!(viewed[0].client, Some(robin));
}

fn sha256(text: &str) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes()).to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_stops_working_after_ten_minutes() {
    let app = TestApp::spawn().await;
    robin_on_mondays(&app).await;
    let browser = Browser::new(&app);
    browser
        .ask_for_link(ROBIN)
        .await
        .assert_status(StatusCode::OK);
    wait_for_links(&app, ROBIN, 1).await;
    let link = emailed_link(&app, ROBIN).await;
    app.advance_clock(SignedDuration::from_mins(11));
    let shown = browser.get(&link).await;
    shown.assert_status(StatusCode::GONE);
    assert!(shown.body.contains("Ask for a new link"));
    browser
        .post(&link, &[])
        .await
        .assert_status(StatusCode::GONE);
    browser
        .get("/portal")
        .await
        .assert_redirect("/portal/sign-in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_only_works_in_the_browser_that_asked_for_it() {
    let app = TestApp::spawn().await;
    robin_on_mondays(&app).await;
    let asker = Browser::new(&app);
    asker
        .ask_for_link(ROBIN)
        .await
        .assert_status(StatusCode::OK);
    wait_for_links(&app, ROBIN, 1).await;
    let link = emailed_link(&app, ROBIN).await;

    let elsewhere = Browser::new(&app);
    let shown = elsewhere.get(&link).await;
    shown.assert_status(StatusCode::FORBIDDEN);
    assert!(
        shown
            .body
            .contains("Open the link in the browser where you asked for it"),
        "{}",
        shown.body
    );
    let refused = elsewhere.post(&link, &[]).await;
    refused.assert_status(StatusCode::FORBIDDEN);
    assert!(refused.set_cookies().is_empty(), "not signed in");
    elsewhere
        .get("/portal")
        .await
        .assert_redirect("/portal/sign-in");
    // Another browser with a binding cookie of its own (it asked for its own link) fails too.
    elsewhere
        .ask_for_link("someone.else@example.com")
        .await
        .assert_status(StatusCode::OK);
    elsewhere
        .post(&link, &[])
        .await
        .assert_status(StatusCode::FORBIDDEN);

    // Trying elsewhere did not use the link up.
    asker.post(&link, &[]).await.assert_redirect("/portal");
    asker.get("/portal").await.assert_status(StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_address_gets_exactly_the_same_answer_and_no_email() {
    let app = TestApp::spawn().await;
    robin_on_mondays(&app).await;
    let known = Browser::new(&app).ask_for_link(ROBIN).await;
    wait_for_links(&app, ROBIN, 1).await;
    let after_known = app.outbox().await;
    let unknown = Browser::new(&app)
        .ask_for_link("nobody.here@example.org")
        .await;
    let after_unknown = app.outbox().await;

    assert_eq!(known.status, StatusCode::OK);
    assert_eq!(known.status, unknown.status);
    assert_eq!(known.body, unknown.body, "byte for byte");
    assert_eq!(known.set_cookies().len(), 1);
    assert_eq!(unknown.set_cookies().len(), 1, "a cookie either way");
    assert_eq!(portal_links_sent(&after_known), 1);
    assert_eq!(
        after_unknown.len(),
        after_known.len(),
        "no email for nobody"
    );
    assert!(
        !app.database_contains("nobody.here@example.org"),
        "the typed address is not kept"
    );
    // Written a moment after the answer, off its path, for known and unknown alike.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let entries = loop {
        let entries = audit(&app).await;
        if entries_of(&entries, AuditAction::PortalLinkRequested).len() == 2 {
            break entries;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the request is audited"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let requested = entries_of(&entries, AuditAction::PortalLinkRequested);
    assert_eq!(requested[1].client, None);
    assert_eq!(requested[1].actor, Actor::Anonymous);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asking_for_too_many_links_is_refused_with_retry_after() {
    let app = TestApp::spawn().await;
    robin_on_mondays(&app).await;
    let browser = Browser::new(&app);
    for _ in 0..3 {
        browser
            .ask_for_link(ROBIN)
            .await
            .assert_status(StatusCode::OK);
    }
    let refused = browser.ask_for_link(ROBIN).await;
    refused.assert_status(StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    wait_for_links(&app, ROBIN, 3).await;
    assert_eq!(portal_links_sent(&app.outbox().await), 3);
    // Per address as well as per email: other addresses, up to ten requests in all.
    for n in 0..7 {
        browser
            .ask_for_link(&format!("person{n}@example.org"))
            .await
            .assert_status(StatusCode::OK);
    }
    browser
        .ask_for_link("one.more@example.org")
        .await
        .assert_status(StatusCode::TOO_MANY_REQUESTS);
    // From this address, nothing more for a while, whoever asks.
    let typo = Browser::new(&app).ask_for_link("robin@").await;
    typo.assert_status(StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typo_in_the_address_is_shown_at_the_field() {
    let app = TestApp::spawn().await;
    let reply = Browser::new(&app).ask_for_link("robin.example.com").await;
    reply.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.title().starts_with("Error: "));
    assert!(
        reply
            .body
            .contains("Enter an email address in the right format")
    );
    assert!(reply.body.contains("value=\"robin.example.com\""));
    assert!(reply.set_cookies().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_visitors_get_no_cookie_and_no_portal() {
    let app = TestApp::spawn().await;
    let form = app.get("/portal/sign-in").await;
    form.assert_status(StatusCode::OK);
    assert!(form.set_cookies().is_empty());
    assert_crisis_block(&form.body);
    assert_eq!(form.header("x-robots-tag"), Some("noindex"));
    for path in [
        "/portal",
        "/portal/invoices",
        "/portal/details",
        "/portal/sessions/1/cancel",
        "/portal/sessions/1/calendar.ics",
        "/portal/invoices/1",
    ] {
        app.get(path).await.assert_redirect("/portal/sign-in");
    }
    app.get(&format!("/portal/link/{}", "0".repeat(64)))
        .await
        .assert_status(StatusCode::GONE);
    app.get("/portal/link/not-a-token")
        .await
        .assert_status(StatusCode::NOT_FOUND);
    let home = app.get("/").await;
    assert!(
        home.body.contains("href=\"/portal/sign-in\""),
        "footer link"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portal_session_ends_after_15_idle_minutes_or_2_hours() {
    let app = TestApp::spawn().await;
    robin_on_mondays(&app).await;
    let browser = Browser::new(&app);
    sign_in(&app, &browser, ROBIN).await;
    // Busy for nearly two hours: each request keeps it alive.
    for _ in 0..8 {
        app.advance_clock(SignedDuration::from_mins(14));
        browser.get("/portal").await.assert_status(StatusCode::OK);
    }
    app.advance_clock(SignedDuration::from_mins(14)); // 126 minutes after signing in
    browser
        .get("/portal")
        .await
        .assert_redirect("/portal/sign-in?ended=1");
    let page = browser.get("/portal/sign-in?ended=1").await;
    assert!(page.body.contains("You were signed out"));

    // Idle: 16 minutes without a request.
    let idle = Browser::new(&app);
    sign_in(&app, &idle, ROBIN).await;
    app.advance_clock(SignedDuration::from_mins(16));
    idle.get("/portal")
        .await
        .assert_redirect("/portal/sign-in?ended=1");
    idle.get("/portal").await.assert_redirect("/portal/sign-in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_ends_the_session_on_the_server() {
    let app = TestApp::spawn().await;
    let robin = robin_on_mondays(&app).await;
    let browser = Browser::new(&app);
    browser.ask_for_link(ROBIN).await;
    wait_for_links(&app, ROBIN, 1).await;
    let link = emailed_link(&app, ROBIN).await;
    let signed_in = browser.post(&link, &[]).await;
    let cookie = signed_in
        .set_cookies()
        .into_iter()
        .find(|c| c.contains("anteroom_portal="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    app.get_with_cookie("/portal", &cookie)
        .await
        .assert_status(StatusCode::OK);
    browser
        .post("/portal/sign-out", &[])
        .await
        .assert_redirect("/portal/sign-in?signed_out=1");
    // The old cookie, replayed, no longer opens anything.
    app.get_with_cookie("/portal", &cookie)
        .await
        .assert_redirect("/portal/sign-in?ended=1");
    let entries = audit(&app).await;
    let out = entries_of(&entries, AuditAction::PortalSignOut);
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].actor, out[0].client),
        (Actor::Client(robin), Some(robin))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_in_good_time_is_free() {
    let app = TestApp::spawn().await;
    let robin = robin_on_mondays(&app).await;
    let browser = Browser::new(&app);
    sign_in(&app, &browser, ROBIN).await;
    let first = sessions_of(&app, robin).await.remove(0);
    let path = format!("/portal/sessions/{}/cancel", first.id);

    let asked = browser.get(&path).await;
    asked.assert_status(StatusCode::OK);
    let text = decode_entities(&asked.body);
    assert!(
        text.contains("This is more than 48 hours before your session, so there is no charge."),
        "{text}"
    );
    assert!(text.contains("name=\"charge\" value=\"0\""));
    assert_crisis_block(&asked.body);
    assert_eq!(
        sessions_of(&app, robin).await[0].status,
        SessionStatus::Scheduled,
        "asking changes nothing"
    );

    browser
        .post(&path, &[("charge", "0")])
        .await
        .assert_redirect(&format!("/portal?cancelled={}", first.id));
    let session = app
        .store
        .therapy_session(app.practice, first.id)
        .await
        .unwrap();
    assert_eq!(
        session.status,
        SessionStatus::Done(Outcome::CancelledInTime)
    );
    assert_eq!(session.told_at, Some(app.clock.now()));
    assert_eq!(session.charge.unwrap().amount, Pence::new(0));
    let home = decode_entities(
        &browser
            .get(&format!("/portal?cancelled={}", first.id))
            .await
            .body,
    );
    assert!(
        home.contains("Your session on Monday 29 March 2027 at 10am has been cancelled"),
        "{home}"
    );

    let outbox = app.outbox().await;
    let notice = outbox
        .iter()
        .find(|m| m.kind == "portal_cancellation_notice")
        .expect("the therapist is told");
    assert_eq!(notice.to.as_str(), NOTIFY_EMAIL);
    assert!(notice.body_text.contains("Monday 29 March 2027 at 10am"));
    assert!(
        notice
            .body_text
            .contains(&format!("/office/sessions/{}", first.id))
    );
    assert!(
        !notice.body_text.contains("Robin"),
        "neutral: {}",
        notice.body_text
    );
    let confirmation = outbox
        .iter()
        .find(|m| m.kind == "portal_cancellation")
        .expect("the client is told");
    assert_eq!(confirmation.to.as_str(), ROBIN);
    assert!(confirmation.body_text.contains("There is no charge."));
    assert_eq!(
        confirmation.calendar.as_ref().map(|c| c.method.as_str()),
        Some("CANCEL")
    );

    let entries = audit(&app).await;
    let cancelled = entries_of(&entries, AuditAction::PortalCancelled);
    assert_eq!(cancelled.len(), 1);
    assert_eq!(cancelled[0].client, Some(robin));
    assert_eq!(
        (cancelled[0].object_kind.as_deref(), cancelled[0].object_id),
        (Some("session"), Some(first.id.get()))
    );
    // Once cancelled, it cannot be cancelled again.
    browser
        .post(&path, &[("charge", "0")])
        .await
        .assert_redirect("/portal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_late_explains_the_charge_before_it_is_recorded() {
    let app = TestApp::spawn().await;
    let robin = robin_on_mondays(&app).await;
    // Sunday 28 March, 12:00 UK time: Monday's 10:00 session is 22 hours away.
    app.advance_clock(SignedDuration::from_hours(3 * 24 + 2));
    let browser = Browser::new(&app);
    sign_in(&app, &browser, ROBIN).await;
    let first = sessions_of(&app, robin).await.remove(0);
    let path = format!("/portal/sessions/{}/cancel", first.id);

    let asked = decode_entities(&browser.get(&path).await.body);
    assert!(
        asked.contains(
            "This is less than 48 hours before your session, so the practice's cancellation \
             policy (version 1) applies: £70."
        ),
        "{asked}"
    );
    assert!(
        asked.contains("Late cancellation: 22 hours' notice"),
        "{asked}"
    );
    assert!(asked.contains("Cancel it and accept the charge"));
    assert_eq!(
        sessions_of(&app, robin).await[0].status,
        SessionStatus::Scheduled,
        "nothing is recorded by looking"
    );

    // A form that showed something else (say, before the 48 hours passed) is shown again.
    let stale = browser.post(&path, &[("charge", "0")]).await;
    stale.assert_status(StatusCode::CONFLICT);
    assert!(stale.body.contains("Please read it again"));
    assert_eq!(
        sessions_of(&app, robin).await[0].status,
        SessionStatus::Scheduled
    );

    browser
        .post(&path, &[("charge", "7000")])
        .await
        .assert_redirect(&format!("/portal?cancelled={}", first.id));
    let session = app
        .store
        .therapy_session(app.practice, first.id)
        .await
        .unwrap();
    assert_eq!(
        session.status,
        SessionStatus::Done(Outcome::LateCancellation)
    );
    let charge = session.charge.unwrap();
    assert_eq!(charge.amount, Pence::new(7000));
    assert_eq!(charge.policy_version, 1);
    assert!(
        charge
            .rule
            .starts_with("Late cancellation: 22 hours' notice")
    );
    let confirmation = app
        .outbox()
        .await
        .into_iter()
        .find(|m| m.kind == "portal_cancellation")
        .unwrap();
    assert!(
        confirmation.body_text.contains("there is a charge of £70"),
        "{}",
        confirmation.body_text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_clients_session_or_invoice_is_not_found_and_written_down() {
    let app = TestApp::spawn().await;
    let robin = robin_on_mondays(&app).await;
    let kim = add_client(&app, "Kim Ash", "kim@example.com").await;
    let robins = sessions_of(&app, robin).await.remove(0);
    let invoice = app
        .store
        .create_invoice(
            app.practice,
            &NewInvoice {
                client: robin,
                issued_on: jiff::civil::date(2027, 3, 25),
                due_on: jiff::civil::date(2027, 4, 8),
                period: "March 2027".into(),
                charges: Vec::new(),
                lines: vec![InvoiceLine {
                    description: "Session 1".into(),
                    detail: String::new(),
                    amount: Pence::new(7000),
                }],
                token_hash: sha256("robin-invoice"),
            },
            &|_| None,
            app.clock.now(),
        )
        .await
        .unwrap();

    let browser = Browser::new(&app);
    sign_in(&app, &browser, "kim@example.com").await;
    let home = browser.get("/portal").await;
    assert!(
        !home.body.contains("Monday 29 March"),
        "none of Robin's sessions"
    );
    for path in [
        format!("/portal/sessions/{}/cancel", robins.id),
        format!("/portal/sessions/{}/calendar.ics", robins.id),
        format!("/portal/invoices/{}", invoice.id),
        "/portal/sessions/999999/cancel".to_owned(),
    ] {
        browser
            .get(&path)
            .await
            .assert_status(StatusCode::NOT_FOUND);
    }
    browser
        .post(
            &format!("/portal/sessions/{}/cancel", robins.id),
            &[("charge", "0")],
        )
        .await
        .assert_status(StatusCode::NOT_FOUND);
    assert_eq!(
        sessions_of(&app, robin).await[0].status,
        SessionStatus::Scheduled
    );
    let invoices = browser.get("/portal/invoices").await;
    assert!(invoices.body.contains("You have no invoices yet"));

    let entries = audit(&app).await;
    let refused = entries_of(&entries, AuditAction::AccessRefused);
    assert_eq!(refused.len(), 5, "{refused:?}");
    assert!(refused.iter().all(|e| e.actor == Actor::Client(kim)));
    assert_eq!(refused[0].client, Some(robin));
    assert_eq!(
        (refused[0].object_kind.as_deref(), refused[0].object_id),
        (Some("session"), Some(robins.id.get()))
    );
    assert_eq!(
        (refused[2].object_kind.as_deref(), refused[2].client),
        (Some("invoice"), Some(robin))
    );
    assert_eq!(refused[3].client, None, "no such session");
    assert!(
        entries_of(&entries, AuditAction::PortalViewed)
            .iter()
            .all(|e| e.client == Some(kim)),
        "Kim only ever saw Kim's own pages"
    );

    // Robin sees the invoice.
    let robin_browser = Browser::new(&app);
    sign_in(&app, &robin_browser, ROBIN).await;
    let list = robin_browser.get("/portal/invoices").await;
    assert!(
        list.body
            .contains(&format!("/portal/invoices/{}", invoice.id))
    );
    let shown = decode_entities(
        &robin_browser
            .get(&format!("/portal/invoices/{}", invoice.id))
            .await
            .body,
    );
    assert!(
        shown.contains("Invoice 1") && shown.contains("£70"),
        "{shown}"
    );
    let calendar = robin_browser
        .get(&format!("/portal/sessions/{}/calendar.ics", robins.id))
        .await;
    calendar.assert_status(StatusCode::OK);
    assert_eq!(
        calendar.header("content-type"),
        Some("text/calendar; charset=utf-8")
    );
    assert!(calendar.body.contains(&format!("UID:{}", robins.uid)));
    assert!(
        calendar
            .body
            .contains("SUMMARY:Appointment with Alex Morgan")
    );
    ics_parses(&calendar.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_details_are_checked_at_the_field_and_saved_whole() {
    let app = TestApp::spawn().await;
    let robin = robin_on_mondays(&app).await;
    let browser = Browser::new(&app);
    sign_in(&app, &browser, ROBIN).await;
    let form = browser.get("/portal/details").await;
    form.assert_status(StatusCode::OK);
    assert!(form.body.contains("value=\"robin@example.com\""));

    let bad = browser
        .post(
            "/portal/details",
            &[
                ("email", "robin.new@example"),
                ("phone", ""),
                ("contact_preference", "phone"),
                ("reminders", "no"),
            ],
        )
        .await;
    bad.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.title().starts_with("Error: "));
    assert!(
        bad.body
            .contains("Enter an email address in the right format")
    );
    assert!(
        bad.body
            .contains("Enter a phone number, or choose to be contacted by email")
    );
    assert!(
        bad.body.contains("value=\"robin.new@example\""),
        "kept as typed"
    );
    let unchanged = app.store.client(app.practice, robin).await.unwrap();
    assert_eq!(
        (unchanged.email.as_str(), unchanged.reminders),
        (ROBIN, true),
        "nothing half stored"
    );
    browser
        .post(
            "/portal/details",
            &[
                ("email", ROBIN),
                ("contact_preference", "email"),
                ("reminders", "maybe"),
            ],
        )
        .await
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY);

    // The phone, preference and reminders are saved at once; the new address waits for
    // its link to be followed.
    browser
        .post(
            "/portal/details",
            &[
                ("email", "robin.vale@example.com"),
                ("phone", "07700 900 982"),
                ("contact_preference", "phone"),
                ("reminders", "no"),
            ],
        )
        .await
        .assert_redirect("/portal/details?confirm=1");
    let saved = app.store.client(app.practice, robin).await.unwrap();
    assert_eq!(
        saved.email.as_str(),
        ROBIN,
        "not until the link is followed"
    );
    assert_eq!(
        saved.phone.map(|p| p.to_string()).as_deref(),
        Some("07700 900 982")
    );
    assert_eq!(saved.contact_preference, ContactPreference::Phone);
    assert!(!saved.reminders);
    assert_eq!(saved.name.as_str(), "Robin Vale", "the name stays");
    let outbox = app.outbox().await;
    assert_eq!(confirmations_to(&outbox, "robin.vale@example.com"), 1);
    assert!(
        !outbox.iter().any(|m| m.kind == "portal_email_changed"),
        "nothing has changed yet"
    );
    let entries = audit(&app).await;
    let changed = entries_of(&entries, AuditAction::PortalDetailsChanged);
    assert_eq!(changed.len(), 1, "only the change that was saved");
    assert_eq!(changed[0].client, Some(robin));
    // Saving again without changing the address sends nothing.
    browser
        .post(
            "/portal/details",
            &[
                ("email", ROBIN),
                ("phone", ""),
                ("contact_preference", "email"),
                ("reminders", "yes"),
            ],
        )
        .await
        .assert_redirect("/portal/details?saved=1");
    let page = browser.get("/portal/details?saved=1").await;
    assert!(page.body.contains("Your details have been saved."));
    assert_eq!(
        app.outbox()
            .await
            .iter()
            .filter(|m| m.kind == CONFIRM_KIND)
            .count(),
        1
    );
    assert!(
        app.store
            .client(app.practice, robin)
            .await
            .unwrap()
            .reminders
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_route_refuses_anonymous_visitors_and_staff() {
    use web::access::{Rule, rules};
    let app = TestApp::spawn().await;
    let robin = robin_on_mondays(&app).await;
    let session = sessions_of(&app, robin).await.remove(0);
    app.sign_in().await;
    let client_routes: Vec<_> = rules().iter().filter(|r| r.rule == Rule::Client).collect();
    assert!(client_routes.len() >= 8, "{client_routes:?}");
    for route in client_routes {
        assert!(route.path.starts_with("/portal"), "{}", route.path);
        let path = route.path.replace("{id}", &session.id.to_string());
        let (anonymous, staff) = match route.method {
            "GET" => (app.get(&path).await, app.office_get(&path).await),
            _ => (
                app.post_form(&path, &[("charge", "0")]).await,
                app.office_post(&path, &[("charge", "0")]).await,
            ),
        };
        for (who, reply) in [("anonymous", anonymous), ("staff", staff)] {
            assert_eq!(
                reply.location(),
                Some("/portal/sign-in"),
                "{who} {} {path}: {}",
                route.method,
                reply.status
            );
        }
    }
    assert_eq!(
        sessions_of(&app, robin).await[0].status,
        SessionStatus::Scheduled
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_portal_link_emails_have_sealed_secrets_opened() {
    let app = TestApp::spawn().await;
    app.post_form("/contact", &crate::helpers::enquiry_form(&[]))
        .await
        .assert_status(StatusCode::SEE_OTHER);
    let stored = app.outbox().await.remove(0);
    // Text someone typed that looks like a sealed secret is just text, sent as it is.
    let typed = store::OutboxMessage {
        body_text: "Hello {{sealed:not-a-secret}} there".into(),
        ..stored.clone()
    };
    assert_eq!(
        app.state.prepare_outgoing(&typed).await.unwrap(),
        "Hello {{sealed:not-a-secret}} there"
    );
    // The same text in a sign-in email, or in the email that confirms a new address, does
    // not open: the email waits, nothing is sent.
    for kind in ["portal_link", CONFIRM_KIND] {
        let link = store::OutboxMessage {
            kind: kind.into(),
            ..typed.clone()
        };
        assert!(app.state.prepare_outgoing(&link).await.is_err(), "{kind}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clients_own_download_leaves_out_notes_and_private_links() {
    let app = TestApp::spawn().await;
    let robin = robin_on_mondays(&app).await;
    let session = sessions_of(&app, robin).await.remove(0);
    app.sign_in().await;
    app.office_post(
        &format!("/office/sessions/{}/note", session.id),
        &[(
            "note",
            "portal-export-canary-71c: a note for the therapist only",
        )],
    )
    .await
    .assert_status(StatusCode::SEE_OTHER);
    // The therapist's own export has the note, decrypted.
    let office = app
        .office_post(&format!("/office/clients/{robin}/export"), &[])
        .await;
    office.assert_status(StatusCode::OK);
    assert!(office.body.contains("portal-export-canary-71c"));
    assert!(office.body.contains("\"notes\": {"));
    assert!(
        office.body.contains("\"source\": \""),
        "the practice sees where staff worked from"
    );

    let browser = Browser::new(&app);
    sign_in(&app, &browser, ROBIN).await;
    let own = browser.get("/portal/data").await;
    own.assert_status(StatusCode::OK);
    assert_eq!(own.header("content-type"), Some("application/zip"));
    assert!(!own.body.contains("portal-export-canary-71c"), "no notes");
    assert!(own.body.contains("notes are not in this download"));
    assert!(!own.body.contains("\"notes\": {"), "no notes record at all");
    assert!(
        !own.body.contains("\"source\": \""),
        "not the addresses staff worked from"
    );
    // The sign-in email's link, and any other private link, is not in it.
    for prefix in ["/portal/link/", "/booking/", "/invoice/"] {
        let mut rest = own.body.as_str();
        while let Some(at) = rest.find(prefix) {
            let after = &rest[at + prefix.len()..];
            let secret = after.bytes().take_while(u8::is_ascii_hexdigit).count();
            assert!(secret < 32, "a private link {prefix}… is in the download");
            rest = after;
        }
    }
}

// ---- Changing the email address -------------------------------------------------------

/// The outbox kind of the email that confirms a new address.
const CONFIRM_KIND: &str = "portal_email_confirm";

fn confirmations_to(outbox: &[store::OutboxMessage], to: &str) -> usize {
    outbox
        .iter()
        .filter(|m| m.kind == CONFIRM_KIND && m.to.as_str().eq_ignore_ascii_case(to))
        .count()
}

/// The path of the newest confirmation link emailed to `to`, checking that it waits in the
/// outbox sealed and names nobody.
async fn confirmation_link(app: &TestApp, to: &str) -> String {
    let message = app
        .outbox()
        .await
        .into_iter()
        .find(|m| m.kind == CONFIRM_KIND && m.to.as_str().eq_ignore_ascii_case(to))
        .expect("a confirmation email");
    assert!(
        !message.body_text.contains("/portal/email/"),
        "the link waits in the outbox sealed"
    );
    let sent = app
        .state
        .prepare_outgoing(&message)
        .await
        .expect("the link opens for sending");
    for name in ["Robin", "Vale", "Kim", "Ash"] {
        assert!(!sent.contains(name), "the email names nobody: {sent}");
    }
    let start = sent.find("/portal/email/").expect("a link in the email");
    sent[start..start + "/portal/email/".len() + 64].to_owned()
}

/// Submit the details form with `email` and otherwise Robin's details as seeded.
async fn change_email(browser: &Browser, email: &str) -> Reply {
    browser
        .post(
            "/portal/details",
            &[
                ("email", email),
                ("phone", ""),
                ("contact_preference", "email"),
                ("reminders", "yes"),
            ],
        )
        .await
}

async fn email_of(app: &TestApp, client: ClientId) -> String {
    app.store
        .client(app.practice, client)
        .await
        .unwrap()
        .email
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_answers_the_same_for_a_clients_address_and_a_strangers() {
    let app = TestApp::spawn().await;
    let robin = robin_on_mondays(&app).await;
    let kim = add_client(&app, "Kim Ash", "kim@example.com").await;
    let browser = Browser::new(&app);
    sign_in(&app, &browser, ROBIN).await;

    let for_a_client = change_email(&browser, "KIM@example.com").await;
    let for_a_client_page = browser.get("/portal/details?confirm=1").await;
    let for_a_stranger = change_email(&browser, "somebody.new@example.org").await;
    let for_a_stranger_page = browser.get("/portal/details?confirm=1").await;

    for_a_client.assert_redirect("/portal/details?confirm=1");
    assert_eq!(for_a_client.status, for_a_stranger.status);
    assert_eq!(for_a_client.location(), for_a_stranger.location());
    assert_eq!(for_a_client.body, for_a_stranger.body, "byte for byte");
    for_a_client_page.assert_status(StatusCode::OK);
    assert_eq!(
        for_a_client_page.body, for_a_stranger_page.body,
        "the page after it too, byte for byte"
    );
    let said = for_a_client_page.decoded();
    assert!(
        said.contains(
            "We have sent a link to the new email address. Your email address will change \
             when you follow the link, which works for 24 hours. Until then, we will keep \
             writing to robin@example.com."
        ),
        "{said}"
    );
    for never in [
        "KIM@example.com",
        "kim@example.com",
        "somebody.new",
        "another record",
    ] {
        assert!(!said.contains(never), "{never} on the page");
    }

    // Nothing changes until a link is followed; each new address was sent its link.
    assert_eq!(email_of(&app, robin).await, ROBIN);
    assert_eq!(email_of(&app, kim).await, "kim@example.com");
    let outbox = app.outbox().await;
    assert_eq!(confirmations_to(&outbox, "kim@example.com"), 1);
    assert_eq!(confirmations_to(&outbox, "somebody.new@example.org"), 1);
    assert!(!outbox.iter().any(|m| m.kind == "portal_email_changed"));
    let kims = confirmation_link(&app, "kim@example.com").await;
    confirmation_link(&app, "somebody.new@example.org").await;
    // The newer request replaced the older one.
    Browser::new(&app)
        .get(&kims)
        .await
        .assert_status(StatusCode::GONE);

    let entries = audit(&app).await;
    let requested = entries_of(&entries, AuditAction::PortalEmailChangeRequested);
    assert_eq!(requested.len(), 2);
    assert!(
        requested
            .iter()
            .all(|e| (e.actor, e.client) == (Actor::Client(robin), Some(robin)))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn following_the_link_changes_the_address_once_and_tells_the_old_one() {
    let app = TestApp::spawn().await;
    let robin = robin_on_mondays(&app).await;
    let browser = Browser::new(&app);
    sign_in(&app, &browser, ROBIN).await;
    change_email(&browser, "robin.vale@example.com")
        .await
        .assert_redirect("/portal/details?confirm=1");
    let link = confirmation_link(&app, "robin.vale@example.com").await;
    let email = app
        .outbox()
        .await
        .into_iter()
        .find(|m| m.kind == CONFIRM_KIND)
        .unwrap();
    assert_eq!(
        email.subject,
        format!("Confirm your new email address for {PRACTICE_NAME}")
    );
    let sent = app.state.prepare_outgoing(&email).await.unwrap();
    for needed in ["works once, for 24 hours", "If you did not ask for this"] {
        assert!(sent.contains(needed), "{needed}: {sent}");
    }

    // Opened anywhere, by a mail scanner or the person, without signing in: nothing changes.
    let inbox = Browser::new(&app);
    for _ in 0..3 {
        let shown = inbox.get(&link).await;
        shown.assert_status(StatusCode::OK);
        assert!(
            shown
                .body
                .contains(">Confirm my new email address</button>"),
            "{}",
            shown.body
        );
        assert!(shown.set_cookies().is_empty());
        assert_crisis_block(&shown.body);
        assert_eq!(shown.header("cache-control"), Some("no-store"));
        assert_eq!(shown.header("x-robots-tag"), Some("noindex"));
    }
    assert_eq!(email_of(&app, robin).await, ROBIN, "GET changes nothing");
    // Another site's page cannot press the button.
    app.post_form_with(&link, &[], &[("origin", "https://elsewhere.example")])
        .await
        .assert_status(StatusCode::FORBIDDEN);
    assert_eq!(email_of(&app, robin).await, ROBIN);

    let done = inbox.post(&link, &[]).await;
    done.assert_status(StatusCode::OK);
    assert_eq!(done.header("cache-control"), Some("no-store"));
    assert_eq!(done.header("x-robots-tag"), Some("noindex"));
    let said = done.decoded();
    assert!(said.contains("Your email address has changed"), "{said}");
    assert!(said.contains("robin.vale@example.com"));
    assert_eq!(email_of(&app, robin).await, "robin.vale@example.com");
    let told: Vec<_> = app
        .outbox()
        .await
        .into_iter()
        .filter(|m| m.kind == "portal_email_changed")
        .collect();
    assert_eq!(told.len(), 1, "the old address is told of the change");
    assert_eq!(told[0].to.as_str(), ROBIN);
    assert!(told[0].body_text.contains("robin.vale@example.com"));
    let entries = audit(&app).await;
    let changed = entries_of(&entries, AuditAction::PortalEmailChanged);
    assert_eq!(changed.len(), 1);
    assert_eq!(
        (changed[0].actor, changed[0].client),
        (Actor::Client(robin), Some(robin))
    );

    // Once only.
    let again = inbox.post(&link, &[]).await;
    again.assert_status(StatusCode::GONE);
    assert!(again.body.contains("This link no longer works"));
    inbox.get(&link).await.assert_status(StatusCode::GONE);
    app.get("/portal/email/not-a-token")
        .await
        .assert_status(StatusCode::NOT_FOUND);
    // The session Robin had goes on; sign-in links now go to the new address.
    browser.get("/portal").await.assert_status(StatusCode::OK);
    sign_in(&app, &Browser::new(&app), "robin.vale@example.com").await;

    // A link followed after 24 hours changes nothing.
    change_email(&browser, "robin.third@example.com")
        .await
        .assert_redirect("/portal/details?confirm=1");
    let late = confirmation_link(&app, "robin.third@example.com").await;
    app.advance_clock(SignedDuration::from_hours(24) + SignedDuration::from_mins(1));
    inbox.get(&late).await.assert_status(StatusCode::GONE);
    let refused = inbox.post(&late, &[]).await;
    refused.assert_status(StatusCode::GONE);
    assert!(refused.decoded().contains("works once, for 24 hours"));
    assert_eq!(email_of(&app, robin).await, "robin.vale@example.com");
    assert_eq!(
        app.outbox()
            .await
            .iter()
            .filter(|m| m.kind == "portal_email_changed")
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clash_when_the_link_is_followed_changes_nothing_and_names_nobody() {
    let app = TestApp::spawn().await;
    let robin = robin_on_mondays(&app).await;
    let kim = add_client(&app, "Kim Ash", "kim@example.com").await;
    let kims_browser = Browser::new(&app);
    sign_in(&app, &kims_browser, "kim@example.com").await;
    let browser = Browser::new(&app);
    sign_in(&app, &browser, ROBIN).await;
    change_email(&browser, "Kim@Example.com")
        .await
        .assert_redirect("/portal/details?confirm=1");
    let link = confirmation_link(&app, "kim@example.com").await;

    // Whoever holds the inbox sees the same button as for any other address.
    let inbox = Browser::new(&app);
    let shown = inbox.get(&link).await;
    shown.assert_status(StatusCode::OK);
    assert!(
        shown
            .body
            .contains(">Confirm my new email address</button>")
    );

    let answer = inbox.post(&link, &[]).await;
    answer.assert_status(StatusCode::CONFLICT);
    assert_crisis_block(&answer.body);
    // What the page itself says (the crisis block below it speaks of "someone else").
    let decoded = answer.decoded();
    let said = decoded
        .split("<main")
        .nth(1)
        .and_then(|main| main.split("</main>").next())
        .expect("the page's main content");
    assert!(
        said.contains("Your email address could not be changed"),
        "{said}"
    );
    assert!(said.contains("Please contact the practice"));
    for never in [
        "Kim",
        "Ash",
        "kim@example.com",
        "Robin",
        "robin@example.com",
        "another",
        "already",
        "someone else",
        "belongs",
    ] {
        assert!(!said.contains(never), "{never:?} on the page:\n{said}");
    }
    assert_eq!(email_of(&app, robin).await, ROBIN, "nothing changes");
    assert_eq!(email_of(&app, kim).await, "kim@example.com");
    // The link is used up.
    inbox.post(&link, &[]).await.assert_status(StatusCode::GONE);

    // The practice is told, neutrally, which two records to look at; nobody else is told.
    let outbox = app.outbox().await;
    assert!(!outbox.iter().any(|m| m.kind == "portal_email_changed"));
    let notice = outbox
        .iter()
        .find(|m| m.kind == "portal_email_clash_notice")
        .expect("the practice is told");
    assert_eq!(notice.to.as_str(), NOTIFY_EMAIL);
    for record in [robin, kim] {
        assert!(
            notice
                .body_text
                .contains(&format!("/office/clients/{record}")),
            "{}",
            notice.body_text
        );
    }
    for never in ["Kim", "Robin", "kim@", "robin@"] {
        assert!(
            !notice.body_text.contains(never) && !notice.subject.contains(never),
            "{never}: {}",
            notice.body_text
        );
    }
    let entries = audit(&app).await;
    let refused = entries_of(&entries, AuditAction::PortalEmailChangeRefused);
    assert_eq!(refused.len(), 1);
    assert_eq!(
        (
            refused[0].client,
            refused[0].object_kind.as_deref(),
            refused[0].object_id
        ),
        (None, Some("client"), Some(robin.get())),
        "in the practice's log, not in what Robin's own download shows"
    );
    assert!(entries_of(&entries, AuditAction::PortalEmailChanged).is_empty());

    // Robin's own download does not say the link was followed.
    let own = browser.get("/portal/data").await;
    own.assert_status(StatusCode::OK);
    for never in [
        "email_change_refused",
        "another client record",
        "kim@example.com",
    ] {
        assert!(!own.body.contains(never), "{never} in Robin's download");
    }
    // Kim's session is untouched, and Kim can still sign in with the address.
    kims_browser
        .get("/portal")
        .await
        .assert_status(StatusCode::OK);
    sign_in(&app, &Browser::new(&app), "kim@example.com").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_requests_at_once_send_no_more_than_five_links() {
    let app = TestApp::spawn().await;
    let robin = robin_on_mondays(&app).await;
    let browser = Browser::new(&app);
    sign_in(&app, &browser, ROBIN).await;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..20 {
        let browser = browser.clone();
        tasks.spawn(async move { change_email(&browser, &format!("robin.{n}@example.org")).await });
    }
    let (mut sent, mut refused) = (0, 0);
    while let Some(reply) = tasks.join_next().await {
        let reply = reply.unwrap();
        match reply.status {
            StatusCode::SEE_OTHER => {
                reply.assert_redirect("/portal/details?confirm=1");
                sent += 1;
            }
            StatusCode::UNPROCESSABLE_ENTITY => {
                assert!(reply.title().starts_with("Error: "));
                assert!(
                    reply.decoded().contains(
                        "You have asked to change your email address 5 times in the last hour"
                    ),
                    "{}",
                    reply.body
                );
                refused += 1;
            }
            other => panic!("unexpected {other}: {}", reply.body),
        }
    }
    assert_eq!((sent, refused), (5, 15));
    let outbox = app.outbox().await;
    assert_eq!(
        outbox.iter().filter(|m| m.kind == CONFIRM_KIND).count(),
        5,
        "five links, however many ask at once"
    );
    assert_eq!(email_of(&app, robin).await, ROBIN);
    // Refused, nothing else on the form is saved either.
    browser
        .post(
            "/portal/details",
            &[
                ("email", "robin.more@example.org"),
                ("phone", "07700 900 982"),
                ("contact_preference", "phone"),
                ("reminders", "no"),
            ],
        )
        .await
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let kept = app.store.client(app.practice, robin).await.unwrap();
    assert_eq!((kept.phone, kept.reminders), (None, true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_usable_confirmation_link_is_stored() {
    let app = TestApp::spawn().await;
    robin_on_mondays(&app).await;
    let browser = Browser::new(&app);
    sign_in(&app, &browser, ROBIN).await;
    change_email(&browser, "robin.vale@example.com")
        .await
        .assert_redirect("/portal/details?confirm=1");
    let link = confirmation_link(&app, "robin.vale@example.com").await;
    let token = link.trim_start_matches("/portal/email/");
    assert_eq!(token.len(), 64);
    assert!(!app.database_contains(token), "only the token's hash");
    assert!(!app.database_contains(&link));
    assert!(
        app.database_contains_bytes(&sha256(token)),
        "the hash is what is stored"
    );
}
