//! See `anteroom_fuzz_checks::front_matter` for what this target checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::front_matter::check(data));
