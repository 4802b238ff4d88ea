//! The `anteroom` binary as someone running it would: started as its own process, reached
//! over HTTP on a loopback port, measured from the outside.
//!
//! One test binary for the crate (so it links once).

mod cli;
mod crash;
mod database_url;
mod encrypted_backup;
mod full_disk;
mod hosted;
mod memory;
mod processes;
mod restore_drill;
