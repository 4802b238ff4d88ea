//! `anteroom init`: a new practice in a new database, with its key file and first account.

use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use domain::{EmailAddress, PersonName};
use jiff::Timestamp;

use crate::cli::InitArgs;
use crate::keys::key_file;
use crate::location::{Location, Mode, open_store};
use crate::users::{add_user, read_password};
use crate::{content, files};

/// Create the practice in a database that does not exist yet (SQLite: the folder is made
/// private when `init` creates it, and the key file goes beside the database).
pub async fn init(args: InitArgs) -> anyhow::Result<ExitCode> {
    let location = args.data.location()?;
    let path = location.sqlite_file();
    if path.exists() {
        match &location {
            Location::DataDir(dir) => bail!(
                "{} already holds a practice; use `anteroom serve --data-dir {}`",
                dir.display(),
                dir.display()
            ),
            Location::SqliteUrl { .. } => bail!(
                "{} already exists; use `anteroom serve {}`",
                path.display(),
                location.option()
            ),
        }
    }
    let setup = match &args.practice_file {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            domain::practice::PracticeSetup::from_toml(&text)?
        }
        None => content::embedded_practice("starter")?,
    };
    EmailAddress::parse(&args.email).map_err(|e| anyhow!("--email: {e}"))?;
    PersonName::parse(&args.name).map_err(|e| anyhow!("--name: {e}"))?;
    let (password, generated) = read_password(args.password_stdin)?;
    files::create_private_dir(&location.folder())?;
    if let Some(warning) = files::open_to_others(&path) {
        tracing::warn!("{warning}");
    }
    let key_path = key_file(&location, None);
    if !key_path.exists() {
        crypto::MasterKey::create_file(&key_path)?;
    }
    let store = open_store(&location, Mode::CreateIfMissing).await?;
    let practice = store.create_practice(&setup, Timestamp::now()).await?;
    add_user(&*store, practice, &args.email, &args.name, password.clone()).await?;
    store.close().await;
    println!(
        "Created the practice \"{}\" in {}.",
        setup.details.name,
        match &location {
            Location::DataDir(dir) => dir.display(),
            Location::SqliteUrl { file, .. } => file.display(),
        }
    );
    println!(
        "Sign in at /office with {}{}",
        args.email,
        if generated {
            format!(" and the password: {password}")
        } else {
            String::new()
        }
    );
    println!(
        "Confidential notes are encrypted with the key in {} (readable only by you). Back it up \
         apart from the database: without it the notes cannot be read.",
        key_path.display()
    );
    println!("Start it with: anteroom serve {}", location.option());
    Ok(ExitCode::SUCCESS)
}
