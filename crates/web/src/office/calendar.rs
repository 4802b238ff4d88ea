//! The therapist's calendar and consultations: week and day views across all locations,
//! and accepting, declining or cancelling a booking on the visitor's behalf.

use axum::{
    extract::Path,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use domain::booking::BookingStatus;
use domain::therapy::{ContractKind, policy::Outcome};
use jiff::{Timestamp, ToSpan, civil::Date, tz::TimeZone};
use minijinja::context;
use serde::{Deserialize, Serialize};
use store::{Booking, BookingId, ConflictKind, ContractId, Session, SessionStatus, StoreError};

use super::{Staff, page};
use crate::operations::accept_consultation::{AcceptError, accept_consultation};
use crate::query::Query;
use crate::{
    Here, WebError,
    booking::{Offer, messages, time_label},
    error::WebResult,
    forms::FormData,
    templates::value,
};

crate::routing::routes! {
    GET "/office/calendar" => Staff: calendar;
    GET "/office/bookings/{id}" => Staff(ConsultationViewed): booking;
    POST "/office/bookings/{id}/accept" => Staff(ConsultationChanged): accept;
    GET "/office/bookings/{id}/decline" => Staff(ConsultationViewed): decline_form;
    POST "/office/bookings/{id}/decline" => Staff(ConsultationChanged): decline;
    GET "/office/bookings/{id}/cancel" => Staff(ConsultationViewed): cancel_form;
    POST "/office/bookings/{id}/cancel" => Staff(ConsultationChanged): cancel;
    GET "/office/bookings/{id}/move" => Staff(ConsultationViewed): move_times;
    GET "/office/bookings/{id}/move/confirm" => Staff(ConsultationViewed): move_confirm;
    POST "/office/bookings/{id}/move/confirm" => Staff(ConsultationChanged): move_booking;
}

#[derive(Deserialize)]
pub(super) struct CalendarQuery {
    view: Option<String>,
    date: Option<String>,
}

/// A consultation or a session as the calendar shows it.
#[derive(Serialize)]
pub(super) struct Entry {
    href: String,
    #[serde(skip)]
    start: Timestamp,
    /// "Consultation", "Session 4 of 12", "Session 37".
    what: String,
    day: String,
    time: String,
    location: String,
    /// 1-based position of the location, for its colour (always shown with its name too).
    colour: usize,
    initials: String,
    status: &'static str,
    status_label: &'static str,
}

pub(crate) fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().next())
        .flat_map(char::to_uppercase)
        .map(|c| format!("{c}."))
        .collect()
}

fn status_label(status: BookingStatus) -> &'static str {
    match status {
        BookingStatus::Confirmed => "Booked",
        BookingStatus::Requested => "Request",
        BookingStatus::Cancelled => "Cancelled",
        BookingStatus::Declined => "Declined",
        BookingStatus::Expired => "Expired",
    }
}

/// The parts of an entry every kind shares: when, where and its colour.
fn placed(
    offer: &Offer,
    zone: &TimeZone,
    (start, end): (Timestamp, Timestamp),
    location: &domain::Slug,
) -> (String, String, String, usize) {
    let from = start.to_zoned_datetime(zone.clone());
    let to = end.to_zoned_datetime(zone.clone());
    let position = offer.locations.iter().position(|l| &l.slug == location);
    (
        crate::words::weekday_day_month(from.date()),
        format!("{}–{}", time_label(&from), time_label(&to)),
        position.map_or_else(|| location.to_string(), |i| offer.locations[i].name.clone()),
        position.map_or(0, |i| i + 1),
    )
}

pub(super) fn entry(offer: &Offer, zone: &TimeZone, b: &Booking) -> Entry {
    let (day, time, location, colour) = placed(offer, zone, (b.start, b.end), &b.location);
    Entry {
        href: format!("/office/bookings/{}", b.id),
        start: b.start,
        what: "Consultation".to_owned(),
        day,
        time,
        location,
        colour,
        initials: initials(b.visitor.name.as_str()),
        status: b.status.as_str(),
        status_label: status_label(b.status),
    }
}

/// How many sessions each active brief contract has, for "Session 4 of 12".
pub(super) async fn brief_totals(
    state: &Here,
) -> WebResult<std::collections::HashMap<ContractId, u32>> {
    Ok(state
        .store()
        .active_contracts(state.practice_id())
        .await?
        .into_iter()
        .filter_map(|c| match c.current().terms.kind {
            ContractKind::Brief { sessions, .. } => Some((c.id, sessions)),
            ContractKind::OpenEnded { .. } => None,
        })
        .collect())
}

pub(super) fn session_entry(
    offer: &Offer,
    zone: &TimeZone,
    s: &Session,
    totals: &std::collections::HashMap<ContractId, u32>,
) -> Entry {
    let (day, time, location, colour) = placed(offer, zone, (s.start, s.end), &s.location);
    let what = match (s.number, totals.get(&s.contract)) {
        (Some(n), Some(total)) => format!("Session {n} of {total}"),
        (Some(n), None) => format!("Session {n}"),
        (None, _) => "Session".to_owned(),
    };
    Entry {
        href: format!("/office/sessions/{}", s.id),
        start: s.start,
        what,
        day,
        time,
        location,
        colour,
        initials: initials(s.client_name.as_str()),
        status: match s.status {
            SessionStatus::Scheduled => "confirmed",
            SessionStatus::Break => "cancelled",
            SessionStatus::Done(outcome) => match outcome {
                Outcome::Attended | Outcome::LateCancellation | Outcome::DidNotAttend => "held",
                Outcome::CancelledInTime | Outcome::CancelledByTherapist => "cancelled",
            },
        },
        status_label: match s.status {
            SessionStatus::Break => "Not happening (break)",
            other => other.label(),
        },
    }
}

#[derive(Serialize)]
struct Day {
    label: String,
    date: String,
    today: bool,
    away: Vec<String>,
    entries: Vec<Entry>,
}

fn start_of(date: Date, zone: &TimeZone) -> WebResult<Timestamp> {
    Ok(date
        .to_zoned_datetime(zone.clone())
        .map_err(|e| WebError::Internal(e.into()))?
        .timestamp())
}

async fn calendar(
    state: Here,
    staff: Staff,
    Query(q): Query<CalendarQuery>,
) -> WebResult<Response> {
    let offer = Offer::load(&state).await?;
    let zone = offer.zone.clone();
    let now = state.now();
    let today = offer.today(now);
    let date = match q.date.as_deref() {
        None | Some("") => today,
        Some(raw) => raw.parse::<Date>().map_err(|_| WebError::NotFound)?,
    };
    let week = q.view.as_deref() != Some("day");
    let first = if week {
        date.checked_sub(i64::from(date.weekday().to_monday_zero_offset()).days())
            .unwrap_or(date)
    } else {
        date
    };
    let count: i64 = if week { 7 } else { 1 };
    let after = first.checked_add(count.days()).unwrap_or(first);
    let bookings = state
        .store()
        .bookings_between(
            state.practice_id(),
            start_of(first, &zone)?,
            start_of(after, &zone)?,
        )
        .await?;
    let sessions = state
        .store()
        .sessions_between(
            state.practice_id(),
            start_of(first, &zone)?,
            start_of(after, &zone)?,
        )
        .await?;
    let totals = brief_totals(&state).await?;
    let mut entries: Vec<Entry> = bookings
        .iter()
        .map(|b| entry(&offer, &zone, b))
        .chain(
            sessions
                .iter()
                .map(|s| session_entry(&offer, &zone, s, &totals)),
        )
        .collect();
    entries.sort_by_key(|e| e.start);
    let away = state.store().away_periods(state.practice_id()).await?;
    let mut days = Vec::new();
    for offset in 0..count {
        let day = first.checked_add(offset.days()).unwrap_or(first);
        let (from, to) = (
            start_of(day, &zone)?,
            start_of(day.tomorrow().unwrap_or(day), &zone)?,
        );
        days.push(Day {
            label: crate::words::weekday_day_month(day),
            date: day.to_string(),
            today: day == today,
            away: away
                .iter()
                .filter(|a| a.start < to && a.end > from)
                .map(|a| a.label.clone())
                .collect(),
            entries: entries
                .extract_if(.., |e| e.start >= from && e.start < to)
                .collect(),
        });
    }
    let step: i64 = if week { 7 } else { 1 };
    let previous = first.checked_sub(step.days()).unwrap_or(first);
    let next = first.checked_add(step.days()).unwrap_or(first);
    let view = if week { "week" } else { "day" };
    let heading = if week {
        format!("Week of {}", crate::words::date(first))
    } else {
        crate::words::weekday_date(date)
    };
    let legend: Vec<(usize, String)> = offer
        .locations
        .iter()
        .enumerate()
        .map(|(i, l)| (i + 1, l.name.clone()))
        .collect();
    let ctx = context! {
        days => value(&days),
        heading,
        view,
        previous => format!("/office/calendar?view={view}&date={previous}"),
        next => format!("/office/calendar?view={view}&date={next}"),
        this => format!("/office/calendar?view={view}"),
        other_view => if week { format!("/office/calendar?view=day&date={date}") } else { format!("/office/calendar?view=week&date={date}") },
        legend => value(&legend),
    };
    page(&state, &staff, StatusCode::OK, "office/calendar.html", ctx).await
}

async fn load(state: &Here, raw: &str) -> WebResult<(std::sync::Arc<Offer>, Booking)> {
    let id = BookingId::parse(raw).ok_or(WebError::NotFound)?;
    let booking = state.store().booking(state.practice_id(), id).await?;
    Ok((Offer::load(state).await?, booking))
}

async fn booking(state: Here, staff: Staff, Path(raw): Path<String>) -> WebResult<Response> {
    let (offer, booking) = load(&state, &raw).await?;
    let location = offer.location(booking.location.as_str())?;
    let ctx = context! {
        booking => value(&booking),
        when => offer.when(booking.start),
        where => Offer::where_text(location),
        status_label => status_label(booking.status),
        past => booking.start <= state.now(),
    };
    page(&state, &staff, StatusCode::OK, "office/booking.html", ctx).await
}

async fn accept(state: Here, _staff: Staff, Path(raw): Path<String>) -> WebResult<Response> {
    let id = BookingId::parse(&raw).ok_or(WebError::NotFound)?;
    match accept_consultation(&state, id).await {
        // Answered already (a second click, or it expired): the page says how it stands.
        Ok(_) | Err(AcceptError::NotRequested) => {}
        Err(AcceptError::Web(error)) => return Err(error),
    }
    Ok(Redirect::to(&format!("/office/bookings/{id}")).into_response())
}

async fn words_form(
    state: &Here,
    staff: &Staff,
    booking: &Booking,
    offer: &Offer,
    cancelling: bool,
    words: String,
    error: Option<&str>,
) -> WebResult<Response> {
    let ctx = context! {
        booking => value(booking),
        when => offer.when(booking.start),
        cancelling,
        words,
        error,
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page(state, staff, status, "office/booking_words.html", ctx).await
}

async fn decline_form(state: Here, staff: Staff, Path(raw): Path<String>) -> WebResult<Response> {
    let (offer, booking) = load(&state, &raw).await?;
    let words = messages::default_decline_words(&offer, &booking);
    words_form(&state, &staff, &booking, &offer, false, words, None).await
}

async fn cancel_form(state: Here, staff: Staff, Path(raw): Path<String>) -> WebResult<Response> {
    let (offer, booking) = load(&state, &raw).await?;
    let words = messages::default_cancel_words(&offer, &booking);
    words_form(&state, &staff, &booking, &offer, true, words, None).await
}

async fn finish(
    state: &Here,
    staff: &Staff,
    raw: &str,
    form: &FormData,
    cancelling: bool,
) -> WebResult<Response> {
    let (offer, booking) = load(state, raw).await?;
    let allowed = if cancelling {
        booking.status.is_active()
    } else {
        booking.status == BookingStatus::Requested
    };
    if !allowed {
        return Ok(Redirect::to(&format!("/office/bookings/{}", booking.id)).into_response());
    }
    let words = match domain::text::parse_text(form.get("words"), "a message to send", 3000, true) {
        Ok(words) => words,
        Err(error) => {
            return words_form(
                state,
                staff,
                &booking,
                &offer,
                cancelling,
                form.get("words").to_owned(),
                Some(&error.0),
            )
            .await;
        }
    };
    let now = state.now();
    let outgoing = messages::declined_or_cancelled(&offer, &booking, cancelling, &words, now);
    let status = if cancelling {
        BookingStatus::Cancelled
    } else {
        BookingStatus::Declined
    };
    match state
        .store()
        .set_booking_status(state.practice_id(), booking.id, status, &outgoing, now)
        .await
    {
        Ok(_) | Err(StoreError::NotFound) => {}
        Err(other) => return Err(other.into()),
    }
    state.booking_changed();
    Ok(Redirect::to(&format!("/office/bookings/{}", booking.id)).into_response())
}

async fn decline(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    finish(&state, &staff, &raw, &form, false).await
}

async fn cancel(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    finish(&state, &staff, &raw, &form, true).await
}

/// What the dashboard shows.
pub(super) struct Upcoming {
    /// Today's consultations and sessions, in order.
    pub today: Vec<Entry>,
    /// Consultations in the next two weeks.
    pub soon: Vec<Entry>,
    /// Requests waiting for an answer.
    pub requests: Vec<Entry>,
}

/// Today, upcoming consultations and open requests (next two weeks), for the dashboard.
pub(super) async fn upcoming(state: &Here) -> WebResult<Upcoming> {
    let Ok(offer) = Offer::load(state).await else {
        return Ok(Upcoming {
            today: Vec::new(),
            soon: Vec::new(),
            requests: Vec::new(),
        });
    };
    let now = state.now();
    let zone = &offer.zone;
    let until = now
        .checked_add(jiff::SignedDuration::from_hours(24 * 14))
        .unwrap_or(now);
    let bookings = state
        .store()
        .bookings_between(state.practice_id(), now, until)
        .await?;
    let (requests, soon): (Vec<&Booking>, Vec<&Booking>) = bookings
        .iter()
        .filter(|b| b.status.is_active())
        .partition(|b| b.status == BookingStatus::Requested);
    let to_entries = |list: Vec<&Booking>| -> Vec<Entry> {
        list.into_iter().map(|b| entry(&offer, zone, b)).collect()
    };
    let day = offer.today(now);
    let (from, to) = (
        start_of(day, zone)?,
        start_of(day.tomorrow().unwrap_or(day), zone)?,
    );
    let totals = brief_totals(state).await?;
    let mut today: Vec<Entry> = state
        .store()
        .bookings_between(state.practice_id(), from, to)
        .await?
        .iter()
        .filter(|b| b.status.is_active())
        .map(|b| entry(&offer, zone, b))
        .chain(
            state
                .store()
                .sessions_between(state.practice_id(), from, to)
                .await?
                .iter()
                .filter(|s| s.status != SessionStatus::Break)
                .map(|s| session_entry(&offer, zone, s, &totals)),
        )
        .collect();
    today.sort_by_key(|e| e.start);
    Ok(Upcoming {
        today,
        soon: to_entries(soon),
        requests: to_entries(requests),
    })
}

#[derive(Deserialize)]
pub(super) struct MoveQuery {
    location: Option<String>,
    from: Option<String>,
    start: Option<String>,
}

/// Free times to move a consultation to (the therapist is not bound by the notice period
/// for visitors, but the engine still keeps buffers, travel and breaks).
async fn move_times(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    Query(q): Query<MoveQuery>,
) -> WebResult<Response> {
    let (offer, booking) = load(&state, &raw).await?;
    if !booking.status.is_active() {
        return Ok(Redirect::to(&format!("/office/bookings/{}", booking.id)).into_response());
    }
    let location = offer.location(q.location.as_deref().unwrap_or(booking.location.as_str()))?;
    let today = offer.today(state.now());
    let from = match q.from.as_deref() {
        None | Some("") => today,
        Some(raw) => raw
            .parse::<Date>()
            .map_err(|_| WebError::NotFound)?
            .max(today),
    };
    let to = from.checked_add(13.days()).unwrap_or(from);
    let slots = offer.slots(&state, Some(&location.slug), from, to).await?;
    let id = booking.id;
    let days = crate::booking::by_day(
        &offer,
        slots.iter().filter(|s| s.start != booking.start),
        |slot| {
            format!(
                "/office/bookings/{id}/move/confirm?location={}&start={}",
                slot.location, slot.start
            )
        },
    );
    let others: Vec<(String, String)> = offer
        .locations
        .iter()
        .filter(|l| l.slug != location.slug)
        .map(|l| {
            (
                l.name.clone(),
                format!("/office/bookings/{}/move?location={}", booking.id, l.slug),
            )
        })
        .collect();
    let later = format!(
        "/office/bookings/{}/move?location={}&from={}",
        booking.id,
        location.slug,
        to.tomorrow().unwrap_or(to)
    );
    let ctx = context! {
        booking => value(&booking),
        when => offer.when(booking.start),
        location => value(location),
        days => value(&days),
        others => value(&others),
        later,
    };
    page(&state, &staff, StatusCode::OK, "office/move.html", ctx).await
}

async fn move_confirm(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    Query(q): Query<MoveQuery>,
) -> WebResult<Response> {
    let (offer, booking) = load(&state, &raw).await?;
    let location = offer.location(q.location.as_deref().unwrap_or(""))?;
    let slot =
        crate::booking::flow::slot_from(&offer, &location.slug, q.start.as_deref().unwrap_or(""))?;
    let ctx = context! {
        title => "Move this consultation?",
        text => format!("From {} to {}, {}. {} will be emailed the new time and a calendar update.", offer.when(booking.start), offer.when(slot.start), Offer::where_text(location), booking.visitor.name),
        action => format!("/office/bookings/{}/move/confirm", booking.id),
        location => location.slug.as_str(),
        start => slot.start.to_string(),
        back => format!("/office/bookings/{}", booking.id),
    };
    page(
        &state,
        &staff,
        StatusCode::OK,
        "office/move_confirm.html",
        ctx,
    )
    .await
}

async fn move_booking(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let (offer, booking) = load(&state, &raw).await?;
    if !booking.status.is_active() {
        return Ok(Redirect::to(&format!("/office/bookings/{}", booking.id)).into_response());
    }
    let location = offer.location(form.get("location"))?;
    let slot = crate::booking::flow::slot_from(&offer, &location.slug, form.get("start"))?;
    let now = state.now();
    let outgoing = messages::moved(&state, &offer, &booking, &slot, None, now);
    match state
        .store()
        .move_booking(
            state.practice_id(),
            booking.id,
            &location.slug,
            slot.start,
            slot.end,
            &outgoing,
            offer.recheck(&slot, now),
            now,
        )
        .await
    {
        Ok(_) => {
            state.booking_changed();
            Ok(Redirect::to(&format!("/office/bookings/{}", booking.id)).into_response())
        }
        Err(StoreError::Conflict(ConflictKind::SlotUnavailable)) => {
            let ctx = context! {
                title => "That time has just gone",
                text => "Someone booked it a moment ago. The consultation has not been moved.",
                back => format!("/office/bookings/{}/move", booking.id),
            };
            page(
                &state,
                &staff,
                StatusCode::CONFLICT,
                "office/move_confirm.html",
                ctx,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}
