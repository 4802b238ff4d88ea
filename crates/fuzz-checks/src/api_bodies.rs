//! JSON API bodies: `POST /api/v1/bookings` and `POST /api/v1/bookings/{id}/cancel`, read
//! with the handlers' own code (`web::fuzzing`), and the visitor's details parsed from them.
//!
//! Properties: any bytes give either the fields or a 422 naming each bad field with a
//! message (never a panic, never an empty report); fields read from a body are read the
//! same from the body written back from them; details the API accepts are accepted again,
//! unchanged, when written back; the cancel body gives a token, a 422 or (no token at all)
//! a 401.

use domain::booking::{DetailsForm, VisitorDetails};
use serde_json::{Map, Value, json};
use web::fuzzing::{ApiBooking, ApiErrors, UNAUTHORIZED, api_booking, api_cancel_token};

/// A 422 naming its fields (or, where `may_401`, a 401), each with messages.
fn assert_report(errors: &ApiErrors, body: &[u8], may_401: bool) {
    assert!(!errors.is_empty(), "an empty 422 for {body:?}");
    for (field, messages) in errors {
        // A field may be named "" (an unknown field of that name is reported under it).
        let allowed = field != "(not a 422)" && (may_401 || field != UNAUTHORIZED);
        assert!(allowed, "{errors:?}");
        assert!(
            !messages.is_empty() && messages.iter().all(|m| !m.is_empty()),
            "{errors:?}"
        );
    }
}

/// The body a client would send for `booking`.
fn body_of(booking: &ApiBooking) -> Vec<u8> {
    let mut map = Map::new();
    let mut put = |k: &str, v: Value| {
        map.insert(k.to_owned(), v);
    };
    if let Some(kind) = &booking.kind {
        put("type", json!(kind));
    }
    if let Some(location) = &booking.location {
        put("location", json!(location));
    }
    if let Some(start) = booking.start {
        put("start", json!(start.to_string()));
    }
    put("name", json!(booking.name));
    put("email", json!(booking.email));
    put("phone", json!(booking.phone));
    put("contact_preference", json!(booking.contact_preference));
    put("note", json!(booking.note));
    put("consent", json!(booking.consent));
    serde_json::to_vec(&Value::Object(map)).expect("JSON")
}

fn details(
    booking: &ApiBooking,
    note_enabled: bool,
) -> Result<VisitorDetails, domain::FieldErrors> {
    VisitorDetails::parse(
        &DetailsForm {
            name: &booking.name,
            email: &booking.email,
            phone: &booking.phone,
            contact_preference: &booking.contact_preference,
            note: &booking.note,
            consent: booking.consent,
        },
        note_enabled,
    )
}

pub fn check(data: &[u8]) {
    let (flags, body) = data.split_first().unwrap_or((&0, data));
    let note_enabled = flags & 1 == 1;
    if flags & 2 == 2 {
        match api_cancel_token(body) {
            Ok(token) => assert!(!token.trim().is_empty()),
            Err(errors) => assert_report(&errors, body, true),
        }
        return;
    }
    let booking = match api_booking(body) {
        Ok(booking) => booking,
        Err(errors) => return assert_report(&errors, body, false),
    };
    let again = api_booking(&body_of(&booking));
    assert_eq!(
        again.as_ref(),
        Ok(&booking),
        "the body written back reads differently"
    );
    if let Ok(visitor) = details(&booking, note_enabled) {
        let written = ApiBooking {
            name: visitor.name.to_string(),
            email: visitor.email.to_string(),
            phone: visitor
                .phone
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            contact_preference: visitor.contact_preference.as_str().to_owned(),
            note: visitor.note.clone().unwrap_or_default(),
            ..booking.clone()
        };
        let read = api_booking(&body_of(&written)).expect("our own body");
        assert_eq!(
            details(&read, note_enabled).as_ref(),
            Ok(&visitor),
            "details change"
        );
    }
}
