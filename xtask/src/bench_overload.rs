//! `cargo xtask bench overload`: ten times the site benchmark's load for a minute
//! (issue 15). The demo practice with its rate limits on takes 640 connections (the site
//! benchmark uses 64) of mixed requests: pages, an article, free times from the API and
//! bookings. The targets: no answer but 2xx/3xx, 409 (a time already booked), 429 or 503;
//! the server's memory flat over the minute; normal service within seconds of the load
//! stopping.

use std::{
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use super::{
    ARTICLE, DEMO_NOW, DEMO_PASSWORD, Server, TempDir, build_release, ensure_wrk, free_port,
    http_get, mb, print_machine, proc_status_kb, target_dir, wait_until_serving,
    without_anteroom_env, workspace_root,
};

const SCRIPT: &str = "bench/overload.lua";
const WRK_ARGS: [&str; 5] = ["-t2", "-c640", "-d60s", "--timeout", "10s"];
/// Memory at the end of the minute over memory ten seconds in: "flat" is at most this.
const FLAT_RATIO: f64 = 1.25;
/// Normal service again within this long of the load stopping.
const RECOVERY_TARGET: Duration = Duration::from_secs(5);

pub fn overload() -> Result<(), String> {
    let root = workspace_root()?;
    let target = target_dir(&root);
    let wrk = ensure_wrk()?;
    print_machine();
    let binary = build_release(&root, &target)?;
    let tmp = TempDir::new("anteroom-overload")?;
    let (mut server, addr) = start_demo(&binary, &tmp, &["--now", DEMO_NOW])?;
    let pid = server.pid();

    // Memory each second while the load runs.
    let samples = Arc::new(std::sync::Mutex::new(Vec::<(f64, u64)>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (samples, stop) = (samples.clone(), stop.clone());
        thread::spawn(move || {
            let start = Instant::now();
            while !stop.load(Ordering::SeqCst) {
                let rss = proc_status_kb(pid, "VmRSS").unwrap_or(0) * 1024;
                if let Ok(mut samples) = samples.lock() {
                    samples.push((start.elapsed().as_secs_f64(), rss));
                }
                thread::sleep(Duration::from_secs(1));
            }
        })
    };
    let idle = proc_status_kb(pid, "VmRSS").unwrap_or(0) * 1024;
    let url = format!("http://{addr}");
    println!("bench: $ wrk {} -s {SCRIPT} {url}", WRK_ARGS.join(" "));
    let output = Command::new(&wrk)
        .args(WRK_ARGS)
        .args(["-s", &root.join(SCRIPT).to_string_lossy()])
        .arg(&url)
        .output()
        .map_err(|e| format!("cannot run wrk: {e}"))?;
    let ended = Instant::now();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    print!("{text}");
    // Back to normal: a page and the API answer 200 again.
    let recovered = loop {
        let page = http_get(addr, ARTICLE, "").map(|r| r.status);
        let api = http_get(addr, "/api/v1/practice", "").map(|r| r.status);
        if page == Ok(200) && api == Ok(200) {
            break ended.elapsed();
        }
        if ended.elapsed() > Duration::from_secs(60) {
            return Err("the server did not serve normally within a minute of the load".into());
        }
        thread::sleep(Duration::from_millis(50));
    };
    stop.store(true, Ordering::SeqCst);
    let _ = sampler.join();
    server.stop();
    if !output.status.success() {
        return Err(format!(
            "wrk failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    report(
        &text,
        idle,
        &samples.lock().map(|s| s.clone()).unwrap_or_default(),
        recovered,
    )
}

/// The demo practice (rate limits on) in `tmp`, served by `binary` with `extra` options.
fn start_demo(
    binary: &std::path::Path,
    tmp: &TempDir,
    extra: &[&str],
) -> Result<(Server, std::net::SocketAddr), String> {
    let addr = free_port()?;
    let mut demo = Command::new(binary);
    demo.arg("demo")
        .args(["--listen", &addr.to_string()])
        .args(extra)
        .args(["--demo-password", DEMO_PASSWORD])
        .arg("--data-dir")
        .arg(tmp.path().join("data"));
    without_anteroom_env(&mut demo);
    let mut server = Server::start("anteroom", demo, &tmp.path().join("anteroom.log"))?;
    wait_until_serving(&mut server, addr, "/robots.txt", Duration::from_secs(60))?;
    Ok((server, addr))
}

fn report(
    wrk_out: &str,
    idle: u64,
    samples: &[(f64, u64)],
    recovered: Duration,
) -> Result<(), String> {
    let statuses = wrk_out
        .lines()
        .find_map(|l| l.strip_prefix("overload.lua: statuses="))
        .ok_or("overload.lua printed no statuses")?;
    let mut wrong = Vec::new();
    for part in statuses.split(',').filter(|p| !p.is_empty()) {
        let (status, _) = part.split_once(':').ok_or("a status without a count")?;
        let status: u16 = status.parse().map_err(|_| format!("status {status}"))?;
        if !(status < 400 || matches!(status, 409 | 429 | 503)) {
            wrong.push(part.to_owned());
        }
    }
    let socket_errors = wrk_out
        .lines()
        .find(|l| l.trim_start().starts_with("Socket errors"))
        .map(str::trim)
        .unwrap_or("Socket errors: none");
    let at = |second: f64| {
        samples
            .iter()
            .find(|(t, _)| *t >= second)
            .or(samples.last())
            .map_or(0, |(_, rss)| *rss)
    };
    let peak = samples.iter().map(|(_, rss)| *rss).max().unwrap_or(0);
    let (early, end) = (at(10.0), samples.last().map_or(0, |(_, rss)| *rss));
    let ratio = end as f64 / early.max(1) as f64;
    println!(
        "bench: overload: statuses {statuses}; {socket_errors}\n\
         bench: memory: idle {}, at 10 s {}, at 30 s {}, at the end {}, peak {} \
         (end / 10 s = {ratio:.2}, target <= {FLAT_RATIO})\n\
         bench: normal service {} ms after the load stopped (target < {} s)",
        mb(idle),
        mb(early),
        mb(at(30.0)),
        mb(end),
        mb(peak),
        recovered.as_millis(),
        RECOVERY_TARGET.as_secs()
    );
    let mut missed = Vec::new();
    if !wrong.is_empty() {
        missed.push(format!(
            "answers other than 2xx/3xx/409/429/503: {}",
            wrong.join(",")
        ));
    }
    if ratio > FLAT_RATIO {
        missed.push(format!("memory grew {ratio:.2}x over the minute"));
    }
    if recovered > RECOVERY_TARGET {
        missed.push(format!("normal service took {} ms", recovered.as_millis()));
    }
    if missed.is_empty() {
        Ok(())
    } else {
        Err(format!("overload: {}", missed.join("; ")))
    }
}

/// `cargo xtask soak [--minutes N]`: N minutes (30 unless told) of the mixed requests at the
/// site benchmark's 32 connections; each minute the server's memory, its open files and the
/// minute's latency, written to bench/RESULTS.md. The target: no growth after start-up (the
/// last minute's memory within 10% of the fifth's, open files within 10).
pub fn soak(args: &[String]) -> Result<(), String> {
    let minutes: u32 = match args {
        [] => 30,
        [flag, n] if flag == "--minutes" => n
            .parse()
            .ok()
            .filter(|n| *n >= 6)
            .ok_or("--minutes takes a whole number, at least 6")?,
        _ => return Err("usage: cargo xtask soak [--minutes N]".into()),
    };
    let root = workspace_root()?;
    let target = target_dir(&root);
    let wrk = ensure_wrk()?;
    print_machine();
    let binary = build_release(&root, &target)?;
    let tmp = TempDir::new("anteroom-soak")?;
    let (mut server, addr) = start_demo(&binary, &tmp, &[])?;
    let pid = server.pid();
    let script = root.join(SCRIPT).to_string_lossy().into_owned();
    let url = format!("http://{addr}");
    let mut rows = Vec::new();
    for minute in 1..=minutes {
        let output = Command::new(&wrk)
            .args(["-t2", "-c32", "-d60s", "--latency", "-s", &script, &url])
            .output()
            .map_err(|e| format!("cannot run wrk: {e}"))?;
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let run = super::parse_wrk(&text)?;
        let rss = proc_status_kb(pid, "VmRSS").unwrap_or(0) * 1024;
        let files = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count);
        let statuses = text
            .lines()
            .find_map(|l| l.strip_prefix("overload.lua: statuses="))
            .unwrap_or("")
            .to_owned();
        let row = format!(
            "| {minute:>3} | {:>8.0} | {:>7.2} | {:>8} | {files:>5} | {statuses} |",
            run.requests_per_sec,
            run.p99_ms,
            mb(rss),
        );
        println!("bench: soak {row}");
        rows.push((rss, files, row));
        if server.exited().is_some() {
            return Err(format!("the server stopped in minute {minute}"));
        }
    }
    server.stop();
    let (settled_rss, settled_files, _) = &rows[4];
    let (end_rss, end_files, _) = &rows[rows.len() - 1];
    let growth = *end_rss as f64 / (*settled_rss).max(1) as f64;
    let flat = growth <= 1.10 && *end_files <= settled_files + 10;
    let table: Vec<&str> = rows.iter().map(|(_, _, row)| row.as_str()).collect();
    let when = super::utc_now_text();
    let entry = format!(
        "\n## {when} — `cargo xtask soak --minutes {minutes}`\n\n\
         - Machine: {}.\n\
         - The demo practice (rate limits on) under `wrk -t2 -c32 -d60s -s {SCRIPT}` minute \
         after minute: pages, an article, free times and bookings (409 once a time is taken, \
         429 past the booking limit). Memory and open files read from /proc after each minute.\n\n\
         | min | req/s | p99 ms | RSS | files | statuses |\n\
         |----:|------:|-------:|----:|------:|----------|\n{}\n\n\
         Memory from minute 5 to the end: x{growth:.2} (target <= 1.10); open files {} then {} \
         (target: within 10). {}\n",
        super::machine_line(),
        table.join("\n"),
        settled_files,
        end_files,
        if flat {
            "No growth after start-up."
        } else {
            "GROWTH: see above."
        }
    );
    let results = root.join("bench").join("RESULTS.md");
    let mut text = std::fs::read_to_string(&results).unwrap_or_default();
    text.push_str(&entry);
    std::fs::write(&results, text)
        .map_err(|e| format!("cannot write {}: {e}", results.display()))?;
    println!("bench: soak written to bench/RESULTS.md");
    if flat {
        Ok(())
    } else {
        Err(format!(
            "soak: memory x{growth:.2}, open files {settled_files} -> {end_files}"
        ))
    }
}
