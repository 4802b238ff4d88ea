//! Booking settings: how booking behaves, weekly hours per location, breaks.

use axum::{
    extract::Path,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use domain::{
    FieldErrors, Slug,
    booking::{BookingMode, BookingSettings, parse_whole},
    practice::{AwayDates, OpeningHours, weekday_label},
};
use minijinja::{Value, context};
use serde::Serialize;
use store::AwayId;

use super::{
    Staff,
    clients::{PracticeView, clash_dates},
    errors_value, page,
    settings::{Field, Saved, checkbox, done, show, typed},
};
use crate::operations::change_break::{BreakEdit, ChangeBreakError, change_break};
use crate::query::Query;
use crate::{Here, WebError, error::WebResult, forms::FormData, templates::value};

crate::routing::routes! {
    GET "/office/settings/booking" => Staff: settings_form;
    POST "/office/settings/booking" => Staff(SettingsChanged): save_settings;
    GET "/office/settings/hours/{location}" => Staff: hours_form;
    POST "/office/settings/hours/{location}" => Staff(SettingsChanged): save_hours;
    GET "/office/settings/away" => Staff: away_list;
    POST "/office/settings/away" => Staff(SettingsChanged): add_away;
    POST "/office/settings/away/{id}/delete" => Staff(SettingsChanged): delete_away;
}

fn settings_fields(mode: &str, hold: &str, note: bool, reminder: &str) -> Vec<Field> {
    let options = [
        ("instant", "Booked straight away"),
        ("request", "Held as a request until I accept it"),
    ]
    .iter()
    .map(|(v, l)| ((*v).to_owned(), (*l).to_owned(), mode == *v))
    .collect();
    vec![
        Field {
            name: "mode",
            label: "When someone books a first consultation",
            hint: "",
            kind: "radios",
            value: String::new(),
            checked: false,
            options,
        },
        typed(
            "number",
            "request_hold_hours",
            "Hours a request holds its time",
            "After this, the time is released and the person is told.",
            hold,
        ),
        checkbox(
            "note_enabled",
            "Let people add a short note when they book",
            "They are asked not to include health details.",
            note,
        ),
        typed(
            "number",
            "reminder_hours",
            "Send a reminder this many hours before",
            "0 sends no reminder.",
            reminder,
        ),
    ]
}

async fn settings_form(state: Here, staff: Staff, Query(q): Query<Saved>) -> WebResult<Response> {
    let s = state.store().booking_settings(state.practice_id()).await?;
    let fields = settings_fields(
        s.mode.as_str(),
        &s.request_hold_hours.to_string(),
        s.note_enabled,
        &s.reminder_hours.to_string(),
    );
    show(
        &state,
        &staff,
        "Online booking",
        "/office/settings/booking",
        fields,
        None,
        q.saved.is_some(),
    )
    .await
}

async fn save_settings(state: Here, staff: Staff, form: FormData) -> WebResult<Response> {
    let mut e = FieldErrors::new();
    let mode = BookingMode::parse(form.get("mode"));
    if mode.is_none() {
        e.add("mode", "Choose what happens when someone books");
    }
    let hold = e.check(
        "request_hold_hours",
        parse_whole(form.get("request_hold_hours"), "the hours", 1..=336),
    );
    let reminder = e.check(
        "reminder_hours",
        parse_whole(form.get("reminder_hours"), "the hours", 0..=168),
    );
    match (mode, hold, reminder) {
        (Some(mode), Some(request_hold_hours), Some(reminder_hours)) if e.is_empty() => {
            let settings = BookingSettings {
                mode,
                request_hold_hours,
                note_enabled: form.has("note_enabled"),
                reminder_hours,
            };
            state
                .store()
                .update_booking_settings(state.practice_id(), &settings)
                .await?;
            state.content_changed();
            Ok(done("/office/settings/booking"))
        }
        _ => {
            let fields = settings_fields(
                form.get("mode"),
                form.get("request_hold_hours"),
                form.has("note_enabled"),
                form.get("reminder_hours"),
            );
            show(
                &state,
                &staff,
                "Online booking",
                "/office/settings/booking",
                fields,
                Some(&e),
                false,
            )
            .await
        }
    }
}

/// One row of the weekly hours form.
#[derive(Serialize)]
struct HoursRow {
    day: String,
    start: String,
    end: String,
    error: Option<String>,
}

const DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// Blank rows offered for new hours.
const SPARE: usize = 3;

async fn hours_page(
    state: &Here,
    staff: &Staff,
    location: &domain::practice::Location,
    mut rows: Vec<HoursRow>,
    errors: bool,
    saved: bool,
) -> WebResult<Response> {
    rows.extend((0..SPARE).map(|_| HoursRow {
        day: String::new(),
        start: String::new(),
        end: String::new(),
        error: None,
    }));
    let days: Vec<(&str, String)> = DAYS
        .iter()
        .map(|d| (*d, format!("{}{}", d[..1].to_uppercase(), &d[1..])))
        .collect();
    let status = if errors {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let ctx = context! { location => value(location), rows => value(&rows), days => value(&days), has_errors => errors, saved };
    page(state, staff, status, "office/hours_form.html", ctx).await
}

async fn find_location(state: &Here, raw: &str) -> WebResult<domain::practice::Location> {
    let slug = Slug::parse(raw).map_err(|_| WebError::NotFound)?;
    state
        .store()
        .locations(state.practice_id())
        .await?
        .into_iter()
        .find(|l| l.slug == slug)
        .ok_or(WebError::NotFound)
}

fn time_text(t: jiff::civil::Time) -> String {
    if t == jiff::civil::Time::MAX {
        "24:00".into()
    } else {
        format!("{:02}:{:02}", t.hour(), t.minute())
    }
}

async fn hours_form(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    Query(q): Query<Saved>,
) -> WebResult<Response> {
    let location = find_location(&state, &raw).await?;
    let rows = state
        .store()
        .opening_hours(state.practice_id())
        .await?
        .into_iter()
        .filter(|h| h.location == location.slug)
        .map(|h| HoursRow {
            day: weekday_label(h.weekday).to_lowercase(),
            start: time_text(h.start),
            end: time_text(h.end),
            error: None,
        })
        .collect();
    hours_page(&state, &staff, &location, rows, false, q.saved.is_some()).await
}

async fn save_hours(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let location = find_location(&state, &raw).await?;
    let days = form.all("day");
    let starts = form.all("start");
    let ends = form.all("end");
    let mut rows = Vec::new();
    let mut parsed = Vec::new();
    let mut bad = false;
    for ((day, start), end) in days.iter().zip(&starts).zip(&ends) {
        if day.trim().is_empty() && start.trim().is_empty() && end.trim().is_empty() {
            continue;
        }
        let row = |error: Option<String>| HoursRow {
            day: (*day).to_owned(),
            start: (*start).to_owned(),
            end: (*end).to_owned(),
            error,
        };
        match OpeningHours::parse(location.slug.clone(), day, start, end) {
            Ok(hours) => {
                parsed.push(hours);
                rows.push(row(None));
            }
            Err(errors) => {
                bad = true;
                let message = errors
                    .iter()
                    .map(|(_, m)| m.to_owned())
                    .collect::<Vec<_>>()
                    .join(". ");
                rows.push(row(Some(message)));
            }
        }
    }
    if bad {
        return hours_page(&state, &staff, &location, rows, true, false).await;
    }
    state
        .store()
        .replace_opening_hours(state.practice_id(), &location.slug, &parsed)
        .await?;
    state.content_changed();
    Ok(done(&format!("/office/settings/hours/{}", location.slug)))
}

#[derive(Serialize)]
struct AwayRow {
    id: AwayId,
    label: String,
    first: String,
    last: String,
}

async fn away_page(
    state: &Here,
    staff: &Staff,
    values: Value,
    errors: Option<&FieldErrors>,
    removal_error: Option<&str>,
) -> WebResult<Response> {
    let zone = jiff::tz::TimeZone::get(
        &state
            .store()
            .practice(state.practice_id())
            .await?
            .details
            .time_zone,
    )
    .map_err(|e| WebError::Internal(e.into()))?;
    let rows: Vec<AwayRow> = state
        .store()
        .away_periods(state.practice_id())
        .await?
        .into_iter()
        .map(|a| {
            let first = crate::words::weekday_date(zone.to_datetime(a.start).date());
            let last_instant = a
                .end
                .checked_sub(jiff::SignedDuration::from_secs(1))
                .unwrap_or(a.end);
            let last = crate::words::weekday_date(zone.to_datetime(last_instant).date());
            AwayRow {
                id: a.id,
                label: a.label,
                first,
                last,
            }
        })
        .collect();
    let (list, map) = errors.map_or((Value::UNDEFINED, Value::UNDEFINED), errors_value);
    let status = if removal_error.is_some() {
        StatusCode::CONFLICT
    } else if errors.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let notice_days = state
        .store()
        .therapy_settings(state.practice_id())
        .await?
        .break_notice_days;
    let ctx = context! {
        rows => value(&rows), values, errors => list, error => map, notice_days, removal_error,
    };
    page(state, staff, status, "office/away.html", ctx).await
}

async fn away_list(state: Here, staff: Staff) -> WebResult<Response> {
    away_page(&state, &staff, context! {}, None, None).await
}

async fn add_away(state: Here, staff: Staff, form: FormData) -> WebResult<Response> {
    let errors = match AwayDates::parse(
        form.get("label"),
        form.get("first_day"),
        form.get("last_day"),
    ) {
        Ok(away) => {
            let zone = jiff::tz::TimeZone::get(
                &state
                    .store()
                    .practice(state.practice_id())
                    .await?
                    .details
                    .time_zone,
            )
            .map_err(|e| WebError::Internal(e.into()))?;
            let mut errors = FieldErrors::new();
            match away.instants(&zone) {
                None => errors.add(
                    "first_day",
                    "These dates cannot be used in the practice's time zone. Check the year",
                ),
                Some((start, end)) => {
                    let edit = BreakEdit::Add {
                        label: away.label.clone(),
                        start,
                        end,
                    };
                    match change_break(&state, edit).await {
                        Ok(_) => return Ok(Redirect::to("/office/settings/away").into_response()),
                        Err(ChangeBreakError::Clash(starts)) => {
                            errors.add(
                                "first_day",
                                break_clash_message(&state, &starts, true).await?,
                            );
                        }
                        // Only a removal can find its break gone.
                        Err(ChangeBreakError::NotFound) => return Err(WebError::NotFound),
                        Err(ChangeBreakError::Web(error)) => return Err(error),
                    }
                }
            }
            errors
        }
        Err(errors) => errors,
    };
    away_page(&state, &staff, value(&form.values()), Some(&errors), None).await
}

async fn delete_away(state: Here, staff: Staff, Path(raw): Path<String>) -> WebResult<Response> {
    let id = AwayId::parse(&raw).ok_or(WebError::NotFound)?;
    match change_break(&state, BreakEdit::Remove(id)).await {
        Ok(_) => Ok(Redirect::to("/office/settings/away").into_response()),
        // Not this practice's break, or not there any more: as before, a plain 404.
        Err(ChangeBreakError::NotFound) => Err(WebError::NotFound),
        Err(ChangeBreakError::Clash(starts)) => {
            let message = break_clash_message(&state, &starts, false).await?;
            away_page(&state, &staff, context! {}, None, Some(&message)).await
        }
        Err(ChangeBreakError::Web(error)) => Err(error),
    }
}

/// Why a break could not be added (`adding`) or removed, in the therapist's words: the
/// sessions that would clash, and what to do.
async fn break_clash_message(
    state: &Here,
    starts: &[jiff::Timestamp],
    adding: bool,
) -> WebResult<String> {
    let what = if adding {
        "Adding this break"
    } else {
        "Removing this break"
    };
    let clash = if starts.is_empty() {
        "would put a session at the same time as another appointment".to_owned()
    } else {
        let view = PracticeView::load(state).await?;
        let (dates, _) = clash_dates(&view, starts);
        format!("plans the work again, and {dates} would clash with another appointment")
    };
    Ok(format!(
        "{what} {clash}. Nothing has been changed. Move that appointment first, then try again"
    ))
}
