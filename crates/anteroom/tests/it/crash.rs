//! The crash drill (issue 15): the server killed at random moments under mixed work, then a
//! checker compares what it acknowledged with what survived.
//!
//! A demo practice is seeded three weeks in the past, so that the sessions of those weeks
//! are waiting for their outcomes, then served by `anteroom serve` with an SMTP sink that
//! outlives every server. Each cycle starts the server, sets workers on it (consultations
//! booked and cancelled through the API, notes written, outcomes recorded, invoices made,
//! portal links asked for), and kills it with SIGKILL after a random moment. A booking whose
//! answer never came is sent again after the restart with the same idempotency key.
//!
//! The checker then proves, on the files the kills left behind:
//! * every acknowledged write is there (a booking, its cancellation, a note — read back
//!   through the server, decrypted —, an outcome, an invoice, a portal link's email);
//! * nothing unacknowledged is half there: counts lie between what was acknowledged and
//!   what was tried, every occupying appointment has its occupancy and no other, every
//!   invoice's total is its lines', every recorded outcome has its charge;
//! * no two appointments of the therapist overlap; invoice numbers run with no gap or repeat;
//! * the database is intact and `anteroom audit verify` passes;
//! * every email the sink received, it received once, and each is a message of the outbox;
//!   every message marked sent was received; nothing failed; the rest are still waiting;
//! * the notes' canary never appears in the database files, checked after every kill.
//!
//! `ANTEROOM_DRILL_CYCLES` sets the cycles (20 here, 200 from `cargo xtask drill crash`);
//! `ANTEROOM_DRILL_SEED` replays a run (the seed is printed).

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::cli::{self, Server};

const STAFF_EMAIL: &str = "therapist@example.com";
const STAFF_PASSWORD: &str = "drill password 4242";
/// Written only inside notes, which are sealed before they are stored.
const CANARY: &str = "kestrel-lantern-canary";
const WORKERS: usize = 6;
const DEFAULT_CYCLES: usize = 20;
/// Generous: a debug build on a busy machine is slow, never early.
const PATIENCE: Duration = Duration::from_secs(90);

/// xorshift64*: a small generator whose seed replays a run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n.max(1) as u64).unwrap_or(0)
    }
}

/// A booking the API acknowledged.
struct Booked {
    id: String,
    token: Option<String>,
}

/// What was tried and what was acknowledged, kind by kind.
#[derive(Default)]
struct Ledger {
    booked: Vec<Booked>,
    /// Bookings sent whose answer never came: (idempotency key, body), sent again later.
    unsure: Vec<(String, Value)>,
    bookings_tried: BTreeSet<String>,
    cancelled: BTreeSet<String>,
    notes: Vec<(i64, String)>,
    notes_tried: usize,
    outcomes: BTreeMap<i64, &'static str>,
    outcomes_tried: BTreeSet<i64>,
    /// Outcomes the form refused (422): recording one replans the contract's remaining
    /// sessions, which can clash with a consultation another worker has just booked.
    outcomes_refused: BTreeSet<i64>,
    invoices: Vec<(i64, i64)>,
    invoices_tried: usize,
    links: BTreeMap<String, usize>,
    links_tried: usize,
    /// Answers no drill may see: a server error, or a refusal the drill did not expect.
    wrong: Vec<String>,
    lost: usize,
    resent: usize,
}

/// What the workers share within one cycle.
struct Cycle {
    base: String,
    cookie: String,
    clients: Vec<(i64, String)>,
    sessions: Vec<i64>,
    slots: Vec<Value>,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
    number: usize,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

/// A free port on 127.0.0.1 (the server is told it, so that its address is known before it
/// answers and its forms' origin is that address).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

async fn wait_ready(base: &str) {
    let until = Instant::now() + PATIENCE;
    let http = client();
    loop {
        if let Ok(answer) = http.get(format!("{base}/readyz")).send().await
            && answer.status() == 200
        {
            return;
        }
        assert!(Instant::now() < until, "{base} never became ready");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Sign the therapist in; the session cookie as `name=value`.
async fn sign_in(base: &str) -> String {
    let answer = client()
        .post(format!("{base}/office/sign-in"))
        .header("origin", base)
        .form(&[("email", STAFF_EMAIL), ("password", STAFF_PASSWORD)])
        .send()
        .await
        .expect("sign in");
    assert_eq!(answer.status(), 303, "the therapist signs in");
    answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|c| c.contains("anteroom_office="))
        .expect("a session cookie")
        .to_owned()
}

/// Free consultation times for the next weeks, online (the API's own listing).
async fn free_slots(base: &str) -> Vec<Value> {
    let answer: Value = client()
        .get(format!(
            "{base}/api/v1/availability?type=consultation&location=online"
        ))
        .send()
        .await
        .expect("availability")
        .json()
        .await
        .expect("availability JSON");
    answer["slots"].as_array().cloned().unwrap_or_default()
}

fn booking_body(slot: &Value, n: usize) -> Value {
    json!({
        "type": "consultation",
        "location": "online",
        "start": slot["start"],
        "name": format!("Drill Visitor {n}"),
        "email": format!("visitor{n}@example.org"),
        "consent": true,
    })
}

/// Send a booking; what the answer says, recorded.
async fn book(cycle: &Cycle, http: &reqwest::Client, key: &str, body: &Value) {
    cycle
        .ledger
        .lock()
        .expect("ledger")
        .bookings_tried
        .insert(key.to_owned());
    let sent = http
        .post(format!("{}/api/v1/bookings", cycle.base))
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await;
    let Ok(answer) = sent else {
        let mut ledger = cycle.ledger.lock().expect("ledger");
        ledger.unsure.push((key.to_owned(), body.clone()));
        ledger.lost += 1;
        return;
    };
    let status = answer.status().as_u16();
    let Ok(json) = answer.json::<Value>().await else {
        let mut ledger = cycle.ledger.lock().expect("ledger");
        ledger.unsure.push((key.to_owned(), body.clone()));
        ledger.lost += 1;
        return;
    };
    let mut ledger = cycle.ledger.lock().expect("ledger");
    match status {
        200 | 201 => ledger.booked.push(Booked {
            id: json["id"].as_str().unwrap_or_default().to_owned(),
            token: json["manage_url"]
                .as_str()
                .and_then(|url| url.rsplit('/').next())
                .map(str::to_owned),
        }),
        // Taken by another worker, or no longer bookable: not made, and said so.
        409 | 422 => {}
        other => ledger.wrong.push(format!("booking: {other} {json}")),
    }
}

async fn cancel(cycle: &Cycle, http: &reqwest::Client, id: &str, token: &str) {
    let Ok(answer) = http
        .post(format!("{}/api/v1/bookings/{id}/cancel", cycle.base))
        .bearer_auth(token)
        .send()
        .await
    else {
        return;
    };
    let status = answer.status().as_u16();
    let body = answer.text().await;
    let mut ledger = cycle.ledger.lock().expect("ledger");
    match (status, body) {
        (200, Ok(_)) => {
            ledger.cancelled.insert(id.to_owned());
        }
        // Cut off by the kill, or too close to the start: not acknowledged.
        (200 | 409, _) => {}
        (other, body) => ledger.wrong.push(format!("cancel {id}: {other} {body:?}")),
    }
}

/// A form posted as the signed-in therapist; the status and where it leads, if it answered.
async fn office_post(
    cycle: &Cycle,
    http: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
) -> Option<(u16, String)> {
    let answer = http
        .post(format!("{}{path}", cycle.base))
        .header("origin", &cycle.base)
        .header("cookie", &cycle.cookie)
        .form(form)
        .send()
        .await
        .ok()?;
    let status = answer.status().as_u16();
    let location = answer
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    // The answer counts only once it has come whole.
    answer.bytes().await.ok()?;
    Some((status, location))
}

async fn note(cycle: &Cycle, http: &reqwest::Client, client: i64, n: usize) {
    let text = format!("{CANARY} {}-{n}: spoke about the move", cycle.number);
    cycle.ledger.lock().expect("ledger").notes_tried += 1;
    let answer = office_post(
        cycle,
        http,
        &format!("/office/clients/{client}/notes"),
        &[("note", &text)],
    )
    .await;
    let mut ledger = cycle.ledger.lock().expect("ledger");
    match answer {
        Some((303, to)) if to.ends_with("#notes") && !to.contains("error") => {
            ledger.notes.push((client, text));
        }
        Some((status, to)) => ledger.wrong.push(format!("note: {status} {to}")),
        None => ledger.lost += 1,
    }
}

async fn outcome(cycle: &Cycle, http: &reqwest::Client, session: i64, attended: bool) {
    let (value, status) = if attended {
        ("attended", "attended")
    } else {
        ("did_not_attend", "did_not_attend")
    };
    {
        let mut ledger = cycle.ledger.lock().expect("ledger");
        if ledger.outcomes_tried.contains(&session) {
            return;
        }
        ledger.outcomes_tried.insert(session);
    }
    let answer = office_post(
        cycle,
        http,
        &format!("/office/sessions/{session}/outcome"),
        &[("outcome", value)],
    )
    .await;
    let mut ledger = cycle.ledger.lock().expect("ledger");
    match answer {
        Some((303, to)) if to == format!("/office/sessions/{session}") => {
            ledger.outcomes.insert(session, status);
        }
        Some((422, _)) => {
            ledger.outcomes_refused.insert(session);
        }
        Some((status, to)) => ledger.wrong.push(format!("outcome: {status} {to}")),
        None => ledger.lost += 1,
    }
}

async fn invoice(cycle: &Cycle, http: &reqwest::Client, client: i64) {
    cycle.ledger.lock().expect("ledger").invoices_tried += 1;
    let answer = office_post(
        cycle,
        http,
        "/office/invoices/new",
        &[("client", &client.to_string())],
    )
    .await;
    let mut ledger = cycle.ledger.lock().expect("ledger");
    match answer {
        Some((303, to)) => {
            if let Some(number) = to.strip_prefix("/office/invoices?made=") {
                ledger
                    .invoices
                    .push((client, number.parse().expect("an invoice number")));
            } else if to != "/office/invoices" {
                ledger.wrong.push(format!("invoice: 303 {to}"));
            }
        }
        Some((status, to)) => ledger.wrong.push(format!("invoice: {status} {to}")),
        None => ledger.lost += 1,
    }
}

async fn portal_link(cycle: &Cycle, http: &reqwest::Client, email: &str) {
    cycle.ledger.lock().expect("ledger").links_tried += 1;
    let answer = http
        .post(format!("{}/portal/sign-in", cycle.base))
        .header("origin", &cycle.base)
        .form(&[("email", email)])
        .send()
        .await;
    let status = match answer {
        Ok(answer) => {
            let status = answer.status().as_u16();
            answer.bytes().await.ok().map(|_| status)
        }
        Err(_) => None,
    };
    let mut ledger = cycle.ledger.lock().expect("ledger");
    match status {
        Some(200 | 303) => *ledger.links.entry(email.to_owned()).or_default() += 1,
        Some(other) => ledger.wrong.push(format!("portal link: {other}")),
        None => ledger.lost += 1,
    }
}

/// One worker: mixed work until the cycle stops.
async fn work(cycle: Arc<Cycle>, seed: u64) {
    let http = client();
    let mut rng = Rng(seed | 1);
    let mut n = 0;
    while !cycle.stop.load(Ordering::SeqCst) {
        n += 1;
        match rng.below(10) {
            0..=2 if !cycle.slots.is_empty() => {
                let slot = &cycle.slots[rng.below(cycle.slots.len())];
                let key = format!("drill-{}-{seed:x}-{n}", cycle.number);
                book(&cycle, &http, &key, &booking_body(slot, rng.below(1000))).await;
            }
            3 => {
                let pick = {
                    let ledger = cycle.ledger.lock().expect("ledger");
                    let open: Vec<&Booked> = ledger
                        .booked
                        .iter()
                        .filter(|b| b.token.is_some() && !ledger.cancelled.contains(&b.id))
                        .collect();
                    (!open.is_empty()).then(|| {
                        let b = open[rng.below(open.len())];
                        (b.id.clone(), b.token.clone().unwrap_or_default())
                    })
                };
                if let Some((id, token)) = pick {
                    cancel(&cycle, &http, &id, &token).await;
                }
            }
            4..=5 => {
                let (client, _) = &cycle.clients[rng.below(cycle.clients.len())];
                note(&cycle, &http, *client, n).await;
            }
            6 if !cycle.sessions.is_empty() => {
                let session = cycle.sessions[rng.below(cycle.sessions.len())];
                outcome(&cycle, &http, session, rng.below(4) != 0).await;
            }
            7 => {
                let (client, _) = &cycle.clients[rng.below(cycle.clients.len())];
                invoice(&cycle, &http, *client).await;
            }
            8 => {
                let (_, email) = &cycle.clients[rng.below(cycle.clients.len())];
                portal_link(&cycle, &http, email).await;
            }
            _ => {
                let _ = http.get(format!("{}/office", cycle.base)).send().await;
            }
        }
        if cycle.stop.load(Ordering::SeqCst) {
            break;
        }
    }
}

/// Fail if the canary is in any file of the data folder.
fn assert_no_canary(dir: &Path, when: &str) {
    for entry in std::fs::read_dir(dir).expect("read the data folder") {
        let path = entry.expect("an entry").path();
        if path.is_file() {
            let bytes = std::fs::read(&path).expect("read a data file");
            assert!(
                !bytes.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()),
                "{when}: the notes' canary is readable in {}",
                path.display()
            );
        }
    }
}

/// Where the drill's practice is kept, and how the checker reads it.
enum Place {
    /// A data folder (`anteroom.db` and `anteroom.key`).
    Sqlite(PathBuf),
    /// A PostgreSQL database, with the key file kept apart.
    Postgres { url: String, key: PathBuf },
}

impl Place {
    /// The options that name the practice's data, for `serve` and `audit verify`.
    fn data_args(&self) -> Vec<String> {
        match self {
            Self::Sqlite(dir) => vec!["--data-dir".into(), dir.display().to_string()],
            Self::Postgres { url, .. } => vec!["--database-url".into(), url.clone()],
        }
    }

    /// Rows of one query, every column as text (NULL as "").
    fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        match self {
            Self::Sqlite(dir) => cli::read_only(&dir.join("anteroom.db"), async |conn| {
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                    .fetch_all(&mut *conn)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                rows.iter().map(row_text).collect()
            }),
            Self::Postgres { url, .. } => {
                use sqlx::Connection as _;
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime");
                runtime.block_on(async {
                    let mut conn = sqlx::PgConnection::connect(url)
                        .await
                        .expect("connect to the drill's database");
                    let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                        .fetch_all(&mut conn)
                        .await
                        .unwrap_or_else(|e| panic!("{sql}: {e}"));
                    let _ = conn.close().await;
                    rows.iter().map(row_text).collect()
                })
            }
        }
    }

    fn number(&self, sql: &str) -> i64 {
        self.rows(sql)
            .first()
            .and_then(|r| r.first())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("a number from {sql}"))
    }

    /// Fail if the canary can be read in the stored data: in any file of the data folder
    /// (SQLite), or in any row of any table, notes' sealed bodies read as text too
    /// (PostgreSQL, whose files are the server's).
    fn assert_no_canary(&self, when: &str) {
        match self {
            Self::Sqlite(dir) => assert_no_canary(dir, when),
            Self::Postgres { .. } => {
                let tables = self.rows(
                    "SELECT table_name::text FROM information_schema.tables
                     WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
                );
                for table in tables.iter().map(|r| &r[0]) {
                    let found = self.number(&format!(
                        "SELECT count(*) FROM \"{table}\" t WHERE strpos(t::text, '{CANARY}') > 0"
                    ));
                    assert_eq!(found, 0, "{when}: the notes' canary is readable in {table}");
                }
                let sealed = self.number(&format!(
                    "SELECT count(*) FROM notes WHERE strpos(encode(body, 'escape'), '{CANARY}') > 0"
                ));
                assert_eq!(
                    sealed, 0,
                    "{when}: a note's body holds the canary in the clear"
                );
            }
        }
    }
}

/// One row, every column as text (NULL as "").
fn row_text<R: sqlx::Row>(row: &R) -> Vec<String>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i32>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    (0..row.columns().len())
        .map(|i| {
            row.try_get::<Option<String>, _>(i)
                .ok()
                .flatten()
                .or_else(|| {
                    row.try_get::<Option<i64>, _>(i)
                        .ok()
                        .flatten()
                        .map(|v| v.to_string())
                })
                .or_else(|| {
                    row.try_get::<Option<i32>, _>(i)
                        .ok()
                        .flatten()
                        .map(|v| v.to_string())
                })
                .unwrap_or_default()
        })
        .collect()
}

/// Seed the demo practice three weeks back, then stop it.
fn seed_demo(dir: &Path) {
    let three_weeks_ago = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(21 * 24);
    let mut demo = Server::start(
        "umask 077",
        &[
            "demo",
            "--data-dir",
            dir.to_str().expect("a UTF-8 path"),
            "--now",
            &three_weeks_ago.to_string(),
            "--demo-password",
            STAFF_PASSWORD,
        ],
    );
    demo.drain();
    demo.stop();
}

#[test]
fn the_server_killed_at_random_keeps_every_acknowledged_write_and_nothing_else() {
    let root = tempfile::tempdir().expect("a temporary folder");
    let dir: PathBuf = root.path().join("data");
    if std::env::var_os("ANTEROOM_DRILL_KEEP").is_some() {
        println!("crash drill: keeping {}", root.keep().display());
    }
    seed_demo(&dir);
    drill(&Place::Sqlite(dir));
}

/// The same drill with the practice on PostgreSQL: the demo, seeded as above, moved there
/// with `practice export` and `practice import`.
#[test]
fn on_postgresql_the_server_killed_at_random_keeps_every_acknowledged_write() {
    let Some(database) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(store_postgres::testing::TestDatabase::create())
    else {
        return;
    };
    let root = tempfile::tempdir().expect("a temporary folder");
    let dir = root.path().join("seed");
    seed_demo(&dir);
    let export = root.path().join("practice.export");
    let key = root.path().join("anteroom.key");
    cli::run(
        "umask 077",
        &[
            "practice",
            "export",
            "--data-dir",
            dir.to_str().expect("UTF-8"),
            "--to",
            export.to_str().expect("UTF-8"),
        ],
        "",
    );
    cli::run(
        "umask 077",
        &[
            "practice",
            "import",
            export.to_str().expect("UTF-8"),
            "--database-url",
            &database.url,
            "--key-file",
            key.to_str().expect("UTF-8"),
        ],
        "",
    );
    drill(&Place::Postgres {
        url: database.url.clone(),
        key,
    });
}

/// Kill and restart the server at `place` again and again under mixed work, then check.
fn drill(place: &Place) {
    let cycles: usize = std::env::var("ANTEROOM_DRILL_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CYCLES);
    let seed: u64 = std::env::var("ANTEROOM_DRILL_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(rand::random);
    println!("crash drill: {cycles} cycles, seed {seed} (ANTEROOM_DRILL_SEED replays it)");
    let mut rng = Rng(seed | 1);
    let db = place;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    // The sink outlives every server, as a mail server does.
    let sink = runtime.block_on(test_sink::SmtpSink::start());
    let smtp = sink.url();

    let clients: Vec<(i64, String)> = db
        .rows("SELECT id, email FROM clients ORDER BY id")
        .into_iter()
        .map(|r| (r[0].parse().expect("an id"), r[1].clone()))
        .collect();
    let now = jiff::Timestamp::now().as_second();
    let sessions: Vec<i64> = db
        .rows(&format!(
            "SELECT id FROM sessions WHERE status = 'scheduled' AND starts_at < {now}"
        ))
        .into_iter()
        .map(|r| r[0].parse().expect("an id"))
        .collect();
    assert!(
        sessions.len() >= 5,
        "the seed leaves sessions waiting for outcomes"
    );
    let notes_before = db.number("SELECT count(*) FROM notes");
    let bookings_before = db.number("SELECT count(*) FROM bookings");
    let invoices_before = db.number("SELECT count(*) FROM invoices");

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut cookie = None;
    let mut killed_mid_answer = 0;
    for number in 0..cycles {
        let port = free_port();
        let server = serve_at(db, &smtp, port);
        let base = format!("http://127.0.0.1:{port}");
        runtime.block_on(wait_ready(&base));
        let cookie = match &cookie {
            Some(cookie) => String::clone(cookie),
            None => {
                let signed_in = runtime.block_on(sign_in(&base));
                cookie = Some(signed_in.clone());
                signed_in
            }
        };
        // Bookings whose answers never came: sent again with the same key.
        let unsure = {
            let mut ledger = ledger.lock().expect("ledger");
            ledger.resent += ledger.unsure.len();
            std::mem::take(&mut ledger.unsure)
        };
        let slots = runtime.block_on(free_slots(&base));
        let cycle = Arc::new(Cycle {
            base,
            cookie,
            clients: clients.clone(),
            sessions: sessions.clone(),
            slots,
            ledger: ledger.clone(),
            stop: Arc::new(AtomicBool::new(false)),
            number,
        });
        runtime.block_on(async {
            let http = client();
            for (key, body) in &unsure {
                book(&cycle, &http, key, body).await;
            }
        });
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| runtime.spawn(work(cycle.clone(), rng.next() ^ w as u64)))
            .collect();
        let lost_before = ledger.lock().expect("ledger").lost;
        std::thread::sleep(Duration::from_millis(100 + rng.next() % 1400));
        drop(server); // SIGKILL
        cycle.stop.store(true, Ordering::SeqCst);
        for worker in workers {
            runtime.block_on(worker).expect("a worker");
        }
        killed_mid_answer += ledger.lock().expect("ledger").lost - lost_before;
        db.assert_no_canary(&format!("after kill {number}"));
    }

    // The last start: the outbox drains, and everything is read back.
    let port = free_port();
    let mut server = serve_at(db, &smtp, port);
    let base = format!("http://127.0.0.1:{port}");
    runtime.block_on(wait_ready(&base));
    let cookie = cookie.expect("signed in");
    let ledger = Arc::try_unwrap(ledger)
        .ok()
        .expect("the workers are done")
        .into_inner()
        .expect("ledger");
    assert!(
        ledger.wrong.is_empty(),
        "unexpected answers: {:?}",
        ledger.wrong
    );

    // Mail: wait until nothing is due and free to send, and the sink has it all.
    let due_and_free = || {
        let now = jiff::Timestamp::now().as_second();
        db.number(&format!(
            "SELECT count(*) FROM outbox m WHERE m.status = 'pending'
                 AND (m.claimed_until IS NULL OR m.claimed_until <= {now})
                 AND m.next_attempt_at <= {now}
                 AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.practice_id = m.practice_id
                     AND o.recipient = m.recipient AND o.status = 'pending' AND o.id < m.id)"
        ))
    };
    let until = Instant::now() + PATIENCE;
    while due_and_free() > 0 {
        assert!(Instant::now() < until, "the outbox never drained");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Notes: every acknowledged one reads back through the server.
    runtime.block_on(async {
        let http = client();
        for (client_id, _) in &clients {
            let page = http
                .get(format!("{base}/office/clients/{client_id}"))
                .header("cookie", &cookie)
                .send()
                .await
                .expect("the client's page");
            assert_eq!(page.status(), 200, "client {client_id}'s page opens");
            let page = page.text().await.expect("the page");
            for (_, text) in ledger.notes.iter().filter(|(c, _)| c == client_id) {
                assert!(page.contains(text), "acknowledged note missing: {text}");
            }
        }
    });
    server.drain();
    assert!(
        server.log.iter().all(|line| !line.contains(CANARY)),
        "a note reached the log"
    );
    server.stop();
    db.assert_no_canary("after the last stop");

    // Counts: between what was acknowledged and what was tried.
    let notes = db.number("SELECT count(*) FROM notes") - notes_before;
    let acked = i64::try_from(ledger.notes.len()).expect("a count");
    let tried = i64::try_from(ledger.notes_tried).expect("a count");
    assert!(
        (acked..=tried).contains(&notes),
        "notes: {notes} stored, {acked} acknowledged, {tried} tried"
    );
    let invoices = db.number("SELECT count(*) FROM invoices") - invoices_before;
    let acked_invoices = i64::try_from(ledger.invoices.len()).expect("a count");
    assert!(
        (acked_invoices..=i64::try_from(ledger.invoices_tried).expect("a count"))
            .contains(&invoices),
        "invoices: {invoices} stored, {acked_invoices} acknowledged, {} tried",
        ledger.invoices_tried
    );
    let made = db.number("SELECT count(*) FROM bookings WHERE idempotency_key LIKE 'api:drill-%'");
    let distinct_booked: BTreeSet<&str> = ledger.booked.iter().map(|b| b.id.as_str()).collect();
    let acked_bookings = i64::try_from(distinct_booked.len()).expect("a count");
    let tried_bookings = i64::try_from(ledger.bookings_tried.len()).expect("a count");
    assert!(
        (acked_bookings..=tried_bookings).contains(&made),
        "bookings: {made} stored, {acked_bookings} acknowledged, {tried_bookings} tried"
    );
    assert_eq!(
        db.number("SELECT count(*) FROM bookings") - bookings_before,
        made,
        "no booking without its key"
    );

    // Every acknowledged booking is there, cancelled if its cancellation was acknowledged.
    let statuses: BTreeMap<String, String> = db
        .rows("SELECT uid, status FROM bookings")
        .into_iter()
        .map(|r| {
            let id = r[0].split('@').next().unwrap_or_default().to_owned();
            (id, r[1].clone())
        })
        .collect();
    for id in &distinct_booked {
        let status = statuses.get(*id).map(String::as_str);
        if ledger.cancelled.contains(*id) {
            assert_eq!(status, Some("cancelled"), "booking {id} was cancelled");
        } else {
            assert!(
                matches!(status, Some("requested" | "confirmed" | "cancelled")),
                "acknowledged booking {id}: {status:?}"
            );
        }
    }

    // Outcomes, each with its charge; a refused one left nothing behind.
    for (session, expected) in &ledger.outcomes {
        let status = db.rows(&format!("SELECT status FROM sessions WHERE id = {session}"));
        assert_eq!(status[0][0], *expected, "session {session}'s outcome");
    }
    for session in &ledger.outcomes_refused {
        let status = db.rows(&format!("SELECT status FROM sessions WHERE id = {session}"));
        assert!(
            !matches!(status[0][0].as_str(), "attended" | "did_not_attend"),
            "session {session}'s outcome was refused, yet stored as {}",
            status[0][0]
        );
    }
    let tried_sessions: Vec<String> = ledger.outcomes_tried.iter().map(i64::to_string).collect();
    let uncharged = db.number(&format!(
        "SELECT count(*) FROM sessions s WHERE s.id IN ({})
                 AND s.status IN ('attended', 'did_not_attend')
                 AND NOT EXISTS (SELECT 1 FROM charges c WHERE c.session_id = s.id)",
        if tried_sessions.is_empty() {
            "0".to_owned()
        } else {
            tried_sessions.join(",")
        }
    ));
    assert_eq!(uncharged, 0, "every recorded outcome has its charge");

    // Invoices: each acknowledged one is there, numbers run on, totals are their lines.
    for (client_id, invoice_number) in &ledger.invoices {
        assert_eq!(
            db.number(&format!(
                "SELECT count(*) FROM invoices WHERE client_id = {client_id}
                         AND number = {invoice_number}"
            )),
            1,
            "invoice {invoice_number}"
        );
    }
    let numbers: Vec<i64> = db
        .rows("SELECT number FROM invoices ORDER BY number")
        .into_iter()
        .map(|r| r[0].parse().expect("a number"))
        .collect();
    for pair in numbers.windows(2) {
        assert_eq!(pair[1], pair[0] + 1, "invoice numbers run on: {numbers:?}");
    }
    assert_eq!(
        db.number(
            "SELECT count(*) FROM invoices i WHERE i.total_pence <>
                 (SELECT coalesce(sum(amount_pence), -1) FROM invoice_lines l
                  WHERE l.invoice_id = i.id)"
        ),
        0,
        "every invoice's total is its lines'"
    );

    // The therapist's time: occupancy matches the appointments, and nothing overlaps.
    let held_as_owned = "WITH
        owned(k, s, e) AS (
            SELECT 'b' || id, starts_at, ends_at FROM bookings
            WHERE status IN ('requested', 'confirmed')
            UNION ALL
            SELECT 's' || id, starts_at, ends_at FROM sessions
            WHERE status IN ('scheduled', 'attended', 'late_cancellation', 'did_not_attend')),
        held(k, s, e) AS (
            SELECT coalesce('b' || booking_id, 's' || session_id), starts_at, ends_at
            FROM occupancy)
        SELECT (SELECT count(*) FROM (SELECT * FROM owned EXCEPT SELECT * FROM held) AS missing)
             + (SELECT count(*) FROM (SELECT * FROM held EXCEPT SELECT * FROM owned) AS extra)";
    assert_eq!(
        db.number(held_as_owned),
        0,
        "every appointment holds its time, and only those"
    );
    assert_eq!(
        db.number(
            "SELECT count(*) FROM occupancy a JOIN occupancy b
                 ON a.practice_id = b.practice_id AND a.id < b.id
                 AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at"
        ),
        0,
        "no two appointments overlap"
    );

    // Portal links: the answer is given before the link is stored, on purpose (so that its
    // timing never says whether the address is a client's; the person asks again if none
    // comes). So a kill may lose the links still being written, at most one per worker,
    // and never makes one that was not asked for.
    let queued = db.number("SELECT count(*) FROM outbox WHERE kind = 'portal_link'");
    let acked_links = i64::try_from(ledger.links.values().sum::<usize>()).expect("a count");
    let tried_links = i64::try_from(ledger.links_tried).expect("a count");
    let at_most_lost = i64::try_from(cycles * WORKERS).expect("a count");
    assert!(
        queued <= tried_links && acked_links - queued <= at_most_lost,
        "portal links: {queued} queued, {acked_links} acknowledged, {tried_links} asked for"
    );
    let links_lost = (acked_links - queued).max(0);

    // Mail: received once each, each a message of the outbox; everything sent was received.
    let received = sink.received();
    let mut seen = BTreeMap::<String, usize>::new();
    for message in &received {
        let id = message.header("message-id").expect("a Message-ID");
        *seen
            .entry(id.trim_matches(['<', '>']).to_owned())
            .or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    let outbox: BTreeMap<String, String> = db
        .rows("SELECT message_id, status FROM outbox")
        .into_iter()
        .map(|r| (r[0].trim_matches(['<', '>']).to_owned(), r[1].clone()))
        .collect();
    for id in seen.keys() {
        assert!(
            outbox.contains_key(id),
            "received a message the outbox never held: {id}"
        );
    }
    let mut in_doubt = 0;
    for (id, status) in &outbox {
        match status.as_str() {
            "sent" => assert!(seen.contains_key(id), "marked sent, never received: {id}"),
            "pending" if seen.contains_key(id) => in_doubt += 1,
            "pending" => {}
            other => panic!("message {id} is {other}"),
        }
    }
    let waiting = outbox.values().filter(|s| *s == "pending").count();

    // The files: intact, and the audit chain unbroken.
    if let Place::Sqlite(_) = db {
        assert_eq!(db.rows("PRAGMA integrity_check")[0][0], "ok");
        assert!(db.rows("PRAGMA foreign_key_check").is_empty());
    }
    let mut audit = vec!["audit".to_owned(), "verify".to_owned()];
    audit.extend(db.data_args());
    let audit: Vec<&str> = audit.iter().map(String::as_str).collect();
    let verified = cli::run("umask 077", &audit, "");

    println!(
        "crash drill: {cycles} kills; acknowledged {} bookings ({} cancelled), {} notes, {} \
         outcomes, {} invoices, {} portal links ({} lost with a kill before they were \
         stored); {} requests cut off by a kill, {} bookings \
         sent again; {} emails delivered once each, {} waiting ({} sent just before a kill, \
         to go again with the same Message-ID when their claim ends); audit: {}",
        distinct_booked.len(),
        ledger.cancelled.len(),
        ledger.notes.len(),
        ledger.outcomes.len(),
        ledger.invoices.len(),
        acked_links,
        links_lost,
        killed_mid_answer,
        ledger.resent,
        seen.len(),
        waiting,
        in_doubt,
        verified.trim(),
    );
}

/// `anteroom serve` on the drill's practice at `port`, mail going to the sink.
fn serve_at(place: &Place, smtp: &str, port: u16) -> Server {
    let mut args: Vec<String> = vec!["serve".into()];
    args.extend(place.data_args());
    if let Place::Postgres { key, .. } = place {
        args.extend(["--key-file".into(), key.display().to_string()]);
    }
    args.extend([
        "--smtp-url".into(),
        smtp.to_owned(),
        "--no-rate-limits".into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::start_at("umask 077", &args, port)
}
