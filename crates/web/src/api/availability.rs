//! `GET /api/v1/availability`: free times between two local dates.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use domain::Slug;
use jiff::{ToSpan, civil::Date};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{ApiError, ApiResult, Invalid, SlotBody, location_in, offer_for, openapi::schema_ref};
use crate::{Here, query::Query};

/// The longest range one request may ask about, in days (inclusive of both ends).
const MAX_DAYS: i32 = 92;
/// Days covered when `to` is not given (four weeks).
const DEFAULT_DAYS: i32 = 28;

#[derive(Deserialize)]
pub(super) struct Params {
    #[serde(rename = "type")]
    kind: Option<String>,
    location: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

#[derive(Serialize)]
struct AvailabilityBody {
    time_zone: String,
    slots: Vec<SlotBody>,
}

/// A local date written `YYYY-MM-DD`, or the reason it is not one.
fn parse_date(raw: &str, field: &str, invalid: &mut Invalid) -> Option<Date> {
    let raw = raw.trim();
    // jiff would also read a date out of a longer date-time; the API promises just a date.
    let date = (raw.len() == 10)
        .then(|| raw.parse::<Date>().ok())
        .flatten();
    if date.is_none() {
        invalid.add(
            field,
            "Give a real date written as YYYY-MM-DD, for example 2027-03-29",
        );
    }
    date
}

pub(super) async fn slots(state: Here, Query(params): Query<Params>) -> ApiResult<Response> {
    let mut invalid = Invalid::default();
    // A parameter given empty (`from=`) is refused like any other bad value, not taken as
    // left out: the document says what each one must be.
    let from = params
        .from
        .as_deref()
        .and_then(|raw| parse_date(raw, "from", &mut invalid));
    let to = params
        .to
        .as_deref()
        .and_then(|raw| parse_date(raw, "to", &mut invalid));
    let offer = offer_for(&state, params.kind.as_deref(), &mut invalid).await?;
    let location = match (&offer, params.location.as_deref()) {
        (Some(offer), Some(slug)) => {
            location_in(offer, slug, "location", &mut invalid).map(|l| l.slug.clone())
        }
        _ => None,
    };
    // Every problem found so far is reported together.
    invalid.check()?;
    let Some(offer) = offer else {
        return Err(ApiError::field("type", "Give the appointment type"));
    };
    let now = state.now();
    let today = offer.today(now);
    let from = from.unwrap_or(today);
    let to = to.unwrap_or_else(|| from.checked_add((DEFAULT_DAYS - 1).days()).unwrap_or(from));
    if to < from {
        invalid.add("to", "The last date must be on or after the first date");
    } else if to
        .since(from)
        .map_or(true, |span| span.get_days() >= MAX_DAYS)
    {
        invalid.add(
            "to",
            format!("Ask for at most {MAX_DAYS} days at a time, then ask again from the next day"),
        );
    }
    invalid.check()?;
    // Nothing can be booked before today or past the horizon: asking the engine about
    // those days would only cost time (and dates near the calendar's ends could overflow).
    let (first, last) = (from.max(today), to.min(offer.last_day(now)));
    // Answers are cached until anything is booked, moved or cancelled or a setting changes
    // (all of which drop the cache), and for at most the current minute, so the notice
    // window moves on. A time that slips past the notice within that minute is still refused
    // by the re-check when someone tries to book it.
    let key = format!(
        "api:availability:{}:{}:{first}:{last}:{}",
        offer.kind.slug,
        location.as_ref().map_or("*", Slug::as_str),
        now.as_second() / 60
    );
    if let Some(page) = state.pages().get(&key) {
        return Ok(cached_json(&page.body));
    }
    let generation = state.pages().generation();
    let slots = if first <= last {
        offer.slots(&state, location.as_ref(), first, last).await?
    } else {
        Vec::new()
    };
    let body = AvailabilityBody {
        time_zone: offer.practice.details.time_zone.clone(),
        slots: slots.iter().map(|s| SlotBody::of(s, &offer.zone)).collect(),
    };
    let bytes = serde_json::to_vec(&body)
        .map_err(|e| ApiError::from(crate::WebError::Internal(e.into())))?;
    let page = crate::pages::CachedPage {
        body: bytes.into(),
        content_type: "application/json",
        status: 200,
    };
    let page = state.pages().put(key, page, generation);
    Ok(cached_json(&page.body))
}

fn cached_json(body: &axum::body::Bytes) -> Response {
    let mut response = (
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.clone(),
    )
        .into_response();
    response.extensions_mut().insert(crate::error::Rendered);
    response
}

pub(super) fn operation() -> Value {
    json!({
        "operationId": "getAvailability",
        "summary": "Free times for the bookable appointment type",
        "description": format!("Free start times between two local dates (both inclusive, at \
            most {MAX_DAYS} days) in the practice's time zone, at one location or all of them, in order. Times are RFC 3339 with the \
            local offset of that day, so 9am is `09:00:00+00:00` in winter and `09:00:00+01:00` \
            in summer. Days before today or past the booking horizon simply have no times."),
        "parameters": [
            {
                "name": "type", "in": "query", "required": true,
                "description": "Slug of the online-bookable appointment type (see GET /api/v1/practice).",
                "schema": { "type": "string", "minLength": 1, "examples": ["consultation"] }
            },
            {
                "name": "location", "in": "query", "required": false,
                "description": "Only this location's times; all locations when left out.",
                "schema": { "type": "string", "minLength": 1, "examples": ["balham"] }
            },
            {
                "name": "from", "in": "query", "required": false,
                "description": "First local date, inclusive. Defaults to today.",
                "schema": { "type": "string", "format": "date", "examples": ["2027-03-22"] }
            },
            {
                "name": "to", "in": "query", "required": false,
                "description": format!("Last local date, inclusive; at most {MAX_DAYS} days from `from` \
                    counting both. Defaults to {DEFAULT_DAYS} days from `from`."),
                "schema": { "type": "string", "format": "date", "examples": ["2027-04-04"] }
            }
        ],
        "responses": {
            "200": {
                "description": "The free times, earliest first.",
                "content": { "application/json": { "schema": schema_ref("Availability") } }
            },
            "422": {
                "description": format!("A bad date, a range that is backwards or longer than \
                    {MAX_DAYS} days, an unknown location, or a type that is unknown or cannot be \
                    booked online."),
                "content": { "application/json": { "schema": schema_ref("ValidationErrors") } }
            }
        }
    })
}

/// The schemas this operation's answer uses.
pub(super) fn schemas() -> Value {
    json!({
        "Availability": {
            "type": "object",
            "required": ["time_zone", "slots"],
            "properties": {
                "time_zone": { "type": "string", "examples": ["Europe/London"] },
                "slots": { "type": "array", "items": schema_ref("Slot") }
            },
            "examples": [{
                "time_zone": "Europe/London",
                "slots": [{
                    "start": "2027-03-29T09:00:00+01:00",
                    "end": "2027-03-29T09:50:00+01:00",
                    "location": "balham"
                }]
            }]
        },
        "Slot": {
            "type": "object",
            "required": ["start", "end", "location"],
            "properties": {
                "start": {
                    "type": "string", "format": "date-time",
                    "description": "RFC 3339 with the practice's local offset.",
                    "examples": ["2027-03-29T09:00:00+01:00"]
                },
                "end": { "type": "string", "format": "date-time", "examples": ["2027-03-29T09:50:00+01:00"] },
                "location": { "type": "string", "description": "Location slug.", "examples": ["balham"] }
            }
        }
    })
}
