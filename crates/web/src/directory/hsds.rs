//! The directory's listings as Open Referral HSDS 3.1 (Human Services Data Specification):
//! each practice an `organization`; its first consultation, brief work and open-ended work
//! each a `service`, with its rooms (by district only) and online as `location`s through
//! `service_at_location`s, fees and reduced fees as `cost_option`s, languages, what it helps
//! with and its approaches as `taxonomy_term`s (through `attribute`s), and the first
//! consultations free in the next four weeks as a `service_capacity`.
//!
//! Served read-only, paged, with no key and `Access-Control-Allow-Origin: *` under `/hsds/`:
//! by the directory for every listing it holds, and by each listed practice for itself.
//! Identifiers are UUIDs made from the listing's id (SHA-256, shaped as version 5), so they
//! stay the same from one reading to the next. Never any client data.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::Response,
};
use domain::directory::{
    APPROACHES, FreeTimes, HELP_WITH, Listing, REGISTRATION_BODIES, Term, WAYS_OF_WORKING, terms,
};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The HSDS version served.
pub const VERSION: &str = "3.1";
/// The profile the data follows.
const PROFILE: &str = "https://docs.openreferral.org/en/latest/hsds/";
/// Results per page when none is asked for, and the most a page may hold.
const PER_PAGE: usize = 50;
const MAX_PER_PAGE: usize = 100;

/// A UUID (shaped as version 5) for `parts`, the same every time.
fn uuid(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    let b: [u8; 16] = hash.finalize()[..16].try_into().unwrap_or([0; 16]);
    super::listing::uuid_text(b, 5)
}

/// The directory's two taxonomies: what people want help with, and approaches.
const TAXONOMIES: [(&str, &str, &[Term]); 2] = [
    (
        "help-with",
        "What people would like help with, from Anteroom's fixed list",
        HELP_WITH,
    ),
    (
        "approaches",
        "Approaches to counselling and psychotherapy, from Anteroom's fixed list",
        APPROACHES,
    ),
];

fn taxonomy(slug: &str, description: &str) -> Value {
    json!({
        "id": uuid(&["taxonomy", slug]),
        "name": format!("Anteroom {slug}"),
        "description": description,
        "version": "1",
    })
}

fn term(taxonomy_slug: &str, description: &str, t: &Term) -> Value {
    json!({
        "id": uuid(&["term", taxonomy_slug, t.slug]),
        "code": t.slug,
        "name": t.label,
        "description": t.label,
        "taxonomy": format!("Anteroom {taxonomy_slug}"),
        "taxonomy_id": uuid(&["taxonomy", taxonomy_slug]),
        "taxonomy_detail": taxonomy(taxonomy_slug, description),
        "language": "en",
    })
}

/// ISO 639-1 codes of the languages a listing names most often (others go by name only).
fn language_code(name: &str) -> Option<&'static str> {
    Some(match name.to_lowercase().as_str() {
        "english" => "en",
        "welsh" => "cy",
        "gaelic" | "scottish gaelic" => "gd",
        "irish" => "ga",
        "french" => "fr",
        "german" => "de",
        "spanish" => "es",
        "portuguese" => "pt",
        "italian" => "it",
        "polish" => "pl",
        "romanian" => "ro",
        "urdu" => "ur",
        "punjabi" => "pa",
        "bengali" => "bn",
        "gujarati" => "gu",
        "hindi" => "hi",
        "tamil" => "ta",
        "arabic" => "ar",
        "turkish" => "tr",
        "somali" => "so",
        "cantonese" => "zh",
        "mandarin" => "zh",
        "farsi" | "persian" => "fa",
        "greek" => "el",
        "russian" => "ru",
        "ukrainian" => "uk",
        "yoruba" => "yo",
        _ => return None,
    })
}

fn pounds(pence: domain::Pence) -> f64 {
    f64::from(pence.get()) / 100.0
}

/// Everything one listing gives: its organization, services, locations and links.
struct Published {
    organization: Value,
    services: Vec<Value>,
    service_at_locations: Vec<Value>,
}

fn publish(listing: &Listing, free: &FreeTimes, heard: Timestamp) -> Published {
    let id = listing.id.as_str();
    let org_id = uuid(&["organization", id]);
    let organization = json!({
        "id": org_id,
        "name": listing.name,
        "description": listing.summary,
        "website": listing.url,
    });
    let locations: Vec<Value> = listing
        .rooms
        .iter()
        .map(|room| {
            let location_id = uuid(&["location", id, room.outcode.as_str(), &room.area]);
            json!({
                "id": location_id,
                "location_type": "physical",
                "name": room.area,
                "organization_id": org_id,
                "addresses": [{
                    "id": uuid(&["address", &location_id]),
                    "location_id": location_id,
                    "address_1": room.area,
                    "city": room.area,
                    "state_province": "",
                    "postal_code": room.outcode.as_str(),
                    "country": "GB",
                    "address_type": "physical",
                }],
            })
        })
        .chain(listing.online.then(|| {
            json!({
                "id": uuid(&["location", id, "online"]),
                "location_type": "virtual",
                "name": "Online",
                "url": listing.url,
                "organization_id": org_id,
            })
        }))
        .collect();
    let attributes = |service_id: &str| -> Vec<Value> {
        TAXONOMIES
            .iter()
            .flat_map(|(slug, description, list)| {
                let chosen = if *slug == "help-with" {
                    &listing.help_with
                } else {
                    &listing.approaches
                };
                chosen
                    .iter()
                    .filter_map(|s| terms::find(list, s))
                    .map(|t| {
                        let term = term(slug, description, t);
                        json!({
                            "id": uuid(&["attribute", service_id, slug, t.slug]),
                            "link_id": service_id,
                            "link_type": "service",
                            "link_entity": "service",
                            "taxonomy_term_id": term["id"],
                            "label": t.label,
                            "taxonomy_term": term,
                        })
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let languages = |service_id: &str| -> Vec<Value> {
        listing
            .languages
            .iter()
            .map(|name| {
                let mut language = json!({
                    "id": uuid(&["language", service_id, name]),
                    "service_id": service_id,
                    "name": name,
                });
                if let Some(code) = language_code(name) {
                    language["code"] = json!(code);
                }
                language
            })
            .collect()
    };
    let accreditations = listing.registration.as_ref().and_then(|r| {
        let body = REGISTRATION_BODIES.iter().find(|b| b.slug == r.body)?;
        Some(format!(
            "{} ({}), number {}",
            body.name, body.short, r.number
        ))
    });
    let window_end = heard + jiff::SignedDuration::from_hours(24 * 28);
    let free_days = |times: &[Timestamp]| {
        times
            .iter()
            .filter(|t| **t >= heard && **t < window_end)
            .count()
    };
    let kinds: Vec<(&str, String, String, Option<domain::Pence>)> = std::iter::once((
        "consultation",
        "First consultation".to_owned(),
        "A first meeting to talk about what brings you and whether to work together.".to_owned(),
        listing.consultation_fee,
    ))
    .chain(
        listing
            .ways
            .iter()
            .filter_map(|w| terms::find(WAYS_OF_WORKING, w))
            .map(|t| {
                let (name, description) = if t.slug == "brief" {
                    (
                        "Brief therapy",
                        "A set number of sessions with a focus agreed at the start.",
                    )
                } else {
                    (
                        "Open-ended therapy",
                        "Regular sessions with no fixed end, ended when you are ready.",
                    )
                };
                (
                    t.slug,
                    name.to_owned(),
                    description.to_owned(),
                    listing.session_fee,
                )
            }),
    )
    .collect();
    let mut services = Vec::new();
    let mut service_at_locations = Vec::new();
    for (kind, name, description, fee) in kinds {
        let service_id = uuid(&["service", id, kind]);
        let mut cost_options = Vec::new();
        if let Some(fee) = fee {
            cost_options.push(json!({
                "id": uuid(&["cost", &service_id, "standard"]),
                "service_id": service_id,
                "option": if fee.get() == 0 { "Free" } else { "Standard fee" },
                "amount": pounds(fee),
                "currency": "GBP",
            }));
        }
        if let (Some(c), true) = (listing.concessions, kind != "consultation") {
            cost_options.push(json!({
                "id": uuid(&["cost", &service_id, "reduced"]),
                "service_id": service_id,
                "option": format!("Reduced fee ({} {})", c.places, if c.places == 1 { "place" } else { "places" }),
                "amount": pounds(c.from),
                "currency": "GBP",
                "amount_description": "The lowest reduced fee, for people on low incomes",
            }));
        }
        let links: Vec<Value> = locations
            .iter()
            .map(|location| {
                json!({
                    "id": uuid(&["service_at_location", &service_id, location["id"].as_str().unwrap_or_default()]),
                    "service_id": service_id,
                    "location_id": location["id"],
                    "location": location,
                })
            })
            .collect();
        service_at_locations.extend(links.iter().cloned());
        let mut service = json!({
            "id": service_id,
            "organization_id": org_id,
            "name": name,
            "description": description,
            "url": if kind == "consultation" { listing.booking_url.clone().unwrap_or_else(|| listing.url.clone()) } else { listing.url.clone() },
            "status": if listing.accepting { "active" } else { "temporarily closed" },
            "assured_date": heard.strftime("%Y-%m-%d").to_string(),
            "last_modified": heard.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            "organization": organization,
            "service_at_locations": links,
            "cost_options": cost_options,
            "languages": languages(&service_id),
            "attributes": attributes(&service_id),
        });
        if let Some(accreditations) = &accreditations {
            service["accreditations"] = json!(accreditations);
        }
        if kind == "consultation" {
            let available = if listing.accepting {
                free_days(&free.in_person).max(free_days(&free.online))
            } else {
                0
            };
            service["capacities"] = json!([{
                "id": uuid(&["capacity", &service_id]),
                "service_id": service_id,
                "unit": {
                    "id": uuid(&["unit", "consultation-days"]),
                    "name": "days with a first consultation free in the next four weeks",
                },
                "available": available,
                "updated": heard.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
                "description": "How many of the next 28 days have a first consultation free, from the practice's own diary.",
            }]);
        }
        services.push(service);
    }
    Published {
        organization,
        services,
        service_at_locations,
    }
}

/// Every HSDS object of a set of listings, ready to page through.
#[derive(Default)]
pub(crate) struct Catalogue {
    services: Vec<Value>,
    organizations: Vec<Value>,
    service_at_locations: Vec<Value>,
    taxonomies: Vec<Value>,
    taxonomy_terms: Vec<Value>,
}

impl Catalogue {
    /// The catalogue of `listings` (each with its free times and when they were heard).
    pub(crate) fn of<'a>(
        listings: impl Iterator<Item = (&'a Listing, &'a FreeTimes, Timestamp)>,
    ) -> Self {
        let mut catalogue = Self {
            taxonomies: TAXONOMIES
                .iter()
                .map(|(slug, d, _)| taxonomy(slug, d))
                .collect(),
            taxonomy_terms: TAXONOMIES
                .iter()
                .flat_map(|(slug, d, list)| list.iter().map(move |t| term(slug, d, t)))
                .collect(),
            ..Self::default()
        };
        for (listing, free, heard) in listings {
            let published = publish(listing, free, heard);
            catalogue.organizations.push(published.organization);
            catalogue.services.extend(published.services);
            catalogue
                .service_at_locations
                .extend(published.service_at_locations);
        }
        catalogue
    }
}

/// The query parameters the lists take.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Params {
    page: Option<String>,
    per_page: Option<String>,
    taxonomy_term_id: Option<String>,
    taxonomy_id: Option<String>,
    organization_id: Option<String>,
    search: Option<String>,
}

fn open(status: StatusCode, body: &Value) -> Response {
    let mut response = crate::api::json_response(status, body);
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    response
}

fn problem(status: StatusCode, message: &str) -> Response {
    open(
        status,
        &json!({ "error": if status == StatusCode::NOT_FOUND { "not_found" } else { "bad_request" }, "message": message }),
    )
}

/// A whole number from 1 to `max` (or `default` when not given); the message if it is not.
fn whole(raw: Option<&str>, default: usize, max: usize, name: &str) -> Result<usize, String> {
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(default),
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| format!("{name} must be a whole number from 1 to {max}")),
    }
}

/// One page of `items` that pass `keep`.
fn page(items: &[Value], params: &Params, keep: impl Fn(&Value) -> bool) -> Response {
    let page = match whole(params.page.as_deref(), 1, 1_000_000, "page") {
        Ok(p) => p,
        Err(message) => return problem(StatusCode::BAD_REQUEST, &message),
    };
    let size = match whole(
        params.per_page.as_deref(),
        PER_PAGE,
        MAX_PER_PAGE,
        "per_page",
    ) {
        Ok(s) => s,
        Err(message) => return problem(StatusCode::BAD_REQUEST, &message),
    };
    let kept: Vec<&Value> = items.iter().filter(|v| keep(v)).collect();
    let total_pages = kept.len().div_ceil(size).max(1);
    let contents: Vec<&Value> = kept
        .iter()
        .skip((page - 1) * size)
        .take(size)
        .copied()
        .collect();
    open(
        StatusCode::OK,
        &json!({
            "total_items": kept.len(),
            "total_pages": total_pages,
            "page_number": page,
            "size": contents.len(),
            "first_page": page == 1,
            "last_page": page >= total_pages,
            "empty": contents.is_empty(),
            "contents": contents,
        }),
    )
}

fn matches_search(value: &Value, search: Option<&str>) -> bool {
    let Some(search) = search.map(str::trim).filter(|s| !s.is_empty()) else {
        return true;
    };
    let needle = search.to_lowercase();
    ["name", "description"].iter().any(|k| {
        value[k]
            .as_str()
            .is_some_and(|t| t.to_lowercase().contains(&needle))
    }) || value["organization"]["name"]
        .as_str()
        .is_some_and(|t| t.to_lowercase().contains(&needle))
}

fn has_term(service: &Value, term: &str) -> bool {
    service["attributes"]
        .as_array()
        .is_some_and(|a| a.iter().any(|x| x["taxonomy_term_id"] == term))
}

fn has_taxonomy(service: &Value, taxonomy: &str) -> bool {
    service["attributes"].as_array().is_some_and(|a| {
        a.iter()
            .any(|x| x["taxonomy_term"]["taxonomy_id"] == taxonomy)
    })
}

/// Answer `GET /hsds/{kind}[/{id}]` (`kind` and `id` empty for `/hsds/`) from `catalogue`;
/// `base` is the address the documents are served from (for `openapi_url`).
pub(crate) fn answer(
    catalogue: &Catalogue,
    base: &str,
    kind: &str,
    id: Option<&str>,
    params: &Params,
) -> Response {
    let find = |items: &[Value], id: &str| match items.iter().find(|v| v["id"] == id) {
        Some(item) => open(StatusCode::OK, item),
        None => problem(StatusCode::NOT_FOUND, "Nothing has that id"),
    };
    let list = match kind {
        "" => {
            return open(
                StatusCode::OK,
                &json!({
                    "version": VERSION,
                    "profile": PROFILE,
                    "openapi_url": format!("{base}/hsds/openapi.json"),
                }),
            );
        }
        "openapi.json" if id.is_none() => return open(StatusCode::OK, &openapi(base)),
        "services" => &catalogue.services,
        "organizations" => &catalogue.organizations,
        "service_at_locations" => &catalogue.service_at_locations,
        "taxonomies" => &catalogue.taxonomies,
        "taxonomy_terms" => &catalogue.taxonomy_terms,
        _ => return problem(StatusCode::NOT_FOUND, "There is no such list here"),
    };
    if let Some(id) = id {
        return find(list, id);
    }
    let search = params.search.as_deref();
    match kind {
        "services" => page(list, params, |s| {
            params
                .taxonomy_term_id
                .as_deref()
                .is_none_or(|t| has_term(s, t))
                && params
                    .taxonomy_id
                    .as_deref()
                    .is_none_or(|t| has_taxonomy(s, t))
                && params
                    .organization_id
                    .as_deref()
                    .is_none_or(|o| s["organization_id"] == o)
                && matches_search(s, search)
        }),
        "service_at_locations" => page(list, params, |s| {
            params
                .organization_id
                .as_deref()
                .is_none_or(|o| s["location"]["organization_id"] == o)
        }),
        "taxonomy_terms" => page(list, params, |t| {
            params
                .taxonomy_id
                .as_deref()
                .is_none_or(|x| t["taxonomy_id"] == x)
                && matches_search(t, search)
        }),
        _ => page(list, params, |v| matches_search(v, search)),
    }
}

/// The OpenAPI document of what is served here.
fn openapi(base: &str) -> Value {
    // Each list's parameters: paging, and the filters `answer` applies to that list.
    let paged = |description: &str, filters: &[&str]| {
        let mut parameters = vec![
            json!({ "name": "page", "in": "query", "schema": { "type": "integer", "minimum": 1 } }),
            json!({ "name": "per_page", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE } }),
        ];
        parameters.extend(filters.iter().map(|name| {
            let schema = if *name == "search" {
                json!({ "type": "string" })
            } else {
                json!({ "type": "string", "format": "uuid" })
            };
            json!({ "name": name, "in": "query", "schema": schema })
        }));
        json!({
            "get": {
                "summary": description,
                "parameters": parameters,
                "responses": {
                    "200": { "description": "One page: total_items, total_pages, page_number, size, first_page, last_page, empty and contents." },
                    "400": { "description": "A page or per_page that is not a whole number in range." }
                }
            }
        })
    };
    let one = |description: &str| {
        json!({
            "get": {
                "summary": description,
                "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } }],
                "responses": {
                    "200": { "description": "The object." },
                    "404": { "description": "Nothing has that id." }
                }
            }
        })
    };
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Open Referral HSDS 3.1: therapists listed here",
            "version": VERSION,
            "description": "Read-only, no key, CORS open. Each practice is an organization; its first consultation, brief and open-ended work are services, with rooms by district only. Never any client data."
        },
        "servers": [{ "url": format!("{base}/hsds") }],
        "paths": {
            "/": { "get": { "summary": "The version and profile of this API", "responses": { "200": { "description": "version, profile and openapi_url." } } } },
            "/services": paged("Services, paged", &["search", "taxonomy_term_id", "taxonomy_id", "organization_id"]),
            "/services/{id}": one("A service in full"),
            "/organizations": paged("Organizations (practices), paged", &["search"]),
            "/organizations/{id}": one("An organization"),
            "/service_at_locations": paged("Services at locations, paged", &["organization_id"]),
            "/service_at_locations/{id}": one("A service at a location"),
            "/taxonomies": paged("The taxonomies: what people want help with, and approaches", &["search"]),
            "/taxonomies/{id}": one("A taxonomy"),
            "/taxonomy_terms": paged("Taxonomy terms, paged", &["search", "taxonomy_id"]),
            "/taxonomy_terms/{id}": one("A taxonomy term")
        }
    })
}
