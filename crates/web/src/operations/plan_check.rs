//! Checking a plan before it is stored: which sessions planning a contract again would
//! replace, and which planned sessions would clash with another appointment. The rules are
//! the domain's (`domain::therapy::sessions::split_for_planning`,
//! `domain::therapy::clashes`); this reads what they need from the store.

use domain::therapy::{
    clashes::{self, Span},
    schedule::{Kept, Planned},
    sessions::{self, Standing},
};
use jiff::Timestamp;
use store::{Session, SessionId};

use crate::{Here, error::WebResult};

/// Split a contract's sessions the way the store does when it plans the contract again from
/// `from`: the kept ones, and those the plan may replace. `recording` is a session about to
/// get an outcome: kept, counting as that outcome does.
pub(crate) fn split_for_planning(
    sessions: &[Session],
    from: Timestamp,
    now: Timestamp,
    recording: Option<(SessionId, bool)>,
) -> (Vec<Kept>, Vec<&Session>) {
    let facts: Vec<_> = sessions
        .iter()
        .map(|session| {
            let mut facts = session.facts();
            if let Some((_, counts)) = recording.filter(|(id, _)| *id == session.id) {
                facts.standing = Standing::Done { counts };
            }
            facts
        })
        .collect();
    let (kept, replaced) = sessions::split_for_planning(&facts, from, now);
    (kept, replaced.into_iter().map(|i| &sessions[i]).collect())
}

/// Starts of the planned sessions (those not in a break) that overlap another appointment:
/// a consultation, held or booked, or another session. `replaced` are sessions the plan
/// takes the place of, so the time they hold stands in nobody's way.
pub(crate) async fn clashes(
    state: &Here,
    planned: &[Planned],
    replaced: &[&Session],
) -> WebResult<Vec<Timestamp>> {
    let Some(window) = clashes::window(planned) else {
        return Ok(Vec::new());
    };
    let busy: Vec<Span> = state
        .store()
        .busy_between(state.practice_id(), window.start, window.end)
        .await?
        .into_iter()
        .map(|b| Span {
            start: b.start,
            end: b.end,
        })
        .collect();
    // Only a replaced session that holds time frees it: one in a break holds none, and
    // whatever sits at its time (a consultation, a session moved there) still does.
    let freed: Vec<Span> = replaced
        .iter()
        .filter(|s| s.status.counts())
        .map(|s| Span {
            start: s.start,
            end: s.end,
        })
        .collect();
    Ok(clashes::clashes(planned, &busy, &freed))
}
