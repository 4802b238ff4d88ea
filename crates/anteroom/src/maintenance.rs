//! Commands that look after the database itself: a consistent backup, a restore that checks
//! what it restores, and a check of the audit log's hash chain.

use std::process::ExitCode;

use crate::cli::{BackupArgs, DataArgs, RestoreArgs};
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
///
/// With `--encrypt-to`, the copy is written to a private file beside the target, encrypted
/// from there to the target (age format, 0600), and removed whatever happens.
pub async fn backup(args: BackupArgs) -> anyhow::Result<ExitCode> {
    // A mistyped key is refused before anything is written.
    let recipient = args
        .encrypt_to
        .as_deref()
        .map(|text| crypto::age::parse_recipient(text).map_err(|e| anyhow!("--encrypt-to: {e}")))
        .transpose()?;
    if args.file.exists() {
        bail!(
            "{} already exists; choose a new file name",
            args.file.display()
        );
    }
    let store = open_sqlite(&args.data.location()?, Mode::Existing).await?;
    if let Some(recipient) = recipient {
        let plain = UnencryptedCopy::beside(&args.file)?;
        let copied = store.backup_to(&plain.0).await;
        store.close().await;
        copied.map_err(|e| anyhow!("backup failed: {e}"))?;
        encrypt_copy(&plain.0, &args.file, &recipient)?;
        drop(plain);
        println!(
            "Backed up to {}, encrypted to {}; no unencrypted copy was kept.\n\
             To restore it, first decrypt it with your private key, outside the data folder:\n    \
             age -d -i YOUR-KEY {} > restored.db\n\
             then run `anteroom restore restored.db` with your usual --data-dir.",
            args.file.display(),
            args.encrypt_to.as_deref().unwrap_or_default().trim(),
            args.file.display(),
        );
        return Ok(ExitCode::SUCCESS);
    }
    store
        .backup_to(&args.file)
        .await
        .map_err(|e| anyhow!("backup failed: {e}"))?;
    store.close().await;
    println!("Backed up to {}.", args.file.display());
    Ok(ExitCode::SUCCESS)
}

/// The unencrypted copy behind an encrypted backup: a private file beside the target (so on
/// the same disk, and never in a shared temporary folder), removed when this is dropped,
/// whether the backup succeeded or not.
struct UnencryptedCopy(std::path::PathBuf);

impl UnencryptedCopy {
    fn beside(target: &std::path::Path) -> anyhow::Result<Self> {
        let Some(name) = target.file_name() else {
            bail!("{} is not a file name", target.display());
        };
        Ok(Self(target.with_file_name(format!(
            ".{}.unencrypted-{:016x}",
            name.to_string_lossy(),
            rand::random::<u64>()
        ))))
    }
}

impl Drop for UnencryptedCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Encrypt `plain` to `recipient` into the new file `target` (0600), on disk before this
/// returns; a partly written `target` is removed.
fn encrypt_copy(
    plain: &std::path::Path,
    target: &std::path::Path,
    recipient: &crypto::age::Recipient,
) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let from = std::fs::File::open(plain)
        .map_err(|e| anyhow!("cannot read the backup copy {}: {e}", plain.display()))?;
    let to = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(target)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => anyhow!(
                "{} already exists; choose a new file name",
                target.display()
            ),
            _ => anyhow!("cannot create {}: {e}", target.display()),
        })?;
    let written = crypto::age::encrypt(recipient, from, std::io::BufWriter::new(&to))
        .and_then(|()| to.sync_all());
    if let Err(e) = written {
        drop(to);
        let _ = std::fs::remove_file(target);
        bail!("encrypting the backup failed: {e}; nothing was kept");
    }
    Ok(())
}

/// Replace the database with a backup (the server stopped). Nothing is replaced unless the
/// backup passes every check, made on a private copy beside the database: an intact SQLite
/// file of Anteroom's, not from a newer version (an older one is brought up to date), every
/// practice's key opening with the key file, and every audit chain whole. The database it
/// replaces (with its `-wal` and `-shm`) is renamed aside, not deleted.
pub async fn restore(args: RestoreArgs) -> anyhow::Result<ExitCode> {
    use store_sqlite::SqliteStore;
    let location = args.data.location()?;
    let Some(database) = location.sqlite_file() else {
        bail!(
            "this is for a SQLite database; a PostgreSQL database is restored with \
             PostgreSQL's own tools (pg_restore)"
        );
    };
    let schema = SqliteStore::check_backup(&args.file)
        .await
        .map_err(|e| match e {
            store::StoreError::Other(why) => anyhow!("{why}: nothing was restored"),
            other => anyhow!("cannot check {}: {other}", args.file.display()),
        })?;
    let key_path = crate::keys::key_file(&location, args.key_file.as_deref())?;
    let key = if let Ok(text) = std::env::var("ANTEROOM_KEY") {
        crypto::MasterKey::parse(&text, "ANTEROOM_KEY")?
    } else if key_path.exists() {
        crypto::MasterKey::load_file(&key_path)?
    } else {
        bail!(
            "there is no key file at {}: put back the key file kept apart from your backups \
             (or give --key-file FILE); without it the backup's notes cannot be read. Nothing \
             was restored.",
            key_path.display()
        );
    };
    let folder = crate::files::folder_of(&database);
    crate::files::create_private_dir(&folder)?;
    // A private copy to check and bring up to date; it becomes the database only if all is well.
    let copy = folder.join(".anteroom-restoring.db");
    for stale in sidecars(&copy) {
        let _ = std::fs::remove_file(stale);
    }
    {
        use std::{io::Write as _, os::unix::fs::OpenOptionsExt as _};
        let mut from = std::fs::File::open(&args.file)?;
        let mut to = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&copy)?;
        std::io::copy(&mut from, &mut to)?;
        to.flush()?;
        to.sync_all()?;
    }
    let checked = check_restored_copy(&copy, &key).await;
    let entries = match checked {
        Ok(entries) => entries,
        Err(error) => {
            for file in sidecars(&copy) {
                let _ = std::fs::remove_file(file);
            }
            return Err(error.context("nothing was restored"));
        }
    };
    let stamp = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    let aside = folder.join(format!(
        "{}.before-restore-{stamp}",
        database
            .file_name()
            .map_or("anteroom.db".into(), |n| n.to_string_lossy())
    ));
    let kept = database.exists();
    if kept {
        for (from, to) in sidecars(&database).into_iter().zip(sidecars(&aside)) {
            if from.exists() {
                std::fs::rename(&from, &to)
                    .map_err(|e| anyhow!("cannot move {} aside: {e}", from.display()))?;
            }
        }
    }
    std::fs::rename(&copy, &database)?;
    std::fs::File::open(&folder)?.sync_all()?;
    println!(
        "Restored {} (schema {schema}) to {}: every practice's key opened with {}, and the \
         audit log is intact ({entries} {}).",
        args.file.display(),
        database.display(),
        key_path.display(),
        if entries == 1 { "entry" } else { "entries" }
    );
    if kept {
        println!(
            "The database it replaced is kept as {} (delete it once you are sure).",
            aside.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A database file and its `-wal` and `-shm`.
fn sidecars(database: &std::path::Path) -> [std::path::PathBuf; 3] {
    let with = |suffix: &str| {
        let mut name = database.as_os_str().to_owned();
        name.push(suffix);
        std::path::PathBuf::from(name)
    };
    [database.to_path_buf(), with("-wal"), with("-shm")]
}

/// Open the copy (bringing an older schema up to date), open every practice's key with
/// `key`, and walk every audit chain: the entries checked.
async fn check_restored_copy(
    copy: &std::path::Path,
    key: &crypto::MasterKey,
) -> anyhow::Result<u64> {
    use store::PracticeStore as _;
    let store = store_sqlite::SqliteStore::open(copy, store_sqlite::OpenMode::Existing)
        .await
        .map_err(|e| anyhow!("cannot open the backup: {e}"))?;
    let checked = async {
        web::keys::check_host_key(&store, key).await.map_err(|_| {
            anyhow!("the key file is not the one this backup's keys are wrapped with")
        })?;
        let now = jiff::Timestamp::now();
        for practice in store.practice_ids().await? {
            web::keys::open_or_adopt(&store, key, practice, now)
                .await
                .map_err(|e| anyhow!("practice {practice}'s key does not open: {e}"))?;
        }
        match verify_all(&store).await? {
            Ok(entries) => Ok(entries),
            Err(broken) => Err(anyhow!(
                "the backup's audit log has been tampered with: {broken}"
            )),
        }
    }
    .await;
    store.close().await;
    checked
}
