//! `anteroom practice …`: the practices of a hosted deployment, for an operator's scripts.
//!
//! A practice is named on the command line by a host: its name under the base domain
//! (`alex`) or one of its own domains. Nothing here shows or touches client data: the list
//! gives counts only.

use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use domain::{
    EmailAddress, PersonName,
    hosting::{DomainName, PracticeName},
};
use jiff::Timestamp;
use store::{ConflictKind, NewUser, PracticeHost, PracticeId, Store, StoreError};

use crate::cli::{DataArgs, PracticeCommand, UsageError};
use crate::content;
use crate::keys::key_file;
use crate::location::{Location, Mode, open_store};
use crate::users::read_password;

pub async fn practice(command: PracticeCommand) -> anyhow::Result<ExitCode> {
    match command {
        PracticeCommand::Create {
            data,
            host,
            email,
            name,
            practice_file,
            password_stdin,
            key_file,
        } => {
            create(
                data,
                &host,
                (&email, &name),
                practice_file.as_deref(),
                password_stdin,
                key_file.as_deref(),
            )
            .await
        }
        PracticeCommand::List { data } => list(data).await,
        PracticeCommand::Suspend { data, host } => suspend(data, &host.host, true).await,
        PracticeCommand::Resume { data, host } => suspend(data, &host.host, false).await,
        PracticeCommand::AddDomain { data, host, domain } => {
            add_domain(data, &host.host, &domain).await
        }
        PracticeCommand::Close { data, host } => close(data, &host.host).await,
        PracticeCommand::Export {
            data,
            host,
            to,
            key_file,
        } => crate::moving::export(data, host.as_deref(), &to, key_file.as_deref()).await,
        PracticeCommand::Import {
            file,
            data,
            host,
            transfer_key,
            key_file,
        } => {
            crate::moving::import(
                &file,
                data,
                host.as_deref(),
                transfer_key.as_deref(),
                key_file.as_deref(),
            )
            .await
        }
    }
}

/// `--host` as the operator typed it: a name (one label) or a domain (with a dot).
pub(crate) fn parse_host(raw: &str) -> Result<PracticeHost, UsageError> {
    let result = if raw.contains('.') {
        DomainName::parse(raw).map(PracticeHost::Domain)
    } else {
        PracticeName::parse(raw).map(PracticeHost::Name)
    };
    result.map_err(|e| UsageError(format!("--host: {}", e.0)))
}

/// The practice that answers on `host`.
pub(crate) async fn practice_at(
    store: &dyn Store,
    host: &PracticeHost,
) -> anyhow::Result<PracticeId> {
    store
        .host_directory()
        .await?
        .into_iter()
        .find(|entry| &entry.host == host)
        .map(|entry| entry.practice)
        .ok_or_else(|| {
            anyhow!(
                "no practice answers on {}; `anteroom practice list` shows them",
                host.as_str()
            )
        })
}

async fn create(
    data: DataArgs,
    host: &str,
    (email, name): (&str, &str),
    practice_file: Option<&std::path::Path>,
    password_stdin: bool,
    given_key: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    let location = data.location()?;
    let PracticeHost::Name(practice_name) = parse_host(host)? else {
        return Err(UsageError(
            "--host: a new practice is given a name under the base domain, like alex-morgan; \
             add its own domain afterwards with `anteroom practice add-domain`"
                .into(),
        )
        .into());
    };
    let email = EmailAddress::parse(email).map_err(|e| UsageError(format!("--email: {e}")))?;
    let name = PersonName::parse(name).map_err(|e| UsageError(format!("--name: {e}")))?;
    let setup = match practice_file {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            domain::practice::PracticeSetup::from_toml(&text)?
        }
        None => content::embedded_practice("starter")?,
    };
    let (store, host) = open_for_new_practice(&location, given_key).await?;
    let taken = store
        .host_directory()
        .await?
        .iter()
        .any(|entry| entry.host == PracticeHost::Name(practice_name.clone()));
    if taken {
        store.close().await;
        bail!("the name {practice_name} is already a practice's; choose another");
    }
    let (password, generated) = read_password(password_stdin)?;
    let owner = NewUser {
        email: email.clone(),
        name,
        password_hash: crate::users::hash(password.clone()).await?,
    };
    let now = Timestamp::now();
    let made = store
        .create_hosted_practice(&setup, &practice_name, &owner, now)
        .await;
    let practice = match made {
        Ok(practice) => practice,
        Err(error) => {
            store.close().await;
            return Err(match error {
                StoreError::Conflict(ConflictKind::HostTaken) => {
                    anyhow!("the name {practice_name} is already a practice's; choose another")
                }
                StoreError::Conflict(ConflictKind::UserEmail) => anyhow!(
                    "there is already an account for {email}; each account belongs to one practice"
                ),
                other => other.into(),
            });
        }
    };
    // Its own key, wrapped by the key file, from the start.
    let keyed = web::keys::open_or_adopt(&*store, &host, practice, now).await;
    store.close().await;
    keyed?;
    println!(
        "Created the practice \"{}\": it answers at {practice_name}.BASE-DOMAIN (the domain \
         `anteroom serve --hosted --base-domain` is given).",
        setup.details.name
    );
    println!(
        "Its therapist signs in at /office with {email}{}",
        if generated {
            format!(" and the password: {password}")
        } else {
            String::new()
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// The database a new practice goes into (a SQLite file is created by the first, as by
/// `init`), and the key file that wraps its key: created when missing, and checked against
/// the one the database's keys are wrapped with.
pub(crate) async fn open_for_new_practice(
    location: &Location,
    given_key: Option<&std::path::Path>,
) -> anyhow::Result<(crate::location::OpenStore, crypto::MasterKey)> {
    let key_path = key_file(location, given_key)?;
    let mode = match location {
        Location::Postgres(_) => Mode::Existing,
        Location::DataDir(_) | Location::SqliteUrl { .. } => {
            if let (Some(folder), Some(path)) = (location.folder(), location.sqlite_file()) {
                crate::files::create_private_dir(&folder)?;
                if let Some(warning) = crate::files::open_to_others(&path) {
                    tracing::warn!("{warning}");
                }
            }
            Mode::CreateIfMissing
        }
    };
    let store = open_store(location, mode).await?;
    let host = if key_path.exists() {
        crypto::MasterKey::load_file(&key_path)
    } else {
        crypto::MasterKey::create_file(&key_path).inspect(|_| {
            println!(
                "Created the key file {}: each practice's own key is encrypted with it, and \
                 confidential notes with those. Back it up apart from the database.",
                key_path.display()
            );
        })
    };
    let checked = match host {
        Ok(host) => web::keys::check_host_key(&*store, &host)
            .await
            .map(|()| host)
            .map_err(|e| anyhow!("{}: {e}", key_path.display())),
        Err(e) => Err(e.into()),
    };
    match checked {
        Ok(host) => Ok((store, host)),
        Err(error) => {
            store.close().await;
            Err(error)
        }
    }
}

async fn list(data: DataArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(&data.location()?, Mode::Existing).await?;
    let practices = store.hosted_practices().await;
    store.close().await;
    let practices = practices?;
    if practices.is_empty() {
        println!("No practices yet: create one with `anteroom practice create`.");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<24} {:<10} {:>5} {:>7} {:>8}  NAME",
        "HOST", "STATE", "STAFF", "CLIENTS", "BOOKINGS"
    );
    for practice in practices {
        let hosts: Vec<&str> = practice.hosts.iter().map(PracticeHost::as_str).collect();
        let state = match (practice.closing_at, practice.suspended_at) {
            (Some(_), _) => "closing",
            (None, Some(_)) => "suspended",
            (None, None) => "active",
        };
        println!(
            "{:<24} {:<10} {:>5} {:>7} {:>8}  {}",
            if hosts.is_empty() {
                "(no host)".to_owned()
            } else {
                hosts.join(" ")
            },
            state,
            practice.staff,
            practice.clients,
            practice.bookings,
            practice.name
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn suspend(data: DataArgs, host: &str, suspend: bool) -> anyhow::Result<ExitCode> {
    let host = parse_host(host)?;
    let store = open_store(&data.location()?, Mode::Existing).await?;
    let done = async {
        let practice = practice_at(&*store, &host).await?;
        match store
            .set_suspended(practice, suspend.then(Timestamp::now))
            .await
        {
            Err(StoreError::Conflict(ConflictKind::PracticeClosing)) => bail!(
                "the practice at {host} is being closed, for good; run anteroom practice close \
                 --host {host} again to finish",
                host = host.as_str()
            ),
            other => other?,
        }
        anyhow::Ok(())
    }
    .await;
    store.close().await;
    done?;
    if suspend {
        println!(
            "Suspended the practice at {}: its site says it is paused, and its data stays. \
             Every server shows this within a few seconds.",
            host.as_str()
        );
    } else {
        println!(
            "Resumed the practice at {}: its site is back within a few seconds.",
            host.as_str()
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn add_domain(data: DataArgs, host: &str, domain: &str) -> anyhow::Result<ExitCode> {
    let host = parse_host(host)?;
    let domain = DomainName::parse(domain).map_err(|e| UsageError(format!("--domain: {}", e.0)))?;
    let store = open_store(&data.location()?, Mode::Existing).await?;
    let done = async {
        let practice = practice_at(&*store, &host).await?;
        match store
            .add_host(
                practice,
                &PracticeHost::Domain(domain.clone()),
                Timestamp::now(),
            )
            .await
        {
            Err(StoreError::Conflict(store::ConflictKind::HostTaken)) => {
                bail!("{domain} is already a practice's")
            }
            other => other.map_err(anyhow::Error::from),
        }
    }
    .await;
    store.close().await;
    done?;
    println!(
        "The practice at {} now answers on {domain} too, and gives it out as its address. \
         Point {domain}'s DNS at this deployment and give it a TLS certificate.",
        host.as_str()
    );
    Ok(ExitCode::SUCCESS)
}

/// Close the practice at `host`: it must be suspended already (closing is for good, and its
/// site should have said it is paused). Its key goes first, in a transaction of its own, so
/// that whatever is left of its sealed records anywhere can no longer be opened; then all of
/// its records, in one more. A close cut short is finished by running it again.
async fn close(data: DataArgs, host: &str) -> anyhow::Result<ExitCode> {
    let host = parse_host(host)?;
    let location = data.location()?;
    let store = open_store(&location, Mode::Existing).await?;
    let done = async {
        let practice = practice_at(&*store, &host).await?;
        let overview = store
            .hosted_practices()
            .await?
            .into_iter()
            .find(|p| p.id == practice)
            .ok_or(StoreError::NotFound)?;
        match store.begin_closing(practice, Timestamp::now()).await {
            Err(StoreError::Conflict(ConflictKind::PracticeActive)) => bail!(
                "the practice at {host} is active. Closing is for good: suspend it first \
                 (anteroom practice suspend --host {host}), tell its therapist, then close it",
                host = host.as_str()
            ),
            other => other?,
        }
        store.delete_practice(practice).await?;
        anyhow::Ok(overview)
    }
    .await;
    store.close().await;
    let closed = done?;
    println!(
        "Closed the practice at {} (\"{}\"). Its key was destroyed first, so its notes and other \
         sealed records cannot be read from anywhere a copy may remain; then every record of it \
         was deleted: {} staff {}, {} client {}, {} consultation {} and its audit log. Its \
         name and domains are free again.",
        host.as_str(),
        closed.name,
        closed.staff,
        if closed.staff == 1 {
            "account"
        } else {
            "accounts"
        },
        closed.clients,
        if closed.clients == 1 {
            "record"
        } else {
            "records"
        },
        closed.bookings,
        if closed.bookings == 1 {
            "booking"
        } else {
            "bookings"
        },
    );
    println!(
        "Backups made before now still hold its records, and its key wrapped by the key file, \
         until those backups are deleted; Anteroom cannot reach into them. To make its notes in \
         them unreadable now, rotate the key file (anteroom key rotate) and destroy every copy \
         of the old one.{}",
        match location {
            Location::Postgres(_) => {
                " PostgreSQL reuses the deleted rows' space at its next VACUUM; until then \
                 their bytes stay in its data files."
            }
            Location::DataDir(_) | Location::SqliteUrl { .. } => "",
        }
    );
    Ok(ExitCode::SUCCESS)
}
