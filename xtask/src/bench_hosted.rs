//! `cargo xtask bench hosted`: hosted mode (many practices in one database, the request's
//! `Host` picking the practice), on PostgreSQL and on SQLite, in one run.
//!
//! Every practice is made with the product's own `anteroom practice create` (run a few at a
//! time), and served by `anteroom serve --hosted --base-domain localhost --no-rate-limits`,
//! each practice at `NAME.localhost:PORT`. PostgreSQL is a throwaway cluster (fsync and
//! `synchronous_commit` on; `crate::postgres`) unless `ANTEROOM_TEST_POSTGRES_URL` names one;
//! each scenario gets a database of its own (`psql -c 'create database …'`).
//!
//! - (a) `GET /api/v1/availability?type=consultation` for four weeks, all locations, of the
//!   demo practice, under `wrk -t2 -c32 -d10s`: target ≥ 10,000 req/s and p99 < 10 ms.
//! - (b) `POST /api/v1/bookings`, each for a different free time that availability offered
//!   (asked first, through the API), from 32 keep-alive connections split across TWO serve
//!   processes on one database: on one practice, then round-robin over 100 practices
//!   (`bench/booking-capacity.toml`: ten-minute slots round the clock for a year, so the
//!   times do not run out). Every answer other than 201 is counted as a refusal. Target
//!   ≥ 2,000/s on one practice, and more across 100 than on one.
//! - (c) the same deployment grown to 1,000 practices: `GET /robots.txt` (a cheap, cached
//!   answer) with the `Host` rotating over every practice, against the 1-practice deployment
//!   of (a): the practice lookup's cost per request (target < 50 µs), and every serve
//!   process's peak RSS (`VmHWM`, target < 60 MB).
//! - (d) SQLite (`--data-dir`), the same (a), and bookings on one practice, one process.

use std::{
    collections::BTreeMap,
    fs,
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use super::{
    API_WRK_ARGS, BOOKING_PASSWORD, CAPACITY_PRACTICE, LoadRun, Server, TARGET_AVAILABILITY_RPS,
    TARGET_BOOKINGS_PER_SEC, TARGET_P99_MS, TARGET_RSS_BYTES, TempDir, build_release, civil_date,
    clock_ticks_per_second, count, days_since_epoch, ensure_wrk, free_port, http_request_to, load,
    mb, print_machine, proc_stat, proc_status_kb, target_dir, without_anteroom_env, workspace_root,
};

const DEMO_PRACTICE: &str = "content/demo/practice.toml";
const PSQL: &str = "/usr/bin/psql";
/// Keep-alive connections of the booking load, split evenly across the serve processes.
const BOOK_CONNECTIONS: usize = 32;
const BOOK_SECONDS: u64 = 10;
/// `practice create` processes at once.
const CREATE_JOBS: usize = 4;
/// Free times asked for (and so bookings at most) in one booking run.
const BOOK_SLOTS: usize = 45_000;
/// Issue 12: the practice lookup adds less than this per request (µs).
const TARGET_LOOKUP_US: f64 = 50.0;

/// Where a deployment's data is: the options every command is given.
struct Deployment {
    label: String,
    /// The PostgreSQL server's port, to measure its CPU.
    postgres_port: Option<u16>,
    data: Vec<String>,
}

impl Deployment {
    fn postgres(server_url: &str, name: &str, key: &Path) -> Result<Self, String> {
        let database = format!("bench_{name}_{}", std::process::id());
        let output = Command::new(PSQL)
            .args([server_url, "-X", "-q", "-c"])
            .arg(format!("create database {database}"))
            .output()
            .map_err(|e| format!("cannot run {PSQL}: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "psql: create database {database} failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        let base = server_url
            .rsplit_once('/')
            .map_or(server_url, |(base, _)| base);
        println!("bench: created the PostgreSQL database {database}");
        let postgres_port = base
            .rsplit_once(':')
            .and_then(|(_, port)| port.parse().ok());
        Ok(Self {
            label: format!("PostgreSQL {name}"),
            postgres_port,
            data: vec![
                "--database-url".into(),
                format!("{base}/{database}"),
                "--key-file".into(),
                key.display().to_string(),
            ],
        })
    }

    fn sqlite(dir: &Path, name: &str) -> Self {
        Self {
            label: format!("SQLite {name}"),
            postgres_port: None,
            data: vec!["--data-dir".into(), dir.join(name).display().to_string()],
        }
    }
}

fn host_name(n: usize) -> String {
    format!("bench{n:04}")
}

fn spawn_create(
    binary: &Path,
    deployment: &Deployment,
    n: usize,
    file: &Path,
) -> Result<Child, String> {
    let mut cmd = Command::new(binary);
    cmd.args(["practice", "create"])
        .args(&deployment.data)
        .args(["--host", &host_name(n)])
        .args(["--email", &format!("owner{n}@example.com")])
        .args(["--name", "Bench Owner", "--password-stdin"])
        .arg("--practice-file")
        .arg(file);
    without_anteroom_env(&mut cmd);
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {} practice create: {e}", binary.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        writeln!(stdin, "{BOOKING_PASSWORD}")
            .map_err(|e| format!("cannot give practice create the password: {e}"))?;
    }
    Ok(child)
}

fn finish_create(n: usize, child: Child) -> Result<(), String> {
    let done = child
        .wait_with_output()
        .map_err(|e| format!("waiting for practice create: {e}"))?;
    if done.status.success() {
        Ok(())
    } else {
        Err(format!(
            "anteroom practice create --host {} failed ({}): {}{}",
            host_name(n),
            done.status,
            String::from_utf8_lossy(&done.stdout).trim(),
            String::from_utf8_lossy(&done.stderr).trim()
        ))
    }
}

/// `anteroom practice create` practices `from..to` (the first alone: it may make the
/// database file and the key file), `CREATE_JOBS` at a time. Returns the seconds taken.
fn create_practices(
    binary: &Path,
    deployment: &Deployment,
    range: std::ops::Range<usize>,
    file: &Path,
) -> Result<f64, String> {
    println!(
        "bench: $ anteroom practice create {} --host bench{:04}..bench{:04} --practice-file {} ({CREATE_JOBS} at a time)",
        deployment.data.join(" "),
        range.start,
        range.end - 1,
        file.display()
    );
    let started = Instant::now();
    let mut next = range.start;
    if next == 0 {
        finish_create(0, spawn_create(binary, deployment, 0, file)?)?;
        next = 1;
    }
    let mut running: std::collections::VecDeque<(usize, Child)> = Default::default();
    while next < range.end || !running.is_empty() {
        while running.len() < CREATE_JOBS && next < range.end {
            running.push_back((next, spawn_create(binary, deployment, next, file)?));
            next += 1;
        }
        if let Some((n, child)) = running.pop_front() {
            finish_create(n, child)?;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "bench: {} practices created in {seconds:.1} s ({:.0} ms each)",
        range.len(),
        seconds * 1000.0 / range.len() as f64
    );
    Ok(seconds)
}

/// `anteroom serve --hosted` on a free loopback port, ready when practice 0 answers.
fn serve(
    binary: &Path,
    deployment: &Deployment,
    name: &'static str,
    log_dir: &Path,
) -> Result<(Server, SocketAddr), String> {
    let addr = free_port()?;
    let mut cmd = Command::new(binary);
    cmd.arg("serve")
        .args(&deployment.data)
        .args(["--hosted", "--base-domain", "localhost", "--no-rate-limits"])
        .args(["--listen", &addr.to_string()]);
    without_anteroom_env(&mut cmd);
    let log = log_dir.join(format!("{name}-{}.log", addr.port()));
    let mut server = Server::start(name, cmd, &log)?;
    let started = Instant::now();
    loop {
        if let Some(status) = server.exited() {
            return Err(format!(
                "{name} exited ({status}); its log ends:\n{}",
                server.log_tail()
            ));
        }
        if get(addr, 0, "/api/v1/practice").is_ok_and(|(s, _)| s == 200) {
            println!(
                "bench: {name} serves {} on http://{addr} after {:.1} s",
                deployment.label,
                started.elapsed().as_secs_f64()
            );
            return Ok((server, addr));
        }
        if started.elapsed() > Duration::from_secs(60) {
            return Err(format!(
                "{name} did not answer within 60 s; its log ends:\n{}",
                server.log_tail()
            ));
        }
        thread::sleep(Duration::from_millis(100));
    }
}

fn host_header(n: usize, addr: SocketAddr) -> String {
    format!("{}.localhost:{}", host_name(n), addr.port())
}

fn get(addr: SocketAddr, practice: usize, path: &str) -> Result<(u16, Vec<u8>), String> {
    let r = http_request_to(addr, &host_header(practice, addr), "GET", path, "", &[])?;
    Ok((r.status, r.body))
}

/// Free times of practice `n` (start, location) from today on, asked through the API
/// four weeks at a time (as a booking page would ask), until `need` or the horizon.
fn free_times(addr: SocketAddr, n: usize, need: usize) -> Result<Vec<(String, String)>, String> {
    let today = days_since_epoch();
    let mut slots = Vec::new();
    let mut day = today;
    while slots.len() < need && day < today + 400 {
        let path = format!(
            "/api/v1/availability?type=consultation&from={}&to={}",
            civil_date(day),
            civil_date(day + 27)
        );
        let (status, body) = get(addr, n, &path)?;
        if status != 200 {
            return Err(format!(
                "GET {path} on {} answered {status}: {}",
                host_name(n),
                String::from_utf8_lossy(&body)
            ));
        }
        let body = String::from_utf8_lossy(&body);
        for piece in body.split("\"start\":\"").skip(1) {
            let start = piece.split('"').next().unwrap_or_default().to_owned();
            let location = piece
                .split("\"location\":\"")
                .nth(1)
                .and_then(|l| l.split('"').next())
                .unwrap_or_default()
                .to_owned();
            slots.push((start, location));
        }
        day += 28;
    }
    slots.truncate(need);
    Ok(slots)
}

/// CPU ticks of the PostgreSQL server listening on `port` and its backends (the process
/// whose command line says `port=PORT`, and its children); of every process called
/// `postgres` when there is no such process (a server this run did not start). None: 0.
fn postgres_ticks(port: Option<u16>) -> u64 {
    let Some(port) = port else {
        return 0;
    };
    let mut all = Vec::new();
    let mut postmaster = None;
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let is_postgres = fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres");
            if !is_postgres {
                continue;
            }
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(&format!("port={port}\0")) {
                postmaster = Some(pid);
            }
            if let Some((ppid, ticks)) = proc_stat(pid) {
                all.push((pid, ppid, ticks));
            }
        }
    }
    all.iter()
        .filter(|(pid, ppid, _)| postmaster.is_none_or(|p| *pid == p || *ppid == p))
        .map(|(_, _, ticks)| ticks)
        .sum()
}

/// (busy, total) ticks of the whole machine, from /proc/stat.
fn machine_ticks() -> (u64, u64) {
    let stat = fs::read_to_string("/proc/stat").unwrap_or_default();
    let numbers: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|n| n.parse().ok())
        .collect();
    let total: u64 = numbers.iter().sum();
    let idle = numbers.get(3).copied().unwrap_or(0) + numbers.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

/// Where the CPU went during a run, in core-seconds.
#[derive(Default)]
struct CpuSplit {
    anteroom: f64,
    postgres: f64,
    load_generator: f64,
    machine_busy: f64,
    machine_total: f64,
}

struct CpuMeter {
    servers: Vec<u32>,
    postgres_port: Option<u16>,
    start: (u64, u64, u64, (u64, u64)),
}

impl CpuMeter {
    fn start(servers: &[u32], postgres_port: Option<u16>) -> Self {
        let own = proc_stat(std::process::id()).map_or(0, |(_, t)| t);
        Self {
            servers: servers.to_vec(),
            postgres_port,
            start: (
                servers
                    .iter()
                    .map(|p| proc_stat(*p).map_or(0, |(_, t)| t))
                    .sum(),
                postgres_ticks(postgres_port),
                own,
                machine_ticks(),
            ),
        }
    }

    fn stop(&self) -> CpuSplit {
        let hz = clock_ticks_per_second();
        let servers: u64 = self
            .servers
            .iter()
            .map(|p| proc_stat(*p).map_or(0, |(_, t)| t))
            .sum();
        let own = proc_stat(std::process::id()).map_or(0, |(_, t)| t);
        let (busy, total) = machine_ticks();
        let secs = |a: u64, b: u64| a.saturating_sub(b) as f64 / hz;
        let cores = thread::available_parallelism().map_or(1, usize::from) as f64;
        CpuSplit {
            anteroom: secs(servers, self.start.0),
            postgres: secs(postgres_ticks(self.postgres_port), self.start.1),
            load_generator: secs(own, self.start.2),
            machine_busy: secs(busy, self.start.3.0) / cores,
            machine_total: secs(total, self.start.3.1) / cores,
        }
    }
}

impl CpuSplit {
    fn describe(&self, requests: u64) -> String {
        let per = |s: f64| {
            if requests == 0 {
                0.0
            } else {
                s * 1e6 / requests as f64
            }
        };
        format!(
            "CPU: anteroom {:.1} s ({:.0} µs/request), postgres {:.1} s ({:.0} µs/request), load generator {:.1} s; machine {:.0} % busy",
            self.anteroom,
            per(self.anteroom),
            self.postgres,
            per(self.postgres),
            self.load_generator,
            if self.machine_total > 0.0 {
                100.0 * self.machine_busy / self.machine_total
            } else {
                0.0
            }
        )
    }
}

/// What one booking run did.
struct BookRun {
    created: u64,
    statuses: BTreeMap<u16, u64>,
    first_refusal: String,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu: CpuSplit,
    peak_rss: Vec<u64>,
}

impl BookRun {
    fn per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.created as f64 / self.seconds
        } else {
            0.0
        }
    }

    fn refusals(&self) -> u64 {
        self.statuses
            .iter()
            .filter(|(s, _)| **s != 201)
            .map(|(_, n)| n)
            .sum()
    }
}

/// One request of a booking run: the practice and its JSON body.
struct Booking {
    practice: usize,
    body: String,
}

/// Read one HTTP/1.1 response: (status, body, the server will close the connection).
fn read_response(reader: &mut BufReader<TcpStream>) -> Result<(u16, Vec<u8>, bool), String> {
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .map_err(|e| format!("reading a response: {e}"))?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("not an HTTP response: {line:?}"))?;
    let (mut length, mut chunked, mut close) = (0usize, false, false);
    loop {
        line.clear();
        reader
            .read_line(&mut line)
            .map_err(|e| format!("reading a response: {e}"))?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse().unwrap_or(0),
                "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
                "connection" => close = value.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader
                .read_line(&mut line)
                .map_err(|e| format!("reading a chunk: {e}"))?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)
                .map_err(|_| format!("bad chunk size {line:?}"))?;
            let mut chunk = vec![0; size + 2];
            reader
                .read_exact(&mut chunk)
                .map_err(|e| format!("reading a chunk: {e}"))?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(length, 0);
        reader
            .read_exact(&mut body)
            .map_err(|e| format!("reading a body: {e}"))?;
    }
    Ok((status, body, close))
}

/// Post `bookings` from `BOOK_CONNECTIONS` keep-alive connections (connection `c` to server
/// `c % servers.len()`), each taking the next booking of the list, for `BOOK_SECONDS` or
/// until the list is done.
fn book(
    servers: &[(u32, SocketAddr)],
    postgres_port: Option<u16>,
    bookings: Vec<Booking>,
) -> Result<BookRun, String> {
    let bookings = Arc::new(bookings);
    let next = Arc::new(AtomicUsize::new(0));
    let pids: Vec<u32> = servers.iter().map(|s| s.0).collect();
    println!(
        "bench: booking: {} distinct free times queued, {BOOK_CONNECTIONS} connections over {} serve process(es), {BOOK_SECONDS} s",
        bookings.len(),
        servers.len()
    );
    let meter = CpuMeter::start(&pids, postgres_port);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(BOOK_SECONDS);
    let workers: Vec<_> = (0..BOOK_CONNECTIONS)
        .map(|c| {
            let addr = servers[c % servers.len()].1;
            let (bookings, next) = (Arc::clone(&bookings), Arc::clone(&next));
            thread::spawn(move || -> Result<_, String> {
                let mut latencies = Vec::new();
                let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
                let mut first_refusal = String::new();
                let mut last = started;
                let mut conn: Option<(TcpStream, BufReader<TcpStream>)> = None;
                while Instant::now() < deadline {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(booking) = bookings.get(i) else {
                        break;
                    };
                    if conn.is_none() {
                        let stream = TcpStream::connect(addr)
                            .map_err(|e| format!("connect {addr}: {e}"))?;
                        let _ = stream.set_nodelay(true);
                        let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                        let reader = BufReader::new(
                            stream.try_clone().map_err(|e| format!("clone: {e}"))?,
                        );
                        conn = Some((stream, reader));
                    }
                    let Some((stream, reader)) = conn.as_mut() else {
                        break;
                    };
                    let request = format!(
                        "POST /api/v1/bookings HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nIdempotency-Key: bench-{i}\r\nContent-Length: {}\r\n\r\n{}",
                        host_header(booking.practice, addr),
                        booking.body.len(),
                        booking.body
                    );
                    let sent = Instant::now();
                    stream
                        .write_all(request.as_bytes())
                        .map_err(|e| format!("POST to {addr}: {e}"))?;
                    let (status, body, close) = read_response(reader)?;
                    last = Instant::now();
                    latencies.push((last - sent).as_micros() as u64);
                    *statuses.entry(status).or_default() += 1;
                    if status != 201 && first_refusal.is_empty() {
                        first_refusal = format!(
                            "{status} {}",
                            String::from_utf8_lossy(&body).chars().take(300).collect::<String>()
                        );
                    }
                    if close {
                        conn = None;
                    }
                }
                Ok((latencies, statuses, first_refusal, last))
            })
        })
        .collect();
    let mut peak_rss = vec![0u64; pids.len()];
    while !workers.iter().all(|w| w.is_finished()) {
        for (peak, pid) in peak_rss.iter_mut().zip(&pids) {
            *peak = (*peak).max(proc_status_kb(*pid, "VmRSS").unwrap_or(0) * 1024);
        }
        thread::sleep(Duration::from_millis(100));
    }
    let cpu = meter.stop();
    let mut latencies = Vec::new();
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    let mut first_refusal = String::new();
    let mut end = started;
    for worker in workers {
        let (l, s, f, last) = worker
            .join()
            .map_err(|_| "a booking thread panicked".to_owned())??;
        latencies.extend(l);
        for (status, n) in s {
            *statuses.entry(status).or_default() += n;
        }
        if first_refusal.is_empty() {
            first_refusal = f;
        }
        end = end.max(last);
    }
    latencies.sort_unstable();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |us| *us as f64 / 1000.0)
    };
    let run = BookRun {
        created: statuses.get(&201).copied().unwrap_or(0),
        seconds: (end - started).as_secs_f64(),
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        statuses,
        first_refusal,
        cpu,
        peak_rss,
    };
    println!(
        "bench: booking: {} created in {:.2} s = {:.0}/s; p50 {:.2} ms, p99 {:.2} ms; statuses {:?}",
        run.created,
        run.seconds,
        run.per_second(),
        run.p50_ms,
        run.p99_ms,
        run.statuses
    );
    if !run.first_refusal.is_empty() {
        println!("bench: booking: first refusal: {}", run.first_refusal);
    }
    println!(
        "bench: booking: {}",
        run.cpu.describe(run.statuses.values().sum::<u64>())
    );
    Ok(run)
}

/// The free times of `practices` practices, interleaved (one of each in turn), as bookings.
fn bookings_for(addr: SocketAddr, practices: usize) -> Result<Vec<Booking>, String> {
    let need = BOOK_SLOTS.div_ceil(practices);
    let mut per_practice = Vec::new();
    let started = Instant::now();
    for n in 0..practices {
        per_practice.push(free_times(addr, n, need)?);
    }
    let locations: std::collections::BTreeSet<&str> = per_practice
        .iter()
        .flatten()
        .map(|(_, l)| l.as_str())
        .collect();
    let days: std::collections::BTreeSet<&str> = per_practice
        .iter()
        .flatten()
        .map(|(s, _)| s.get(..10).unwrap_or_default())
        .collect();
    println!(
        "bench: asked availability of {practices} practice(s) in {:.1} s: {} free times, {} days, locations {:?}",
        started.elapsed().as_secs_f64(),
        per_practice.iter().map(Vec::len).sum::<usize>(),
        days.len(),
        locations
    );
    let mut bookings = Vec::new();
    for i in 0..need {
        for (n, slots) in per_practice.iter().enumerate() {
            if let Some((start, location)) = slots.get(i) {
                let k = bookings.len();
                bookings.push(Booking {
                    practice: n,
                    body: format!(
                        "{{\"type\":\"consultation\",\"location\":\"{location}\",\"start\":\"{start}\",\"name\":\"Bench Visitor\",\"email\":\"visitor-{k}@example.com\",\"consent\":true}}"
                    ),
                });
            }
        }
    }
    Ok(bookings)
}

/// A wrk script sending `GET wrk.path` with the `Host` rotating over `hosts`.
fn rotating_hosts_script(dir: &Path, name: &str, hosts: &[String]) -> Result<PathBuf, String> {
    let list = hosts
        .iter()
        .map(|h| format!("\"{h}\""))
        .collect::<Vec<_>>()
        .join(",\n");
    let script = format!(
        "local hosts = {{\n{list}\n}}\nlocal n = 0\nfunction request()\n  n = n + 1\n  wrk.headers[\"Host\"] = hosts[n % #hosts + 1]\n  return wrk.format()\nend\n"
    );
    let path = dir.join(format!("{name}.lua"));
    fs::write(&path, script).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// `wrk` on `path` with the `Host` rotating over practices `0..practices`.
fn wrk_rotating(
    wrk: &Path,
    dir: &Path,
    addr: SocketAddr,
    pid: u32,
    path: &str,
    practices: usize,
    postgres_port: Option<u16>,
) -> Result<(LoadRun, CpuSplit), String> {
    let hosts: Vec<String> = (0..practices).map(|n| host_header(n, addr)).collect();
    let script = rotating_hosts_script(dir, &format!("hosts-{practices}-{}", addr.port()), &hosts)?;
    let script = script.display().to_string();
    let mut args = API_WRK_ARGS.to_vec();
    args.extend(["-s", &script]);
    let meter = CpuMeter::start(&[pid], postgres_port);
    let run = load(wrk, &args, &format!("http://{addr}{path}"), &[], pid, true)?;
    let cpu = meter.stop();
    println!("bench: {}", cpu.describe(run.wrk.requests));
    Ok((run, cpu))
}

/// PostgreSQL's own counters for the database at `url`: commits, rollbacks, rows written,
/// rows read, WAL syncs (cluster-wide), WAL bytes (cluster-wide).
fn pg_counters(url: &str) -> Option<[f64; 6]> {
    let output = Command::new(PSQL)
        .args([url, "-X", "-A", "-t", "-c"])
        .arg(
            "select d.xact_commit, d.xact_rollback, d.tup_inserted + d.tup_updated + d.tup_deleted, \
             d.tup_fetched + d.tup_returned, w.wal_sync, w.wal_bytes \
             from pg_stat_database d, pg_stat_wal w where d.datname = current_database()",
        )
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let numbers: Vec<f64> = text
        .trim()
        .split('|')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    numbers.try_into().ok()
}

/// The lines `psql` prints for `sql` (nothing if it fails).
fn psql_lines(url: &str, sql: &str) -> Vec<String> {
    Command::new(PSQL)
        .args([url, "-X", "-A", "-t", "-c", sql])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "MISS" }
}

fn hwm(server: &Server) -> u64 {
    proc_status_kb(server.pid(), "VmHWM").unwrap_or(0) * 1024
}

/// Availability: req/s, p99 ms, non-2xx answers, free times in the answer.
type AvailabilityFigures = (f64, f64, u64, usize);
/// GET /robots.txt: req/s, p99 ms, anteroom + PostgreSQL CPU µs per request, peak RSS of the two processes.
type LookupFigures = (f64, f64, f64, u64, u64);

/// Figures of one engine's run, for the table.
#[derive(Default)]
struct EngineFigures {
    availability: Option<AvailabilityFigures>,
    book_one: Option<(f64, f64, u64, u64)>,
    book_many: Option<(f64, f64, u64, u64)>,
}

pub(super) fn hosted() -> Result<(), String> {
    let root = workspace_root()?;
    let target_dir = target_dir(&root);
    let wrk = ensure_wrk()?;
    print_machine();
    let commit = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(&root)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let load_avg = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "bench: commit {commit}; load average before: {}",
        load_avg.trim()
    );
    let binary = build_release(&root, &target_dir)?;
    let tmp = TempDir::new("anteroom-bench-hosted")?;
    let demo = root.join(DEMO_PRACTICE);
    let capacity = root.join(CAPACITY_PRACTICE);
    let days = days_since_epoch();
    let availability_path = format!(
        "/api/v1/availability?type=consultation&from={}&to={}",
        civil_date(days),
        civil_date(days + 27)
    );
    let mut lines: Vec<String> = Vec::new();

    // (a) availability, one serve process, one practice (demo).
    let availability = |deployment: &Deployment,
                        lines: &mut Vec<String>,
                        lookup: bool|
     -> Result<(AvailabilityFigures, Option<(LoadRun, CpuSplit)>), String> {
        create_practices(&binary, deployment, 0..1, &demo)?;
        let (server, addr) = serve(&binary, deployment, "anteroom (availability)", tmp.path())?;
        let (status, body) = get(addr, 0, &availability_path)?;
        let slots = count(&body, b"\"start\"");
        if status != 200 || slots == 0 {
            return Err(format!(
                "GET {availability_path} answered {status} with {slots} times"
            ));
        }
        println!(
            "bench: {availability_path}: {slots} free times, {} bytes",
            body.len()
        );
        let host = format!("Host: {}", host_header(0, addr));
        let mut args = API_WRK_ARGS.to_vec();
        args.extend(["-H", &host]);
        let meter = CpuMeter::start(&[server.pid()], deployment.postgres_port);
        let run = load(
            &wrk,
            &args,
            &format!("http://{addr}{availability_path}"),
            &[],
            server.pid(),
            true,
        )?;
        let cpu = meter.stop();
        println!("bench: {}", cpu.describe(run.wrk.requests));
        lines.push(format!(
            "{}: availability {:.0} req/s, p99 {:.2} ms, non-2xx {}, {slots} times; {}",
            deployment.label,
            run.wrk.requests_per_sec,
            run.wrk.p99_ms,
            run.wrk.non_2xx,
            cpu.describe(run.wrk.requests)
        ));
        let lookup_run = if lookup {
            Some(wrk_rotating(
                &wrk,
                tmp.path(),
                addr,
                server.pid(),
                "/robots.txt",
                1,
                deployment.postgres_port,
            )?)
        } else {
            None
        };
        lines.push(format!(
            "{}: availability server peak RSS {}",
            deployment.label,
            mb(hwm(&server))
        ));
        drop(server);
        Ok((
            (
                run.wrk.requests_per_sec,
                run.wrk.p99_ms,
                run.wrk.non_2xx,
                slots,
            ),
            lookup_run,
        ))
    };

    // (b) bookings on `practices` practices of `deployment`, over `processes` serve processes.
    let booking = |deployment: &Deployment,
                   lines: &mut Vec<String>,
                   processes: usize,
                   practices: usize,
                   created_already: usize|
     -> Result<(f64, f64, u64, u64), String> {
        if created_already < practices {
            create_practices(&binary, deployment, created_already..practices, &capacity)?;
        }
        let database_url = deployment
            .postgres_port
            .and_then(|_| deployment.data.get(1).cloned());
        let before = database_url.as_deref().and_then(pg_counters);
        let mut servers = Vec::new();
        for _ in 0..processes {
            servers.push(serve(
                &binary,
                deployment,
                "anteroom (bookings)",
                tmp.path(),
            )?);
        }
        let statements = std::env::var_os("ANTEROOM_BENCH_STATEMENTS").is_some();
        if let (true, Some(url)) = (statements, database_url.as_deref()) {
            psql_lines(
                url,
                "create extension if not exists pg_stat_statements; select pg_stat_statements_reset()",
            );
        }
        let bookings = bookings_for(servers[0].1, practices)?;
        let targets: Vec<(u32, SocketAddr)> = servers.iter().map(|(s, a)| (s.pid(), *a)).collect();
        let run = book(&targets, deployment.postgres_port, bookings)?;
        if let (true, Some(url)) = (statements, database_url.as_deref()) {
            println!(
                "bench: the statements that took longest (exec ms, plan ms, calls, rows, blocks hit):"
            );
            for line in psql_lines(
                url,
                "select round(total_exec_time::numeric), round(total_plan_time::numeric), calls, \
                 rows, shared_blks_hit, left(regexp_replace(query, '\\s+', ' ', 'g'), 150) \
                 from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database()) \
                 order by total_exec_time + total_plan_time desc limit 15",
            ) {
                println!("bench:   {line}");
            }
        }
        let hwms: Vec<String> = servers.iter().map(|(s, _)| mb(hwm(s))).collect();
        lines.push(format!(
            "{}: bookings on {practices} practice(s), {processes} process(es): {} created in {:.2} s = {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, statuses {:?}{}; peak RSS sampled {:?}, VmHWM {:?}; {}",
            deployment.label,
            run.created,
            run.seconds,
            run.per_second(),
            run.p50_ms,
            run.p99_ms,
            run.statuses,
            if run.first_refusal.is_empty() {
                String::new()
            } else {
                format!(" (first refusal: {})", run.first_refusal)
            },
            run.peak_rss.iter().map(|b| mb(*b)).collect::<Vec<_>>(),
            hwms,
            run.cpu.describe(run.statuses.values().sum::<u64>())
        ));
        drop(servers);
        // The servers are gone, so their backends have reported their statistics.
        thread::sleep(Duration::from_millis(1500));
        let after = database_url.as_deref().and_then(pg_counters);
        if let (Some(before), Some(after)) = (before, after) {
            let requests = run.statuses.values().sum::<u64>().max(1) as f64;
            let per = |i: usize| (after[i] - before[i]) / requests;
            let line = format!(
                "{}: PostgreSQL per booking request (pg_stat_database, pg_stat_wal): {:.2} commits, {:.3} rollbacks, {:.1} rows written, {:.0} rows read, {:.3} WAL syncs, {:.0} WAL bytes",
                deployment.label,
                per(0),
                per(1),
                per(2),
                per(3),
                per(4),
                per(5)
            );
            println!("bench: {line}");
            lines.push(line);
        }
        Ok((run.per_second(), run.p99_ms, run.created, run.refusals()))
    };

    let mut pg = EngineFigures::default();
    let mut sq = EngineFigures::default();
    let mut lookup: Option<[LookupFigures; 2]> = None;
    let key = tmp.path().join("host.key");

    // ANTEROOM_BENCH_ONLY=bookings-one-practice: only (b) on one PostgreSQL practice, for
    // profiling that path (the summary table is not printed).
    let mut lookup_one = None;
    let only_one_practice =
        std::env::var("ANTEROOM_BENCH_ONLY").is_ok_and(|v| v == "bookings-one-practice");
    let pg_result = crate::postgres::with_postgres(|url| {
        if !only_one_practice {
            let a = Deployment::postgres(url, "availability", &key)?;
            let (figures, one) = availability(&a, &mut lines, true)?;
            pg.availability = Some(figures);
            lookup_one = one;
        }
        let b1 = Deployment::postgres(url, "book1", &key)?;
        pg.book_one = Some(booking(&b1, &mut lines, 2, 1, 0)?);
        if only_one_practice {
            // Profiling the one-practice booking path: nothing else.
            return Ok(());
        }
        let many = Deployment::postgres(url, "many", &key)?;
        pg.book_many = Some(booking(&many, &mut lines, 2, 100, 0)?);

        // (c) 1,000 practices.
        let seconds = create_practices(&binary, &many, 100..1000, &capacity)?;
        lines.push(format!(
            "PostgreSQL: practices 100..1000 made with `practice create` ({CREATE_JOBS} at a time) in {seconds:.0} s"
        ));
        let first = serve(&binary, &many, "anteroom (1,000 practices)", tmp.path())?;
        let second = serve(&binary, &many, "anteroom (1,000 practices)", tmp.path())?;
        let (run, cpu) = wrk_rotating(
            &wrk,
            tmp.path(),
            first.1,
            first.0.pid(),
            "/robots.txt",
            1000,
            many.postgres_port,
        )?;
        // The second process gets the same load, so both peaks are under load.
        let _ = wrk_rotating(
            &wrk,
            tmp.path(),
            second.1,
            second.0.pid(),
            "/robots.txt",
            1000,
            many.postgres_port,
        )?;
        let peaks = [hwm(&first.0), hwm(&second.0)];
        lines.push(format!(
            "PostgreSQL: 1,000 practices, GET /robots.txt rotating over all hosts: {:.0} req/s, p99 {:.2} ms, non-2xx {}; VmHWM {} and {}",
            run.wrk.requests_per_sec,
            run.wrk.p99_ms,
            run.wrk.non_2xx,
            mb(peaks[0]),
            mb(peaks[1])
        ));
        if let Some((one_run, one_cpu)) = lookup_one.take() {
            lines.push(format!(
                "PostgreSQL: 1 practice, GET /robots.txt: {:.0} req/s, p99 {:.2} ms, non-2xx {}",
                one_run.wrk.requests_per_sec, one_run.wrk.p99_ms, one_run.wrk.non_2xx
            ));
            lookup = Some([
                (
                    one_run.wrk.requests_per_sec,
                    one_run.wrk.p99_ms,
                    (one_cpu.anteroom + one_cpu.postgres) * 1e6
                        / one_run.wrk.requests.max(1) as f64,
                    one_run.peak_rss,
                    0,
                ),
                (
                    run.wrk.requests_per_sec,
                    run.wrk.p99_ms,
                    (cpu.anteroom + cpu.postgres) * 1e6 / run.wrk.requests.max(1) as f64,
                    peaks[0],
                    peaks[1],
                ),
            ]);
        }
        Ok(())
    });
    if let Err(e) = &pg_result {
        println!("bench: the PostgreSQL part failed: {e}");
    }
    if only_one_practice {
        for line in &lines {
            println!("  {line}");
        }
        return pg_result;
    }

    // (d) SQLite.
    let sqlite_result = (|| -> Result<(), String> {
        let a = Deployment::sqlite(tmp.path(), "sqlite-availability");
        sq.availability = Some(availability(&a, &mut lines, false)?.0);
        let b1 = Deployment::sqlite(tmp.path(), "sqlite-book1");
        sq.book_one = Some(booking(&b1, &mut lines, 1, 1, 0)?);
        Ok(())
    })();
    if let Err(e) = &sqlite_result {
        println!("bench: the SQLite part failed: {e}");
    }

    // Report.
    println!(
        "\nhosted: commit {commit}; load average before the run: {}",
        load_avg.trim()
    );
    for line in &lines {
        println!("  {line}");
    }
    println!();
    println!("| metric | PostgreSQL | SQLite | target | result (PostgreSQL) |");
    println!("|---|---|---|---|---|");
    let avail = |f: &EngineFigures| {
        f.availability.map_or("—".into(), |(rps, p99, non2xx, _)| {
            format!("{rps:.0} req/s, p99 {p99:.2} ms, non-2xx {non2xx}")
        })
    };
    let pg_avail_ok = pg.availability.is_some_and(|(rps, p99, n, _)| {
        rps >= TARGET_AVAILABILITY_RPS && p99 < TARGET_P99_MS && n == 0
    });
    println!(
        "| (a) GET availability, 4 weeks, all locations, 32 conns | {} | {} | ≥ {TARGET_AVAILABILITY_RPS:.0} req/s, p99 < {TARGET_P99_MS:.0} ms | {} |",
        avail(&pg),
        avail(&sq),
        verdict(pg_avail_ok)
    );
    let books = |f: Option<(f64, f64, u64, u64)>| {
        f.map_or("—".into(), |(rate, p99, created, refused)| {
            format!("{rate:.0}/s ({created} × 201, {refused} refused), p99 {p99:.1} ms")
        })
    };
    println!(
        "| (b) bookings, 1 practice (PG: 2 processes; SQLite: 1) | {} | {} | ≥ {TARGET_BOOKINGS_PER_SEC:.0}/s | {} |",
        books(pg.book_one),
        books(sq.book_one),
        verdict(
            pg.book_one
                .is_some_and(|b| b.0 >= TARGET_BOOKINGS_PER_SEC && b.3 == 0)
        )
    );
    println!(
        "| (b) bookings, 100 practices, 2 processes | {} | — | more than on 1 | {} |",
        books(pg.book_many),
        verdict(
            pg.book_many
                .zip(pg.book_one)
                .is_some_and(|(many, one)| many.0 > one.0 && many.3 == 0)
        )
    );
    if let Some([one, thousand]) = lookup {
        let cost_cpu = thousand.2 - one.2;
        let cost_wall = 1e6 / thousand.0 - 1e6 / one.0;
        println!(
            "| (c) GET /robots.txt, 1 vs 1,000 practices | {:.0} vs {:.0} req/s, p99 {:.2} vs {:.2} ms | — | | |",
            one.0, thousand.0, one.1, thousand.1
        );
        println!(
            "| (c) lookup cost per request (anteroom + PostgreSQL CPU µs; wall µs at 2 cores) | {cost_cpu:+.1} µs CPU ({:.1} → {:.1}); {:+.1} µs per request of throughput | — | < {TARGET_LOOKUP_US:.0} µs | {} |",
            one.2,
            thousand.2,
            cost_wall,
            verdict(cost_cpu < TARGET_LOOKUP_US)
        );
        println!(
            "| (c) peak RSS (VmHWM), 1,000 practices, each process | {} and {} | — | < {} | {} |",
            mb(thousand.3),
            mb(thousand.4),
            mb(TARGET_RSS_BYTES),
            verdict(thousand.3 < TARGET_RSS_BYTES && thousand.4 < TARGET_RSS_BYTES)
        );
    }
    pg_result.and(sqlite_result)
}
