//! The regular work with clients, shared by the back office and the jobs: the session
//! planner, what happens when breaks change, and the emails (session reminders and break
//! notices).
//!
//! The emails are neutral: the practice's name, a time and a place, nothing about the therapy,
//! because an email can be read by someone other than the client.

use domain::{EmailAddress, availability::AwayPeriod, therapy::schedule::plan};
use jiff::{Timestamp, ToSpan, tz::TimeZone};
use store::{AwayId, Client, ClientId, NewMessage, Planner, Session, SessionStatus, StoreError};

use crate::{
    AppState, WebError,
    booking::{Offer, messages::place_line},
    error::WebResult,
};

/// "Reminder: Monday 12 April 2027 at 9am", with where and how to say you cannot come.
pub(crate) fn session_reminder(
    offer: &Offer,
    session: &Session,
    to: &EmailAddress,
) -> Option<NewMessage> {
    let location = offer.location(session.location.as_str()).ok()?;
    let when = offer.when(session.start);
    let first_name = session
        .client_name
        .as_str()
        .split_whitespace()
        .next()
        .unwrap_or("");
    Some(NewMessage {
        kind: "session_reminder".into(),
        to: to.clone(),
        subject: format!("Reminder: {when}"),
        body_text: format!(
            "Dear {first_name},\n\nA reminder of your appointment with {practice}.\n\n\
             When:  {when} (UK time)\nWhere: {place}\n\n\
             If you cannot come, please let me know as soon as you can.\n\n{practice}\n\n\
             You can ask me to stop these reminders at any time.\n",
            practice = offer.practice.details.name,
            place = place_line(location),
        ),
        calendar: None,
    })
}

/// The notice of a break: the dates, which appointments will not take place, and the
/// next one after it.
pub(crate) fn break_notice(
    offer: &Offer,
    client: &Client,
    (start, end): (Timestamp, Timestamp),
    sessions: &[Session],
) -> NewMessage {
    let day = |at: Timestamp| {
        at.to_zoned_datetime(offer.zone.clone())
            .strftime("%A %-d %B %Y")
            .to_string()
    };
    let last = end
        .checked_sub(jiff::SignedDuration::from_secs(1))
        .unwrap_or(end);
    let (first_day, last_day) = (day(start), day(last));
    let missed: Vec<String> = sessions
        .iter()
        .filter(|s| s.status == SessionStatus::Break && s.start >= start && s.start < end)
        .map(|s| format!("- {}", offer.when(s.start)))
        .collect();
    let next = sessions
        .iter()
        .find(|s| s.start >= end && s.status == SessionStatus::Scheduled)
        .map(|s| {
            format!(
                "Your next appointment after the break is {} (UK time).\n\n",
                offer.when(s.start)
            )
        })
        .unwrap_or_default();
    let missed = if missed.is_empty() {
        String::new()
    } else {
        format!(
            "These appointments will not take place, and there is nothing to pay for them:\n{}\n\n",
            missed.join("\n")
        )
    };
    let first_name = client.name.as_str().split_whitespace().next().unwrap_or("");
    NewMessage {
        kind: "break_notice".into(),
        to: client.email.clone(),
        subject: format!("No appointments from {first_day} to {last_day}"),
        body_text: format!(
            "Dear {first_name},\n\nI will be taking a break from {first_day} to {last_day}, \
             so there will be no appointments in that time.\n\n{missed}{next}\
             If you need urgent help while I am away, call NHS 111, or 999 in an emergency. \
             Samaritans are there day and night on 116 123.\n\n{}\n",
            offer.practice.details.name
        ),
        calendar: None,
    }
}

/// The planner for the practice's contracts as things stand: its time zone and breaks;
/// open-ended work is planned a little over a year ahead, longer than any booking horizon,
/// so a consultation can never be booked over a regular session.
pub(crate) async fn planner(state: &AppState) -> WebResult<Box<Planner>> {
    let practice = state.store().practice(state.practice_id()).await?;
    let zone =
        TimeZone::get(&practice.details.time_zone).map_err(|e| WebError::Internal(e.into()))?;
    let breaks: Vec<AwayPeriod> = state
        .store()
        .away_periods(state.practice_id())
        .await?
        .into_iter()
        .map(|a| AwayPeriod {
            start: a.start,
            end: a.end,
        })
        .collect();
    let today = state.now().to_zoned_datetime(zone.clone()).date();
    let until = today.checked_add(PLAN_AHEAD_DAYS.days()).unwrap_or(today);
    Ok(Box::new(move |terms, kept, from| {
        plan(terms, &zone, &breaks, kept, from, until)
    }))
}

/// How far ahead open-ended work is planned.
const PLAN_AHEAD_DAYS: i64 = 400;

/// After a break is added (`added`) or removed: mark the sessions in it, plan every active
/// contract again (brief work moves its ending), and plan to tell each client whose
/// sessions fall in a new break, `break_notice_days` ahead or at once if that has passed.
pub(crate) async fn breaks_changed(state: &AppState, added: Option<AwayId>) -> WebResult<()> {
    let store = state.store();
    let practice = state.practice_id();
    let now = state.now();
    let planner = planner(state).await?;
    let period = match added {
        Some(id) => store
            .away_periods(practice)
            .await?
            .into_iter()
            .find(|a| a.id == id),
        None => None,
    };
    if let Some(period) = &period {
        let times = AwayPeriod {
            start: period.start,
            end: period.end,
        };
        store.mark_break(practice, &times).await?;
    }
    for contract in store.active_contracts(practice).await? {
        match store.replan(practice, contract.id, &*planner, now).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => tracing::warn!(
                contract = contract.id.get(),
                "sessions could not be planned again: a time clashes with another appointment"
            ),
            Err(other) => return Err(other.into()),
        }
    }
    if let Some(period) = period {
        let days = store.therapy_settings(practice).await?.break_notice_days;
        let send_at = period
            .start
            .checked_sub(jiff::SignedDuration::from_hours(24 * i64::from(days)))
            .unwrap_or(period.start)
            .max(now);
        let mut clients: Vec<ClientId> = store
            .sessions_between(practice, period.start, period.end)
            .await?
            .into_iter()
            .filter(|s| s.status == SessionStatus::Break)
            .map(|s| s.client)
            .collect();
        clients.sort_unstable();
        clients.dedup();
        let notices: Vec<(ClientId, Timestamp)> =
            clients.into_iter().map(|c| (c, send_at)).collect();
        store
            .add_break_notices(practice, period.id, &notices)
            .await?;
    }
    state.booking_changed();
    Ok(())
}
