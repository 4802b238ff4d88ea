//! The private manage link: see, add to a calendar, move or cancel a booking.
//!
//! GET only ever shows; every change is a POST (mail scanners open links).

use axum::{
    extract::Path,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use domain::booking::BookingStatus;
use jiff::ToSpan;
use minijinja::context;
use serde::Deserialize;
use store::{Booking, ConflictKind, StoreError};

use super::{DAYS_PER_PAGE, Offer, duration_words, flow::slot_from, messages};
use crate::query::Query;
use crate::secret_token::SecretToken;
use crate::{
    Here, WebError,
    error::WebResult,
    render::{html, render},
    templates::value,
};

/// The booking a manage token belongs to; `NotFound` for a malformed or unknown token.
pub(crate) async fn find(state: &Here, token: &str) -> WebResult<Booking> {
    let token = SecretToken::parse(token).ok_or(WebError::NotFound)?;
    state
        .store()
        .booking_by_token(state.practice_id(), &token.hash())
        .await?
        .ok_or(WebError::NotFound)
}

/// Visitors can change a booking until the minimum notice before its start.
fn can_change(offer: &Offer, booking: &Booking, now: jiff::Timestamp) -> bool {
    let cutoff = jiff::SignedDuration::from_mins(i64::from(offer.kind.booking.notice_minutes));
    booking.status.is_active()
        && booking
            .start
            .checked_sub(cutoff)
            .is_ok_and(|limit| now < limit)
}

#[derive(Deserialize)]
pub(crate) struct ShowQuery {
    new: Option<String>,
}

fn private(mut response: Response) -> Response {
    // The address holds the token: keep it out of caches and other sites' logs.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(crate) async fn show(
    state: Here,
    Path(token): Path<String>,
    Query(q): Query<ShowQuery>,
) -> WebResult<Response> {
    let booking = find(&state, &token).await?;
    let offer = Offer::load(&state).await?;
    let location = offer.location(booking.location.as_str())?;
    let status_label = match booking.status {
        BookingStatus::Confirmed => "Booked",
        BookingStatus::Requested => "Requested: waiting for confirmation",
        BookingStatus::Cancelled => "Cancelled",
        BookingStatus::Declined => "Not confirmed",
        BookingStatus::Expired => "Not confirmed in time",
    };
    let ctx = context! {
        booking => value(&booking),
        token,
        when => offer.when(booking.start),
        where => Offer::where_text(location),
        location => value(location),
        kind => value(&offer.kind),
        status_label,
        just_booked => q.new.is_some(),
        can_change => can_change(&offer, &booking, state.now()),
        cutoff => duration_words(offer.kind.booking.notice_minutes),
        cancellation_note => "There is no charge for changing or cancelling a first consultation in good time.",
    };
    let body = render(&state, "booking/manage.html", "/booking", ctx).await?;
    Ok(private(html(StatusCode::OK, body)))
}

pub(crate) async fn calendar(state: Here, Path(token): Path<String>) -> WebResult<Response> {
    let booking = find(&state, &token).await?;
    let offer = Offer::load(&state).await?;
    let location = offer.location(booking.location.as_str())?;
    let url = format!("{}/booking/{token}", state.public_url());
    let mut event = messages::event(
        &offer,
        location,
        messages::Appointment::of(&booking),
        Some(&url),
    );
    // A published file is not an invitation: no organiser or attendee (RFC 5546 §3.2.1).
    event.organizer = None;
    event.attendee = None;
    let ics = mail::ics::calendar(mail::ics::Method::Publish, &[event], state.now(), None);
    let response = (
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"consultation.ics\"",
            ),
        ],
        ics,
    )
        .into_response();
    Ok(private(response))
}

pub(crate) async fn confirm_cancel(state: Here, Path(token): Path<String>) -> WebResult<Response> {
    let booking = find(&state, &token).await?;
    let offer = Offer::load(&state).await?;
    if !can_change(&offer, &booking, state.now()) {
        return Ok(Redirect::to(&format!("/booking/{token}")).into_response());
    }
    let location = offer.location(booking.location.as_str())?;
    let ctx = context! {
        token,
        when => offer.when(booking.start),
        where => Offer::where_text(location),
        cutoff => duration_words(offer.kind.booking.notice_minutes),
    };
    let body = render(&state, "booking/cancel.html", "/booking", ctx).await?;
    Ok(private(html(StatusCode::OK, body)))
}

pub(crate) async fn cancel(state: Here, Path(token): Path<String>) -> WebResult<Response> {
    let booking = find(&state, &token).await?;
    let offer = Offer::load(&state).await?;
    cancel_booking(&state, &offer, &booking).await?;
    Ok(Redirect::to(&format!("/booking/{token}")).into_response())
}

/// Cancel `booking` at the visitor's request (manage link or API): store the change and
/// queue the emails. `false`, with nothing changed, when it is no longer active or past
/// the cut-off.
pub(crate) async fn cancel_booking(
    state: &Here,
    offer: &Offer,
    booking: &Booking,
) -> WebResult<bool> {
    let now = state.now();
    if !can_change(offer, booking, now) {
        return Ok(false);
    }
    let outgoing = messages::cancelled(state, offer, booking, now);
    let changed = state
        .store()
        .set_booking_status(
            state.practice_id(),
            booking.id,
            BookingStatus::Cancelled,
            &outgoing,
            now,
        )
        .await;
    match changed {
        Ok(_) => {}
        // Cancelled by another request since it was read (the same link clicked twice, an
        // API client retrying): the booking as it now is answers, never a 404 for a booking
        // that exists. The other request sent the email.
        Err(StoreError::NotFound) => {
            let now_is = state
                .store()
                .booking(state.practice_id(), booking.id)
                .await?;
            return Ok(now_is.status == BookingStatus::Cancelled);
        }
        Err(other) => return Err(other.into()),
    }
    state.booking_changed();
    tracing::info!(
        booking = booking.id.get(),
        "consultation cancelled by the client"
    );
    Ok(true)
}

#[derive(Deserialize)]
pub(crate) struct MoveQuery {
    from: Option<String>,
    location: Option<String>,
    start: Option<String>,
}

pub(crate) async fn move_times(
    state: Here,
    Path(token): Path<String>,
    Query(q): Query<MoveQuery>,
) -> WebResult<Response> {
    let booking = find(&state, &token).await?;
    let offer = Offer::load(&state).await?;
    let now = state.now();
    if !can_change(&offer, &booking, now) {
        return Ok(Redirect::to(&format!("/booking/{token}")).into_response());
    }
    let location = offer.location(q.location.as_deref().unwrap_or(booking.location.as_str()))?;
    let today = offer.today(now);
    let last = offer.last_day(now);
    let from = match q.from.as_deref() {
        None | Some("") => today,
        Some(raw) => raw
            .parse::<jiff::civil::Date>()
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
    let days = super::by_day(
        &offer,
        slots.iter().filter(|s| s.start != booking.start),
        |slot| {
            format!(
                "/booking/{token}/move/confirm?location={}&start={}",
                slot.location, slot.start
            )
        },
    );
    let base = format!("/booking/{token}/move?");
    let earlier = (from > today).then(|| {
        format!(
            "{base}from={}",
            from.checked_sub(DAYS_PER_PAGE.days())
                .unwrap_or(today)
                .max(today)
        )
    });
    let later = (to < last).then(|| format!("{base}from={}", to.tomorrow().unwrap_or(to)));
    let ctx = context! { location => value(location), days => value(&days), earlier, later, moving => true, others_list => value(&offer.locations.iter().filter(|l| l.slug != location.slug).collect::<Vec<_>>()), token };
    let body = render(&state, "booking/times.html", "/booking", ctx).await?;
    Ok(private(html(StatusCode::OK, body)))
}

pub(crate) async fn confirm_move(
    state: Here,
    Path(token): Path<String>,
    Query(q): Query<MoveQuery>,
) -> WebResult<Response> {
    let booking = find(&state, &token).await?;
    let offer = Offer::load(&state).await?;
    if !can_change(&offer, &booking, state.now()) {
        return Ok(Redirect::to(&format!("/booking/{token}")).into_response());
    }
    let location = offer.location(q.location.as_deref().unwrap_or(""))?;
    let slot = slot_from(&offer, &location.slug, q.start.as_deref().unwrap_or(""))?;
    let unchanged = slot.start == booking.start && slot.location == booking.location;
    if unchanged || !super::flow::is_offered(&state, &offer, &slot).await? {
        let ctx = context! {
            title => if unchanged { "That is the time you already have" } else { "Sorry, that time is not free" },
            message => "Your consultation has not been changed. Choose another time.",
            token,
        };
        let body = render(&state, "booking/move.html", "/booking", ctx).await?;
        let status = if unchanged {
            StatusCode::OK
        } else {
            StatusCode::CONFLICT
        };
        return Ok(private(html(status, body)));
    }
    let ctx = context! {
        title => "Move your consultation?",
        message => format!("From {} to {}, {}.", offer.when(booking.start), offer.when(slot.start), Offer::where_text(location)),
        token,
        location => location.slug.as_str(),
        start => slot.start.to_string(),
    };
    let body = render(&state, "booking/move.html", "/booking", ctx).await?;
    Ok(private(html(StatusCode::OK, body)))
}

pub(crate) async fn move_booking(
    state: Here,
    Path(token): Path<String>,
    form: crate::forms::FormData,
) -> WebResult<Response> {
    let booking = find(&state, &token).await?;
    let offer = Offer::load(&state).await?;
    let now = state.now();
    if !can_change(&offer, &booking, now) {
        return Ok(Redirect::to(&format!("/booking/{token}")).into_response());
    }
    let location = offer.location(form.get("location"))?;
    let slot = slot_from(&offer, &location.slug, form.get("start"))?;
    if slot.start == booking.start && slot.location == booking.location {
        // Sent twice, or a move to the time it already has: nothing to change or send.
        return Ok(Redirect::to(&format!("/booking/{token}")).into_response());
    }
    let url = format!("{}/booking/{token}", state.public_url());
    let outgoing = messages::moved(&state, &offer, &booking, &slot, Some(&url), now);
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
            Ok(Redirect::to(&format!("/booking/{token}")).into_response())
        }
        Err(StoreError::Conflict(ConflictKind::SlotUnavailable)) => {
            let ctx = context! {
                title => "Sorry, that time has just gone",
                message => "Someone else booked it a moment ago. Your consultation has not been changed.",
                token,
            };
            let body = render(&state, "booking/move.html", "/booking", ctx).await?;
            Ok(private(html(StatusCode::CONFLICT, body)))
        }
        Err(other) => Err(other.into()),
    }
}
