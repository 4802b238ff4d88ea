//! `--database-url` as an administrator types it: a `sqlite://` URL opens the practice like
//! `--data-dir` does, with the key file beside the database; a `postgres://` URL opens a
//! PostgreSQL database, with the key file named by `--key-file`; no message repeats a
//! password; and naming both places, or neither, is a usage error (exit status 2).

use std::{path::Path, process::Stdio};

use crate::cli::{PASSWORD, Server, assert_all_private, command, mode, run};

/// Run `anteroom ARGS` (in `dir`, with extra environment) to the end: its exit status and
/// what it wrote to standard error.
fn refused(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut command = command("umask 022", args);
    command.envs(env.iter().copied());
    let output = command.stdin(Stdio::null()).output().expect("run anteroom");
    let code = output.status.code().expect("an exit status");
    (code, String::from_utf8_lossy(&output.stderr).into_owned())
}

/// `anteroom init` with `--database-url URL`.
fn init_args(url: &str) -> Vec<&str> {
    vec![
        "init",
        "--database-url",
        url,
        "--email",
        "therapist@example.com",
        "--name",
        "Alex Morgan",
        "--password-stdin",
    ]
}

#[test]
fn a_sqlite_url_opens_the_practice_for_init_serve_and_the_other_commands() {
    let root = tempfile::tempdir().expect("temp dir");
    // A space in the folder's name, written %20 in the URL.
    let folder = root.path().join("my practice");
    let database = folder.join("clinic.db");
    let url = format!("sqlite://{}/my%20practice/clinic.db", root.path().display());
    assert!(url.starts_with("sqlite:///"), "{url}");
    let said = run("umask 022", &init_args(&url), &format!("{PASSWORD}\n"));
    assert!(
        said.contains(&format!(
            "Start it with: anteroom serve --database-url {url}"
        )),
        "{said}"
    );
    assert_eq!(mode(&folder), 0o700, "init made the folder private");
    assert_eq!(assert_all_private(&folder), ["anteroom.key", "clinic.db"]);

    let server = Server::start("umask 022", &["serve", "--database-url", &url]);
    let answer = server.enquire();
    assert!(answer.starts_with("HTTP/1.1 303"), "{answer}");
    assert!(
        !server
            .log
            .iter()
            .any(|l| l.contains("created the key file")),
        "the key file init made beside the database is used: {:?}",
        server.log
    );
    server.stop();

    // The commands that open a practice take the same URL.
    let added = run(
        "umask 022",
        &[
            "user",
            "add",
            "--database-url",
            &url,
            "--email",
            "sam@example.com",
            "--name",
            "Sam Staff",
        ],
        "",
    );
    assert!(added.contains("Added sam@example.com."), "{added}");
    let verified = run(
        "umask 022",
        &["audit", "verify", "--database-url", &url],
        "",
    );
    assert!(verified.contains("The audit log is intact"), "{verified}");
    let backup = root.path().join("monday.db");
    run(
        "umask 022",
        &["backup", backup.to_str().unwrap(), "--database-url", &url],
        "",
    );
    assert_eq!(mode(&backup), 0o600);
    assert!(database.is_file());

    // Once it exists, init refuses to start again there.
    let (code, said) = refused(&init_args(&url), &[]);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("already exists"), "{said}");
}

#[test]
fn a_relative_sqlite_url_is_read_from_the_working_directory() {
    let root = tempfile::tempdir().expect("temp dir");
    let mut init = command("umask 022", &init_args("sqlite://practice/anteroom.db"));
    init.current_dir(root.path());
    let mut child = init
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run anteroom init");
    std::io::Write::write_all(
        &mut child.stdin.take().expect("stdin"),
        format!("{PASSWORD}\n").as_bytes(),
    )
    .expect("write the password");
    assert!(child.wait().expect("wait").success(), "init failed");
    let names = assert_all_private(&root.path().join("practice"));
    assert_eq!(names, ["anteroom.db", "anteroom.key"]);
    // The same practice through --data-dir.
    let data = root.path().join("practice");
    let verified = run(
        "umask 022",
        &["audit", "verify", "--data-dir", data.to_str().unwrap()],
        "",
    );
    assert!(verified.contains("The audit log is intact"), "{verified}");
}

/// A throwaway PostgreSQL database, or `None` (the test is skipped) without a server.
fn postgres_database() -> Option<store_postgres::testing::TestDatabase> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(store_postgres::testing::TestDatabase::create())
}

/// The test database's URL with a password in it (the throwaway server trusts any), so
/// that every message can be checked for it.
fn with_password(url: &str) -> String {
    url.replacen("://anteroom@", "://anteroom:hunter2@", 1)
}

#[test]
fn a_postgres_url_opens_the_practice_for_init_serve_and_the_other_commands() {
    let Some(db) = postgres_database() else {
        return;
    };
    let url = with_password(&db.url);
    assert!(url.contains(":hunter2@"), "{url}");
    let root = tempfile::tempdir().expect("temp dir");
    let key = root.path().join("practice.key");
    let key = key.to_str().unwrap();

    // There is no folder to put the key file in: init asks for one, and creates nothing.
    let (code, said) = refused(&init_args(&url), &[]);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("--key-file FILE"), "{said}");
    assert!(!said.contains("hunter2"), "never repeat a password: {said}");

    let mut args = init_args(&url);
    args.extend(["--key-file", key]);
    let said = run("umask 022", &args, &format!("{PASSWORD}\n"));
    assert!(!said.contains("hunter2"), "never repeat a password: {said}");
    assert!(
        said.contains("Start it with: anteroom serve --database-url postgres://anteroom:***@")
            && said.contains(&format!("--key-file {key}")),
        "{said}"
    );
    assert_eq!(mode(Path::new(key)), 0o600, "the key file is private");

    let server = Server::start(
        "umask 022",
        &["serve", "--database-url", &url, "--key-file", key],
    );
    let answer = server.enquire();
    assert!(answer.starts_with("HTTP/1.1 303"), "{answer}");
    assert!(
        !server.log.iter().any(|l| l.contains("hunter2")),
        "{:?}",
        server.log
    );
    server.stop();

    // The commands that open a practice take the same URL; the key file from the
    // environment as well as from the option.
    let added = run(
        "umask 022",
        &[
            "user",
            "add",
            "--database-url",
            &url,
            "--email",
            "sam@example.com",
            "--name",
            "Sam Staff",
        ],
        "",
    );
    assert!(added.contains("Added sam@example.com."), "{added}");
    let verified = run(
        "umask 022",
        &["audit", "verify", "--database-url", &url],
        "",
    );
    assert!(verified.contains("The audit log is intact"), "{verified}");
    let mut rotate = command("umask 022", &["key", "rotate", "--database-url", &url]);
    let output = rotate
        .env("ANTEROOM_KEY_FILE", key)
        .stdin(Stdio::null())
        .output()
        .expect("run anteroom key rotate");
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && said.contains("Rotated the key"),
        "{said}"
    );

    // A backup is PostgreSQL's own business.
    let backup = root.path().join("monday.db");
    let (code, said) = refused(
        &["backup", backup.to_str().unwrap(), "--database-url", &url],
        &[],
    );
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("pg_dump"), "{said}");
    assert!(!backup.exists());

    // Once it holds a practice, init refuses to make another there.
    let (code, said) = refused(&args, &[]);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("already holds a practice"), "{said}");
    assert!(!said.contains("hunter2"), "never repeat a password: {said}");
}

#[test]
fn a_postgres_server_that_cannot_be_reached_is_one_clear_line_without_the_password() {
    // Port 1 on this machine: nothing listens there.
    let url = "postgres://anteroom:hunter2@127.0.0.1:1/anteroom";
    let root = tempfile::tempdir().expect("temp dir");
    let key = root.path().join("k");
    let (code, said) = refused(
        &["audit", "verify", "--database-url", url],
        &[("ANTEROOM_KEY_FILE", key.to_str().unwrap())],
    );
    assert_eq!(code, 1, "{said}");
    assert_eq!(said.lines().count(), 1, "one line: {said}");
    assert!(
        said.contains(
            "cannot open the PostgreSQL database postgres://anteroom:***@127.0.0.1:1/anteroom"
        ),
        "{said}"
    );
    assert!(!said.contains("hunter2"), "never repeat a password: {said}");
}

#[test]
fn naming_both_places_or_neither_or_an_unknown_scheme_is_a_usage_error() {
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().to_str().unwrap();
    let url = format!("sqlite://{dir}/anteroom.db");

    let (code, said) = refused(&["serve", "--data-dir", dir, "--database-url", &url], &[]);
    assert_eq!(code, 2, "{said}");
    assert!(said.contains("not both"), "{said}");
    // One from the environment and one on the command line is both too.
    let (code, said) = refused(
        &["audit", "verify", "--database-url", &url],
        &[("ANTEROOM_DATA_DIR", dir)],
    );
    assert_eq!(code, 2, "{said}");
    assert!(
        said.contains("ANTEROOM_DATA_DIR") && said.contains("not both"),
        "{said}"
    );

    for args in [
        &["serve"][..],
        &["user", "reset-second-factor", "--email", "a@example.com"],
    ] {
        let (code, said) = refused(args, &[]);
        assert_eq!(code, 2, "{args:?}: {said}");
        assert_eq!(said.lines().count(), 1, "one line: {said}");
        assert!(
            said.contains("--data-dir DIR") && said.contains("--database-url URL"),
            "{said}"
        );
    }

    let (code, said) = refused(&["serve", "--database-url", "mysql://u:pw@host/db"], &[]);
    assert_eq!(code, 2, "{said}");
    assert!(
        said.contains("\"mysql\"") && said.contains("sqlite://"),
        "{said}"
    );
    assert!(!said.contains("pw@"), "{said}");

    // A URL that is right but names no database: not a usage error, and nothing created.
    let missing = format!("sqlite://{dir}/nothing-here.db");
    let (code, said) = refused(&["serve", "--database-url", &missing], &[]);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("there is no practice database at"), "{said}");
    assert!(!Path::new(dir).join("nothing-here.db").exists());
}
