//! Connections: slow or idle clients are closed in time, and shutting down drains.
//!
//! These speak HTTP/1.1 by hand over TCP, so they can stop half-way through a request.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use web::ServeOptions;

use crate::helpers::TestApp;

/// Short limits, so the tests take seconds.
fn short() -> ServeOptions {
    ServeOptions {
        header_timeout: Duration::from_secs(1),
        shutdown_grace: Duration::from_secs(2),
    }
}

/// Generous: a loaded machine may be slow to schedule a timer, never early.
const DEADLINE: Duration = Duration::from_secs(8);

/// A connection that has sent the start of a request head and nothing more.
async fn half_sent(app: &TestApp) -> TcpStream {
    let mut stream = TcpStream::connect(app.addr()).await.expect("connect");
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("send half a request head");
    stream
}

/// A form post to /contact whose head the app has read and whose body it is waiting for
/// (it has answered `Expect: 100-continue`); `first` of the body has been sent.
async fn post_in_flight(app: &TestApp, length: usize, first: &str) -> TcpStream {
    let mut stream = TcpStream::connect(app.addr()).await.expect("connect");
    let head = format!(
        "POST /contact HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {length}\r\nExpect: 100-continue\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("send");
    let mut seen = Vec::new();
    let mut buffer = [0_u8; 256];
    tokio::time::timeout(DEADLINE, async {
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buffer).await.expect("read");
            assert!(n > 0, "closed before 100 Continue");
            seen.extend_from_slice(&buffer[..n]);
        }
    })
    .await
    .expect("the app asked for the body in time");
    let interim = String::from_utf8_lossy(&seen);
    assert!(interim.starts_with("HTTP/1.1 100"), "{interim}");
    stream.write_all(first.as_bytes()).await.expect("send");
    stream
}

/// Read until the server closes the connection; how long that took, or `None` if it was
/// still open at `deadline`.
async fn closed_within(stream: &mut TcpStream, deadline: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buffer = [0_u8; 1024];
    let closed = tokio::time::timeout(deadline, async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    closed.ok().map(|()| started.elapsed())
}

/// Read one response (headers and a `Content-Length` body); its status line and body.
async fn read_response(stream: &mut TcpStream) -> (String, String) {
    let mut bytes = Vec::new();
    let mut buffer = [0_u8; 4096];
    let read = async {
        loop {
            if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
                let length: usize = head
                    .lines()
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse().ok())?
                    })
                    .expect("a Content-Length");
                if bytes.len() >= end + 4 + length {
                    let body = String::from_utf8_lossy(&bytes[end + 4..end + 4 + length]);
                    let status = head.lines().next().unwrap_or_default().to_owned();
                    return (status, body.into_owned());
                }
            }
            let n = stream.read(&mut buffer).await.expect("read the response");
            assert!(n > 0, "the connection closed mid-response");
            bytes.extend_from_slice(&buffer[..n]);
        }
    };
    tokio::time::timeout(DEADLINE, read)
        .await
        .expect("the response came in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_head_that_stops_half_way_is_closed_within_the_header_timeout() {
    let app = TestApp::spawn_serving(short()).await;
    let mut stream = half_sent(&app).await;
    let took = closed_within(&mut stream, DEADLINE)
        .await
        .expect("the server closed the half-sent connection");
    assert!(
        took >= Duration::from_millis(500),
        "closed by the timeout, not at once: {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_kept_alive_connection_is_closed_after_the_idle_time() {
    let app = TestApp::spawn_serving(short()).await;
    let mut stream = TcpStream::connect(app.addr()).await.expect("connect");
    for _ in 0..2 {
        stream
            .write_all(b"GET /robots.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("send a request");
        let (status, body) = read_response(&mut stream).await;
        assert!(status.contains(" 200 "), "{status}");
        assert!(body.contains("User-agent"), "{body}");
    }
    // Two requests on one connection: it is kept alive, and then closed once idle.
    let took = closed_within(&mut stream, DEADLINE)
        .await
        .expect("the server closed the idle connection");
    assert!(
        took >= Duration::from_millis(500),
        "kept for the idle time first: {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_answered_while_50_half_sent_connections_are_held_and_those_are_closed() {
    let app = TestApp::spawn_serving(ServeOptions {
        header_timeout: Duration::from_secs(2),
        ..short()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..50 {
        held.push(half_sent(&app).await);
    }
    // Not kept alive: by the last request it would have been idle past the time limit, and
    // the client could pick it just as the server closes it.
    let reply = app.get_with("/", &[("connection", "close")]).await;
    reply.assert_status(StatusCode::OK);
    assert!(reply.body.contains("Larchwood"), "the home page");
    for (i, stream) in held.iter_mut().enumerate() {
        assert!(
            closed_within(stream, DEADLINE).await.is_some(),
            "half-sent connection {i} is still open"
        );
    }
    app.get("/about").await.assert_status(StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_down_finishes_the_request_in_flight_and_refuses_new_connections() {
    let mut app = TestApp::spawn_serving(ServeOptions {
        header_timeout: Duration::from_secs(5),
        shutdown_grace: Duration::from_secs(5),
    })
    .await;
    let addr = app.addr();
    let idle = TcpStream::connect(addr).await.expect("connect");
    // A request whose head the app has read and whose body is still coming.
    let body = "name=Sam&email=sam%40example.org&message=Hello";
    let mut in_flight = post_in_flight(&app, body.len(), &body[..10]).await;
    let probe_until = Instant::now() + DEADLINE;
    let server = app.begin_shutdown();
    // New connections are refused once the listener is closed.
    loop {
        match TcpStream::connect(addr).await {
            Err(_) => break,
            Ok(_) if Instant::now() < probe_until => tokio::task::yield_now().await,
            Ok(_) => panic!("still accepting connections after shutdown began"),
        }
    }
    assert!(!server.is_finished(), "it waits for the request in flight");
    in_flight
        .write_all(&body.as_bytes()[10..])
        .await
        .expect("send the rest of the body");
    let (status, _) = read_response(&mut in_flight).await;
    assert!(
        status.contains(" 422 ") || status.contains(" 303 "),
        "the request in flight was answered: {status}"
    );
    assert!(
        closed_within(&mut in_flight, DEADLINE).await.is_some(),
        "and its connection closed after the answer"
    );
    tokio::time::timeout(DEADLINE, server)
        .await
        .expect("shutdown finished")
        .expect("the server task")
        .expect("served without error");
    drop(idle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_down_waits_no_longer_than_the_grace_period() {
    let mut app = TestApp::spawn_serving(ServeOptions {
        header_timeout: Duration::from_secs(30),
        shutdown_grace: Duration::from_secs(1),
    })
    .await;
    // A body that never finishes: the handler would wait for it until the request timeout.
    let mut stuck = post_in_flight(&app, 100, "name=").await;
    let started = Instant::now();
    let server = app.begin_shutdown();
    tokio::time::timeout(DEADLINE, server)
        .await
        .expect("shutdown did not wait for the stuck request")
        .expect("the server task")
        .expect("served without error");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "the stuck request had its grace period"
    );
    assert!(closed_within(&mut stuck, DEADLINE).await.is_some());
}
