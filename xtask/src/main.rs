//! `cargo xtask test|e2e|schema|bench`: the one entry point for checks.
//!
//! `test` runs everything CI runs: formatting, clippy, every Rust test, the API against its
//! own OpenAPI document (`schema`: schemathesis on a demo, see `schema.rs`), then the browser
//! tests (Debian's Chromium via playwright-core, axe-core, the Nu HTML checker). It installs
//! what the browser tests need when missing (apt `chromium`, `npm ci`) and never downloads
//! a browser of its own. The Rust tests (and the browser tests) get a PostgreSQL server: a
//! throwaway cluster started for the run and stopped after it (`postgres.rs`), or the one
//! `ANTEROOM_TEST_POSTGRES_URL` names; the web crate's HTTP suite runs twice, on SQLite and
//! then on PostgreSQL (`ANTEROOM_TEST_ENGINE=postgres`).
#![forbid(unsafe_code)]

mod bench;
mod drill;
mod fuzz;
mod postgres;
mod schema;
#[cfg(test)]
mod standalone;

use std::{
    env,
    path::{Path, PathBuf},
    process::{Command, ExitCode},
};

/// The workspace root. Read at run time (`cargo run` sets `CARGO_MANIFEST_DIR`): a binary
/// built for another checkout sharing the target directory may be reused, and a path baked
/// in at compile time would then point at that other checkout.
fn root() -> PathBuf {
    env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .and_then(|xtask| xtask.parent().map(Path::to_path_buf))
        .or_else(|| env::current_dir().ok())
        .unwrap_or_default()
}

fn target_dir() -> PathBuf {
    env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

fn run(what: &str, command: &mut Command) -> Result<(), String> {
    println!("\n==> {what}");
    let status = command
        .status()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

fn cargo() -> Command {
    let mut command = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(root());
    command
}

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program} >/dev/null 2>&1")])
        .status()
        .is_ok_and(|s| s.success())
}

/// Install Debian packages that are missing (CI machines start without them).
pub(crate) fn apt_install(packages: &[&str]) -> Result<(), String> {
    run(
        "apt-get update",
        Command::new("apt-get").args(["update", "-qq"]),
    )?;
    let mut install = Command::new("apt-get");
    install
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive");
    run(
        &format!("apt-get install {}", packages.join(" ")),
        &mut install,
    )
}

fn rust_checks(postgres_url: &str) -> Result<(), String> {
    run(
        "cargo fmt --check",
        cargo().args(["fmt", "--all", "--", "--check"]),
    )?;
    run(
        "cargo clippy",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    ensure_ics_parser()?;
    ensure_age()?;
    let test_env = [
        ("ANTEROOM_REQUIRE_ICS_PARSER", "1"),
        ("ANTEROOM_TEST_POSTGRES_URL", postgres_url),
        ("ANTEROOM_REQUIRE_POSTGRES", "1"),
    ];
    run(
        "cargo test",
        cargo().args(["test", "--workspace"]).envs(test_env),
    )?;
    // The web crate's HTTP suite again, with its apps on PostgreSQL instead of SQLite.
    run(
        "cargo test (web on PostgreSQL)",
        cargo()
            .args(["test", "-p", "anteroom-web", "--test", "it"])
            .envs(test_env)
            .env("ANTEROOM_TEST_ENGINE", "postgres"),
    )
}

/// The reference `age` tool, which the tests use to decrypt the backups we encrypt.
fn ensure_age() -> Result<(), String> {
    if have("age") && have("age-keygen") {
        return Ok(());
    }
    apt_install(&["age"])
}

/// Python's `icalendar`, which the tests use to read back the ICS files we write.
fn ensure_ics_parser() -> Result<(), String> {
    ensure_python_package("import icalendar", "icalendar")
}

/// `pip install REQUIREMENT` unless the Python snippet `present` exits 0 (it is there).
pub(crate) fn ensure_python_package(present: &str, requirement: &str) -> Result<(), String> {
    let there = Command::new("python3")
        .args(["-c", present])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if there {
        return Ok(());
    }
    run(
        &format!("pip install {requirement}"),
        Command::new("python3").args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            requirement,
        ]),
    )
}

fn e2e(postgres_url: Option<&str>) -> Result<(), String> {
    run(
        "build the anteroom binary",
        cargo().args(["build", "-p", "anteroom"]),
    )?;
    let bin = target_dir().join("debug").join("anteroom");
    if !Path::new("/usr/bin/chromium").exists() {
        apt_install(&["chromium", "fonts-dejavu-core"])?;
    }
    if !have("java") {
        apt_install(&["default-jre-headless"])?;
    }
    let e2e = root().join("e2e");
    let installed = e2e.join("node_modules").join(".package-lock.json");
    let lock = e2e.join("package-lock.json");
    let stale = match (
        installed.metadata().and_then(|m| m.modified()),
        lock.metadata().and_then(|m| m.modified()),
    ) {
        (Ok(installed), Ok(lock)) => installed < lock,
        _ => true,
    };
    if stale {
        run(
            "npm ci (e2e)",
            Command::new("npm")
                .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
                .current_dir(&e2e),
        )?;
    }
    let mut tests = Command::new("node");
    tests
        .args(["--test", "--test-concurrency=1", "tests/"])
        .current_dir(&e2e)
        .env("ANTEROOM_BIN", &bin);
    if let Some(url) = postgres_url {
        tests.env("ANTEROOM_TEST_POSTGRES_URL", url);
    }
    run("browser tests", &mut tests)
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => {
            postgres::with_postgres(|url| {
                rust_checks(url)
                    .and_then(|()| schema::run_all())
                    .and_then(|()| e2e(Some(url)))
            })
        }
        Some("e2e") => e2e(None),
        Some("schema") => schema::run_all(),
        Some("pg-check") => postgres::check(),
        Some("bench") => bench::run(&args[1..]),
        Some("fuzz") => fuzz::run_all(&args[1..]),
        Some("drill") => postgres::with_postgres(|url| drill::run_drill(&args[1..], url)),
        Some("soak") => bench::soak(&args[1..]),
        _ => Err(
            "usage: cargo xtask test | e2e | schema | bench [site|booking|therapy] | fuzz [--seconds N] [TARGET...] | drill crash [--cycles N] | soak [--minutes N]"
                .into(),
        ),
    };
    match result {
        Ok(()) => {
            println!("\nxtask: all done");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("\nxtask: {error}");
            ExitCode::FAILURE
        }
    }
}
