//! `anteroom practice export` and `import`: a practice moved between deployments and engines.
//!
//! The export is one file holding every row of the practice (`store::moving::Dump`, numbered
//! by the dump itself) and the practice's own key, the whole sealed with a key made for this
//! export alone, which is written to a second file beside it (`FILE.key`, 0600). The export
//! holds the practice's clients' names and addresses, so it is never written in the clear;
//! its notes and secrets are sealed inside it a second time, as they are in the database.
//! Carry the two files apart. The import opens the export with its key, seals the practice's
//! key under the key file of the database it arrives in, and writes the practice in one
//! transaction.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{Context, anyhow, bail};
use jiff::Timestamp;
use store::{ConflictKind, PracticeHost, PracticeId, Store, StoreError};

use crate::cli::{DataArgs, UsageError};
use crate::keys::key_file;
use crate::location::{Mode, open_store};

pub use web::export::Payload;

/// The key file that opens `export`, when not given: `FILE.key` beside it.
pub fn transfer_key_path(export: &Path) -> PathBuf {
    let mut name = export.as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

/// Read an export with its key: the payload, checked.
pub fn open_export(file: &Path, key_path: &Path) -> anyhow::Result<Payload> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let key = crypto::MasterKey::load_file(key_path)?;
    web::export::open(&bytes, &key).map_err(|e| match e {
        web::export::OpenError::WrongKey => anyhow!(
            "{} does not open with {}: the wrong key, or the export was changed or damaged",
            file.display(),
            key_path.display()
        ),
        other => anyhow!("{}: {other}", file.display()),
    })
}

/// The practice to export: the one at `host`, or, without one, the database's only practice.
async fn practice_to_export(
    store: &dyn Store,
    host: Option<&PracticeHost>,
) -> anyhow::Result<PracticeId> {
    if let Some(host) = host {
        return crate::practices::practice_at(store, host).await;
    }
    match store.practice_ids().await?.as_slice() {
        [one] => Ok(*one),
        [] => bail!("the database holds no practice"),
        _ => Err(UsageError(
            "the database holds several practices: say which with --host HOST".into(),
        )
        .into()),
    }
}

/// `anteroom practice export`.
pub async fn export(
    data: DataArgs,
    host: Option<&str>,
    to: &Path,
    given_key: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let host = host.map(crate::practices::parse_host).transpose()?;
    let key_path = transfer_key_path(to);
    for path in [to, key_path.as_path()] {
        if path.exists() {
            bail!("{} exists already; choose another --to", path.display());
        }
    }
    let location = data.location()?;
    let host_key = crypto::MasterKey::load_file(&key_file(&location, given_key)?)?;
    let store = open_store(&location, Mode::Existing).await?;
    let made = async {
        let practice = practice_to_export(&*store, host.as_ref()).await?;
        web::export::payload(&*store, &host_key, practice, Timestamp::now()).await
    }
    .await;
    store.close().await;
    let payload = made?;
    let rows = payload.rows();
    write_export(to, &key_path, &payload)?;
    println!(
        "Exported the practice \"{}\" to {}: {rows} records, its notes still sealed. The key \
         that opens the export is in {}: carry the two files separately, and delete both once \
         the practice is imported. Import it with: anteroom practice import {} …",
        payload.practice_name(),
        to.display(),
        key_path.display(),
        to.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Write the sealed export and the key that opens it, both 0600; the key first, so that an
/// export is never on disk without its key.
fn write_export(to: &Path, key_path: &Path, payload: &Payload) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let transfer = crypto::MasterKey::generate();
    transfer.write_new_file(key_path)?;
    let sealed = web::export::seal(payload, &transfer)?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(to)
        .with_context(|| format!("cannot create {}", to.display()))?;
    file.write_all(&sealed)?;
    file.sync_all()?;
    Ok(())
}

/// `anteroom practice import`.
pub async fn import(
    file: &Path,
    data: DataArgs,
    host: Option<&str>,
    transfer_key: Option<&Path>,
    given_key: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let name = match host.map(crate::practices::parse_host).transpose()? {
        Some(PracticeHost::Name(name)) => Some(name),
        Some(PracticeHost::Domain(_)) => {
            return Err(UsageError(
                "--host: an imported practice is given a name under the base domain, like \
                 alex-morgan; add its own domains after, with practice add-domain"
                    .into(),
            )
            .into());
        }
        None => None,
    };
    let key_path = transfer_key.map_or_else(|| transfer_key_path(file), Path::to_path_buf);
    let payload = open_export(file, &key_path)?;
    if !payload.dump.chain_holds()? {
        bail!("the export's audit log does not verify; nothing was imported");
    }
    let practice_key = crypto::MasterKey::parse(&payload.key, "the export")?;
    let location = data.location()?;
    let (store, host_key) = crate::practices::open_for_new_practice(&location, given_key).await?;
    let loaded = async {
        if name.is_none() && !store.practice_ids().await?.is_empty() {
            return Err(UsageError(
                "the database holds practices already: give the imported one a name with \
                 --host NAME (hosted mode), or import into an empty database"
                    .into(),
            )
            .into());
        }
        let rekey = web::keys::Rekey::new(&practice_key, Some(&host_key), &payload.dump)
            .map_err(|e| anyhow!(e))?;
        let loaded = store
            .load_practice(
                &payload.dump,
                &rekey,
                name.as_ref(),
                &host_key.id(),
                Timestamp::now(),
            )
            .await;
        match loaded {
            Err(StoreError::Conflict(ConflictKind::HostTaken)) => Err(anyhow!(
                "the name {} is already a practice's; choose another",
                name.as_ref().map(|n| n.as_str()).unwrap_or_default()
            )),
            Err(StoreError::Conflict(ConflictKind::UserEmail)) => Err(anyhow!(
                "one of the practice's staff email addresses is already an account in this \
                 database; nothing was imported"
            )),
            Err(StoreError::Conflict(ConflictKind::HostKeyChanged)) => Err(anyhow!(
                "this database's keys are wrapped with another key file than the one given"
            )),
            other => Ok(other?),
        }
    }
    .await;
    store.close().await;
    let practice = loaded?;
    let rows = payload.rows();
    println!(
        "Imported the practice \"{}\" (practice {practice}): {rows} records, its notes sealed \
         under this database's key file, its audit log chained again here.{} Its therapist and \
         clients sign in again at its new address. Delete the export and its key file now.",
        payload.practice_name(),
        match &name {
            Some(name) => format!(" It answers at {name}.BASE-DOMAIN."),
            None => String::new(),
        }
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use domain::{EmailAddress, PersonName};
    use store::{
        Actor, AuditAction, NewAuditEntry, NewUser, PracticeId,
        moving::{Cell, Dump},
    };
    use web::keys::{client_key_binding, note_binding, secret_binding};

    use super::*;
    use crate::location::Location;

    const NOTE: &str = "canary-move-51c: she spoke about the new job";

    fn at(location: &Location) -> DataArgs {
        match location {
            Location::DataDir(dir) => DataArgs {
                data_dir: Some(dir.clone()),
                database_url: None,
            },
            Location::Postgres(url) => DataArgs {
                data_dir: None,
                database_url: Some(url.secret().to_owned()),
            },
            Location::SqliteUrl { .. } => unreachable!(),
        }
    }

    /// A new hosted practice at `name` from the embedded `setup`, with its owner's account
    /// and its own key: the store (still open), that key, the practice and its setup.
    async fn new_practice(
        location: &Location,
        key: Option<&Path>,
        (name, email, person): (&str, &str, &str),
        setup: &str,
    ) -> (
        crate::location::OpenStore,
        crypto::MasterKey,
        PracticeId,
        domain::practice::PracticeSetup,
    ) {
        let (store, host) = crate::practices::open_for_new_practice(location, key)
            .await
            .unwrap();
        let setup = crate::content::embedded_practice(setup).unwrap();
        let owner = NewUser {
            email: EmailAddress::parse(email).unwrap(),
            name: PersonName::parse(person).unwrap(),
            password_hash: "h".into(),
        };
        let name = domain::hosting::PracticeName::parse(name).unwrap();
        let now = Timestamp::now();
        let practice = store
            .create_hosted_practice(&setup, &name, &owner, now)
            .await
            .unwrap();
        let key = web::keys::open_or_adopt(&*store, &host, practice, now)
            .await
            .unwrap();
        (store, key, practice, setup)
    }

    /// A practice as a therapist has it after a while: the demo's clients, contracts,
    /// sessions and invoices, a note, an authenticator app and audit entries.
    async fn a_practice_in(location: &Location, key: Option<&Path>) {
        let owner = "tamsin@therapists.example";
        let (store, key, practice, setup) =
            new_practice(location, key, ("sam", owner, "Tamsin Adeyemi-Holt"), "demo").await;
        let now = Timestamp::now();
        crate::demo_therapy::seed(&*store, practice, &setup, now)
            .await
            .unwrap();
        let client = store.clients(practice).await.unwrap().remove(0).id;
        let data = crypto::DataKey::generate();
        store
            .add_client_key(
                practice,
                client,
                &key.wrap(&data, &client_key_binding(practice, client)),
                now,
            )
            .await
            .unwrap();
        let seal = |note| data.seal(NOTE.as_bytes(), &note_binding(practice, note));
        store
            .save_note(practice, client, None, None, &seal, now)
            .await
            .unwrap();
        let owner = EmailAddress::parse(owner).unwrap();
        let user = store.user_by_email(&owner).await.unwrap().unwrap().id;
        store
            .begin_authenticator(
                user,
                &key.seal_secret(b"twenty secret bytes!", &secret_binding(practice, user)),
                b"session",
            )
            .await
            .unwrap();
        for action in [AuditAction::ClientViewed, AuditAction::NoteWritten] {
            store
                .append_audit(
                    practice,
                    &NewAuditEntry {
                        actor: Actor::Staff(user),
                        action,
                        client: Some(client),
                        object: Some(("client", client.get())),
                        source: None,
                    },
                    now,
                )
                .await
                .unwrap();
        }
        store.close().await;
    }

    /// The export's dump with its sealed values opened: what two exports of one practice
    /// must agree on (sealed bytes differ by their fresh nonces).
    fn opened(payload: &Payload) -> Dump {
        let key = crypto::MasterKey::parse(&payload.key, "test").unwrap();
        let mut dump = payload.dump.clone();
        let practice = PracticeId::new(dump.practice);
        let mut data_keys = std::collections::HashMap::new();
        for table in &mut dump.tables {
            let columns = (
                table.column("id"),
                table.column("client_id"),
                table.column("wrapped"),
                table.column("body"),
                table.column("totp_secret"),
            );
            for row in &mut table.rows {
                match (table.name.as_str(), columns) {
                    ("client_keys", (_, Some(c), Some(w), ..)) => {
                        let client = store::ClientId::new(row[c].integer().unwrap());
                        let Cell::Bytes(wrapped) = &row[w] else {
                            panic!()
                        };
                        let data = key
                            .unwrap(wrapped, &client_key_binding(practice, client))
                            .expect("the client key opens under its new numbers");
                        row[w] = Cell::Text("a data key".into());
                        data_keys.insert(client.get(), data);
                    }
                    ("users", (Some(i), .., Some(t))) => {
                        if let Cell::Bytes(sealed) = &row[t] {
                            let user = store::UserId::new(row[i].integer().unwrap());
                            let secret = key
                                .open_secret(sealed, &secret_binding(practice, user))
                                .expect("the secret opens under its new numbers");
                            row[t] = Cell::Text(String::from_utf8(secret.to_vec()).unwrap());
                        }
                    }
                    _ => {}
                }
            }
        }
        for table in dump.tables.iter_mut().filter(|t| t.name == "notes") {
            let (i, c, b) = (
                table.column("id").unwrap(),
                table.column("client_id").unwrap(),
                table.column("body").unwrap(),
            );
            for row in &mut table.rows {
                let Cell::Bytes(body) = &row[b] else { panic!() };
                let data = &data_keys[&row[c].integer().unwrap()];
                let note = store::NoteId::new(row[i].integer().unwrap());
                let text = data.open(body, &note_binding(practice, note)).unwrap();
                row[b] = Cell::Text(String::from_utf8(text.to_vec()).unwrap());
            }
        }
        dump
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_practice_goes_self_hosted_to_hosted_and_back_exactly() {
        let root = tempfile::tempdir().unwrap();
        let first = Location::DataDir(root.path().join("self-hosted"));
        a_practice_in(&first, None).await;
        let first_export = root.path().join("first.export");
        export(at(&first), Some("sam"), &first_export, None)
            .await
            .unwrap();
        let first_payload = open_export(&first_export, &transfer_key_path(&first_export)).unwrap();
        let bytes = std::fs::read(&first_export).unwrap();
        for secret in [NOTE, "tamsin@therapists.example", "canary-move"] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} in the export file"
            );
        }
        use std::os::unix::fs::PermissionsExt;
        for file in [first_export.clone(), transfer_key_path(&first_export)] {
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", file.display());
        }

        // Hosted: on PostgreSQL when a server is at hand, with a key file of its own.
        let database = store_postgres::testing::TestDatabase::create().await;
        let hosted = match &database {
            Some(db) => Location::parse_url(&db.url).unwrap(),
            None => Location::DataDir(root.path().join("hosted")),
        };
        let hosted_key = root.path().join("hosted.key");
        // Another practice is there already.
        a_practice_in_with_another_email(&hosted, &hosted_key).await;
        import(
            &first_export,
            at(&hosted),
            Some("moved"),
            None,
            Some(&hosted_key),
        )
        .await
        .unwrap();
        let second_export = root.path().join("second.export");
        export(
            at(&hosted),
            Some("moved"),
            &second_export,
            Some(&hosted_key),
        )
        .await
        .unwrap();

        // And back to a self-hosted practice of its own.
        let last = Location::DataDir(root.path().join("back"));
        import(&second_export, at(&last), None, None, None)
            .await
            .unwrap();
        let last_export = root.path().join("last.export");
        export(at(&last), None, &last_export, None).await.unwrap();

        let second_payload =
            open_export(&second_export, &transfer_key_path(&second_export)).unwrap();
        let last_payload = open_export(&last_export, &transfer_key_path(&last_export)).unwrap();
        let expected = opened(&first_payload);
        for (name, payload) in [("hosted", &second_payload), ("back", &last_payload)] {
            let arrived = opened(payload);
            for (left, right) in expected.tables.iter().zip(&arrived.tables) {
                assert_eq!(left, right, "{name}: {} row for row", left.name);
            }
            assert_eq!(expected, arrived, "{name}");
        }
        assert_eq!(
            first_payload.key, last_payload.key,
            "the practice keeps its key"
        );

        // The practice works where it arrived: its note opens with that key file, and its
        // audit log verifies.
        let store = open_store(&last, Mode::Existing).await.unwrap();
        let arrived = store.first_practice().await.unwrap().unwrap();
        let host = crypto::MasterKey::load_file(&key_file(&last, None).unwrap()).unwrap();
        let key = web::keys::open_or_adopt(&*store, &host, arrived, Timestamp::now())
            .await
            .unwrap();
        let client = store.clients(arrived).await.unwrap().remove(0).id;
        let data = key
            .unwrap(
                &store.client_key(arrived, client).await.unwrap().unwrap(),
                &client_key_binding(arrived, client),
            )
            .unwrap();
        let note = store.notes(arrived, client).await.unwrap().remove(0);
        assert_eq!(
            data.open(&note.body, &note_binding(arrived, note.id))
                .unwrap()
                .as_slice(),
            NOTE.as_bytes()
        );
        store::audit::verify(&*store, arrived)
            .await
            .unwrap()
            .expect("the audit log verifies where it arrived");
        store.close().await;
    }

    async fn a_practice_in_with_another_email(location: &Location, key: &Path) {
        let (store, ..) = new_practice(
            location,
            Some(key),
            ("alex", "alex@therapists.example", "Alex Morgan"),
            "starter",
        )
        .await;
        store.close().await;
    }
}
