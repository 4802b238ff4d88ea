//! `GET /api/v1/practice`: who the practice is, where it meets and what can be booked.

use axum::{http::StatusCode, response::Response};
use serde::Serialize;
use serde_json::{Value, json};

use super::{ApiResult, json_response, openapi::schema_ref};
use crate::Here;

#[derive(Serialize)]
struct PracticeBody {
    name: String,
    time_zone: String,
    locations: Vec<LocationBody>,
    appointment_types: Vec<TypeBody>,
}

#[derive(Serialize)]
struct LocationBody {
    slug: String,
    name: String,
    address: Vec<String>,
    postcode: Option<String>,
    online: bool,
}

#[derive(Serialize)]
struct TypeBody {
    slug: String,
    name: String,
    minutes: u32,
    fee_pence: u32,
    bookable_online: bool,
    /// Where it can be booked online; empty when it cannot be booked online.
    locations: Vec<String>,
}

pub(super) async fn show(state: Here) -> ApiResult<Response> {
    let store = state.store();
    let id = state.practice_id();
    let practice = store.practice(id).await?;
    let locations = store
        .locations(id)
        .await?
        .into_iter()
        .map(|l| LocationBody {
            slug: l.slug.to_string(),
            name: l.name,
            address: l.address_lines,
            postcode: l.postcode.map(|p| p.to_string()),
            online: l.online,
        })
        .collect();
    let appointment_types = store
        .appointment_types(id)
        .await?
        .into_iter()
        .map(|t| {
            let bookable = t.booking.bookable_online;
            TypeBody {
                slug: t.slug.to_string(),
                name: t.name,
                minutes: t.minutes,
                fee_pence: t.fee.get(),
                bookable_online: bookable,
                locations: if bookable {
                    t.booking
                        .locations
                        .iter()
                        .map(ToString::to_string)
                        .collect()
                } else {
                    Vec::new()
                },
            }
        })
        .collect();
    let body = PracticeBody {
        name: practice.details.name,
        time_zone: practice.details.time_zone,
        locations,
        appointment_types,
    };
    Ok(json_response(StatusCode::OK, body))
}

pub(super) fn operation() -> Value {
    json!({
        "operationId": "getPractice",
        "summary": "The practice, its locations and appointment types",
        "description": "Everything needed to ask for free times: the practice's IANA time zone, \
            the locations (rooms and online) and every appointment type. Only a type with \
            `bookable_online` can be asked about or booked; its `locations` are where.",
        "responses": {
            "200": {
                "description": "The practice.",
                "content": { "application/json": { "schema": schema_ref("Practice") } }
            }
        }
    })
}

/// The schemas this operation's answer uses.
pub(super) fn schemas() -> Value {
    json!({
        "Practice": {
            "type": "object",
            "required": ["name", "time_zone", "locations", "appointment_types"],
            "properties": {
                "name": { "type": "string", "examples": ["Larchwood Psychotherapy"] },
                "time_zone": {
                    "type": "string",
                    "description": "IANA time zone of the practice: local dates and times are in it.",
                    "examples": ["Europe/London"]
                },
                "locations": { "type": "array", "items": schema_ref("Location") },
                "appointment_types": { "type": "array", "items": schema_ref("AppointmentType") }
            }
        },
        "Location": {
            "type": "object",
            "required": ["slug", "name", "address", "postcode", "online"],
            "properties": {
                "slug": { "type": "string", "examples": ["balham"] },
                "name": { "type": "string", "examples": ["Balham"] },
                "address": {
                    "type": "array",
                    "items": { "type": "string" },
                    "description": "Address lines; empty for online sessions."
                },
                "postcode": { "type": ["string", "null"], "examples": ["SW12 9RT"] },
                "online": { "type": "boolean", "description": "Sessions by video rather than in a room." }
            }
        },
        "AppointmentType": {
            "type": "object",
            "required": ["slug", "name", "minutes", "fee_pence", "bookable_online", "locations"],
            "properties": {
                "slug": { "type": "string", "examples": ["consultation"] },
                "name": { "type": "string", "examples": ["First consultation"] },
                "minutes": { "type": "integer", "minimum": 1, "examples": [50] },
                "fee_pence": { "type": "integer", "minimum": 0, "description": "The fee in pence.", "examples": [6000] },
                "bookable_online": { "type": "boolean" },
                "locations": {
                    "type": "array",
                    "items": { "type": "string" },
                    "description": "Slugs of the locations it can be booked at online; empty when it cannot be booked online."
                }
            }
        }
    })
}
