//! `cargo xtask bench directory` (issue 13): the "find a therapist" directory over 10,000
//! listings, on SQLite and on PostgreSQL.
//!
//! Each engine: `anteroom demo --hosted --directory-practices 10000` (the demo's practices
//! and 10,000 synthetic ones: places across the UK, half offering online, 3 to 8 of the 40
//! "help with" terms, fees £30 to £120), then
//! (1) a search with three filters and "first consultation free within 14 days" at 32
//!     connections for 20 s: target ≥ 5,000 requests/s with p95 < 20 ms;
//! (2) a booking at one listed practice, then how long until the directory's page for that
//!     listing shows its next free time moved on: target ≤ 60 s, with the server's log
//!     showing that only that practice's listing was rebuilt.

use std::{
    fs,
    net::SocketAddr,
    path::Path,
    process::Command,
    thread,
    time::{Duration, Instant},
};

use super::{
    LoadRun, Server, TempDir, build_release, ensure_wrk, free_port, http_request_to, load, mb,
    print_machine, target_dir, without_anteroom_env, workspace_root,
};

const LISTINGS: usize = 10_000;
/// The demo's own listed practices, besides the synthetic ones.
const DEMO_LISTINGS: usize = 34;
const TARGET_RPS: f64 = 5_000.0;
const TARGET_P95_MS: f64 = 20.0;
const TARGET_FRESH_S: f64 = 60.0;
const SEARCH: &str = "/?help=anxiety&meeting=online&fee=80&within=14";
/// wrk's Lua for a mix of searches: each request one of 40 "help with" terms × 3 ways of
/// meeting × 4 fee limits, all "within 14 days" (480 different searches, as people would
/// make them), or, with the argument `unique`, a search no one made before (so nothing can
/// come from the directory's page cache).
const MIX_LUA: &str = r#"
local helps = {"anxiety","depression","loss","relationships","trauma","work","identity","abuse","addiction","anger","body-image","eating","self-esteem","stress","panic","phobias","ocd","sleep","self-harm","suicidal-thoughts","family","parenting","pregnancy","sexuality","gender","race-culture","health","neurodivergence","life-changes","loneliness","childhood","separation","ageing","faith","shame","perfectionism","dissociation","money","caring","bullying"}
local meetings = {"online","in-person",""}
local fees = {"50","70","90","120"}
local unique = false
local n = 0
function init(args)
  unique = args[1] == "unique"
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end
function request()
  n = n + 1
  local path = "/?help=" .. helps[math.random(#helps)] .. "&meeting=" .. meetings[math.random(#meetings)] .. "&fee=" .. fees[math.random(#fees)] .. "&within=14"
  if unique then path = path .. "&n=" .. n .. "-" .. math.random(1000000000) end
  return wrk.format(nil, path)
end
done = function(summary, latency, requests)
  io.write(string.format("p95: %.0fus\n", latency:percentile(95)))
end
"#;
const PSQL: &str = "/usr/bin/psql";
const PASSWORD: &str = "bench-directory-password";

/// wrk's Lua: print the 95th percentile latency, which `--latency` does not.
const P95_LUA: &str = "done = function(summary, latency, requests)\n  io.write(string.format(\"p95: %.0fus\\n\", latency:percentile(95)))\nend\n";

struct Figures {
    label: String,
    seeded_s: f64,
    /// Each load: its name, wrk's figures and the 95th percentile.
    runs: Vec<(&'static str, LoadRun, f64)>,
    fresh_s: f64,
    rebuilt: String,
    rss: u64,
}

fn find_host(addr: SocketAddr) -> String {
    format!("find.localhost:{}", addr.port())
}

fn get_text(addr: SocketAddr, host: &str, path: &str) -> Result<(u16, String), String> {
    let r = http_request_to(addr, host, "GET", path, "", &[])?;
    Ok((r.status, String::from_utf8_lossy(&r.body).into_owned()))
}

/// The text after `start` up to the next `end`.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(&text[from..to])
}

fn run_engine(
    binary: &Path,
    wrk: &Path,
    dir: &Path,
    label: &str,
    data: &[String],
) -> Result<Figures, String> {
    let addr = free_port()?;
    let mut cmd = Command::new(binary);
    without_anteroom_env(&mut cmd);
    cmd.args(["demo", "--hosted", "--directory-practices"])
        .arg(LISTINGS.to_string())
        .args(["--listen", &addr.to_string(), "--demo-password", PASSWORD])
        .args(data)
        .env("RUST_LOG", "info");
    let log = dir.join(format!("{}.log", label.to_lowercase()));
    let mut server = Server::start("anteroom demo --hosted (directory)", cmd, &log)?;
    let started = Instant::now();
    let want = format!("{} therapists", LISTINGS + DEMO_LISTINGS);
    loop {
        if let Some(status) = server.exited() {
            return Err(format!(
                "the server stopped ({status}): {}",
                server.log_tail()
            ));
        }
        if let Ok((200, page)) = get_text(addr, &find_host(addr), "/")
            && page.contains(&want)
        {
            break;
        }
        if started.elapsed() > Duration::from_secs(1800) {
            return Err(format!("the directory did not reach {want} in 30 minutes"));
        }
        thread::sleep(Duration::from_secs(2));
    }
    let seeded_s = started.elapsed().as_secs_f64();
    println!("bench: {label}: {want} listed {seeded_s:.0} s after start (seeding included)");

    let (status, page) = get_text(addr, &find_host(addr), SEARCH)?;
    let found = between(&page, "<h2 id=\"results-heading\">", "<")
        .unwrap_or("?")
        .to_owned();
    if status != 200 || !found.contains("therapist") || found.starts_with("No ") {
        return Err(format!("GET {SEARCH} answered {status}: {found}"));
    }
    println!("bench: {label}: GET {SEARCH}: {found}");
    let host = format!("Host: {}", find_host(addr));
    let p95 = |run: &LoadRun| {
        run.output
            .lines()
            .find_map(|l| l.trim().strip_prefix("p95: "))
            .and_then(|v| v.trim_end_matches("us").parse::<f64>().ok())
            .map(|us| us / 1000.0)
            .ok_or("wrk printed no p95 line")
    };
    let mut runs = Vec::new();
    for (name, lua, script_args) in [
        ("one search, repeated", P95_LUA, &[][..]),
        ("480 different searches", MIX_LUA, &[][..]),
        ("every search new", MIX_LUA, &["unique"][..]),
    ] {
        let script = dir.join(format!("{}.lua", runs.len()));
        fs::write(&script, lua).map_err(|e| format!("cannot write {}: {e}", script.display()))?;
        let script_arg = script.display().to_string();
        let args = [
            "-t2",
            "-c32",
            "-d20s",
            "--latency",
            "-H",
            &host,
            "-s",
            &script_arg,
        ];
        println!("bench: {label}: {name}");
        let run = load(
            wrk,
            &args,
            &format!("http://{addr}{SEARCH}"),
            script_args,
            server.pid(),
            true,
        )?;
        let p95_ms = p95(&run)?;
        runs.push((name, run, p95_ms));
    }

    // (2) A booking reaches the directory.
    let (practice, id, slot_start, slot_location, before) = (0..200)
        .find_map(|n| {
            let practice = format!("bench{n:05}.localhost:{}", addr.port());
            let (status, listing) = get_text(addr, &practice, "/api/v1/listing").ok()?;
            if status != 200 || !listing.contains("\"accepting\":true") {
                return None;
            }
            let id = between(&listing, "\"id\":\"", "\"")?.to_owned();
            let (_, slots) =
                get_text(addr, &practice, "/api/v1/availability?type=consultation").ok()?;
            let start = between(&slots, "\"start\":\"", "\"")?.to_owned();
            let location = between(&slots, "\"location\":\"", "\"")?.to_owned();
            let (_, page) = get_text(addr, &find_host(addr), &format!("/listings/{id}")).ok()?;
            let before = between(&page, "Next free: ", "<")?.to_owned();
            Some((practice, id, start, location, before))
        })
        .ok_or("no synthetic practice with a free consultation")?;
    let body = format!(
        "{{\"type\":\"consultation\",\"location\":\"{slot_location}\",\"start\":\"{slot_start}\",\"name\":\"Bench Booker\",\"email\":\"booker@example.com\",\"phone\":\"07700 900123\",\"contact_preference\":\"email\",\"consent\":true}}"
    );
    let booked = http_request_to(
        addr,
        &practice,
        "POST",
        "/api/v1/bookings",
        "Content-Type: application/json\r\nIdempotency-Key: bench-directory-1\r\n",
        body.as_bytes(),
    )?;
    if booked.status != 201 {
        return Err(format!(
            "booking {slot_start} at {practice} answered {}: {}",
            booked.status,
            String::from_utf8_lossy(&booked.body)
        ));
    }
    let log_before = fs::read_to_string(&log).unwrap_or_default().len();
    let booked_at = Instant::now();
    let fresh_s = loop {
        let (_, page) = get_text(addr, &find_host(addr), &format!("/listings/{id}"))?;
        let now = between(&page, "Next free: ", "<")
            .unwrap_or("none")
            .to_owned();
        if now != before {
            println!("bench: {label}: {practice}'s next free time went from {before} to {now}");
            break booked_at.elapsed().as_secs_f64();
        }
        if booked_at.elapsed() > Duration::from_secs(180) {
            return Err(format!(
                "the directory still showed {before} three minutes after the booking"
            ));
        }
        thread::sleep(Duration::from_millis(250));
    };
    let raw = fs::read_to_string(&log).unwrap_or_default();
    let text = strip_ansi(&raw[log_before.min(raw.len())..]);
    let rebuilt = text
        .lines()
        .filter(|l| l.contains("directory refreshed"))
        .filter_map(|l| between(l, "rebuilt=", " ").map(str::to_owned))
        .collect::<Vec<_>>()
        .join(", ");
    let rss = super::proc_status_kb(server.pid(), "VmRSS").unwrap_or(0) * 1024;
    server.stop();
    Ok(Figures {
        label: label.to_owned(),
        seeded_s,
        runs,
        fresh_s,
        rebuilt,
        rss,
    })
}

/// The log without its terminal colours.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "MISS" }
}

pub(super) fn directory() -> Result<(), String> {
    let root = workspace_root()?;
    let target_dir = target_dir(&root);
    let wrk = ensure_wrk()?;
    print_machine();
    let binary = build_release(&root, &target_dir)?;
    let tmp = TempDir::new("anteroom-bench-directory")?;
    let mut all = Vec::new();
    all.push(run_engine(
        &binary,
        &wrk,
        tmp.path(),
        "SQLite",
        &[
            "--data-dir".into(),
            tmp.path().join("sqlite").display().to_string(),
        ],
    )?);
    let pg = crate::postgres::with_postgres(|url| {
        let database = format!("bench_directory_{}", std::process::id());
        let output = Command::new(PSQL)
            .args([url, "-X", "-q", "-c"])
            .arg(format!("create database {database}"))
            .output()
            .map_err(|e| format!("cannot run {PSQL}: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "psql: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        let base = url.rsplit_once('/').map_or(url, |(base, _)| base);
        run_engine(
            &binary,
            &wrk,
            tmp.path(),
            "PostgreSQL",
            &["--database-url".into(), format!("{base}/{database}")],
        )
    })?;
    all.push(pg);
    println!();
    println!(
        "bench: directory, {LISTINGS} synthetic listings + {DEMO_LISTINGS} demo listings; search {SEARCH}"
    );
    for f in &all {
        for (name, run, p95_ms) in &f.runs {
            println!(
                "bench: {:<10} {name:<24} {:>7.0} req/s (≥ {TARGET_RPS:.0}: {}), p95 {:>6.2} ms (< {TARGET_P95_MS:.0}: {}), p99 {:>6.2} ms, non-2xx {}, server CPU {} µs/request",
                f.label,
                run.wrk.requests_per_sec,
                verdict(run.wrk.requests_per_sec >= TARGET_RPS),
                p95_ms,
                verdict(*p95_ms < TARGET_P95_MS),
                run.wrk.p99_ms,
                run.wrk.non_2xx,
                super::per_request_us(run),
            );
        }
        println!(
            "bench: {:<10} RSS {}; a booking reached the directory in {:.1} s (≤ {TARGET_FRESH_S:.0}: {}), listings rebuilt then: [{}]; seeded and listed in {:.0} s",
            f.label,
            mb(f.rss),
            f.fresh_s,
            verdict(f.fresh_s <= TARGET_FRESH_S),
            f.rebuilt,
            f.seeded_s,
        );
    }
    Ok(())
}
