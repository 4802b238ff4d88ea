//! `anteroom`: the command line. Wiring only: read configuration, open the store,
//! build the app, start the listener and the mail worker.
#![forbid(unsafe_code)]

mod content;
mod demo_therapy;
mod files;

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::ExitCode,
    sync::Arc,
};

use anyhow::{Context, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use domain::{EmailAddress, PersonName};
use jiff::{Timestamp, tz::TimeZone};
use store::AuditStore as _;
use store::{
    ArticleKind, ConflictKind, EnquiryStore, NewUser, PracticeId, PracticeStore, StaffStore, Store,
    StoreError,
};
use store_sqlite::{OpenMode, SqliteStore};
use web::{AppState, Clock, Config, RateLimits};

/// Practice software for counsellors and psychotherapists: website, enquiries and back office.
#[derive(Parser)]
#[command(name = "anteroom", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the demo practice on a fresh database, ready to click through.
    Demo(DemoArgs),
    /// Create a new practice in a data directory, with its first sign-in.
    Init(InitArgs),
    /// Serve an existing practice.
    Serve(ServeArgs),
    /// Manage back-office accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Import Markdown articles (with front matter) from a folder.
    Import(ImportArgs),
    /// Write a consistent copy of the database to a file, while serving or not.
    Backup(BackupArgs),
    /// The key that encrypts confidential notes.
    #[command(subcommand)]
    Key(KeyCommand),
    /// The audit log of who saw and changed what.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check that no entry of the audit log was changed, removed or reordered.
    Verify {
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Make a new key file and re-wrap every client's key with it (stop the server first).
    Rotate {
        #[command(flatten)]
        data: DataArgs,
        /// The key file (default: anteroom.key beside the database).
        #[arg(long, env = "ANTEROOM_KEY_FILE")]
        key_file: Option<PathBuf>,
    },
}

#[derive(Args, Clone)]
struct DataArgs {
    /// Folder holding the practice's database (anteroom.db).
    #[arg(long, env = "ANTEROOM_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL instead of --data-dir, e.g. sqlite:///var/lib/anteroom/anteroom.db.
    #[arg(long, env = "ANTEROOM_DATABASE_URL", conflicts_with = "data_dir")]
    database_url: Option<String>,
}

impl DataArgs {
    fn database_path(&self) -> anyhow::Result<PathBuf> {
        match (&self.data_dir, &self.database_url) {
            (Some(dir), _) => Ok(dir.join("anteroom.db")),
            (None, Some(url)) => match url.strip_prefix("sqlite://") {
                Some(path) if !path.is_empty() => Ok(PathBuf::from(path)),
                _ if url.starts_with("postgres") => {
                    bail!("PostgreSQL is not supported yet; use a sqlite:// URL or --data-dir")
                }
                _ => bail!("--database-url must look like sqlite:///path/to/anteroom.db"),
            },
            (None, None) => {
                bail!("say where the practice's data is: --data-dir DIR (or ANTEROOM_DATA_DIR)")
            }
        }
    }
}

#[derive(Args, Clone)]
struct ServerArgs {
    /// Address to listen on.
    #[arg(long, env = "ANTEROOM_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The address people use to reach the site, e.g. https://therapy.example.com
    /// (used in links, emails, the sitemap and the feed). Defaults to http://LISTEN.
    #[arg(long, env = "ANTEROOM_PUBLIC_URL")]
    public_url: Option<String>,
    /// SMTP server for outgoing email: smtp://host:port, smtp://user:pass@host:587?tls=required
    /// (STARTTLS) or smtps://user:pass@host (TLS). Without it, email waits in the outbox.
    #[arg(long, env = "ANTEROOM_SMTP_URL")]
    smtp_url: Option<String>,
    /// Sender of outgoing email, e.g. "Practice name <practice@example.com>".
    /// Defaults to the practice's notification address.
    #[arg(long, env = "ANTEROOM_MAIL_FROM")]
    mail_from: Option<String>,
    /// Behind your own reverse proxy: take the client address from the last X-Forwarded-For hop.
    #[arg(long, env = "ANTEROOM_TRUST_PROXY")]
    trust_proxy: bool,
    /// Folder of templates overriding the built-in ones (same names, e.g. site/home.html).
    #[arg(long, env = "ANTEROOM_THEME_DIR")]
    theme_dir: Option<PathBuf>,
    /// Switch off per-address rate limits (for load tests on loopback only).
    #[arg(long, env = "ANTEROOM_NO_RATE_LIMITS")]
    no_rate_limits: bool,
}

#[derive(Args)]
struct DemoArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// Keep the demo's database in this folder (default: a fresh temporary folder).
    #[arg(long, env = "ANTEROOM_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Pretend it is this time (RFC 3339, e.g. 2027-03-25T09:00:00Z); the clock runs on from there.
    #[arg(long, env = "ANTEROOM_NOW")]
    now: Option<Timestamp>,
    /// Password for the demo sign-in (default: a new random one, printed at start).
    #[arg(long, env = "ANTEROOM_DEMO_PASSWORD")]
    demo_password: Option<String>,
}

#[derive(Args)]
struct InitArgs {
    /// Folder to create the practice in (created if missing; must not already hold one).
    #[arg(long, env = "ANTEROOM_DATA_DIR")]
    data_dir: PathBuf,
    /// A practice.toml describing the practice (default: a starter to edit in the back office).
    #[arg(long)]
    practice_file: Option<PathBuf>,
    /// Email address for the first back-office account.
    #[arg(long)]
    email: String,
    /// Name for the first back-office account.
    #[arg(long)]
    name: String,
    /// Read the password from standard input instead of generating one.
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a back-office account.
    Add {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password for an account (signs it out everywhere).
    Reset {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        email: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Turn off an account's authenticator app when its phone and recovery codes are both
    /// lost (signs it out everywhere). If the practice requires one, a new app is set up at
    /// the next sign-in.
    ResetSecondFactor {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        email: String,
    },
}

#[derive(Args)]
struct ImportArgs {
    /// Folder of .md files, each starting with front matter (title, slug, summary, tags, date, draft).
    dir: PathBuf,
    #[command(flatten)]
    data: DataArgs,
    /// Import as "How I work" pages instead of articles.
    #[arg(long)]
    approaches: bool,
    /// Check every file and report, without changing anything.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Args)]
struct BackupArgs {
    /// File to write (must not exist).
    file: PathBuf,
    #[command(flatten)]
    data: DataArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ANTEROOM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo(args).await,
        Command::Init(args) => init(args).await,
        Command::Serve(args) => serve(args).await,
        Command::User(command) => user(command).await,
        Command::Import(args) => import(args).await,
        Command::Backup(args) => backup(args).await,
        Command::Key(KeyCommand::Rotate { data, key_file }) => rotate(data, key_file).await,
        Command::Audit(AuditCommand::Verify { data }) => audit_verify(data).await,
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("anteroom: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn open(path: &Path, mode: OpenMode) -> anyhow::Result<SqliteStore> {
    match SqliteStore::open(path, mode).await {
        Ok(store) => Ok(store),
        Err(StoreError::NotFound) => Err(anyhow!(
            "there is no practice database at {} (check the path, or create one with `anteroom init --data-dir DIR`)",
            path.display()
        )),
        Err(error) => Err(anyhow!(
            "cannot open the database at {}: {error}",
            path.display()
        )),
    }
}

async fn practice_of(store: &dyn Store) -> anyhow::Result<PracticeId> {
    store
        .first_practice()
        .await?
        .ok_or_else(|| anyhow!("the database holds no practice; create one with `anteroom init`"))
}

fn new_password() -> String {
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

fn read_password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
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

async fn hash(password: String) -> anyhow::Result<String> {
    web::password::make(password).await?
}

async fn add_user(
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

/// `--public-url`, or `http://` and the address the server is listening on (with the port
/// the system chose, for `--listen 127.0.0.1:0`).
fn public_url(server: &ServerArgs, listening: SocketAddr) -> anyhow::Result<String> {
    let url = server
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{listening}"));
    let url = url.trim_end_matches('/').to_owned();
    if !(url.starts_with("http://") || url.starts_with("https://"))
        || url.contains(char::is_whitespace)
    {
        bail!("--public-url must start with http:// or https://, like https://therapy.example.com");
    }
    Ok(url)
}

/// The key file beside a database: `anteroom.key` in the same folder.
fn key_file_beside(database: &Path) -> PathBuf {
    database.with_file_name("anteroom.key")
}

/// The master key for serving: `ANTEROOM_KEY` (the key itself), else the key file
/// (`--key-file`, or `anteroom.key` beside the database), which must be readable by its owner
/// only. A practice that has no key file yet gets one, and is told to back it up.
fn master_key(database: &Path, key_file: Option<&Path>) -> anyhow::Result<crypto::MasterKey> {
    if let Ok(text) = std::env::var("ANTEROOM_KEY") {
        return Ok(crypto::MasterKey::parse(&text, "ANTEROOM_KEY")?);
    }
    let path = key_file.map_or_else(|| key_file_beside(database), Path::to_path_buf);
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

/// Walk the audit log's hash chain from the first entry to the last.
async fn audit_verify(data: DataArgs) -> anyhow::Result<ExitCode> {
    let store = open(&data.database_path()?, OpenMode::Existing).await?;
    match store::audit::verify(&store).await? {
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
                 file as it is and compare it with your backups."
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Replace the master key: write the new key beside the old one, re-wrap every client's key
/// in one transaction, then move the new key file into place. Nothing changes if any client
/// key does not open with the current key file.
async fn rotate(data: DataArgs, key_file: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let database = data.database_path()?;
    let count = rotate_key(&database, key_file.as_deref()).await?;
    println!(
        "Rotated the key: {count} client {} re-wrapped with the new key in {}. The old key opens \
         nothing now; back up the new key file apart from the database.",
        if count == 1 { "key" } else { "keys" },
        key_file
            .unwrap_or_else(|| key_file_beside(&database))
            .display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn rotate_key(database: &Path, key_file: Option<&Path>) -> anyhow::Result<usize> {
    if std::env::var_os("ANTEROOM_KEY").is_some() {
        bail!("ANTEROOM_KEY is set: rotating needs a key file (unset it and use --key-file)");
    }
    let path = key_file.map_or_else(|| key_file_beside(database), Path::to_path_buf);
    if !path.exists() {
        bail!("there is no key file at {}", path.display());
    }
    let old = crypto::MasterKey::load_file(&path)?;
    let sqlite = open(database, OpenMode::Existing).await?;
    let store: &dyn Store = &sqlite;
    let binding = |practice: PracticeId, client: store::ClientId| {
        crypto::row_binding(practice.get(), "client_keys", client.get(), "key")
    };
    // Every key must open before anything changes.
    let mut opened = Vec::new();
    for (practice, client, wrapped) in store.all_client_keys().await? {
        let key = old
            .unwrap(&wrapped, &binding(practice, client))
            .map_err(|_| {
                anyhow!(
                    "client {client}'s key does not open with {}: nothing was changed",
                    path.display()
                )
            })?;
        opened.push((practice, client, key));
    }
    // Staff authenticator secrets are sealed with the same key (migrations/0006).
    let totp_binding = |practice: PracticeId, user: store::UserId| {
        crypto::row_binding(practice.get(), "users", user.get(), "totp_secret")
    };
    let mut secrets = Vec::new();
    for (practice, user, sealed) in store.all_authenticator_secrets().await? {
        let secret = old
            .open_secret(&sealed, &totp_binding(practice, user))
            .map_err(|_| {
                anyhow!(
                    "user {user}'s authenticator secret does not open with {}: nothing was changed",
                    path.display()
                )
            })?;
        secrets.push((practice, user, secret));
    }
    let staged = path.with_extension("key.new");
    if staged.exists() {
        bail!(
            "{} is left from an earlier rotation; check which key opens the database, then remove it",
            staged.display()
        );
    }
    // The new key is safely on disk before the database depends on it.
    let new = crypto::MasterKey::create_file(&staged)?;
    let rewrapped: Vec<_> = opened
        .iter()
        .map(|(practice, client, key)| (*client, new.wrap(key, &binding(*practice, *client))))
        .collect();
    let resealed: Vec<_> = secrets
        .iter()
        .map(|(practice, user, secret)| {
            (
                *user,
                new.seal_secret(secret, &totp_binding(*practice, *user)),
            )
        })
        .collect();
    store.rewrap_under_new_key(&rewrapped, &resealed).await?;
    sqlite.close().await;
    std::fs::rename(&staged, &path).with_context(|| {
        format!(
            "the client keys are re-wrapped with {}; move it to {} by hand",
            staged.display(),
            path.display()
        )
    })?;
    Ok(rewrapped.len())
}

async fn run_server(
    store: Arc<SqliteStore>,
    practice: PracticeId,
    clock: Clock,
    server: ServerArgs,
    key: crypto::MasterKey,
    banner: impl FnOnce(&str),
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(server.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (is something else using it?)",
                server.listen
            )
        })?;
    let public_url = public_url(&server, listener.local_addr()?)?;
    let dyn_store: Arc<dyn Store> = store.clone();
    let wake = Arc::new(tokio::sync::Notify::new());
    let smtp = match &server.smtp_url {
        Some(url) => {
            let from = match &server.mail_from {
                Some(from) => from.clone(),
                None => {
                    let practice = dyn_store.practice(practice).await?;
                    format!(
                        "{} <{}>",
                        practice.details.name.replace(['<', '>', '"'], ""),
                        practice.details.notify_email
                    )
                }
            };
            Some(mail::SmtpSettings::parse(url, &from)?)
        }
        None => None,
    };
    let config = Config {
        public_url: public_url.clone(),
        trust_proxy: server.trust_proxy,
        rate_limits: RateLimits {
            disabled: server.no_rate_limits,
            ..RateLimits::default()
        },
        theme_dir: server.theme_dir.clone(),
        mail_configured: smtp.is_some(),
        master_key: Some(Arc::new(key)),
    };
    if let Some(dir) = &server.theme_dir
        && !dir.is_dir()
    {
        bail!("--theme-dir {} is not a folder", dir.display());
    }
    let state = AppState::new(
        dyn_store.clone(),
        web::Resolver::Single(practice),
        clock.clone(),
        config,
        Some(wake.clone()),
    )?;
    if !server.listen.ip().is_loopback() && !public_url.starts_with("https://") {
        tracing::warn!(
            "serving plain HTTP on a public address: put Anteroom behind a reverse proxy with TLS and set --public-url https://…"
        );
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mailer = match smtp {
        Some(smtp) => {
            let now_clock = clock.clone();
            let sealed = state.clone();
            let mailer = mail::Mailer::new(
                dyn_store.clone(),
                smtp,
                Arc::new(move || now_clock.now()),
                wake,
            )
            .with_prepare(Arc::new(move |message| sealed.prepare_outgoing(message)));
            let mut stop = stop_rx.clone();
            Some(tokio::spawn(mailer.run(async move {
                let _ = stop.wait_for(|s| *s).await;
            })))
        }
        None => {
            let waiting = dyn_store.pending_count().await.unwrap_or(0);
            tracing::warn!(
                waiting,
                "email is not configured (--smtp-url): messages will wait in the outbox"
            );
            None
        }
    };
    let jobs = {
        let mut stop = stop_rx.clone();
        tokio::spawn(web::jobs::run(state.clone(), async move {
            let _ = stop.wait_for(|s| *s).await;
        }))
    };
    // Ctrl+C (SIGINT) or SIGTERM stops the server gracefully. Both are caught from here on,
    // before the banner says we are serving: a stop sent at once must not meet the default
    // action, which ends the process without closing the database.
    let shutdown = {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            tracing::info!("stopping");
        }
    };
    banner(&public_url);
    web::serve(listener, state, shutdown).await?;
    let _ = stop_tx.send(true);
    let _ = jobs.await;
    if let Some(mailer) = mailer {
        let _ = mailer.await;
    }
    store.close().await;
    Ok(())
}

async fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let (dir, temporary) = match &args.data_dir {
        Some(dir) => (dir.clone(), false),
        None => {
            let dir =
                std::env::temp_dir().join(format!("anteroom-demo-{:016x}", rand::random::<u64>()));
            (dir, true)
        }
    };
    files::create_private_dir(&dir)?;
    let path = dir.join("anteroom.db");
    if path.exists() {
        bail!(
            "{} already holds a database; the demo starts fresh, so give it an empty folder",
            dir.display()
        );
    }
    if let Some(warning) = files::open_to_others(&path) {
        tracing::warn!("{warning}");
    }
    let clock = args.now.map_or(Clock::System, Clock::pinned);
    let key = crypto::MasterKey::create_file(&key_file_beside(&path))?;
    let store = Arc::new(open(&path, OpenMode::CreateIfMissing).await?);
    let now = clock.now();
    let setup = content::embedded_practice("demo")?;
    let practice = store.create_practice(&setup, now).await?;
    let today = now.to_zoned_datetime(TimeZone::UTC).date();
    for (kind, folder) in [
        (ArticleKind::Approach, "demo/approaches"),
        (ArticleKind::Article, "demo/articles"),
    ] {
        let files: Vec<(String, String)> = content::embedded(folder)
            .into_iter()
            .map(|(name, text)| (name.to_owned(), text.to_owned()))
            .collect();
        for (name, outcome) in
            content::import(store.as_ref(), practice, kind, &files, today, now, false).await?
        {
            if let content::Outcome::Refused(reason) = outcome {
                bail!("demo content {name} is invalid: {reason}");
            }
        }
    }
    let password = args.demo_password.clone().unwrap_or_else(new_password);
    add_user(
        store.as_ref(),
        practice,
        "therapist@example.com",
        setup.therapist.name.as_str(),
        password.clone(),
    )
    .await?;
    let enquiry = domain::NewEnquiry::parse(&domain::enquiry::EnquiryForm {
        name: "Jordan Ellis",
        email: "jordan.ellis@example.com",
        phone: "",
        contact_preference: "email",
        message: "Hello, I'd like to arrange a first consultation. I'm usually free on weekday evenings and could come to Balham.",
        consent: true,
    })
    .map_err(|_| anyhow!("demo enquiry is invalid"))?;
    let note = store::NewMessage {
        kind: "enquiry_notification".into(),
        to: setup.details.notify_email.clone(),
        subject: "New enquiry from your website".into(),
        body_text:
            "Someone has sent an enquiry through your website. Read it in your back office.\n"
                .into(),
        calendar: None,
    };
    store.create_enquiry(practice, &enquiry, &note, now).await?;
    seed_demo_bookings(store.as_ref(), practice, &setup, now).await?;
    demo_therapy::seed(store.as_ref(), practice, &setup, now).await?;

    let server = args.server.clone();
    run_server(store, practice, clock, server, key, |url| {
        println!();
        println!("  Anteroom demo practice is running at {url}/");
        println!("  Back office: {url}/office");
        println!("    email:    therapist@example.com");
        println!("    password: {password}");
        if let Some(now) = args.now {
            println!("  The clock is pinned: it started at {now}.");
        }
        println!(
            "  Press Ctrl+C to stop.{}",
            if temporary {
                " The demo's temporary data is deleted then."
            } else {
                ""
            }
        );
        println!();
    })
    .await?;
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(ExitCode::SUCCESS)
}

async fn init(args: InitArgs) -> anyhow::Result<ExitCode> {
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

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let path = args.data.database_path()?;
    if path.is_file()
        && let Some(warning) = files::open_to_others(&path)
    {
        tracing::warn!("{warning}");
    }
    let store = Arc::new(open(&path, OpenMode::Existing).await?);
    let practice = practice_of(store.as_ref()).await?;
    let clock = match args.now {
        Some(now) if cfg!(debug_assertions) => Clock::pinned(now),
        Some(_) => bail!("--now is only for the demo and test builds"),
        None => Clock::System,
    };
    let key = master_key(&path, args.key_file.as_deref())?;
    run_server(store, practice, clock, args.server, key, |url| {
        tracing::info!(url, "serving");
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    server: ServerArgs,
    /// The key file that encrypts confidential notes (default: anteroom.key beside the
    /// database). ANTEROOM_KEY, holding the key itself, takes precedence.
    #[arg(long, env = "ANTEROOM_KEY_FILE")]
    key_file: Option<PathBuf>,
    /// Pin the clock (test builds only).
    #[arg(long, hide = true)]
    now: Option<Timestamp>,
}

async fn user(command: UserCommand) -> anyhow::Result<ExitCode> {
    match command {
        UserCommand::Add {
            data,
            email,
            name,
            password_stdin,
        } => {
            let store = open(&data.database_path()?, OpenMode::Existing).await?;
            let practice = practice_of(&store).await?;
            let (password, generated) = read_password(password_stdin)?;
            add_user(&store, practice, &email, &name, password.clone()).await?;
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
            let store = open(&data.database_path()?, OpenMode::Existing).await?;
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
            let store = open(&data.database_path()?, OpenMode::Existing).await?;
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

async fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(&args.dir)
        .with_context(|| format!("cannot read the folder {}", args.dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path
            .extension()
            .is_some_and(|e| e == "md" || e == "markdown")
        {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            match std::fs::read_to_string(&path) {
                Ok(text) => files.push((name, text)),
                Err(error) => files.push((name, format!("\u{0}unreadable: {error}"))),
            }
        }
    }
    files.sort();
    if files.is_empty() {
        bail!("there are no .md files in {}", args.dir.display());
    }
    let store = open(&args.data.database_path()?, OpenMode::Existing).await?;
    let practice = practice_of(&store).await?;
    let kind = if args.approaches {
        ArticleKind::Approach
    } else {
        ArticleKind::Article
    };
    let now = Timestamp::now();
    let today = now.to_zoned_datetime(TimeZone::system()).date();
    let report = content::import(&store, practice, kind, &files, today, now, args.dry_run).await?;
    store.close().await;
    let mut refused = 0;
    for (name, outcome) in &report {
        match outcome {
            content::Outcome::Created => println!(
                "{name}: {}",
                if args.dry_run {
                    "would be added"
                } else {
                    "added"
                }
            ),
            content::Outcome::Updated => println!(
                "{name}: {}",
                if args.dry_run {
                    "would replace the existing page"
                } else {
                    "replaced the existing page"
                }
            ),
            content::Outcome::Refused(reason) => {
                refused += 1;
                println!("{name}: refused: {reason}");
            }
        }
    }
    let verb = if args.dry_run {
        "would be imported (dry run: nothing changed)"
    } else {
        "imported"
    };
    println!(
        "{} file(s) {verb}, {refused} refused.",
        report.len() - refused
    );
    Ok(if refused > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn backup(args: BackupArgs) -> anyhow::Result<ExitCode> {
    if args.file.exists() {
        bail!(
            "{} already exists; choose a new file name",
            args.file.display()
        );
    }
    let store = open(&args.data.database_path()?, OpenMode::Existing).await?;
    store
        .backup_to(&args.file)
        .await
        .map_err(|e| anyhow!("backup failed: {e}"))?;
    store.close().await;
    println!("Backed up to {}.", args.file.display());
    Ok(ExitCode::SUCCESS)
}

/// A few fictional consultations in the coming fortnight, so the demo's calendar and
/// dashboard have something to show. Placed inside the demo's weekly hours.
async fn seed_demo_bookings(
    store: &dyn Store,
    practice: PracticeId,
    setup: &domain::practice::PracticeSetup,
    now: Timestamp,
) -> anyhow::Result<()> {
    use domain::booking::{BookingStatus, DetailsForm, VisitorDetails};
    use jiff::{ToSpan, civil::Weekday};
    let zone = TimeZone::get(&setup.details.time_zone)?;
    let today = now.to_zoned_datetime(zone.clone()).date();
    let wanted = [
        (
            "Alex Carter",
            "alex.carter@example.com",
            "chancery-lane",
            Weekday::Tuesday,
            11,
            BookingStatus::Confirmed,
        ),
        (
            "Priya Shah",
            "priya.shah@example.com",
            "balham",
            Weekday::Wednesday,
            15,
            BookingStatus::Confirmed,
        ),
        (
            "Morgan Lee",
            "morgan.lee@example.com",
            "online",
            Weekday::Friday,
            10,
            BookingStatus::Requested,
        ),
    ];
    for (i, (name, email, location, weekday, hour, status)) in wanted.into_iter().enumerate() {
        let Some(date) = (2..16_i64)
            .filter_map(|d| today.checked_add(d.days()).ok())
            .find(|d| d.weekday() == weekday)
        else {
            continue;
        };
        let start = date
            .at(hour, 0, 0, 0)
            .to_zoned_datetime(zone.clone())?
            .timestamp();
        if setup.away.iter().any(|a| {
            a.instants(&zone)
                .is_some_and(|(from, to)| from <= start && start < to)
        }) {
            continue;
        }
        let visitor = VisitorDetails::parse(
            &DetailsForm {
                name,
                email,
                phone: "",
                contact_preference: "email",
                note: "",
                consent: true,
            },
            true,
        )
        .map_err(|_| anyhow!("demo booking details are invalid"))?;
        let token: [u8; 32] = rand::random();
        let booking = store::NewBooking {
            appointment_type: domain::Slug::parse("consultation").map_err(|e| anyhow!("{e}"))?,
            location: domain::Slug::parse(location).map_err(|e| anyhow!("{e}"))?,
            start,
            end: start.checked_add(jiff::SignedDuration::from_mins(50))?,
            status,
            visitor,
            manage_token_hash: token.to_vec(),
            uid: format!("demo-{i}-{:016x}@anteroom.invalid", rand::random::<u64>()),
            hold_expires_at: (status == BookingStatus::Requested).then(|| {
                start.min(
                    now.checked_add(jiff::SignedDuration::from_hours(48))
                        .unwrap_or(start),
                )
            }),
            idempotency_key: None,
        };
        store
            .book(
                practice,
                &booking,
                &[],
                store::Recheck::accept_any(now),
                now,
            )
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn serving_makes_a_private_key_file_once_and_refuses_one_others_can_read() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("anteroom.db");
        let key_path = key_file_beside(&database);
        assert_eq!(key_path, dir.path().join("anteroom.key"));
        let made = master_key(&database, None).unwrap();
        let mode = std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = master_key(&database, None).unwrap();
        assert_eq!(made.to_text(), again.to_text(), "the same key next time");
        std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let refused = master_key(&database, None).unwrap_err().to_string();
        assert!(refused.contains("can be read by others"), "{refused}");
        // --key-file elsewhere.
        let elsewhere = dir.path().join("keys").join("practice.key");
        std::fs::create_dir_all(elsewhere.parent().unwrap()).unwrap();
        master_key(&database, Some(&elsewhere)).unwrap();
        assert!(elsewhere.exists());
    }

    #[tokio::test]
    async fn the_first_account_owns_the_practice_and_a_lost_app_can_be_reset_from_the_server() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("anteroom.db");
        let store = open(&database, OpenMode::CreateIfMissing).await.unwrap();
        let now = Timestamp::now();
        let practice = store
            .create_practice(&content::embedded_practice("demo").unwrap(), now)
            .await
            .unwrap();
        add_user(
            &store,
            practice,
            "owner@example.com",
            "Alex Owner",
            "x".repeat(16),
        )
        .await
        .unwrap();
        add_user(
            &store,
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
        let store = open(&database, OpenMode::Existing).await.unwrap();
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

    #[tokio::test]
    async fn rotating_the_key_rewraps_every_client_key_and_the_old_key_opens_nothing() {
        use store::{NoteStore, TherapyStore};
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("anteroom.db");
        let old = master_key(&database, None).unwrap();
        let store = open(&database, OpenMode::CreateIfMissing).await.unwrap();
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

        assert_eq!(rotate_key(&database, None).await.unwrap(), 1);
        let new = master_key(&database, None).unwrap();
        assert_ne!(new.to_text(), old.to_text());
        assert!(!dir.path().join("anteroom.key.new").exists());
        let store = open(&database, OpenMode::Existing).await.unwrap();
        let wrapped = store.client_key(practice, client).await.unwrap().unwrap();
        assert!(
            old.unwrap(&wrapped, &binding).is_err(),
            "the old key opens nothing"
        );
        let secret = store
            .authenticator(staff)
            .await
            .unwrap()
            .unwrap()
            .sealed_secret;
        assert!(old.open_secret(&secret, &totp_binding).is_err());
        assert_eq!(
            new.open_secret(&secret, &totp_binding).unwrap().as_slice(),
            b"twenty secret bytes!",
            "staff authenticator secrets are re-sealed with the client keys"
        );
        let reopened = new.unwrap(&wrapped, &binding).unwrap();
        assert_eq!(
            reopened.open(&sealed, b"here").unwrap().as_slice(),
            b"a note"
        );
        store.close().await;

        // With the wrong key file nothing changes.
        std::fs::remove_file(key_file_beside(&database)).unwrap();
        crypto::MasterKey::create_file(&key_file_beside(&database)).unwrap();
        assert!(rotate_key(&database, None).await.is_err());
        let store = open(&database, OpenMode::Existing).await.unwrap();
        assert_eq!(
            store.client_key(practice, client).await.unwrap().unwrap(),
            wrapped
        );
    }
}
