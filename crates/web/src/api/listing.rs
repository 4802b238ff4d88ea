//! `GET /api/v1/listing`: the practice's directory listing as open data, with a summary of
//! its free consultation times, for any directory to read (CORS open, no key).

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::Response,
};
use domain::directory::{FreeTimes, Listing};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::Digest;

use super::{ApiError, ApiResult, json_response, openapi::schema_ref};
use crate::{Here, directory::listing};

/// The format's name and version, first in every answer.
pub(crate) const FORMAT: &str = "anteroom-listing/1";

#[derive(Serialize)]
pub(crate) struct ListingBody<'a> {
    pub format: &'static str,
    pub listing: &'a Listing,
    pub free_consultations: &'a FreeTimes,
}

pub(super) async fn show(state: Here, headers: axum::http::HeaderMap) -> ApiResult<Response> {
    let stored = state
        .store()
        .listing_settings(state.practice_id())
        .await?
        .filter(|s| s.settings.listed)
        .ok_or_else(|| ApiError::from(crate::WebError::NotFound))?;
    let listing = listing::listing_of(&state, &stored).await?;
    let free = if listing.accepting {
        listing::free_times(&state, true).await?
    } else {
        FreeTimes::default()
    };
    let body = ListingBody {
        format: FORMAT,
        listing: &listing,
        free_consultations: &free,
    };
    // The same listing and times give the same ETag, so a directory reading it again is
    // told "not modified" (until a time passes, a booking is made or a setting changes).
    let bytes = serde_json::to_vec(&body)
        .map_err(|e| ApiError::from(crate::WebError::Internal(e.into())))?;
    let digest = sha2::Sha256::digest(&bytes);
    let etag = format!(
        "\"{}\"",
        digest[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if unchanged {
        let mut response = json_response(StatusCode::NOT_MODIFIED, ());
        *response.body_mut() = axum::body::Body::empty();
        response
    } else {
        let mut response = json_response(StatusCode::OK, ());
        *response.body_mut() = axum::body::Body::from(bytes);
        response
    };
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, value);
    }
    Ok(response)
}

pub(super) fn operation() -> Value {
    json!({
        "operationId": "getListing",
        "summary": "The practice's directory listing, as open data",
        "description": "What the practice has chosen to publish in directories (what it helps \
            with, approaches, rooms by district only, fees, registration), with the first free \
            consultation of each day for the next five weeks, in person and online. Any \
            directory may read it: no key, and `Access-Control-Allow-Origin: *`. A practice \
            that has not turned its listing on answers 404. Never any client data.",
        "parameters": [{
            "name": "If-None-Match", "in": "header", "required": false,
            "description": "The ETag of a listing read before: 304 if it is still the same.",
            "schema": { "type": "string" }
        }],
        "responses": {
            "200": {
                "description": "The listing, with an ETag: send it back in If-None-Match to be told 304 when nothing changed.",
                "headers": {
                    "ETag": { "schema": { "type": "string" } },
                    "Access-Control-Allow-Origin": { "schema": { "type": "string", "const": "*" } }
                },
                "content": { "application/json": { "schema": schema_ref("ListingDocument") } }
            },
            "304": {
                "description": "Not modified since the ETag sent in If-None-Match.",
                "headers": { "ETag": { "schema": { "type": "string" } } }
            },
            "404": {
                "description": "The practice is not listed.",
                "content": { "application/json": { "schema": schema_ref("Error") } }
            }
        }
    })
}

/// The schemas this operation's answer uses.
pub(super) fn schemas() -> Value {
    let strings = json!({ "type": "array", "items": { "type": "string" } });
    let times = json!({ "type": "array", "items": { "type": "string", "format": "date-time" } });
    let pence = json!({ "type": ["integer", "null"], "minimum": 0 });
    json!({
        "ListingDocument": {
            "type": "object",
            "required": ["format", "listing", "free_consultations"],
            "properties": {
                "format": { "type": "string", "const": FORMAT },
                "listing": schema_ref("Listing"),
                "free_consultations": {
                    "type": "object",
                    "required": ["in_person", "online"],
                    "description": "The first free consultation on each day ahead (empty when \
                        the practice is not taking new clients).",
                    "properties": { "in_person": times, "online": times }
                }
            }
        },
        "Listing": {
            "type": "object",
            "required": ["id", "name", "therapist", "title", "summary", "url", "booking_url",
                "help_with", "approaches", "ways", "languages", "identity", "rooms", "online",
                "consultation_fee_pence", "session_fee_pence", "concessions", "registration",
                "accepting"],
            "properties": {
                "id": { "type": "string", "format": "uuid" },
                "name": { "type": "string" },
                "therapist": { "type": "string" },
                "title": { "type": "string" },
                "summary": { "type": "string", "description": "The practice's own words." },
                "url": { "type": "string", "format": "uri" },
                "booking_url": { "type": ["string", "null"], "format": "uri" },
                "help_with": strings,
                "approaches": strings,
                "ways": strings,
                "languages": strings,
                "identity": { "type": "string", "description": "The therapist's own words for \
                    their gender and identity; empty unless they chose to give them." },
                "rooms": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["area", "outcode"],
                        "properties": {
                            "area": { "type": "string", "examples": ["Balham"] },
                            "outcode": { "type": "string", "examples": ["SW12"] }
                        }
                    }
                },
                "online": { "type": "boolean" },
                "consultation_fee_pence": pence,
                "session_fee_pence": pence,
                "concessions": {
                    "type": ["object", "null"],
                    "required": ["places", "from_pence"],
                    "properties": {
                        "places": { "type": "integer", "minimum": 1 },
                        "from_pence": { "type": "integer", "minimum": 0 }
                    }
                },
                "registration": {
                    "type": ["object", "null"],
                    "required": ["body", "number"],
                    "properties": {
                        "body": { "type": "string", "enum": ["bacp", "ukcp", "bps", "hcpc", "ncps", "bpc"] },
                        "number": { "type": "string" }
                    }
                },
                "accepting": { "type": "boolean", "description": "Taking new clients." },
                "portrait": {
                    "type": "object",
                    "description": "The therapist's portrait on the practice's own site, when \
                        it has one: a JPEG whose address changes with its content. A directory \
                        may copy it (from the same host only) to show with the listing.",
                    "required": ["url", "alt", "width", "height"],
                    "properties": {
                        "url": { "type": "string", "format": "uri" },
                        "alt": { "type": "string", "description": "What it shows, for people \
                            who cannot see it." },
                        "width": { "type": "integer", "minimum": 1 },
                        "height": { "type": "integer", "minimum": 1 }
                    }
                }
            }
        }
    })
}

/// The practice's own listing as Open Referral HSDS (`/hsds/…`): an empty catalogue (the
/// taxonomies only) when it is not listed.
async fn own_hsds(
    state: &Here,
    kind: &str,
    id: Option<&str>,
    params: &crate::directory::hsds::Params,
) -> ApiResult<Response> {
    let stored = state
        .store()
        .listing_settings(state.practice_id())
        .await?
        .filter(|s| s.settings.listed);
    let catalogue = match stored {
        Some(stored) => {
            let listing = listing::listing_of(state, &stored).await?;
            let free = if listing.accepting {
                listing::free_times(state, true).await?
            } else {
                FreeTimes::default()
            };
            crate::directory::hsds::Catalogue::of(std::iter::once((&listing, &free, state.now())))
        }
        None => crate::directory::hsds::Catalogue::of(std::iter::empty()),
    };
    Ok(crate::directory::hsds::answer(
        &catalogue,
        state.public_url(),
        kind,
        id,
        params,
    ))
}

pub(super) async fn hsds_root(
    state: Here,
    crate::query::Query(params): crate::query::Query<crate::directory::hsds::Params>,
) -> ApiResult<Response> {
    own_hsds(&state, "", None, &params).await
}

pub(super) async fn hsds_list(
    state: Here,
    axum::extract::Path(kind): axum::extract::Path<String>,
    crate::query::Query(params): crate::query::Query<crate::directory::hsds::Params>,
) -> ApiResult<Response> {
    own_hsds(&state, &kind, None, &params).await
}

pub(super) async fn hsds_one(
    state: Here,
    axum::extract::Path((kind, id)): axum::extract::Path<(String, String)>,
    crate::query::Query(params): crate::query::Query<crate::directory::hsds::Params>,
) -> ApiResult<Response> {
    own_hsds(&state, &kind, Some(&id), &params).await
}
