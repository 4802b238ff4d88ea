//! Where a practice's data is, and opening its store.
//!
//! Every command that opens a practice is told where with exactly one of `--data-dir DIR`
//! (`ANTEROOM_DATA_DIR`) or `--database-url URL` (`ANTEROOM_DATABASE_URL`). Accepted URLs:
//!
//! - `sqlite:///absolute/path/anteroom.db`: that file (three slashes: the path starts with `/`);
//! - `sqlite://relative/path/anteroom.db`: relative to the working directory (there is no
//!   host part; `sqlite://localhost/x.db` is the file `localhost/x.db`);
//! - `%XX` in the path is decoded (`sqlite:///srv/my%20practice/anteroom.db`); options after
//!   `?` or `#` are refused, since Anteroom sets SQLite's options itself;
//! - `postgres://…` and `postgresql://…`: a PostgreSQL database (15 or newer), passed to
//!   the driver as given (its options after `?`, such as `sslmode`, included); the database
//!   must exist, and Anteroom brings its schema up to date. Any other scheme is refused
//!   naming the accepted ones.
//!
//! A mistake here is a usage error (exit status 2, like clap's own), and no message repeats
//! a PostgreSQL URL's password ([`Location::option`] and `Debug` leave it out). After
//! opening, commands hold the store as `dyn Store`; only SQLite-only work (backups, file
//! modes, the key file's default place beside the database) asks for the database file,
//! which a PostgreSQL location does not have.

use std::{
    ffi::OsString,
    ops::Deref,
    os::unix::ffi::OsStringExt,
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::{anyhow, bail};
use store::{PracticeId, Store, StoreError};
use store_postgres::PgStore;
use store_sqlite::{OpenMode, SqliteStore};

use crate::cli::{DataArgs, UsageError};

/// Where a practice's data is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `--data-dir DIR`: the database `DIR/anteroom.db`.
    DataDir(PathBuf),
    /// `--database-url sqlite://…`: that database file, and the URL as given (for messages).
    SqliteUrl { file: PathBuf, url: String },
    /// `--database-url postgres://…`: a PostgreSQL database.
    Postgres(PostgresUrl),
}

/// A PostgreSQL URL, which may hold a password: shown without it.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl(String);

impl PostgresUrl {
    /// The URL as given, for the driver only.
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// The URL with any password replaced by `***`, for messages.
    pub fn redacted(&self) -> String {
        let url = &self.0;
        let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
            return url.clone();
        };
        let rest = &url[scheme_end..];
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        match rest[..authority_end].rfind('@') {
            Some(at) => match rest[..at].find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end],
                    &rest[..colon],
                    &rest[at..]
                ),
                None => url.clone(),
            },
            None => url.clone(),
        }
    }
}

impl std::fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Whether opening may create the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// It must exist (`serve` and the rest): a mistyped path is an error, not a new practice.
    Existing,
    /// Create it when missing (`init`, `demo`).
    CreateIfMissing,
}

const EXAMPLE_URL: &str = "sqlite:///var/lib/anteroom/anteroom.db";

impl DataArgs {
    /// The location these options name: exactly one of `--data-dir` and `--database-url`.
    pub fn location(&self) -> Result<Location, UsageError> {
        match Location::optional(self.data_dir.as_deref(), self.database_url.as_deref())? {
            Some(location) => Ok(location),
            None => Err(UsageError(format!(
                "say where the practice's data is: --data-dir DIR (or ANTEROOM_DATA_DIR), or \
                 --database-url URL (or ANTEROOM_DATABASE_URL) such as {EXAMPLE_URL}"
            ))),
        }
    }
}

impl Location {
    /// The location named by at most one of `--data-dir` and `--database-url` (`None` for
    /// neither: `demo` then uses a temporary folder).
    pub fn optional(
        data_dir: Option<&Path>,
        database_url: Option<&str>,
    ) -> Result<Option<Self>, UsageError> {
        match (data_dir, database_url) {
            (Some(_), Some(_)) => Err(UsageError(
                "give either --data-dir (ANTEROOM_DATA_DIR) or --database-url \
                 (ANTEROOM_DATABASE_URL), not both"
                    .into(),
            )),
            (Some(dir), None) => Ok(Some(Self::DataDir(dir.to_path_buf()))),
            (None, Some(url)) => Self::parse_url(url).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// A `--database-url`, read as the module docs say.
    pub fn parse_url(url: &str) -> Result<Self, UsageError> {
        let usage = |text: String| UsageError(format!("--database-url: {text}"));
        let Some((scheme, rest)) = url.split_once(':') else {
            return Err(usage(format!(
                "this is not a URL; give one such as {EXAMPLE_URL}"
            )));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => {}
            "postgres" | "postgresql" => {
                if !rest.starts_with("//") {
                    return Err(usage(
                        "write postgres:// before the server, such as \
                         postgres://anteroom@db.example/anteroom"
                            .into(),
                    ));
                }
                return Ok(Self::Postgres(PostgresUrl(url.to_owned())));
            }
            _ => {
                return Err(usage(format!(
                    "the scheme {:?} is not one Anteroom knows; use sqlite://PATH such as \
                     {EXAMPLE_URL}, or postgres://USER@HOST/DATABASE",
                    scheme.chars().take(20).collect::<String>()
                )));
            }
        }
        let Some(path) = rest.strip_prefix("//") else {
            return Err(usage(format!(
                "write sqlite:// before the path, such as {EXAMPLE_URL}"
            )));
        };
        if path.contains(['?', '#']) {
            return Err(usage(
                "options after ? or # are not accepted (Anteroom sets SQLite's options \
                 itself); write a ? or # in a file name as %3F or %23"
                    .into(),
            ));
        }
        let file = percent_decoded(path).ok_or_else(|| {
            usage("a % in the path must be followed by two hex digits (%20 for a space)".into())
        })?;
        if file.as_os_str().is_empty() || path.ends_with('/') {
            return Err(usage(format!(
                "name the database file itself, such as {EXAMPLE_URL}"
            )));
        }
        Ok(Self::SqliteUrl {
            file,
            url: url.to_owned(),
        })
    }

    /// The SQLite database file; `None` for PostgreSQL. Its callers (backups, file modes,
    /// the key file's default place) are the SQLite-only parts of the command line.
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        match self {
            Self::DataDir(dir) => Some(dir.join("anteroom.db")),
            Self::SqliteUrl { file, .. } => Some(file.clone()),
            Self::Postgres(_) => None,
        }
    }

    /// The folder the SQLite database lives in (`.` for a bare file name); `None` for
    /// PostgreSQL.
    pub fn folder(&self) -> Option<PathBuf> {
        match self {
            Self::DataDir(dir) => Some(dir.clone()),
            Self::SqliteUrl { file, .. } => Some(match file.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
                _ => PathBuf::from("."),
            }),
            Self::Postgres(_) => None,
        }
    }

    /// The option that names this location again, for the next command to run (a
    /// PostgreSQL URL without its password).
    pub fn option(&self) -> String {
        match self {
            Self::DataDir(dir) => format!("--data-dir {}", dir.display()),
            Self::SqliteUrl { url, .. } => format!("--database-url {url}"),
            Self::Postgres(url) => format!("--database-url {}", url.redacted()),
        }
    }

    /// Where the data is, for a sentence ("Created the practice in …").
    pub fn describe(&self) -> String {
        match self {
            Self::DataDir(dir) => dir.display().to_string(),
            Self::SqliteUrl { file, .. } => file.display().to_string(),
            Self::Postgres(url) => format!("the PostgreSQL database {}", url.redacted()),
        }
    }
}

/// `%XX` decoded to the byte it names; `None` for a `%` without two hex digits after it or
/// an encoded NUL (no file name can hold one).
fn percent_decoded(path: &str) -> Option<PathBuf> {
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let byte = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
            if byte == 0 {
                return None;
            }
            decoded.push(byte);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    Some(PathBuf::from(OsString::from_vec(decoded)))
}

/// A practice's store, open. Commands use it as `dyn Store` (it dereferences to one, and
/// `shared` hands out the `Arc` the app holds); `close` ends it cleanly, which the `Store`
/// traits have no word for.
pub struct OpenStore {
    store: Arc<dyn Store>,
    backend: Backend,
}

/// What `close` needs to know of the backend.
enum Backend {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl OpenStore {
    /// The store, for the app and its workers.
    pub fn shared(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// Close it (SQLite: both pools, checkpointing the WAL).
    pub async fn close(self) {
        match self.backend {
            Backend::Sqlite(sqlite) => sqlite.close().await,
            Backend::Postgres(postgres) => postgres.close().await,
        }
    }
}

impl Deref for OpenStore {
    type Target = dyn Store;

    fn deref(&self) -> &Self::Target {
        self.store.as_ref()
    }
}

/// The most connections one process holds to a PostgreSQL database: enough for a small
/// server's requests, booking writer and workers. Six processes stay within PostgreSQL's
/// default `max_connections` of 100; more want a larger setting or a pooler in front.
const POSTGRES_CONNECTIONS: u32 = 16;

/// How long to keep trying to reach the PostgreSQL server at start before saying it cannot
/// be reached.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Open the practice's store at `location`, bringing its schema up to date. A PostgreSQL
/// database must already exist (its server's administrator creates it); `mode` is for
/// SQLite's file.
pub async fn open_store(location: &Location, mode: Mode) -> anyhow::Result<OpenStore> {
    if let Location::Postgres(url) = location {
        let store = PgStore::connect_within(url.secret(), POSTGRES_CONNECTIONS, CONNECT_TIMEOUT)
            .await
            .map_err(|error| {
                anyhow!(
                    "cannot open the PostgreSQL database {}: {}",
                    url.redacted(),
                    redact_error(&error.to_string(), url)
                )
            })?;
        return Ok(OpenStore {
            store: Arc::new(store.clone()),
            backend: Backend::Postgres(store),
        });
    }
    let sqlite = open_sqlite(location, mode).await?;
    Ok(OpenStore {
        store: Arc::new(sqlite.clone()),
        backend: Backend::Sqlite(sqlite),
    })
}

/// A driver's message with the URL's password taken out, in case it quotes it.
fn redact_error(message: &str, url: &PostgresUrl) -> String {
    let secret = url.secret();
    let password = secret
        .split_once("://")
        .and_then(|(_, rest)| rest.split(['/', '?']).next())
        .and_then(|authority| authority.rsplit_once('@'))
        .and_then(|(user, _)| user.split_once(':'))
        .map(|(_, password)| password)
        .filter(|password| !password.is_empty());
    match password {
        Some(password) => message.replace(password, "***"),
        None => message.to_owned(),
    }
}

/// Open the SQLite database at `location` as itself, for what only SQLite does (backups).
pub async fn open_sqlite(location: &Location, mode: Mode) -> anyhow::Result<SqliteStore> {
    let Some(path) = location.sqlite_file() else {
        bail!(
            "this is for a SQLite database; a PostgreSQL database is looked after with \
             PostgreSQL's own tools (pg_dump for a backup)"
        );
    };
    let mode = match mode {
        Mode::Existing => OpenMode::Existing,
        Mode::CreateIfMissing => OpenMode::CreateIfMissing,
    };
    match SqliteStore::open(&path, mode).await {
        Ok(store) => Ok(store),
        Err(StoreError::NotFound) => Err(anyhow!(
            "there is no practice database at {} (check the path, or create one with `anteroom init {}`)",
            path.display(),
            match location {
                Location::DataDir(_) => "--data-dir DIR",
                Location::SqliteUrl { .. } | Location::Postgres(_) => "--database-url URL",
            }
        )),
        Err(error) => Err(anyhow!(
            "cannot open the database at {}: {error}",
            path.display()
        )),
    }
}

/// The practice a single-practice database holds.
pub async fn practice_of(store: &dyn Store) -> anyhow::Result<PracticeId> {
    store
        .first_practice()
        .await?
        .ok_or_else(|| anyhow!("the database holds no practice; create one with `anteroom init`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(url: &str) -> PathBuf {
        match Location::parse_url(url) {
            Ok(Location::SqliteUrl { file, .. }) => file,
            other => panic!("{url}: {other:?}"),
        }
    }

    fn refusal(url: &str) -> String {
        Location::parse_url(url).unwrap_err().0
    }

    #[test]
    fn sqlite_urls_name_absolute_relative_and_percent_encoded_files() {
        assert_eq!(
            file("sqlite:///var/lib/a/anteroom.db"),
            Path::new("/var/lib/a/anteroom.db")
        );
        assert_eq!(
            file("sqlite://data/anteroom.db"),
            Path::new("data/anteroom.db")
        );
        assert_eq!(
            file("SQLite://x.db"),
            Path::new("x.db"),
            "schemes ignore case"
        );
        assert_eq!(
            file("sqlite:///srv/my%20practice/caf%C3%A9.db"),
            Path::new("/srv/my practice/café.db")
        );
        let dir = Location::DataDir(PathBuf::from("/srv/p"));
        assert_eq!(
            dir.sqlite_file().as_deref(),
            Some(Path::new("/srv/p/anteroom.db"))
        );
        assert_eq!(dir.folder().as_deref(), Some(Path::new("/srv/p")));
        let bare = Location::parse_url("sqlite://anteroom.db").unwrap();
        assert_eq!(bare.folder().as_deref(), Some(Path::new(".")));
        assert_eq!(bare.option(), "--database-url sqlite://anteroom.db");
    }

    #[test]
    fn postgres_urls_are_kept_whole_and_shown_without_their_password() {
        for url in [
            "postgres://u:secret@db/a",
            "postgresql://u:secret@db:5433/a?sslmode=require",
        ] {
            let location = Location::parse_url(url).unwrap();
            let Location::Postgres(given) = &location else {
                panic!("{url}: {location:?}");
            };
            assert_eq!(given.secret(), url, "passed to the driver as given");
            assert_eq!(location.sqlite_file(), None);
            assert_eq!(location.folder(), None);
            for shown in [
                location.option(),
                location.describe(),
                format!("{location:?}"),
            ] {
                assert!(!shown.contains("secret"), "{shown}");
                assert!(shown.contains("u:***@db"), "{shown}");
            }
            assert_eq!(
                redact_error("password secret was refused", given),
                "password *** was refused"
            );
        }
        let plain = Location::parse_url("postgres://anteroom@127.0.0.1/a").unwrap();
        assert_eq!(
            plain.option(),
            "--database-url postgres://anteroom@127.0.0.1/a"
        );
        assert!(refusal("postgres:db/a").contains("postgres://"));
    }

    #[test]
    fn other_urls_are_refused_with_what_to_write_and_never_repeat_a_password() {
        let text = refusal("mysql://u:secret@db/a");
        assert!(
            text.contains("\"mysql\"") && text.contains("sqlite://"),
            "{text}"
        );
        assert!(!text.contains("secret"), "{text}");
        for url in [
            "sqlite:",
            "sqlite://",
            "sqlite:///srv/",
            "sqlite:x.db",
            "sqlite:///x.db?mode=rwc",
            "sqlite:///x%2.db",
            "sqlite:///x%00.db",
            "/var/lib/anteroom/anteroom.db",
        ] {
            assert!(refusal(url).starts_with("--database-url: "), "{url}");
        }
    }

    #[test]
    fn exactly_one_place_is_named() {
        let both = Location::optional(Some(Path::new("d")), Some("sqlite://x.db")).unwrap_err();
        assert!(both.0.contains("not both"), "{}", both.0);
        assert_eq!(Location::optional(None, None).unwrap(), None);
        let neither = DataArgs {
            data_dir: None,
            database_url: None,
        }
        .location()
        .unwrap_err();
        assert!(neither.0.contains("--data-dir DIR"), "{}", neither.0);
        assert!(neither.0.contains("--database-url URL"), "{}", neither.0);
    }
}
