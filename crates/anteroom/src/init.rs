//! `anteroom init`: a new practice in a new database, with its key file and first account.

use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use domain::{EmailAddress, PersonName};
use jiff::Timestamp;

use crate::cli::InitArgs;
use crate::keys::key_file;
use crate::location::{Location, Mode, OpenStore, open_store};
use crate::users::{add_user, read_password};
use crate::{content, files};

/// Create the practice in a database that does not exist yet (SQLite: the folder is made
/// private when `init` creates it, and the key file goes beside the database), or in an
/// empty PostgreSQL database.
pub async fn init(args: InitArgs) -> anyhow::Result<ExitCode> {
    let location = args.data.location()?;
    if let Some(path) = location.sqlite_file()
        && path.exists()
    {
        match &location {
            Location::DataDir(dir) => bail!(
                "{} already holds a practice; use `anteroom serve --data-dir {}`",
                dir.display(),
                dir.display()
            ),
            _ => bail!(
                "{} already exists; use `anteroom serve {}`",
                path.display(),
                location.option()
            ),
        }
    }
    let key_path = key_file(&location, args.key_file.as_deref())?;
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
    // A PostgreSQL database exists already: find out whether it is free before asking for
    // a password. A SQLite file is made only once there is one to store.
    let opened = match &location {
        Location::Postgres(_) => Some(open_empty(&location).await?),
        Location::DataDir(_) | Location::SqliteUrl { .. } => None,
    };
    let (password, generated) = read_password(args.password_stdin)?;
    let store = match opened {
        Some(store) => store,
        None => {
            if let (Some(folder), Some(path)) = (location.folder(), location.sqlite_file()) {
                files::create_private_dir(&folder)?;
                if let Some(warning) = files::open_to_others(&path) {
                    tracing::warn!("{warning}");
                }
            }
            open_empty(&location).await?
        }
    };
    if !key_path.exists() {
        crypto::MasterKey::create_file(&key_path)?;
    }
    let practice = store.create_practice(&setup, Timestamp::now()).await?;
    add_user(&*store, practice, &args.email, &args.name, password.clone()).await?;
    store.close().await;
    println!(
        "Created the practice \"{}\" in {}.",
        setup.details.name,
        location.describe()
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
    let key_option = match &location {
        Location::Postgres(_) => format!(" --key-file {}", key_path.display()),
        Location::DataDir(_) | Location::SqliteUrl { .. } => String::new(),
    };
    println!(
        "Start it with: anteroom serve {}{key_option}",
        location.option()
    );
    Ok(ExitCode::SUCCESS)
}

/// The store at `location`, which must hold no practice yet.
async fn open_empty(location: &Location) -> anyhow::Result<OpenStore> {
    let store = open_store(location, Mode::CreateIfMissing).await?;
    if !store.practice_ids().await?.is_empty() {
        store.close().await;
        bail!(
            "{} already holds a practice; use `anteroom serve {}`",
            location.describe(),
            location.option()
        );
    }
    Ok(store)
}
