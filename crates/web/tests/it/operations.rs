//! Operations (issue 15): the probes, a request id on every response, and the metrics,
//! labelled by route pattern and holding no client data.

use domain::{ContactPreference, EmailAddress, PersonName};
use reqwest::StatusCode;
use store::NewClient;

use crate::helpers::TestApp;

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
    let served = tokio::spawn(async move {
        axum::serve(listener, web::metrics_app(app.state.clone()))
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
