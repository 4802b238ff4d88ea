//! See `anteroom_fuzz_checks::uploads` for what this target checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::uploads::check(data));
