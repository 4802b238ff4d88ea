//! The "find a therapist" directory: hosted mode's listed practices, searched on a host of
//! its own (`--directory-host`), and every practice's own listing as open data
//! (`/api/v1/listing`, in `api::listing`).
//!
//! Each process keeps the directory in memory ([`Listings`]): every listed practice's
//! [`Entry`] (its listing, built from its settings and its data, and the first free
//! consultation of each day ahead, from its real availability). A search is a scan of that
//! snapshot, in the published order (`domain::directory::order`). A change to a practice
//! (a booking, a cancellation, a setting; in this process or, through the change feed, in
//! another) marks only that practice, and [`refresh`] rebuilds only the marked ones, every
//! [`REFRESH_EVERY`]; each entry is also rebuilt once it is [`REBUILD_AFTER`] old, so that
//! the summary's window moves on.

mod form;
pub(crate) mod hsds;
pub(crate) mod listing;
mod pages;
pub mod remote;

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, RwLock},
    time::Duration,
};

use axum::{
    Router,
    extract::{Request, State},
    http::{StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use domain::directory::{Entry, FreeTimes, Outcode, place_name_key};
use jiff::{SignedDuration, Timestamp};
use store::PracticeId;
use tower_http::timeout::TimeoutLayer;

use crate::{AppState, Resolver};

/// A new listing id (a random UUID), for a practice's first saved directory settings.
pub fn new_listing_id() -> String {
    listing::new_id()
}

/// How often each process looks for marked practices to rebuild.
pub(crate) const REFRESH_EVERY: Duration = Duration::from_secs(10);
/// An entry older than this is rebuilt even if nothing marked it.
pub(crate) const REBUILD_AFTER: SignedDuration = SignedDuration::from_hours(6);

/// The directory in this process's memory.
#[derive(Default)]
pub(crate) struct Listings {
    snapshot: RwLock<Arc<Snapshot>>,
    marked: Mutex<Marked>,
    /// Each refresh's snapshot gets the next number (search pages are cached by it).
    generations: std::sync::atomic::AtomicU64,
    /// Search pages as rendered, by snapshot, minute and query string.
    pages: Mutex<HashMap<String, (StatusCode, Arc<String>)>>,
}

/// The most search pages kept at once (all are dropped when it is reached).
const MAX_PAGES: usize = 500;

#[derive(Default)]
struct Marked {
    all: bool,
    practices: HashSet<PracticeId>,
}

/// Where a listing comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// A practice of this deployment.
    Hosted(PracticeId),
    /// A self-hosted practice read from its address (`store::RemoteListing::id`).
    Remote(i64),
}

/// The directory as of its last refresh.
#[derive(Default)]
pub(crate) struct Snapshot {
    pub entries: Vec<Entry>,
    /// Where each entry comes from.
    pub sources: Vec<Source>,
    /// Entry by listing id.
    pub by_id: HashMap<String, usize>,
    /// The outcodes of the rooms listed under each place name (`place_name_key`).
    pub places: HashMap<String, Vec<Outcode>>,
    /// For each practice: when its settings were saved, when its entry was built.
    built: HashMap<PracticeId, (Timestamp, Timestamp)>,
    /// The entries as Open Referral HSDS, made at the first `/hsds/` request.
    hsds: std::sync::OnceLock<Arc<hsds::Catalogue>>,
    /// Which refresh made it (cached search pages are of one generation).
    pub generation: u64,
    /// The entries' terms side by side, for searches.
    pub sieve: domain::directory::Sieve,
    /// Each result as a search page shows it, by entry, next free time and whether its
    /// times are stale: the same in every search on this snapshot, so made once.
    cards: Mutex<HashMap<CardKey, Arc<str>>>,
}

/// Which result: the entry, its next free time (seconds) and whether it is stale.
pub(crate) type CardKey = (usize, Option<i64>, bool);

/// The most results kept per snapshot (about a kilobyte each); then they start again.
const MAX_CARDS: usize = 12_000;

impl Snapshot {
    /// The entries as HSDS (made once per snapshot).
    pub(crate) fn hsds(&self) -> Arc<hsds::Catalogue> {
        Arc::clone(self.hsds.get_or_init(|| {
            Arc::new(hsds::Catalogue::of(
                self.entries.iter().map(|e| (&e.listing, &e.free, e.heard)),
            ))
        }))
    }

    /// A result as rendered before, if it was.
    pub(crate) fn card(&self, key: &CardKey) -> Option<Arc<str>> {
        self.cards.lock().ok()?.get(key).cloned()
    }

    /// Keep a rendered result.
    pub(crate) fn keep_card(&self, key: CardKey, html: &str) {
        if let Ok(mut cards) = self.cards.lock() {
            if cards.len() >= MAX_CARDS {
                cards.clear();
            }
            cards.insert(key, Arc::from(html));
        }
    }

    fn add(&mut self, source: Source, entry: Entry) {
        for room in &entry.listing.rooms {
            let codes = self.places.entry(place_name_key(&room.area)).or_default();
            if !codes.contains(&room.outcode) {
                codes.push(room.outcode.clone());
            }
        }
        self.by_id
            .insert(entry.listing.id.clone(), self.entries.len());
        self.entries.push(entry);
        self.sources.push(source);
    }

    /// The outcodes known under a place's name.
    pub fn outcodes_of(&self, name: &str) -> Vec<Outcode> {
        self.places.get(name).cloned().unwrap_or_default()
    }
}

impl Listings {
    /// The directory as last built.
    pub(crate) fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .map_or_else(|_| Arc::default(), |s| Arc::clone(&s))
    }

    /// `practice` changed: rebuild its entry at the next refresh.
    pub(crate) fn mark(&self, practice: PracticeId) {
        if let Ok(mut marked) = self.marked.lock() {
            marked.practices.insert(practice);
        }
    }

    /// Anything may have changed (the change feed was interrupted).
    pub(crate) fn mark_all(&self) {
        if let Ok(mut marked) = self.marked.lock() {
            marked.all = true;
        }
    }

    /// A search page rendered for this snapshot, minute and query.
    pub(crate) fn cached_page(&self, key: &str) -> Option<(StatusCode, Arc<String>)> {
        self.pages.lock().ok()?.get(key).cloned()
    }

    /// Keep a rendered search page.
    pub(crate) fn keep_page(&self, key: String, status: StatusCode, body: &str) {
        if let Ok(mut pages) = self.pages.lock() {
            if pages.len() >= MAX_PAGES {
                pages.clear();
            }
            pages.insert(key, (status, Arc::new(body.to_owned())));
        }
    }

    fn take_marked(&self) -> Marked {
        self.marked
            .lock()
            .map(|mut m| std::mem::take(&mut *m))
            .unwrap_or(Marked {
                all: true,
                practices: HashSet::new(),
            })
    }
}

/// Whether a registration the operator checked is still the one listed.
fn still_checked(listing: &domain::directory::Listing, review: &store::ListingReview) -> bool {
    match (&listing.registration, &review.checked) {
        (Some(registration), Some(check)) => {
            registration.body == check.body && registration.number == check.number
        }
        _ => false,
    }
}

/// Rebuild the directory: read which practices are listed, rebuild the entries of those
/// marked, new, changed or old, and keep the rest as they were. Returns how many entries
/// were rebuilt.
pub async fn refresh(state: &AppState) -> store::StoreResult<usize> {
    let marked = state.directory().take_marked();
    let listed = state.store().listed_practices().await?;
    let served: HashSet<PracticeId> = state.served_practices().into_iter().collect();
    let old = state.directory().snapshot();
    let now = state.now();
    let mut next = Snapshot::default();
    let mut rebuilt = 0;
    for practice in listed {
        let id = practice.practice;
        if !served.contains(&id) || practice.review.hidden.is_some() {
            continue;
        }
        let reusable = old.built.get(&id).is_some_and(|(saved, built)| {
            !marked.all
                && !marked.practices.contains(&id)
                && *saved == practice.listing.updated_at
                && now.duration_since(*built) < REBUILD_AFTER
        });
        let old_entry = old
            .sources
            .iter()
            .position(|p| *p == Source::Hosted(id))
            .map(|i| &old.entries[i]);
        let entry = match old_entry {
            Some(entry) if reusable => {
                let mut entry = entry.clone();
                entry.checked = still_checked(&entry.listing, &practice.review);
                next.built.insert(id, old.built[&id]);
                entry
            }
            _ => match build(state, &practice).await {
                Ok(entry) => {
                    rebuilt += 1;
                    next.built.insert(id, (practice.listing.updated_at, now));
                    entry
                }
                Err(error) => {
                    tracing::warn!(practice = id.get(), %error, "cannot build a directory listing");
                    // Keep what was known (it ages out of availability searches by itself).
                    let Some(entry) = old_entry else { continue };
                    if let Some(built) = old.built.get(&id) {
                        next.built.insert(id, *built);
                    }
                    entry.clone()
                }
            },
        };
        next.add(Source::Hosted(id), entry);
    }
    // Self-hosted practices, as last read. A listing whose id is already here (one of this
    // deployment's, or another address's) is left out: an id cannot be taken over.
    for remote in state.store().remotes().await? {
        let (Some(text), Some(heard)) = (&remote.document, remote.heard_at) else {
            continue;
        };
        if remote.review.hidden.is_some() {
            continue;
        }
        let Some(doc) = remote::stored_document(text) else {
            continue;
        };
        if next.by_id.contains_key(&doc.listing.id) {
            continue;
        }
        let checked = still_checked(&doc.listing, &remote.review);
        next.add(
            Source::Remote(remote.id),
            Entry::new(doc.listing, doc.free_consultations, heard, checked),
        );
    }
    // Nothing rebuilt, added, dropped, re-read or re-checked: keep the snapshot as it is,
    // with its cached pages and HSDS catalogue.
    let unchanged = rebuilt == 0
        && next.sources == old.sources
        && next
            .entries
            .iter()
            .zip(&old.entries)
            .all(|(a, b)| a.heard == b.heard && a.checked == b.checked);
    if unchanged {
        return Ok(0);
    }
    if rebuilt > 0 {
        tracing::info!(rebuilt, listed = next.entries.len(), "directory refreshed");
    }
    next.sieve = domain::directory::Sieve::of(&next.entries);
    next.generation = state
        .directory()
        .generations
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        + 1;
    if let Ok(mut snapshot) = state.directory().snapshot.write() {
        *snapshot = Arc::new(next);
    }
    if let Ok(mut pages) = state.directory().pages.lock() {
        pages.clear();
    }
    Ok(rebuilt)
}

async fn build(
    state: &AppState,
    practice: &store::ListedPractice,
) -> crate::error::WebResult<Entry> {
    let here = state.here(practice.practice);
    let listing = listing::listing_of(&here, &practice.listing).await?;
    let free = if listing.accepting {
        listing::free_times(&here, false).await?
    } else {
        FreeTimes::default()
    };
    let checked = still_checked(&listing, &practice.review);
    Ok(Entry::new(listing, free, state.now(), checked))
}

/// Keep the directory fresh until `stop` (only where a directory is served).
pub(crate) async fn keep_fresh(state: AppState, stop: impl Future<Output = ()>) {
    if state.config().directory_host.is_none() {
        return;
    }
    tokio::pin!(stop);
    loop {
        if let Err(error) = remote::fetch_due(&state, remote::FETCH_TIMEOUT).await {
            tracing::warn!(%error, "cannot read the self-hosted practices' listings");
        }
        if let Err(error) = refresh(&state).await {
            tracing::warn!(%error, "cannot refresh the directory; keeping the last one");
        }
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(REFRESH_EVERY) => {}
        }
    }
}

/// The directory's address, `scheme://host[:port]`.
pub(crate) fn directory_url(state: &AppState) -> String {
    let host = state.config().directory_host.as_deref().unwrap_or("");
    match state.resolver() {
        Resolver::Hosted(sites) => sites.address_of(host),
        Resolver::Single(_) => format!("https://{host}"),
    }
}

/// The directory's router, or `None` when this deployment serves none (not hosted, or no
/// `--directory-host`).
pub(crate) fn router(state: &AppState) -> Option<(String, Router)> {
    let host = state.config().directory_host.clone()?;
    if !matches!(state.resolver(), Resolver::Hosted(_)) {
        return None;
    }
    let router = Router::new()
        .route("/", get(pages::search))
        .route("/listings/{id}", get(pages::listing))
        .route("/listings/{id}/portrait/{photo}", get(pages::portrait))
        .route("/how-listings-are-ordered", get(pages::ordering))
        .route("/hsds", get(pages::hsds_root))
        .route("/hsds/", get(pages::hsds_root))
        .route("/hsds/{kind}", get(pages::hsds_list))
        .route("/hsds/{kind}/{id}", get(pages::hsds_one))
        .route("/assets/site.css", get(crate::site::feeds::stylesheet))
        .route("/robots.txt", get(robots))
        .fallback(crate::error::not_found)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::ops::shed,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), headers))
        .layer(middleware::from_fn_with_state(
            "directory:",
            crate::ops::label,
        ))
        .with_state(state.clone());
    Some((host, router))
}

async fn robots(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("User-agent: *\nAllow: /\n\n# {}\n", directory_url(&state)),
    )
}

/// Security headers on every response (public pages: no cookies, nothing from elsewhere),
/// and the directory's own error page on any error a handler did not render itself.
async fn headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let mut response = crate::error::own_error_page(response, |page| {
        Ok(state.templates().render("directory/error.html", page)?)
    });
    let https = directory_url(&state).starts_with("https://");
    crate::security::set_headers(&mut response, https, false);
    response
}
