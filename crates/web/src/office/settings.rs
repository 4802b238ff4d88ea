//! Practice settings: profile, details, locations, fees and policies, privacy, links, FAQ.
//!
//! Most sections are one form described by a list of [`Field`]s and rendered by one
//! template; each parses into its domain type, and only a fully valid form is saved.

use axum::{
    extract::Path,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use domain::{
    FieldErrors, Slug,
    practice::{
        AppointmentType, FaqEntry, Location, Policies, PracticeDetails, PrivacySettings,
        RawAppointmentType, RawBookingRules, RawLocation, RawPracticeDetails, RawPrivacySettings,
        RawTherapistProfile, SocialLink, TherapistProfile, split_lines,
    },
};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};
use store::{ConflictKind, StoreError};

use super::{Staff, errors_value, page};
use crate::query::Query;
use crate::{Here, WebError, error::WebResult, forms::FormData, templates::value};

crate::routing::routes! {
    // Settings: every change is audited.
    GET "/office/settings" => Staff: index;
    GET "/office/settings/profile" => Staff: profile_form;
    POST "/office/settings/profile" => Staff(SettingsChanged): save_profile;
    GET "/office/settings/practice" => Staff: practice_form;
    POST "/office/settings/practice" => Staff(SettingsChanged): save_practice;
    GET "/office/settings/policies" => Staff: policies_form;
    POST "/office/settings/policies" => Staff(SettingsChanged): save_policies;
    GET "/office/settings/privacy" => Staff: privacy_form;
    POST "/office/settings/privacy" => Staff(SettingsChanged): save_privacy;
    GET "/office/settings/appointment-types/{slug}" => Staff: type_form;
    POST "/office/settings/appointment-types/{slug}" => Staff(SettingsChanged): save_type;
    GET "/office/settings/locations/new" => Staff: new_location_form;
    POST "/office/settings/locations/new" => Staff(SettingsChanged): create_location;
    GET "/office/settings/locations/{slug}" => Staff: location_form;
    POST "/office/settings/locations/{slug}" => Staff(SettingsChanged): save_location;
    GET "/office/settings/locations/{slug}/delete" => Staff: confirm_delete_location;
    POST "/office/settings/locations/{slug}/delete" => Staff(SettingsChanged): delete_location;
    GET "/office/settings/links" => Staff: links_form;
    POST "/office/settings/links" => Staff(SettingsChanged): save_links;
    GET "/office/settings/faq" => Staff: faq_form;
    POST "/office/settings/faq" => Staff(SettingsChanged): save_faq;
}

/// One field of a settings form.
#[derive(Serialize)]
pub(super) struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    /// `text`, `email`, `tel`, `number`, `textarea`, `checkbox`, `checkboxes`, `radios`.
    pub kind: &'static str,
    pub value: String,
    pub checked: bool,
    /// For `checkboxes` and `radios`: (value, label, checked).
    pub options: Vec<(String, String, bool)>,
}

pub(super) fn text(
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    value: impl Into<String>,
) -> Field {
    Field {
        name,
        label,
        hint,
        kind: "text",
        value: value.into(),
        checked: false,
        options: Vec::new(),
    }
}

pub(super) fn area(
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    value: impl Into<String>,
) -> Field {
    Field {
        name,
        label,
        hint,
        kind: "textarea",
        value: value.into(),
        checked: false,
        options: Vec::new(),
    }
}

pub(super) fn typed(
    kind: &'static str,
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    value: impl Into<String>,
) -> Field {
    Field {
        name,
        label,
        hint,
        kind,
        value: value.into(),
        checked: false,
        options: Vec::new(),
    }
}

pub(super) fn checkbox(
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    checked: bool,
) -> Field {
    Field {
        name,
        label,
        hint,
        kind: "checkbox",
        value: "true".into(),
        checked,
        options: Vec::new(),
    }
}

const MARKDOWN_HINT: &str =
    "You can use Markdown: a blank line between paragraphs, ## for a heading, * for a list.";

#[derive(Deserialize)]
pub(super) struct Saved {
    pub saved: Option<String>,
}

pub(super) async fn show(
    state: &Here,
    staff: &Staff,
    title: &str,
    action: &str,
    fields: Vec<Field>,
    errors: Option<&FieldErrors>,
    saved: bool,
) -> WebResult<Response> {
    let (list, map) = errors.map_or((Value::UNDEFINED, Value::UNDEFINED), errors_value);
    let status = if errors.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let ctx =
        context! { title, action, fields => value(&fields), errors => list, error => map, saved };
    page(state, staff, status, "office/settings_form.html", ctx).await
}

pub(super) fn done(path: &str) -> Response {
    Redirect::to(&format!("{path}?saved=1")).into_response()
}

async fn index(state: Here, staff: Staff) -> WebResult<Response> {
    let id = state.practice_id();
    let locations = state.store().locations(id).await?;
    let types = state.store().appointment_types(id).await?;
    let ctx = context! { locations => value(&locations), types => value(&types) };
    page(&state, &staff, StatusCode::OK, "office/settings.html", ctx).await
}

// ---- Therapist profile -------------------------------------------------------------

fn profile_fields(raw: &RawTherapistProfile) -> Vec<Field> {
    vec![
        text(
            "name",
            "Your name",
            "As you want it shown on the site.",
            &raw.name,
        ),
        text(
            "title",
            "Job title",
            "For example, Psychodynamic psychotherapist and counsellor.",
            &raw.title,
        ),
        text(
            "professional_body",
            "Professional body",
            "For example, UK Council for Psychotherapy (UKCP).",
            &raw.professional_body,
        ),
        text(
            "registration",
            "Registration or membership number",
            "",
            &raw.registration,
        ),
        area(
            "qualifications",
            "Qualifications",
            "One per line.",
            raw.qualifications.join("\n"),
        ),
        area(
            "languages",
            "Languages you work in",
            "One per line.",
            raw.languages.join("\n"),
        ),
        area("about", "About you", MARKDOWN_HINT, &raw.about),
    ]
}

fn profile_raw(form: &FormData) -> RawTherapistProfile {
    RawTherapistProfile {
        name: form.get("name").into(),
        title: form.get("title").into(),
        professional_body: form.get("professional_body").into(),
        registration: form.get("registration").into(),
        qualifications: split_lines(form.get("qualifications")),
        languages: split_lines(form.get("languages")),
        about: form.get("about").into(),
    }
}

async fn profile_form(state: Here, staff: Staff, Query(q): Query<Saved>) -> WebResult<Response> {
    let practice = state.store().practice(state.practice_id()).await?;
    show(
        &state,
        &staff,
        "Your profile",
        "/office/settings/profile",
        profile_fields(&practice.therapist.to_raw()),
        None,
        q.saved.is_some(),
    )
    .await
}

async fn save_profile(state: Here, staff: Staff, form: FormData) -> WebResult<Response> {
    let raw = profile_raw(&form);
    match TherapistProfile::parse(&raw) {
        Ok(profile) => {
            state
                .store()
                .update_therapist(state.practice_id(), &profile)
                .await?;
            state.content_changed();
            Ok(done("/office/settings/profile"))
        }
        Err(errors) => {
            show(
                &state,
                &staff,
                "Your profile",
                "/office/settings/profile",
                profile_fields(&raw),
                Some(&errors),
                false,
            )
            .await
        }
    }
}

// ---- Practice details --------------------------------------------------------------

fn practice_fields(raw: &RawPracticeDetails) -> Vec<Field> {
    vec![
        text(
            "name",
            "Practice name",
            "Shown at the top of every page.",
            &raw.name,
        ),
        text(
            "tagline",
            "Tagline",
            "One short line under the name.",
            &raw.tagline,
        ),
        text(
            "time_zone",
            "Time zone",
            "From the IANA list, for example Europe/London.",
            &raw.time_zone,
        ),
        typed(
            "email",
            "notify_email",
            "Email address for notifications",
            "Where new enquiries are announced. Never shown on the site.",
            &raw.notify_email,
        ),
        typed(
            "tel",
            "public_phone",
            "Public phone number (optional)",
            "Leave empty to keep your number off the site.",
            &raw.public_phone,
        ),
        area("intro", "Home page introduction", MARKDOWN_HINT, &raw.intro),
        area(
            "how_i_work",
            "How I work (home page)",
            MARKDOWN_HINT,
            &raw.how_i_work,
        ),
    ]
}

async fn practice_form(state: Here, staff: Staff, Query(q): Query<Saved>) -> WebResult<Response> {
    let practice = state.store().practice(state.practice_id()).await?;
    show(
        &state,
        &staff,
        "Practice details",
        "/office/settings/practice",
        practice_fields(&practice.details.to_raw()),
        None,
        q.saved.is_some(),
    )
    .await
}

async fn save_practice(state: Here, staff: Staff, form: FormData) -> WebResult<Response> {
    let raw = RawPracticeDetails {
        name: form.get("name").into(),
        tagline: form.get("tagline").into(),
        time_zone: form.get("time_zone").into(),
        notify_email: form.get("notify_email").into(),
        public_phone: form.get("public_phone").into(),
        intro: form.get("intro").into(),
        how_i_work: form.get("how_i_work").into(),
    };
    match PracticeDetails::parse(&raw) {
        Ok(details) => {
            state
                .store()
                .update_details(state.practice_id(), &details)
                .await?;
            state.content_changed();
            Ok(done("/office/settings/practice"))
        }
        Err(errors) => {
            show(
                &state,
                &staff,
                "Practice details",
                "/office/settings/practice",
                practice_fields(&raw),
                Some(&errors),
                false,
            )
            .await
        }
    }
}

// ---- Policies ----------------------------------------------------------------------

fn policies_fields(p: &Policies) -> Vec<Field> {
    vec![
        area(
            "fees",
            "About fees",
            "How and when people pay, reduced fees. Shown above your fee list.",
            &p.fees,
        ),
        area(
            "cancellation",
            "Cancellation policy",
            MARKDOWN_HINT,
            &p.cancellation,
        ),
        area(
            "confidentiality",
            "Confidentiality and its limits",
            MARKDOWN_HINT,
            &p.confidentiality,
        ),
    ]
}

async fn policies_form(state: Here, staff: Staff, Query(q): Query<Saved>) -> WebResult<Response> {
    let practice = state.store().practice(state.practice_id()).await?;
    show(
        &state,
        &staff,
        "Fees and policies",
        "/office/settings/policies",
        policies_fields(&practice.policies),
        None,
        q.saved.is_some(),
    )
    .await
}

async fn save_policies(state: Here, staff: Staff, form: FormData) -> WebResult<Response> {
    let raw = Policies {
        fees: form.get("fees").into(),
        cancellation: form.get("cancellation").into(),
        confidentiality: form.get("confidentiality").into(),
    };
    match Policies::parse(&raw) {
        Ok(policies) => {
            state
                .store()
                .update_policies(state.practice_id(), &policies)
                .await?;
            state.content_changed();
            Ok(done("/office/settings/policies"))
        }
        Err(errors) => {
            show(
                &state,
                &staff,
                "Fees and policies",
                "/office/settings/policies",
                policies_fields(&raw),
                Some(&errors),
                false,
            )
            .await
        }
    }
}

// ---- Privacy -----------------------------------------------------------------------

fn privacy_fields(raw: &RawPrivacySettings, years: &str) -> Vec<Field> {
    vec![
        text(
            "controller",
            "Who is responsible for the data",
            "Usually your name, and your trading name if you have one.",
            &raw.controller,
        ),
        text(
            "ico_registration",
            "ICO registration number",
            "If you are registered with the Information Commissioner's Office.",
            &raw.ico_registration,
        ),
        typed(
            "number",
            "retention_years",
            "Years records are kept after therapy ends",
            "Professional bodies and insurers usually advise 6 or 7 years.",
            years,
        ),
        area(
            "extra",
            "Anything else for the privacy notice",
            MARKDOWN_HINT,
            &raw.extra,
        ),
    ]
}

async fn privacy_form(state: Here, staff: Staff, Query(q): Query<Saved>) -> WebResult<Response> {
    let p = state.store().practice(state.practice_id()).await?.privacy;
    let raw = RawPrivacySettings {
        controller: p.controller,
        ico_registration: p.ico_registration,
        retention_years: Some(p.retention_years),
        extra: p.extra,
    };
    let years = p.retention_years.to_string();
    show(
        &state,
        &staff,
        "Privacy notice",
        "/office/settings/privacy",
        privacy_fields(&raw, &years),
        None,
        q.saved.is_some(),
    )
    .await
}

async fn save_privacy(state: Here, staff: Staff, form: FormData) -> WebResult<Response> {
    let raw = RawPrivacySettings {
        controller: form.get("controller").into(),
        ico_registration: form.get("ico_registration").into(),
        retention_years: form.get("retention_years").trim().parse().ok(),
        extra: form.get("extra").into(),
    };
    match PrivacySettings::parse(&raw) {
        Ok(privacy) => {
            state
                .store()
                .update_privacy(state.practice_id(), &privacy)
                .await?;
            state.content_changed();
            Ok(done("/office/settings/privacy"))
        }
        Err(errors) => {
            show(
                &state,
                &staff,
                "Privacy notice",
                "/office/settings/privacy",
                privacy_fields(&raw, form.get("retention_years")),
                Some(&errors),
                false,
            )
            .await
        }
    }
}

// ---- Appointment types -------------------------------------------------------------

fn type_fields(raw: &RawAppointmentType, locations: &[Location]) -> Vec<Field> {
    let b = &raw.booking;
    let options = locations
        .iter()
        .map(|l| {
            (
                l.slug.to_string(),
                l.name.clone(),
                b.locations.iter().any(|x| x == l.slug.as_str()),
            )
        })
        .collect();
    vec![
        text("name", "Name", "As shown on the fees page.", &raw.name),
        typed("number", "minutes", "Length in minutes", "", &raw.minutes),
        text(
            "fee",
            "Fee in pounds",
            "For example, 75 or 62.50.",
            &raw.fee,
        ),
        text(
            "description",
            "Description",
            "One or two sentences.",
            &raw.description,
        ),
        checkbox(
            "bookable_online",
            "Visitors can book this online",
            "Usually only the first consultation.",
            b.bookable_online,
        ),
        Field {
            name: "locations",
            label: "Where it can be booked",
            hint: "",
            kind: "checkboxes",
            value: String::new(),
            checked: false,
            options,
        },
        typed(
            "number",
            "notice_hours",
            "Minimum notice, in hours",
            "How soon before it starts someone can book.",
            &b.notice_hours,
        ),
        typed(
            "number",
            "horizon_days",
            "How many days ahead it can be booked",
            "",
            &b.horizon_days,
        ),
        typed(
            "number",
            "granularity_minutes",
            "Minutes between possible start times",
            "For example 60 offers 9:00, 10:00, 11:00.",
            &b.granularity_minutes,
        ),
        typed(
            "number",
            "buffer_before",
            "Minutes kept free before",
            "",
            &b.buffer_before,
        ),
        typed(
            "number",
            "buffer_after",
            "Minutes kept free after",
            "Time for notes and a breather.",
            &b.buffer_after,
        ),
        typed(
            "number",
            "travel_minutes",
            "Travel time between rooms, in minutes",
            "Kept free when the appointment before or after is at another location.",
            &b.travel_minutes,
        ),
    ]
}

fn booking_raw(form: &FormData) -> RawBookingRules {
    RawBookingRules {
        bookable_online: form.has("bookable_online"),
        locations: form
            .all("locations")
            .into_iter()
            .map(str::to_owned)
            .collect(),
        buffer_before: form.get("buffer_before").into(),
        buffer_after: form.get("buffer_after").into(),
        travel_minutes: form.get("travel_minutes").into(),
        notice_hours: form.get("notice_hours").into(),
        horizon_days: form.get("horizon_days").into(),
        granularity_minutes: form.get("granularity_minutes").into(),
    }
}

async fn find_type(state: &Here, raw: &str) -> WebResult<AppointmentType> {
    let slug = Slug::parse(raw).map_err(|_| WebError::NotFound)?;
    let types = state.store().appointment_types(state.practice_id()).await?;
    types
        .into_iter()
        .find(|t| t.slug == slug)
        .ok_or(WebError::NotFound)
}

async fn type_form(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    Query(q): Query<Saved>,
) -> WebResult<Response> {
    let kind = find_type(&state, &raw).await?;
    let form = RawAppointmentType {
        slug: kind.slug.to_string(),
        name: kind.name.clone(),
        minutes: kind.minutes.to_string(),
        fee: format!("{}.{:02}", kind.fee.get() / 100, kind.fee.get() % 100),
        fee_pence: None,
        description: kind.description.clone(),
        booking: kind.booking.to_raw(),
    };
    let locations = state.store().locations(state.practice_id()).await?;
    let title = format!("Appointment type: {}", kind.name);
    show(
        &state,
        &staff,
        &title,
        &format!("/office/settings/appointment-types/{}", kind.slug),
        type_fields(&form, &locations),
        None,
        q.saved.is_some(),
    )
    .await
}

async fn save_type(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let kind = find_type(&state, &raw).await?;
    let raw = RawAppointmentType {
        slug: kind.slug.to_string(),
        name: form.get("name").into(),
        minutes: form.get("minutes").into(),
        fee: form.get("fee").into(),
        fee_pence: None,
        description: form.get("description").into(),
        booking: booking_raw(&form),
    };
    let locations = state.store().locations(state.practice_id()).await?;
    let path = format!("/office/settings/appointment-types/{}", kind.slug);
    match AppointmentType::parse(&raw) {
        Ok(updated) => {
            state
                .store()
                .update_appointment_type(state.practice_id(), &updated)
                .await?;
            state.content_changed();
            Ok(done(&path))
        }
        Err(errors) => {
            show(
                &state,
                &staff,
                &format!("Appointment type: {}", kind.name),
                &path,
                type_fields(&raw, &locations),
                Some(&errors),
                false,
            )
            .await
        }
    }
}

// ---- Locations ---------------------------------------------------------------------

fn location_fields(raw: &RawLocation, lat: &str, lon: &str) -> Vec<Field> {
    vec![
        text("name", "Name", "For example, Balham or Online.", &raw.name),
        text(
            "slug",
            "Web address (slug)",
            "Short, lowercase, with hyphens: used in links, for example chancery-lane.",
            &raw.slug,
        ),
        checkbox(
            "online",
            "This is for online sessions (no address)",
            "",
            raw.online,
        ),
        area(
            "address_lines",
            "Address",
            "One line per line, without the postcode.",
            raw.address_lines.join("\n"),
        ),
        text("postcode", "Postcode", "", &raw.postcode),
        text(
            "latitude",
            "Latitude (optional)",
            "For the OpenStreetMap link, for example 51.4431.",
            lat,
        ),
        text(
            "longitude",
            "Longitude (optional)",
            "For example, -0.1527.",
            lon,
        ),
        text("summary", "Summary", "One line.", &raw.summary),
        area(
            "getting_there",
            "Getting there",
            MARKDOWN_HINT,
            &raw.getting_there,
        ),
        area(
            "accessibility",
            "Accessibility",
            "Step-free access, lifts, toilets.",
            &raw.accessibility,
        ),
        area(
            "building",
            "The building and the room",
            MARKDOWN_HINT,
            &raw.building,
        ),
    ]
}

fn location_raw(form: &FormData, errors: &mut FieldErrors) -> RawLocation {
    let mut coordinate = |name: &'static str| -> Option<f64> {
        let text = form.get(name).trim();
        if text.is_empty() {
            return None;
        }
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Some(v),
            _ => {
                errors.add(name, "Enter a number, like 51.4431, or leave it empty");
                None
            }
        }
    };
    let latitude = coordinate("latitude");
    let longitude = coordinate("longitude");
    RawLocation {
        slug: form.get("slug").into(),
        name: form.get("name").into(),
        online: form.has("online"),
        address_lines: split_lines(form.get("address_lines")),
        postcode: form.get("postcode").into(),
        latitude,
        longitude,
        summary: form.get("summary").into(),
        getting_there: form.get("getting_there").into(),
        accessibility: form.get("accessibility").into(),
        building: form.get("building").into(),
    }
}

fn coordinates(l: &Location) -> (String, String) {
    (
        l.latitude.map(|v| v.to_string()).unwrap_or_default(),
        l.longitude.map(|v| v.to_string()).unwrap_or_default(),
    )
}

async fn new_location_form(state: Here, staff: Staff) -> WebResult<Response> {
    show(
        &state,
        &staff,
        "Add a location",
        "/office/settings/locations/new",
        location_fields(&RawLocation::default(), "", ""),
        None,
        false,
    )
    .await
}

async fn find_location(state: &Here, raw: &str) -> WebResult<Location> {
    let slug = Slug::parse(raw).map_err(|_| WebError::NotFound)?;
    let locations = state.store().locations(state.practice_id()).await?;
    locations
        .into_iter()
        .find(|l| l.slug == slug)
        .ok_or(WebError::NotFound)
}

async fn location_form(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    Query(q): Query<Saved>,
) -> WebResult<Response> {
    let location = find_location(&state, &raw).await?;
    let (lat, lon) = coordinates(&location);
    let title = format!("Location: {}", location.name);
    show(
        &state,
        &staff,
        &title,
        &format!("/office/settings/locations/{}", location.slug),
        location_fields(&location.to_raw(), &lat, &lon),
        None,
        q.saved.is_some(),
    )
    .await
}

async fn store_location(
    state: &Here,
    staff: &Staff,
    existing: Option<&Location>,
    form: &FormData,
) -> WebResult<Response> {
    let mut errors = FieldErrors::new();
    let raw = location_raw(form, &mut errors);
    let (title, action) = match existing {
        Some(l) => (
            format!("Location: {}", l.name),
            format!("/office/settings/locations/{}", l.slug),
        ),
        None => (
            "Add a location".to_owned(),
            "/office/settings/locations/new".to_owned(),
        ),
    };
    let parsed = Location::parse(&raw);
    let redisplay = |errors: FieldErrors| async move {
        show(
            state,
            staff,
            &title,
            &action,
            location_fields(&raw, form.get("latitude"), form.get("longitude")),
            Some(&errors),
            false,
        )
        .await
    };
    let location = match parsed {
        Ok(location) if errors.is_empty() => location,
        Ok(_) => return redisplay(errors).await,
        Err(more) => {
            for (field, message) in more.iter() {
                errors.add(field, message);
            }
            return redisplay(errors).await;
        }
    };
    match state
        .store()
        .save_location(state.practice_id(), existing.map(|l| &l.slug), &location)
        .await
    {
        Ok(()) => {
            state.content_changed();
            Ok(done(&format!(
                "/office/settings/locations/{}",
                location.slug
            )))
        }
        Err(StoreError::Conflict(ConflictKind::LocationSlug)) => {
            let mut errors = FieldErrors::new();
            errors.add(
                "slug",
                "Another location already uses this web address. Choose a different one",
            );
            redisplay(errors).await
        }
        Err(other) => Err(other.into()),
    }
}

async fn create_location(state: Here, staff: Staff, form: FormData) -> WebResult<Response> {
    store_location(&state, &staff, None, &form).await
}

async fn save_location(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let existing = find_location(&state, &raw).await?;
    store_location(&state, &staff, Some(&existing), &form).await
}

async fn confirm_delete_location(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
) -> WebResult<Response> {
    let location = find_location(&state, &raw).await?;
    let ctx = context! {
        title => format!("Remove the location “{}”?", location.name),
        warning => "It will no longer be shown on your site. This cannot be undone.",
        action => format!("/office/settings/locations/{}/delete", location.slug),
        button => "Yes, remove this location",
        back => format!("/office/settings/locations/{}", location.slug),
    };
    page(
        &state,
        &staff,
        StatusCode::OK,
        "office/confirm_delete.html",
        ctx,
    )
    .await
}

async fn delete_location(
    state: Here,
    _staff: Staff,
    Path(raw): Path<String>,
) -> WebResult<Response> {
    let location = find_location(&state, &raw).await?;
    state
        .store()
        .delete_location(state.practice_id(), &location.slug)
        .await?;
    state.content_changed();
    Ok(Redirect::to("/office/settings").into_response())
}

// ---- Social links and FAQ: lists edited as rows ------------------------------------

/// Blank rows offered for adding new entries.
const SPARE_ROWS: usize = 2;

#[derive(Serialize)]
struct Row {
    a: String,
    b: String,
    error_a: Option<String>,
    error_b: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn show_rows(
    state: &Here,
    staff: &Staff,
    kind: &str,
    mut rows: Vec<Row>,
    errors: bool,
    saved: bool,
) -> WebResult<Response> {
    rows.extend((0..SPARE_ROWS).map(|_| Row {
        a: String::new(),
        b: String::new(),
        error_a: None,
        error_b: None,
    }));
    let status = if errors {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let ctx = context! { kind, rows => value(&rows), has_errors => errors, saved };
    page(state, staff, status, "office/list_form.html", ctx).await
}

/// Pair up the `a` and `b` columns, skipping rows left entirely empty.
fn rows_of(form: &FormData) -> Vec<(String, String)> {
    form.all("a")
        .into_iter()
        .zip(form.all("b"))
        .filter(|(a, b)| !(a.trim().is_empty() && b.trim().is_empty()))
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect()
}

async fn save_rows<T>(
    state: &Here,
    staff: &Staff,
    kind: &str,
    form: &FormData,
    parse: impl Fn(&str, &str) -> Result<T, FieldErrors>,
) -> WebResult<Result<Vec<T>, Response>> {
    let mut parsed = Vec::new();
    let mut rows = Vec::new();
    let mut bad = false;
    for (a, b) in rows_of(form) {
        match parse(&a, &b) {
            Ok(item) => {
                parsed.push(item);
                rows.push(Row {
                    a,
                    b,
                    error_a: None,
                    error_b: None,
                });
            }
            Err(errors) => {
                bad = true;
                let mut fields = errors.iter();
                let first = fields.next();
                let second = fields.next();
                let lookup = |wanted: &[&str]| {
                    [first, second]
                        .into_iter()
                        .flatten()
                        .find(|(f, _)| wanted.contains(f))
                        .map(|(_, m)| m.to_owned())
                };
                rows.push(Row {
                    error_a: lookup(&["label", "question"]),
                    error_b: lookup(&["url", "answer"]),
                    a,
                    b,
                });
            }
        }
    }
    if bad {
        return Ok(Err(show_rows(state, staff, kind, rows, true, false).await?));
    }
    Ok(Ok(parsed))
}

async fn links_form(state: Here, staff: Staff, Query(q): Query<Saved>) -> WebResult<Response> {
    let links = state.store().social_links(state.practice_id()).await?;
    let rows = links
        .into_iter()
        .map(|l| Row {
            a: l.label,
            b: l.url,
            error_a: None,
            error_b: None,
        })
        .collect();
    show_rows(&state, &staff, "links", rows, false, q.saved.is_some()).await
}

async fn save_links(state: Here, staff: Staff, form: FormData) -> WebResult<Response> {
    match save_rows(&state, &staff, "links", &form, SocialLink::parse).await? {
        Ok(links) => {
            state
                .store()
                .replace_social_links(state.practice_id(), &links)
                .await?;
            state.content_changed();
            Ok(done("/office/settings/links"))
        }
        Err(response) => Ok(response),
    }
}

async fn faq_form(state: Here, staff: Staff, Query(q): Query<Saved>) -> WebResult<Response> {
    let entries = state.store().faq(state.practice_id()).await?;
    let rows = entries
        .into_iter()
        .map(|e| Row {
            a: e.question,
            b: e.answer,
            error_a: None,
            error_b: None,
        })
        .collect();
    show_rows(&state, &staff, "faq", rows, false, q.saved.is_some()).await
}

async fn save_faq(state: Here, staff: Staff, form: FormData) -> WebResult<Response> {
    match save_rows(&state, &staff, "faq", &form, FaqEntry::parse).await? {
        Ok(entries) => {
            state
                .store()
                .replace_faq(state.practice_id(), &entries)
                .await?;
            state.content_changed();
            Ok(done("/office/settings/faq"))
        }
        Err(response) => Ok(response),
    }
}
