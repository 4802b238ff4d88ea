//! The restore drill (issue 15): the demo practice backed up while bookings keep arriving
//! through the API, then restored into a new folder, where every table equals the backup's,
//! the audit chain verifies and the practice serves.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use crate::cli::{self, Server, every_table, run};
use crate::full_disk::{booking_json, bookings, free_times_from, status_of};

/// Book `start` through the API of the server on `port`; the status.
fn book_at(port: u16, start: &str) -> u16 {
    let body = booking_json(start);
    let answer = cli::request_at(
        port,
        &format!(
            "POST /api/v1/bookings HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    status_of(&answer)
}

#[test]
fn a_busy_demo_backed_up_while_bookings_arrive_restores_table_for_table() {
    let root = tempfile::tempdir().expect("a temporary folder");
    let data = root.path().join("demo");
    let data_arg = data.to_str().expect("UTF-8").to_owned();
    let mut demo = Server::start(
        "umask 077",
        &[
            "demo",
            "--data-dir",
            &data_arg,
            "--demo-password",
            "restore drill 55",
        ],
    );
    demo.drain();
    demo.stop();
    let server = Server::start(
        "umask 077",
        &["serve", "--data-dir", &data_arg, "--no-rate-limits"],
    );
    let today: jiff::civil::Date = jiff::Timestamp::now().to_string()[..10]
        .parse()
        .expect("today");
    let later = today
        .checked_add(jiff::Span::new().days(90))
        .expect("a date");
    let times = free_times_from(&server, &format!("&from={today}&to={later}"));
    assert!(times.len() > 20, "the demo has free times");

    // Bookings keep arriving while the backup is taken.
    let stop = Arc::new(AtomicBool::new(false));
    let busy = {
        let (stop, port) = (stop.clone(), server.port);
        std::thread::spawn(move || {
            let mut made = 0;
            for start in times.iter().cycle() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                match book_at(port, start) {
                    201 => made += 1,
                    409 => {} // booked already: the list goes round
                    other => panic!("booking answered {other}"),
                }
            }
            made
        })
    };
    while bookings(&data.join("anteroom.db")) < 3 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let backup = root.path().join("busy.db");
    run(
        "umask 077",
        &[
            "backup",
            backup.to_str().expect("UTF-8"),
            "--data-dir",
            &data_arg,
        ],
        "",
    );
    stop.store(true, Ordering::SeqCst);
    let made = busy.join().expect("the bookings");
    server.stop();
    let live = bookings(&data.join("anteroom.db"));
    let backed_up = bookings(&backup);
    assert!(
        made > 0 && backed_up < live + 1,
        "{backed_up} backed up of {live}"
    );

    // Into a new folder, the key file kept apart: table for table the backup, and it serves.
    let fresh = root.path().join("restored");
    let key = data.join("anteroom.key");
    run(
        "umask 077",
        &[
            "restore",
            backup.to_str().expect("UTF-8"),
            "--data-dir",
            fresh.to_str().expect("UTF-8"),
            "--key-file",
            key.to_str().expect("UTF-8"),
        ],
        "",
    );
    let tables = every_table(&backup);
    assert!(
        tables
            .iter()
            .any(|(name, rows)| name == "bookings" && !rows.is_empty())
    );
    assert_eq!(
        every_table(&fresh.join("anteroom.db")),
        tables,
        "every table as backed up"
    );
    let verified = run(
        "umask 077",
        &[
            "audit",
            "verify",
            "--data-dir",
            fresh.to_str().expect("UTF-8"),
        ],
        "",
    );
    assert!(verified.contains("intact"), "{verified}");
    let restored = Server::start(
        "umask 077",
        &[
            "serve",
            "--data-dir",
            fresh.to_str().expect("UTF-8"),
            "--key-file",
            key.to_str().expect("UTF-8"),
        ],
    );
    for path in [
        "/",
        "/api/v1/availability?type=consultation&location=online",
    ] {
        let page = restored.get(None, path);
        assert_eq!(status_of(&page), 200, "{path} from the restored practice");
    }
    restored.stop();
}
