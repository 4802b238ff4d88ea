//! `cargo xtask bench [NAME...]`: load benchmarks, with the standard library only.
//!
//! `site` builds the release binary, starts the demo practice, and loads one article page
//! with `wrk`, next to nginx serving the very same bytes as a static file, so the numbers
//! say how far the app is from "just sending a file" on this machine. Missing a target is
//! reported, not an error: only a benchmark that could not run makes this fail.

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

type Bench = fn() -> Result<(), String>;

/// Every benchmark, in the order `cargo xtask bench` runs them.
const BENCHES: &[(&str, &str, Bench)] = &[(
    "site",
    "one public article page under load: anteroom against nginx serving the same bytes",
    site,
)];

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

    // The release binary.
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    run_shown(
        Command::new(cargo)
            .args(["build", "--release", "-p", "anteroom"])
            .current_dir(&root)
            .env("CARGO_TARGET_DIR", &target_dir),
    )?;
    let binary = target_dir.join("release").join("anteroom");
    if !binary.is_file() {
        return Err(format!(
            "the build succeeded but {} is not there",
            binary.display()
        ));
    }

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
    for (key, _) in env::vars_os() {
        if key.to_string_lossy().starts_with("ANTEROOM_") {
            app_cmd.env_remove(key);
        }
    }
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
    let www = tmp.path().join("www");
    let file = www.join(ARTICLE.trim_start_matches('/'));
    if let Some(dir) = file.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    fs::write(&file, &page.body).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
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
             location / {{ default_type text/html; }}\n  }}\n}}\n"
        ),
    )
    .map_err(|e| format!("cannot write {}: {e}", conf.display()))?;
    let mut nginx_cmd = Command::new(&tools.nginx);
    nginx_cmd
        .arg("-p")
        .arg(tmp.path())
        .arg("-e")
        .arg(tmp.path().join("error.log"))
        .arg("-c")
        .arg(&conf);
    let mut nginx = Server::start("nginx", nginx_cmd, &tmp.path().join("nginx.log"))?;
    wait_until_serving(&mut nginx, nginx_addr, ARTICLE, Duration::from_secs(20))?;
    let copy = http_get(nginx_addr, ARTICLE, "")?;
    if copy.body != page.body {
        return Err("nginx does not serve the same bytes as anteroom".into());
    }

    // Load.
    let app_run = load(
        &tools.wrk,
        &format!("http://{app_addr}{ARTICLE}"),
        app.pid(),
        true,
    )?;
    let peak_hwm = proc_status_kb(app.pid(), "VmHWM").map_or(0, |kb| kb * 1024);
    let nginx_run = load(
        &tools.wrk,
        &format!("http://{nginx_addr}{ARTICLE}"),
        nginx.pid(),
        false,
    )?;

    app.stop();
    nginx.stop();

    // Report.
    let ratio = if nginx_run.wrk.requests_per_sec > 0.0 {
        app_run.wrk.requests_per_sec / nginx_run.wrk.requests_per_sec
    } else {
        0.0
    };
    let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
    let rows: Vec<[String; 4]> = vec![
        [
            "anteroom throughput".into(),
            format!("{:.0} req/s", app_run.wrk.requests_per_sec),
            "-".into(),
            "".into(),
        ],
        [
            "nginx throughput (same bytes)".into(),
            format!("{:.0} req/s", nginx_run.wrk.requests_per_sec),
            "-".into(),
            "".into(),
        ],
        [
            "anteroom / nginx".into(),
            format!("{ratio:.2}"),
            format!(">= {TARGET_RATIO:.2}"),
            verdict(ratio >= TARGET_RATIO).into(),
        ],
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
    ];
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

/// The workspace's root folder (holding `crates/anteroom`).
fn workspace_root() -> Result<PathBuf, String> {
    let mut candidates: Vec<PathBuf> = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
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

struct Tools {
    wrk: PathBuf,
    nginx: PathBuf,
}

/// Find `wrk` and `nginx`, installing them with apt-get when they are missing.
fn ensure_tools() -> Result<Tools, String> {
    let missing: Vec<&str> = ["wrk", "nginx"]
        .into_iter()
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
    let wrk = find_program("wrk").ok_or("wrk is still not on the PATH after installing it")?;
    let nginx =
        find_program("nginx").ok_or("nginx is still not on the PATH after installing it")?;
    println!("bench: using {} and {}", wrk.display(), nginx.display());
    Ok(Tools { wrk, nginx })
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
    println!("bench: machine: {cpus} CPUs ({model}), {memory} memory");
}

/// A loopback address with a port nobody is listening on (right now).
fn free_port() -> Result<SocketAddr, String> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot find a free port: {e}"))?;
    listener
        .local_addr()
        .map_err(|e| format!("cannot find a free port: {e}"))
}

/// A folder under the system's temporary folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> Result<Self, String> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = env::temp_dir().join(format!("{prefix}-{}-{nanos:09}", std::process::id()));
        fs::create_dir(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        let _ = fs::set_permissions(&path, fs::Permissions::from_mode(0o755));
        Ok(Self(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A server we started: stopped by its PID (SIGTERM, then SIGKILL) when done or dropped.
struct Server {
    name: &'static str,
    child: Option<Child>,
    pid: u32,
    log: PathBuf,
}

impl Server {
    fn start(name: &'static str, mut cmd: Command, log: &Path) -> Result<Self, String> {
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
    fn stop(&mut self) {
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
fn wait_until_serving(
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
    let fail = |e: std::io::Error| format!("GET http://{addr}{path}: {e}");
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(fail)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(fail)?;
    stream
        .set_write_timeout(Some(Duration::from_secs(10)))
        .map_err(fail)?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: anteroom-xtask-bench\r\n{extra}Connection: close\r\n\r\n")
        .map_err(fail)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(fail)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("GET http://{addr}{path}: no complete response"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("GET http://{addr}{path}: not an HTTP response"))?;
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
            .ok_or_else(|| format!("GET http://{addr}{path}: bad chunked body"))?;
    } else if let Some(length) = response
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        if response.body.len() < length {
            return Err(format!(
                "GET http://{addr}{path}: body cut short ({} of {length} bytes)",
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

/// Run wrk against `url`, watching the server `pid` (its memory when `sample_rss`).
fn load(wrk: &Path, url: &str, pid: u32, sample_rss: bool) -> Result<LoadRun, String> {
    println!("bench: $ wrk {} {url}", WRK_ARGS.join(" "));
    let hz = clock_ticks_per_second();
    let cpu_before = tree_cpu_ticks(pid);
    let mut child = Command::new(wrk)
        .args(WRK_ARGS)
        .arg(url)
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
    fn dechunks() {
        assert_eq!(
            dechunk(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n").expect("chunked"),
            b"abcde"
        );
    }
}
