//! `cargo xtask schema`: the JSON API checked against its own OpenAPI document (issue 15).
//!
//! [schemathesis](https://schemathesis.readthedocs.io), at the version pinned here and
//! installed with pip when missing, reads `/api/v1/openapi.json` from a running demo and
//! sends every operation schema-valid and schema-violating requests with every check on: no
//! 5xx, every status code documented, every body, header and content type as documented,
//! valid input accepted, invalid input refused, 405 (with `Allow`) for undocumented methods.
//! Any failure fails the run.
//!
//! The demo is the debug `anteroom demo --hosted` on a free loopback port in a fresh
//! temporary folder, with the clock pinned, stopped by its PID (SIGTERM, then SIGKILL) when
//! the run ends, however it ends. Hosted, because one of its practices has turned its
//! directory listing on: the main run asks the demo practice (every operation), a second
//! run asks a listed practice for `GET /api/v1/listing`, so its 200 is checked too.
//!
//! `xtask/schemathesis/` holds the configuration (the practice's slugs, which are data, not
//! schema) and the one hook that drops two kinds of false positive, each explained there and
//! in `docs/architecture.md`.

use std::{
    net::SocketAddr,
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use crate::bench::{Server, TempDir, free_port, wait_until_serving, without_anteroom_env};
use crate::{cargo, root, run, target_dir};

/// The schemathesis release the run is pinned to.
const SCHEMATHESIS: &str = "4.32.5";
/// Test cases per operation and phase.
const MAX_EXAMPLES: &str = "100";
/// The demo's clock: a Thursday, so the coming days have free times, and the clocks go
/// forward on the Sunday after (times either side of the change are offered).
const NOW: &str = "2027-03-25T09:00:00Z";
/// The hosted demo's own practice (`content/demo`): asked about every operation.
const PRACTICE: &str = "adeyemi-holt";
/// A practice of the hosted demo's directory, which has its listing turned on.
const LISTED: &str = "hawthorn";
/// How long the demo may take to answer `/readyz` (a debug build seeds 37 practices).
const READY_WITHIN: Duration = Duration::from_secs(180);

/// `cargo xtask schema`: build the debug binary, then [`check`].
pub(crate) fn run_all() -> Result<(), String> {
    run(
        "build the anteroom binary",
        cargo().args(["build", "-p", "anteroom"]),
    )?;
    check(&target_dir().join("debug").join("anteroom"))
}

/// Run schemathesis against a demo served by `bin` (the debug `anteroom`, already built).
pub(crate) fn check(bin: &Path) -> Result<(), String> {
    println!("\n==> the API against its OpenAPI document (schemathesis {SCHEMATHESIS})");
    ensure_schemathesis()?;
    let started = Instant::now();
    let folder = TempDir::new("anteroom-schema")?;
    let addr = free_port()?;
    let mut demo = Command::new(bin);
    demo.args([
        "demo",
        "--hosted",
        "--listen",
        &addr.to_string(),
        "--now",
        NOW,
    ])
    .arg("--data-dir")
    .arg(folder.path().join("data"))
    .args(["--demo-password", "schema-check-password"]);
    // The demo is configured by its arguments alone (a stray ANTEROOM_DATABASE_URL would
    // name a second place for its data).
    without_anteroom_env(&mut demo);
    let mut demo = Server::start("the demo", demo, &folder.path().join("demo.log"))?;
    wait_until_serving(&mut demo, addr, "/readyz", READY_WITHIN)?;
    let config = root().join("xtask").join("schemathesis");
    let result = schemathesis(&config, folder.path(), addr, PRACTICE, &[]).and_then(|()| {
        schemathesis(
            &config,
            folder.path(),
            addr,
            LISTED,
            &["--include-path", "/api/v1/listing"],
        )
    });
    demo.stop();
    drop(folder);
    println!(
        "schema: {} in {:.0} s",
        if result.is_ok() { "passed" } else { "failed" },
        started.elapsed().as_secs_f64()
    );
    result
}

/// One schemathesis run against the practice at `host`.localhost, in `work` (where it
/// keeps its caches), with `extra` arguments.
fn schemathesis(
    config: &Path,
    work: &Path,
    addr: SocketAddr,
    host: &str,
    extra: &[&str],
) -> Result<(), String> {
    let mut command = Command::new("python3");
    command
        .args(["-m", "schemathesis.cli", "--config-file"])
        .arg(config.join("schemathesis.toml"))
        .arg("run")
        .arg(format!("http://{addr}/api/v1/openapi.json"))
        // The hosted demo tells its practices apart by the Host header.
        .args([
            "--header",
            &format!("Host: {host}.localhost:{}", addr.port()),
        ])
        .args(["--checks", "all"])
        .args(["--max-examples", MAX_EXAMPLES])
        // The same test cases every run (and no example database carried between runs): no
        // seed to record, no flakes.
        .arg("--generation-deterministic")
        .arg("--no-color")
        .args(extra)
        .env("SCHEMATHESIS_HOOKS", config.join("hooks.py"))
        .current_dir(work);
    run(&format!("schemathesis against {host}"), &mut command)
}

/// Install the pinned schemathesis unless it is already there.
fn ensure_schemathesis() -> Result<(), String> {
    crate::ensure_python_package(
        &format!(
            "import sys, schemathesis; sys.exit(schemathesis.__version__ != {SCHEMATHESIS:?})"
        ),
        &format!("schemathesis=={SCHEMATHESIS}"),
    )
}
