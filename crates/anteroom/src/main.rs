//! `anteroom`: the command line. Wiring only: read configuration, open the store,
//! build the app, start the listener and the mail worker.
//!
//! This file parses the command line and hands each command to its module: `cli` (the
//! options), `location` (where the data is, opening the store), `serve` (the server),
//! `init`, `demo`, `users`, `keys`, `import`, `maintenance` (backup, audit check) and
//! `practices` and `operators` (hosted mode's practices and operator accounts).
#![forbid(unsafe_code)]

mod cli;
mod content;
mod demo;
mod demo_directory;
mod demo_photos;
mod demo_therapy;
mod files;
mod import;
mod init;
mod keys;
mod location;
mod maintenance;
mod moving;
mod operators;
mod practices;
mod serve;
mod users;

use std::process::ExitCode;

use clap::Parser;

use cli::{AuditCommand, Cli, Command, KeyCommand, LogFormat};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("ANTEROOM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        // One JSON object a line; the request's span (its id) on each line inside one.
        LogFormat::Json => logs
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
    let result = match cli.command {
        Command::Demo(args) => demo::demo(args).await,
        Command::Init(args) => init::init(args).await,
        Command::Serve(args) => serve::serve(args).await,
        Command::User(command) => users::user(command).await,
        Command::Import(args) => import::import(args).await,
        Command::Backup(args) => maintenance::backup(args).await,
        Command::Restore(args) => maintenance::restore(args).await,
        Command::Key(KeyCommand::Rotate { data, key_file }) => keys::rotate(data, key_file).await,
        Command::Audit(AuditCommand::Verify { data }) => maintenance::audit_verify(data).await,
        Command::Practice(command) => practices::practice(command).await,
        Command::Operator(command) => operators::operator(command).await,
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("anteroom: {error:#}");
            if error.downcast_ref::<cli::UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
