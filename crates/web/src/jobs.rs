//! Work done on a timer rather than on a request: releasing unanswered booking requests
//! and queueing reminders. Each run is idempotent, so running it twice (or in two
//! processes) sends nothing twice.

use std::time::Duration;

use domain::booking::BookingStatus;

use crate::{
    AppState, WebError,
    booking::{Offer, messages},
};

/// Do whatever is due now. Returns (requests released, reminders queued).
pub async fn run_once(state: &AppState) -> Result<(usize, usize), WebError> {
    let offer = match Offer::load(state).await {
        Ok(offer) => offer,
        Err(WebError::NotFound) => return Ok((0, 0)),
        Err(other) => return Err(other),
    };
    let store = state.store();
    let practice = state.practice_id();
    let now = state.now();
    let mut released = 0;
    for booking in store.expired_requests(practice, now).await? {
        let outgoing = messages::expired(state, &offer, &booking);
        store
            .set_booking_status(practice, booking.id, BookingStatus::Expired, &outgoing, now)
            .await?;
        released += 1;
    }
    let mut reminded = 0;
    let hours = offer.settings.reminder_hours;
    if hours > 0 {
        let until = now
            .checked_add(jiff::SignedDuration::from_hours(i64::from(hours)))
            .unwrap_or(now);
        for booking in store.reminders_due(practice, now, until).await? {
            if let Some(reminder) = messages::reminder(&offer, &booking, "") {
                store
                    .mark_reminded(practice, booking.id, &reminder, now)
                    .await?;
                reminded += 1;
            }
        }
    }
    if released + reminded > 0 {
        tracing::info!(released, reminded, "booking jobs");
        state.booking_changed();
    }
    Ok((released, reminded))
}

/// Run the jobs every minute until `shutdown` resolves.
pub async fn run(state: AppState, shutdown: impl std::future::Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        if let Err(error) = run_once(&state).await {
            tracing::error!(error = %error, "booking jobs failed");
        }
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(Duration::from_secs(60)) => {}
        }
    }
}
