//! Commands that look after the database itself: a consistent backup, and a check of the
//! audit log's hash chain.

use std::process::ExitCode;

use crate::cli::{BackupArgs, DataArgs};
use crate::location::{Mode, open_sqlite, open_store};
use anyhow::{anyhow, bail};

/// Walk each practice's audit chain from its first entry to its last.
pub async fn audit_verify(data: DataArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(&data.location()?, Mode::Existing).await?;
    let verified = verify_all(&*store).await;
    store.close().await;
    match verified? {
        Ok(count) => {
            println!(
                "The audit log is intact: {count} {} checked, each one chained to the one before.",
                if count == 1 { "entry" } else { "entries" }
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(broken) => {
            eprintln!(
                "anteroom: the audit log has been tampered with: {broken}. Keep this database \
                 as it is and compare it with your backups."
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Every practice's chain, one after the other: the entries checked in all, or the first
/// break found.
async fn verify_all(
    store: &dyn store::Store,
) -> store::StoreResult<Result<u64, store::audit::ChainError>> {
    let mut checked = 0;
    for practice in store.practice_ids().await? {
        match store::audit::verify(store, practice).await? {
            Ok(count) => checked += count,
            Err(broken) => return Ok(Err(broken)),
        }
    }
    Ok(Ok(checked))
}

/// Write a consistent copy of the database to a new file. SQLite only (`VACUUM INTO`, and a
/// copy made 0600): a PostgreSQL database is backed up with its own tools.
pub async fn backup(args: BackupArgs) -> anyhow::Result<ExitCode> {
    if args.file.exists() {
        bail!(
            "{} already exists; choose a new file name",
            args.file.display()
        );
    }
    let store = open_sqlite(&args.data.location()?, Mode::Existing).await?;
    store
        .backup_to(&args.file)
        .await
        .map_err(|e| anyhow!("backup failed: {e}"))?;
    store.close().await;
    println!("Backed up to {}.", args.file.display());
    Ok(ExitCode::SUCCESS)
}
