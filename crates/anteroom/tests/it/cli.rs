//! The command line as an administrator runs it: the files it leaves are the owner's alone,
//! and the server outlasts clients that hold connections open.
//!
//! Each test runs the real binary under a chosen umask (and, for one, a small open-file
//! limit) through `sh`, and talks to it over 127.0.0.1 only.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_anteroom");
pub(crate) const PASSWORD: &str = "a quiet room with two chairs";

/// Generous: a debug build on a busy machine is slow to start, never early.
const DEADLINE: Duration = Duration::from_secs(60);

/// `anteroom ARGS` under `sh`, with `limits` (e.g. `umask 022`) applied first.
pub(crate) fn command(limits: &str, args: &[&str]) -> Command {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("{limits}; exec \"$0\" \"$@\""))
        .arg(BIN)
        .args(args)
        .env("ANTEROOM_LOG", "info")
        .env("NO_COLOR", "1")
        .env_remove("ANTEROOM_KEY")
        .env_remove("ANTEROOM_DATA_DIR")
        .env_remove("ANTEROOM_DATABASE_URL")
        .env_remove("ANTEROOM_KEY_FILE");
    command
}

/// Run a command to the end; its output, after checking it succeeded.
pub(crate) fn run(limits: &str, args: &[&str], stdin: &str) -> String {
    let mut child = command(limits, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run anteroom");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let output = child.wait_with_output().expect("wait for anteroom");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "anteroom {args:?} failed:\n{text}");
    text
}

pub(crate) fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Every file in `dir` is 0600; their names.
#[track_caller]
pub(crate) fn assert_all_private(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).expect("list the folder") {
        let path = entry.expect("entry").path();
        assert_eq!(mode(&path), 0o600, "{} is not private", path.display());
        names.push(path.file_name().unwrap().to_string_lossy().into_owned());
    }
    names.sort();
    names
}

/// A practice made by `anteroom init` under `umask`, in a new folder `practice` in `root`.
pub(crate) fn init(root: &Path, umask: &str) -> PathBuf {
    let data = root.join("practice");
    run(
        umask,
        &[
            "init",
            "--data-dir",
            data.to_str().unwrap(),
            "--email",
            "therapist@example.com",
            "--name",
            "Alex Morgan",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    data
}

/// Send one request to the server on `port` and read the whole answer (the connection is
/// closed after it).
pub(crate) fn request_at(port: u16, request: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

/// Send an enquiry through the contact form of the server on `port`; the whole answer.
pub(crate) fn enquire_at(port: u16) -> String {
    let body = "name=Sam+Whitlock&email=sam%40example.org&phone=&contact_preference=email\
        &message=I+am+free+on+Tuesday+evenings+and+would+like+to+meet.&consent=true&website=";
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
    stream
        .write_all(
            format!(
                "POST /contact HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .expect("send");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

/// A server started by the test, stopped (SIGTERM, as systemd does) when dropped.
pub(crate) struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
    pub(crate) log: Vec<String>,
    pub(crate) port: u16,
}

impl Server {
    /// Start `anteroom ARGS --listen 127.0.0.1:0` and wait for the address it reports.
    pub(crate) fn start(limits: &str, args: &[&str]) -> Self {
        Self::start_reporting(limits, args, "http://127.0.0.1:")
    }

    /// Start `anteroom ARGS --listen 127.0.0.1:0` and wait for a line with `before_port` and
    /// the port after it (hosted mode reports `http://localhost:PORT`, its base domain's
    /// address).
    pub(crate) fn start_reporting(limits: &str, args: &[&str], before_port: &str) -> Self {
        Self::spawn(limits, args, "127.0.0.1:0", before_port)
    }

    /// Start `anteroom ARGS --listen 127.0.0.1:PORT` and wait until it says it listens.
    pub(crate) fn start_at(limits: &str, args: &[&str], port: u16) -> Self {
        Self::spawn(
            limits,
            args,
            &format!("127.0.0.1:{port}"),
            "http://127.0.0.1:",
        )
    }

    fn spawn(limits: &str, args: &[&str], listen: &str, before_port: &str) -> Self {
        let mut args = args.to_vec();
        args.extend(["--listen", listen]);
        let mut child = command(limits, &args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start anteroom");
        let (send, lines) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let send = send.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if send.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let mut server = Self {
            child,
            lines,
            log: Vec::new(),
            port: 0,
        };
        let line = server.wait_for_line(|l| l.contains(before_port));
        let after = line.split(before_port).nth(1).unwrap_or_default();
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        server.port = digits.parse().expect("a port in the log");
        server
    }

    /// Wait for a line of output that `wanted` accepts, keeping every line seen.
    fn wait_for_line(&mut self, wanted: impl Fn(&str) -> bool) -> String {
        let until = Instant::now() + DEADLINE;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.log.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "the line never came; output so far:\n{}",
                    self.log.join("\n")
                ),
            }
        }
    }

    /// Keep the lines logged since last looked at.
    pub(crate) fn drain(&mut self) {
        while let Ok(line) = self.lines.try_recv() {
            self.log.push(line);
        }
    }

    /// `GET PATH` with `Host: HOST` (no Host header for `None`): the whole answer.
    pub(crate) fn get(&self, host: Option<&str>, path: &str) -> String {
        let host = host.map_or_else(String::new, |host| format!("Host: {host}\r\n"));
        self.request(&format!(
            "GET {path} HTTP/1.1\r\n{host}Connection: close\r\n\r\n"
        ))
    }

    /// Send one request and read the whole answer (the connection is closed after it).
    pub(crate) fn request(&self, request: &str) -> String {
        request_at(self.port, request)
    }

    /// Send an enquiry through the contact form: a write to the database.
    pub(crate) fn enquire(&self) -> String {
        enquire_at(self.port)
    }

    /// Stop it as systemd or Ctrl+C would, and wait for it to finish.
    pub(crate) fn stop(mut self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "send SIGTERM");
        let until = Instant::now() + DEADLINE;
        while Instant::now() < until {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "stopped cleanly: {status}");
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("anteroom did not stop after SIGTERM");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn init_and_backup_leave_files_only_their_owner_can_read_whatever_the_umask() {
    for umask in ["umask 022", "umask 000"] {
        let root = tempfile::tempdir().expect("temp dir");
        let data = init(root.path(), umask);
        assert_eq!(mode(&data), 0o700, "{umask}: the data folder");
        let names = assert_all_private(&data);
        assert!(
            names.contains(&"anteroom.db".to_owned()) && names.contains(&"anteroom.key".to_owned()),
            "{names:?}"
        );
        let backups = root.path().join("backups");
        std::fs::create_dir(&backups).expect("a folder for backups");
        let backup = backups.join("monday.db");
        run(
            umask,
            &[
                "backup",
                backup.to_str().unwrap(),
                "--data-dir",
                data.to_str().unwrap(),
            ],
            "",
        );
        assert_eq!(mode(&backup), 0o600, "{umask}: the backup");
        assert_eq!(assert_all_private(&backups), ["monday.db"]);
    }
}

#[test]
fn serve_keeps_the_wal_and_shm_private_and_warns_when_the_database_is_open_to_others() {
    let root = tempfile::tempdir().expect("temp dir");
    let data = init(root.path(), "umask 022");
    let database = data.join("anteroom.db");
    let args = ["serve", "--data-dir", data.to_str().unwrap()];

    let server = Server::start("umask 022", &args);
    let answer = server.enquire();
    assert!(answer.starts_with("HTTP/1.1 303"), "{answer}");
    let wal = data.join("anteroom.db-wal");
    assert!(
        std::fs::metadata(&wal).expect("the WAL").len() > 0,
        "the enquiry is in the WAL"
    );
    let names = assert_all_private(&data);
    assert_eq!(
        names,
        [
            "anteroom.db",
            "anteroom.db-shm",
            "anteroom.db-wal",
            "anteroom.key"
        ]
    );
    assert_eq!(mode(&data), 0o700);
    assert!(
        !server.log.iter().any(|l| l.contains("chmod")),
        "no warning for private files: {:?}",
        server.log
    );
    server.stop();

    // Made readable by others by hand: serve says so, with the fix.
    std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let server = Server::start("umask 022", &args);
    let warnings: Vec<&String> = server.log.iter().filter(|l| l.contains("chmod")).collect();
    assert_eq!(warnings.len(), 1, "one line: {:?}", server.log);
    assert!(warnings[0].contains("WARN"), "{}", warnings[0]);
    assert!(
        warnings[0].contains(&format!(
            "chmod 700 '{}' && chmod 600 '{}'*",
            data.display(),
            database.display()
        )),
        "{}",
        warnings[0]
    );
    server.stop();
}

#[test]
fn the_demo_makes_a_private_folder_and_files() {
    let root = tempfile::tempdir().expect("temp dir");
    let data = root.path().join("demo");
    let server = Server::start(
        "umask 022",
        &[
            "demo",
            "--data-dir",
            data.to_str().unwrap(),
            "--demo-password",
            PASSWORD,
        ],
    );
    let answer = server.enquire();
    assert!(answer.starts_with("HTTP/1.1 303"), "{answer}");
    assert_eq!(mode(&data), 0o700);
    let names = assert_all_private(&data);
    assert!(names.contains(&"anteroom.db-wal".to_owned()), "{names:?}");
    assert!(names.contains(&"anteroom.db-shm".to_owned()), "{names:?}");
    server.stop();
}
#[test]
fn serve_answers_again_once_connections_that_sent_half_a_request_are_closed() {
    let root = tempfile::tempdir().expect("temp dir");
    let data = init(root.path(), "umask 022");
    // A small open-file limit, so the held connections use up what is left.
    let mut server = Server::start(
        "ulimit -n 64",
        &["serve", "--data-dir", data.to_str().unwrap()],
    );
    let mut held = Vec::new();
    for _ in 0..80 {
        let mut stream = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .expect("send half a request");
        held.push(stream);
    }
    server.wait_for_line(|l| l.contains("cannot accept new connections"));
    // Answered once the held connections have been closed for taking too long.
    let answer = server.request("GET /about HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:.200}");
    server.drain();
    let failures = server
        .log
        .iter()
        .filter(|l| l.contains("cannot accept new connections"))
        .count();
    assert!(failures <= 3, "logged once per run of failures: {failures}");
    drop(held);
    server.stop();
}

/// `--log-format json`: every line is one JSON object, and a line written while serving a
/// request carries that request's id, as its response does. `--metrics-listen`: the
/// metrics on their own address, and not on the site's.
#[test]
fn serve_logs_json_lines_with_the_request_id_and_serves_metrics_apart() {
    let root = tempfile::tempdir().expect("temp dir");
    let data = init(root.path(), "umask 077");
    let args = [
        "serve",
        "--data-dir",
        data.to_str().unwrap(),
        "--log-format",
        "json",
        // Another loopback address, so that its log line is not taken for the site's.
        "--metrics-listen",
        "127.0.0.2:0",
    ];
    let mut server = Server::start("umask 077", &args);
    let answer = server.enquire();
    assert!(answer.starts_with("HTTP/1.1 303"), "{answer}");
    let id = answer
        .lines()
        .find_map(|l| l.strip_prefix("x-request-id: "))
        .expect("a request id")
        .trim()
        .to_owned();
    let logged = server.wait_for_line(|l| l.contains("enquiry received"));
    let line: serde_json::Value = serde_json::from_str(&logged).expect("a JSON line");
    assert_eq!(line["span"]["id"], id.as_str(), "{logged}");
    assert_eq!(line["level"], "INFO");
    server.drain();
    for line in &server.log {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok_and(|v| v.is_object()),
            "not a JSON object: {line}"
        );
    }
    let metrics_at = server
        .log
        .iter()
        .find_map(|l| l.split("http://127.0.0.2:").nth(1))
        .and_then(|rest| rest.split('/').next())
        .and_then(|port| port.parse::<u16>().ok())
        .expect("the metrics address in the log");
    let mut stream = TcpStream::connect(("127.0.0.2", metrics_at)).expect("connect");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.2\r\nConnection: close\r\n\r\n")
        .expect("send");
    let mut metrics = String::new();
    let _ = stream.read_to_string(&mut metrics);
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    assert!(
        metrics.contains(r#"anteroom_http_requests_total{route="/contact",status="303"} 1"#),
        "{metrics}"
    );
    assert!(!metrics.contains("Whitlock") && !metrics.contains("sam@example.org"));
    let site = server.get(Some("127.0.0.1"), "/metrics");
    assert!(
        site.starts_with("HTTP/1.1 404"),
        "not on the site's address"
    );
    server.stop();
}

/// `read` run on a read-only connection to the SQLite database at `path`.
pub(crate) fn read_only<T>(
    path: &Path,
    read: impl AsyncFnOnce(&mut sqlx::SqliteConnection) -> T,
) -> T {
    use sqlx::Connection as _;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(path)
            .read_only(true);
        let mut db = sqlx::SqliteConnection::connect_with(&options)
            .await
            .expect("open the database");
        let read = read(&mut db).await;
        db.close().await.expect("close");
        read
    })
}

/// Every table of the SQLite database at `path`, each row written out whole (`quote()` of
/// every column), in the order of those rows written out.
pub(crate) fn every_table(path: &Path) -> Vec<(String, Vec<String>)> {
    read_only(path, async |db| {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
             ORDER BY name",
        )
        .fetch_all(&mut *db)
        .await
        .expect("tables");
        let mut tables = Vec::new();
        for name in names {
            let columns: Vec<String> =
                sqlx::query_scalar("SELECT name FROM pragma_table_info(?) ORDER BY cid")
                    .bind(&name)
                    .fetch_all(&mut *db)
                    .await
                    .expect("columns");
            let row = columns
                .iter()
                .map(|c| format!("quote(\"{c}\")"))
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT {row} FROM \"{name}\" ORDER BY 1"
            )))
            .fetch_all(&mut *db)
            .await
            .expect("rows");
            tables.push((name, rows));
        }
        tables
    })
}

/// Enquiries in the SQLite database at `path`.
fn enquiries_in(path: &Path) -> i64 {
    read_only(path, async |db| {
        sqlx::query_scalar("SELECT COUNT(*) FROM enquiries")
            .fetch_one(db)
            .await
            .expect("count")
    })
}

/// `anteroom restore`: a backup taken while serving comes back whole, in place (the
/// database it replaces kept aside) or in a new folder; a backup that fails a check, or a
/// key file that is not the backup's, replaces nothing.
#[test]
fn a_backup_taken_while_serving_is_restored_after_its_checks_and_nothing_else_is() {
    let root = tempfile::tempdir().expect("temp dir");
    let data = init(root.path(), "umask 077");
    let data_arg = data.to_str().unwrap();
    let database = data.join("anteroom.db");
    let backup = root.path().join("monday.db");
    let server = Server::start(
        "umask 077",
        &["serve", "--data-dir", data_arg, "--no-rate-limits"],
    );
    assert!(server.enquire().starts_with("HTTP/1.1 303"));
    // Backed up while enquiries keep arriving.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let busy = {
        let (stop, port) = (stop.clone(), server.port);
        std::thread::spawn(move || {
            let mut sent = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                assert!(enquire_at(port).starts_with("HTTP/1.1 303"));
                sent += 1;
            }
            sent
        })
    };
    run(
        "umask 077",
        &["backup", backup.to_str().unwrap(), "--data-dir", data_arg],
        "",
    );
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let sent = busy.join().expect("the enquiries");
    assert!(server.enquire().starts_with("HTTP/1.1 303"));
    server.stop();
    let all = enquiries_in(&database);
    let backed_up = enquiries_in(&backup);
    assert_eq!(all, 2 + i64::from(sent));
    assert!((1..all).contains(&backed_up), "{backed_up} of {all}");

    // Refused: not a backup, and the wrong key file. Nothing changes.
    let words = root.path().join("notes.txt");
    std::fs::write(&words, "a shopping list").unwrap();
    let other_root = tempfile::tempdir().expect("temp dir");
    let other_key = init(other_root.path(), "umask 077").join("anteroom.key");
    for (args, why) in [
        (
            vec!["restore", words.to_str().unwrap(), "--data-dir", data_arg],
            "is not an SQLite database: nothing was restored",
        ),
        (
            vec![
                "restore",
                backup.to_str().unwrap(),
                "--data-dir",
                data_arg,
                "--key-file",
                other_key.to_str().unwrap(),
            ],
            "the key file is not the one this backup's keys are wrapped with",
        ),
    ] {
        let output = command("umask 077", &args).output().expect("run anteroom");
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} was not refused");
        assert!(said.contains(why), "{args:?}: {said}");
    }
    assert_eq!(enquiries_in(&database), all, "nothing replaced");
    let mut left: Vec<String> = assert_all_private(&data);
    left.retain(|name| name.contains("restor"));
    assert!(left.is_empty(), "no copy left behind: {left:?}");

    // In place: the backup's one enquiry, the replaced database (with its -wal and -shm)
    // kept aside, all private.
    let said = run(
        "umask 077",
        &["restore", backup.to_str().unwrap(), "--data-dir", data_arg],
        "",
    );
    assert!(said.contains("every practice's key opened"), "{said}");
    assert!(said.contains("the audit log is intact"), "{said}");
    assert_eq!(enquiries_in(&database), backed_up);
    let names = assert_all_private(&data);
    let aside: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with("anteroom.db.before-restore-"))
        .filter(|n| !n.ends_with("-wal") && !n.ends_with("-shm"))
        .collect();
    assert_eq!(aside.len(), 1, "{names:?}");
    assert_eq!(
        enquiries_in(&data.join(aside[0])),
        all,
        "the replaced one, whole"
    );
    run(
        "umask 077",
        &["audit", "verify", "--data-dir", data_arg],
        "",
    );

    // Into a new folder, with the key file kept apart: the same, and it serves.
    let fresh = root.path().join("restored");
    let key = data.join("anteroom.key");
    run(
        "umask 022",
        &[
            "restore",
            backup.to_str().unwrap(),
            "--data-dir",
            fresh.to_str().unwrap(),
            "--key-file",
            key.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(mode(&fresh), 0o700);
    let tables = every_table(&backup);
    assert!(tables.len() > 30, "{} tables", tables.len());
    assert_eq!(
        every_table(&fresh.join("anteroom.db")),
        tables,
        "every table as backed up"
    );
    let server = Server::start(
        "umask 077",
        &[
            "serve",
            "--data-dir",
            fresh.to_str().unwrap(),
            "--key-file",
            key.to_str().unwrap(),
        ],
    );
    let home = server.get(Some("127.0.0.1"), "/");
    assert!(home.starts_with("HTTP/1.1 200"), "{home}");
    server.stop();
}
