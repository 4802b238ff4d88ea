//! The web application: public site, booking, back office, client portal and API.
//!
//! Handlers are thin: parse the request into domain types, call the store, render a
//! template. Rooms are grouped by audience (`site`, `booking`, `office`, `portal`, `api`), each exposing a `router()`
//! merged in [`app`]. Nothing here writes SQL or talks SMTP.
#![forbid(unsafe_code)]

pub mod access;
pub(crate) mod api;
pub(crate) mod booking;
pub mod clock;
pub mod directory;
mod error;
pub mod export;
mod forms;
#[doc(hidden)]
pub mod fuzzing;
mod here;
pub mod jobs;
pub mod keys;
mod limits;
mod measures;
mod notes;
pub(crate) mod office;
mod operations;
mod operator;
mod ops;
mod pages;
mod photos;
pub use photos::new_image;
pub mod password;
mod portal;
mod qr;
mod query;
mod render;
mod rights;
mod routing;
pub mod sealed;
pub mod second_factor;
mod secret_token;
mod security;
mod server;
mod service;
mod site;
mod templates;
mod therapy;
mod upload;
mod words;

use std::{sync::Arc, time::Duration};

use axum::{Router, extract::DefaultBodyLimit, middleware};
use store::Store;
use tower_http::{compression::CompressionLayer, timeout::TimeoutLayer};

pub use clock::Clock;
pub use error::WebError;
pub use here::{HOSTS_EVERY, Here, HostedSites, Resolver};
pub use limits::RateLimits;
pub use operator::OperatorConsole;
pub use ops::metrics_app;
pub use server::ServeOptions;
pub use service::Service;

/// How the app is configured: everything that is not data in the database.
#[derive(Debug, Clone)]
pub struct Config {
    /// The address the site is reached at, without a trailing slash, e.g. `https://example.com`.
    pub public_url: String,
    /// Trust the last `X-Forwarded-For` hop as the client address (only behind your own proxy).
    pub trust_proxy: bool,
    /// Per-IP limits on forms and sign-in.
    pub rate_limits: RateLimits,
    /// A folder of templates that override the built-in ones (a theme).
    pub theme_dir: Option<std::path::PathBuf>,
    /// True when an SMTP server is configured (if not, the office says messages are waiting).
    pub mail_configured: bool,
    /// The host's key (the key file, kept outside the database): it wraps each practice's
    /// own key ([`keys`]). Without it, notes can be neither written nor read.
    pub host_key: Option<std::sync::Arc<crypto::MasterKey>>,
    /// Hosted mode's operator console, on a host of its own (`--operator-host`).
    pub operator: Option<OperatorConsole>,
    /// Hosted mode's "find a therapist" directory, on a host of its own
    /// (`--directory-host`): lower-case, without a port.
    pub directory_host: Option<String>,
    /// Where each outcode is, if the operator loaded a centroid file
    /// (`--outcode-centroids`): the directory's nearness is then by distance.
    pub outcode_centroids: Option<Arc<domain::directory::Centroids>>,
}

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    resolver: Resolver,
    tenants: here::Tenants,
    clock: Clock,
    config: Config,
    templates: templates::Templates,
    keys: keys::PracticeKeys,
    directory: directory::Listings,
    wake_mailer: Option<Arc<tokio::sync::Notify>>,
    metrics: ops::Metrics,
    /// Requests being served now, at most `config.rate_limits.in_flight` ([`ops::shed`]).
    in_flight: Arc<tokio::sync::Semaphore>,
    /// Photo uploads and their processing, bounded.
    photo_jobs: photos::Jobs,
}

impl AppState {
    /// Build the state; `resolver` says which practice each request is for.
    pub fn new(
        store: Arc<dyn Store>,
        resolver: Resolver,
        clock: Clock,
        config: Config,
        wake_mailer: Option<Arc<tokio::sync::Notify>>,
    ) -> anyhow::Result<Self> {
        let templates = templates::Templates::load(config.theme_dir.as_deref())?;
        let in_flight = config.rate_limits.in_flight.max(1);
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                resolver,
                tenants: here::Tenants::default(),
                clock,
                keys: keys::PracticeKeys::new(config.host_key.clone()),
                directory: directory::Listings::default(),
                config,
                templates,
                wake_mailer,
                metrics: ops::Metrics::default(),
                in_flight: Arc::new(tokio::sync::Semaphore::new(in_flight)),
                photo_jobs: photos::Jobs::default(),
            }),
        })
    }

    pub(crate) fn store(&self) -> &dyn Store {
        self.inner.store.as_ref()
    }
    /// Tell the other processes on this database of a change (in the background: a lost
    /// announcement is logged; their caches are dropped again on the next one).
    pub(crate) fn announce(&self, practice: store::PracticeId, change: store::Change) {
        let store = Arc::clone(&self.inner.store);
        tokio::spawn(async move {
            if let Err(error) = store.announce(practice, change).await {
                tracing::warn!(%error, "cannot announce a change to the other processes");
            }
        });
    }
    /// Follow the other processes' changes, dropping what they make stale here.
    pub(crate) async fn follow_changes(&self) -> store::StoreResult<bool> {
        // Not a clone: the feed must not keep a stopped app alive.
        let state = Arc::downgrade(&self.inner);
        self.store()
            .follow(Box::new(move |heard| match state.upgrade() {
                Some(inner) => {
                    match heard {
                        store::Heard::Changed(practice, _) => inner.directory.mark(practice),
                        store::Heard::Missed => inner.directory.mark_all(),
                    }
                    inner.tenants.heard(heard);
                    true
                }
                None => false,
            }))
            .await
    }
    /// The "find a therapist" directory as this process holds it.
    pub(crate) fn directory(&self) -> &directory::Listings {
        &self.inner.directory
    }
    pub(crate) fn resolver(&self) -> &Resolver {
        &self.inner.resolver
    }
    pub(crate) fn tenants(&self) -> &here::Tenants {
        &self.inner.tenants
    }
    pub(crate) fn now(&self) -> jiff::Timestamp {
        self.inner.clock.now()
    }
    pub(crate) fn config(&self) -> &Config {
        &self.inner.config
    }
    pub(crate) fn metrics(&self) -> &ops::Metrics {
        &self.inner.metrics
    }
    pub(crate) fn in_flight(&self) -> &Arc<tokio::sync::Semaphore> {
        &self.inner.in_flight
    }
    pub(crate) fn photo_jobs(&self) -> &photos::Jobs {
        &self.inner.photo_jobs
    }
    pub(crate) fn templates(&self) -> &templates::Templates {
        &self.inner.templates
    }
    /// The host key and the practices' keys opened with it.
    pub fn keys(&self) -> &keys::PracticeKeys {
        &self.inner.keys
    }
    /// Content or settings changed, of any practice: drop every practice's cached pages and
    /// booking offer. The app's own handlers drop just their practice's
    /// ([`Here::content_changed`]); call this after changing the store some other way.
    pub fn content_changed(&self) {
        self.inner.tenants.each(|tenant| tenant.pages().clear());
        self.inner.directory.mark_all();
    }

    /// An outgoing email's body as it is sent. Only the portal's link emails (signing in,
    /// confirming a new email address) carry a sealed secret, opened here with the key of
    /// the message's practice; every other body goes out exactly as stored, so text someone
    /// typed that looks like a sealed secret is just text. The mail worker calls this just
    /// before sending.
    pub async fn prepare_outgoing(&self, message: &store::OutboxMessage) -> Result<String, String> {
        if portal::SEALED_EMAIL_KINDS.contains(&message.kind.as_str()) {
            self.open_sealed(message.practice, &message.body_text).await
        } else {
            Ok(message.body_text.clone())
        }
    }

    /// `body` with any secret sealed in it (a portal link) opened with `practice`'s key.
    pub async fn open_sealed(
        &self,
        practice: store::PracticeId,
        body: &str,
    ) -> Result<String, String> {
        if !body.contains(sealed::OPEN) {
            return Ok(body.to_owned());
        }
        let key = self
            .keys()
            .of(self.store(), practice, self.now())
            .await
            .map_err(|e| format!("a sealed secret cannot be opened: {e}"))?;
        sealed::open_in_text(&key, body)
    }

    /// A message was queued: let the delivery worker know.
    pub fn mail_queued(&self) {
        if let Some(notify) = &self.inner.wake_mailer {
            notify.notify_one();
        }
    }
}

/// Largest request body accepted (bigger ones get 413).
pub(crate) const BODY_LIMIT: usize = 512 * 1024;

/// Longest a request may take before it is answered with 408.
pub(crate) const REQUEST_TIME_LIMIT: Duration = Duration::from_secs(30);

/// Every route of the app, room by room, each with its access rule.
pub(crate) fn routes() -> Vec<routing::Route> {
    [
        site::routes(),
        booking::routes(),
        api::routes(),
        office::routes(),
        portal::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The whole application as one router: the practices, and in hosted mode the operator
/// console on its own host.
pub fn app(state: AppState) -> Router {
    // Hosted mode's own hosts, each sent to its router before anything looks for a practice.
    // The practices' router sits behind a router with no routes of its own, so that no
    // practice route has matched (and left its path parameters) when a request is diverted.
    let mut app = Router::new().fallback_service(practices_app(state.clone()));
    for own in [operator::router(&state), directory::router(&state)]
        .into_iter()
        .flatten()
    {
        app = app.layer(middleware::from_fn_with_state(own, operator::divert));
    }
    app.layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CompressionLayer::new())
        // The probes answer before any host is looked at; outermost, each request's id
        // and its count by route.
        .layer(middleware::from_fn_with_state(state.clone(), ops::probes))
        .layer(middleware::from_fn_with_state(state, ops::track))
}

/// Every practice's site, booking, office, portal and API, found by the request's host.
fn practices_app(state: AppState) -> Router {
    Router::new()
        .merge(site::router())
        .merge(booking::router())
        .merge(api::router())
        .merge(office::router())
        .merge(portal::router())
        .fallback(error::not_found)
        // Innermost: every route is checked against its access rule and audited.
        .layer(middleware::from_fn_with_state(state.clone(), access::guard))
        .layer(middleware::from_fn_with_state("", ops::label))
        // Innermost first: a timed-out request still gets the error page and headers.
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIME_LIMIT,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security::cross_origin_protection,
        ))
        // Inside the error pages: a request past the limit gets the site's "busy" page.
        .layer(middleware::from_fn_with_state(state.clone(), ops::shed))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security::headers,
        ))
        // Outside every layer that needs the practice: find it from the request's host.
        .layer(middleware::from_fn_with_state(state.clone(), here::resolve))
        .with_state(state)
}

/// Serve the app on a bound listener until `shutdown` resolves, with the default time
/// limits ([`ServeOptions`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, ServeOptions::default(), shutdown).await
}

/// Serve the app on a bound listener until `shutdown` resolves: stop accepting then, let
/// requests in flight finish, and wait at most `options.shutdown_grace` for them.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    state: AppState,
    options: ServeOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    server::serve(listener, app(state), options, shutdown).await
}
