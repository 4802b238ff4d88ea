//! The host's key file: where it is, loading or creating it for serving, and rotating it.
//! It wraps each practice's own key (see `web::keys`), which wraps the practice's client
//! keys and seals its staff's authenticator secrets.
//!
//! The key file is `--key-file FILE` (`ANTEROOM_KEY_FILE`) when given, else `anteroom.key`
//! beside the SQLite database: `DIR/anteroom.key` with `--data-dir DIR`, and the database
//! file's own folder with `--database-url sqlite://…`. `ANTEROOM_KEY` (the key itself) takes
//! precedence for serving. A PostgreSQL database has no folder of its own, so it must be
//! given `--key-file` (or `ANTEROOM_KEY_FILE`).

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{Context, anyhow, bail};

use crate::cli::DataArgs;
use crate::location::{Location, Mode, open_store};

/// The key file: `given` (`--key-file`), else `anteroom.key` beside the SQLite database.
pub fn key_file(location: &Location, given: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(given) = given {
        return Ok(given.to_path_buf());
    }
    match location.sqlite_file() {
        Some(file) => Ok(file.with_file_name("anteroom.key")),
        None => bail!(
            "a PostgreSQL database has no folder for the key file that encrypts notes: give \
             --key-file FILE (or ANTEROOM_KEY_FILE), kept apart from the database's backups"
        ),
    }
}

/// The host key for serving: `ANTEROOM_KEY` (the key itself), else the key file
/// (`--key-file`, or `anteroom.key` beside the database), which must be readable by its owner
/// only. A practice that has no key file yet gets one, and is told to back it up.
pub fn host_key(location: &Location, given: Option<&Path>) -> anyhow::Result<crypto::MasterKey> {
    if let Ok(text) = std::env::var("ANTEROOM_KEY") {
        return Ok(crypto::MasterKey::parse(&text, "ANTEROOM_KEY")?);
    }
    let path = key_file(location, given)?;
    if path.exists() {
        return Ok(crypto::MasterKey::load_file(&path)?);
    }
    let key = crypto::MasterKey::create_file(&path)?;
    eprintln!(
        "anteroom: created the key file {}: confidential notes are encrypted with it. Back it up \
         somewhere other than the database's backups: without it the notes cannot be read.",
        path.display()
    );
    Ok(key)
}

/// Replace the key file: write the new key beside the old one, re-wrap every practice's key
/// in one transaction, then move the new key file into place. Nothing changes if any
/// practice key does not open with the current key file.
pub async fn rotate(data: DataArgs, given: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let location = data.location()?;
    let count = rotate_key(&location, given.as_deref()).await?;
    println!(
        "Rotated the key: {count} practice {} re-wrapped with the new key in {}. The old key \
         opens nothing now; back up the new key file apart from the database, and restart \
         every server process with it.",
        if count == 1 { "key" } else { "keys" },
        key_file(&location, given.as_deref())?.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Rotate the key file of the database at `location`; how many practice keys were re-wrapped.
pub async fn rotate_key(location: &Location, given: Option<&Path>) -> anyhow::Result<usize> {
    if std::env::var_os("ANTEROOM_KEY").is_some() {
        bail!("ANTEROOM_KEY is set: rotating needs a key file (unset it and use --key-file)");
    }
    let path = key_file(location, given)?;
    if !path.exists() {
        bail!("there is no key file at {}", path.display());
    }
    let old = crypto::MasterKey::load_file(&path)?;
    let store = open_store(location, Mode::Existing).await?;
    let staged = path.with_extension("key.new");
    if staged.exists() {
        bail!(
            "{} is left from an earlier rotation; check which key opens the database, then remove it",
            staged.display()
        );
    }
    // The new key is safely on disk before the database depends on it.
    let new = crypto::MasterKey::create_file(&staged)?;
    let now = jiff::Timestamp::now();
    let count = match web::keys::rewrap_all(&*store, &old, &new, now).await {
        Ok(count) => count,
        Err(error) => {
            store.close().await;
            // Nothing was changed: the new key wraps nothing.
            let _ = std::fs::remove_file(&staged);
            return Err(anyhow!("{error}: the key file is unchanged"));
        }
    };
    store.close().await;
    std::fs::rename(&staged, &path).with_context(|| {
        format!(
            "the practice keys are re-wrapped with {}; move it to {} by hand",
            staged.display(),
            path.display()
        )
    })?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use domain::{EmailAddress, PersonName};
    use jiff::Timestamp;
    use store::NewUser;

    use super::*;
    use crate::content;

    #[test]
    fn serving_makes_a_private_key_file_once_and_refuses_one_others_can_read() {
        let dir = tempfile::tempdir().unwrap();
        let database = Location::DataDir(dir.path().to_path_buf());
        let key_path = key_file(&database, None).unwrap();
        assert_eq!(key_path, dir.path().join("anteroom.key"));
        let made = host_key(&database, None).unwrap();
        let mode = std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = host_key(&database, None).unwrap();
        assert_eq!(made.to_text(), again.to_text(), "the same key next time");
        std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let refused = host_key(&database, None).unwrap_err().to_string();
        assert!(refused.contains("can be read by others"), "{refused}");
        // --key-file elsewhere.
        let elsewhere = dir.path().join("keys").join("practice.key");
        std::fs::create_dir_all(elsewhere.parent().unwrap()).unwrap();
        host_key(&database, Some(&elsewhere)).unwrap();
        assert!(elsewhere.exists());
    }

    #[tokio::test]
    async fn rotating_the_key_rewraps_every_client_key_and_the_old_key_opens_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let database = Location::DataDir(dir.path().to_path_buf());
        let old = host_key(&database, None).unwrap();
        let store = open_store(&database, Mode::CreateIfMissing).await.unwrap();
        let now = Timestamp::now();
        let practice = store
            .create_practice(&content::embedded_practice("demo").unwrap(), now)
            .await
            .unwrap();
        let client = store
            .create_client(
                practice,
                &store::NewClient {
                    name: PersonName::parse("Robin Vale").unwrap(),
                    email: EmailAddress::parse("robin@example.com").unwrap(),
                    phone: None,
                    contact_preference: domain::ContactPreference::Email,
                    reminders: true,
                },
                None,
                now,
            )
            .await
            .unwrap();
        let binding = crypto::row_binding(practice.get(), "client_keys", client.get(), "key");
        let data_key = crypto::DataKey::generate();
        store
            .add_client_key(practice, client, &old.wrap(&data_key, &binding), now)
            .await
            .unwrap();
        let sealed = data_key.seal(b"a note", b"here");
        let staff = store
            .create_user(
                practice,
                &NewUser {
                    email: EmailAddress::parse("alex@example.com").unwrap(),
                    name: PersonName::parse("Alex").unwrap(),
                    password_hash: "h".into(),
                },
                now,
            )
            .await
            .unwrap();
        let totp_binding = crypto::row_binding(practice.get(), "users", staff.get(), "totp_secret");
        store
            .begin_authenticator(
                staff,
                &old.seal_secret(b"twenty secret bytes!", &totp_binding),
                b"session",
            )
            .await
            .unwrap();
        store.close().await;

        // The database predates practices' own keys: its secrets are under the key file.
        // Rotating first gives the practice its key, then re-wraps that key alone.
        assert_eq!(rotate_key(&database, None).await.unwrap(), 1);
        let new = host_key(&database, None).unwrap();
        assert_ne!(new.to_text(), old.to_text());
        assert!(!dir.path().join("anteroom.key.new").exists());
        let store = open_store(&database, Mode::Existing).await.unwrap();
        let practice_key = store.practice_key(practice).await.unwrap().unwrap();
        let practice_binding = web::keys::practice_binding(practice);
        assert!(
            old.unwrap_key(&practice_key, &practice_binding).is_err(),
            "the old key opens nothing"
        );
        let own = new.unwrap_key(&practice_key, &practice_binding).unwrap();
        assert_eq!(
            store.host_key_id().await.unwrap().unwrap(),
            new.id(),
            "the database knows which key file wraps its keys"
        );
        let wrapped = store.client_key(practice, client).await.unwrap().unwrap();
        assert!(old.unwrap(&wrapped, &binding).is_err());
        assert!(
            new.unwrap(&wrapped, &binding).is_err(),
            "under the practice's key"
        );
        let secret = store
            .authenticator(staff)
            .await
            .unwrap()
            .unwrap()
            .sealed_secret;
        assert!(old.open_secret(&secret, &totp_binding).is_err());
        assert_eq!(
            own.open_secret(&secret, &totp_binding).unwrap().as_slice(),
            b"twenty secret bytes!",
            "staff authenticator secrets are re-sealed with the client keys"
        );
        let reopened = own.unwrap(&wrapped, &binding).unwrap();
        assert_eq!(
            reopened.open(&sealed, b"here").unwrap().as_slice(),
            b"a note"
        );
        // An operator of the console, whose app's secret is sealed with the key file itself,
        // signed in at the moment.
        let operator = store
            .create_operator(
                &NewUser {
                    email: EmailAddress::parse("ops@host.example").unwrap(),
                    name: PersonName::parse("Sam Ops").unwrap(),
                    password_hash: "h".into(),
                },
                now,
            )
            .await
            .unwrap();
        let operator_binding = web::keys::operator_secret_binding(operator);
        store
            .enable_operator_authenticator(
                operator,
                &new.seal_secret(b"operator secret 20b!", &operator_binding),
                1,
                now,
            )
            .await
            .unwrap();
        store
            .start_operator_session(b"op-session", operator, store::SessionStage::SignedIn, now)
            .await
            .unwrap();
        store.close().await;

        // A second rotation re-wraps the practice key and re-seals the operator's secret; the
        // practice's key is the same, and the operator signs in again.
        assert_eq!(rotate_key(&database, None).await.unwrap(), 1);
        let newer = host_key(&database, None).unwrap();
        let store = open_store(&database, Mode::Existing).await.unwrap();
        let resealed = store.operators().await.unwrap()[0]
            .sealed_secret
            .clone()
            .unwrap();
        assert!(new.open_secret(&resealed, &operator_binding).is_err());
        assert_eq!(
            newer
                .open_secret(&resealed, &operator_binding)
                .unwrap()
                .as_slice(),
            b"operator secret 20b!"
        );
        assert!(
            store
                .operator_session(b"op-session")
                .await
                .unwrap()
                .is_none(),
            "operator sessions end with a rotation"
        );
        let rewrapped = store.practice_key(practice).await.unwrap().unwrap();
        assert!(new.unwrap_key(&rewrapped, &practice_binding).is_err());
        assert_eq!(
            newer
                .unwrap_key(&rewrapped, &practice_binding)
                .unwrap()
                .to_text(),
            own.to_text()
        );
        assert_eq!(
            store.client_key(practice, client).await.unwrap().unwrap(),
            wrapped,
            "client keys are untouched"
        );
        store.close().await;

        // With the wrong key file nothing changes.
        std::fs::remove_file(key_file(&database, None).unwrap()).unwrap();
        crypto::MasterKey::create_file(&key_file(&database, None).unwrap()).unwrap();
        assert!(rotate_key(&database, None).await.is_err());
        let refused = rotate_key(&database, None).await.unwrap_err().to_string();
        assert!(refused.contains("another key file"), "{refused}");
        assert!(!dir.path().join("anteroom.key.new").exists());
        let store = open_store(&database, Mode::Existing).await.unwrap();
        assert_eq!(
            store.practice_key(practice).await.unwrap().unwrap(),
            rewrapped
        );
    }
}
