//! The bodies of the fuzz targets in `fuzz/` (issue 15), one module per target, each a
//! `check(data: &[u8])` that panics when a property fails. libFuzzer calls them from the
//! nightly-only `fuzz/` crate; `tests/regressions.rs` runs every committed input
//! (`fuzz/regressions/<target>/`, `fuzz/corpus-seed/<target>/`) through them on stable, so
//! a crash once found stays fixed.
#![forbid(unsafe_code)]

pub mod api_bodies;
pub mod availability;
pub mod forms;
pub mod front_matter;
pub mod ics;
mod input;
pub mod markdown;
pub mod uploads;

pub use input::Input;

/// A target's body: panics when a property fails.
pub type Check = fn(&[u8]);

/// Every target by name, as `cargo xtask fuzz` and the regression test know them.
pub const TARGETS: [(&str, Check); 7] = [
    ("front_matter", front_matter::check),
    ("markdown", markdown::check),
    ("forms", forms::check),
    ("api_bodies", api_bodies::check),
    ("ics", ics::check),
    ("availability", availability::check),
    ("uploads", uploads::check),
];
