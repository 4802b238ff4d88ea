//! Back-office accounts from the command line: add one, set a new password, turn off a
//! lost authenticator app; and the passwords these commands generate.

use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use domain::{EmailAddress, PersonName};
use jiff::Timestamp;
use store::{ConflictKind, NewUser, PracticeId, Store, StoreError};

use crate::cli::UserCommand;
use crate::location::{Mode, open_store, practice_of};

/// A generated password: five words and a number, easy to type from a printout.
pub fn new_password() -> String {
    const WORDS: &[&str] = &[
        "amber", "birch", "cedar", "dune", "ember", "fern", "glade", "harbour", "iris", "juniper",
        "kestrel", "linen", "meadow", "north", "orchard", "pebble", "quill", "river", "sorrel",
        "thistle", "umber", "valley", "willow", "yarrow",
    ];
    let words: Vec<&str> = (0..5)
        .map(|_| WORDS[rand::random_range(0..WORDS.len())])
        .collect();
    format!("{}-{}", words.join("-"), rand::random_range(10..100))
}

/// The password from standard input (checked like any new one), or a generated one;
/// whether it was generated, so that it is printed.
pub fn read_password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if !from_stdin {
        return Ok((new_password(), true));
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    web::password::check_new(&password).map_err(|e| anyhow!(e))?;
    Ok((password, false))
}

/// The stored Argon2id hash of a password.
pub(crate) async fn hash(password: String) -> anyhow::Result<String> {
    web::password::make(password).await?
}

/// Add a back-office account (the first of a practice is its owner).
pub async fn add_user(
    store: &dyn Store,
    practice: PracticeId,
    email: &str,
    name: &str,
    password: String,
) -> anyhow::Result<()> {
    let email = EmailAddress::parse(email).map_err(|e| anyhow!("--email: {e}"))?;
    let name = PersonName::parse(name).map_err(|e| anyhow!("--name: {e}"))?;
    let password_hash = hash(password).await?;
    match store
        .create_user(
            practice,
            &NewUser {
                email: email.clone(),
                name,
                password_hash,
            },
            Timestamp::now(),
        )
        .await
    {
        Err(StoreError::Conflict(ConflictKind::UserEmail)) => bail!(
            "there is already an account for {email}; use `anteroom user reset` to set a new password"
        ),
        other => other.map(|_| ()).map_err(Into::into),
    }
}

/// `anteroom user add|reset|reset-second-factor`.
pub async fn user(command: UserCommand) -> anyhow::Result<ExitCode> {
    match command {
        UserCommand::Add {
            data,
            email,
            name,
            password_stdin,
        } => {
            let store = open_store(&data.location()?, Mode::Existing).await?;
            let practice = practice_of(&*store).await?;
            let (password, generated) = read_password(password_stdin)?;
            add_user(&*store, practice, &email, &name, password.clone()).await?;
            store.close().await;
            println!(
                "Added {email}.{}",
                if generated {
                    format!(" Password: {password}")
                } else {
                    String::new()
                }
            );
        }
        UserCommand::Reset {
            data,
            email,
            password_stdin,
        } => {
            let store = open_store(&data.location()?, Mode::Existing).await?;
            let address = EmailAddress::parse(&email).map_err(|e| anyhow!("--email: {e}"))?;
            let user = store
                .user_by_email(&address)
                .await?
                .ok_or_else(|| anyhow!("there is no account for {address}"))?;
            let (password, generated) = read_password(password_stdin)?;
            store
                .set_password(&address, &hash(password.clone()).await?)
                .await?;
            store.delete_user_sessions(user.id).await?;
            store.close().await;
            println!(
                "New password set for {address}; it has been signed out everywhere.{}",
                if generated {
                    format!(" Password: {password}")
                } else {
                    String::new()
                }
            );
        }
        UserCommand::ResetSecondFactor { data, email } => {
            let store = open_store(&data.location()?, Mode::Existing).await?;
            let address = EmailAddress::parse(&email).map_err(|e| anyhow!("--email: {e}"))?;
            let user = store
                .user_by_email(&address)
                .await?
                .ok_or_else(|| anyhow!("there is no account for {address}"))?;
            if store.authenticator(user.id).await?.is_none() {
                store.close().await;
                println!("{address} has no authenticator app; nothing to do.");
                return Ok(ExitCode::SUCCESS);
            }
            store.disable_authenticator(user.id).await?;
            store.delete_user_sessions(user.id).await?;
            // Written down like any other change to how someone signs in.
            let entry = store::NewAuditEntry {
                actor: store::Actor::System,
                action: store::AuditAction::SecondFactorDisabled,
                client: None,
                object: Some(("user", user.id.get())),
                source: None,
            };
            store
                .append_audit(user.practice, &entry, Timestamp::now())
                .await?;
            store.close().await;
            println!(
                "Turned off the authenticator app of {address} and signed it out everywhere. \
                 Ask them to set up a new one under Settings, Sign-in and security."
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::DataArgs;
    use crate::content;
    use crate::location::Location;

    #[tokio::test]
    async fn the_first_account_owns_the_practice_and_a_lost_app_can_be_reset_from_the_server() {
        let dir = tempfile::tempdir().unwrap();
        let database = Location::DataDir(dir.path().to_path_buf());
        let store = open_store(&database, Mode::CreateIfMissing).await.unwrap();
        let now = Timestamp::now();
        let practice = store
            .create_practice(&content::embedded_practice("demo").unwrap(), now)
            .await
            .unwrap();
        add_user(
            &*store,
            practice,
            "owner@example.com",
            "Alex Owner",
            "x".repeat(16),
        )
        .await
        .unwrap();
        add_user(
            &*store,
            practice,
            "staff@example.com",
            "Sam Staff",
            "y".repeat(16),
        )
        .await
        .unwrap();
        let owner = EmailAddress::parse("owner@example.com").unwrap();
        let staff = EmailAddress::parse("staff@example.com").unwrap();
        let owner_row = store.user_by_email(&owner).await.unwrap().unwrap();
        assert!(owner_row.owner);
        assert!(!store.user_by_email(&staff).await.unwrap().unwrap().owner);
        store
            .begin_authenticator(owner_row.id, b"sealed", b"session")
            .await
            .unwrap();
        store
            .enable_authenticator(owner_row.id, b"sealed", b"session", 1, &[vec![1; 32]], now)
            .await
            .unwrap();
        store
            .create_session(b"session", owner_row.id, now)
            .await
            .unwrap();
        store.close().await;

        let data = || DataArgs {
            data_dir: Some(dir.path().to_path_buf()),
            database_url: None,
        };
        user(UserCommand::ResetSecondFactor {
            data: data(),
            email: "owner@example.com".into(),
        })
        .await
        .unwrap();
        let store = open_store(&database, Mode::Existing).await.unwrap();
        let after = store.user_by_email(&owner).await.unwrap().unwrap();
        assert!(!after.second_factor, "the app is off");
        assert!(store.authenticator(after.id).await.unwrap().is_none());
        assert_eq!(store.recovery_codes_left(after.id).await.unwrap(), 0);
        assert!(
            store.session(b"session").await.unwrap().is_none(),
            "signed out everywhere"
        );
        store.close().await;
        assert!(
            user(UserCommand::ResetSecondFactor {
                data: data(),
                email: "nobody@example.com".into(),
            })
            .await
            .is_err()
        );
    }
}
