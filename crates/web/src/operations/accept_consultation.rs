//! Accept a requested consultation: it becomes booked, and the visitor's confirmation (with
//! its calendar file) is queued in the same write.

use domain::booking::BookingStatus;
use store::{Booking, BookingId, StoreError};

use crate::{Here, WebError, booking::Offer, booking::messages};

/// Why the consultation was not accepted.
#[derive(Debug)]
pub(crate) enum AcceptError {
    /// It is not waiting for an answer (accepted, declined, cancelled or expired already).
    NotRequested,
    Web(WebError),
}

impl From<StoreError> for AcceptError {
    fn from(error: StoreError) -> Self {
        Self::Web(error.into())
    }
}

impl From<WebError> for AcceptError {
    fn from(error: WebError) -> Self {
        Self::Web(error)
    }
}

/// Accept the requested consultation `id`; returns it as booked.
pub(crate) async fn accept_consultation(
    state: &Here,
    id: BookingId,
) -> Result<Booking, AcceptError> {
    let store = state.store();
    let practice = state.practice_id();
    let now = state.now();
    let booking = store.booking(practice, id).await?;
    if booking.status != BookingStatus::Requested {
        return Err(AcceptError::NotRequested);
    }
    let offer = Offer::load(state).await?;
    let outgoing = messages::accepted(&offer, &booking, now);
    match store
        .set_booking_status(practice, id, BookingStatus::Confirmed, &outgoing, now)
        .await
    {
        Ok(accepted) => {
            state.booking_changed();
            state.mail_queued();
            Ok(accepted)
        }
        // Answered or expired a moment ago (changing to the status it has is `NotFound`).
        Err(StoreError::NotFound) => Err(AcceptError::NotRequested),
        Err(other) => Err(other.into()),
    }
}
