//! `cargo xtask fuzz [--seconds N] [TARGET...]`: run the cargo-fuzz targets in `fuzz/`
//! (issue 15), each for N seconds (60 by default), one after another.
//!
//! Needs the nightly toolchain (`rustup toolchain install nightly`) and cargo-fuzz, which is
//! installed from crates.io when missing. The targets are built once, without a sanitizer
//! (the code under test forbids `unsafe`; the targets check properties, and without ASan
//! they run several times faster), into `ANTEROOM_FUZZ_TARGET_DIR` or `<target>/fuzz`, apart
//! from the stable builds. Each target's working corpus is `fuzz/corpus/<target>/` (not
//! committed), started from `fuzz/corpus-seed/<target>/` and `fuzz/regressions/<target>/`.
//! A crash is copied into `fuzz/regressions/<target>/`, where `cargo xtask test` (the
//! `anteroom-fuzz-checks` test) replays it on stable from then on, and the run fails.

use std::{
    env, fs,
    path::{Path, PathBuf},
    process::Command,
    time::SystemTime,
};

use crate::{cargo, root, run, target_dir};

/// Longest input libFuzzer makes for each target, in bytes; the rest get 4 KiB.
const MAX_LEN: [(&str, u32); 5] = [
    ("front_matter", 16_384),
    ("markdown", 16_384),
    ("forms", 2_048),
    ("availability", 1_024),
    ("uploads", 65_536),
];

fn targets(fuzz: &Path) -> Result<Vec<String>, String> {
    let dir = fuzz.join("fuzz_targets");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".rs").map(str::to_owned)
        })
        .collect();
    names.sort();
    Ok(names)
}

fn fuzz_target_dir() -> PathBuf {
    env::var_os("ANTEROOM_FUZZ_TARGET_DIR").map_or_else(|| target_dir().join("fuzz"), PathBuf::from)
}

fn cargo_fuzz() -> Command {
    let mut command = Command::new("cargo");
    command
        .args(["+nightly", "fuzz"])
        .current_dir(root().join("fuzz"))
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO")
        .env("CARGO_TARGET_DIR", fuzz_target_dir());
    command
}

/// The built target: cargo-fuzz builds for the host triple, in release.
fn binary(target: &str) -> Result<PathBuf, String> {
    let output = Command::new("rustc")
        .arg("-vV")
        .output()
        .map_err(|e| format!("rustc -vV: {e}"))?;
    let host = String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .ok_or("rustc -vV names no host")?;
    let path = fuzz_target_dir().join(host).join("release").join(target);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("the fuzz build left no {}", path.display()))
    }
}

fn ensure_cargo_fuzz() -> Result<(), String> {
    let present = cargo_fuzz()
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if present {
        return Ok(());
    }
    run(
        "cargo install cargo-fuzz",
        cargo().args(["install", "cargo-fuzz", "--locked"]),
    )
}

/// Crash, timeout and out-of-memory inputs written since `since`.
fn findings(artifacts: &Path, since: SystemTime) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(artifacts) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            e.metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|m| m >= since)
        })
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                ["crash-", "timeout-", "oom-", "leak-"]
                    .iter()
                    .any(|k| n.starts_with(k))
            })
        })
        .collect();
    found.sort();
    found
}

pub(crate) fn run_all(args: &[String]) -> Result<(), String> {
    let mut seconds: u32 = 60;
    let mut chosen = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let value = match arg.strip_prefix("--seconds") {
            Some("") => args.next().map(String::as_str),
            Some(rest) => rest.strip_prefix('='),
            None => {
                chosen.push(arg.clone());
                continue;
            }
        };
        seconds = value
            .and_then(|v| v.parse().ok())
            .filter(|&s| s > 0)
            .ok_or("--seconds takes a whole number of seconds, like --seconds 300")?;
    }
    let fuzz = root().join("fuzz");
    let all = targets(&fuzz)?;
    if let Some(unknown) = chosen.iter().find(|t| !all.contains(t)) {
        return Err(format!(
            "there is no fuzz target {unknown}; the targets are: {}",
            all.join(", ")
        ));
    }
    let chosen = if chosen.is_empty() { all } else { chosen };
    ensure_cargo_fuzz()?;
    run(
        "cargo +nightly fuzz build",
        cargo_fuzz().args(["build", "--sanitizer", "none"]),
    )?;
    let mut failures = Vec::new();
    for target in &chosen {
        let corpus = fuzz.join("corpus").join(target);
        let artifacts = fuzz.join("artifacts").join(target);
        for dir in [&corpus, &artifacts] {
            fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let max_len = MAX_LEN
            .iter()
            .find(|(name, _)| name == target)
            .map_or(4_096, |(_, len)| *len);
        // The binary built above, run directly: `cargo fuzz run` would build again, each
        // time anything in the workspace changed since.
        let mut command = Command::new(binary(target)?);
        command.arg(&corpus);
        for kind in ["corpus-seed", "regressions"] {
            let dir = fuzz.join(kind).join(target);
            if dir.is_dir() {
                command.arg(dir);
            }
        }
        command.args([
            format!("-max_total_time={seconds}"),
            format!("-max_len={max_len}"),
            "-timeout=10".to_owned(),
            "-rss_limit_mb=2048".to_owned(),
            "-print_final_stats=1".to_owned(),
            format!("-artifact_prefix={}/", artifacts.display()),
        ]);
        let started = SystemTime::now();
        let outcome = run(&format!("fuzz {target} for {seconds}s"), &mut command);
        let found = findings(&artifacts, started);
        if outcome.is_ok() && found.is_empty() {
            continue;
        }
        let regressions = fuzz.join("regressions").join(target);
        fs::create_dir_all(&regressions)
            .map_err(|e| format!("cannot create {}: {e}", regressions.display()))?;
        let mut kept = Vec::new();
        for file in &found {
            let name = file.file_name().unwrap_or_default();
            let to = regressions.join(name);
            fs::copy(file, &to).map_err(|e| format!("cannot copy {}: {e}", file.display()))?;
            kept.push(to.strip_prefix(root()).unwrap_or(&to).display().to_string());
        }
        failures.push(if kept.is_empty() {
            format!("{target}: the fuzzer failed without leaving an input ({outcome:?})")
        } else {
            format!(
                "{target}: {} input(s) fail, kept as regressions: {}\n  \
                 reproduce: cargo test -p anteroom-fuzz-checks  (or, in fuzz/: \
                 cargo +nightly fuzz run --sanitizer none {target} FILE)\n  \
                 a bug in the product gets its fix and a unit test beside the code too",
                kept.len(),
                kept.join(", ")
            )
        });
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("fuzzing found problems:\n{}", failures.join("\n")))
    }
}
