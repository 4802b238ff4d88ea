//! The visitor's steps: where → when → your details → check → booked.

use std::net::SocketAddr;

use axum::{
    extract::ConnectInfo,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use domain::{
    Slug,
    availability::Slot,
    booking::{BookingMode, BookingStatus, DetailsForm, VisitorDetails},
};
use jiff::{Timestamp, ToSpan, civil::Date};
use minijinja::{Value, context};
use serde::Deserialize;
use store::{ConflictKind, NewBooking, StoreError};

use super::{DAYS_PER_PAGE, Offer, SlotLink, by_day, duration_words, messages};
use crate::query::Query;
use crate::secret_token::SecretToken;
use crate::{
    Here, WebError,
    error::WebResult,
    forms::FormData,
    limits::{Limit, Subject},
    render::{html, render},
    security::client_ip,
    templates::value,
};

#[derive(Deserialize)]
pub(crate) struct Choice {
    location: Option<String>,
    from: Option<String>,
    start: Option<String>,
}

fn slot_href(slot: &Slot) -> String {
    format!(
        "/book/details?location={}&start={}",
        slot.location, slot.start
    )
}

async fn page(
    state: &Here,
    status: StatusCode,
    template: &str,
    path: &str,
    ctx: Value,
) -> WebResult<Response> {
    let body = render(state, template, path, ctx).await?;
    Ok(html(status, body))
}

pub(crate) async fn choose_location(
    state: Here,
    Query(choice): Query<Choice>,
) -> WebResult<Response> {
    let offer = match Offer::load(&state).await {
        Ok(offer) => offer,
        // Nothing can be booked online yet: the enquiry form is the way in.
        Err(WebError::NotFound) => return Ok(Redirect::to("/contact").into_response()),
        Err(other) => return Err(other),
    };
    let ctx = context! {
        kind => value(&offer.kind),
        locations => value(&offer.locations),
        selected => choice.location,
    };
    page(
        &state,
        StatusCode::OK,
        "booking/location.html",
        "/book",
        ctx,
    )
    .await
}

pub(crate) async fn times(state: Here, Query(choice): Query<Choice>) -> WebResult<Response> {
    let offer = Offer::load(&state).await?;
    let Some(location) = choice
        .location
        .as_deref()
        .and_then(|l| offer.location(l).ok())
    else {
        let ctx = context! {
            kind => value(&offer.kind),
            locations => value(&offer.locations),
            error => "Choose how you would like to meet",
        };
        return page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "booking/location.html",
            "/book",
            ctx,
        )
        .await;
    };
    let now = state.now();
    let today = offer.today(now);
    let last = offer.last_day(now);
    let from = match choice.from.as_deref() {
        None | Some("") => today,
        Some(raw) => raw
            .parse::<Date>()
            .map_err(|_| WebError::NotFound)?
            .max(today),
    };
    let to = from
        .checked_add((DAYS_PER_PAGE - 1).days())
        .unwrap_or(from)
        .min(last);
    let slots = if from <= last {
        offer.slots(&state, Some(&location.slug), from, to).await?
    } else {
        Vec::new()
    };
    let days = by_day(&offer, &slots, slot_href);
    let base = format!("/book/times?location={}", location.slug);
    let earlier = (from > today).then(|| {
        let back = from
            .checked_sub(DAYS_PER_PAGE.days())
            .unwrap_or(today)
            .max(today);
        if back == today {
            base.clone()
        } else {
            format!("{base}&from={back}")
        }
    });
    let later = (to < last).then(|| format!("{base}&from={}", to.tomorrow().unwrap_or(to)));
    let ctx = context! {
        location => value(location),
        days => value(&days),
        earlier,
        later,
        others => offer.locations.len() > 1,
    };
    page(
        &state,
        StatusCode::OK,
        "booking/times.html",
        "/book/times",
        ctx,
    )
    .await
}

/// The requested slot from `location` and `start`, whether or not it is still free.
pub(crate) fn requested_slot(offer: &Offer, location: &str, start: &str) -> WebResult<Slot> {
    let location = offer.location(location)?;
    let start = start
        .trim()
        .parse::<Timestamp>()
        .map_err(|_| WebError::NotFound)?;
    Ok(offer.slot_at(location, start))
}

/// Up to four free times at the same location nearest to `wanted` (the form and the API
/// offer these when the chosen time has gone).
pub(crate) async fn nearby_slots(
    state: &Here,
    offer: &Offer,
    wanted: &Slot,
) -> WebResult<Vec<Slot>> {
    let day = wanted.start.to_zoned_datetime(offer.zone.clone()).date();
    let from = day
        .checked_sub(3.days())
        .unwrap_or(day)
        .max(offer.today(state.now()));
    let to = day.checked_add(7.days()).unwrap_or(day);
    let mut near = offer.slots(state, Some(&wanted.location), from, to).await?;
    near.sort_by_key(|s| (s.start.as_second() - wanted.start.as_second()).abs());
    near.truncate(4);
    Ok(near)
}

/// Nearby free times at the same location, for when the chosen one has gone.
pub(crate) async fn alternatives(
    state: &Here,
    offer: &Offer,
    wanted: &Slot,
) -> WebResult<Vec<SlotLink>> {
    Ok(nearby_slots(state, offer, wanted)
        .await?
        .iter()
        .map(|s| SlotLink {
            label: offer.when(s.start),
            href: slot_href(s),
        })
        .collect())
}

async fn taken(state: &Here, offer: &Offer, slot: &Slot) -> WebResult<Response> {
    let location = offer.location(slot.location.as_str())?;
    let ctx = context! {
        when => offer.when(slot.start),
        location => value(location),
        alternatives => value(&alternatives(state, offer, slot).await?),
    };
    page(
        state,
        StatusCode::CONFLICT,
        "booking/taken.html",
        "/book",
        ctx,
    )
    .await
}

pub(crate) async fn is_offered(state: &Here, offer: &Offer, slot: &Slot) -> WebResult<bool> {
    let day = slot.start.to_zoned_datetime(offer.zone.clone()).date();
    let slots = offer.slots(state, Some(&slot.location), day, day).await?;
    Ok(slots.contains(slot))
}

async fn details_page(
    state: &Here,
    offer: &Offer,
    slot: &Slot,
    values: Value,
    errors: Option<domain::FieldErrors>,
) -> WebResult<Response> {
    let location = offer.location(slot.location.as_str())?;
    let (status, errors) = match errors {
        Some(errors) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Value::from(
                errors
                    .iter()
                    .map(|(field, message)| context! { field, message })
                    .collect::<Vec<_>>(),
            ),
        ),
        None => (StatusCode::OK, Value::UNDEFINED),
    };
    let ctx = context! {
        location => value(location),
        start => slot.start.to_string(),
        when => offer.when(slot.start),
        where => Offer::where_text(location),
        values,
        errors,
        note_enabled => offer.settings.note_enabled,
    };
    page(state, status, "booking/details.html", "/book/details", ctx).await
}

pub(crate) async fn details_form(state: Here, Query(choice): Query<Choice>) -> WebResult<Response> {
    let offer = Offer::load(&state).await?;
    let slot = requested_slot(
        &offer,
        choice.location.as_deref().unwrap_or(""),
        choice.start.as_deref().unwrap_or(""),
    )?;
    if !is_offered(&state, &offer, &slot).await? {
        return taken(&state, &offer, &slot).await;
    }
    details_page(&state, &offer, &slot, context! {}, None).await
}

fn details_of<'a>(form: &'a FormData) -> DetailsForm<'a> {
    DetailsForm {
        name: form.get("name"),
        email: form.get("email"),
        phone: form.get("phone"),
        contact_preference: form.get("contact_preference"),
        note: form.get("note"),
        consent: form.has("consent"),
    }
}

fn kept_values(form: &FormData) -> Value {
    let consent = form.has("consent");
    context! { consent, ..value(&form.values()) }
}

/// "Change your details" from the check page: the details form, filled in.
pub(crate) async fn details_again(state: Here, form: FormData) -> WebResult<Response> {
    let offer = Offer::load(&state).await?;
    let slot = requested_slot(&offer, form.get("location"), form.get("start"))?;
    details_page(&state, &offer, &slot, kept_values(&form), None).await
}

pub(crate) async fn check(state: Here, form: FormData) -> WebResult<Response> {
    let offer = Offer::load(&state).await?;
    let slot = requested_slot(&offer, form.get("location"), form.get("start"))?;
    let visitor = match VisitorDetails::parse(&details_of(&form), offer.settings.note_enabled) {
        Ok(visitor) => visitor,
        Err(errors) => {
            return details_page(&state, &offer, &slot, kept_values(&form), Some(errors)).await;
        }
    };
    if !is_offered(&state, &offer, &slot).await? {
        return taken(&state, &offer, &slot).await;
    }
    let location = offer.location(slot.location.as_str())?;
    let mut hidden: Vec<(&str, String)> = vec![
        ("location", slot.location.to_string()),
        ("start", slot.start.to_string()),
        ("name", visitor.name.to_string()),
        ("email", visitor.email.to_string()),
        (
            "phone",
            visitor
                .phone
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        ),
        (
            "contact_preference",
            visitor.contact_preference.as_str().to_owned(),
        ),
        ("note", visitor.note.clone().unwrap_or_default()),
    ];
    hidden.push(("consent", "true".to_owned()));
    let key: String = rand::random::<[u8; 16]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let ctx = context! {
        when => offer.when(slot.start),
        where => Offer::where_text(location),
        kind => value(&offer.kind),
        visitor => value(&visitor),
        hidden => value(&hidden),
        idempotency_key => key,
        mode => offer.settings.mode.as_str(),
        cutoff => duration_words(offer.kind.booking.notice_minutes),
    };
    page(
        &state,
        StatusCode::OK,
        "booking/check.html",
        "/book/check",
        ctx,
    )
    .await
}

pub(crate) async fn confirm(
    state: Here,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: FormData,
) -> WebResult<Response> {
    let ip = client_ip(&state, &headers, peer);
    // Counted before the booking is made, so bookings sent all at once cannot each find
    // the count under the limit; only a booking made keeps its place.
    let held = state.reserve(Limit::Booking, Subject::Network(ip)).await?;
    let prepared = async {
        let offer = Offer::load(&state).await?;
        let slot = requested_slot(&offer, form.get("location"), form.get("start"))?;
        Ok::<_, WebError>((offer, slot))
    }
    .await;
    let (offer, slot) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => {
            held.release(&state).await?;
            return Err(error);
        }
    };
    let visitor = match VisitorDetails::parse(&details_of(&form), offer.settings.note_enabled) {
        Ok(visitor) => visitor,
        Err(errors) => {
            held.release(&state).await?;
            return details_page(&state, &offer, &slot, kept_values(&form), Some(errors)).await;
        }
    };
    let key = form.get("idempotency_key");
    let made = make_booking(&state, &offer, &slot, visitor, key).await;
    if !matches!(made, Ok(Made::New { .. })) {
        held.release(&state).await?;
    }
    match made {
        Ok(Made::New { token, .. }) => {
            Ok(Redirect::to(&format!("/booking/{token}?new=1")).into_response())
        }
        // A retried submission: the booking was made the first time; its link was sent then.
        Ok(Made::Earlier(_)) => Ok(Redirect::to("/book/already").into_response()),
        Err(StoreError::Conflict(ConflictKind::SlotUnavailable)) => {
            taken(&state, &offer, &slot).await
        }
        Err(other) => Err(other.into()),
    }
}

/// A slot given in a URL, for moving a booking.
pub(crate) fn slot_from(offer: &Offer, location: &Slug, start: &str) -> WebResult<Slot> {
    requested_slot(offer, location.as_str(), start)
}

pub(crate) async fn already(state: Here) -> WebResult<Response> {
    page(
        &state,
        StatusCode::OK,
        "booking/already.html",
        "/book/already",
        context! {},
    )
    .await
}

/// What [`make_booking`] did.
pub(crate) enum Made {
    /// A new booking, with the manage token (only ever known at this moment).
    New {
        booking: Box<store::Booking>,
        token: SecretToken,
    },
    /// The same idempotency key was used before: that earlier booking.
    Earlier(Box<store::Booking>),
}

/// Book `slot` for `visitor`: one write transaction re-checks the slot with the engine,
/// stores the booking and queues its emails. A slot no longer free is
/// `Conflict(SlotUnavailable)`.
pub(crate) async fn make_booking(
    state: &Here,
    offer: &std::sync::Arc<Offer>,
    slot: &Slot,
    visitor: VisitorDetails,
    idempotency_key: &str,
) -> Result<Made, StoreError> {
    let now = state.now();
    let token = SecretToken::generate();
    let host = state
        .public_url()
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', ':']).next())
        .unwrap_or("anteroom")
        .to_owned();
    let uid_random: String = rand::random::<[u8; 16]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let (status, hold) = match offer.settings.mode {
        BookingMode::Instant => (BookingStatus::Confirmed, None),
        BookingMode::Request => {
            let hours =
                jiff::SignedDuration::from_hours(i64::from(offer.settings.request_hold_hours));
            (
                BookingStatus::Requested,
                now.checked_add(hours).ok().map(|h| h.min(slot.start)),
            )
        }
    };
    let key = idempotency_key.trim();
    let new = NewBooking {
        appointment_type: offer.kind.slug.clone(),
        location: slot.location.clone(),
        start: slot.start,
        end: slot.end,
        status,
        visitor,
        manage_token_hash: token.hash(),
        uid: format!("{uid_random}@{host}"),
        hold_expires_at: hold,
        idempotency_key: (!key.is_empty() && key.len() <= 100).then(|| key.to_owned()),
    };
    let manage_url = super::manage_url(state, token.as_str());
    let outgoing = messages::booked(state, offer, &new, &manage_url, now);
    let booking = state
        .store()
        .book(
            state.practice_id(),
            &new,
            &outgoing,
            offer.recheck(slot, now),
            now,
        )
        .await?;
    if booking.uid != new.uid {
        return Ok(Made::Earlier(Box::new(booking)));
    }
    state.booking_changed();
    tracing::info!(booking = booking.id.get(), "consultation booked");
    Ok(Made::New {
        booking: Box::new(booking),
        token,
    })
}
