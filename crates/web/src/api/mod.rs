//! The JSON API under `/api/v1`: the practice, free times, booking and cancelling.
//!
//! Every route is described once, in [`endpoints`]: that one table mounts the handlers
//! AND writes the OpenAPI document (`/api/v1/openapi.json`), so nothing can be served
//! undocumented. Handlers reuse the booking room's rules (`Offer`, `make_booking`,
//! `cancel_booking`); this room only turns JSON into those calls and their outcomes back
//! into JSON. It renders no HTML: every answer under `/api/`, errors included, is JSON
//! with `Cache-Control: no-store` — except what the app-wide layers refuse before a route
//! is reached (a cross-site browser POST's 403, a 408 timeout), which keep the site's page.

mod availability;
mod bookings;
pub(crate) use bookings::{booking_fields, json_object, token_of};
pub(crate) mod listing;
mod openapi;
mod practice;

use std::collections::BTreeMap;

use axum::{
    Json, Router,
    body::Body,
    extract::Request,
    http::{HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{MethodFilter, MethodRouter, any, get, on},
};
use jiff::{Timestamp, tz::TimeZone};
use serde::Serialize;
use serde_json::{Value, json};

use crate::{
    AppState, Here, WebError,
    access::{RouteRule, Rule},
    booking::Offer,
    error::{ErrorReference, Rendered},
    routing::{Mount, Route},
};
use domain::practice::Location;

/// The HTTP methods the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Verb {
    Get,
    Post,
}

impl Verb {
    /// The name OpenAPI uses for the operation (`get`, `post`).
    pub fn openapi_name(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Post => "post",
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Self::Get => MethodFilter::GET,
            Self::Post => MethodFilter::POST,
        }
    }
}

/// One route of the API: where it is, what it does (for the document) and its handler.
pub(crate) struct Endpoint {
    /// The method it answers.
    pub verb: Verb,
    /// The path, in the `{name}` template syntax that axum and OpenAPI share.
    pub path: &'static str,
    /// Who may use it (the cancel route needs the booking's manage token).
    pub rule: Rule,
    /// The OpenAPI Operation Object describing it.
    pub operation: Value,
    /// Mounts the handler for exactly `verb` (given as a filter, so the two cannot disagree).
    mount: fn(MethodFilter) -> MethodRouter<AppState>,
}

/// Every route the API serves: the single source of both the router and the document.
pub(crate) fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint {
            verb: Verb::Get,
            path: "/api/v1/practice",
            rule: Rule::Public,
            operation: practice::operation(),
            mount: |m| on(m, practice::show),
        },
        Endpoint {
            verb: Verb::Get,
            path: "/api/v1/availability",
            rule: Rule::Public,
            operation: availability::operation(),
            mount: |m| on(m, availability::slots),
        },
        Endpoint {
            verb: Verb::Post,
            path: "/api/v1/bookings",
            rule: Rule::Public,
            operation: bookings::create_operation(),
            mount: |m| on(m, bookings::create),
        },
        Endpoint {
            verb: Verb::Post,
            path: "/api/v1/bookings/{id}/cancel",
            rule: Rule::Secret,
            operation: bookings::cancel_operation(),
            mount: |m| on(m, bookings::cancel),
        },
        Endpoint {
            verb: Verb::Get,
            path: "/api/v1/listing",
            rule: Rule::Public,
            operation: listing::operation(),
            mount: |m| on(m, listing::show),
        },
        Endpoint {
            verb: Verb::Get,
            path: "/api/v1/openapi.json",
            rule: Rule::Public,
            operation: openapi::operation(),
            mount: |m| on(m, openapi::document),
        },
    ]
}

/// The API's routes, from [`endpoints`], plus a JSON 404 for the rest of `/api`.
pub(crate) fn routes() -> Vec<Route> {
    let route = |verb: &'static str, path, rule, mount: Mount| Route {
        rule: RouteRule {
            method: verb,
            path,
            rule,
            audit: None,
        },
        mount,
    };
    let mut routes: Vec<Route> = endpoints()
        .into_iter()
        .map(|endpoint| {
            let (verb, mount) = (endpoint.verb, endpoint.mount);
            let name = match verb {
                Verb::Get => "GET",
                Verb::Post => "POST",
            };
            route(
                name,
                endpoint.path,
                endpoint.rule,
                Box::new(move |_| mount(verb.filter())),
            )
        })
        .collect();
    // The practice's own listing as Open Referral HSDS (not part of the booking API's
    // document: /hsds/openapi.json describes it).
    routes.push(route(
        "GET",
        "/hsds",
        Rule::Public,
        Box::new(|_| get(listing::hsds_root)),
    ));
    routes.push(route(
        "GET",
        "/hsds/",
        Rule::Public,
        Box::new(|_| get(listing::hsds_root)),
    ));
    routes.push(route(
        "GET",
        "/hsds/{kind}",
        Rule::Public,
        Box::new(|_| get(listing::hsds_list)),
    ));
    routes.push(route(
        "GET",
        "/hsds/{kind}/{id}",
        Rule::Public,
        Box::new(|_| get(listing::hsds_one)),
    ));
    // Anything else under /api is a JSON 404, not the site's HTML page.
    for path in ["/api", "/api/{*rest}"] {
        routes.push(route(
            "ANY",
            path,
            Rule::Public,
            Box::new(|_| any(not_found)),
        ));
    }
    routes
}

pub(crate) fn router() -> Router<AppState> {
    crate::routing::mount(&routes()).layer(middleware::from_fn(json_only))
}

async fn not_found() -> WebError {
    WebError::NotFound
}

/// A JSON response the handler wrote itself (so the site's error page leaves it alone).
pub(crate) fn json_response(status: StatusCode, body: impl Serialize) -> Response {
    let mut response = (status, Json(body)).into_response();
    response.extensions_mut().insert(Rendered);
    response
}

/// The machine-readable code for an error status nobody gave a body to.
fn error_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::SERVICE_UNAVAILABLE => "busy",
        s if s.is_server_error() => "internal",
        _ => "error",
    }
}

/// An error response nobody gave a body to, as the API's JSON error: `{"error": code}`,
/// with a `message`, `reference` or `retry_after` when the response carries one (the
/// document's `Error` schema). Used by [`json_only`] for everything under the API's router
/// and by `security::headers` for what the app-wide layers outside it answer under `/api/`
/// (a cross-site POST's 403, a 408 timeout, the 503 of a full server).
pub(crate) fn json_error(response: Response) -> Response {
    let (mut parts, _) = response.into_parts();
    let status = parts.status;
    let mut error = json!({ "error": error_code(status) });
    if let Some(bad) = parts.extensions.get::<crate::query::BadQuery>() {
        error["message"] = json!(bad.message());
    }
    if parts.extensions.get::<crate::error::DiskFull>().is_some() {
        error["error"] = json!("storage_full");
        error["message"] = json!(
            "The server has run out of room to store things, so nothing of this request \
             was kept. Try again later."
        );
    }
    if let Some(ErrorReference(reference)) = parts.extensions.get::<ErrorReference>() {
        error["reference"] = json!(reference);
    }
    if let Some(seconds) = parts
        .headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        error["retry_after"] = json!(seconds);
    }
    parts.extensions.insert(Rendered);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(error.to_string()))
}

/// Every API answer is JSON and never cached: errors from anywhere below (a 404, axum's
/// 405 or 413, a rate limit, a 500) get a JSON body here instead of the HTML error page.
async fn json_only(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let mut response = if (status.is_client_error() || status.is_server_error())
        && response.extensions().get::<Rendered>().is_none()
    {
        json_error(response)
    } else {
        response
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Field name → messages: the body of every 422, `{"errors": {...}}`.
#[derive(Debug, Default)]
pub(crate) struct Invalid(BTreeMap<String, Vec<String>>);

impl Invalid {
    /// Record a message for a field.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_default()
            .push(message.into());
    }

    /// Add the messages of a domain parse for fields not already reported (a field sent
    /// with the wrong type is not also "missing").
    pub fn extend(&mut self, errors: &domain::FieldErrors) {
        for (field, message) in errors.iter() {
            if !self.has(field) {
                self.add(field, message);
            }
        }
    }

    /// True when something is recorded for `field`.
    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    /// Every field with its messages.
    pub fn fields(&self) -> &BTreeMap<String, Vec<String>> {
        &self.0
    }

    /// True when nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A 422 with everything recorded so far, if anything was.
    pub fn check(&mut self) -> Result<(), ApiError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Invalid(std::mem::take(self)))
        }
    }
}

/// Why an API request failed.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// Bad input: 422 with every problem by field.
    Invalid(Invalid),
    /// A refusal with its own body, e.g. 409 `{"error": "slot_unavailable", ...}`.
    Refused(StatusCode, Value),
    /// No credential at all where one is needed (a booking's manage token): 401 with
    /// `WWW-Authenticate: Bearer` and this message.
    Unauthorized(&'static str),
    /// Anything the rest of the app reports (404, 429, 500): [`json_only`] gives it a body.
    Web(WebError),
}

impl ApiError {
    /// 422 for one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut invalid = Invalid::default();
        invalid.add(field, message);
        Self::Invalid(invalid)
    }
}

impl From<WebError> for ApiError {
    fn from(error: WebError) -> Self {
        Self::Web(error)
    }
}

impl From<store::StoreError> for ApiError {
    fn from(error: store::StoreError) -> Self {
        Self::Web(error.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Invalid(Invalid(errors)) => json_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({ "errors": errors }),
            ),
            Self::Refused(status, body) => json_response(status, body),
            Self::Unauthorized(message) => {
                let mut response = json_response(
                    StatusCode::UNAUTHORIZED,
                    json!({ "error": "unauthorized", "message": message }),
                );
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                response
            }
            Self::Web(error) => error.into_response(),
        }
    }
}

/// Result of an API handler.
pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// The offer for the appointment type named `kind`, or `None` with the reason recorded
/// under `type` (only the online-bookable type can be asked about).
pub(crate) async fn offer_for(
    state: &Here,
    kind: Option<&str>,
    invalid: &mut Invalid,
) -> ApiResult<Option<std::sync::Arc<Offer>>> {
    let offer = match Offer::load(state).await {
        Ok(offer) => Some(offer),
        // Nothing is bookable online at the moment.
        Err(WebError::NotFound) => None,
        Err(other) => return Err(other.into()),
    };
    let kind = kind.map(str::trim).unwrap_or_default();
    if kind.is_empty() {
        let example = offer
            .as_ref()
            .map_or("consultation", |o| o.kind.slug.as_str());
        invalid.add(
            "type",
            format!("Give the appointment type, for example \"{example}\""),
        );
        return Ok(None);
    }
    match offer {
        Some(offer) if offer.kind.slug.as_str() == kind => Ok(Some(offer)),
        _ => {
            let types = state.store().appointment_types(state.practice_id()).await?;
            if types.iter().any(|t| t.slug.as_str() == kind) {
                invalid.add(
                    "type",
                    "This appointment type cannot be booked online; \
                     GET /api/v1/practice lists the one that can",
                );
            } else {
                invalid.add(
                    "type",
                    "There is no appointment type with this slug; GET /api/v1/practice lists them",
                );
            }
            Ok(None)
        }
    }
}

/// The bookable location called `slug`, or `None` with the reason recorded under `field`.
pub(crate) fn location_in<'o>(
    offer: &'o Offer,
    slug: &str,
    field: &str,
    invalid: &mut Invalid,
) -> Option<&'o Location> {
    let found = offer.location(slug.trim()).ok();
    if found.is_none() {
        let choices: Vec<&str> = offer.locations.iter().map(|l| l.slug.as_str()).collect();
        invalid.add(
            field,
            format!(
                "Choose one of the locations this can be booked at: {}",
                choices.join(", ")
            ),
        );
    }
    found
}

/// An instant as RFC 3339 with the practice's local offset: `2027-03-29T09:00:00+01:00`.
pub(crate) fn local_time(at: Timestamp, zone: &TimeZone) -> String {
    at.to_zoned_datetime(zone.clone())
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// A free (or wanted) time, as the API shows it.
#[derive(Debug, Serialize)]
pub(crate) struct SlotBody {
    pub start: String,
    pub end: String,
    pub location: String,
}

impl SlotBody {
    /// A slot with its times in `zone`.
    pub fn of(slot: &domain::availability::Slot, zone: &TimeZone) -> Self {
        Self {
            start: local_time(slot.start, zone),
            end: local_time(slot.end, zone),
            location: slot.location.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_carry_the_offset_of_the_day() {
        let zone = TimeZone::get("Europe/London").unwrap();
        let at = |s: &str| local_time(s.parse().unwrap(), &zone);
        assert_eq!(at("2027-03-22T09:00:00Z"), "2027-03-22T09:00:00+00:00");
        assert_eq!(at("2027-03-29T08:00:00Z"), "2027-03-29T09:00:00+01:00");
    }

    #[test]
    fn the_table_has_one_operation_per_method_and_path() {
        let table = endpoints();
        let mut seen = std::collections::HashSet::new();
        for endpoint in &table {
            assert!(
                seen.insert((endpoint.verb, endpoint.path)),
                "{} listed twice",
                endpoint.path
            );
            assert!(endpoint.path.starts_with("/api/v1/"));
            let id = endpoint.operation["operationId"].as_str().unwrap_or("");
            assert!(!id.is_empty(), "{} has an operationId", endpoint.path);
            assert!(
                endpoint.operation["responses"].is_object(),
                "{} documents its responses",
                endpoint.path
            );
        }
    }
}
