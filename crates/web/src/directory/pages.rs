//! The directory's pages: the search with its results, one page per listing, and how
//! listings are ordered.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use domain::directory::{self as dir, Entry, Meeting, PAGE_SIZE, RawSearch, Search, terms};
use jiff::{Timestamp, tz::TimeZone};
use minijinja::{Value, context};
use serde::Serialize;
use serde_json::json;

use super::directory_url;
use crate::{
    AppState, WebError, error::WebResult, office::errors_value, query::Query, render::html,
    site::pages::json_ld, templates::value,
};

use std::fmt::Write as _;

use super::form;

/// The directory's searches and times are in UK time.
fn zone() -> TimeZone {
    static ZONE: std::sync::OnceLock<TimeZone> = std::sync::OnceLock::new();
    ZONE.get_or_init(|| TimeZone::get("Europe/London").unwrap_or(TimeZone::UTC))
        .clone()
}

/// A listing as a result or its page shows it.
#[derive(Serialize)]
struct Card {
    id: String,
    name: String,
    therapist: String,
    title: String,
    summary: String,
    identity: String,
    approaches: Vec<&'static str>,
    help_with: Vec<&'static str>,
    ways: Vec<&'static str>,
    languages: Vec<String>,
    rooms: Vec<String>,
    online: bool,
    consultation_fee: Option<String>,
    session_fee: Option<String>,
    concessions: Option<String>,
    next_free: Option<String>,
    accepting: bool,
    /// Not heard from lately: its free times are not shown.
    quiet: bool,
    registration: Option<(String, String, String, String)>,
    checked: bool,
    url: String,
    booking_url: Option<String>,
}

/// `quiet`: its free times were not heard lately ([`Entry::is_stale`]).
fn card(entry: &Entry, next_free: Option<Timestamp>, quiet: bool) -> Card {
    let l = &entry.listing;
    let fee = |p: domain::Pence| {
        if p.get() == 0 {
            "free".to_owned()
        } else {
            p.to_string()
        }
    };
    Card {
        id: l.id.clone(),
        name: l.name.clone(),
        therapist: l.therapist.clone(),
        title: l.title.clone(),
        summary: l.summary.clone(),
        identity: l.identity.clone(),
        approaches: entry.approach_labels(),
        help_with: entry.help_labels(),
        ways: entry.way_labels(),
        languages: l.languages.clone(),
        rooms: l
            .rooms
            .iter()
            .map(|r| format!("{} ({})", r.area, r.outcode))
            .collect(),
        online: l.online,
        consultation_fee: l.consultation_fee.map(fee),
        session_fee: l.session_fee.map(fee),
        concessions: l.concessions.map(|c| {
            let places = if c.places == 1 {
                "1 place".to_owned()
            } else {
                format!("{} places", c.places)
            };
            format!("{places} from {}", fee(c.from))
        }),
        next_free: next_free.map(|t| crate::words::weekday_date_at(zone().to_datetime(t))),
        accepting: l.accepting,
        quiet,
        registration: l.registration.as_ref().and_then(|r| {
            let body = terms::body(&r.body)?;
            Some((
                body.short.to_owned(),
                body.name.to_owned(),
                r.number.clone(),
                body.register.to_owned(),
            ))
        }),
        checked: entry.checked,
        url: l.url.clone(),
        booking_url: l.booking_url.clone(),
    }
}

/// One result of a search, as HTML: rendered once per snapshot for each next free time
/// (see `Snapshot::card`).
fn result(
    state: &AppState,
    snapshot: &super::Snapshot,
    i: usize,
    next_free: Option<Timestamp>,
    now: Timestamp,
) -> WebResult<Value> {
    let entry = &snapshot.entries[i];
    let quiet = entry.is_stale(now);
    let key = (i, next_free.map(|t| t.as_second()), quiet);
    if let Some(html) = snapshot.card(&key) {
        return Ok(Value::from_safe_string(html.as_ref().to_owned()));
    }
    let r = value(&card(entry, next_free, quiet));
    let html = state
        .templates()
        .render("directory/result.html", context! { r })?;
    snapshot.keep_card(key, &html);
    Ok(Value::from_safe_string(html))
}

/// The search as typed, from the query string (`help` may repeat).
fn raw_search(pairs: &[(String, String)]) -> RawSearch {
    let first = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    RawSearch {
        help: pairs
            .iter()
            .filter(|(k, _)| k == "help")
            .map(|(_, v)| v.clone())
            .collect(),
        q: first("q"),
        approach: first("approach"),
        way: first("way"),
        near: first("near"),
        meeting: first("meeting"),
        within: first("within"),
        fee: first("fee"),
        concessions: pairs.iter().any(|(k, _)| k == "concessions"),
        language: first("language"),
        identity: first("identity"),
        body: first("body"),
        page: first("page"),
    }
}

/// The query string of this search at another page.
fn page_link(pairs: &[(String, String)], page: usize) -> String {
    let mut query: Vec<String> = pairs
        .iter()
        .filter(|(k, v)| k != "page" && !v.is_empty())
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    if page > 1 {
        query.push(format!("page={page}"));
    }
    if query.is_empty() {
        "/".to_owned()
    } else {
        format!("/?{}", query.join("&"))
    }
}

fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

fn render(state: &AppState, status: StatusCode, template: &str, ctx: Value) -> WebResult<Response> {
    let base = directory_url(state);
    let body = state
        .templates()
        .render(template, context! { directory_url => base, ..ctx })?;
    Ok(html(status, body))
}

/// `GET /`: the search form and, below it, the listings that pass it, in the published order.
pub(super) async fn search(
    State(state): State<AppState>,
    uri: axum::http::Uri,
    Query(pairs): Query<Vec<(String, String)>>,
) -> WebResult<Response> {
    let snapshot = state.directory().snapshot();
    // The same search within the same minute, on the same snapshot, is the same page.
    let key = format!(
        "{}:{}:{}",
        snapshot.generation,
        state.now().as_second() / 60,
        uri.query().unwrap_or_default()
    );
    if let Some((status, body)) = state.directory().cached_page(&key) {
        return Ok(html(status, body.as_ref().clone()));
    }
    let response = search_page(&state, &snapshot, &pairs)?;
    Ok(response.into_response(&state, key))
}

/// A search page before it is cached.
struct Page {
    status: StatusCode,
    body: String,
}

impl Page {
    fn into_response(self, state: &AppState, key: String) -> Response {
        state.directory().keep_page(key, self.status, &self.body);
        html(self.status, self.body)
    }
}

fn search_page(
    state: &AppState,
    snapshot: &super::Snapshot,
    pairs: &[(String, String)],
) -> WebResult<Page> {
    let state = state.clone();
    let raw = raw_search(pairs);
    let search = match Search::parse(&raw, |name| snapshot.outcodes_of(name)) {
        Ok(mut search) => {
            search.centroids = state.config().outcode_centroids.clone();
            search
        }
        Err(errors) => {
            let (list, _) = errors_value(&errors);
            let form = Value::from_safe_string(form::search_form(&raw, &errors));
            let ctx = context! { form, errors => list, searched => true };
            return rendered(
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                "directory/search.html",
                ctx,
            );
        }
    };
    let now = state.now();
    let today = zone().to_datetime(now).date();
    let (total, ordered) = dir::order_page(
        &snapshot.entries,
        &snapshot.sieve,
        &search,
        now,
        dir::daily_seed(today),
        search.page,
    );
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    if search.page > pages {
        return Err(WebError::NotFound);
    }
    let results = ordered
        .iter()
        .map(|(i, rank)| result(&state, snapshot, *i, rank.next_free, now))
        .collect::<WebResult<Vec<Value>>>()?;
    // GOV.UK-style pages: the first, the last, and the two either side of this one, with a
    // gap (0) where pages are left out; previous and next.
    let mut numbers: Vec<usize> = vec![1, pages];
    numbers.extend(search.page.saturating_sub(2).max(1)..=(search.page + 2).min(pages));
    numbers.sort_unstable();
    numbers.dedup();
    let mut links: Vec<(usize, String)> = Vec::new();
    for n in numbers {
        if links.last().is_some_and(|(last, _)| n > last + 1) {
            links.push((0, String::new()));
        }
        links.push((n, page_link(pairs, n)));
    }
    let previous = (search.page > 1).then(|| page_link(pairs, search.page - 1));
    let next = (search.page < pages).then(|| page_link(pairs, search.page + 1));
    let meeting = match search.meeting {
        Meeting::Either => "either",
        Meeting::InPerson => "in-person",
        Meeting::Online => "online",
    };
    let form = Value::from_safe_string(form::search_form(&raw, &domain::FieldErrors::default()));
    let ctx = context! {
        form, results, total, page => search.page, pages => links, page_count => pages,
        previous, next,
        searched => !search.is_everything(), meeting,
        near => search.near.as_ref().map(|(typed, _)| typed.clone()),
        within => search.within_days,
        first => (search.page - 1) * PAGE_SIZE + 1,
    };
    rendered(&state, StatusCode::OK, "directory/search.html", ctx)
}

fn rendered(state: &AppState, status: StatusCode, template: &str, ctx: Value) -> WebResult<Page> {
    let base = directory_url(state);
    let body = state
        .templates()
        .render(template, context! { directory_url => base, ..ctx })?;
    Ok(Page { status, body })
}

/// schema.org for one listing: the practice as a `MedicalClinic` offering psychological
/// treatment, its therapist as a `Person` with their registration, and its fees as offers.
fn listing_json_ld(entry: &Entry, page: &str) -> serde_json::Value {
    let l = &entry.listing;
    let mut offers = Vec::new();
    for (name, fee) in [
        ("First consultation", l.consultation_fee),
        ("Therapy session", l.session_fee),
    ] {
        if let Some(fee) = fee {
            offers.push(json!({
                "@type": "Offer",
                "name": name,
                "priceSpecification": {
                    "@type": "PriceSpecification",
                    "price": format!("{}.{:02}", fee.get() / 100, fee.get() % 100),
                    "priceCurrency": "GBP"
                }
            }));
        }
    }
    let mut person = json!({
        "@type": "Person",
        "name": l.therapist,
        "jobTitle": l.title,
        "knowsLanguage": l.languages,
    });
    if let Some(body) = l.registration.as_ref().and_then(|r| terms::body(&r.body)) {
        person["memberOf"] =
            json!({ "@type": "Organization", "name": body.name, "url": body.register });
    }
    json!({
        "@context": "https://schema.org",
        "@type": "MedicalClinic",
        "@id": page,
        "name": l.name,
        "description": l.summary,
        "url": l.url,
        "isAcceptingNewPatients": l.accepting,
        "availableService": { "@type": "PsychologicalTreatment", "name": entry.approach_labels().join(", ") },
        "employee": person,
        "makesOffer": offers,
        "address": l.rooms.iter().map(|r| json!({
            "@type": "PostalAddress",
            "addressLocality": r.area,
            "postalCode": r.outcode.as_str(),
            "addressCountry": "GB"
        })).collect::<Vec<_>>(),
    })
}

/// `GET /listings/{id}`: one listing in full.
pub(super) async fn listing(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let snapshot = state.directory().snapshot();
    let index = *snapshot.by_id.get(&id).ok_or(WebError::NotFound)?;
    let entry = &snapshot.entries[index];
    let portrait = portrait_of(&state, snapshot.sources.get(index).copied())
        .await?
        .map(|info| crate::photos::PhotoView::under(&info, &format!("/listings/{id}/portrait/")));
    let now = state.now();
    let quiet = entry.is_stale(now);
    let next_free = (entry.listing.accepting && !quiet)
        .then(|| entry.free.next(Meeting::Either, now))
        .flatten();
    let page = format!("{}/listings/{id}", directory_url(&state));
    let ld = json_ld(&listing_json_ld(entry, &page));
    let heard = crate::words::date_and_time(zone().to_datetime(entry.heard));
    let ctx = context! {
        listing => value(&card(entry, next_free, quiet)),
        portrait => value(&portrait),
        json_ld => ld, canonical => page, heard,
    };
    render(&state, StatusCode::OK, "directory/listing.html", ctx)
}

/// A listed practice's portrait, if it has one: a hosted practice's own, or the copy the
/// directory keeps of a self-hosted practice's (see `remote`). Either is served by the
/// directory's own host: its visitors' browsers load nothing from elsewhere.
async fn portrait_of(
    state: &AppState,
    source: Option<super::Source>,
) -> WebResult<Option<store::ImageInfo>> {
    Ok(match source {
        None => None,
        Some(super::Source::Hosted(practice)) => state.store().portrait(practice).await?,
        Some(super::Source::Remote(remote)) => state
            .store()
            .remote_portrait(remote)
            .await?
            .and_then(|kept| kept.image.ok()),
    })
}

/// `GET /listings/{id}/portrait/{key}-{width}.{webp|jpg}`: a listed practice's portrait,
/// served by the directory (only the portrait, only while listed).
pub(super) async fn portrait(
    State(state): State<AppState>,
    Path((id, photo)): Path<(String, String)>,
) -> WebResult<Response> {
    let (key, width, format) = crate::photos::parse_name(&photo).ok_or(WebError::NotFound)?;
    let source = {
        let snapshot = state.directory().snapshot();
        snapshot.by_id.get(&id).map(|i| snapshot.sources[*i])
    };
    let extension = format.extension();
    let bytes = match source {
        None => None,
        Some(super::Source::Hosted(practice)) => {
            let portrait = portrait_of(&state, source).await?;
            if portrait.is_none_or(|p| p.key != key) {
                return Err(WebError::NotFound);
            }
            state
                .store()
                .image_variant(practice, key, width, extension)
                .await?
        }
        Some(super::Source::Remote(remote)) => {
            state
                .store()
                .remote_portrait_variant(remote, key, width, extension)
                .await?
        }
    }
    .ok_or(WebError::NotFound)?;
    Ok(crate::photos::variant_response(
        bytes.into(),
        format,
        key,
        width,
    ))
}

/// `GET /how-listings-are-ordered`: the rule, with today's seed.
pub(super) async fn ordering(State(state): State<AppState>) -> WebResult<Response> {
    let today = zone().to_datetime(state.now()).date();
    let ctx = context! {
        today => crate::words::date(today),
        number => today.strftime("%Y%m%d").to_string(),
        seed => format!("{:016x}", dir::daily_seed(today)),
        stale_hours => dir::STALE_AFTER_HOURS,
        distances => state.config().outcode_centroids.is_some(),
        bands => dir::DISTANCE_BANDS_KM.iter().map(|km| format!("{km:.0}")).collect::<Vec<_>>(),
    };
    render(&state, StatusCode::OK, "directory/ordering.html", ctx)
}

/// `GET /hsds/`: the directory as Open Referral HSDS.
pub(super) async fn hsds_root(
    State(state): State<AppState>,
    Query(params): Query<super::hsds::Params>,
) -> Response {
    let snapshot = state.directory().snapshot();
    super::hsds::answer(&snapshot.hsds(), &directory_url(&state), "", None, &params)
}

/// `GET /hsds/{kind}`.
pub(super) async fn hsds_list(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    Query(params): Query<super::hsds::Params>,
) -> Response {
    let snapshot = state.directory().snapshot();
    super::hsds::answer(
        &snapshot.hsds(),
        &directory_url(&state),
        &kind,
        None,
        &params,
    )
}

/// `GET /hsds/{kind}/{id}`.
pub(super) async fn hsds_one(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    Query(params): Query<super::hsds::Params>,
) -> Response {
    let snapshot = state.directory().snapshot();
    super::hsds::answer(
        &snapshot.hsds(),
        &directory_url(&state),
        &kind,
        Some(&id),
        &params,
    )
}
