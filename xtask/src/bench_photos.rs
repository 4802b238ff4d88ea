//! `cargo xtask bench photos` (issue 16): a 12-megapixel phone photo (4.7 MB, with GPS)
//! uploaded as the demo's portrait through the back office, three times: how long each
//! upload takes, answer included, and the server's peak memory (VmHWM) while it does them;
//! then one of the portrait's variants served under load, against nginx serving the same
//! file.

use std::{
    fs,
    net::SocketAddr,
    process::Command,
    time::{Duration, Instant},
};

use super::{
    DEMO_PASSWORD, Server, TempDir, WRK_ARGS, against_nginx, build_release, ensure_tools,
    free_port, http_get, http_request, load, mb, print_machine, print_table, proc_status_kb,
    run_shown, serve_with_nginx, target_dir, wait_until_serving, without_anteroom_env,
    workspace_root,
};

/// Processing a 12-megapixel photo, below.
const TARGET_UPLOAD: Duration = Duration::from_secs(2);
/// The server's peak resident memory, below (bytes; MB = 1,000,000 bytes).
const TARGET_PEAK_BYTES: u64 = 150_000_000;
const BOUNDARY: &str = "----AnteroomBenchBoundary";

pub fn photos() -> Result<(), String> {
    let root = workspace_root()?;
    let target = target_dir(&root);
    let tools = ensure_tools()?;
    print_machine();
    let binary = build_release(&root, &target)?;
    let mut example = Command::new(env!("CARGO"));
    example
        .current_dir(&root)
        .args(["build", "--release", "-p", "anteroom-images"])
        .args(["--features", "testing", "--example", "phone_photo"])
        .env("CARGO_TARGET_DIR", &target);
    run_shown(&mut example)?;
    let tmp = TempDir::new("anteroom-bench-photos")?;
    let photo_path = tmp.path().join("phone.jpg");
    run_shown(Command::new(target.join("release/examples/phone_photo")).arg(&photo_path))?;
    let photo = fs::read(&photo_path).map_err(|e| format!("cannot read the photo: {e}"))?;

    let addr = free_port()?;
    let mut demo = Command::new(&binary);
    demo.arg("demo")
        .args(["--listen", &addr.to_string()])
        .args(["--demo-password", DEMO_PASSWORD])
        .arg("--data-dir")
        .arg(tmp.path().join("data"));
    without_anteroom_env(&mut demo);
    let mut server = Server::start("anteroom", demo, &tmp.path().join("anteroom.log"))?;
    wait_until_serving(&mut server, addr, "/robots.txt", Duration::from_secs(60))?;
    let cookie = sign_in(addr)?;
    let before = proc_status_kb(server.pid(), "VmHWM").unwrap_or(0) * 1024;

    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"IMG_0001.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&photo);
    body.extend_from_slice(
        format!("\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"alt\"\r\n\r\nA bench photo\r\n--{BOUNDARY}--\r\n").as_bytes(),
    );
    let headers = format!(
        "Cookie: {cookie}\r\nOrigin: http://{addr}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
    );
    let mut times = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let answer = http_request(
            addr,
            "POST",
            "/office/settings/photos/portrait",
            &headers,
            &body,
        )?;
        times.push(started.elapsed());
        if answer.status != 303 {
            return Err(format!(
                "the upload answered {} instead of 303: {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            ));
        }
    }
    let peak = proc_status_kb(server.pid(), "VmHWM").unwrap_or(0) * 1024;

    // One variant of the new portrait, as a phone's browser asks for it.
    let home = http_get(addr, "/", "")?;
    let html = String::from_utf8_lossy(&home.body).into_owned();
    let variant = html
        .split("/media/")
        .skip(1)
        .filter_map(|rest| rest.split([' ', '"', ',']).next())
        .find(|name| name.ends_with("-640.webp"))
        .map(|name| format!("/media/{name}"))
        .ok_or("the home page shows no 640-pixel WebP of the portrait")?;
    let served = http_get(addr, &variant, "")?;
    if served.status != 200 {
        return Err(format!("GET {variant} answered {}", served.status));
    }
    let (mut nginx, nginx_addr) =
        serve_with_nginx(&tools.nginx, &tmp, &variant, &served.body, "image/webp")?;
    let app_run = load(
        &tools.wrk,
        &WRK_ARGS,
        &format!("http://{addr}{variant}"),
        &[],
        server.pid(),
        true,
    )?;
    let nginx_run = load(
        &tools.wrk,
        &WRK_ARGS,
        &format!("http://{nginx_addr}{variant}"),
        &[],
        nginx.pid(),
        false,
    )?;
    server.stop();
    nginx.stop();

    let slowest = times.iter().max().copied().unwrap_or_default();
    let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
    let seconds = |d: &Duration| format!("{:.2} s", d.as_secs_f64());
    let mut rows: Vec<[String; 4]> = vec![
        [
            format!(
                "upload of a 12 MP photo ({:.1} MB), slowest of 3",
                photo.len() as f64 / 1e6
            ),
            seconds(&slowest),
            format!("< {}", seconds(&TARGET_UPLOAD)),
            verdict(slowest < TARGET_UPLOAD).into(),
        ],
        [
            "server peak RSS (VmHWM) after the uploads".into(),
            mb(peak),
            format!("< {}", mb(TARGET_PEAK_BYTES)),
            verdict(peak > 0 && peak < TARGET_PEAK_BYTES).into(),
        ],
    ];
    rows.extend(against_nginx(
        format!("serving {} ({} bytes)", variant, served.body.len()),
        app_run.wrk.requests_per_sec,
        "nginx serving the same file",
        nginx_run.wrk.requests_per_sec,
    ));
    println!();
    print_table(&["metric", "value", "target", "result"], &rows);
    println!();
    println!(
        "  each upload: {}; server VmHWM before the uploads {} (start-up: the demo's drawings, the password hash)",
        times.iter().map(seconds).collect::<Vec<_>>().join(", "),
        mb(before)
    );
    println!(
        "  p99 latency serving the variant: anteroom {:.2} ms, nginx {:.2} ms",
        app_run.wrk.p99_ms, nginx_run.wrk.p99_ms
    );
    for (name, run) in [("anteroom", &app_run), ("nginx", &nginx_run)] {
        if run.wrk.non_2xx > 0 || run.wrk.requests == 0 {
            return Err(format!(
                "the photo benchmark is not valid: {name} answered {} of {} requests with a non-2xx status",
                run.wrk.non_2xx, run.wrk.requests
            ));
        }
    }
    Ok(())
}

/// Sign in to the demo's back office; the cookies to send.
fn sign_in(addr: SocketAddr) -> Result<String, String> {
    let body = format!("email=therapist%40example.com&password={DEMO_PASSWORD}");
    let answer = http_request(
        addr,
        "POST",
        "/office/sign-in",
        &format!("Origin: http://{addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n"),
        body.as_bytes(),
    )?;
    let cookies: Vec<&str> = answer
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .filter_map(|(_, v)| v.split(';').next())
        .collect();
    if answer.status != 303 || cookies.is_empty() {
        return Err(format!(
            "signing in to the demo answered {} with no cookie",
            answer.status
        ));
    }
    Ok(cookies.join("; "))
}
