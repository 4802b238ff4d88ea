//! Add or remove a break, with everything that follows from it: the sessions in it marked
//! as not happening, every active contract planned again (brief work moves its ending; a
//! removed break's sessions come back), and a notice planned for each client with a session
//! in a new break. One store write (`TherapyStore::change_break`) commits all of it or none.

use domain::availability::AwayPeriod;
use jiff::{SignedDuration, Timestamp};
use store::{AwayId, BreakChange, ConflictKind, Session, StoreError};

use super::plan_check::{clashes, split_for_planning};
use crate::{Here, WebError, therapy::planner_with};

/// What to change.
#[derive(Debug, Clone)]
pub(crate) enum BreakEdit {
    /// A new break from `start` to `end` (the first instant after it).
    Add {
        label: String,
        start: Timestamp,
        end: Timestamp,
    },
    /// Remove a break.
    Remove(AwayId),
}

/// Why a break was not changed. Nothing was stored.
#[derive(Debug)]
pub(crate) enum ChangeBreakError {
    /// Planning the work again around the change would put sessions over other
    /// appointments: their starts (empty when the store found the clash after the check, a
    /// consultation booked a moment before).
    Clash(Vec<Timestamp>),
    /// The break to remove is not there (removed a moment ago).
    NotFound,
    Web(WebError),
}

impl From<WebError> for ChangeBreakError {
    fn from(error: WebError) -> Self {
        Self::Web(error)
    }
}

impl From<StoreError> for ChangeBreakError {
    fn from(error: StoreError) -> Self {
        Self::Web(error.into())
    }
}

/// Change the breaks and plan the work again, all at once or not at all.
pub(crate) async fn change_break(
    state: &Here,
    edit: BreakEdit,
) -> Result<AwayId, ChangeBreakError> {
    let store = state.store();
    let practice = state.practice_id();
    let now = state.now();
    let stored = store.away_periods(practice).await?;
    let mut breaks: Vec<AwayPeriod> = Vec::with_capacity(stored.len() + 1);
    for period in &stored {
        if matches!(edit, BreakEdit::Remove(id) if id == period.id) {
            continue;
        }
        breaks.push(AwayPeriod {
            start: period.start,
            end: period.end,
        });
    }
    let change = match edit {
        BreakEdit::Add { label, start, end } => {
            breaks.push(AwayPeriod { start, end });
            let days = store.therapy_settings(practice).await?.break_notice_days;
            // The practice's notice ahead of the break, or at once if that has passed.
            let notify_at = start
                .checked_sub(SignedDuration::from_hours(24 * i64::from(days)))
                .unwrap_or(start)
                .max(now);
            BreakChange::Add {
                label,
                start,
                end,
                notify_at,
            }
        }
        BreakEdit::Remove(id) => {
            if !stored.iter().any(|p| p.id == id) {
                return Err(ChangeBreakError::NotFound);
            }
            BreakChange::Remove(id)
        }
    };
    let planner = planner_with(state, breaks).await?;

    // Check every contract's new plan first, to name the dates that would clash.
    let mut clashing = Vec::new();
    for contract in store.active_contracts(practice).await? {
        let own: Vec<Session> = store
            .client_sessions(practice, contract.client)
            .await?
            .into_iter()
            .filter(|s| s.contract == contract.id)
            .collect();
        let from = contract.current().effective_from.max(now);
        let (kept, replaced) = split_for_planning(&own, from, now, None);
        let planned = planner(&contract.current().terms, &kept, from);
        clashing.extend(clashes(state, &planned, &replaced).await?);
    }
    if !clashing.is_empty() {
        clashing.sort_unstable();
        return Err(ChangeBreakError::Clash(clashing));
    }

    match store
        .change_break(practice, &change, planner.as_ref(), now)
        .await
    {
        Ok(id) => {
            state.booking_changed();
            state.content_changed();
            Ok(id)
        }
        Err(StoreError::Conflict(ConflictKind::AppointmentsOverlap)) => {
            Err(ChangeBreakError::Clash(Vec::new()))
        }
        Err(StoreError::NotFound) => Err(ChangeBreakError::NotFound),
        Err(other) => Err(other.into()),
    }
}
