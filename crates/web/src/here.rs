//! Which practice a request is for.
//!
//! Nothing in [`AppState`] names a practice. The [`resolve`] middleware, outside every other
//! layer that needs one, asks the [`Resolver`] which practice the request's host belongs to
//! and puts a [`Here`] in the request: the shared state together with that practice's id,
//! public address and caches. Handlers take `Here` as an extractor; jobs make one for each
//! practice in turn ([`AppState::here`]). A request for a host that names no practice gets a
//! plain 404 that names none either.
//!
//! Today there is one resolver: [`Resolver::Single`], one practice answering on every host
//! (self-hosted, as it has always been). Hosted mode adds one that reads the host name.

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
    /// Content or settings of this practice changed: drop its cached pages and booking offer.
    pub fn content_changed(&self) {
        self.practice.pages.clear();
    }
    /// A booking was made, moved or changed status (and its emails queued): drop cached
    /// availability answers and wake the delivery worker.
    pub(crate) fn booking_changed(&self) {
        self.practice.pages.clear_pages();
        self.mail_queued();
    }
}

impl AppState {
    /// The state seen from `practice` (a job's view, or a test's).
    pub fn here(&self, practice: PracticeId) -> Here {
        let tenant = self
            .tenants()
            .get_or_add(practice, || self.config().public_url.clone());
        Here {
            state: self.clone(),
            practice: tenant,
        }
    }

    /// The practices this process serves, each of which its jobs look after: a self-hosted
    /// process serves its one practice, and leaves any other practice in the same database to
    /// the process that serves it (whose address its emails carry).
    pub fn served_practices(&self) -> Vec<PracticeId> {
        match self.resolver() {
            Resolver::Single(practice) => vec![*practice],
        }
    }

    /// The practice a request for `host` is for, if any.
    fn resolve_host(&self, _host: Option<&str>) -> Option<Here> {
        match self.resolver() {
            Resolver::Single(practice) => Some(self.here(*practice)),
        }
    }
}

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
        Some(here) => {
            request.extensions_mut().insert(here);
            next.run(request).await
        }
        None => {
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
