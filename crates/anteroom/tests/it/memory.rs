//! A flood of sign-ins cannot exhaust the server's memory.
//!
//! Each Argon2id hash holds 19 MiB while it runs. Before hashes were bounded, forty wrong
//! passwords sent at once from forty addresses lifted the server from 20 MB to 780 MB. The
//! server's peak resident memory (`VmHWM`, which the kernel keeps for the process) is read
//! from outside after two hundred sign-ins from two hundred addresses at once.

use std::{
    io::Write,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

const BIN: &str = env!("CARGO_BIN_EXE_anteroom");
const EMAIL: &str = "therapist@example.com";
const PASSWORD: &str = "a quiet room with two chairs";
/// The target: peak resident memory under this after the flood.
const PEAK_LIMIT_KIB: u64 = 100 * 1024;

/// A running `anteroom serve`, stopped (by its own PID) when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn init(dir: &std::path::Path) {
    let mut init = Command::new(BIN)
        .args(["init", "--data-dir"])
        .arg(dir)
        .args([
            "--email",
            EMAIL,
            "--name",
            "Alex Morgan",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start anteroom init");
    init.stdin
        .take()
        .expect("stdin")
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .expect("write the password");
    assert!(init.wait().expect("wait for init").success(), "init failed");
}

async fn serve(dir: &std::path::Path) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(BIN)
        .args(["serve", "--data-dir"])
        .arg(dir)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--trust-proxy"])
        .env("ANTEROOM_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start anteroom serve");
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if reqwest::get(format!("{}/", server.base))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return server;
        }
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The process's peak resident memory so far, in KiB.
fn peak_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(120))
        .build()
        .expect("an HTTP client")
}

/// Sign in from `from`; the status and the device cookie set, if any.
async fn sign_in(
    client: &reqwest::Client,
    base: &str,
    from: &str,
    email: &str,
    password: &str,
    cookie: Option<&str>,
) -> (reqwest::StatusCode, Option<String>) {
    let mut request = client
        .post(format!("{base}/office/sign-in"))
        .header("x-forwarded-for", from)
        .form(&[("email", email), ("password", password)]);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.expect("an answer");
    let device = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|c| c.contains("anteroom_device="))
        .map(str::to_owned);
    (response.status(), device)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_sign_ins_at_once_keep_memory_bounded_and_the_therapist_gets_in() {
    let dir = tempfile::tempdir().expect("a temp dir");
    init(dir.path());
    let server = serve(dir.path()).await;
    let client = client();

    // The therapist signs in once from her own browser.
    let (status, device) =
        sign_in(&client, &server.base, "198.51.100.7", EMAIL, PASSWORD, None).await;
    assert_eq!(status, reqwest::StatusCode::SEE_OTHER);
    let device = device.expect("a device cookie");
    println!("peak RSS before: {} KiB", peak_kib(server.child.id()));

    // Two hundred sign-ins at once from two hundred addresses: most for addresses with no
    // account (each still costs a full hash, to hide which addresses have one), some
    // guessing at hers.
    let mut tasks = Vec::new();
    for n in 0..200_u32 {
        let client = client.clone();
        let base = server.base.clone();
        tasks.push(tokio::spawn(async move {
            let from = format!("10.{}.{}.{}", n / 65_536, (n / 256) % 256, n % 256 + 1);
            let email = if n % 4 == 0 {
                EMAIL.to_owned()
            } else {
                format!("nobody{n}@example.com")
            };
            sign_in(&client, &base, &from, &email, "a wrong guess at it", None)
                .await
                .0
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("the task ran"));
    }
    for status in &statuses {
        assert!(
            matches!(status.as_u16(), 401 | 429 | 503),
            "every sign-in is refused, asked to wait or told the server is busy: {status}"
        );
    }
    assert!(
        statuses.iter().any(|s| s.as_u16() == 401),
        "some passwords were checked"
    );

    let peak = peak_kib(server.child.id());
    println!("peak RSS after 200 simultaneous sign-ins: {peak} KiB");
    assert!(
        peak < PEAK_LIMIT_KIB,
        "peak resident memory {peak} KiB is over {PEAK_LIMIT_KIB} KiB"
    );

    // The real therapist still signs in, from her own browser, from anywhere.
    let (status, _) = sign_in(
        &client,
        &server.base,
        "192.0.2.44",
        EMAIL,
        PASSWORD,
        Some(&device),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::SEE_OTHER);
}
