//! See `anteroom_fuzz_checks::api_bodies` for what this target checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::api_bodies::check(data));
