//! `cargo xtask bench [NAME...]`: load benchmarks, with the standard library only.
//!
//! `site` builds the release binary, starts the demo practice, and loads one article page
//! with `wrk`, next to nginx serving the very same bytes as a static file, so the numbers
//! say how far the app is from "just sending a file" on this machine. Missing a target is
//! reported, not an error: only a benchmark that could not run makes this fail.
//!
//! `booking` (issue 3, "Benchmarks") runs the availability engine's own benchmark, then
//! two fresh practices made with `anteroom init` from `bench/*.toml`: one answers
//! `GET /api/v1/availability` for four weeks at all locations under `wrk`, the other takes
//! bookings through `POST /api/v1/bookings`, each for a different free slot
//! (`bench/book.lua`), each committed with the store's defaults (WAL, `synchronous=FULL`).
//! Both servers' resident memory is sampled while they are loaded.
//!
//! `sign-in` (issue 10, point 1) starts a practice behind `--trust-proxy` and sends 200
//! sign-ins at once, each from its own address (most for addresses with no account, a
//! quarter guessing at the therapist's), then reads the server's peak resident memory
//! (`VmHWM`) and signs the therapist in from her own browser: target under 100 MB.
//!
//! `therapy` (issue 4, "Benchmark") runs `crates/web/benches/therapy.rs`: it seeds a practice
//! with 40 active clients and about five years of sessions (each past one with an outcome
//! and a charge), then times a client's page and the week view through the router in
//! process (server time, the whole body), against a 5 ms median; and (issue 14) the page of
//! a client with three measures answered weekly for five years (5 ms) and the practice
//! outcomes page over 500 ended contracts (50 ms).
//!
//! `hosted` (issue 12) measures hosted mode on PostgreSQL and SQLite in one run:
//! availability, bookings on 1 and 100 practices over two serve processes, and the practice
//! lookup and memory with 1,000 practices (`bench_hosted.rs`).

use std::{
    env, fs,
    io::{Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    thread,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

#[path = "bench_directory.rs"]
mod directory;
#[path = "bench_hosted.rs"]
mod hosted;
#[path = "bench_overload.rs"]
mod overload;
#[path = "bench_photos.rs"]
mod photos;

pub use overload::soak;

type Bench = fn() -> Result<(), String>;

/// Every benchmark, in the order `cargo xtask bench` runs them.
const BENCHES: &[(&str, &str, Bench)] = &[
    (
        "site",
        "one public article page under load: anteroom against nginx serving the same bytes",
        site,
    ),
    (
        "booking",
        "the availability engine, GET /api/v1/availability and POST /api/v1/bookings under load",
        booking,
    ),
    (
        "therapy",
        "a client's page and the week view in a practice with 40 clients and five years of sessions",
        therapy,
    ),
    (
        "sign-in",
        "200 simultaneous sign-ins from 200 addresses: the server's peak memory, and the therapist still signs in",
        sign_in,
    ),
    (
        "hosted",
        "hosted mode on PostgreSQL and SQLite: availability, bookings on 1 and 100 practices over two processes, 1,000 practices",
        hosted::hosted,
    ),
    (
        "directory",
        "the directory over 10,000 listings on SQLite and PostgreSQL: a filtered search at 32 connections, and a booking reaching it",
        directory::directory,
    ),
    (
        "overload",
        "ten times the site benchmark's connections for a minute: only 429/503 refusals, memory flat, normal service within seconds",
        overload::overload,
    ),
    (
        "photos",
        "a 12-megapixel phone photo uploaded three times: time, the server's peak memory; a variant served against nginx",
        photos::photos,
    ),
];

/// Issue 4's target: each page in under 5 ms of server time (median).
const THERAPY_TARGET_US: f64 = 5000.0;
/// The practice outcomes page over 500 ended contracts (issue 14).
const OUTCOMES_TARGET_US: f64 = 50_000.0;

/// Run `cargo bench -p anteroom-web --bench therapy` (it seeds its own practice and calls
/// the router in process) and check the medians.
fn therapy() -> Result<(), String> {
    let root = workspace_root()?;
    let target_dir = target_dir(&root);
    print_machine();
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    println!("bench: $ cargo bench -p anteroom-web --bench therapy");
    let output = Command::new(cargo)
        .args(["bench", "-p", "anteroom-web", "--bench", "therapy"])
        .current_dir(&root)
        .env("CARGO_TARGET_DIR", &target_dir)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo bench: {e}"))?;
    let out = String::from_utf8_lossy(&output.stdout).into_owned();
    print!("{out}");
    if !output.status.success() {
        return Err(format!("cargo bench failed ({})", output.status));
    }
    let figure = |page: &str, name: &str| -> Result<f64, String> {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("{page}:")))
            .ok_or_else(|| format!("the therapy benchmark printed no `{page}` line"))?;
        let mut words = line.split_whitespace();
        words
            .position(|w| w == name)
            .and_then(|_| words.next())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("cannot read the {name} in {line:?}"))
    };
    println!("| metric                       | value      | target  | result |");
    println!("|------------------------------|------------|---------|--------|");
    for (page, target_us) in [
        ("client page", THERAPY_TARGET_US),
        ("week view", THERAPY_TARGET_US),
        ("client page with 3 measures", THERAPY_TARGET_US),
        ("outcomes page", OUTCOMES_TARGET_US),
    ] {
        let median = figure(page, "median")?;
        let p99 = figure(page, "p99")?;
        let verdict = if median < target_us { "PASS" } else { "MISS" };
        let target = format!("< {} ms", target_us / 1000.0);
        println!(
            "| {:<28} | {:>7.2} ms | {target:<7} | {verdict:<6} |",
            format!("{page}: median"),
            median / 1000.0
        );
        println!(
            "| {:<28} | {:>7.2} ms | -       |        |",
            format!("{page}: p99"),
            p99 / 1000.0
        );
    }
    Ok(())
}

/// Run the named benchmarks (all of them when `args` is empty).
pub fn run(args: &[String]) -> Result<(), String> {
    if args
        .iter()
        .any(|a| matches!(a.as_str(), "-h" | "--help" | "help" | "list"))
    {
        print_usage();
        return Ok(());
    }
    let names: Vec<&str> = if args.is_empty() {
        BENCHES.iter().map(|b| b.0).collect()
    } else {
        args.iter().map(String::as_str).collect()
    };
    if let Some(unknown) = names.iter().find(|n| !BENCHES.iter().any(|b| b.0 == **n)) {
        print_usage();
        return Err(format!(
            "there is no benchmark called `{unknown}` (known: {})",
            known_names()
        ));
    }
    for name in names {
        if let Some((_, _, bench)) = BENCHES.iter().find(|b| b.0 == name) {
            println!("bench: === {name} ===");
            bench()?;
        }
    }
    Ok(())
}

fn known_names() -> String {
    BENCHES.iter().map(|b| b.0).collect::<Vec<_>>().join(", ")
}

fn print_usage() {
    println!("usage: cargo xtask bench [NAME...]   (no name: run them all)");
    println!("benchmarks:");
    for (name, about, _) in BENCHES {
        println!("  {name:<8} {about}");
    }
}

// ---------------------------------------------------------------------------------------
// sign-in

/// Issue 10's target: peak resident memory after 200 simultaneous sign-ins (bytes).
const TARGET_SIGN_IN_PEAK_BYTES: u64 = 100 * 1024 * 1024;

/// Sign in as the bench account from `from`; the status and the `Set-Cookie` name=values.
fn sign_in_once(
    addr: SocketAddr,
    from: &str,
    email: &str,
    password: &str,
    cookie: &str,
) -> Result<(u16, Vec<String>), String> {
    let body = format!(
        "email={}&password={}",
        email.replace('@', "%40"),
        password.replace(' ', "+")
    );
    let mut extra =
        format!("X-Forwarded-For: {from}\r\nContent-Type: application/x-www-form-urlencoded\r\n");
    if !cookie.is_empty() {
        extra.push_str(&format!("Cookie: {cookie}\r\n"));
    }
    let response = http_request(addr, "POST", "/office/sign-in", &extra, body.as_bytes())?;
    let cookies = response
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .filter_map(|(_, v)| v.split(';').next())
        .map(str::to_owned)
        .collect();
    Ok((response.status, cookies))
}

fn sign_in() -> Result<(), String> {
    let root = workspace_root()?;
    let target_dir = target_dir(&root);
    print_machine();
    let binary = build_release(&root, &target_dir)?;
    let dir = TempDir::new("anteroom-bench-sign-in")?;
    let (server, addr) = start_practice_with(
        &binary,
        &root.join("bench").join("booking-practice.toml"),
        &dir.0.join("data"),
        "sign-in server",
        &["--trust-proxy"],
    )?;
    let email = "bench@example.com";
    let (status, cookies) = sign_in_once(addr, "198.51.100.7", email, BOOKING_PASSWORD, "")?;
    let device = cookies
        .iter()
        .find(|c| c.contains("anteroom_device="))
        .cloned()
        .ok_or(format!(
            "the first sign-in answered {status} without a device cookie"
        ))?;
    let before = proc_status_kb(server.pid(), "VmHWM").unwrap_or(0) * 1024;
    let started = Instant::now();
    let threads: Vec<_> = (0..200_u32)
        .map(|n| {
            thread::spawn(move || {
                let from = format!("10.{}.{}.{}", n / 65_536, (n / 256) % 256, n % 256 + 1);
                let who = if n % 4 == 0 {
                    email.to_owned()
                } else {
                    format!("nobody{n}@example.com")
                };
                sign_in_once(addr, &from, &who, "a wrong guess at it", "").map(|(s, _)| s)
            })
        })
        .collect();
    let mut statuses = std::collections::BTreeMap::new();
    for thread in threads {
        let status = thread
            .join()
            .map_err(|_| "a sign-in thread panicked".to_owned())??;
        *statuses.entry(status).or_insert(0) += 1;
    }
    let flood = started.elapsed();
    let peak = proc_status_kb(server.pid(), "VmHWM").unwrap_or(0) * 1024;
    let rss = proc_status_kb(server.pid(), "VmRSS").unwrap_or(0) * 1024;
    let started = Instant::now();
    let (therapist, _) = sign_in_once(addr, "192.0.2.44", email, BOOKING_PASSWORD, &device)?;
    let therapist_ms = started.elapsed().as_secs_f64() * 1000.0;
    println!("\nbench: sign-in results");
    println!(
        "  200 simultaneous sign-ins took {:.2} s; answers {statuses:?}",
        flood.as_secs_f64()
    );
    println!(
        "  peak RSS (VmHWM) {:.1} MB before (one sign-in done), {:.1} MB after; RSS now {:.1} MB",
        before as f64 / 1e6,
        peak as f64 / 1e6,
        rss as f64 / 1e6
    );
    println!(
        "  the therapist then signs in from her own browser: {therapist} in {therapist_ms:.0} ms"
    );
    let pass = peak < TARGET_SIGN_IN_PEAK_BYTES && therapist == 303;
    println!(
        "  target: peak under {} MB and the therapist signs in: {}",
        TARGET_SIGN_IN_PEAK_BYTES / 1024 / 1024,
        if pass { "PASS" } else { "MISS" }
    );
    drop(server);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// site

const ARTICLE: &str = "/articles/what-is-psychodynamic-therapy";
const DEMO_NOW: &str = "2027-03-25T09:00:00Z";
const DEMO_PASSWORD: &str = "bench-password-123";
const WRK_ARGS: [&str; 4] = ["-t2", "-c64", "-d10s", "--latency"];

/// anteroom's throughput as a share of nginx's, at least.
const TARGET_RATIO: f64 = 0.5;
/// 99th percentile latency under load, below (milliseconds).
const TARGET_P99_MS: f64 = 10.0;
/// Resident memory while under load, below (bytes; MB = 1,000,000 bytes).
const TARGET_RSS_BYTES: u64 = 60_000_000;
/// The article's HTML plus its stylesheet, uncompressed, below (bytes; KB = 1,000 bytes).
const TARGET_PAGE_BYTES: u64 = 40_000;

fn site() -> Result<(), String> {
    let root = workspace_root()?;
    let target_dir = target_dir(&root);
    let tools = ensure_tools()?;
    print_machine();

    let binary = build_release(&root, &target_dir)?;

    let tmp = TempDir::new("anteroom-bench")?;

    // anteroom's demo practice.
    let app_addr = free_port()?;
    let mut app_cmd = Command::new(&binary);
    app_cmd
        .arg("demo")
        .args([
            "--listen",
            &app_addr.to_string(),
            "--now",
            DEMO_NOW,
            "--demo-password",
            DEMO_PASSWORD,
        ])
        .arg("--data-dir")
        .arg(tmp.path().join("anteroom-data"));
    without_anteroom_env(&mut app_cmd);
    let mut app = Server::start("anteroom", app_cmd, &tmp.path().join("anteroom.log"))?;
    wait_until_serving(&mut app, app_addr, "/robots.txt", Duration::from_secs(60))?;
    let idle_rss = proc_status_kb(app.pid(), "VmRSS").map_or(0, |kb| kb * 1024);

    // The page, its stylesheet, and their size.
    let page = http_get(app_addr, ARTICLE, "")?;
    if page.status != 200 {
        return Err(format!(
            "GET {ARTICLE} answered {} instead of 200",
            page.status
        ));
    }
    let html = String::from_utf8_lossy(&page.body).into_owned();
    let hrefs = stylesheet_hrefs(&html);
    if hrefs.is_empty() {
        return Err(format!(
            "{ARTICLE} links no stylesheet (<link rel=\"stylesheet\" href=...>)"
        ));
    }
    let mut css_bytes = 0u64;
    let mut compressed_bytes = compressed_size(app_addr, ARTICLE)?;
    println!("bench: {ARTICLE}: {} bytes of HTML", page.body.len());
    for href in &hrefs {
        let path = same_site_path(href, app_addr, ARTICLE)?;
        let css = http_get(app_addr, &path, "")?;
        if css.status != 200 {
            return Err(format!(
                "GET {path} (the page's stylesheet) answered {}",
                css.status
            ));
        }
        println!("bench: {path}: {} bytes of CSS", css.body.len());
        css_bytes += css.body.len() as u64;
        compressed_bytes += compressed_size(app_addr, &path)?;
    }
    let page_bytes = page.body.len() as u64 + css_bytes;
    println!(
        "bench: page HTML + CSS = {} (target < {}); compressed as a browser would get it: {}",
        kb(page_bytes),
        kb(TARGET_PAGE_BYTES),
        kb(compressed_bytes)
    );

    // nginx serving the same bytes as a static file.
    let (mut nginx, nginx_addr) =
        serve_with_nginx(&tools.nginx, &tmp, ARTICLE, &page.body, "text/html")?;
    let copy = http_get(nginx_addr, ARTICLE, "")?;
    if copy.body != page.body {
        return Err("nginx does not serve the same bytes as anteroom".into());
    }

    // Load.
    let app_run = load(
        &tools.wrk,
        &WRK_ARGS,
        &format!("http://{app_addr}{ARTICLE}"),
        &[],
        app.pid(),
        true,
    )?;
    let peak_hwm = proc_status_kb(app.pid(), "VmHWM").map_or(0, |kb| kb * 1024);
    let nginx_run = load(
        &tools.wrk,
        &WRK_ARGS,
        &format!("http://{nginx_addr}{ARTICLE}"),
        &[],
        nginx.pid(),
        false,
    )?;

    app.stop();
    nginx.stop();

    // Report.
    let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
    let mut rows: Vec<[String; 4]> = against_nginx(
        "anteroom throughput".into(),
        app_run.wrk.requests_per_sec,
        "nginx throughput (same bytes)",
        nginx_run.wrk.requests_per_sec,
    )
    .to_vec();
    rows.extend([
        [
            "anteroom p99 latency".into(),
            format!("{:.2} ms", app_run.wrk.p99_ms),
            format!("< {TARGET_P99_MS:.0} ms"),
            verdict(app_run.wrk.p99_ms < TARGET_P99_MS).into(),
        ],
        [
            "anteroom peak RSS under load".into(),
            mb(app_run.peak_rss),
            format!("< {}", mb(TARGET_RSS_BYTES)),
            verdict(app_run.peak_rss > 0 && app_run.peak_rss < TARGET_RSS_BYTES).into(),
        ],
        [
            "page HTML + CSS".into(),
            kb(page_bytes),
            format!("< {}", kb(TARGET_PAGE_BYTES)),
            verdict(page_bytes < TARGET_PAGE_BYTES).into(),
        ],
    ]);
    println!();
    println!(
        "site: wrk {} http://127.0.0.1:PORT{ARTICLE}",
        WRK_ARGS.join(" ")
    );
    print_table(&["metric", "value", "target", "result"], &rows);
    println!();
    println!(
        "  nginx p99 latency:                 {:.2} ms",
        nginx_run.wrk.p99_ms
    );
    println!(
        "  server CPU per request:            anteroom {} µs, nginx {} µs (all threads / worker processes)",
        per_request_us(&app_run),
        per_request_us(&nginx_run)
    );
    println!(
        "  wrk's own CPU during the runs:     {:.1} s against anteroom, {:.1} s against nginx (of {} cores x 10 s)",
        app_run.wrk_cpu_s,
        nginx_run.wrk_cpu_s,
        thread::available_parallelism().map_or(1, usize::from)
    );
    println!(
        "  anteroom memory:                   {} idle before load, VmHWM {} (includes start-up, e.g. the demo password hash)",
        mb(idle_rss),
        mb(peak_hwm)
    );
    println!(
        "  (KB = 1,000 bytes, MB = 1,000,000 bytes; RSS peak sampled from /proc every 100 ms while wrk ran)"
    );

    let mut problems = Vec::new();
    for (name, run) in [("anteroom", &app_run), ("nginx", &nginx_run)] {
        if run.wrk.non_2xx > 0 {
            problems.push(format!(
                "{name} answered {} requests with a non-2xx/3xx status",
                run.wrk.non_2xx
            ));
        }
        if run.wrk.requests == 0 {
            problems.push(format!("wrk completed no requests against {name}"));
        }
        if let Some(errors) = &run.wrk.socket_errors {
            println!("  note: wrk against {name}: {errors}");
        }
    }
    if !problems.is_empty() {
        return Err(format!(
            "the site benchmark is not valid: {}",
            problems.join("; ")
        ));
    }
    Ok(())
}

/// The three rows comparing a server's throughput with nginx's serving the same bytes, the
/// last with the verdict against [`TARGET_RATIO`].
fn against_nginx(label: String, rps: f64, nginx_label: &str, nginx_rps: f64) -> [[String; 4]; 3] {
    let ratio = if nginx_rps > 0.0 {
        rps / nginx_rps
    } else {
        0.0
    };
    [
        [label, format!("{rps:.0} req/s"), "-".into(), "".into()],
        [
            nginx_label.into(),
            format!("{nginx_rps:.0} req/s"),
            "-".into(),
            "".into(),
        ],
        [
            "anteroom / nginx".into(),
            format!("{ratio:.2}"),
            format!(">= {TARGET_RATIO:.2}"),
            if ratio >= TARGET_RATIO {
                "PASS"
            } else {
                "MISS"
            }
            .into(),
        ],
    ]
}

/// nginx (two workers, no access log) serving `body` at `path` from a folder in `tmp`, as
/// a static file of `default_type`: the yardstick the site and photo benchmarks compare with.
fn serve_with_nginx(
    nginx: &Path,
    tmp: &TempDir,
    path: &str,
    body: &[u8],
    default_type: &str,
) -> Result<(Server, SocketAddr), String> {
    let www = tmp.path().join("www");
    let file = www.join(path.trim_start_matches('/'));
    if let Some(dir) = file.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    fs::write(&file, body).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    // nginx's workers drop to an unprivileged user: let them read the copy.
    for dir in file
        .ancestors()
        .skip(1)
        .take_while(|d| d.starts_with(tmp.path()))
    {
        let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o755));
    }
    let _ = fs::set_permissions(&file, fs::Permissions::from_mode(0o644));
    let nginx_addr = free_port()?;
    let conf = tmp.path().join("nginx.conf");
    let t = tmp.path().display();
    fs::write(
        &conf,
        format!(
            "daemon off;\nworker_processes 2;\npid {t}/nginx.pid;\nerror_log {t}/error.log;\nevents {{}}\n\
             http {{\n  access_log off;\n  server {{\n    listen {nginx_addr};\n    root {t}/www;\n    \
             location / {{ default_type {default_type}; }}\n  }}\n}}\n"
        ),
    )
    .map_err(|e| format!("cannot write {}: {e}", conf.display()))?;
    let mut nginx_cmd = Command::new(nginx);
    nginx_cmd
        .arg("-p")
        .arg(tmp.path())
        .arg("-e")
        .arg(tmp.path().join("error.log"))
        .arg("-c")
        .arg(&conf);
    let mut server = Server::start("nginx", nginx_cmd, &tmp.path().join("nginx.log"))?;
    wait_until_serving(&mut server, nginx_addr, path, Duration::from_secs(20))?;
    Ok((server, nginx_addr))
}

// ---------------------------------------------------------------------------------------
// booking

/// The practice behind step (b): two rooms and online, 20 weekly ranges, the demo's rules.
const AVAILABILITY_PRACTICE: &str = "bench/booking-practice.toml";
/// The practice behind step (c): 10-minute slots round the clock at one location, in UTC.
const CAPACITY_PRACTICE: &str = "bench/booking-capacity.toml";
/// The wrk script giving every booking request its own start.
const BOOK_SCRIPT: &str = "bench/book.lua";
/// Starts the capacity practice offers per UTC day: 00:00 to 23:50 (hours until 24:00).
const SLOTS_PER_DAY: u32 = 144;
const BOOKING_PASSWORD: &str = "bench-password-123";
/// Both API runs: 2 threads, 32 connections, 10 seconds. The booking run adds `-s`.
const API_WRK_ARGS: [&str; 4] = ["-t2", "-c32", "-d10s", "--latency"];
/// wrk's `-t` above, which the booking script needs to interleave its starts.
const API_WRK_THREADS: &str = "2";

/// (a) The availability engine, per call, below (microseconds).
const TARGET_ENGINE_US: f64 = 1000.0;
/// (b) `GET /api/v1/availability` throughput, at least (requests per second).
const TARGET_AVAILABILITY_RPS: f64 = 10_000.0;
/// (c) Successful (201), durably committed bookings per second, at least.
const TARGET_BOOKINGS_PER_SEC: f64 = 2_000.0;

fn booking() -> Result<(), String> {
    let root = workspace_root()?;
    let target_dir = target_dir(&root);
    let wrk = ensure_wrk()?;
    print_machine();

    // (a) The engine, on its own.
    let engine = engine_bench(&root, &target_dir)?;

    let binary = build_release(&root, &target_dir)?;
    let tmp = TempDir::new("anteroom-bench-booking")?;
    let fs_type = filesystem_type(tmp.path());
    println!(
        "bench: practices in {} (file system: {fs_type})",
        tmp.path().display()
    );
    if fs_type == "tmpfs" {
        println!(
            "bench: warning: tmpfs makes fsync free, so bookings/s would not measure durable commits; set TMPDIR to a folder on disk"
        );
    }

    // (b) Four weeks of free times, all locations.
    let days = days_since_epoch();
    let (from, to) = (civil_date(days), civil_date(days + 27));
    let availability_path = format!("/api/v1/availability?type=consultation&from={from}&to={to}");
    let (mut avail_server, avail_addr) = start_practice(
        &binary,
        &root.join(AVAILABILITY_PRACTICE),
        &tmp.path().join("availability"),
        "anteroom (availability)",
    )?;
    let answer = http_get(avail_addr, &availability_path, "")?;
    if answer.status != 200 {
        return Err(format!(
            "GET {availability_path} answered {}: {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        ));
    }
    let avail_slots = count(&answer.body, b"\"start\"");
    if avail_slots == 0 {
        return Err(format!(
            "GET {availability_path} offers no times: the benchmark would measure an empty list"
        ));
    }
    println!(
        "bench: {availability_path}: {avail_slots} free times, {} bytes of JSON",
        answer.body.len()
    );
    let avail_idle_rss = proc_status_kb(avail_server.pid(), "VmRSS").map_or(0, |kb| kb * 1024);
    let avail_run = load(
        &wrk,
        &API_WRK_ARGS,
        &format!("http://{avail_addr}{availability_path}"),
        &[],
        avail_server.pid(),
        true,
    )?;
    avail_server.stop();

    // (c) Bookings, each for a different free slot, on a second, fresh practice.
    let (mut book_server, book_addr) = start_practice(
        &binary,
        &root.join(CAPACITY_PRACTICE),
        &tmp.path().join("capacity"),
        "anteroom (bookings)",
    )?;
    let tomorrow = civil_date(days + 1);
    let day_path = format!("/api/v1/availability?type=consultation&from={tomorrow}&to={tomorrow}");
    let day = http_get(book_addr, &day_path, "")?;
    let day_slots = count(&day.body, b"\"start\"");
    if day.status != 200 || day_slots < SLOTS_PER_DAY as usize {
        return Err(format!(
            "the capacity practice offers {day_slots} times tomorrow (status {}), the booking script needs {SLOTS_PER_DAY}",
            day.status
        ));
    }
    println!("bench: the capacity practice offers {day_slots} times a day");
    let base_epoch = (days + 1) * 86_400;
    let script = root.join(BOOK_SCRIPT);
    let script = script.to_string_lossy();
    let mut book_args = API_WRK_ARGS.to_vec();
    book_args.extend(["-s", &script]);
    let wal = tmp.path().join("capacity").join("anteroom.db-wal");
    let book_idle_rss = proc_status_kb(book_server.pid(), "VmRSS").map_or(0, |kb| kb * 1024);
    let book_run = load(
        &wrk,
        &book_args,
        &format!("http://{book_addr}/api/v1/bookings"),
        &[
            API_WRK_THREADS,
            &base_epoch.to_string(),
            &SLOTS_PER_DAY.to_string(),
        ],
        book_server.pid(),
        true,
    )?;
    let wal_during_load = wal.is_file();
    book_server.stop();
    let booked = parse_book_lua(&book_run.output)?;
    let stored = sqlite_scalar(
        &tmp.path().join("capacity").join("anteroom.db"),
        "SELECT count(*) FROM bookings",
    );
    let journal = sqlite_scalar(
        &tmp.path().join("capacity").join("anteroom.db"),
        "PRAGMA journal_mode",
    );
    // Bookings committed in each second of the run (created_at is whole seconds), to show
    // whether the rate holds as the table grows; the first and last seconds are partial.
    let per_second = sqlite_scalar(
        &tmp.path().join("capacity").join("anteroom.db"),
        "SELECT group_concat(n, ' ') FROM (SELECT count(*) AS n FROM bookings GROUP BY created_at ORDER BY created_at)",
    );

    // Report.
    let bookings_per_sec = if booked.duration_s > 0.0 {
        booked.created as f64 / booked.duration_s
    } else {
        0.0
    };
    let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
    let us = |v: f64| format!("{v:.1} µs");
    let rows: Vec<[String; 4]> = vec![
        [
            "(a) engine, 90 days: median".into(),
            us(engine.median_us),
            format!("< {:.0} ms", TARGET_ENGINE_US / 1000.0),
            verdict(engine.median_us < TARGET_ENGINE_US).into(),
        ],
        [
            "(a) engine, 90 days: p99".into(),
            us(engine.p99_us),
            format!("< {:.0} ms", TARGET_ENGINE_US / 1000.0),
            verdict(engine.p99_us < TARGET_ENGINE_US).into(),
        ],
        [
            "(b) GET availability, 4 weeks: throughput".into(),
            format!("{:.0} req/s", avail_run.wrk.requests_per_sec),
            format!(">= {TARGET_AVAILABILITY_RPS:.0} req/s"),
            verdict(avail_run.wrk.requests_per_sec >= TARGET_AVAILABILITY_RPS).into(),
        ],
        [
            "(b) GET availability: p99 latency".into(),
            format!("{:.2} ms", avail_run.wrk.p99_ms),
            format!("< {TARGET_P99_MS:.0} ms"),
            verdict(avail_run.wrk.p99_ms < TARGET_P99_MS).into(),
        ],
        [
            "(b) GET availability: non-2xx answers".into(),
            avail_run.wrk.non_2xx.to_string(),
            "0".into(),
            verdict(avail_run.wrk.non_2xx == 0).into(),
        ],
        [
            "(c) POST bookings: 201s per second".into(),
            format!("{bookings_per_sec:.0} /s"),
            format!(">= {TARGET_BOOKINGS_PER_SEC:.0} /s"),
            verdict(bookings_per_sec >= TARGET_BOOKINGS_PER_SEC).into(),
        ],
        [
            "(c) POST bookings: p99 latency".into(),
            format!("{:.2} ms", book_run.wrk.p99_ms),
            "-".into(),
            String::new(),
        ],
        [
            "(c) POST bookings: answers other than 201".into(),
            booked.other.to_string(),
            "0".into(),
            verdict(booked.other == 0).into(),
        ],
        [
            "(d) peak RSS, availability server".into(),
            mb(avail_run.peak_rss),
            format!("< {}", mb(TARGET_RSS_BYTES)),
            verdict(avail_run.peak_rss > 0 && avail_run.peak_rss < TARGET_RSS_BYTES).into(),
        ],
        [
            "(d) peak RSS, booking server".into(),
            mb(book_run.peak_rss),
            format!("< {}", mb(TARGET_RSS_BYTES)),
            verdict(book_run.peak_rss > 0 && book_run.peak_rss < TARGET_RSS_BYTES).into(),
        ],
    ];
    println!();
    println!("booking: {}", engine.about);
    println!(
        "booking: wrk {} http://127.0.0.1:PORT{availability_path}",
        API_WRK_ARGS.join(" ")
    );
    println!(
        "booking: wrk {} -s {BOOK_SCRIPT} http://127.0.0.1:PORT/api/v1/bookings -- {API_WRK_THREADS} {base_epoch} {SLOTS_PER_DAY}",
        API_WRK_ARGS.join(" ")
    );
    print_table(&["metric", "value", "target", "result"], &rows);
    println!();
    println!(
        "  availability answer:               {avail_slots} free times, {}",
        kb(answer.body.len() as u64)
    );
    println!(
        "  bookings:                          {} created in {:.2} s; statuses {}; {} rows in the database after shutdown",
        booked.created,
        booked.duration_s,
        booked.statuses,
        stored.as_deref().unwrap_or("? (no sqlite3 to count)")
    );
    if let Some(per_second) = per_second.filter(|p| !p.is_empty()) {
        println!("  bookings committed each second:    {per_second}");
    }
    let capacity = u64::from(SLOTS_PER_DAY) * 365;
    if booked.created + booked.other >= capacity * 9 / 10 {
        println!(
            "  note: the run asked for {} of the about {capacity} slots in the capacity practice's horizon; later ones are refused",
            booked.created + booked.other
        );
    }
    if !booked.first_error.is_empty() {
        println!(
            "  first answer other than 201:       {}",
            booked.first_error
        );
    }
    println!(
        "  durability:                        journal_mode={} ({}), synchronous=FULL as store-sqlite opens every connection (the bench changes neither); data on {fs_type}",
        journal.as_deref().unwrap_or("?"),
        if wal_during_load {
            "anteroom.db-wal present during the load"
        } else {
            "no anteroom.db-wal seen during the load"
        }
    );
    println!(
        "  server CPU per request:            availability {} µs, booking {} µs (all threads)",
        per_request_us(&avail_run),
        per_request_us(&book_run)
    );
    println!(
        "  wrk's own CPU during the runs:     {:.1} s for availability, {:.1} s for bookings (of {} cores x 10 s)",
        avail_run.wrk_cpu_s,
        book_run.wrk_cpu_s,
        thread::available_parallelism().map_or(1, usize::from)
    );
    println!(
        "  memory before load:                availability server {}, booking server {}",
        mb(avail_idle_rss),
        mb(book_idle_rss)
    );
    println!("  (MB = 1,000,000 bytes; RSS peak sampled from /proc every 100 ms while wrk ran)");

    let mut problems = Vec::new();
    if avail_run.wrk.requests == 0 || avail_run.wrk.non_2xx >= avail_run.wrk.requests {
        problems.push("no GET /api/v1/availability request succeeded".to_owned());
    }
    if booked.created == 0 {
        problems.push(format!(
            "no booking succeeded (first answer: {})",
            booked.first_error
        ));
    }
    for (name, run) in [("availability", &avail_run), ("bookings", &book_run)] {
        if let Some(errors) = &run.wrk.socket_errors {
            println!("  note: wrk, {name}: {errors}");
        }
    }
    if !problems.is_empty() {
        return Err(format!(
            "the booking benchmark is not valid: {}",
            problems.join("; ")
        ));
    }
    Ok(())
}

/// The engine micro-benchmark's figures.
struct EngineResult {
    /// Its first line: what was measured.
    about: String,
    median_us: f64,
    p99_us: f64,
}

/// Run `cargo bench -p anteroom-domain --bench availability` and read its median and p99.
fn engine_bench(root: &Path, target_dir: &Path) -> Result<EngineResult, String> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    println!("bench: $ cargo bench -p anteroom-domain --bench availability");
    let output = Command::new(cargo)
        .args(["bench", "-p", "anteroom-domain", "--bench", "availability"])
        .current_dir(root)
        .env("CARGO_TARGET_DIR", target_dir)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo bench: {e}"))?;
    let out = String::from_utf8_lossy(&output.stdout).into_owned();
    print!("{out}");
    if !output.status.success() {
        return Err(format!("cargo bench failed ({})", output.status));
    }
    parse_engine(&out)
}

/// Pick `median` and `p99` (in µs) out of the engine benchmark's output.
fn parse_engine(out: &str) -> Result<EngineResult, String> {
    let figure = |name: &str| -> Result<f64, String> {
        let line = out
            .lines()
            .map(str::trim)
            .find(|l| l.split_whitespace().next() == Some(name))
            .ok_or_else(|| format!("the engine benchmark printed no `{name}` line"))?;
        let mut words = line.split_whitespace().skip(1);
        let number: f64 = words
            .next()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("cannot read the engine's {name} in {line:?}"))?;
        let scale = match words.next() {
            Some("ns") => 0.001,
            Some("µs" | "us") => 1.0,
            Some("ms") => 1000.0,
            Some("s") => 1_000_000.0,
            other => return Err(format!("unknown unit {other:?} in {line:?}")),
        };
        Ok(number * scale)
    };
    Ok(EngineResult {
        about: out
            .lines()
            .find(|l| l.starts_with("availability engine"))
            .unwrap_or("availability engine")
            .to_owned(),
        median_us: figure("median")?,
        p99_us: figure("p99")?,
    })
}

/// `anteroom init` a practice from `practice_file` in `data_dir`, then serve it on a free
/// loopback port without rate limits, on the system clock (release `serve` refuses `--now`).
fn start_practice(
    binary: &Path,
    practice_file: &Path,
    data_dir: &Path,
    name: &'static str,
) -> Result<(Server, SocketAddr), String> {
    start_practice_with(binary, practice_file, data_dir, name, &["--no-rate-limits"])
}

/// [`start_practice`] with these server options instead of `--no-rate-limits`.
fn start_practice_with(
    binary: &Path,
    practice_file: &Path,
    data_dir: &Path,
    name: &'static str,
    server_options: &[&str],
) -> Result<(Server, SocketAddr), String> {
    let mut init = Command::new(binary);
    init.arg("init")
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--practice-file")
        .arg(practice_file)
        .args([
            "--email",
            "bench@example.com",
            "--name",
            "Bench Admin",
            "--password-stdin",
        ]);
    without_anteroom_env(&mut init);
    println!(
        "bench: $ anteroom init --data-dir {} --practice-file {} ...",
        data_dir.display(),
        practice_file.display()
    );
    let mut child = init
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {} init: {e}", binary.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        writeln!(stdin, "{BOOKING_PASSWORD}")
            .map_err(|e| format!("cannot give anteroom init the password: {e}"))?;
    }
    let done = child
        .wait_with_output()
        .map_err(|e| format!("waiting for anteroom init: {e}"))?;
    if !done.status.success() {
        return Err(format!(
            "anteroom init --practice-file {} failed ({}): {}{}",
            practice_file.display(),
            done.status,
            String::from_utf8_lossy(&done.stdout).trim(),
            String::from_utf8_lossy(&done.stderr).trim()
        ));
    }
    let addr = free_port()?;
    let mut serve = Command::new(binary);
    serve
        .arg("serve")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--listen", &addr.to_string()])
        .args(server_options);
    without_anteroom_env(&mut serve);
    let log = data_dir.with_extension("log");
    let mut server = Server::start(name, serve, &log)?;
    wait_until_serving(
        &mut server,
        addr,
        "/api/v1/practice",
        Duration::from_secs(60),
    )?;
    Ok((server, addr))
}

/// What bench/book.lua's `done` reports.
struct BookLua {
    created: u64,
    other: u64,
    duration_s: f64,
    statuses: String,
    first_error: String,
}

/// Read `book.lua: created=N other=M duration_us=D statuses=... first_error=...`.
fn parse_book_lua(out: &str) -> Result<BookLua, String> {
    let line = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("book.lua:"))
        .ok_or("wrk printed no `book.lua:` line (did the script's done() run?)")?;
    let (fields, first_error) = line.split_once(" first_error=").unwrap_or((line, ""));
    let field = |name: &str| {
        fields
            .split_whitespace()
            .find_map(|w| w.strip_prefix(name)?.strip_prefix('='))
            .unwrap_or("")
    };
    let number = |name: &str| -> Result<u64, String> {
        field(name)
            .parse()
            .map_err(|_| format!("cannot read {name} in the script's line {line:?}"))
    };
    Ok(BookLua {
        created: number("created")?,
        other: number("other")?,
        duration_s: number("duration_us")? as f64 / 1e6,
        statuses: field("statuses").to_owned(),
        first_error: first_error.trim().to_owned(),
    })
}

/// One value from the database with the `sqlite3` shell, when it is installed.
fn sqlite_scalar(db: &Path, sql: &str) -> Option<String> {
    let sqlite3 = find_program("sqlite3")?;
    let output = Command::new(sqlite3)
        .arg("-readonly")
        .arg(db)
        .arg(sql)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The type of the file system holding `path` (its longest mount point in /proc/mounts).
fn filesystem_type(path: &Path) -> String {
    let path = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    fs::read_to_string("/proc/mounts")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let (_, mount, kind) = (words.next()?, words.next()?, words.next()?);
            Some((mount.replace("\\040", " "), kind.to_owned()))
        })
        .filter(|(mount, _)| path.starts_with(mount))
        .max_by_key(|(mount, _)| mount.len())
        .map_or_else(|| "unknown".into(), |(_, kind)| kind)
}

/// How many times `needle` occurs in `haystack`.
fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

/// Whole days from 1970-01-01 to now (UTC).
fn days_since_epoch() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| (d.as_secs() / 86_400) as i64)
}

/// The UTC date `days` days after 1970-01-01, as YYYY-MM-DD (Howard Hinnant's civil_from_days).
fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The workspace's root folder (holding `crates/anteroom`).
fn workspace_root() -> Result<PathBuf, String> {
    // `cargo run` sets CARGO_MANIFEST_DIR at run time; never bake it in (a binary built for
    // another checkout sharing the target directory may be reused).
    let mut candidates: Vec<PathBuf> = env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .and_then(|xtask| xtask.parent().map(Path::to_path_buf))
        .into_iter()
        .collect();
    if let Ok(cwd) = env::current_dir() {
        candidates.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    candidates
        .into_iter()
        .find(|dir| dir.join("crates/anteroom/Cargo.toml").is_file())
        .ok_or_else(|| {
            "cannot find the workspace (a folder holding crates/anteroom); run this from inside it"
                .to_owned()
        })
}

/// `$CARGO_TARGET_DIR` (made absolute) or the workspace's `target`.
fn target_dir(root: &Path) -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
    {
        Some(dir) if dir.is_absolute() => dir,
        Some(dir) => env::current_dir().map_or(dir.clone(), |cwd| cwd.join(&dir)),
        None => root.join("target"),
    }
}

/// Build the release `anteroom` binary and return its path.
fn build_release(root: &Path, target_dir: &Path) -> Result<PathBuf, String> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    run_shown(
        Command::new(cargo)
            .args(["build", "--release", "-p", "anteroom"])
            .current_dir(root)
            .env("CARGO_TARGET_DIR", target_dir),
    )?;
    let binary = target_dir.join("release").join("anteroom");
    if !binary.is_file() {
        return Err(format!(
            "the build succeeded but {} is not there",
            binary.display()
        ));
    }
    Ok(binary)
}

/// Keep the caller's `ANTEROOM_*` settings (a data dir, SMTP, a pinned clock) out of `cmd`.
pub(crate) fn without_anteroom_env(cmd: &mut Command) {
    for (key, _) in env::vars_os() {
        if key.to_string_lossy().starts_with("ANTEROOM_") {
            cmd.env_remove(key);
        }
    }
}

struct Tools {
    wrk: PathBuf,
    nginx: PathBuf,
}

/// Find `wrk` and `nginx`, installing them with apt-get when they are missing.
fn ensure_tools() -> Result<Tools, String> {
    install_missing(&["wrk", "nginx"])?;
    let wrk = find_program("wrk").ok_or("wrk is still not on the PATH after installing it")?;
    let nginx =
        find_program("nginx").ok_or("nginx is still not on the PATH after installing it")?;
    println!("bench: using {} and {}", wrk.display(), nginx.display());
    Ok(Tools { wrk, nginx })
}

/// Find `wrk` (all the booking benchmark needs), installing it with apt-get when missing.
fn ensure_wrk() -> Result<PathBuf, String> {
    install_missing(&["wrk"])?;
    let wrk = find_program("wrk").ok_or("wrk is still not on the PATH after installing it")?;
    println!("bench: using {}", wrk.display());
    Ok(wrk)
}

/// Install those of `tools` (`wrk`, `nginx`) that are not on the PATH, with apt-get.
fn install_missing(tools: &[&'static str]) -> Result<(), String> {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| find_program(t).is_none())
        .collect();
    if !missing.is_empty() {
        println!(
            "bench: {} not found; installing with apt-get",
            missing.join(" and ")
        );
        if find_program("apt-get").is_none() || !is_root() {
            return Err(format!(
                "{} missing and cannot be installed here (needs apt-get as root): install them (e.g. `apt-get install wrk nginx-light`) and run again",
                missing.join(" and ")
            ));
        }
        run_shown(Command::new("apt-get").arg("update"))?;
        let packages = |nginx: &'static str| -> Vec<&'static str> {
            missing
                .iter()
                .map(|t| if *t == "nginx" { nginx } else { "wrk" })
                .collect()
        };
        let light = packages("nginx-light");
        let installed = run_shown(&mut apt_install(&light)).is_ok()
            || (missing.contains(&"nginx")
                && run_shown(&mut apt_install(&packages("nginx"))).is_ok());
        if !installed {
            return Err(format!("could not install {}", missing.join(" and ")));
        }
    }
    Ok(())
}

fn apt_install(packages: &[&str]) -> Command {
    let mut cmd = Command::new("apt-get");
    cmd.args(["install", "-y", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive");
    cmd
}

fn find_program(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&path)
        .chain(
            ["/usr/local/sbin", "/usr/sbin", "/sbin"]
                .into_iter()
                .map(PathBuf::from),
        )
        .map(|dir| dir.join(name))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("Uid:")
                    .map(|v| v.split_whitespace().nth(1) == Some("0"))
            })
        })
        .unwrap_or(false)
}

/// Print a command, run it with the terminal, fail on a non-zero exit.
fn run_shown(cmd: &mut Command) -> Result<(), String> {
    let shown = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    println!("bench: $ {shown}");
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run `{shown}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{shown}` failed ({status})"))
    }
}

fn print_machine() {
    println!("bench: machine: {}", machine_line());
}

/// The machine in one line: CPUs, their model, memory.
fn machine_line() -> String {
    let cpus = thread::available_parallelism().map_or(0, usize::from);
    let model = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let memory = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("MemTotal:")
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
        })
        .map_or_else(
            || "unknown".into(),
            |kb| format!("{:.1} GiB", kb as f64 / 1024.0 / 1024.0),
        );
    format!("{cpus} CPUs ({model}), {memory} memory")
}

/// Now in UTC, as `YYYY-MM-DD HH:MM UTC`.
fn utc_now_text() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let of_day = secs % 86_400;
    format!(
        "{} {:02}:{:02} UTC",
        civil_date(days_since_epoch()),
        of_day / 3600,
        of_day % 3600 / 60
    )
}

/// A loopback address with a port nobody is listening on (right now).
pub(crate) fn free_port() -> Result<SocketAddr, String> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot find a free port: {e}"))?;
    listener
        .local_addr()
        .map_err(|e| format!("cannot find a free port: {e}"))
}

/// A folder under the system's temporary folder, removed when dropped.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(prefix: &str) -> Result<Self, String> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = env::temp_dir().join(format!("{prefix}-{}-{nanos:09}", std::process::id()));
        fs::create_dir(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        let _ = fs::set_permissions(&path, fs::Permissions::from_mode(0o755));
        Ok(Self(path))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A server we started: stopped by its PID (SIGTERM, then SIGKILL) when done or dropped.
pub(crate) struct Server {
    name: &'static str,
    child: Option<Child>,
    pid: u32,
    log: PathBuf,
}

impl Server {
    pub(crate) fn start(name: &'static str, mut cmd: Command, log: &Path) -> Result<Self, String> {
        let out =
            fs::File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
        let shown = std::iter::once(cmd.get_program())
            .chain(cmd.get_args())
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {name} (`{shown}`): {e}"))?;
        let pid = child.id();
        println!("bench: started {name} (pid {pid}): {shown}");
        Ok(Self {
            name,
            child: Some(child),
            pid,
            log: log.to_path_buf(),
        })
    }

    fn pid(&self) -> u32 {
        self.pid
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// SIGTERM by PID (both servers shut down cleanly on it), SIGKILL after 10 s.
    pub(crate) fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                println!("bench: stopped {} (pid {})", self.name, self.pid);
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        println!(
            "bench: killed {} (pid {}): it did not stop within 10 s of SIGTERM",
            self.name, self.pid
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Poll `GET path` until it answers 200, the server exits, or the deadline passes.
pub(crate) fn wait_until_serving(
    server: &mut Server,
    addr: SocketAddr,
    path: &str,
    limit: Duration,
) -> Result<(), String> {
    let start = Instant::now();
    loop {
        if let Some(status) = server.exited() {
            return Err(format!(
                "{} exited ({status}) before serving; its log ends:\n{}",
                server.name,
                server.log_tail()
            ));
        }
        let last = match http_get(addr, path, "") {
            Ok(r) if r.status == 200 => {
                println!(
                    "bench: {} answers on http://{addr} after {:.1} s",
                    server.name,
                    start.elapsed().as_secs_f64()
                );
                return Ok(());
            }
            Ok(r) => format!("status {}", r.status),
            Err(e) => e,
        };
        if start.elapsed() > limit {
            return Err(format!(
                "{} did not answer GET {path} within {} s (last: {last}); its log ends:\n{}",
                server.name,
                limit.as_secs(),
                server.log_tail()
            ));
        }
        thread::sleep(Duration::from_millis(100));
    }
}

struct HttpResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 GET over a fresh connection; `extra` is more header lines, each ending in CRLF.
fn http_get(addr: SocketAddr, path: &str, extra: &str) -> Result<HttpResponse, String> {
    http_request(addr, "GET", path, extra, &[])
}

/// One HTTP/1.1 request over a fresh connection, with `body` (sent with its length) if any.
fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    extra: &str,
    body: &[u8],
) -> Result<HttpResponse, String> {
    http_request_to(addr, &addr.to_string(), method, path, extra, body)
}

/// [`http_request`] with this `Host` header (hosted mode picks the practice by it).
fn http_request_to(
    addr: SocketAddr,
    host: &str,
    method: &str,
    path: &str,
    extra: &str,
    body: &[u8],
) -> Result<HttpResponse, String> {
    let fail = |e: std::io::Error| format!("{method} http://{addr}{path}: {e}");
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(fail)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(fail)?;
    stream
        .set_write_timeout(Some(Duration::from_secs(10)))
        .map_err(fail)?;
    let length = if body.is_empty() {
        String::new()
    } else {
        format!("Content-Length: {}\r\n", body.len())
    };
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: anteroom-xtask-bench\r\n{extra}{length}Connection: close\r\n\r\n")
        .map_err(fail)?;
    stream.write_all(body).map_err(fail)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(fail)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("{method} http://{addr}{path}: no complete response"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("{method} http://{addr}{path}: not an HTTP response"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut response = HttpResponse {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    };
    if response
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        response.body = dechunk(&response.body)
            .ok_or_else(|| format!("{method} http://{addr}{path}: bad chunked body"))?;
    } else if let Some(length) = response
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        if response.body.len() < length {
            return Err(format!(
                "{method} http://{addr}{path}: body cut short ({} of {length} bytes)",
                response.body.len()
            ));
        }
        response.body.truncate(length);
    }
    Ok(response)
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// Bytes on the wire for `path` when asked the way a browser asks (compressed if offered).
fn compressed_size(addr: SocketAddr, path: &str) -> Result<u64, String> {
    Ok(
        http_get(addr, path, "Accept-Encoding: gzip, deflate, br\r\n")?
            .body
            .len() as u64,
    )
}

/// The `href` of every `<link rel="stylesheet">` in a page.
fn stylesheet_hrefs(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut hrefs = Vec::new();
    let mut from = 0;
    while let Some(i) = lower[from..].find("<link") {
        let start = from + i;
        let end = lower[start..].find('>').map_or(lower.len(), |e| start + e);
        let tag = &html[start..end];
        let is_stylesheet = attribute(tag, "rel").is_some_and(|rel| {
            rel.split_ascii_whitespace()
                .any(|t| t.eq_ignore_ascii_case("stylesheet"))
        });
        if let Some(href) = attribute(tag, "href").filter(|_| is_stylesheet) {
            hrefs.push(href);
        }
        from = end;
    }
    hrefs
}

/// An attribute's value in one tag's text (quoted or not), with character references decoded.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(name) {
        let at = from + i;
        from = at + name.len();
        if at == 0 || !lower.as_bytes()[at - 1].is_ascii_whitespace() {
            continue;
        }
        let Some(rest) = tag[at + name.len()..].trim_start().strip_prefix('=') else {
            continue;
        };
        let rest = rest.trim_start();
        let value = match rest.chars().next() {
            Some(quote @ ('"' | '\'')) => rest[1..].split(quote).next().unwrap_or(""),
            _ => rest
                .split(|c: char| c.is_ascii_whitespace() || c == '>')
                .next()
                .unwrap_or(""),
        };
        return Some(decode_entities(value));
    }
    None
}

/// Decode `&amp;`-style and numeric (`&#47;`, `&#x2f;`) character references.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let decoded = rest.find(';').filter(|end| *end <= 10).and_then(|end| {
            let name = &rest[1..end];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => {
                    let number = name.strip_prefix('#')?;
                    let code = match number.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => number.parse().ok(),
                    };
                    code.and_then(char::from_u32)
                }
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A link found on `page_path` as a path on the same server.
fn same_site_path(href: &str, addr: SocketAddr, page_path: &str) -> Result<String, String> {
    let local = [
        format!("http://{addr}"),
        format!("http://localhost:{}", addr.port()),
    ];
    if let Some(rest) = local
        .iter()
        .find_map(|prefix| href.strip_prefix(prefix.as_str()))
    {
        return Ok(if rest.starts_with('/') {
            rest.to_owned()
        } else {
            format!("/{rest}")
        });
    }
    if href.starts_with("//") || href.contains("://") {
        return Err(format!(
            "the stylesheet {href} is on another server; cannot measure it"
        ));
    }
    if href.starts_with('/') {
        return Ok(href.to_owned());
    }
    let dir = page_path.rsplit_once('/').map_or("", |(dir, _)| dir);
    Ok(format!("{dir}/{href}"))
}

struct WrkResult {
    requests_per_sec: f64,
    p99_ms: f64,
    requests: u64,
    non_2xx: u64,
    socket_errors: Option<String>,
}

struct LoadRun {
    wrk: WrkResult,
    /// Everything wrk printed (a script's `done` adds its own lines).
    output: String,
    /// Peak VmRSS of the server while wrk ran (bytes; 0 when not sampled).
    peak_rss: u64,
    /// CPU the server (and its child processes) used during the run.
    server_cpu_s: f64,
    wrk_cpu_s: f64,
}

fn per_request_us(run: &LoadRun) -> String {
    if run.wrk.requests == 0 {
        "?".into()
    } else {
        format!("{:.0}", run.server_cpu_s * 1e6 / run.wrk.requests as f64)
    }
}

/// Run `wrk ARGS URL [-- SCRIPT_ARGS]`, watching the server `pid` (its memory when `sample_rss`).
fn load(
    wrk: &Path,
    args: &[&str],
    url: &str,
    script_args: &[&str],
    pid: u32,
    sample_rss: bool,
) -> Result<LoadRun, String> {
    let mut tail: Vec<&str> = Vec::new();
    if !script_args.is_empty() {
        tail.push("--");
        tail.extend(script_args);
    }
    println!("bench: $ wrk {} {url} {}", args.join(" "), tail.join(" "));
    let hz = clock_ticks_per_second();
    let cpu_before = tree_cpu_ticks(pid);
    let mut child = Command::new(wrk)
        .args(args)
        .arg(url)
        .args(&tail)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", wrk.display()))?;
    let wrk_pid = child.id();
    let mut stdout = child.stdout.take().ok_or("no stdout from wrk")?;
    let mut stderr = child.stderr.take().ok_or("no stderr from wrk")?;
    let out_reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err_reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut peak_rss_kb = 0;
    let mut wrk_ticks = 0;
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| format!("waiting for wrk: {e}"))?
        {
            break status;
        }
        if sample_rss {
            peak_rss_kb = peak_rss_kb.max(proc_status_kb(pid, "VmRSS").unwrap_or(0));
        }
        wrk_ticks = tree_cpu_ticks(wrk_pid).max(wrk_ticks);
        thread::sleep(Duration::from_millis(100));
    };
    let cpu_after = tree_cpu_ticks(pid);
    let out = out_reader.join().unwrap_or_default();
    let err = err_reader.join().unwrap_or_default();
    print!("{out}");
    if !status.success() {
        return Err(format!("wrk failed ({status}): {}", err.trim()));
    }
    Ok(LoadRun {
        wrk: parse_wrk(&out)?,
        output: out,
        peak_rss: peak_rss_kb * 1024,
        server_cpu_s: cpu_after.saturating_sub(cpu_before) as f64 / hz,
        wrk_cpu_s: wrk_ticks as f64 / hz,
    })
}

/// Pick the numbers out of `wrk --latency` output.
fn parse_wrk(out: &str) -> Result<WrkResult, String> {
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    let requests_per_sec = lines
        .iter()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .ok_or("wrk printed no Requests/sec line")?;
    let p99 = lines
        .iter()
        .skip_while(|l| !l.starts_with("Latency Distribution"))
        .find_map(|l| l.strip_prefix("99%"))
        .ok_or("wrk printed no 99% latency line (was --latency given?)")?;
    let requests = lines
        .iter()
        .find_map(|l| {
            l.split_once(" requests in ")
                .and_then(|(n, _)| n.trim().parse::<u64>().ok())
        })
        .unwrap_or(0);
    let non_2xx = lines
        .iter()
        .find_map(|l| l.strip_prefix("Non-2xx or 3xx responses:"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let socket_errors = lines
        .iter()
        .find(|l| l.starts_with("Socket errors:"))
        .map(|l| (*l).to_owned());
    Ok(WrkResult {
        requests_per_sec,
        p99_ms: duration_ms(p99.trim())?,
        requests,
        non_2xx,
        socket_errors,
    })
}

/// wrk's durations, e.g. `812.00us`, `3.25ms`, `1.02s`, `2.00m`, in milliseconds.
fn duration_ms(text: &str) -> Result<f64, String> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("cannot read the duration {text:?}"))?;
    let scale = match unit.trim() {
        "us" => 0.001,
        "ms" => 1.0,
        "s" => 1000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        other => return Err(format!("unknown unit {other:?} in the duration {text:?}")),
    };
    Ok(number * scale)
}

/// A `kB` line of /proc/PID/status, e.g. VmRSS or VmHWM.
fn proc_status_kb(pid: u32, key: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| {
        let value = l.strip_prefix(key)?.strip_prefix(':')?;
        value.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// (parent pid, user + system clock ticks) of a process, from /proc/PID/stat.
fn proc_stat(pid: u32) -> Option<(u32, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    let ppid = fields.get(1)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((ppid, utime + stime))
}

/// CPU ticks used by a process and its direct children (nginx's workers).
fn tree_cpu_ticks(pid: u32) -> u64 {
    let mut total = proc_stat(pid).map_or(0, |(_, t)| t);
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(other) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some((ppid, ticks)) = proc_stat(other).filter(|(ppid, _)| *ppid == pid) {
                let _ = ppid;
                total += ticks;
            }
        }
    }
    total
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .filter(|hz| *hz > 0.0)
        .unwrap_or(100.0)
}

fn kb(bytes: u64) -> String {
    format!("{:.1} KB", bytes as f64 / 1000.0)
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

fn print_table(header: &[&str; 4], rows: &[[String; 4]]) {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 4]| {
        let mut text = String::from("|");
        for (cell, w) in cells.iter().zip(widths) {
            text.push_str(&format!(" {cell:<w$} |"));
        }
        text
    };
    println!("{}", line(*header));
    println!(
        "|{}",
        widths
            .iter()
            .map(|w| format!("{}|", "-".repeat(w + 2)))
            .collect::<String>()
    );
    for row in rows {
        println!("{}", line([&row[0], &row[1], &row[2], &row[3]]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrk_output() {
        let out = "Running 10s test @ http://127.0.0.1:1/x\n  2 threads and 64 connections\n  Thread Stats   Avg      Stdev     Max   +/- Stdev\n    Latency     1.23ms  456.00us  10.00ms   80.00%\n    Req/Sec    20.00k     1.00k   25.00k    70.00%\n  Latency Distribution\n     50%  812.00us\n     75%    1.50ms\n     90%    2.00ms\n     99%    5.25ms\n  400000 requests in 10.00s, 10.00GB read\n  Non-2xx or 3xx responses: 3\nRequests/sec:  40000.50\nTransfer/sec:      1.00GB\n";
        let r = parse_wrk(out).expect("parses");
        assert!((r.requests_per_sec - 40000.5).abs() < 1e-9);
        assert!((r.p99_ms - 5.25).abs() < 1e-9);
        assert_eq!((r.requests, r.non_2xx), (400_000, 3));
        assert!((duration_ms("812.00us").expect("us") - 0.812).abs() < 1e-9);
        assert!((duration_ms("1.02s").expect("s") - 1020.0).abs() < 1e-9);
    }

    #[test]
    fn finds_stylesheets() {
        let html = r#"<head><link rel="icon" href="/f.ico"><LINK href='/a.css?v=1&amp;x=2' rel="preload stylesheet"><link rel=stylesheet href=/b.css></head>"#;
        assert_eq!(stylesheet_hrefs(html), ["/a.css?v=1&x=2", "/b.css"]);
        let escaped = r#"<link rel="stylesheet" href="&#x2f;assets&#x2F;site.css?v=1&#38;a=&lt;b&gt; &unknown; & x">"#;
        assert_eq!(
            stylesheet_hrefs(escaped),
            ["/assets/site.css?v=1&a=<b> &unknown; & x"]
        );
        let addr: SocketAddr = "127.0.0.1:8080".parse().expect("addr");
        assert_eq!(
            same_site_path("http://127.0.0.1:8080/s.css", addr, "/articles/x").expect("local"),
            "/s.css"
        );
        assert_eq!(
            same_site_path("s.css", addr, "/articles/x").expect("relative"),
            "/articles/s.css"
        );
        assert!(same_site_path("https://cdn.example/s.css", addr, "/").is_err());
    }

    #[test]
    fn reads_the_booking_figures() {
        let engine = "availability engine: 90 days, 3 locations -> 769 slots; 2000 calls\n  median    129.1 µs   target < 1000 µs   PASS\n  p99       283.1 µs   target < 1000 µs   PASS\n";
        let e = parse_engine(engine).expect("engine");
        assert!((e.median_us - 129.1).abs() < 1e-9 && (e.p99_us - 283.1).abs() < 1e-9);
        assert!(e.about.starts_with("availability engine: 90 days"));
        let lua = "Requests/sec: 1.0\nbook.lua: created=1103 other=2 duration_us=3041545 statuses=201:1103,409:2 first_error=409 {\"error\": \"slot_unavailable\"}\n";
        let b = parse_book_lua(lua).expect("book.lua");
        assert_eq!(
            (b.created, b.other, b.statuses.as_str()),
            (1103, 2, "201:1103,409:2")
        );
        assert!((b.duration_s - 3.041545).abs() < 1e-9);
        assert_eq!(b.first_error, "409 {\"error\": \"slot_unavailable\"}");
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(20_417), "2025-11-25");
        assert_eq!(civil_date(11_016), "2000-02-29");
        assert_eq!(count(b"{\"start\":1},{\"start\":2}", b"\"start\""), 2);
    }

    #[test]
    fn dechunks() {
        assert_eq!(
            dechunk(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n").expect("chunked"),
            b"abcde"
        );
    }
}
