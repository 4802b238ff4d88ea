//! The therapist's private calendar subscription: an ICS feed that Google, Apple and
//! Outlook calendars can subscribe to. The URL's secret is stored only as a hash, shown
//! once when made, and can be replaced (which stops the old URL working). Clients appear
//! by their initials only: calendar services keep copies of everything they fetch.

use axum::{
    extract::Path,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use minijinja::context;

use super::{Staff, page};
use crate::secret_token::SecretToken;
use crate::{Here, WebError, booking::Offer, error::WebResult};

crate::routing::routes! {
    GET "/office/settings/calendar-feed" => Staff: show;
    POST "/office/settings/calendar-feed" => Staff(SettingsChanged): regenerate;
    POST "/office/settings/calendar-feed/remove" => Staff(SettingsChanged): remove;
    GET "/calendar/{file}" => Secret: feed;
}

async fn show(state: Here, staff: Staff) -> WebResult<Response> {
    let exists = state
        .store()
        .has_calendar_token(state.practice_id())
        .await?;
    page(
        &state,
        &staff,
        StatusCode::OK,
        "office/calendar_feed.html",
        context! { exists, url => minijinja::Value::UNDEFINED },
    )
    .await
}

async fn regenerate(state: Here, staff: Staff) -> WebResult<Response> {
    let token = SecretToken::generate();
    state
        .store()
        .set_calendar_token(state.practice_id(), Some(&token.hash()))
        .await?;
    let url = format!("{}/calendar/{token}.ics", state.public_url());
    page(
        &state,
        &staff,
        StatusCode::OK,
        "office/calendar_feed.html",
        context! { exists => true, url },
    )
    .await
}

async fn remove(state: Here, staff: Staff) -> WebResult<Response> {
    state
        .store()
        .set_calendar_token(state.practice_id(), None)
        .await?;
    page(
        &state,
        &staff,
        StatusCode::OK,
        "office/calendar_feed.html",
        context! { exists => false, removed => true },
    )
    .await
}

async fn feed(state: Here, Path(file): Path<String>) -> WebResult<Response> {
    let token = file.strip_suffix(".ics").ok_or(WebError::NotFound)?;
    let token = SecretToken::parse(token).ok_or(WebError::NotFound)?;
    if !state
        .store()
        .calendar_token_matches(state.practice_id(), &token.hash())
        .await?
    {
        return Err(WebError::NotFound);
    }
    let offer = Offer::load(&state).await?;
    let now = state.now();
    let from = now
        .checked_sub(jiff::SignedDuration::from_hours(24 * 30))
        .unwrap_or(now);
    let until = now
        .checked_add(jiff::SignedDuration::from_hours(24 * 366))
        .unwrap_or(now);
    let bookings = state
        .store()
        .bookings_between(state.practice_id(), from, until)
        .await?;
    let events: Vec<mail::ics::Event> = bookings
        .iter()
        .filter(|b| b.status.is_active())
        .filter_map(|b| {
            let location = offer.location(b.location.as_str()).ok()?;
            let initials: String = b
                .visitor
                .name
                .as_str()
                .split_whitespace()
                .filter_map(|w| w.chars().next())
                .map(|c| format!("{c}."))
                .collect();
            let label = if b.status == domain::booking::BookingStatus::Requested {
                " (request)"
            } else {
                ""
            };
            Some(mail::ics::Event {
                uid: b.uid.clone(),
                sequence: b.sequence,
                start: b.start,
                end: b.end,
                summary: format!("Consultation, {initials} – {}{label}", location.name),
                location: location.name.clone(),
                description: format!("{}/office/bookings/{}", state.public_url(), b.id),
                status: if label.is_empty() {
                    "CONFIRMED"
                } else {
                    "TENTATIVE"
                },
                organizer: None,
                attendee: None,
            })
        })
        .collect();
    let name = format!("{} bookings", offer.practice.details.name);
    let body = mail::ics::calendar(mail::ics::Method::Publish, &events, now, Some(&name));
    let mut response = (
        [(header::CONTENT_TYPE, "text/calendar; charset=utf-8")],
        body,
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
