//! `cargo xtask drill crash [--cycles N]`: the crash drill at full length.
//!
//! The drill itself is a test of the `anteroom` crate (`crates/anteroom/tests/it/crash.rs`),
//! run by `cargo xtask test` with 20 kills on each engine; here it runs with 200 (or N) on
//! each, PostgreSQL being a throwaway server as for `test` (or the one
//! `ANTEROOM_TEST_POSTGRES_URL` names),
//! printing what it acknowledged, what survived and the seed that replays it
//! (`ANTEROOM_DRILL_SEED`).

use crate::{cargo, run};

const FULL_CYCLES: u32 = 200;

pub fn run_drill(args: &[String], postgres_url: &str) -> Result<(), String> {
    let usage = "usage: cargo xtask drill crash [--cycles N]";
    let (kind, rest) = args.split_first().ok_or(usage)?;
    if kind != "crash" {
        return Err(usage.into());
    }
    let cycles = match rest {
        [] => FULL_CYCLES,
        [flag, n] if flag == "--cycles" => n
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or("--cycles takes a whole number above 0")?,
        _ => return Err(usage.into()),
    };
    run(
        &format!("crash drill, {cycles} kills"),
        cargo()
            .args([
                "test",
                "-p",
                "anteroom",
                "--test",
                "it",
                "crash::",
                "--",
                "--nocapture",
            ])
            .env("ANTEROOM_DRILL_CYCLES", cycles.to_string())
            .env("ANTEROOM_TEST_POSTGRES_URL", postgres_url)
            .env("ANTEROOM_REQUIRE_POSTGRES", "1"),
    )
}
