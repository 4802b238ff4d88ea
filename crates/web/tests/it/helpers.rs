//! `TestApp`: the real application on `127.0.0.1:0`, with a temp database, a seeded
//! practice, a manual clock and HTTP clients that behave like a browser would.
//!
//! The database is SQLite (a file in a temp dir) unless `ANTEROOM_TEST_ENGINE=postgres`,
//! when it is a throwaway PostgreSQL database on the server `ANTEROOM_TEST_POSTGRES_URL`
//! names (`cargo xtask test` runs the suite once on each).

use std::{
    net::SocketAddr,
    sync::{Arc, OnceLock},
    time::Duration,
};

use domain::{
    ArticleDraft, EmailAddress, PersonName, article::ArticleForm, practice::PracticeSetup,
};
use jiff::{SignedDuration, Timestamp};
use reqwest::{
    StatusCode,
    header::{self, HeaderMap},
};
use store::{ArticleId, ArticleKind, Enquiry, NewUser, OutboxMessage, PracticeId, Store};
use store_postgres::testing::TestDatabase;
use store_sqlite::{OpenMode, SqliteStore};
use test_sink::SmtpSink;
use tokio::sync::oneshot;
use web::{AppState, Clock, Config, RateLimits, ServeOptions};

/// The storage engine the suite runs on (`ANTEROOM_TEST_ENGINE`: `sqlite`, the default,
/// or `postgres`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// The engine this run asked for.
    pub fn chosen() -> Self {
        match std::env::var("ANTEROOM_TEST_ENGINE").as_deref() {
            Err(std::env::VarError::NotPresent) | Ok("" | "sqlite") => Self::Sqlite,
            Ok("postgres") => Self::Postgres,
            Ok(other) => panic!(
                "ANTEROOM_TEST_ENGINE={other:?}: the engines are \"sqlite\" (the default) and \
                 \"postgres\""
            ),
            Err(error) => panic!("ANTEROOM_TEST_ENGINE: {error}"),
        }
    }
}

/// Where an app's data lives, shared by every app and process on it, and removed (the temp
/// dir, or the throwaway database) when the last of them is done.
enum Database {
    Sqlite(tempfile::TempDir),
    Postgres(TestDatabase),
}

impl Database {
    /// A fresh, empty database on the chosen engine, and a store on it (with the SQLite
    /// store as itself too, for what only SQLite has).
    async fn create() -> (Self, Arc<dyn Store>, Option<Arc<SqliteStore>>) {
        match Engine::chosen() {
            Engine::Sqlite => {
                let dir = tempfile::tempdir().expect("create a temp dir");
                let store = Arc::new(
                    SqliteStore::open(&dir.path().join("anteroom.db"), OpenMode::CreateIfMissing)
                        .await
                        .expect("open the database"),
                );
                (Self::Sqlite(dir), store.clone(), Some(store))
            }
            Engine::Postgres => {
                let db = TestDatabase::create().await.unwrap_or_else(|| {
                    panic!(
                        "ANTEROOM_TEST_ENGINE=postgres asks for PostgreSQL, but no server is \
                         given: set ANTEROOM_TEST_POSTGRES_URL (`cargo xtask test` does)"
                    )
                });
                let store: Arc<dyn Store> = Arc::new(db.store(8).await);
                (Self::Postgres(db), store, None)
            }
        }
    }

    fn engine(&self) -> Engine {
        match self {
            Self::Sqlite(_) => Engine::Sqlite,
            Self::Postgres(_) => Engine::Postgres,
        }
    }
}

/// The instant every test starts at.
pub const START: &str = "2027-03-25T09:00:00Z";

pub const STAFF_EMAIL: &str = "therapist@example.com";
pub const STAFF_PASSWORD: &str = "a quiet room with two chairs";
pub const NOTIFY_EMAIL: &str = "notify@example.com";
pub const POSTCODE: &str = "SW12 9RT";
pub const PRACTICE_NAME: &str = "Larchwood Psychotherapy";

/// Published articles seeded in every app: (slug, title, tags).
pub const PUBLISHED: [(&str, &str, &[&str]); 2] = [
    (
        "sleep-and-anxiety",
        "Sleep and anxiety",
        &["anxiety", "sleep"],
    ),
    (
        "starting-therapy",
        "Starting therapy",
        &["getting-started", "anxiety"],
    ),
];
/// The seeded draft: never on the public site, and neither is its only tag.
pub const DRAFT_SLUG: &str = "unfinished-thoughts";
pub const DRAFT_TITLE: &str = "Unfinished thoughts";
pub const DRAFT_ONLY_TAG: &str = "half-written";
/// The seeded "How I work" page.
pub const APPROACH_SLUG: &str = "psychodynamic-therapy";

pub const PRACTICE_TOML: &str = r#"
[practice]
name = "Larchwood Psychotherapy"
tagline = "Counselling for adults in Balham and online"
time_zone = "Europe/London"
notify_email = "notify@example.com"
intro = "I see adults in a quiet room in **Balham**, and online."
how_i_work = "It starts with a first consultation."

[therapist]
name = "Alex Morgan"
title = "Psychodynamic psychotherapist"
professional_body = "UK Council for Psychotherapy (UKCP)"
registration = "UKCP no. TEST-0001"
qualifications = ["MSc in Psychodynamic Psychotherapy"]
languages = ["English"]
about = "I have worked as a psychotherapist for ten years."

[[locations]]
slug = "balham"
name = "Balham"
online = false
address_lines = ["27 Larchwood Mews", "London"]
postcode = "SW12 9RT"
latitude = 51.4441
longitude = -0.1536
summary = "A ground-floor room near Balham station."

[[locations]]
slug = "online"
name = "Online"
online = true
summary = "Video sessions from wherever you feel private."

[[appointment_types]]
slug = "consultation"
name = "First consultation"
minutes = 50
fee_pence = 6000
description = "A first meeting with no obligation to continue."
bookable_online = true
locations = ["balham", "online"]
notice_hours = 24
horizon_days = 28
granularity_minutes = 60
buffer_after = 10
travel_minutes = 60

[booking]
mode = "instant"

[[hours]]
location = "balham"
day = "monday"
start = "09:00"
end = "13:00"

[[hours]]
location = "online"
day = "tuesday"
start = "18:00"
end = "21:00"

[[away]]
label = "Easter break"
first_day = "2027-04-05"
last_day = "2027-04-11"

[policies]
fees = "Pay by bank transfer after each session."
cancellation = "Give 48 hours' notice to cancel without charge."
confidentiality = "What you say stays between us, with a few limits."

[privacy]
controller = "Alex Morgan"
ico_registration = "ZA000000"
retention_years = 7

[[faq]]
question = "How long is a session?"
answer = "Sessions last **50 minutes**."

[[faq]]
question = "Do you work online?"
answer = "Yes, by video."

[[faq]]
question = "How do I start?"
answer = "Send a message through the contact page."
"#;

/// The second practice's owner (see [`TestApp::second_practice`]).
const SECOND_STAFF_EMAIL: &str = "second-therapist@example.com";
/// What the second practice has besides the first one's setup: a location and an
/// appointment type of its own, so that their slugs name nothing in the first practice.
const SECOND_PRACTICE_EXTRA: &str = r#"
[[locations]]
slug = "tooting-online"
name = "Tooting online"
online = true
summary = "Video sessions for the Tooting practice."

[[appointment_types]]
slug = "second-assessment"
name = "Assessment"
minutes = 50
fee_pence = 8000
description = "An assessment in the second practice."
bookable_online = false
locations = ["tooting-online"]
notice_hours = 24
horizon_days = 28
granularity_minutes = 60
buffer_after = 10
travel_minutes = 60
"#;

/// The staff password hashed once for the whole test binary (Argon2 is slow in debug builds).
pub fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| web::password::hash(STAFF_PASSWORD).expect("hash the test password"))
}

/// What came back from the app.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.expect("read the response body");
        Self {
            status,
            headers,
            body,
        }
    }

    /// The body with character references decoded, as a browser or XML parser reads it.
    pub fn decoded(&self) -> String {
        decode_entities(&self.body)
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Where a redirect points.
    pub fn location(&self) -> Option<&str> {
        self.header("location")
    }

    /// The cookie a response sets, as `name=value`.
    pub fn cookie(&self) -> Option<String> {
        self.set_cookies()
            .first()
            .and_then(|c| c.split(';').next())
            .map(str::to_owned)
    }

    /// Every `Set-Cookie` header.
    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }

    /// The `<title>` text.
    pub fn title(&self) -> &str {
        let start = self
            .body
            .find("<title>")
            .map(|i| i + "<title>".len())
            .unwrap_or(0);
        let end = self.body[start..]
            .find("</title>")
            .map_or(start, |i| start + i);
        &self.body[start..end]
    }

    /// Every JSON-LD block on the page, parsed.
    pub fn json_ld(&self) -> Vec<serde_json::Value> {
        const OPEN: &str = r#"<script type="application/ld+json">"#;
        let mut found = Vec::new();
        let mut rest = self.body.as_str();
        while let Some(start) = rest.find(OPEN) {
            rest = &rest[start + OPEN.len()..];
            let end = rest.find("</script>").expect("JSON-LD script is closed");
            found.push(serde_json::from_str(&rest[..end]).expect("JSON-LD is valid JSON"));
            rest = &rest[end..];
        }
        found
    }

    /// Panic with the page if the status is not `expected`.
    #[track_caller]
    pub fn assert_status(&self, expected: StatusCode) -> &Self {
        assert_eq!(
            self.status, expected,
            "unexpected status; body:\n{}",
            self.body
        );
        self
    }

    /// Panic unless this is a redirect (303) to `target`.
    #[track_caller]
    pub fn assert_redirect(&self, target: &str) -> &Self {
        assert_eq!(
            self.status,
            StatusCode::SEE_OTHER,
            "expected a redirect to {target}; body:\n{}",
            self.body
        );
        assert_eq!(self.location(), Some(target));
        self
    }
}

/// Decode the character references the templates produce.
pub fn decode_entities(text: &str) -> String {
    text.replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The crisis block every public page carries.
#[track_caller]
pub fn assert_crisis_block(body: &str) {
    for needle in ["116 123", "SHOUT", "85258", "111", "999"] {
        assert!(
            body.contains(needle),
            "the crisis block is missing {needle:?}"
        );
    }
}

/// The application, running.
pub struct TestApp {
    /// `http://127.0.0.1:{port}` (hosted mode: `http://NAME.localhost:{port}`), also the
    /// configured public URL.
    pub base: String,
    /// The store on the chosen engine (see [`Engine`]).
    pub store: Arc<dyn Store>,
    /// The same store as SQLite's own type, when the engine is SQLite (see
    /// [`TestApp::sqlite`]).
    sqlite: Option<Arc<SqliteStore>>,
    pub practice: PracticeId,
    pub clock: Clock,
    /// Where the app's mail worker sends (every message of the practice, once it is due);
    /// nothing is sent there by an app started without mail.
    pub sink: SmtpSink,
    sends_mail: bool,
    /// The seeded draft's id.
    pub draft_id: ArticleId,
    /// The running app's state (for running background jobs in a test).
    pub state: AppState,
    /// The app's configuration (its key file, for the key tests; for
    /// [`TestApp::another_process`]).
    pub config: Config,
    /// No cookies, no redirects followed.
    client: reqwest::Client,
    /// A browser for the back office: keeps cookies, follows no redirects.
    browser: reqwest::Client,
    /// The owner's email (`sign_in` signs in as them): one per practice, as emails are
    /// unique across the database.
    staff_email: &'static str,
    database: Arc<Database>,
    /// Hosted mode: the port every practice's `NAME.localhost` is served on.
    hosted_port: Option<u16>,
    shutdown: Option<oneshot::Sender<()>>,
    /// The server's task (it ends once shutdown has drained the connections).
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Drop for TestApp {
    /// Checks that the mail worker sent every message of the practice that was due (unless
    /// the test failed already), then stops the app.
    fn drop(&mut self) {
        if !std::thread::panicking() && self.server.is_some() && self.sends_mail {
            let unsent = tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(self.wait_until_sent())
            });
            if !unsent.is_empty() {
                if let Some(stop) = self.shutdown.take() {
                    let _ = stop.send(());
                }
                panic!("the mail worker left messages unsent: {unsent:?}");
            }
        }
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
    }
}

/// An HTTP client that follows no redirects, keeping cookies or not; for an app at
/// `NAME.localhost` (hosted mode), every such name it is told of reaches the app's port.
pub fn http_client(cookies: bool, hosted: Option<(&[&str], u16)>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(cookies)
        .timeout(Duration::from_secs(30));
    if let Some((names, port)) = hosted {
        for name in names {
            builder = builder.resolve(
                &format!("{name}.localhost"),
                SocketAddr::from(([127, 0, 0, 1], port)),
            );
        }
    }
    builder.build().expect("build an HTTP client")
}

/// The operator console's host in a hosted test app.
pub const OPERATOR_HOST: &str = "operator.localhost";
/// The directory's host in a hosted test app.
pub const DIRECTORY_HOST: &str = "find.localhost";

/// The practices' names in a hosted test app.
pub const HOSTED_NAMES: [&str; 2] = ["first", "second"];

/// An article as the office form would make it, with a short Markdown body.
pub fn draft(slug: &str, title: &str, tags: &str, date: &str, published: bool) -> ArticleDraft {
    let body =
        format!("The first paragraph of *{title}*.\n\n## A heading\n\nMore text about {title}.");
    let form = ArticleForm {
        title,
        slug,
        summary: &format!("A short summary of {title}."),
        body: &body,
        tags,
        date,
        published,
    };
    ArticleDraft::parse(&form, jiff::civil::date(2027, 3, 25)).expect("seed article is valid")
}

/// A practice as every test app starts: its owner, two published articles, one draft and
/// one approach page. Returns the practice and the draft's id.
async fn seed_practice(
    store: &dyn Store,
    toml: &str,
    staff_email: &str,
) -> (PracticeId, ArticleId) {
    let now: Timestamp = START.parse().expect("start instant");
    let setup = PracticeSetup::from_toml(toml).expect("the test practice.toml is valid");
    let practice = store
        .create_practice(&setup, now)
        .await
        .expect("create the practice");
    let user = NewUser {
        email: EmailAddress::parse(staff_email).expect("email"),
        name: PersonName::parse("Alex Morgan").expect("name"),
        password_hash: password_hash().to_owned(),
    };
    store
        .create_user(practice, &user, now)
        .await
        .expect("create the staff user");
    for (i, (slug, title, tags)) in PUBLISHED.iter().enumerate() {
        let date = format!("2027-03-{:02}", 10 + i);
        store
            .create_article(
                practice,
                ArticleKind::Article,
                &draft(slug, title, &tags.join(", "), &date, true),
                0,
                now,
            )
            .await
            .expect("seed an article");
    }
    let draft_id = store
        .create_article(
            practice,
            ArticleKind::Article,
            &draft(DRAFT_SLUG, DRAFT_TITLE, DRAFT_ONLY_TAG, "2027-03-20", false),
            0,
            now,
        )
        .await
        .expect("seed the draft");
    store
        .create_article(
            practice,
            ArticleKind::Approach,
            &draft(
                APPROACH_SLUG,
                "Psychodynamic therapy",
                "",
                "2027-01-01",
                true,
            ),
            1,
            now,
        )
        .await
        .expect("seed an approach page");

    (practice, draft_id)
}

impl TestApp {
    /// A fresh practice with two published articles, one draft and one approach page.
    pub async fn spawn() -> Self {
        Self::spawn_with_limits(RateLimits::default()).await
    }

    /// The app with other rate limits (e.g. switched off for a concurrency test).
    pub async fn spawn_with_limits(rate_limits: RateLimits) -> Self {
        Self::spawn_with(rate_limits, true, false, ServeOptions::default(), true).await
    }

    /// The app as started without the practice's key file: notes are locked.
    pub async fn spawn_without_key() -> Self {
        Self::spawn_with(
            RateLimits::default(),
            false,
            false,
            ServeOptions::default(),
            true,
        )
        .await
    }

    /// The app behind a reverse proxy (`--trust-proxy`): each request's address is the last
    /// `X-Forwarded-For` hop, so a test can come from many addresses.
    pub async fn spawn_behind_proxy() -> Self {
        Self::spawn_with(
            RateLimits::default(),
            true,
            true,
            ServeOptions::default(),
            true,
        )
        .await
    }

    /// The app served with other connection time limits (short ones, for timeout tests).
    pub async fn spawn_serving(options: ServeOptions) -> Self {
        Self::spawn_with(RateLimits::default(), true, false, options, true).await
    }

    /// The app started without an SMTP server: messages wait in the outbox.
    pub async fn spawn_without_mail() -> Self {
        Self::spawn_with(
            RateLimits::default(),
            true,
            false,
            ServeOptions::default(),
            false,
        )
        .await
    }

    /// Hosted mode: this practice at `first.localhost` on an app that finds practices by
    /// host; [`TestApp::second_practice`] adds one at `second.localhost` on the same app.
    pub async fn spawn_hosted() -> Self {
        let (database, store, sqlite) = Database::create().await;
        let (practice, draft_id) = seed_practice(store.as_ref(), PRACTICE_TOML, STAFF_EMAIL).await;
        Self::serve(
            store,
            sqlite,
            Arc::new(database),
            practice,
            draft_id,
            STAFF_EMAIL,
            RateLimits::default(),
            Some(Arc::new(crypto::MasterKey::generate())),
            false,
            ServeOptions::default(),
            true,
            None,
            true,
        )
        .await
    }

    async fn spawn_with(
        rate_limits: RateLimits,
        with_key: bool,
        trust_proxy: bool,
        options: ServeOptions,
        mail: bool,
    ) -> Self {
        let (database, store, sqlite) = Database::create().await;
        let (practice, draft_id) = seed_practice(store.as_ref(), PRACTICE_TOML, STAFF_EMAIL).await;
        Self::serve(
            store,
            sqlite,
            Arc::new(database),
            practice,
            draft_id,
            STAFF_EMAIL,
            rate_limits,
            with_key.then(|| Arc::new(crypto::MasterKey::generate())),
            trust_proxy,
            options,
            mail,
            None,
            false,
        )
        .await
    }

    /// A second practice in this app's database (its own staff, seeded articles and
    /// clock), served on a port of its own: records made through it belong to it alone.
    ///
    /// In hosted mode ([`TestApp::spawn_hosted`]) it is served by the same app at
    /// `second.localhost` (its mail goes to the first app's sink).
    pub async fn second_practice(&self) -> Self {
        let (practice, draft_id) = seed_practice(
            self.store.as_ref(),
            &format!("{PRACTICE_TOML}{SECOND_PRACTICE_EXTRA}"),
            SECOND_STAFF_EMAIL,
        )
        .await;
        if let Some(port) = self.hosted_port {
            let name = domain::hosting::PracticeName::parse(HOSTED_NAMES[1]).expect("a name");
            self.store
                .add_host(practice, &store::PracticeHost::Name(name), self.clock.now())
                .await
                .expect("name the second practice");
            self.state.reload_hosts().await.expect("reload the hosts");
            let hosts = Some((&HOSTED_NAMES[..], port));
            return Self {
                base: format!("http://{}.localhost:{port}", HOSTED_NAMES[1]),
                store: self.store.clone(),
                sqlite: self.sqlite.clone(),
                practice,
                clock: self.clock.clone(),
                sink: SmtpSink::start().await,
                sends_mail: false,
                draft_id,
                state: self.state.clone(),
                config: self.config.clone(),
                client: http_client(false, hosts),
                browser: http_client(true, hosts),
                staff_email: SECOND_STAFF_EMAIL,
                database: self.database.clone(),
                hosted_port: Some(port),
                shutdown: None,
                server: None,
            };
        }
        Self::serve(
            self.store.clone(),
            self.sqlite.clone(),
            self.database.clone(),
            practice,
            draft_id,
            SECOND_STAFF_EMAIL,
            RateLimits::default(),
            self.config.host_key.clone(),
            false,
            ServeOptions::default(),
            true,
            None,
            false,
        )
        .await
    }

    /// The same practice served by a second process on the same database: its own store
    /// handle, caches and port, the same clock. (It sends no mail, so that the first
    /// process's worker is the one whose deliveries the tests count.)
    pub async fn second_server(&self) -> Self {
        let store: Arc<dyn Store> = match self.database.as_ref() {
            Database::Sqlite(dir) => Arc::new(
                SqliteStore::open(&dir.path().join("anteroom.db"), OpenMode::Existing)
                    .await
                    .expect("open the database again"),
            ),
            Database::Postgres(db) => Arc::new(db.store(8).await),
        };
        Self::serve(
            store,
            self.sqlite.clone(),
            self.database.clone(),
            self.practice,
            self.draft_id,
            self.staff_email,
            RateLimits::default(),
            self.config.host_key.clone(),
            false,
            ServeOptions::default(),
            false,
            Some(self.clock.clone()),
            false,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn serve(
        store: Arc<dyn Store>,
        sqlite: Option<Arc<SqliteStore>>,
        database: Arc<Database>,
        practice: PracticeId,
        draft_id: ArticleId,
        staff_email: &'static str,
        rate_limits: RateLimits,
        host_key: Option<Arc<crypto::MasterKey>>,
        trust_proxy: bool,
        options: ServeOptions,
        mail: bool,
        clock: Option<Clock>,
        hosted: bool,
    ) -> Self {
        let now: Timestamp = START.parse().expect("start instant");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a port");
        let addr: SocketAddr = listener.local_addr().expect("local address");
        let hosted_port = hosted.then_some(addr.port());
        let base = match hosted_port {
            Some(port) => format!("http://{}.localhost:{port}", HOSTED_NAMES[0]),
            None => format!("http://127.0.0.1:{}", addr.port()),
        };
        let resolver = if hosted {
            store
                .add_host(
                    practice,
                    &store::PracticeHost::Name(
                        domain::hosting::PracticeName::parse(HOSTED_NAMES[0]).expect("a name"),
                    ),
                    now,
                )
                .await
                .expect("name the practice");
            web::Resolver::Hosted(Arc::new(web::HostedSites::new(
                "localhost",
                false,
                Some(addr.port()),
            )))
        } else {
            web::Resolver::Single(practice)
        };
        let clock = clock.unwrap_or_else(|| Clock::manual(now));
        let config = Config {
            public_url: base.clone(),
            trust_proxy,
            rate_limits,
            theme_dir: None,
            mail_configured: false,
            host_key,
            operator: hosted.then(|| {
                let starter = domain::practice::PracticeSetup::from_toml(PRACTICE_TOML)
                    .expect("the test practice");
                web::OperatorConsole::new(OPERATOR_HOST, starter).expect("the console's host")
            }),
            directory_host: hosted.then(|| DIRECTORY_HOST.to_owned()),
            outcode_centroids: None,
        };
        // The real mail worker, sending to a loopback SMTP sink, and the real jobs (run at
        // start and then rarely, so what a test counts is what it ran itself).
        let sink = SmtpSink::start().await;
        let smtp =
            mail::SmtpSettings::parse(&sink.url(), &format!("{PRACTICE_NAME} <{NOTIFY_EMAIL}>"))
                .expect("the sink's SMTP settings");
        let service = web::Service::new(
            store.clone(),
            resolver,
            clock.clone(),
            config.clone(),
            mail.then_some(smtp),
        )
        .expect("build the app")
        .jobs_every(Duration::from_secs(3600));
        let state = service.state().clone();
        let mut job_runs = service.job_runs();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(service.run(listener, options, async move {
            let _ = stopped.await;
        }));
        // The jobs' first run is over before the test begins, so that it cannot take work
        // the test is about to do itself.
        job_runs
            .wait_for(|runs| *runs > 0)
            .await
            .expect("the jobs run at start");
        Self {
            base,
            store,
            sqlite,
            practice,
            clock,
            sink,
            sends_mail: mail,
            draft_id,
            state,
            config,
            client: http_client(false, hosted_port.map(|p| (&HOSTED_NAMES[..], p))),
            browser: http_client(true, hosted_port.map(|p| (&HOSTED_NAMES[..], p))),
            staff_email,
            database,
            hosted_port,
            shutdown: Some(stop),
            server: Some(server),
        }
    }

    /// The app's state as another process on the same database would have it (its own store
    /// handle on the same database; the same practice, clock and configuration), for races
    /// between processes.
    pub async fn another_process(&self) -> AppState {
        AppState::new(
            self.another_store().await,
            web::Resolver::Single(self.practice),
            self.clock.clone(),
            self.config.clone(),
            None,
        )
        .expect("build the app state")
    }

    /// A store handle of its own on this app's database, as another process would open it.
    pub async fn another_store(&self) -> Arc<dyn Store> {
        match self.database.as_ref() {
            Database::Sqlite(dir) => Arc::new(
                SqliteStore::open(&dir.path().join("anteroom.db"), OpenMode::Existing)
                    .await
                    .expect("open the database again"),
            ),
            Database::Postgres(db) => Arc::new(db.store(8).await),
        }
    }

    /// Wait (at most 10 seconds) until the mail worker has sent every message of this
    /// practice that is due by the app's clock; returns (kind, status, last error) of those it
    /// has not. A message that failed to send is never waited for.
    pub async fn wait_until_sent(&self) -> Vec<(String, store::MessageStatus, Option<String>)> {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let now = self.clock.now();
            let unsent: Vec<_> = self
                .outbox()
                .await
                .into_iter()
                .filter(|m| {
                    m.status != store::MessageStatus::Sent
                        && (m.attempts > 0 || m.next_attempt_at.is_none_or(|at| at <= now))
                })
                .map(|m| (m.kind, m.status, m.last_error))
                .collect();
            let failed = unsent.iter().any(|(_, _, error)| error.is_some());
            if unsent.is_empty() || failed || std::time::Instant::now() > deadline {
                return unsent;
            }
            // Messages queued around the app (straight into the store) wake no one.
            self.state.mail_queued();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The address the app listens on.
    pub fn addr(&self) -> SocketAddr {
        if let Some(port) = self.hosted_port {
            return SocketAddr::from(([127, 0, 0, 1], port));
        }
        self.base
            .trim_start_matches("http://")
            .parse()
            .expect("the base URL is an address")
    }

    /// Start shutting the server down (as Ctrl+C does); the task ends when it has drained.
    pub fn begin_shutdown(&mut self) -> tokio::task::JoinHandle<std::io::Result<()>> {
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
        self.server.take().expect("the server is running")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The anonymous client (for requests the helpers do not cover).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// True for an app started with [`TestApp::spawn_hosted`].
    /// Hosted mode: the operator console's address for `path`.
    pub fn operator_url(&self, path: &str) -> String {
        let port = self.hosted_port.expect("a hosted app");
        format!("http://{OPERATOR_HOST}:{port}{path}")
    }

    /// Hosted mode: a browser for the operator console (keeps cookies, follows no redirects)
    /// that also reaches the practices' hosts, and every other `*.localhost` name given.
    pub fn operator_browser(&self, more: &[&str]) -> reqwest::Client {
        let port = self.hosted_port.expect("a hosted app");
        let mut names: Vec<&str> = vec!["operator"];
        names.extend(HOSTED_NAMES);
        names.extend(more);
        http_client(true, Some((&names, port)))
    }

    /// Hosted mode: the directory's address for `path`.
    pub fn directory_url(&self, path: &str) -> String {
        let port = self.hosted_port.expect("a hosted app");
        format!("http://{DIRECTORY_HOST}:{port}{path}")
    }

    /// Hosted mode: a browser without cookies that reaches the directory and the practices.
    pub fn directory_browser(&self) -> reqwest::Client {
        let port = self.hosted_port.expect("a hosted app");
        let mut names: Vec<&str> = vec!["find"];
        names.extend(HOSTED_NAMES);
        http_client(false, Some((&names, port)))
    }

    pub fn is_hosted(&self) -> bool {
        self.hosted_port.is_some()
    }

    /// A new client keeping its own cookies (a browser of its own), that reaches this app.
    pub fn cookie_client(&self) -> reqwest::Client {
        http_client(true, self.hosted_port.map(|p| (&HOSTED_NAMES[..], p)))
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.get_with(path, &[]).await
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.client.get(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Reply::read(request.send().await.expect("GET")).await
    }

    /// A form post as a browser on this site sends it (with `Origin`).
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        let origin = self.base.clone();
        self.post_form_with(path, form, &[("origin", origin.as_str())])
            .await
    }

    /// A form post with exactly these extra headers (no `Origin` unless given).
    pub async fn post_form_with(
        &self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = self.client.post(self.url(path)).form(form);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Reply::read(request.send().await.expect("POST")).await
    }

    // ---- The back office ------------------------------------------------------------

    /// Try to sign in (anonymous client: nothing is kept).
    pub async fn sign_in_with(&self, email: &str, password: &str) -> Reply {
        self.post_form(
            "/office/sign-in",
            &[("email", email), ("password", password)],
        )
        .await
    }

    /// Sign the browser in; returns its session cookie as `name=value`.
    pub async fn sign_in(&self) -> String {
        let response = self
            .browser
            .post(self.url("/office/sign-in"))
            .header("origin", &self.base)
            .form(&[("email", self.staff_email), ("password", STAFF_PASSWORD)])
            .send()
            .await
            .expect("POST sign-in");
        let reply = Reply::read(response).await;
        reply.assert_redirect("/office");
        let cookie = reply
            .set_cookies()
            .first()
            .copied()
            .expect("a session cookie")
            .to_owned();
        cookie.split(';').next().unwrap_or_default().to_owned()
    }

    /// Add a member of staff (not the owner) with the staff password.
    pub async fn add_staff(&self, email: &str, name: &str) -> store::UserId {
        let user = NewUser {
            email: EmailAddress::parse(email).expect("email"),
            name: PersonName::parse(name).expect("name"),
            password_hash: password_hash().to_owned(),
        };
        self.store
            .create_user(self.practice, &user, self.clock.now())
            .await
            .expect("create a member of staff")
    }

    /// A form post carrying exactly this cookie, as a browser on this site sends it.
    pub async fn post_with_cookie(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> Reply {
        let origin = self.base.clone();
        self.post_form_with(
            path,
            form,
            &[("cookie", cookie), ("origin", origin.as_str())],
        )
        .await
    }

    /// GET as the (signed-in) browser.
    pub async fn office_get(&self, path: &str) -> Reply {
        Reply::read(self.browser.get(self.url(path)).send().await.expect("GET")).await
    }

    /// Send a body of this type as the (signed-in) browser (a form with a file).
    pub async fn office_post_body(&self, path: &str, content_type: &str, body: Vec<u8>) -> Reply {
        let request = self
            .browser
            .post(self.url(path))
            .header("origin", &self.base)
            .header("content-type", content_type)
            .body(body);
        Reply::read(request.send().await.expect("POST")).await
    }

    /// Submit a form as the (signed-in) browser.
    pub async fn office_post(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        let request = self
            .browser
            .post(self.url(path))
            .header("origin", &self.base)
            .form(form);
        Reply::read(request.send().await.expect("POST")).await
    }

    /// Submit a form as the (signed-in) browser and keep the body as bytes (a download).
    pub async fn office_post_bytes(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, Vec<u8>) {
        let response = self
            .browser
            .post(self.url(path))
            .header("origin", &self.base)
            .form(form)
            .send()
            .await
            .expect("POST");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("read the body").to_vec();
        (status, headers, body)
    }

    /// The engine this app's database is on.
    pub fn engine(&self) -> Engine {
        self.database.engine()
    }

    /// The store as SQLite's own type, on SQLite (for what only SQLite has: its file, its
    /// backups); `None` on PostgreSQL.
    pub fn sqlite(&self) -> Option<&SqliteStore> {
        self.sqlite.as_deref()
    }

    /// The SQLite database file (for reading its schema from a test); `None` on PostgreSQL.
    pub fn database_path(&self) -> Option<std::path::PathBuf> {
        match self.database.as_ref() {
            Database::Sqlite(dir) => Some(dir.path().join("anteroom.db")),
            Database::Postgres(_) => None,
        }
    }

    /// The PostgreSQL database's URL (for reading its schema from a test); `None` on SQLite.
    pub fn postgres_url(&self) -> Option<&str> {
        match self.database.as_ref() {
            Database::Sqlite(_) => None,
            Database::Postgres(db) => Some(&db.url),
        }
    }

    /// GET carrying exactly this cookie (to replay an old session).
    pub async fn get_with_cookie(&self, path: &str, cookie: &str) -> Reply {
        self.get_with(path, &[("cookie", cookie)]).await
    }

    // ---- The clock and the database -------------------------------------------------

    pub fn advance_clock(&self, by: SignedDuration) {
        self.clock.advance(by);
    }

    pub async fn enquiries(&self) -> Vec<Enquiry> {
        self.store
            .enquiries(self.practice)
            .await
            .expect("read enquiries")
    }

    pub async fn outbox(&self) -> Vec<OutboxMessage> {
        self.store
            .outbox(self.practice, 100)
            .await
            .expect("read the outbox")
    }

    pub async fn article_count(&self) -> usize {
        self.store
            .all_articles(self.practice)
            .await
            .expect("read articles")
            .len()
    }

    /// True when `needle` occurs in the database: on SQLite anywhere in the file or its WAL
    /// (free pages included); on PostgreSQL in any value of any column of any table.
    pub fn database_contains(&self, needle: &str) -> bool {
        self.database_contains_bytes(needle.as_bytes())
    }

    /// True when these bytes occur in the database (see [`TestApp::database_contains`]).
    pub fn database_contains_bytes(&self, needle: &[u8]) -> bool {
        match self.database.as_ref() {
            Database::Sqlite(dir) => {
                let entries = std::fs::read_dir(dir.path()).expect("list the data dir");
                entries.filter_map(Result::ok).any(|entry| {
                    let bytes = std::fs::read(entry.path()).unwrap_or_default();
                    bytes.windows(needle.len()).any(|w| w == needle)
                })
            }
            Database::Postgres(db) => {
                let url = db.url.clone();
                let needle = needle.to_vec();
                // A runtime of its own on a thread of its own: callers are not async.
                std::thread::spawn(move || {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a runtime")
                        .block_on(postgres_contains(&url, &needle))
                })
                .join()
                .expect("search the database")
            }
        }
    }
}

/// Every value of every column of every table in the database at `url`, bytes as they are
/// and the rest as text.
async fn postgres_values(url: &str) -> Vec<Vec<u8>> {
    use sqlx::{Connection, Row};
    let mut db = sqlx::PgConnection::connect(url)
        .await
        .expect("connect to the test database");
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text \
         FROM information_schema.columns WHERE table_schema = 'public' \
         ORDER BY table_name, ordinal_position",
    )
    .fetch_all(&mut db)
    .await
    .expect("list the columns");
    let mut values = Vec::new();
    for (table, column, data_type) in columns {
        let bytea = data_type == "bytea";
        let sql = if bytea {
            format!(r#"SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL"#)
        } else {
            format!(r#"SELECT "{column}"::text FROM "{table}" WHERE "{column}" IS NOT NULL"#)
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut db)
            .await
            .expect("read a column");
        for row in rows {
            values.push(if bytea {
                row.get::<Vec<u8>, _>(0)
            } else {
                row.get::<String, _>(0).into_bytes()
            });
        }
    }
    let _ = db.close().await;
    values
}

async fn postgres_contains(url: &str, needle: &[u8]) -> bool {
    postgres_values(url)
        .await
        .iter()
        .any(|value| value.windows(needle.len()).any(|w| w == needle))
}

impl TestApp {
    /// Every table that can refer to a client (a `client_id` column or a foreign key to
    /// `clients`, and `clients` itself), with how many rows name client `id`; PostgreSQL only
    /// (the SQLite tests read the file with Python's `sqlite3`).
    pub async fn postgres_tables_referring_to_clients(&self, id: i64) -> Vec<(String, i64)> {
        use sqlx::Connection;
        let url = self.postgres_url().expect("a PostgreSQL database");
        let mut db = sqlx::PgConnection::connect(url)
            .await
            .expect("connect to the test database");
        let refs: Vec<(String, String)> = sqlx::query_as(
            "SELECT c.table_name::text, c.column_name::text FROM information_schema.columns c \
             JOIN information_schema.tables t \
               ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
             WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' \
               AND c.column_name = 'client_id' \
             UNION \
             SELECT rel.relname::text, att.attname::text FROM pg_constraint con \
             JOIN pg_class rel ON rel.oid = con.conrelid \
             JOIN pg_namespace ns ON ns.oid = rel.relnamespace \
             JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = ANY (con.conkey) \
             WHERE con.contype = 'f' AND ns.nspname = 'public' \
               AND con.confrelid = 'public.clients'::regclass \
             UNION SELECT 'clients', 'id'",
        )
        .fetch_all(&mut db)
        .await
        .expect("list the columns naming clients");
        let mut by_table: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for (table, column) in refs {
            by_table.entry(table).or_default().push(column);
        }
        let mut tables = Vec::new();
        for (table, columns) in by_table {
            let condition = columns
                .iter()
                .map(|c| format!(r#""{c}" = $1"#))
                .collect::<Vec<_>>()
                .join(" OR ");
            let sql = format!(r#"SELECT COUNT(*) FROM "{table}" WHERE {condition}"#);
            let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_one(&mut db)
                .await
                .expect("count the rows naming the client");
            tables.push((table, count));
        }
        let _ = db.close().await;
        tables
    }
}

/// A valid enquiry form, with some fields replaced.
pub fn enquiry_form<'a>(overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("name", "Sam Whitlock"),
        ("email", "sam.whitlock@example.org"),
        ("phone", ""),
        ("contact_preference", "email"),
        (
            "message",
            "I am free on Tuesday evenings and would like to meet in Balham.",
        ),
        ("consent", "true"),
        ("website", ""),
    ];
    for (name, value) in overrides {
        match form.iter_mut().find(|(k, _)| k == name) {
            Some(field) => field.1 = value,
            None => form.push((name, value)),
        }
    }
    form
}

/// The same form without one field (an unticked checkbox is simply not sent).
pub fn without<'a>(mut form: Vec<(&'a str, &'a str)>, field: &str) -> Vec<(&'a str, &'a str)> {
    form.retain(|(k, _)| *k != field);
    form
}

/// Read an ICS file back with Python's `icalendar` (installed by `cargo xtask test`, which
/// also makes it required); checks it has exactly one event with a UID and a start.
pub fn ics_parses(ics: &str) {
    use std::io::Write;
    let script = "import sys, icalendar\n\
        cal = icalendar.Calendar.from_ical(sys.stdin.read())\n\
        events = [c for c in cal.walk() if c.name == 'VEVENT']\n\
        assert events, 'no VEVENT'\n\
        for e in events:\n    assert e.get('uid') and e.decoded('dtstart') and e.decoded('dtend')\n\
        print(len(events))\n";
    let required = std::env::var_os("ANTEROOM_REQUIRE_ICS_PARSER").is_some();
    let child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let output = child.and_then(|mut child| {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(ics.as_bytes())?;
        child.wait_with_output()
    });
    match output {
        Ok(out) if out.status.success() => {}
        Ok(out)
            if !required
                && String::from_utf8_lossy(&out.stderr).contains("No module named 'icalendar'") => {
        }
        Ok(out) => panic!(
            "icalendar refused the file: {}\n{ics}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) if !required => {}
        Err(error) => panic!("cannot run python3: {error}"),
    }
}

/// Every address under `prefix` in a page's `srcset`s and `src`s.
pub fn addresses_under(body: &str, prefix: &str) -> Vec<String> {
    let mut urls: Vec<String> = body
        .split(prefix)
        .skip(1)
        .filter_map(|rest| {
            let end = rest.find([' ', '"', ','])?;
            Some(format!("{prefix}{}", &rest[..end]))
        })
        .collect();
    urls.sort();
    urls.dedup();
    urls
}
