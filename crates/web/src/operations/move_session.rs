//! Move one session to another time or place: it stays the same session (its regular time is
//! remembered), checked against every other appointment first.

use domain::{Slug, therapy::schedule::Planned};
use jiff::Timestamp;
use store::{ConflictKind, Session, SessionStatus, StoreError};

use super::plan_check::clashes;
use crate::{Here, WebError};

/// Why the session was not moved.
#[derive(Debug)]
pub(crate) enum MoveSessionError {
    /// The new time has passed.
    InThePast,
    /// The new time overlaps another appointment (its start, as planned).
    Clash(Vec<Timestamp>),
    /// Another appointment was booked there a moment ago.
    TakenJustNow,
    /// The session is no longer scheduled (recorded, cancelled or in a break meanwhile).
    Closed,
    Web(WebError),
}

impl From<WebError> for MoveSessionError {
    fn from(error: WebError) -> Self {
        Self::Web(error)
    }
}

impl From<StoreError> for MoveSessionError {
    fn from(error: StoreError) -> Self {
        Self::Web(error.into())
    }
}

/// Move `session` to start at `start` at `location`, keeping its length.
pub(crate) async fn move_session(
    state: &Here,
    session: &Session,
    location: &Slug,
    start: Timestamp,
) -> Result<Session, MoveSessionError> {
    let now = state.now();
    if session.status != SessionStatus::Scheduled {
        return Err(MoveSessionError::Closed);
    }
    if start <= now {
        return Err(MoveSessionError::InThePast);
    }
    let length = session.end.duration_since(session.start);
    let end = start.checked_add(length).unwrap_or(start);
    let planned = [Planned {
        start,
        end,
        in_break: false,
    }];
    let clashing = clashes(state, &planned, &[session]).await?;
    if !clashing.is_empty() {
        return Err(MoveSessionError::Clash(clashing));
    }
    match state
        .store()
        .move_session(state.practice_id(), session.id, location, start, end, now)
        .await
    {
        Ok(moved) => {
            state.booking_changed();
            Ok(moved)
        }
        // It stopped being scheduled a moment ago.
        Err(StoreError::NotFound) => Err(MoveSessionError::Closed),
        Err(StoreError::Conflict(ConflictKind::AppointmentsOverlap)) => {
            Err(MoveSessionError::TakenJustNow)
        }
        Err(other) => Err(other.into()),
    }
}
