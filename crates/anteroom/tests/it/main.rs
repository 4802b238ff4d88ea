//! The `anteroom` binary as someone running it would: started as its own process, reached
//! over HTTP on a loopback port, measured from the outside.
//!
//! One test binary for the crate (so it links once).

mod cli;
mod database_url;
mod hosted;
mod memory;
mod processes;
