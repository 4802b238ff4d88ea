//! The command line's shape: every command and option, as clap reads them. Parsing only;
//! what each command does lives in its own module.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Args, Parser, Subcommand};
use jiff::Timestamp;

/// Practice software for counsellors and psychotherapists: website, enquiries and back office.
#[derive(Parser)]
#[command(name = "anteroom", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// How log lines are written: text for people, or json (one object a line, with the
    /// request's id on every line written while serving it) for a log collector.
    #[arg(
        long,
        global = true,
        value_enum,
        env = "ANTEROOM_LOG_FORMAT",
        default_value = "text"
    )]
    pub log_format: LogFormat,
}

/// How log lines are written (`--log-format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the demo practice on a fresh database, ready to click through.
    Demo(DemoArgs),
    /// Create a new practice (in a data directory or a new SQLite file), with its first sign-in.
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
    /// Replace the practice's database with a backup, after checking it (stop the server
    /// first). The database it replaces is kept beside it.
    Restore(RestoreArgs),
    /// The key that encrypts confidential notes.
    #[command(subcommand)]
    Key(KeyCommand),
    /// The audit log of who saw and changed what.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Hosted mode: the practices of one deployment.
    #[command(subcommand)]
    Practice(PracticeCommand),
    /// Hosted mode: the accounts of the operator console.
    #[command(subcommand)]
    Operator(OperatorCommand),
}

#[derive(Subcommand)]
pub enum OperatorCommand {
    /// Add an operator account (it sets up an authenticator app at its first sign-in).
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
    /// List the operator accounts.
    List {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Set a new password for an operator (signs them out everywhere).
    SetPassword {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        email: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Forget an operator's authenticator app when their phone is lost (signs them out
    /// everywhere); they set up a new one at their next sign-in.
    ResetSecondFactor {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        email: String,
    },
}

/// A practice of a hosted deployment, named by its host: its name under the base domain
/// (`alex`) or one of its own domains (`therapy.example.org`).
#[derive(Args, Clone)]
pub struct HostArg {
    /// The practice's name under the base domain, or one of its own domains.
    #[arg(long)]
    pub host: String,
}

#[derive(Subcommand)]
pub enum PracticeCommand {
    /// Create a practice at NAME under the base domain, with its first back-office account.
    Create {
        #[command(flatten)]
        data: DataArgs,
        /// Its name under the base domain: alex for alex.anteroom.example.
        #[arg(long)]
        host: String,
        /// Email address for the practice's first back-office account.
        #[arg(long)]
        email: String,
        /// Name for that account (the therapist's).
        #[arg(long)]
        name: String,
        /// A practice.toml describing the practice (default: a starter to edit in the back office).
        #[arg(long)]
        practice_file: Option<PathBuf>,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
        /// The key file that encrypts confidential notes, created if missing (default:
        /// anteroom.key beside a SQLite database; required for PostgreSQL).
        #[arg(long, env = "ANTEROOM_KEY_FILE")]
        key_file: Option<PathBuf>,
    },
    /// List the practices with their hosts and how much each holds (never client data).
    List {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Pause a practice's site: it says so politely; its data stays.
    Suspend {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        host: HostArg,
    },
    /// Bring a suspended practice's site back.
    Resume {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        host: HostArg,
    },
    /// Let a practice answer on a domain of its own (point its DNS at this deployment first).
    AddDomain {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        host: HostArg,
        /// The domain, like therapy.example.org.
        #[arg(long)]
        domain: String,
    },
    /// Write a practice to a file (sealed, with the key that opens it in FILE.key), to move
    /// it to another deployment or engine.
    Export {
        #[command(flatten)]
        data: DataArgs,
        /// The practice's name or one of its domains (not needed when the database holds
        /// only one practice).
        #[arg(long)]
        host: Option<String>,
        /// The export file to write (it must not exist); its key goes to FILE.key.
        #[arg(long)]
        to: PathBuf,
        /// The key file that wraps the practices' keys (default: anteroom.key beside a SQLite
        /// database; required for PostgreSQL).
        #[arg(long, env = "ANTEROOM_KEY_FILE")]
        key_file: Option<PathBuf>,
    },
    /// Bring in a practice from an export, as a new practice of this database.
    Import {
        /// The export file (made by practice export).
        file: PathBuf,
        #[command(flatten)]
        data: DataArgs,
        /// Its name under the base domain (hosted mode); without it, the database must hold
        /// no practice yet.
        #[arg(long)]
        host: Option<String>,
        /// The key that opens the export (default: FILE.key beside it).
        #[arg(long)]
        transfer_key: Option<PathBuf>,
        /// The key file that wraps the practices' keys here, created if missing (default:
        /// anteroom.key beside a SQLite database; required for PostgreSQL).
        #[arg(long, env = "ANTEROOM_KEY_FILE")]
        key_file: Option<PathBuf>,
    },
    /// Close a suspended practice for good: destroy its key, then delete all of its records.
    Close {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        host: HostArg,
    },
}

/// Hosted mode: many practices in one database, each found by the request's host.
#[derive(Args, Clone)]
pub struct HostedArgs {
    /// Serve every practice in the database, each at NAME.BASE-DOMAIN or a domain of its own.
    #[arg(long, env = "ANTEROOM_HOSTED")]
    pub hosted: bool,
    /// The domain practices' names sit under, e.g. anteroom.example (with --hosted).
    #[arg(long, env = "ANTEROOM_BASE_DOMAIN")]
    pub base_domain: Option<String>,
    /// Serve the operator console on this host, e.g. operator.anteroom.example (with
    /// --hosted; no practice can answer on it).
    #[arg(long, env = "ANTEROOM_OPERATOR_HOST")]
    pub operator_host: Option<String>,
    /// Serve the "find a therapist" directory of the listed practices on this host, e.g.
    /// find.anteroom.example (with --hosted; no practice can answer on it).
    #[arg(long, env = "ANTEROOM_DIRECTORY_HOST")]
    pub directory_host: Option<String>,
    /// A CSV of outcode,latitude,longitude (such as the UK's open postcode data), so that
    /// the directory's "near" is by distance (with --directory-host).
    #[arg(long, value_name = "FILE", env = "ANTEROOM_OUTCODE_CENTROIDS")]
    pub outcode_centroids: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check that no entry of the audit log was changed, removed or reordered.
    Verify {
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Make a new key file and re-wrap every client's key with it (stop the server first).
    Rotate {
        #[command(flatten)]
        data: DataArgs,
        /// The key file (default: anteroom.key beside the database).
        #[arg(long, env = "ANTEROOM_KEY_FILE")]
        key_file: Option<PathBuf>,
    },
}

/// Where the practice's data is: exactly one of the two (see `location`).
#[derive(Args, Clone)]
pub struct DataArgs {
    /// Folder holding the practice's database (anteroom.db) and key file (anteroom.key).
    #[arg(long, env = "ANTEROOM_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL instead of --data-dir: sqlite:///absolute/path/anteroom.db,
    /// sqlite://relative/path.db (the key file defaults to anteroom.key beside it), or
    /// postgres://USER@HOST/DATABASE (an existing database; give --key-file too).
    #[arg(long, value_name = "URL", env = "ANTEROOM_DATABASE_URL")]
    pub database_url: Option<String>,
}

/// A mistake in how the command was called, found after clap: exit status 2, as clap's own.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

#[derive(Args, Clone)]
pub struct ServerArgs {
    /// Address to listen on.
    #[arg(long, env = "ANTEROOM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The address people use to reach the site, e.g. https://therapy.example.com
    /// (used in links, emails, the sitemap and the feed). Defaults to http://LISTEN.
    #[arg(long, env = "ANTEROOM_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// SMTP server for outgoing email: smtp://host:port, smtp://user:pass@host:587?tls=required
    /// (STARTTLS) or smtps://user:pass@host (TLS). Without it, email waits in the outbox.
    #[arg(long, env = "ANTEROOM_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// Sender of outgoing email, e.g. "Practice name <practice@example.com>".
    /// Defaults to the practice's notification address.
    #[arg(long, env = "ANTEROOM_MAIL_FROM")]
    pub mail_from: Option<String>,
    /// Behind your own reverse proxy: take the client address from the last X-Forwarded-For hop.
    #[arg(long, env = "ANTEROOM_TRUST_PROXY")]
    pub trust_proxy: bool,
    /// Folder of templates overriding the built-in ones (same names, e.g. site/home.html).
    #[arg(long, env = "ANTEROOM_THEME_DIR")]
    pub theme_dir: Option<PathBuf>,
    /// Switch off per-address rate limits (for load tests on loopback only).
    #[arg(long, env = "ANTEROOM_NO_RATE_LIMITS")]
    pub no_rate_limits: bool,
    /// Requests served at once; past it a request is answered 503 with Retry-After at once
    /// rather than queued.
    #[arg(long, value_name = "N", env = "ANTEROOM_MAX_REQUESTS", default_value_t = 128,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub max_requests: u16,
    /// Serve metrics for Prometheus (GET /metrics) on this address of their own, e.g.
    /// 127.0.0.1:9090; never on the site's address.
    #[arg(long, value_name = "ADDRESS", env = "ANTEROOM_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
}

#[derive(Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Keep the demo's database in this folder (default: a fresh temporary folder).
    #[arg(long, env = "ANTEROOM_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Keep the demo's database in this new file instead (sqlite:///path/to/demo.db), or in
    /// an empty PostgreSQL database (postgres://USER@HOST/DATABASE).
    #[arg(long, value_name = "URL", env = "ANTEROOM_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Pretend it is this time (RFC 3339, e.g. 2027-03-25T09:00:00Z); the clock runs on from there.
    #[arg(long, env = "ANTEROOM_NOW")]
    pub now: Option<Timestamp>,
    /// Password for the demo sign-in (default: a new random one, printed at start).
    #[arg(long, env = "ANTEROOM_DEMO_PASSWORD")]
    pub demo_password: Option<String>,
    /// Hosted mode: the demo practice and two more, each at NAME.localhost on the port
    /// listened on (browsers send every *.localhost name to this machine).
    #[arg(long)]
    pub hosted: bool,
    /// With --hosted: also this many synthetic listed practices (the directory's benchmark).
    #[arg(long, hide = true, default_value_t = 0)]
    pub directory_practices: usize,
}

#[derive(Args)]
pub struct InitArgs {
    // A folder (created if missing; must not already hold a practice) or a sqlite:// URL
    // naming a database file that does not exist yet.
    #[command(flatten)]
    pub data: DataArgs,
    /// A practice.toml describing the practice (default: a starter to edit in the back office).
    #[arg(long)]
    pub practice_file: Option<PathBuf>,
    /// Email address for the first back-office account.
    #[arg(long)]
    pub email: String,
    /// Name for the first back-office account.
    #[arg(long)]
    pub name: String,
    /// Read the password from standard input instead of generating one.
    #[arg(long)]
    pub password_stdin: bool,
    /// The key file that encrypts confidential notes, created if missing (default:
    /// anteroom.key beside a SQLite database; required for PostgreSQL).
    #[arg(long, env = "ANTEROOM_KEY_FILE")]
    pub key_file: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum UserCommand {
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
pub struct ImportArgs {
    /// Folder of .md files, each starting with front matter (title, slug, summary, tags, date, draft).
    pub dir: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Import as "How I work" pages instead of articles.
    #[arg(long)]
    pub approaches: bool,
    /// Check every file and report, without changing anything.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args)]
pub struct BackupArgs {
    /// File to write (must not exist).
    pub file: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Encrypt the backup to this age public key (age1…, as `age-keygen` prints it), so
    /// that only the matching private key, kept somewhere else, can open it. No unencrypted
    /// copy is left behind.
    #[arg(long, value_name = "RECIPIENT")]
    pub encrypt_to: Option<String>,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// The backup to restore (a file `anteroom backup` wrote).
    pub file: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// The key file the backup's keys are wrapped with (default: anteroom.key beside the
    /// database).
    #[arg(long, env = "ANTEROOM_KEY_FILE")]
    pub key_file: Option<PathBuf>,
}

#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub hosted: HostedArgs,
    /// The key file that encrypts confidential notes (default: anteroom.key beside the
    /// database). ANTEROOM_KEY, holding the key itself, takes precedence.
    #[arg(long, env = "ANTEROOM_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// Pin the clock (test builds only).
    #[arg(long, hide = true)]
    pub now: Option<Timestamp>,
}
