//! The fuzz targets' way in (issue 15): the readers of HTML forms and JSON API bodies that
//! are private to this crate, run with their real code. Not part of the crate's API; the
//! properties themselves are checked in `crates/fuzz-checks`.

use std::collections::BTreeMap;

use axum::http::HeaderMap;
use domain::{
    FieldErrors, Slug,
    practice::{RawBookingRules, RawLocation, RawTherapistProfile},
    therapy::ContractTerms,
};
use jiff::Timestamp;
use store::NewClient;

use crate::{
    api::{self, ApiError, Invalid},
    forms::FormData,
    office,
};

/// The photo upload form's reader: the number of text fields and the file's length, or
/// `None` when the body is not a form it reads.
pub fn upload_form(body: &[u8], boundary: &str) -> Option<(usize, Option<usize>)> {
    let upload = crate::upload::parse(body, boundary).ok()?;
    let fields = upload.fields.count();
    Some((fields, upload.file.map(|(_, bytes)| bytes.len())))
}

/// The key under which a 401's message is reported.
pub const UNAUTHORIZED: &str = "(401)";

/// Field → messages, as an API 422 reports them (a 401 under [`UNAUTHORIZED`]).
pub type ApiErrors = BTreeMap<String, Vec<String>>;

fn form(fields: &[(String, String)]) -> FormData {
    FormData::from_fields(fields.to_vec())
}

/// The office's client form (add and change a client).
pub fn client_form(fields: &[(String, String)]) -> Result<NewClient, FieldErrors> {
    office::parse_client(&form(fields))
}

/// The settings page "Your profile", read into its raw form.
pub fn profile_form(fields: &[(String, String)]) -> RawTherapistProfile {
    office::profile_raw(&form(fields))
}

/// A location's settings form, read into its raw form (coordinates are checked here).
pub fn location_form(fields: &[(String, String)]) -> (RawLocation, FieldErrors) {
    let mut errors = FieldErrors::new();
    let raw = office::location_raw(&form(fields), &mut errors);
    (raw, errors)
}

/// An appointment type's booking rules, read into their raw form.
pub fn booking_rules_form(fields: &[(String, String)]) -> RawBookingRules {
    office::booking_raw(&form(fields))
}

/// The two-column list forms (links, FAQ): the rows kept.
pub fn rows_form(fields: &[(String, String)]) -> Vec<(String, String)> {
    office::rows_of(&form(fields))
}

/// The contract form, parsed against the practice's `locations`.
pub fn contract_form(
    fields: &[(String, String)],
    locations: &[Slug],
    policy_version: u32,
) -> Result<ContractTerms, FieldErrors> {
    office::ContractValues::from_form(&form(fields))
        .form()
        .parse(locations, policy_version)
}

/// The contract form as the office fills it in for `terms` (changing a contract), parsed
/// again.
pub fn contract_refilled(
    terms: &ContractTerms,
    locations: &[Slug],
    policy_version: u32,
) -> Result<ContractTerms, FieldErrors> {
    office::ContractValues::of(terms)
        .form()
        .parse(locations, policy_version)
}

/// `POST /api/v1/bookings`: the body's fields as read before the practice is consulted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiBooking {
    pub kind: Option<String>,
    pub location: Option<String>,
    pub start: Option<Timestamp>,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub contact_preference: String,
    pub note: String,
    pub consent: bool,
}

fn errors_of(error: ApiError) -> ApiErrors {
    match error {
        ApiError::Invalid(invalid) => invalid.fields().clone(),
        ApiError::Unauthorized(message) => {
            BTreeMap::from([(UNAUTHORIZED.to_owned(), vec![message.to_owned()])])
        }
        other => BTreeMap::from([("(not a 422)".to_owned(), vec![format!("{other:?}")])]),
    }
}

/// Read a booking request body as `POST /api/v1/bookings` does; `Err` is its 422's fields.
pub fn api_booking(body: &[u8]) -> Result<ApiBooking, ApiErrors> {
    let map = api::json_object(body).map_err(errors_of)?;
    let mut invalid = Invalid::default();
    let fields = api::booking_fields(&map, &mut invalid);
    let booking = ApiBooking {
        kind: fields.kind.map(str::to_owned),
        location: fields.location.map(str::to_owned),
        start: fields.start,
        name: fields.form.name.to_owned(),
        email: fields.form.email.to_owned(),
        phone: fields.form.phone.to_owned(),
        contact_preference: fields.form.contact_preference.to_owned(),
        note: fields.form.note.to_owned(),
        consent: fields.form.consent,
    };
    invalid.check().map_err(errors_of)?;
    Ok(booking)
}

/// The manage token of `POST /api/v1/bookings/{id}/cancel`, from the body alone; without
/// one, a 401.
pub fn api_cancel_token(body: &[u8]) -> Result<String, ApiErrors> {
    api::token_of(&HeaderMap::new(), body).map_err(errors_of)
}
