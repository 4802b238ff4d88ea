//! A PostgreSQL server for the tests.
//!
//! `ANTEROOM_TEST_POSTGRES_URL`, when set, is used as it is and nothing is started. Otherwise
//! a throwaway cluster is made: `initdb` in a fresh folder under the system temporary folder,
//! `pg_ctl start` on a free loopback port, and — whatever the tests did — `pg_ctl stop` and the
//! folder deleted afterwards. The programs come from `PATH` or `/usr/lib/postgresql/*/bin`
//! (PostgreSQL 15 or later, newest first); Debian's `postgresql` package is installed when
//! there are none. A system cluster that package may start is left alone.
//!
//! `initdb` refuses to run as root, so as root the cluster belongs to the `postgres` system
//! user and its programs run through `runuser -u postgres --`.

use std::{
    env, fs,
    net::{TcpListener, TcpStream, ToSocketAddrs},
    path::{Path, PathBuf},
    process::{Command, Output},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use crate::{apt_install, have};

/// The variable that names the server to the tests.
const URL_VAR: &str = "ANTEROOM_TEST_POSTGRES_URL";
/// The oldest major version the tests are known to work with.
const OLDEST_MAJOR: u32 = 15;
/// The system user that owns the cluster when we run as root.
const SYSTEM_USER: &str = "postgres";

/// Runs `body` with the URL of a PostgreSQL server: the one `ANTEROOM_TEST_POSTGRES_URL`
/// names, or a throwaway cluster that is stopped and deleted when `body` returns.
pub(crate) fn with_postgres<T>(body: impl FnOnce(&str) -> Result<T, String>) -> Result<T, String> {
    if let Some(url) = env::var(URL_VAR).ok().filter(|url| !url.is_empty()) {
        println!("\n==> PostgreSQL from {URL_VAR} (nothing started)");
        return body(&url);
    }
    let cluster = Cluster::start()?;
    let result = body(&cluster.url);
    drop(cluster);
    result
}

/// `cargo xtask pg-check`: start a server, ask it its version, stop it.
pub(crate) fn check() -> Result<(), String> {
    with_postgres(|url| {
        if have("psql") {
            let output = Command::new("psql")
                .args([url, "-X", "-A", "-t", "-c", "select version()"])
                .output()
                .map_err(|e| format!("psql: cannot start: {e}"))?;
            if !output.status.success() {
                return Err(format!(
                    "psql failed ({}):\n{}",
                    output.status,
                    text(&output)
                ));
            }
            println!("{}", String::from_utf8_lossy(&output.stdout).trim());
        } else {
            let address = url
                .rsplit_once('@')
                .map_or(url, |(_, rest)| rest)
                .split('/')
                .next()
                .unwrap_or_default();
            let address = address
                .to_socket_addrs()
                .map_err(|e| format!("{address}: {e}"))?
                .next()
                .ok_or_else(|| format!("{address}: no address"))?;
            TcpStream::connect_timeout(&address, Duration::from_secs(5))
                .map_err(|e| format!("cannot connect to {address}: {e}"))?;
            println!("connected to {address} (no psql here to ask for the version)");
        }
        Ok(())
    })
}

/// A running throwaway cluster; dropping it stops the server and deletes its folder.
struct Cluster {
    /// Holds `data/` (the cluster), `log` (the server's log) and the server's socket.
    dir: PathBuf,
    /// The folder of `initdb`, `pg_ctl` and `postgres`.
    bin: PathBuf,
    /// Run the programs as the `postgres` system user (we are root).
    as_system_user: bool,
    /// `pg_ctl start` was tried, so the server may be running.
    started: bool,
    url: String,
}

impl Cluster {
    fn start() -> Result<Self, String> {
        let (major, bin) = match installed() {
            Some(found) => found,
            None => {
                apt_install(&["postgresql"])?;
                installed().ok_or_else(|| {
                    format!(
                        "no PostgreSQL {OLDEST_MAJOR} or later (initdb, pg_ctl, postgres) in PATH \
                         or /usr/lib/postgresql/*/bin, even after apt-get install postgresql"
                    )
                })?
            }
        };
        let as_system_user = is_root()?;
        if as_system_user && !user_exists(SYSTEM_USER) {
            return Err(format!(
                "running as root, and initdb refuses to run as root: the cluster would belong to \
                 the `{SYSTEM_USER}` system user, which does not exist (Debian's postgresql \
                 package creates it); or set {URL_VAR} to use an existing server"
            ));
        }
        let dir = fresh_dir()?;
        // From here on, dropping `cluster` deletes the folder (and stops the server once started).
        let mut cluster = Self {
            dir,
            bin,
            as_system_user,
            started: false,
            url: String::new(),
        };
        if as_system_user {
            quiet(
                "chown the PostgreSQL folder",
                Command::new("chown")
                    .arg("-R")
                    .arg(format!("{SYSTEM_USER}:{SYSTEM_USER}"))
                    .arg(&cluster.dir),
            )?;
        }
        quiet(
            "initdb",
            cluster
                .program("initdb")
                .arg("-D")
                .arg(cluster.dir.join("data"))
                .args([
                    "-U",
                    "anteroom",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-locale",
                ]),
        )?;
        let port = free_port()?;
        let mut options = format!(
            "-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories='{}' \
             -c max_connections=400 -c shared_buffers=64MB -c fsync=on -c synchronous_commit=on",
            cluster.dir.display()
        );
        // ANTEROOM_BENCH_STATEMENTS=1: per-statement counters, for profiling a bench.
        if env::var_os("ANTEROOM_BENCH_STATEMENTS").is_some() {
            options.push_str(
                " -c shared_preload_libraries=pg_stat_statements \
                 -c pg_stat_statements.track_planning=on",
            );
        }
        cluster.started = true;
        let started = quiet(
            "pg_ctl start",
            cluster
                .program("pg_ctl")
                .arg("-D")
                .arg(cluster.dir.join("data"))
                .arg("-l")
                .arg(cluster.dir.join("log"))
                .args(["-w", "-t", "60", "-o", &options, "start"]),
        );
        if let Err(error) = started {
            return Err(format!(
                "{error}\nthe end of the server's log:\n{}",
                log_tail(&cluster.dir.join("log"), 30)
            ));
        }
        cluster.url = format!("postgres://anteroom@127.0.0.1:{port}/postgres");
        println!(
            "\n==> PostgreSQL {major} on 127.0.0.1:{port} (throwaway cluster in {})",
            cluster.dir.display()
        );
        Ok(cluster)
    }

    /// `program` from the cluster's installation, run as the cluster's owner.
    fn program(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut command = if self.as_system_user {
            let mut command = Command::new("runuser");
            command.args(["-u", SYSTEM_USER, "--"]).arg(path);
            command
        } else {
            Command::new(path)
        };
        // The `postgres` user may not be allowed into our working folder.
        command.current_dir(&self.dir);
        command
    }

    fn stop(&self, mode: &str) -> Result<(), String> {
        quiet(
            &format!("pg_ctl stop -m {mode}"),
            self.program("pg_ctl")
                .arg("-D")
                .arg(self.dir.join("data"))
                .args(["-m", mode, "-w", "stop"]),
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // No `postmaster.pid`: the server never came up (or is already down).
        if self.started && self.dir.join("data").join("postmaster.pid").exists() {
            println!(
                "\n==> stop PostgreSQL (throwaway cluster in {})",
                self.dir.display()
            );
            if let Err(fast) = self.stop("fast")
                && let Err(immediate) = self.stop("immediate")
            {
                eprintln!(
                    "xtask: cannot stop PostgreSQL; its folder {} is kept:\n{fast}\n{immediate}",
                    self.dir.display()
                );
                return;
            }
        }
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            eprintln!("xtask: cannot delete {}: {e}", self.dir.display());
        }
    }
}

/// The newest installation of PostgreSQL `OLDEST_MAJOR` or later: its major version and the
/// folder holding `initdb`, `pg_ctl` and `postgres`.
fn installed() -> Option<(u32, PathBuf)> {
    let mut folders: Vec<PathBuf> = env::var_os("PATH")
        .map(|path| env::split_paths(&path).collect())
        .unwrap_or_default();
    if let Ok(versions) = fs::read_dir("/usr/lib/postgresql") {
        folders.extend(versions.flatten().map(|version| version.path().join("bin")));
    }
    let mut found: Vec<(u32, PathBuf)> = Vec::new();
    for folder in folders {
        // `/usr/local/bin/initdb` may be a link into the real installation, and `pg_ctl` finds
        // `postgres` next to its own real path: use the folder the links point into.
        let Some(bin) = fs::canonicalize(folder.join("initdb"))
            .ok()
            .and_then(|initdb| initdb.parent().map(Path::to_path_buf))
        else {
            continue;
        };
        let complete = ["pg_ctl", "postgres"]
            .iter()
            .all(|program| bin.join(program).is_file());
        if !complete || found.iter().any(|(_, known)| *known == bin) {
            continue;
        }
        if let Some(major) = major_version(&bin.join("initdb")) {
            found.push((major, bin));
        }
    }
    // Stable: among equal versions, PATH's order wins.
    found.sort_by(|(a, _), (b, _)| b.cmp(a));
    found.into_iter().find(|(major, _)| *major >= OLDEST_MAJOR)
}

/// `15` from `initdb (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)`.
fn major_version(program: &Path) -> Option<u32> {
    let output = Command::new(program).arg("--version").output().ok()?;
    let version = String::from_utf8_lossy(&output.stdout);
    let number = version.split("(PostgreSQL)").nth(1)?.trim_start();
    number
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn is_root() -> Result<bool, String> {
    let output = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|e| format!("id -u: cannot start: {e}"))?;
    Ok(String::from_utf8_lossy(&output.stdout).trim() == "0")
}

fn user_exists(user: &str) -> bool {
    Command::new("id")
        .arg("-u")
        .arg(user)
        .output()
        .is_ok_and(|output| output.status.success())
}

/// A new, empty folder `anteroom-pg-<pid>-<nanos>` under the system temporary folder.
fn fresh_dir() -> Result<PathBuf, String> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    let dir = env::temp_dir().join(format!("anteroom-pg-{}-{nanos}", std::process::id()));
    fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

/// A loopback port nobody listens on right now.
fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot find a free port on 127.0.0.1: {e}"))?;
    listener
        .local_addr()
        .map(|address| address.port())
        .map_err(|e| format!("cannot find a free port on 127.0.0.1: {e}"))
}

/// Runs `command` with its output captured, showing the output only when it fails.
fn quiet(what: &str, command: &mut Command) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}):\n{}",
            output.status,
            text(&output)
        ))
    }
}

fn text(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    format!("{stdout}{stderr}").trim_end().to_owned()
}

fn log_tail(log: &Path, lines: usize) -> String {
    match fs::read_to_string(log) {
        Ok(log) => {
            let all: Vec<&str> = log.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read it: {e})"),
    }
}
