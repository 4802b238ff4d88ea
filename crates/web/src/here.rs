//! Which practice a request is for.
//!
//! Nothing in [`AppState`] names a practice. The [`resolve`] middleware, outside every other
//! layer that needs one, asks the [`Resolver`] which practice the request's host belongs to
//! and puts a [`Here`] in the request: the shared state together with that practice's id,
//! public address and caches. Handlers take `Here` as an extractor; jobs make one for each
//! practice in turn ([`AppState::here`]). A request for a host that names no practice gets a
//! plain 404 that names none either.
//!
//! There are two resolvers. [`Resolver::Single`]: one practice answering on every host
//! (self-hosted, as it has always been). [`Resolver::Hosted`]: many practices, each at
//! `NAME.BASE-DOMAIN` or a domain of its own, read from the store's host directory
//! ([`HostedSites`]), which every process holds in memory and reloads every few seconds (and
//! at once after a change it made), so finding the practice costs one hash lookup. A
//! suspended practice's hosts answer with a short page saying the site is paused.

use std::{
    collections::HashMap,
    ops::Deref,
    sync::{Arc, RwLock},
};

use axum::{
    extract::{FromRequestParts, Request, State},
    http::{StatusCode, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};
use store::PracticeId;

use crate::{AppState, WebError, pages::PageCache};

/// How a request's practice is found.
#[derive(Debug, Clone)]
pub enum Resolver {
    /// One practice, whatever the host: a self-hosted deployment.
    Single(PracticeId),
    /// Many practices, found by the request's host (hosted mode).
    Hosted(Arc<HostedSites>),
}

/// How long a process goes before reloading the host directory (a practice created,
/// suspended or given a domain by another process is seen within this).
pub const HOSTS_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Hosted mode's sites: the base domain, how their addresses are written, and the host
/// directory as last read from the store.
pub struct HostedSites {
    base_domain: String,
    /// `https` or `http` (a demo on this machine).
    scheme: &'static str,
    /// A port to write in addresses (a demo on `NAME.localhost:8080`); none for 80 and 443.
    port: Option<u16>,
    directory: RwLock<Arc<Directory>>,
}

impl std::fmt::Debug for HostedSites {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostedSites")
            .field("base_domain", &self.base_domain)
            .field("scheme", &self.scheme)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// The host directory in memory: which practice each host is, and each practice's
/// address and state.
#[derive(Default)]
struct Directory {
    hosts: HashMap<String, PracticeId>,
    sites: HashMap<PracticeId, Site>,
}

/// A practice as hosted mode serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Site {
    /// Its address: its own domain if it has one, else its name under the base domain.
    public_url: String,
    suspended: bool,
}

impl HostedSites {
    /// Sites under `base_domain` (`anteroom.example`), at `scheme://NAME.base_domain[:port]`.
    /// The directory is empty until [`AppState::reload_hosts`] first reads it.
    pub fn new(base_domain: &str, https: bool, port: Option<u16>) -> Self {
        Self {
            base_domain: base_domain
                .trim()
                .trim_end_matches('.')
                .to_ascii_lowercase(),
            scheme: if https { "https" } else { "http" },
            port: port.filter(|p| !matches!(p, 80 | 443)),
            directory: RwLock::new(Arc::default()),
        }
    }

    fn address(&self, host: &str) -> String {
        match self.port {
            Some(port) => format!("{}://{host}:{port}", self.scheme),
            None => format!("{}://{host}", self.scheme),
        }
    }

    /// The domain the practices' names sit under.
    pub fn base_domain(&self) -> &str {
        &self.base_domain
    }

    /// The address of `host` as these sites write it: `scheme://host[:port]`.
    pub fn address_of(&self, host: &str) -> String {
        self.address(host)
    }

    fn directory(&self) -> Arc<Directory> {
        self.directory
            .read()
            .map_or_else(|_| Arc::default(), |d| Arc::clone(&d))
    }

    /// Build the directory from the store's entries; returns the practices whose address
    /// changed (their cached pages carry the old one).
    fn replace(&self, entries: &[store::DirectoryEntry]) -> Vec<PracticeId> {
        let mut next = Directory::default();
        // Each practice's address: its first domain of its own (the address it gives out),
        // else its name under the base domain.
        let mut addresses: HashMap<PracticeId, (Option<String>, Option<String>)> = HashMap::new();
        for entry in entries {
            let (host, own) = match &entry.host {
                store::PracticeHost::Name(name) => (format!("{name}.{}", self.base_domain), false),
                store::PracticeHost::Domain(domain) => (domain.to_string(), true),
            };
            next.hosts.insert(host.clone(), entry.practice);
            let (name, domain) = addresses.entry(entry.practice).or_default();
            let slot = if own { domain } else { name };
            slot.get_or_insert(host);
            next.sites.insert(
                entry.practice,
                Site {
                    public_url: String::new(),
                    suspended: entry.suspended_at.is_some(),
                },
            );
        }
        for (practice, (name, domain)) in addresses {
            if let (Some(site), Some(host)) = (next.sites.get_mut(&practice), domain.or(name)) {
                site.public_url = self.address(&host);
            }
        }
        let before = self.directory();
        let changed = before
            .sites
            .iter()
            .filter(|(id, site)| {
                next.sites
                    .get(id)
                    .is_none_or(|now| now.public_url != site.public_url)
            })
            .map(|(id, _)| *id)
            .collect();
        if let Ok(mut directory) = self.directory.write() {
            *directory = Arc::new(next);
        }
        changed
    }
}

/// One practice as this process serves it: what is the same for every request to it.
pub(crate) struct Tenant {
    id: PracticeId,
    /// The practice's address, without a trailing slash (links, emails, the feed).
    public_url: String,
    /// Its rendered pages, site values and booking offer.
    pages: PageCache,
}

/// The practices this process has served, each with its caches.
#[derive(Default)]
pub(crate) struct Tenants {
    known: RwLock<HashMap<PracticeId, Arc<Tenant>>>,
}

impl Tenants {
    fn get_or_add(&self, id: PracticeId, public_url: impl FnOnce() -> String) -> Arc<Tenant> {
        if let Some(tenant) = self.known.read().ok().and_then(|t| t.get(&id).cloned()) {
            return tenant;
        }
        let Ok(mut known) = self.known.write() else {
            // A panic while the map was held: serve without keeping the caches.
            return Arc::new(Tenant::new(id, public_url()));
        };
        known
            .entry(id)
            .or_insert_with(|| Arc::new(Tenant::new(id, public_url())))
            .clone()
    }

    /// Another process changed `id` (or, with `None`, anything may have changed): drop the
    /// caches that change made stale.
    pub(crate) fn heard(&self, heard: store::Heard) {
        match heard {
            store::Heard::Changed(id, change) => {
                let tenant = self.known.read().ok().and_then(|t| t.get(&id).cloned());
                if let Some(tenant) = tenant {
                    match change {
                        store::Change::Content => tenant.pages.clear(),
                        store::Change::Diary => tenant.pages.clear_pages(),
                    }
                }
            }
            store::Heard::Missed => self.each(|tenant| tenant.pages.clear()),
        }
    }

    /// Forget a practice's tenant (its address changed): the next request makes a new one.
    fn forget(&self, id: PracticeId) {
        if let Ok(mut known) = self.known.write() {
            known.remove(&id);
        }
    }

    /// Every practice seen so far (to drop their caches together).
    pub(crate) fn each(&self, mut f: impl FnMut(&Tenant)) {
        if let Ok(known) = self.known.read() {
            known.values().for_each(|tenant| f(tenant));
        }
    }
}

impl Tenant {
    fn new(id: PracticeId, public_url: String) -> Self {
        Self {
            id,
            public_url,
            pages: PageCache::default(),
        }
    }

    pub(crate) fn pages(&self) -> &PageCache {
        &self.pages
    }
}

/// The shared state seen from one practice: what a handler or a job works with.
#[derive(Clone)]
pub struct Here {
    state: AppState,
    practice: Arc<Tenant>,
}

impl Deref for Here {
    type Target = AppState;

    fn deref(&self) -> &AppState {
        &self.state
    }
}

impl Here {
    /// The practice this request or job is for.
    pub fn practice_id(&self) -> PracticeId {
        self.practice.id
    }
    /// The practice's address, without a trailing slash, e.g. `https://example.com`.
    pub(crate) fn public_url(&self) -> &str {
        &self.practice.public_url
    }
    /// True when the practice's address is HTTPS (cookies and HSTS depend on it).
    pub(crate) fn is_https(&self) -> bool {
        self.practice.public_url.starts_with("https://")
    }
    pub(crate) fn pages(&self) -> &PageCache {
        &self.practice.pages
    }
    /// Content or settings of this practice changed: drop its cached pages and booking
    /// offer, here and (through the store's change feed) in every other process serving it.
    pub fn content_changed(&self) {
        self.practice.pages.clear();
        self.state.directory().mark(self.practice.id);
        self.state
            .announce(self.practice.id, store::Change::Content);
    }
    /// The practice's own key (see [`crate::keys`]); `KeyMissing` without a key file.
    pub(crate) async fn practice_key(&self) -> crate::error::WebResult<Arc<crypto::MasterKey>> {
        use crate::{WebError, keys::KeyError};
        self.keys()
            .of(self.store(), self.practice.id, self.now())
            .await
            .map_err(|e| match e {
                KeyError::NoHostKey => WebError::KeyMissing,
                KeyError::Store(e) => e.into(),
                other => WebError::Internal(anyhow::anyhow!(other)),
            })
    }
    /// A booking was made, moved or changed status (and its emails queued): drop cached
    /// availability answers and wake the delivery worker.
    pub(crate) fn booking_changed(&self) {
        self.practice.pages.clear_pages();
        self.state.directory().mark(self.practice.id);
        self.mail_queued();
    }
}

impl AppState {
    /// The state seen from `practice` (a job's view, or a test's).
    pub fn here(&self, practice: PracticeId) -> Here {
        let tenant = self
            .tenants()
            .get_or_add(practice, || match self.resolver() {
                Resolver::Single(_) => self.config().public_url.clone(),
                Resolver::Hosted(sites) => sites.directory().sites.get(&practice).map_or_else(
                    || self.config().public_url.clone(),
                    |s| s.public_url.clone(),
                ),
            });
        Here {
            state: self.clone(),
            practice: tenant,
        }
    }

    /// The practices this process serves, each of which its jobs look after: a self-hosted
    /// process serves its one practice, and leaves any other practice in the same database to
    /// the process that serves it (whose address its emails carry); a hosted process serves
    /// every practice that is not suspended (a suspended practice's reminders and notices
    /// wait until it is resumed).
    pub fn served_practices(&self) -> Vec<PracticeId> {
        match self.resolver() {
            Resolver::Single(practice) => vec![*practice],
            Resolver::Hosted(sites) => {
                let mut ids: Vec<PracticeId> = sites
                    .directory()
                    .sites
                    .iter()
                    .filter(|(_, site)| !site.suspended)
                    .map(|(id, _)| *id)
                    .collect();
                ids.sort_unstable();
                ids
            }
        }
    }

    /// Read the host directory again (hosted mode; nothing to do for one practice). Called
    /// at start, every [`HOSTS_EVERY`], and after this process changes a host or a
    /// suspension.
    pub async fn reload_hosts(&self) -> store::StoreResult<()> {
        let Resolver::Hosted(sites) = self.resolver() else {
            return Ok(());
        };
        let entries = self.store().host_directory().await?;
        for practice in sites.replace(&entries) {
            self.tenants().forget(practice);
        }
        // A practice that has gone from the directory (closed) is not served again: its key
        // is dropped from memory too. A suspended one keeps its key for when it resumes.
        let listed: std::collections::HashSet<PracticeId> =
            entries.iter().map(|entry| entry.practice).collect();
        self.keys().retain(|practice| listed.contains(&practice));
        Ok(())
    }

    /// What a request for `host` finds.
    fn resolve_host(&self, host: Option<&str>) -> Found {
        match self.resolver() {
            Resolver::Single(practice) => Found::Practice(self.here(*practice)),
            Resolver::Hosted(sites) => {
                let Some(host) = host.and_then(domain::hosting::request_host) else {
                    return Found::Nothing;
                };
                let directory = sites.directory();
                match directory.hosts.get(&host) {
                    Some(id) if directory.sites.get(id).is_some_and(|s| s.suspended) => {
                        Found::Suspended
                    }
                    Some(id) => Found::Practice(self.here(*id)),
                    None => Found::Nothing,
                }
            }
        }
    }
}

/// What a request's host finds.
enum Found {
    Practice(Here),
    /// A suspended practice: its site says so, and nothing else answers.
    Suspended,
    /// No practice: a plain 404 that names none.
    Nothing,
}

/// The page every address of a suspended practice shows.
const SUSPENDED_PAGE: &str = "<!doctype html>
<html lang=\"en-GB\">
<head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">
<meta name=\"robots\" content=\"noindex\"><title>This site is paused</title>
<style>body{font:1.125rem/1.6 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1.25rem;color:#1f2a2e}</style></head>
<body><h1>This site is paused</h1>
<p>The practice's website is not available at the moment. Nothing you have shared with the practice has been lost.</p>
<p>If you are a client, please contact your therapist in the way you usually do.</p>
<p>If you are in crisis or need help urgently, call NHS 111, or 999 in an emergency. Samaritans are there day and night on 116 123.</p>
</body></html>
";

/// The middleware: find the request's practice, or answer 404 naming none.
pub(crate) async fn resolve(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    match state.resolve_host(host.as_deref()) {
        Found::Practice(here) => {
            request.extensions_mut().insert(here);
            next.run(request).await
        }
        Found::Suspended => {
            let mut response = (
                StatusCode::SERVICE_UNAVAILABLE,
                [
                    (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                SUSPENDED_PAGE,
            )
                .into_response();
            crate::security::set_headers(&mut response, false, true);
            response
        }
        Found::Nothing => {
            let mut response = (
                StatusCode::NOT_FOUND,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "There is no practice at this address.\n",
            )
                .into_response();
            crate::security::set_headers(&mut response, false, true);
            response
        }
    }
}

impl FromRequestParts<AppState> for Here {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, WebError> {
        parts.extensions.get::<Here>().cloned().ok_or_else(|| {
            WebError::Internal(anyhow::anyhow!(
                "bug: a route outside the practice resolver asked for its practice"
            ))
        })
    }
}
