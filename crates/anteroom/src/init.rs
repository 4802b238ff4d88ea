//! `anteroom init`: a new practice in a new database, with its key file and first account.

use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use domain::{EmailAddress, PersonName};
use jiff::Timestamp;
use store::PracticeStore as _;
use store_sqlite::OpenMode;

use crate::cli::InitArgs;
use crate::keys::key_file_beside;
use crate::location::open;
use crate::users::{add_user, read_password};
use crate::{content, files};

pub async fn init(args: InitArgs) -> anyhow::Result<ExitCode> {
    let path = args.data_dir.join("anteroom.db");
    if path.exists() {
        bail!(
            "{} already holds a practice; use `anteroom serve --data-dir {}`",
            args.data_dir.display(),
            args.data_dir.display()
        );
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
    files::create_private_dir(&args.data_dir)?;
    if let Some(warning) = files::open_to_others(&path) {
        tracing::warn!("{warning}");
    }
    let key_path = key_file_beside(&path);
    if !key_path.exists() {
        crypto::MasterKey::create_file(&key_path)?;
    }
    let store = open(&path, OpenMode::CreateIfMissing).await?;
    let practice = store.create_practice(&setup, Timestamp::now()).await?;
    add_user(&store, practice, &args.email, &args.name, password.clone()).await?;
    store.close().await;
    println!(
        "Created the practice \"{}\" in {}.",
        setup.details.name,
        args.data_dir.display()
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
    println!(
        "Start it with: anteroom serve --data-dir {}",
        args.data_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
