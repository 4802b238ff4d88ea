//! Two `anteroom serve --hosted` processes on one PostgreSQL database, as a host runs them
//! behind a load balancer: two hundred people asking for the same time at once, half
//! through each process, make exactly one booking; everyone else is told it has gone.

use std::sync::Arc;

use crate::cli::{PASSWORD, Server, run};

const DEMO_PRACTICE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../content/demo/practice.toml"
);
const NOW: &str = "2027-03-25T09:00:00Z";

fn postgres_database() -> Option<store_postgres::testing::TestDatabase> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(store_postgres::testing::TestDatabase::create())
}

/// `serve --hosted` on the database, on a port of its own.
fn serve(url: &str, key: &str) -> Server {
    Server::start_reporting(
        "umask 077",
        &[
            "serve",
            "--database-url",
            url,
            "--key-file",
            key,
            "--hosted",
            "--base-domain",
            "localhost",
            // Two hundred requests from one address: the per-address limits would refuse
            // most of them before they reached the question this test asks.
            "--no-rate-limits",
            "--now",
            NOW,
        ],
        "http://localhost:",
    )
}

#[test]
fn two_processes_on_one_database_make_one_booking_of_one_time() {
    let Some(db) = postgres_database() else {
        return;
    };
    let root = tempfile::tempdir().expect("temp dir");
    let key = root.path().join("host.key");
    let key = key.to_str().unwrap();
    run(
        "umask 077",
        &[
            "practice",
            "create",
            "--database-url",
            &db.url,
            "--key-file",
            key,
            "--host",
            "sam",
            "--email",
            "sam@example.com",
            "--name",
            "Sam Adeyemi",
            "--practice-file",
            DEMO_PRACTICE,
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    let servers = [serve(&db.url, key), serve(&db.url, key)];
    let ports: Vec<u16> = servers.iter().map(|s| s.port).collect();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let (made, gone, other) = runtime.block_on(async move {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .expect("a client");
        let host = |port: u16| format!("sam.localhost:{port}");
        let offered: serde_json::Value = client
            .get(format!(
                "http://127.0.0.1:{}/api/v1/availability?type=consultation&location=balham",
                ports[0]
            ))
            .header("host", host(ports[0]))
            .send()
            .await
            .expect("ask for free times")
            .json()
            .await
            .expect("free times");
        let start = offered["slots"][0]["start"]
            .as_str()
            .unwrap_or_else(|| panic!("a free time: {offered}"))
            .to_owned();
        // Both processes offer it before anyone books.
        let second: serde_json::Value = client
            .get(format!(
                "http://127.0.0.1:{}/api/v1/availability?type=consultation&location=balham",
                ports[1]
            ))
            .header("host", host(ports[1]))
            .send()
            .await
            .expect("ask the second process")
            .json()
            .await
            .expect("free times");
        assert_eq!(second["slots"][0]["start"].as_str(), Some(start.as_str()));

        let barrier = Arc::new(tokio::sync::Barrier::new(200));
        let mut attempts = Vec::new();
        for n in 0..200_u32 {
            let port = ports[(n % 2) as usize];
            let client = client.clone();
            let barrier = Arc::clone(&barrier);
            let body = serde_json::json!({
                "type": "consultation",
                "location": "balham",
                "start": start,
                "name": "Sam Jones",
                "email": format!("person{n}@example.com"),
                "contact_preference": "email",
                "consent": true
            });
            let host = host(port);
            attempts.push(tokio::spawn(async move {
                barrier.wait().await;
                client
                    .post(format!("http://127.0.0.1:{port}/api/v1/bookings"))
                    .header("host", host)
                    .header("idempotency-key", format!("attempt-{n}"))
                    .json(&body)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            }));
        }
        let (mut made, mut gone, mut other) = (0, 0, Vec::new());
        for attempt in attempts {
            match attempt.await.expect("the attempt ran") {
                Ok(201) => made += 1,
                Ok(409) => gone += 1,
                Ok(status) => other.push(status.to_string()),
                Err(error) => other.push(error.to_string()),
            }
        }
        (made, gone, other)
    });
    assert_eq!(other, Vec::<String>::new(), "every answer is 201 or 409");
    assert_eq!(
        (made, gone),
        (1, 199),
        "exactly one booking of the one time"
    );
    for server in servers {
        server.stop();
    }
}
