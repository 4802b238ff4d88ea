//! Data rights (SECURITY.md R16, R17): the subject-access export holds a row from every
//! table that refers to a client (the list of tables is read from the SQLite schema, so a
//! new table without a seeded row fails here), typed values, notes decrypted and no
//! secrets; requests
//! get their ICO due dates; the review queue; keeping, refusing and erasing, each audited.

use domain::{
    ContactPreference, EmailAddress, Pence, PersonName, Slug,
    practice::PracticeSetup,
    therapy::{ContractKind, ContractTerms, Frequency, WeeklyTime},
};
use jiff::{SignedDuration, Timestamp, civil::date};
use reqwest::StatusCode;
use serde_json::Value as Json;
use store::{ClientId, NewClient, rights::is_secret_column};

use crate::{
    helpers::{Engine, PRACTICE_TOML, START, TestApp},
    office_therapy::{attended, planner, robin_on_mondays},
};

/// A name and address found nowhere else in the test data, to look for in the file.
const NAME: &str = "Quillon Marrowby";
const EMAIL: &str = "quillon.marrowby@example.org";
/// The address they asked, in the portal, to change theirs to (not yet confirmed).
const NEW_EMAIL: &str = "q.marrowby.new@example.org";
const SESSION_NOTE: &str = "rights-canary-7c2e: we talked about the allotment";
const GENERAL_NOTE: &str = "rights-canary-general-44b";
/// Holds rows only for clients who have been erased.
const ONLY_AFTER_ERASURE: &[&str] = &["erased_clients"];

/// Move the clock to `at` and sign in again (an office session lasts hours, not weeks).
async fn at(app: &TestApp, at: &str) {
    let at: Timestamp = at.parse().unwrap();
    app.advance_clock(app.clock.now().duration_until(at));
    app.sign_in().await;
}

/// A client with a row in every table that can refer to one: a consultation that became
/// work, a contract, sessions, an attended session's charge, an invoice and its lines, a
/// session note and a general note (so a data key), a break notice, emails, a subject
/// access request, a retention decision, a change of email address waiting to be confirmed
/// and audit entries.
async fn seed_everything(app: &TestApp) -> ClientId {
    let form = [
        ("location", "balham"),
        ("start", "2027-03-29T08:00:00Z"),
        ("name", NAME),
        ("email", EMAIL),
        ("phone", "07700 900982"),
        ("contact_preference", "email"),
        ("consent", "true"),
        ("idempotency_key", "rights-seed"),
    ];
    app.post_form("/book/confirm", &form)
        .await
        .assert_status(StatusCode::SEE_OTHER);
    let start: Timestamp = "2027-03-29T08:00:00Z".parse().unwrap();
    let booking = app
        .store
        .bookings_between(app.practice, start, start + SignedDuration::from_mins(1))
        .await
        .unwrap()[0]
        .id;
    at(app, "2027-03-29T10:00:00Z").await;
    let reply = app
        .office_post(
            &format!("/office/bookings/{booking}/outcome"),
            &[("outcome", "working_together")],
        )
        .await;
    let location = reply.location().expect("to the new client").to_owned();
    let client = ClientId::parse(
        location
            .trim_start_matches("/office/clients/")
            .split('/')
            .next()
            .unwrap(),
    )
    .unwrap();
    let terms = ContractTerms {
        kind: ContractKind::OpenEnded {
            review_every_weeks: 6,
        },
        frequency: Frequency::Weekly,
        times: vec![WeeklyTime {
            weekday: jiff::civil::Weekday::Wednesday,
            time: jiff::civil::time(14, 0, 0, 0),
        }],
        location: Slug::parse("balham").unwrap(),
        minutes: 50,
        fee: Pence::new(7000),
        start: date(2027, 4, 14),
        policy_version: 1,
    };
    let now = app.clock.now();
    app.store
        .save_contract(
            app.practice,
            client,
            None,
            &terms,
            "",
            now,
            &planner(app).await,
            now,
        )
        .await
        .unwrap();
    at(app, "2027-04-15T09:00:00Z").await;
    attended(app, client, "2027-04-14T13:00:00Z").await;
    let session = app
        .store
        .client_sessions(app.practice, client)
        .await
        .unwrap()[0]
        .id;
    app.office_post(
        &format!("/office/sessions/{session}/note"),
        &[("note", SESSION_NOTE)],
    )
    .await
    .assert_status(StatusCode::SEE_OTHER);
    app.office_post(
        &format!("/office/clients/{client}/notes"),
        &[("note", GENERAL_NOTE)],
    )
    .await
    .assert_status(StatusCode::SEE_OTHER);
    app.office_post("/office/invoices/new", &[("client", &client.to_string())])
        .await
        .assert_status(StatusCode::SEE_OTHER);
    app.office_post(
        "/office/settings/away",
        &[
            ("label", "Early summer break"),
            ("first_day", "2027-05-03"),
            ("last_day", "2027-05-09"),
        ],
    )
    .await
    .assert_status(StatusCode::SEE_OTHER);
    app.office_post(
        &format!("/office/clients/{client}/subject-access/new"),
        &[("received", "2027-04-15")],
    )
    .await
    .assert_status(StatusCode::SEE_OTHER);
    app.office_post(
        &format!("/office/clients/{client}/refuse-erasure"),
        &[("reason", "Kept while the invoice is unpaid.")],
    )
    .await
    .assert_status(StatusCode::SEE_OTHER);
    // Measures: a plan, answers given in a session, and a request not to be sent more.
    let contract = app.store.contracts(app.practice, client).await.unwrap()[0].id;
    app.office_post(
        &format!("/office/clients/{client}/contracts/{contract}/measures"),
        &[("phq-9_first", "true"), ("phq-9_every", "4")],
    )
    .await
    .assert_status(StatusCode::SEE_OTHER);
    let mut answers = vec![("instrument", "phq-9"), ("session", "1")];
    let items: Vec<String> = (1..=9).map(|n| format!("item_{n}")).collect();
    answers.extend(items.iter().map(|f| (f.as_str(), "1")));
    app.office_post(
        &format!("/office/clients/{client}/questionnaires/new"),
        &answers,
    )
    .await
    .assert_status(StatusCode::SEE_OTHER);
    let now = app.clock.now();
    app.store
        .set_measures_stopped(app.practice, client, true, &[], now)
        .await
        .unwrap();
    // A portal sign-in link, used: a link row and a portal session.
    app.store
        .create_portal_link(
            app.practice,
            &store::NewPortalLink {
                token_hash: vec![1; 32],
                client,
                browser_hash: vec![2; 32],
                expires_at: now + jiff::SignedDuration::from_mins(10),
            },
            &store::NewMessage {
                kind: "portal_link".into(),
                to: domain::EmailAddress::parse(EMAIL).unwrap(),
                subject: "Your sign-in link".into(),
                body_text: "A link.".into(),
                calendar: None,
            },
            now,
        )
        .await
        .unwrap();
    app.store
        .use_portal_link(app.practice, &[1; 32], &[2; 32], &[3; 32], now)
        .await
        .unwrap()
        .expect("the link signs in");
    // A change of email address, waiting for its link to be followed.
    app.store
        .request_email_change(
            app.practice,
            &store::NewEmailChange {
                token_hash: vec![4; 32],
                client,
                new_email: domain::EmailAddress::parse(NEW_EMAIL).unwrap(),
                expires_at: now + jiff::SignedDuration::from_hours(24),
            },
            &store::NewMessage {
                kind: "portal_email_confirm".into(),
                to: domain::EmailAddress::parse(NEW_EMAIL).unwrap(),
                subject: "Confirm your new email address".into(),
                body_text: "A link.".into(),
                calendar: None,
            },
            store::EmailChangeLimit {
                max: 5,
                within: jiff::SignedDuration::from_hours(1),
            },
            now,
        )
        .await
        .unwrap();
    app.office_get(&format!("/office/clients/{client}"))
        .await
        .assert_status(StatusCode::OK);
    client
}

/// Run Python with `args`; the script prints one JSON value.
fn python(script: &str, args: &[&str]) -> Json {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("python printed JSON")
}

/// Every table the schema says can refer to a client: a `client_id` column or a foreign
/// key to `clients`, and `clients` itself; with how many rows name client `id`. On
/// SQLite read from the file by Python's `sqlite3`, on PostgreSQL from its catalogue.
async fn tables_referring_to_clients(app: &TestApp, id: ClientId) -> Vec<(String, i64)> {
    if app.engine() == Engine::Postgres {
        return app.postgres_tables_referring_to_clients(id.get()).await;
    }
    let path = app.database_path().expect("a SQLite database file");
    let script = r#"
import json, sqlite3, sys
db = sqlite3.connect(f'file:{sys.argv[1]}?mode=ro', uri=True, timeout=10)
out = {}
for (t,) in db.execute("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"):
    cols = [r[1] for r in db.execute(f'PRAGMA table_info("{t}")')]
    fks = [(r[3], r[2]) for r in db.execute(f'PRAGMA foreign_key_list("{t}")')]
    refs = [c for c in cols if c == 'client_id'] + [c for (c, parent) in fks if parent == 'clients']
    if t == 'clients':
        refs.append('id')
    if refs:
        where = ' OR '.join(f'"{c}" = ?' for c in sorted(set(refs)))
        n = len(sorted(set(refs)))
        out[t] = db.execute(f'SELECT COUNT(*) FROM "{t}" WHERE {where}', [int(sys.argv[2])] * n).fetchone()[0]
print(json.dumps(out))
"#;
    let found = python(script, &[path.to_str().unwrap(), &id.to_string()]);
    let mut tables: Vec<(String, i64)> = found
        .as_object()
        .unwrap()
        .iter()
        .map(|(t, n)| (t.clone(), n.as_i64().unwrap()))
        .collect();
    tables.sort();
    tables
}

/// The export as Python's `zipfile` reads it: the names, the CRC check, `data.json` parsed
/// and `index.html` as text.
fn read_zip(bytes: &[u8]) -> Json {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.zip");
    std::fs::write(&path, bytes).unwrap();
    let script = r#"
import json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    bad = z.testzip()
    names = z.namelist()
    data = json.loads(z.read('data.json').decode('utf-8'))
    html = z.read('index.html').decode('utf-8')
    fhir = json.loads(z.read('questionnaires.fhir.json').decode('utf-8')) if 'questionnaires.fhir.json' in names else None
    stored = all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
print(json.dumps({'bad': bad, 'names': names, 'data': data, 'html': html, 'fhir': fhir, 'stored': stored}))
"#;
    python(script, &[path.to_str().unwrap()])
}

async fn export(app: &TestApp, client: ClientId) -> Json {
    let (status, headers, body) = app
        .office_post_bytes(&format!("/office/clients/{client}/export"), &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/zip");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"client-"),
    );
    assert_eq!(headers["cache-control"], "no-store");
    read_zip(&body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_export_holds_a_row_from_every_table_that_refers_to_the_client() {
    let app = TestApp::spawn().await;
    let client = seed_everything(&app).await;
    robin_on_mondays(&app).await;
    let zip = export(&app, client).await;
    assert_eq!(zip["bad"], Json::Null, "every CRC checks out");
    assert_eq!(zip["stored"], true);
    assert_eq!(
        zip["names"],
        serde_json::json!(["data.json", "index.html", "questionnaires.fhir.json"])
    );
    // The questionnaire answered in a session, as FHIR R4 with PHQ-9's LOINC codes.
    let fhir = &zip["fhir"];
    assert_eq!(fhir["resourceType"], "Bundle");
    let response = &fhir["entry"][0]["resource"];
    assert_eq!(response["resourceType"], "QuestionnaireResponse");
    assert_eq!(response["questionnaire"], "http://loinc.org/q/44249-1");
    let total = response["item"].as_array().unwrap().last().unwrap();
    assert_eq!(total["linkId"], "44261-6");
    assert_eq!(total["answer"][0]["valueInteger"], 9);
    let data = &zip["data"];
    assert_eq!(data["client_id"], client.get());
    let tables = data["tables"].as_object().unwrap();

    let referring = tables_referring_to_clients(&app, client).await;
    assert!(referring.len() >= 10, "{referring:?}");
    for (table, count) in &referring {
        if ONLY_AFTER_ERASURE.contains(&table.as_str()) {
            continue;
        }
        assert!(
            *count > 0,
            "seed_everything puts no row about the client in {table}: add one"
        );
        let rows = tables
            .get(table)
            .unwrap_or_else(|| panic!("{table} is not in the export"))["rows"]
            .as_array()
            .unwrap();
        // The export's own audit entry is written once it has been handed over.
        let expected = if table == "audit_log" {
            count - 1
        } else {
            *count
        };
        assert_eq!(
            rows.len() as i64,
            expected,
            "{table}: every row about the client"
        );
        for row in rows {
            let mine = row.get("client_id").or_else(|| row.get("id")).unwrap();
            assert!(
                *mine == client.get() || table == "bookings",
                "{table} row is someone else's: {row}"
            );
        }
    }
    // Rows that belong to the client's records without naming the client themselves.
    for table in ["contract_versions", "invoice_lines", "outbox"] {
        assert!(
            !tables[table]["rows"].as_array().unwrap().is_empty(),
            "{table}"
        );
    }
    // Values are typed the same whatever the database: instants in UTC, dates, yes or no.
    assert_eq!(data["version"], 2);
    let first = |table: &str| tables[table]["rows"][0].clone();
    assert_eq!(first("sessions")["starts_at"], "2027-04-14T13:00:00Z");
    assert_eq!(
        first("subject_access_requests")["received_on"],
        "2027-04-15"
    );
    assert_eq!(first("clients")["reminders"], true);
    assert_eq!(first("sessions")["moved"], false);
    for entry in tables["audit_log"]["rows"].as_array().unwrap() {
        let at = entry["at"]
            .as_str()
            .expect("an audit entry's time is an instant");
        assert!(at.parse::<Timestamp>().is_ok(), "{at}");
    }
    assert_eq!(
        tables["sessions"]["found_by"], "rows with the client's id",
        "{}",
        tables["sessions"]
    );
    // Notes are decrypted; secrets are not there at all.
    let notes: Vec<&str> = tables["notes"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["body"].as_str().unwrap())
        .collect();
    assert!(
        notes.contains(&SESSION_NOTE) && notes.contains(&GENERAL_NOTE),
        "{notes:?}"
    );
    for (table, content) in tables {
        for row in content["rows"].as_array().unwrap() {
            for column in row.as_object().unwrap().keys() {
                assert!(!is_secret_column(column), "{table}.{column} is a secret");
            }
        }
    }
    assert!(
        tables["client_keys"]["withheld_columns"]
            .as_array()
            .unwrap()
            .contains(&Json::from("wrapped"))
    );
    // A change of email address: the address asked for, not the link's hash; the email
    // with the link, sent to an address not yet on the record, is theirs too.
    assert_eq!(
        tables["email_changes"]["withheld_columns"],
        serde_json::json!(["token_hash"])
    );
    assert_eq!(tables["email_changes"]["rows"][0]["new_email"], NEW_EMAIL);
    assert!(
        tables["outbox"]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["recipient"] == NEW_EMAIL && m["kind"] == "portal_email_confirm"),
        "the confirmation email"
    );
    let text = data.to_string();
    let wrapped = app
        .store
        .client_key(app.practice, client)
        .await
        .unwrap()
        .unwrap();
    let wrapped_hex: String = wrapped.iter().map(|b| format!("{b:02x}")).collect();
    assert!(!text.contains(&wrapped_hex), "the wrapped key");
    assert!(!text.contains("Robin Vale"), "nothing about another client");
    assert!(!text.contains("robin@example.com"));
    // The readable page: the same facts, self-contained.
    let html = zip["html"].as_str().unwrap();
    for expected in [
        NAME,
        SESSION_NOTE,
        "Sessions",
        "Who has seen or changed your record",
        "Sign-in links",
        "15 April 2027",
        "14 April 2027, 14:00",
    ] {
        assert!(html.contains(expected), "{expected} in the page");
    }
    // Nothing loaded or linked from elsewhere (addresses in the emails it quotes are text).
    for external in ["href=\"http", "src=", "<link", "<script", "url("] {
        assert!(!html.contains(external), "{external} in the page");
    }
    // Written in the audit log, about the client.
    let entries = app
        .store
        .client_audit(app.practice, client, 5)
        .await
        .unwrap();
    assert_eq!(entries[0].action, "client.export");
    // The office says to look for third parties before sending it.
    let page = app.office_get(&format!("/office/clients/{client}")).await;
    assert!(
        page.decoded()
            .contains("remove anything about other people")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_destroys_the_key_first_and_leaves_only_ids() {
    let app = TestApp::spawn().await;
    let client = seed_everything(&app).await;
    let robin = robin_on_mondays(&app).await;
    assert!(app.database_contains(NAME) && app.database_contains(EMAIL));
    let confirm = app
        .office_get(&format!("/office/clients/{client}/erase"))
        .await;
    confirm.assert_status(StatusCode::OK);
    let words = confirm.decoded();
    for expected in [
        "This cannot be undone",
        "encrypts Quillon Marrowby’s notes",
        "Backups made before today still contain the record",
    ] {
        assert!(words.contains(expected), "{expected}");
    }
    assert!(
        app.store.client(app.practice, client).await.is_ok(),
        "a GET changes nothing"
    );
    app.office_post(&format!("/office/clients/{client}/erase"), &[])
        .await
        .assert_redirect("/office/records-to-review?erased=1");

    for (table, count) in tables_referring_to_clients(&app, client).await {
        let kept = ["audit_log", "subject_access_requests", "erased_clients"];
        assert!(
            count == 0 || kept.contains(&table.as_str()),
            "{count} rows left in {table}"
        );
    }
    assert_eq!(
        app.store.client_key(app.practice, client).await.unwrap(),
        None
    );
    for marker in [
        NAME,
        EMAIL,
        NEW_EMAIL,
        "rights-canary",
        "Kept while the invoice",
    ] {
        assert!(
            !app.database_contains(marker),
            "{marker} is still in the file"
        );
    }
    assert_eq!(
        app.store
            .subject_access_requests(app.practice, client)
            .await
            .unwrap()
            .len(),
        1,
        "the record of the request stays"
    );
    let entries = app
        .store
        .client_audit(app.practice, client, 50)
        .await
        .unwrap();
    assert_eq!(entries[0].action, "client.erase");
    assert_eq!(entries[0].object_id, Some(client.get()));
    assert!(entries.len() > 5, "earlier entries are kept");
    assert!(
        store::audit::verify(&*app.store, app.practice)
            .await
            .unwrap()
            .is_ok()
    );
    // The consultation's time stays, without the person.
    let start: Timestamp = "2027-03-29T08:00:00Z".parse().unwrap();
    let consultation = &app
        .store
        .bookings_between(app.practice, start, start + SignedDuration::from_mins(1))
        .await
        .unwrap()[0];
    assert_eq!(consultation.visitor.name.as_str(), "Erased");
    // The record is gone from the office; another client is untouched.
    app.office_get(&format!("/office/clients/{client}"))
        .await
        .assert_status(StatusCode::NOT_FOUND);
    app.office_post(&format!("/office/clients/{client}/erase"), &[])
        .await
        .assert_status(StatusCode::NOT_FOUND);
    app.office_get(&format!("/office/clients/{robin}"))
        .await
        .assert_status(StatusCode::OK);
    let done = app.office_get("/office/records-to-review?erased=1").await;
    assert!(done.decoded().contains("The record was erased"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_review_queue_shows_expired_records_and_keeping_one_needs_a_reason() {
    let app = TestApp::spawn().await;
    let old = app
        .store
        .create_client(
            app.practice,
            &NewClient {
                name: PersonName::parse("Ada Longago").unwrap(),
                email: EmailAddress::parse("ada@example.com").unwrap(),
                phone: None,
                contact_preference: ContactPreference::Email,
                reminders: true,
            },
            None,
            START.parse().unwrap(),
        )
        .await
        .unwrap();
    // Robin's sessions run to the end of June 2027: not due until 2034.
    let robin = robin_on_mondays(&app).await;
    app.sign_in().await;
    let today = app.office_get("/office/records-to-review").await;
    assert!(today.decoded().contains("No records are due for review"));
    // Seven years and a week later (a whole week past 25 March 2034).
    at(&app, "2034-04-01T09:00:00Z").await;
    let queue = app.office_get("/office/records-to-review").await;
    queue.assert_status(StatusCode::OK);
    let text = queue.decoded();
    assert!(text.contains("Ada Longago"), "{text}");
    assert!(text.contains("Added 25 March 2027, no sessions"));
    assert!(!text.contains("Robin Vale"), "still within the period");
    assert!(
        app.office_get("/office")
            .await
            .decoded()
            .contains("1</span> record to review")
    );
    assert!(
        app.store.client(app.practice, old).await.is_ok(),
        "nothing deleted"
    );

    let keep = format!("/office/clients/{old}/keep");
    app.office_get(&keep).await.assert_status(StatusCode::OK);
    for (reason, day, message) in [
        ("", "2035-04-01", "Write the reason"),
        ("A complaint is open", "2034-04-01", "must be after today"),
        (
            "A complaint is open",
            "next year",
            "Enter the date to look at the record again",
        ),
        (
            "<script>alert(1)</script>",
            "2099-01-01",
            "within the next 30 years",
        ),
    ] {
        let reply = app
            .office_post(&keep, &[("reason", reason), ("review_on", day)])
            .await;
        reply.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(reply.title().starts_with("Error: "));
        assert!(reply.decoded().contains(message), "{message}");
        assert!(!reply.body.contains("<script>alert"), "escaped");
    }
    assert!(
        app.store
            .retention_decisions(app.practice, old)
            .await
            .unwrap()
            .is_empty(),
        "nothing half stored"
    );
    app.office_post(
        &keep,
        &[
            ("reason", "A complaint is open"),
            ("review_on", "2035-04-01"),
        ],
    )
    .await
    .assert_redirect("/office/records-to-review");
    assert!(
        !app.office_get("/office/records-to-review")
            .await
            .decoded()
            .contains("Ada Longago")
    );
    let page = app.office_get(&format!("/office/clients/{old}")).await;
    assert!(
        page.decoded().contains(
            "Kept for now (1 April 2034); look again on 1 April 2035: A complaint is open"
        )
    );
    let entries = app.store.client_audit(app.practice, old, 10).await.unwrap();
    assert!(entries.iter().any(|e| e.action == "client.erasure_refused"));
    // When the date comes, it is back.
    at(&app, "2035-04-01T09:00:00Z").await;
    assert!(
        app.office_get("/office/records-to-review")
            .await
            .decoded()
            .contains("Ada Longago")
    );
    let _ = robin;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_due_a_calendar_month_later_and_can_be_extended_once() {
    let app = TestApp::spawn().await;
    let robin = robin_on_mondays(&app).await;
    app.sign_in().await;
    let new = format!("/office/clients/{robin}/subject-access/new");
    let form = app.office_get(&new).await;
    assert!(
        form.decoded()
            .contains("You have one calendar month to respond")
    );
    assert!(
        form.body.contains("value=\"2027-03-25\""),
        "today by default"
    );
    for (typed, message) in [
        ("2027-03-26", "cannot be in the future"),
        ("31/01/2027", "Enter the date the request was received"),
        ("2027-02-30", "Enter the date the request was received"),
        (
            "'; DROP TABLE clients; --",
            "Enter the date the request was received",
        ),
    ] {
        let reply = app.office_post(&new, &[("received", typed)]).await;
        reply.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(reply.decoded().contains(message), "{typed}");
    }
    app.office_post(&new, &[("received", "2027-01-31")])
        .await
        .assert_redirect(&format!("/office/clients/{robin}#data-rights"));
    let page = app.office_get(&format!("/office/clients/{robin}")).await;
    let text = page.decoded();
    // 28 February 2027 is a Sunday.
    assert!(text.contains("Monday 1 March 2027"), "{text}");
    assert!(text.contains("Overdue"), "today is 25 March 2027");
    let request = app
        .store
        .subject_access_requests(app.practice, robin)
        .await
        .unwrap()[0]
        .id;
    let extend = format!("/office/clients/{robin}/subject-access/{request}/extend");
    let extend_page = app.office_get(&extend).await;
    assert!(extend_page.decoded().contains("Friday 30 April 2027"));
    app.office_post(&extend, &[("reason", " ")])
        .await
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    app.office_post(&extend, &[("reason", "Records in two places.")])
        .await
        .assert_status(StatusCode::SEE_OTHER);
    app.office_post(&extend, &[("reason", "Again.")])
        .await
        .assert_status(StatusCode::SEE_OTHER);
    let text = app
        .office_get(&format!("/office/clients/{robin}"))
        .await
        .decoded();
    assert!(
        text.contains("Friday 30 April 2027") && text.contains("Extended: Records in two places.")
    );
    assert!(!text.contains("Again.") && !text.contains("Overdue"));
    app.office_post(
        &format!("/office/clients/{robin}/subject-access/{request}/complete"),
        &[],
    )
    .await
    .assert_status(StatusCode::SEE_OTHER);
    let text = app
        .office_get(&format!("/office/clients/{robin}"))
        .await
        .decoded();
    assert!(text.contains("Answered 25 March 2027"));
    let recorded = app
        .store
        .client_audit(app.practice, robin, 50)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == "client.subject_access")
        .count();
    assert_eq!(recorded, 4, "recorded, extended (twice asked), answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_practices_client_is_not_found_on_every_data_rights_route() {
    let app = TestApp::spawn().await;
    let mine = robin_on_mondays(&app).await;
    let setup = PracticeSetup::from_toml(PRACTICE_TOML).unwrap();
    let now: Timestamp = START.parse().unwrap();
    let other = app.store.create_practice(&setup, now).await.unwrap();
    let theirs = app
        .store
        .create_client(
            other,
            &NewClient {
                name: PersonName::parse("Someone Else").unwrap(),
                email: EmailAddress::parse("else@example.com").unwrap(),
                phone: None,
                contact_preference: ContactPreference::Email,
                reminders: true,
            },
            None,
            now,
        )
        .await
        .unwrap();
    let their_request = app
        .store
        .add_subject_access(other, theirs, date(2027, 3, 1), date(2027, 4, 1), now)
        .await
        .unwrap();
    app.sign_in().await;
    for id in [theirs.to_string(), "999999".to_owned(), "abc".to_owned()] {
        for path in [
            format!("/office/clients/{id}/subject-access/new"),
            format!("/office/clients/{id}/keep"),
            format!("/office/clients/{id}/refuse-erasure"),
            format!("/office/clients/{id}/erase"),
        ] {
            app.office_get(&path)
                .await
                .assert_status(StatusCode::NOT_FOUND);
        }
        for path in [
            format!("/office/clients/{id}/export"),
            format!("/office/clients/{id}/subject-access/new"),
            format!("/office/clients/{id}/keep"),
            format!("/office/clients/{id}/refuse-erasure"),
            format!("/office/clients/{id}/erase"),
        ] {
            app.office_post(
                &path,
                &[
                    ("received", "2027-03-01"),
                    ("reason", "x"),
                    ("review_on", "2030-01-01"),
                ],
            )
            .await
            .assert_status(StatusCode::NOT_FOUND);
        }
    }
    // Their request under my client's id is not mine either.
    for path in [
        format!("/office/clients/{mine}/subject-access/{their_request}/extend"),
        format!("/office/clients/{mine}/subject-access/{their_request}/complete"),
    ] {
        app.office_post(&path, &[("reason", "x")])
            .await
            .assert_status(StatusCode::NOT_FOUND);
    }
    assert!(app.store.client(other, theirs).await.is_ok());
    assert_eq!(
        app.store
            .subject_access(other, their_request)
            .await
            .unwrap()
            .completed,
        None
    );
    // Signed out: to the sign-in page, nothing exported.
    let anonymous = app
        .post_form(&format!("/office/clients/{mine}/export"), &[])
        .await;
    assert_eq!(anonymous.location(), Some("/office/sign-in"));
}
