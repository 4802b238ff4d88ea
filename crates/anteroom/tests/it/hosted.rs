//! Hosted mode as an operator runs it: `anteroom practice create` makes practices in one
//! database, `anteroom serve --hosted --base-domain DOMAIN` serves each at its own host,
//! and `practice add-domain`, `suspend` and `resume` reach a running server within seconds.
//! A host no practice answers on is a plain 404 that names none; a suspended practice's
//! hosts say it is paused.
//!
//! Each runs on SQLite, and the first on PostgreSQL too when ANTEROOM_TEST_POSTGRES_URL
//! names a server.

use std::{
    io::Write,
    process::Stdio,
    time::{Duration, Instant},
};

use crate::cli::{PASSWORD, Server, command, run};

const DEMO_PRACTICE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../content/demo/practice.toml"
);
/// The starter's practice name (alex's) and the demo's (sam's).
const ALEX_NAME: &str = "Your practice name";
const SAM_NAME: &str = "Adeyemi-Holt Psychotherapy";
const NOBODY: &str = "There is no practice at this address.";
const PAUSED: &str = "This site is paused";
/// The email address of someone who enquired at alex's site: client data the list must never
/// show.
const CLIENT_EMAIL: &str = "river.client@example.net";

/// How long a change made by another process may take to show (it reloads its host
/// directory every 5 seconds), and how often to look.
const SHOWS_WITHIN: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(250);

/// Where the practices are: `--data-dir DIR` or `--database-url URL`, and the key file
/// options that `practice create` and `serve` need (none for SQLite: beside the database).
struct Place {
    data: Vec<String>,
    key: Vec<String>,
}

impl Place {
    /// `first` (a command), then the place, then `rest`.
    fn args<'a>(&'a self, first: &[&'a str], rest: &[&'a str], key: bool) -> Vec<&'a str> {
        let mut args = first.to_vec();
        args.extend(self.data.iter().map(String::as_str));
        if key {
            args.extend(self.key.iter().map(String::as_str));
        }
        args.extend(rest);
        args
    }

    /// `anteroom practice VERB --place … REST`, which must succeed: its output.
    fn practice(&self, verb: &str, rest: &[&str]) -> String {
        let key = verb == "create";
        run(
            "umask 077",
            &self.args(&["practice", verb], rest, key),
            &format!("{PASSWORD}\n"),
        )
    }

    /// `anteroom practice VERB …`, which must fail: its exit status and standard error.
    fn refused(&self, verb: &str, rest: &[&str]) -> (i32, String) {
        let key = verb == "create";
        refused(&self.args(&["practice", verb], rest, key))
    }

    fn create(&self, host: &str, email: &str, practice_file: Option<&str>) -> String {
        let mut rest = vec![
            "--host",
            host,
            "--email",
            email,
            "--name",
            "Morgan Therapist",
            "--password-stdin",
        ];
        if let Some(file) = practice_file {
            rest.extend(["--practice-file", file]);
        }
        self.practice("create", &rest)
    }

    fn list(&self) -> String {
        self.practice("list", &[])
    }

    fn serve(&self) -> Server {
        Server::start_reporting(
            "umask 077",
            &self.args(
                &["serve"],
                &["--hosted", "--base-domain", "localhost"],
                true,
            ),
            "http://localhost:",
        )
    }
}

/// Run `anteroom ARGS` to the end with a password on standard input: its exit status and
/// what it wrote to standard error.
fn refused(args: &[&str]) -> (i32, String) {
    let mut child = command("umask 077", args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run anteroom");
    // It may have refused before reading it.
    let _ = child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{PASSWORD}\n").as_bytes());
    let output = child.wait_with_output().expect("wait for anteroom");
    let code = output.status.code().expect("an exit status");
    (code, String::from_utf8_lossy(&output.stderr).into_owned())
}

/// An answer taken apart: its status and its body (de-chunked).
struct Answer {
    status: u16,
    body: String,
    raw: String,
}

impl Answer {
    fn parse(raw: String) -> Self {
        let status = raw
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)
        } else {
            body.to_owned()
        };
        Self { status, body, raw }
    }
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.600}", self.raw)
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut body = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || after.len() < size {
            break;
        }
        body.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    body
}

fn get(server: &Server, host: Option<&str>, path: &str) -> Answer {
    Answer::parse(server.get(host, path))
}

/// Ask until `host` answers `path` with `status` (and, for 200, a page showing `shows`), or
/// fail after [`SHOWS_WITHIN`]: another process's change shows within seconds.
#[track_caller]
fn eventually(server: &Server, host: &str, path: &str, status: u16, shows: &str) -> Answer {
    let start = Instant::now();
    loop {
        let answer = get(server, Some(host), path);
        if answer.status == status && answer.body.contains(shows) {
            return answer;
        }
        assert!(
            start.elapsed() < SHOWS_WITHIN,
            "{host}{path} did not answer {status} with {shows:?} within {SHOWS_WITHIN:?}; \
             last answer: {answer:?}"
        );
        std::thread::sleep(POLL);
    }
}

/// The practice `sam` answers at `host` now.
#[track_caller]
fn is_sam(server: &Server, host: &str) {
    let page = get(server, Some(host), "/");
    assert_eq!(page.status, 200, "{host}: {page:?}");
    assert!(page.body.contains(SAM_NAME), "{host}: {page:?}");
    assert!(!page.body.contains(ALEX_NAME), "{host}: {page:?}");
}

#[track_caller]
fn is_alex(server: &Server, host: &str) {
    let page = get(server, Some(host), "/");
    assert_eq!(page.status, 200, "{host}: {page:?}");
    assert!(page.body.contains(ALEX_NAME), "{host}: {page:?}");
    assert!(!page.body.contains(SAM_NAME), "{host}: {page:?}");
}

#[track_caller]
fn is_paused(server: &Server, host: &str, path: &str) {
    let page = get(server, Some(host), path);
    assert_eq!(page.status, 503, "{host}{path}: {page:?}");
    assert!(page.body.contains(PAUSED), "{host}{path}: {page:?}");
    assert!(
        !page.body.contains(SAM_NAME) && !page.body.contains(ALEX_NAME),
        "the paused page names no practice: {page:?}"
    );
}

/// The list's row for the practice with `host` among its hosts.
#[track_caller]
fn row<'a>(list: &'a str, host: &str) -> &'a str {
    let rows: Vec<&str> = list
        .lines()
        .filter(|line| line.split_whitespace().any(|word| word == host))
        .collect();
    assert_eq!(rows.len(), 1, "one row for {host}:\n{list}");
    rows[0]
}

/// An enquiry through `host`'s contact form, from [`CLIENT_EMAIL`].
fn enquire_at(server: &Server, host: &str) -> Answer {
    let body = format!(
        "name=River+Client&email={}&phone=&contact_preference=email\
         &message=I+am+free+on+Tuesday+evenings+and+would+like+to+meet.&consent=true&website=",
        CLIENT_EMAIL.replace('@', "%40")
    );
    Answer::parse(server.request(&format!(
        "POST /contact HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )))
}

fn serves_each_practice_at_its_own_host(place: &Place) {
    let made = place.create("alex", "alex@therapists.example", None);
    assert!(made.contains(ALEX_NAME), "{made}");
    let made = place.create("sam", "tamsin@therapists.example", Some(DEMO_PRACTICE));
    assert!(made.contains(SAM_NAME), "{made}");

    let mut server = place.serve();
    let port = server.port;
    let alex = format!("alex.localhost:{port}");
    let sam = format!("sam.localhost:{port}");
    let own = "therapy.example.org";

    is_alex(&server, &alex);
    is_sam(&server, &sam);
    // Names are not case-sensitive.
    is_sam(&server, &format!("SAM.Localhost:{port}"));

    // Hosts no practice answers on: a plain 404 naming none.
    let nobody = format!("nobody.localhost:{port}");
    let base = format!("localhost:{port}");
    for host in [Some(nobody.as_str()), Some(base.as_str()), None] {
        let answer = get(&server, host, "/");
        assert_eq!(answer.status, 404, "{host:?}: {answer:?}");
        assert_eq!(answer.body.trim(), NOBODY, "{host:?}: {answer:?}");
        for name in [ALEX_NAME, SAM_NAME, "alex", "sam"] {
            assert!(!answer.body.contains(name), "{host:?}: {answer:?}");
        }
    }
    let answer = get(&server, Some(own), "/");
    assert_eq!(answer.status, 404, "not yet sam's: {answer:?}");

    // Someone enquires at alex's: their address is never shown.
    let sent = enquire_at(&server, &alex);
    assert_eq!(sent.status, 303, "{sent:?}");

    // Changes made by other processes while serving show within seconds.
    let added = place.practice("add-domain", &["--host", "sam", "--domain", own]);
    assert!(added.contains(own), "{added}");
    eventually(&server, own, "/", 200, SAM_NAME);
    is_sam(&server, own);
    is_sam(&server, &sam);

    let said = place.practice("suspend", &["--host", "sam"]);
    assert!(said.contains("Suspended"), "{said}");
    eventually(&server, &sam, "/", 503, PAUSED);
    is_paused(&server, &sam, "/");
    is_paused(&server, own, "/");
    is_paused(&server, &sam, "/office/sign-in");
    is_paused(&server, own, "/office/sign-in");
    is_alex(&server, &alex);

    let list = place.list();
    assert!(row(&list, own).contains("suspended"), "{list}");
    assert!(row(&list, "sam").contains(SAM_NAME), "{list}");
    let alex_row = row(&list, "alex");
    assert!(
        alex_row.contains("active") && alex_row.contains(ALEX_NAME),
        "{list}"
    );
    for column in ["HOST", "STATE", "STAFF", "CLIENTS", "BOOKINGS"] {
        assert!(list.contains(column), "{column}: {list}");
    }
    // alex: 1 staff, no clients yet (an enquiry is not one), no bookings.
    let counts: Vec<&str> = alex_row.split_whitespace().skip(2).take(3).collect();
    assert_eq!(counts, ["1", "0", "0"], "{list}");
    assert!(
        !list.contains(CLIENT_EMAIL) && !list.contains('@'),
        "no email in the list: {list}"
    );

    let said = place.practice("resume", &["--host", own]);
    assert!(said.contains("Resumed"), "{said}");
    eventually(&server, own, "/", 200, SAM_NAME);
    eventually(&server, &sam, "/", 200, SAM_NAME);
    is_sam(&server, own);
    is_sam(&server, &sam);
    is_alex(&server, &alex);
    let list = place.list();
    assert!(!list.contains("suspended"), "{list}");

    // Closing: only a suspended practice, and then for good. The others stay as they were,
    // and the name and email are free again.
    let (code, said) = place.refused("close", &["--host", "sam"]);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("suspend it first"), "{said}");
    is_sam(&server, &sam);
    place.practice("suspend", &["--host", "sam"]);
    let said = place.practice("close", &["--host", own]);
    for needed in [
        "Closed the practice at therapy.example.org",
        "key was destroyed first",
        "1 staff account",
        "Backups made before now",
        "anteroom key rotate",
    ] {
        assert!(said.contains(needed), "{needed}: {said}");
    }
    eventually(&server, &sam, "/", 404, NOBODY);
    let answer = get(&server, Some(own), "/");
    assert_eq!(answer.status, 404, "{answer:?}");
    is_alex(&server, &alex);
    let list = place.list();
    assert!(!list.contains("sam") && !list.contains(own), "{list}");
    let checked = run(
        "umask 077",
        &place.args(&["audit", "verify"], &[], false),
        "",
    );
    assert!(checked.contains("intact"), "{checked}");
    let (code, said) = place.refused("resume", &["--host", "sam"]);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("no practice answers on sam"), "{said}");
    place.create("sam", "tamsin@therapists.example", Some(DEMO_PRACTICE));
    eventually(&server, &sam, "/", 200, SAM_NAME);

    server.drain();
    assert!(
        !server.log.iter().any(|l| l.contains(CLIENT_EMAIL)),
        "{:?}",
        server.log
    );
    server.stop();
}

#[test]
fn hosted_mode_serves_each_practice_at_its_own_host() {
    let root = tempfile::tempdir().expect("temp dir");
    let data = root.path().join("practices");
    serves_each_practice_at_its_own_host(&Place {
        data: vec!["--data-dir".into(), data.to_str().unwrap().into()],
        key: vec![],
    });
}

/// A throwaway PostgreSQL database, or `None` (the test is skipped) without a server.
fn postgres_database() -> Option<store_postgres::testing::TestDatabase> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(store_postgres::testing::TestDatabase::create())
}

#[test]
fn hosted_mode_serves_each_practice_at_its_own_host_on_postgres() {
    let Some(db) = postgres_database() else {
        return;
    };
    let root = tempfile::tempdir().expect("temp dir");
    let key = root.path().join("practices.key");
    serves_each_practice_at_its_own_host(&Place {
        data: vec!["--database-url".into(), db.url.clone()],
        key: vec!["--key-file".into(), key.to_str().unwrap().into()],
    });
}

#[test]
fn practice_commands_refuse_clearly() {
    let root = tempfile::tempdir().expect("temp dir");
    let data = root.path().join("practices");
    let place = Place {
        data: vec!["--data-dir".into(), data.to_str().unwrap().into()],
        key: vec![],
    };
    place.create("alex", "alex@therapists.example", None);
    let practices = |list: &str| list.lines().skip(1).count();

    // A name already taken: refused, and nothing half-made.
    let (code, said) = place.refused(
        "create",
        &[
            "--host",
            "alex",
            "--email",
            "another@therapists.example",
            "--name",
            "Alex Other",
            "--password-stdin",
        ],
    );
    assert_eq!(code, 1, "{said}");
    assert!(
        said.contains("the name alex is already a practice's"),
        "{said}"
    );
    let list = place.list();
    row(&list, "alex");
    assert_eq!(practices(&list), 1, "{list}");

    // An email already another practice's account: refused, and nothing half-made.
    let (code, said) = place.refused(
        "create",
        &[
            "--host",
            "bea",
            "--email",
            "alex@therapists.example",
            "--name",
            "Bea Therapist",
            "--password-stdin",
        ],
    );
    assert_eq!(code, 1, "{said}");
    assert!(
        said.contains("already an account for alex@therapists.example"),
        "{said}"
    );
    let list = place.list();
    assert_eq!(practices(&list), 1, "{list}");
    assert!(!list.contains("bea"), "{list}");
    let (code, said) = place.refused("suspend", &["--host", "bea"]);
    assert_eq!(code, 1, "no practice bea: {said}");

    // Export and import, refused where they must be.
    let export = root.path().join("alex.export");
    let export = export.to_str().unwrap();
    let said = place.practice("export", &["--host", "alex", "--to", export]);
    assert!(
        said.contains("Exported the practice") && said.contains(".key"),
        "{said}"
    );
    let (code, said) = place.refused("export", &["--host", "alex", "--to", export]);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("exists already"), "{said}");
    let (code, said) = place.refused("import", &[export]);
    assert_eq!(code, 2, "{said}");
    assert!(said.contains("holds practices already"), "{said}");
    let (code, said) = place.refused("import", &[export, "--host", "bea"]);
    assert_eq!(code, 1, "{said}");
    assert!(
        said.contains("already an account in this database"),
        "{said}"
    );
    let mut bytes = std::fs::read(export).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let changed = root.path().join("changed.export");
    std::fs::write(&changed, &bytes).unwrap();
    std::fs::copy(
        format!("{export}.key"),
        root.path().join("changed.export.key"),
    )
    .unwrap();
    let (code, said) = place.refused("import", &[changed.to_str().unwrap(), "--host", "cy"]);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("changed or damaged"), "{said}");
    assert_eq!(practices(&place.list()), 1);

    // Reserved and malformed names: usage errors, on one line.
    for host in ["www", "operator", "a", "-x", "two words"] {
        let flag = format!("--host={host}");
        let (code, said) = place.refused(
            "create",
            &[
                &flag,
                "--email",
                "new@therapists.example",
                "--name",
                "New Therapist",
            ],
        );
        assert_eq!(code, 2, "{host:?}: {said}");
        assert_eq!(said.lines().count(), 1, "{host:?}: one line: {said}");
        assert!(said.starts_with("anteroom: --host:"), "{host:?}: {said}");
    }
    assert_eq!(practices(&place.list()), 1);

    // --hosted and --base-domain go together.
    let dir = data.to_str().unwrap();
    for args in [
        &["serve", "--data-dir", dir, "--hosted"][..],
        &["serve", "--data-dir", dir, "--base-domain", "x"],
        &["serve", "--data-dir", dir, "--operator-host", "operator.x"],
        &["serve", "--data-dir", dir, "--directory-host", "find.x"],
        &[
            "serve",
            "--data-dir",
            dir,
            "--hosted",
            "--base-domain",
            "x",
            "--outcode-centroids",
            "c.csv",
        ],
    ] {
        let (code, said) = refused(args);
        assert_eq!(code, 2, "{args:?}: {said}");
        assert_eq!(said.lines().count(), 1, "{args:?}: one line: {said}");
    }

    // A host no practice answers on.
    for host in ["nobody", "nobody.example.org"] {
        let (code, said) = place.refused("suspend", &["--host", host]);
        assert_eq!(code, 1, "{host}: {said}");
        assert!(
            said.contains(&format!("no practice answers on {host}")),
            "{host}: {said}"
        );
    }
}

/// `anteroom operator …` and `serve --operator-host`: the console answers on its own host
/// only, and the practices on theirs.
#[test]
fn operator_accounts_and_the_console_host() {
    let root = tempfile::tempdir().expect("temp dir");
    let data = root.path().join("practices");
    let place = Place {
        data: vec!["--data-dir".into(), data.to_str().unwrap().into()],
        key: vec![],
    };
    place.create("alex", "alex@therapists.example", None);
    let operator = |verb: &str, rest: &[&str]| {
        run(
            "umask 077",
            &place.args(&["operator", verb], rest, false),
            &format!("{PASSWORD}\n"),
        )
    };
    let said = operator(
        "add",
        &[
            "--email",
            "ops@host.example",
            "--name",
            "Sam Ops",
            "--password-stdin",
        ],
    );
    assert!(
        said.contains("Added the operator ops@host.example"),
        "{said}"
    );
    assert!(
        !said.contains(PASSWORD),
        "a password given is not printed: {said}"
    );
    let (code, said) = refused(&place.args(
        &["operator", "add"],
        &[
            "--email",
            "OPS@host.example",
            "--name",
            "Sam Again",
            "--password-stdin",
        ],
        false,
    ));
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("already an operator"), "{said}");
    let list = operator("list", &[]);
    assert!(
        list.contains("ops@host.example") && list.contains("not set up yet"),
        "{list}"
    );
    let said = operator("reset-second-factor", &["--email", "ops@host.example"]);
    assert!(said.contains("set up a new one"), "{said}");
    let said = operator(
        "set-password",
        &["--email", "ops@host.example", "--password-stdin"],
    );
    assert!(said.contains("signed out everywhere"), "{said}");
    let (code, said) = refused(&place.args(
        &["operator", "set-password"],
        &["--email", "nobody@host.example", "--password-stdin"],
        false,
    ));
    assert_eq!(code, 1, "{said}");
    assert!(
        said.contains("there is no operator nobody@host.example"),
        "{said}"
    );

    let mut server = Server::start_reporting(
        "umask 077",
        &place.args(
            &["serve"],
            &[
                "--hosted",
                "--base-domain",
                "localhost",
                "--operator-host",
                "operator.localhost",
            ],
            true,
        ),
        "http://localhost:",
    );
    let port = server.port;
    let console = format!("operator.localhost:{port}");
    let alex = format!("alex.localhost:{port}");
    let sign_in = get(&server, Some(&console), "/sign-in");
    assert_eq!(sign_in.status, 200, "{sign_in:?}");
    assert!(sign_in.body.contains("Sign in to the operator console"));
    let first = get(&server, Some(&console), "/");
    assert_eq!(first.status, 303, "{first:?}");
    assert_eq!(get(&server, Some(&console), "/office").status, 404);
    assert_eq!(get(&server, Some(&alex), "/sign-in").status, 404);
    is_alex(&server, &alex);
    server.drain();
    server.stop();
}
