//! `POST /api/v1/bookings` and `POST /api/v1/bookings/{id}/cancel`.
//!
//! The body is read as bytes and parsed here, never by axum's `Json` extractor, so that
//! malformed JSON, wrong types and missing fields all come back as the API's own 422
//! `{"errors": {...}}` rather than a plain-text rejection.

use std::net::SocketAddr;

use axum::{
    body::Bytes,
    extract::{
        ConnectInfo, Path,
        rejection::{BytesRejection, PathRejection},
    },
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use domain::booking::{BookingStatus, DetailsForm, VisitorDetails};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value, json};
use store::{Booking, ConflictKind, StoreError};

use super::{
    ApiError, ApiResult, Invalid, SlotBody, json_response, local_time, location_in, offer_for,
    openapi::schema_ref,
};
use crate::{
    Here, WebError,
    booking::{
        Offer,
        flow::{Made, make_booking, nearby_slots},
        manage,
    },
    limits::{Limit, Subject},
    security::client_ip,
};

/// The header that makes retrying a booking safe.
const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// Set on the 200 that answers a retry with the booking made the first time.
const REPLAYED_HEADER: &str = "idempotent-replayed";
/// Longest idempotency key accepted.
const MAX_KEY_CHARS: usize = 80;
/// Fields a booking request may carry.
const BOOKING_FIELDS: [&str; 9] = [
    "type",
    "location",
    "start",
    "name",
    "email",
    "phone",
    "contact_preference",
    "note",
    "consent",
];

#[derive(Serialize)]
struct BookingBody {
    id: String,
    status: &'static str,
    #[serde(rename = "type")]
    kind: String,
    start: String,
    end: String,
    location: String,
    /// Only in the answer that made the booking: the token is never stored in the clear.
    #[serde(skip_serializing_if = "Option::is_none")]
    manage_url: Option<String>,
}

/// The id the API shows for a booking: the random part of its calendar UID, so that ids say
/// nothing about how many bookings the practice has (a row number would).
fn public_id(booking: &Booking) -> String {
    booking
        .uid
        .split_once('@')
        .map_or(booking.uid.as_str(), |(random, _)| random)
        .to_owned()
}

impl BookingBody {
    fn of(booking: &Booking, offer: &Offer, manage_url: Option<String>) -> Self {
        Self {
            id: public_id(booking),
            status: booking.status.as_str(),
            kind: booking.appointment_type.to_string(),
            start: local_time(booking.start, &offer.zone),
            end: local_time(booking.end, &offer.zone),
            location: booking.location.to_string(),
            manage_url,
        }
    }
}

/// The request body as a JSON object, or why it is not one (under `body`).
pub(crate) fn json_object(bytes: &[u8]) -> ApiResult<Map<String, Value>> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::field("body", "Send a JSON object")),
        Err(e) => Err(ApiError::field(
            "body",
            format!("The body is not valid JSON ({e}); send a JSON object"),
        )),
    }
}

/// Refuse a body labelled as anything but JSON (`application/json`, or a `+json` type) with
/// 415: a form post or plain text is not read as JSON by accident. A body without a
/// `Content-Type` is read as JSON.
fn json_content(headers: &HeaderMap) -> ApiResult<()> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let essence = value
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let json = essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|subtype| subtype.ends_with("+json"));
    if json {
        Ok(())
    } else {
        Err(ApiError::Refused(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            json!({
                "error": "unsupported_media_type",
                "message": "Send the body as JSON, with Content-Type: application/json.",
            }),
        ))
    }
}

/// Refuse fields the operation does not know (a misspelt field is never silently ignored).
fn refuse_unknown(map: &Map<String, Value>, known: &[&str], invalid: &mut Invalid) {
    for name in map.keys().filter(|k| !known.contains(&k.as_str())) {
        invalid.add(
            name,
            format!("Unknown field; the fields are: {}", known.join(", ")),
        );
    }
}

/// A string field: `None` when absent; a wrong type (null included: the document allows
/// null only where it says so, see [`nullable_text`]) is recorded.
fn text<'a>(map: &'a Map<String, Value>, field: &str, invalid: &mut Invalid) -> Option<&'a str> {
    match map.get(field) {
        None => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => {
            invalid.add(field, "Must be a string");
            None
        }
    }
}

/// A string field that may also be null, which means the same as leaving it out.
fn nullable_text<'a>(
    map: &'a Map<String, Value>,
    field: &str,
    invalid: &mut Invalid,
) -> Option<&'a str> {
    match map.get(field) {
        Some(Value::Null) => None,
        _ => text(map, field, invalid),
    }
}

/// The `Idempotency-Key` header, namespaced so API keys never meet the web form's keys.
fn idempotency_key(headers: &HeaderMap, invalid: &mut Invalid) -> String {
    let Some(raw) = headers.get(IDEMPOTENCY_HEADER) else {
        return String::new();
    };
    match raw.to_str().map(str::trim) {
        Ok(key)
            if !key.is_empty()
                && key.len() <= MAX_KEY_CHARS
                && key.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            format!("api:{key}")
        }
        _ => {
            invalid.add(
                "Idempotency-Key",
                format!("Use 1 to {MAX_KEY_CHARS} visible ASCII characters, such as a random UUID"),
            );
            String::new()
        }
    }
}

/// A booking request's fields as sent, read before the practice's offer is consulted.
#[derive(Debug)]
pub(crate) struct BookingFields<'a> {
    /// `type`, the appointment type's slug.
    pub kind: Option<&'a str>,
    /// `location`, the location's slug.
    pub location: Option<&'a str>,
    /// `start`, when it is an RFC 3339 instant.
    pub start: Option<Timestamp>,
    /// The visitor's details as typed.
    pub form: DetailsForm<'a>,
}

/// Read a booking request's fields, recording every unknown field, wrong type and unreadable
/// start in `invalid` (pure, so the fuzz target `api_bodies` runs it on any object).
pub(crate) fn booking_fields<'a>(
    map: &'a Map<String, Value>,
    invalid: &mut Invalid,
) -> BookingFields<'a> {
    refuse_unknown(map, &BOOKING_FIELDS, invalid);
    let kind = text(map, "type", invalid);
    let location = text(map, "location", invalid);
    let start = match text(map, "start", invalid).map(|s| s.trim().parse::<Timestamp>()) {
        Some(Ok(start)) => Some(start),
        _ => {
            if !invalid.has("start") {
                invalid.add(
                    "start",
                    "Give the start as an RFC 3339 date-time with an offset, \
                     for example 2027-03-29T09:00:00+01:00, as listed by GET /api/v1/availability",
                );
            }
            None
        }
    };
    let consent = match map.get("consent") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(consent)) => *consent,
        Some(_) => {
            invalid.add("consent", "Must be true or false");
            false
        }
    };
    let form = DetailsForm {
        name: text(map, "name", invalid).unwrap_or(""),
        email: text(map, "email", invalid).unwrap_or(""),
        phone: nullable_text(map, "phone", invalid).unwrap_or(""),
        contact_preference: text(map, "contact_preference", invalid).unwrap_or("email"),
        note: nullable_text(map, "note", invalid).unwrap_or(""),
        consent,
    };
    BookingFields {
        kind,
        location,
        start,
        form,
    }
}

pub(super) async fn create(
    state: Here,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let ip = client_ip(&state, &headers, peer);
    // Counted before the booking is made, so bookings sent all at once cannot each find
    // the count under the limit; only a new booking (201) keeps its place.
    let held = state.reserve(Limit::Booking, Subject::Network(ip)).await?;
    let answer = create_booking(&state, &headers, body).await;
    if !matches!(&answer, Ok(response) if response.status() == StatusCode::CREATED) {
        held.release(&state).await?;
    }
    answer
}

async fn create_booking(
    state: &Here,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let body = match body {
        Ok(body) => body,
        // Too large or unreadable: its status gets a JSON body on the way out.
        Err(rejection) => return Ok(rejection.into_response()),
    };
    json_content(headers)?;
    let mut invalid = Invalid::default();
    let key = idempotency_key(headers, &mut invalid);
    let map = json_object(&body)?;
    let fields = booking_fields(&map, &mut invalid);
    let offer = offer_for(state, fields.kind, &mut invalid).await?;
    let location = match &offer {
        Some(offer) if !invalid.has("location") => location_in(
            offer,
            fields.location.unwrap_or(""),
            "location",
            &mut invalid,
        ),
        None if fields.location.is_none() && !invalid.has("location") => {
            invalid.add(
                "location",
                "Give the location's slug, for example \"balham\"",
            );
            None
        }
        _ => None,
    };
    let (start, form) = (fields.start, fields.form);
    let note_enabled = offer.as_ref().is_none_or(|o| o.settings.note_enabled);
    let visitor = match VisitorDetails::parse(&form, note_enabled) {
        Ok(visitor) => Some(visitor),
        Err(errors) => {
            invalid.extend(&errors);
            None
        }
    };
    invalid.check()?;
    let (Some(offer), Some(location), Some(start), Some(visitor)) =
        (offer.as_ref(), location, start, visitor)
    else {
        return Err(ApiError::field("body", "Check the booking details"));
    };

    let slot = offer.slot_at(location, start);
    let email = visitor.email.clone();
    match make_booking(state, offer, &slot, visitor, &key).await {
        Ok(Made::New { booking, token }) => {
            let url = crate::booking::manage_url(state, token.as_str());
            Ok(json_response(
                StatusCode::CREATED,
                BookingBody::of(&booking, offer, Some(url)),
            ))
        }
        Ok(Made::Earlier(booking)) => {
            let same = booking.start == slot.start
                && booking.location == slot.location
                && booking.visitor.email == email;
            if !same {
                return Err(ApiError::field(
                    "Idempotency-Key",
                    "This key was already used for a different booking; \
                     use a new key for each new booking",
                ));
            }
            let mut response =
                json_response(StatusCode::OK, BookingBody::of(&booking, offer, None));
            response
                .headers_mut()
                .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
            Ok(response)
        }
        Err(StoreError::Conflict(ConflictKind::SlotUnavailable)) => {
            let alternatives: Vec<SlotBody> = nearby_slots(state, offer, &slot)
                .await?
                .iter()
                .map(|s| SlotBody::of(s, &offer.zone))
                .collect();
            Err(ApiError::Refused(
                StatusCode::CONFLICT,
                json!({
                    "error": "slot_unavailable",
                    "message": "That time is not free (it may just have been booked). \
                        Choose one of the alternatives or ask for availability again.",
                    "alternatives": alternatives,
                }),
            ))
        }
        Err(other) => Err(other.into()),
    }
}

/// The manage token from `Authorization: Bearer …` or the body's `token`.
pub(crate) fn token_of(headers: &HeaderMap, body: &[u8]) -> ApiResult<String> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned());
    if let Some(token) = bearer {
        return Ok(token);
    }
    // Neither a bearer token nor a body: no credential at all, which HTTP calls a 401. A
    // body without a usable token is a malformed request instead (422, by field).
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::Unauthorized(
            "Give the manage token (the last part of the manage_url) as \"token\" \
             in a JSON body or as Authorization: Bearer <token>",
        ));
    }
    let map = json_object(body)?;
    let mut invalid = Invalid::default();
    refuse_unknown(&map, &["token"], &mut invalid);
    let token = text(&map, "token", &mut invalid).map(str::to_owned);
    invalid.check()?;
    token.filter(|t| !t.trim().is_empty()).ok_or_else(|| {
        ApiError::field(
            "token",
            "Give the manage token: the last part of the manage_url, 64 hex digits",
        )
    })
}

#[derive(Serialize)]
struct CancelledBody {
    id: String,
    status: &'static str,
}

pub(super) async fn cancel(
    state: Here,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    // An id that is not text once percent-decoded names no booking.
    let Ok(Path(id)) = id else {
        return Err(WebError::NotFound.into());
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return Ok(rejection.into_response()),
    };
    if !body.iter().all(u8::is_ascii_whitespace) {
        json_content(&headers)?;
    }
    let token = token_of(&headers, &body)?;
    // A wrong id and a wrong token look the same: neither says whether the other exists.
    let booking = manage::find(&state, token.trim()).await?;
    if public_id(&booking) != id.trim() {
        return Err(WebError::NotFound.into());
    }
    let cancelled = || {
        json_response(
            StatusCode::OK,
            CancelledBody {
                id: public_id(&booking),
                status: BookingStatus::Cancelled.as_str(),
            },
        )
    };
    // Cancelling twice is not an error: the second answer is the same as the first.
    if booking.status == BookingStatus::Cancelled {
        return Ok(cancelled());
    }
    if !booking.status.is_active() {
        return Err(ApiError::Refused(
            StatusCode::CONFLICT,
            json!({
                "error": "not_active",
                "status": booking.status.as_str(),
                "message": "This booking is no longer active, so there is nothing to cancel.",
            }),
        ));
    }
    let offer = Offer::load(&state).await?;
    if manage::cancel_booking(&state, &offer, &booking).await? {
        Ok(cancelled())
    } else {
        Err(ApiError::Refused(
            StatusCode::CONFLICT,
            json!({
                "error": "too_late",
                "message": "It is too close to the start to cancel online. \
                    Please contact the practice directly.",
            }),
        ))
    }
}

pub(super) fn create_operation() -> Value {
    json!({
        "operationId": "createBooking",
        "summary": "Book the online-bookable appointment type",
        "description": "Books a free time from GET /api/v1/availability. The slot is checked \
            again inside the write transaction, so two clients can never both get it: the loser \
            gets 409 with nearby alternatives. Depending on the practice's setting the booking \
            is `confirmed` at once or `requested` (held until the therapist accepts). Emails go \
            to the visitor and the therapist.\n\n\
            Send an `Idempotency-Key` header (a random UUID) to make retries safe: a retry with \
            the same key and the same slot and email makes no second booking and answers 200 \
            with the booking made the first time and `Idempotent-Replayed: true`. That answer \
            has no `manage_url`: the manage token is only known at the moment the booking is \
            made (it is stored as a hash) and is also in the visitor's email. Reusing a key for \
            a different booking is a 422.",
        "parameters": [{
            "name": "Idempotency-Key", "in": "header", "required": false,
            "description": format!("Up to {MAX_KEY_CHARS} visible ASCII characters; use a new random value per booking."),
            "schema": {
                "type": "string", "minLength": 1, "maxLength": MAX_KEY_CHARS, "pattern": "^[!-~]+$"
            }
        }],
        "requestBody": {
            "required": true,
            "content": { "application/json": { "schema": schema_ref("NewBooking") } }
        },
        "responses": {
            "201": {
                "description": "Booked (or requested). Keep `manage_url`: it is shown only now.",
                "content": { "application/json": { "schema": schema_ref("Booking") } }
            },
            "200": {
                "description": "A retry with the same `Idempotency-Key`: the booking made the \
                    first time, without `manage_url`.",
                "headers": {
                    "Idempotent-Replayed": { "schema": { "type": "string", "const": "true" } }
                },
                "content": { "application/json": { "schema": schema_ref("Booking") } }
            },
            "409": {
                "description": "The time is not free (just taken, or never offered).",
                "content": { "application/json": { "schema": schema_ref("SlotUnavailable") } }
            },
            "422": {
                "description": "Bad input: not JSON, a missing or wrongly typed field, an unknown \
                    field, type or location, a start without an offset, or a reused key.",
                "content": { "application/json": { "schema": schema_ref("ValidationErrors") } }
            },
            "429": rate_limited()
        }
    })
}

pub(super) fn cancel_operation() -> Value {
    json!({
        "operationId": "cancelBooking",
        "summary": "Cancel a booking with its manage token",
        "description": "The visitor cancels, up to the appointment type's minimum notice before \
            the start. The token is the last part of `manage_url`; give it in the body or as a \
            bearer token. A wrong id or token is 404 (neither is revealed). Cancelling an \
            already cancelled booking answers 200 again.",
        "security": [{}, { "manageToken": [] }],
        "parameters": [{
            "name": "id", "in": "path", "required": true,
            "description": "The booking's id, as returned when it was made (opaque).",
            "schema": { "type": "string", "minLength": 1, "maxLength": 100 }
        }],
        "requestBody": {
            "required": false,
            "description": "Leave out when the token is sent as `Authorization: Bearer <token>`.",
            "content": { "application/json": { "schema": schema_ref("CancelRequest") } }
        },
        "responses": {
            "200": {
                "description": "Cancelled; the visitor and the therapist are emailed.",
                "content": { "application/json": { "schema": schema_ref("Cancelled") } }
            },
            "404": {
                "description": "No booking with this id and token: a token that was never \
                    issued, a token for another booking, or an id that is not the token's booking \
                    all answer the same, so neither reveals the other.",
                "content": { "application/json": { "schema": schema_ref("Error") } }
            },
            "409": {
                "description": "`too_late`: past the cut-off, contact the practice instead; \
                    `not_active`: declined or expired, nothing to cancel.",
                "content": { "application/json": { "schema": schema_ref("Error") } }
            },
            "401": {
                "description": "No token at all: neither a body nor `Authorization: Bearer`. \
                    `WWW-Authenticate: Bearer` says how to give one.",
                "headers": {
                    "WWW-Authenticate": { "schema": { "type": "string", "const": "Bearer" } }
                },
                "content": { "application/json": { "schema": schema_ref("Error") } }
            },
            "422": {
                "description": "A body that is not a JSON object, or one without a `token` \
                    string (or with another field).",
                "content": { "application/json": { "schema": schema_ref("ValidationErrors") } }
            }
        }
    })
}

/// The 429 answer, shared by the operations that are rate limited.
fn rate_limited() -> Value {
    json!({
        "description": "Too many bookings from this network (an IPv4 address or an IPv6 /64: \
            10 an hour, counting only bookings made); try again after `Retry-After` seconds.",
        "headers": {
            "Retry-After": { "schema": { "type": "integer", "minimum": 1 } }
        },
        "content": { "application/json": { "schema": schema_ref("Error") } }
    })
}

/// Characters refused in a name (`domain::text`'s control characters: Unicode's Cc and the
/// bidirectional overrides), as a regular-expression class body.
const CONTROL: &str = r"\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069";
/// The same, less tab, line feed and carriage return, which a note may hold.
const CONTROL_BUT_LINES: &str =
    r"\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069";

/// The schemas these operations use.
pub(super) fn schemas() -> Value {
    json!({
        "NewBooking": {
            "type": "object",
            "required": ["type", "location", "start", "name", "email", "consent"],
            "additionalProperties": false,
            "properties": {
                "type": { "type": "string", "description": "The online-bookable type's slug.", "examples": ["consultation"] },
                "location": { "type": "string", "examples": ["balham"] },
                "start": {
                    "type": "string", "format": "date-time",
                    "description": "A start from GET /api/v1/availability, in any offset \
                        (`2027-03-29T09:00:00+01:00` and `2027-03-29T08:00:00Z` are the same instant).",
                    "examples": ["2027-03-29T09:00:00+01:00"]
                },
                "name": {
                    "type": "string", "minLength": 1, "maxLength": 100,
                    "pattern": format!("^[^{CONTROL}]*[^\\s{CONTROL}][^{CONTROL}]*$"),
                    "description": "Up to 100 characters, not only spaces, without control characters.",
                    "examples": ["Sam Jones"]
                },
                "email": { "type": "string", "format": "email", "examples": ["sam@example.com"] },
                "phone": {
                    "type": ["string", "null"],
                    "pattern": r"^(\+?[ ()-]*([0-9][ ()-]*){7,15})?$",
                    "description": "7 to 15 digits, with spaces, brackets or hyphens and a leading + \
                        if wanted. Required (not empty) when contact_preference is phone.",
                    "examples": ["07700 900 982", "+44 7700 900 982"]
                },
                "contact_preference": { "type": "string", "enum": ["email", "phone"], "default": "email" },
                "note": {
                    "type": ["string", "null"],
                    "maxLength": domain::booking::MAX_NOTE_CHARS,
                    "pattern": format!("^[^{CONTROL_BUT_LINES}]*$"),
                    "description": "Optional; please no health details. Line breaks and tabs are \
                        kept, other control characters refused. Ignored when the practice has \
                        turned notes off."
                },
                "consent": {
                    "type": "boolean", "const": true,
                    "description": "The visitor agrees that their details are kept for this booking."
                }
            },
            // Asking to be phoned needs a number to phone.
            "if": {
                "required": ["contact_preference"],
                "properties": { "contact_preference": { "const": "phone" } }
            },
            "then": {
                "required": ["phone"],
                "properties": { "phone": { "type": "string", "minLength": 1 } }
            }
        },
        "Booking": {
            "type": "object",
            "required": ["id", "status", "type", "start", "end", "location"],
            "properties": {
                "id": { "type": "string", "description": "Opaque: says nothing about other bookings.", "examples": ["9f2c4e0b7a1d4c3e8b5a6f7e1d2c3b4a"] },
                "status": {
                    "type": "string",
                    "enum": ["confirmed", "requested", "cancelled", "declined", "expired"],
                    "description": "A new booking is `confirmed` or `requested`; a replay shows its status now."
                },
                "type": { "type": "string", "examples": ["consultation"] },
                "start": { "type": "string", "format": "date-time", "examples": ["2027-03-29T09:00:00+01:00"] },
                "end": { "type": "string", "format": "date-time", "examples": ["2027-03-29T09:50:00+01:00"] },
                "location": { "type": "string", "examples": ["balham"] },
                "manage_url": {
                    "type": "string", "format": "uri",
                    "description": "The visitor's private link to see, move or cancel. Only in the 201."
                }
            }
        },
        "SlotUnavailable": {
            "type": "object",
            "required": ["error", "alternatives"],
            "properties": {
                "error": { "type": "string", "const": "slot_unavailable" },
                "message": { "type": "string" },
                "alternatives": {
                    "type": "array", "maxItems": 4, "items": schema_ref("Slot"),
                    "description": "Free times at the same location nearest to the one asked for."
                }
            }
        },
        "CancelRequest": {
            "type": "object",
            "required": ["token"],
            "additionalProperties": false,
            "properties": {
                "token": {
                    "type": "string", "pattern": "^[0-9a-f]{64}$",
                    "description": "The last part of the booking's manage_url (64 hex digits). \
                        A token that was never issued, or one for another booking, is a 404."
                }
            }
        },
        "Cancelled": {
            "type": "object",
            "required": ["id", "status"],
            "properties": {
                "id": { "type": "string" },
                "status": { "type": "string", "const": "cancelled" }
            }
        }
    })
}
