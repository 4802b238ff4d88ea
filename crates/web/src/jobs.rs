//! Work done on a timer rather than on a request: releasing unanswered booking requests,
//! queueing consultation and session reminders, and sending break notices when they are due.
//! Each run is idempotent, so running it twice, or in two processes at once, sends nothing
//! twice: each piece of work is claimed by the write that queues its email, in one
//! transaction (`reminded_at`, `sent_at`, a status that is not already the new one, charges
//! not yet invoiced), so of two runners that both saw it due, only the first queues it.

use std::time::Duration;

use domain::booking::BookingStatus;
use store::StoreError;

use crate::{
    AppState, Here, WebError,
    booking::{Offer, messages},
    therapy,
};

/// Do whatever is due now, for every practice this process serves, in turn. Returns
/// (requests released, reminders queued). One practice's failure is logged and does not stop
/// the others'.
pub async fn run_once(state: &AppState) -> Result<(usize, usize), WebError> {
    run_for_each(state, state.served_practices()).await
}

/// As [`run_once`], for the practices whose jobs this process claims for the coming
/// `every` (`LimitStore::claim_jobs`): when several processes serve every practice, each
/// practice's jobs run in one of them per period, not in each.
pub async fn run_claimed(state: &AppState, every: Duration) -> Result<(usize, usize), WebError> {
    // A little under the interval, so that this process's own next run finds the claim
    // ended even if its timer fires a moment early.
    let period = jiff::SignedDuration::try_from(every.mul_f64(0.9)).unwrap_or_default();
    let claimed = state
        .store()
        .claim_jobs(&state.served_practices(), state.now(), period)
        .await?;
    run_for_each(state, claimed).await
}

async fn run_for_each(
    state: &AppState,
    practices: Vec<store::PracticeId>,
) -> Result<(usize, usize), WebError> {
    let (mut released, mut reminded) = (0, 0);
    let mut failed = None;
    for practice in practices {
        match run_for(&state.here(practice)).await {
            Ok((r, m)) => {
                released += r;
                reminded += m;
            }
            Err(error) => {
                tracing::error!(practice = practice.get(), error = %error, "jobs failed");
                failed = Some(error);
            }
        }
    }
    state.store().forget_ended_limits(state.now()).await?;
    match failed {
        Some(error) => Err(error),
        None => Ok((released, reminded)),
    }
}

/// Do whatever is due now for one practice.
async fn run_for(state: &Here) -> Result<(usize, usize), WebError> {
    let view = therapy::PracticeView::load(state).await?;
    let (released, mut reminded) = match Offer::load(state).await {
        Ok(offer) => consultations(state, &offer).await?,
        // No appointment type is bookable online: no consultations to look after.
        Err(WebError::NotFound) => (0, 0),
        Err(other) => return Err(other),
    };
    let now = state.now();
    let settings = state.store().therapy_settings(state.practice_id()).await?;
    // Questionnaires first, so that a reminder queued in the same run can mention one.
    let asked = crate::measures::ask_due(state, &view, now).await?;
    reminded += session_reminders(state, &view, settings.session_reminder_hours, now).await?;
    let told = break_notices(state, &view, now).await?;
    let invoiced = therapy::monthly_invoices(state, &view, &settings).await?;
    if released + reminded + told + invoiced + asked > 0 {
        tracing::info!(released, reminded, told, invoiced, asked, "jobs");
        state.booking_changed();
    }
    Ok((released, reminded))
}

/// Release unanswered requests and remind visitors of their consultations.
async fn consultations(state: &Here, offer: &Offer) -> Result<(usize, usize), WebError> {
    let store = state.store();
    let practice = state.practice_id();
    let now = state.now();
    let mut released = 0;
    for booking in store.expired_requests(practice, now).await? {
        let outgoing = messages::expired(state, offer, &booking);
        match store
            .set_booking_status(practice, booking.id, BookingStatus::Expired, &outgoing, now)
            .await
        {
            Ok(_) => released += 1,
            // Released already by another runner: its notice is queued once, by that one.
            Err(StoreError::NotFound) => {}
            Err(other) => return Err(other.into()),
        }
    }
    let mut reminded = 0;
    let hours = offer.settings.reminder_hours;
    if hours > 0 {
        let until = now
            .checked_add(jiff::SignedDuration::from_hours(i64::from(hours)))
            .unwrap_or(now);
        for booking in store.reminders_due(practice, now, until).await? {
            if let Some(reminder) = messages::reminder(offer, &booking, "") {
                store
                    .mark_reminded(practice, booking.id, &reminder, now)
                    .await?;
                reminded += 1;
            }
        }
    }
    Ok((released, reminded))
}

/// Queue reminders for sessions starting within the practice's reminder time.
async fn session_reminders(
    state: &Here,
    view: &therapy::PracticeView,
    hours: u32,
    now: jiff::Timestamp,
) -> Result<usize, WebError> {
    let store = state.store();
    let practice = state.practice_id();
    if hours == 0 {
        return Ok(0);
    }
    let until = now
        .checked_add(jiff::SignedDuration::from_hours(i64::from(hours)))
        .unwrap_or(now);
    let mut queued = 0;
    for (session, email) in store.session_reminders_due(practice, now, until).await? {
        // A questionnaire waiting for this session is mentioned (never named).
        let questionnaire = store
            .questionnaires(practice, session.client)
            .await?
            .iter()
            .any(|q| {
                q.is_open()
                    && q.contract == session.contract
                    && Some(q.session_number) == session.number
            });
        if let Some(reminder) =
            therapy::session_reminder(view, &session, &email, state.public_url(), questionnaire)
        {
            store
                .send_session_reminder(practice, session.id, &reminder, now)
                .await?;
            queued += 1;
        }
    }
    Ok(queued)
}

/// Send the break notices that are due.
async fn break_notices(
    state: &Here,
    view: &therapy::PracticeView,
    now: jiff::Timestamp,
) -> Result<usize, WebError> {
    let store = state.store();
    let practice = state.practice_id();
    let due: Vec<_> = store
        .break_notices_due(now)
        .await?
        .into_iter()
        .filter(|(p, ..)| *p == practice)
        .collect();
    if due.is_empty() {
        return Ok(0);
    }
    let breaks = store.away_periods(practice).await?;
    let mut sent = 0;
    for (_, away, client) in due {
        let Some(period) = breaks.iter().find(|a| a.id == away) else {
            continue;
        };
        let who = store.client(practice, client).await?;
        let sessions = store.client_sessions(practice, client).await?;
        let notice = therapy::break_notice(view, &who, (period.start, period.end), &sessions);
        store
            .send_break_notice(practice, away, client, &notice, now)
            .await?;
        sent += 1;
    }
    Ok(sent)
}

/// How often a server runs the jobs.
pub const EVERY: Duration = Duration::from_secs(60);

/// Run the jobs now and then every `every` until `shutdown` resolves, each practice's only
/// when this process claims them ([`run_claimed`]); `runs` counts the runs finished (the
/// tests wait for the first before they begin).
pub async fn run_every(
    state: AppState,
    every: Duration,
    runs: tokio::sync::watch::Sender<u64>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        if let Err(error) = run_claimed(&state, every).await {
            tracing::error!(error = %error, "jobs failed");
        }
        runs.send_modify(|n| *n += 1);
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}
