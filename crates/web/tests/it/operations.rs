//! Operations (issue 15): the probes, a request id on every response, and the metrics,
//! labelled by route pattern and holding no client data.

use domain::{ContactPreference, EmailAddress, PersonName};
use reqwest::StatusCode;
use store::NewClient;

use crate::helpers::TestApp;

/// How long a wait for the app may take before the test gives up (never reached unless
/// something is broken).
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

/// `http://127.0.0.1:PORT` of the app, whatever host its pages answer on.
fn by_address(app: &TestApp) -> String {
    let port = app.base.rsplit_once(':').map(|(_, port)| port).unwrap();
    format!("http://127.0.0.1:{port}")
}

async fn plain_get(url: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let response = reqwest::get(url).await.expect("GET");
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.text().await.expect("the body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probes_answer_by_address_and_readiness_needs_the_key_file() {
    // Hosted mode: the address is no practice's host, and the probes answer all the same.
    let app = TestApp::spawn_hosted().await;
    let base = by_address(&app);
    assert_eq!(
        plain_get(&format!("{base}/")).await.0,
        StatusCode::NOT_FOUND,
        "no practice answers on the bare address"
    );
    let (status, headers, body) = plain_get(&format!("{base}/healthz")).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok\n"));
    assert!(headers.get("set-cookie").is_none());
    assert_eq!(headers["cache-control"], "no-store");
    let (status, _, body) = plain_get(&format!("{base}/readyz")).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ready\n"));
    // A probe is a GET: anything else goes on to the site as any request does.
    let posted = reqwest::Client::new()
        .post(format!("{base}/healthz"))
        .send()
        .await
        .unwrap();
    assert_ne!(posted.status(), StatusCode::OK);

    let locked = TestApp::spawn_without_key().await;
    let (status, _, body) = plain_get(&format!("{}/readyz", by_address(&locked))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body, "not ready: no key file is open\n");
    let (status, _, _) = plain_get(&format!("{}/healthz", by_address(&locked))).await;
    assert_eq!(status, StatusCode::OK, "alive, though not ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_a_request_id_of_its_own() {
    let app = TestApp::spawn().await;
    let first = app.get("/").await;
    let second = app.get("/no-such-page").await;
    let id =
        |reply: &crate::helpers::Reply| reply.headers["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(id(&first), id(&second));
    assert_eq!(
        id(&first).split('-').next(),
        id(&second).split('-').next(),
        "one process, one prefix"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_routes_by_pattern_on_their_own_listener_and_name_nobody() {
    let app = TestApp::spawn().await;
    let client = app
        .store
        .create_client(
            app.practice,
            &NewClient {
                name: PersonName::parse("Marigold Quarrie").unwrap(),
                email: EmailAddress::parse("marigold.quarrie@example.com").unwrap(),
                phone: None,
                contact_preference: ContactPreference::Email,
                reminders: true,
            },
            None,
            app.clock.now(),
        )
        .await
        .unwrap();
    app.sign_in().await;
    let page = app.office_get(&format!("/office/clients/{client}")).await;
    page.assert_status(StatusCode::OK);
    assert!(page.decoded().contains("Marigold Quarrie"));
    app.get("/no-such-page").await;
    // The site's own address does not serve them.
    assert_eq!(app.get("/metrics").await.status, StatusCode::NOT_FOUND);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = listener.local_addr().unwrap();
    let state = app.state.clone();
    let served = tokio::spawn(async move {
        axum::serve(listener, web::metrics_app(state))
            .await
            .unwrap();
    });
    let (status, headers, text) = plain_get(&format!("http://{at}/metrics")).await;
    served.abort();
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    for line in [
        r#"anteroom_http_requests_total{route="/office/clients/{id}",status="200"} 1"#,
        r#"anteroom_http_requests_total{route="unmatched",status="404"} 2"#,
        "anteroom_database_up 1",
        "anteroom_outbox_pending 0",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
    }
    assert!(text.contains(r#"anteroom_db_pool_connections{pool="#));
    for private in [
        "Marigold",
        "Quarrie",
        "marigold.quarrie",
        &format!("/office/clients/{client}\""),
    ] {
        assert!(!text.contains(private), "{private} in the metrics");
    }
}

/// Past the limit of requests served at once, a request is answered at once with 503, a
/// `Retry-After` and the site's own page, not queued; once the requests in flight finish,
/// the site serves normally again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_requests_in_flight_the_site_answers_busy_at_once_and_recovers() {
    use tokio::io::AsyncWriteExt as _;
    let app = TestApp::spawn_with_limits(web::RateLimits {
        in_flight: 1,
        ..web::RateLimits::default()
    })
    .await;
    app.get("/").await.assert_status(StatusCode::OK);
    // One request held in flight: a form post whose body never finishes arriving.
    let port = app.base.rsplit_once(':').map(|(_, port)| port).unwrap();
    let hold = || async {
        let mut held = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
            .await
            .unwrap();
        held.write_all(
            format!(
                "POST /contact HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: {}\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 400\r\n\r\nname=Sam",
                app.base
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        held.flush().await.unwrap();
        held
    };
    let mut held = hold().await;
    // Wait until it holds the place (the probes are not limited, and say so). If it came
    // while one of these requests was being served, it was turned away itself (it has an
    // answer): hold the place again.
    let waiting = std::time::Instant::now();
    let busy = loop {
        assert!(waiting.elapsed() < PATIENCE, "never busy");
        let reply = app.get("/").await;
        if reply.status == StatusCode::SERVICE_UNAVAILABLE {
            break reply;
        }
        let mut answer = [0u8; 64];
        match held.try_read(&mut answer) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            _ => held = hold().await,
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(busy.headers["retry-after"], "2");
    assert!(
        busy.body.contains("<html") && busy.body.contains("try again"),
        "the site's own page: {}",
        busy.body
    );
    let api = app.get("/api/v1/availability").await;
    assert_eq!(api.status, StatusCode::SERVICE_UNAVAILABLE);
    // The document's `Error`, with the wait in the body as well as in `Retry-After`.
    let body: serde_json::Value = serde_json::from_str(&api.body).expect("JSON");
    assert_eq!(
        body,
        serde_json::json!({ "error": "busy", "retry_after": 2 }),
        "{}",
        api.body
    );
    let (status, _, _) = plain_get(&format!("{}/healthz", by_address(&app))).await;
    assert_eq!(status, StatusCode::OK, "liveness is not shed");
    // The held request ends: the site serves again.
    drop(held);
    let waiting = std::time::Instant::now();
    loop {
        assert!(waiting.elapsed() < PATIENCE, "it never happened");
        let reply = app.get("/").await;
        if reply.status == StatusCode::OK {
            break;
        }
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// While the mail server refuses, Today says emails are not going out (how many, since
/// when) and the outbox shows what the server said; once it accepts again, everything
/// goes and the notice is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_outage_shows_on_today_until_the_mail_goes() {
    let app = TestApp::spawn().await;
    app.sink.refuse(true);
    app.post_form("/contact", &crate::helpers::enquiry_form(&[]))
        .await
        .assert_status(StatusCode::SEE_OTHER);
    // The worker tries at once and is refused.
    let waiting = std::time::Instant::now();
    loop {
        assert!(waiting.elapsed() < PATIENCE, "it never happened");
        let outbox = app.outbox().await;
        if outbox.iter().any(|m| m.attempts > 0) {
            break;
        }
        app.state.mail_queued();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    app.sign_in().await;
    let today = app.office_get("/office").await.decoded();
    assert!(
        today.contains("Emails are not going out at the moment.")
            && today.contains("1 email is waiting to be tried again"),
        "{today}"
    );
    let outbox = app.office_get("/office/outbox").await.decoded();
    assert!(outbox.contains("451"), "the server's words: {outbox}");

    app.sink.refuse(false);
    app.advance_clock(jiff::SignedDuration::from_mins(2));
    let waiting = std::time::Instant::now();
    loop {
        assert!(waiting.elapsed() < PATIENCE, "it never happened");
        if app
            .outbox()
            .await
            .iter()
            .all(|m| m.status == store::MessageStatus::Sent)
        {
            break;
        }
        app.state.mail_queued();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(app.sink.received().len(), 1);
    let today = app.office_get("/office").await.decoded();
    assert!(!today.contains("Emails are not going out"));
}
