//! Practice settings: profile, photos, details, locations, fees and policies, privacy, links,
//! FAQ.
//!
//! Most sections are one form described by a list of [`Field`]s and rendered by one
//! template; each parses into its domain type, and only a fully valid form is saved.

mod appointment_types;
mod details;
mod lists;
mod locations;
mod look;
mod photos;
mod policies;
mod privacy;
mod profile;

/// The settings forms' readers, for the fuzz targets (`crate::fuzzing`).
pub(crate) use self::{
    appointment_types::booking_raw, lists::rows_of, locations::location_raw, profile::profile_raw,
};
use self::{
    appointment_types::*, details::*, lists::*, locations::*, look::*, photos::*, policies::*,
    privacy::*, profile::*,
};
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
    GET "/office/settings/look" => Staff: look_form;
    POST "/office/settings/look" => Staff(SettingsChanged): save_look;
    GET "/office/settings/look/preview/{theme}" => Staff: preview_look;
    GET "/office/settings/photos" => Staff: photos_page;
    GET "/office/settings/photos/portrait" => Staff: portrait_form;
    POST "/office/settings/photos/portrait" => Staff(SettingsChanged): upload_portrait;
    GET "/office/settings/photos/rooms/{slug}" => Staff: room_form;
    POST "/office/settings/photos/rooms/{slug}" => Staff(SettingsChanged): upload_room;
    GET "/office/settings/photos/{key}" => Staff: photo_form;
    POST "/office/settings/photos/{key}" => Staff(SettingsChanged): save_photo;
    POST "/office/settings/photos/{key}/delete" => Staff(SettingsChanged): delete_photo;
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

/// A form's errors as its template takes them (a list for the summary, a map for the
/// fields), and the status to answer with: 422 when there are any.
pub(super) fn form_errors(errors: Option<&FieldErrors>) -> (Value, Value, StatusCode) {
    match errors {
        Some(errors) => {
            let (list, map) = errors_value(errors);
            (list, map, StatusCode::UNPROCESSABLE_ENTITY)
        }
        None => (Value::UNDEFINED, Value::UNDEFINED, StatusCode::OK),
    }
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
    let (list, map, status) = form_errors(errors);
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
