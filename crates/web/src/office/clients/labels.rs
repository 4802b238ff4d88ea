//! How a client's work reads: regular times, the kind of work, terms and session status.

use super::*;

/// "09:00": a time as a form field holds it.
pub(crate) fn time_field(time: Time) -> String {
    format!("{:02}:{:02}", time.hour(), time.minute())
}

/// "monday": a weekday as a form field holds it.
pub(crate) fn weekday_field(day: Weekday) -> String {
    domain::practice::weekday_label(day).to_lowercase()
}

/// "Mondays at 9am", "Tuesdays at 8:15am and Thursdays at 5:30pm".
pub(crate) fn regular_times(times: &[WeeklyTime]) -> String {
    times
        .iter()
        .map(|t| {
            format!(
                "{}s at {}",
                domain::practice::weekday_label(t.weekday),
                clock(t.time)
            )
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

/// "Brief, 12 sessions" or "Open-ended, weekly".
pub(crate) fn work_label(terms: &ContractTerms) -> String {
    match &terms.kind {
        ContractKind::Brief { sessions, .. } => format!("Brief, {sessions} sessions"),
        ContractKind::OpenEnded { .. } => format!("Open-ended, {}", terms.frequency.label()),
    }
}

/// The terms in one line: "Brief, 12 sessions: weekly, Mondays at 10am, Balham, 50 minutes,
/// £70 a session, from 12 April 2027".
pub(crate) fn terms_line(view: &PracticeView, terms: &ContractTerms) -> String {
    format!(
        "{}: {}, {}, {}, {} minutes, {} a session, from {}",
        work_label(terms),
        terms.frequency.label(),
        regular_times(&terms.times),
        view.place(&terms.location),
        terms.minutes,
        terms.fee,
        words::date(terms.start)
    )
}

pub(crate) use crate::therapy::number_label;

/// The status as the therapist reads it, and the colour of its tag.
pub(crate) fn status_label(session: &Session, now: Timestamp) -> (&'static str, &'static str) {
    match session.status {
        SessionStatus::Scheduled if session.start <= now => ("To record", "tag-blue"),
        SessionStatus::Scheduled => ("Scheduled", "tag-grey"),
        SessionStatus::Break => ("Break: not happening", "tag-grey"),
        SessionStatus::Done(outcome) => (
            outcome.label(),
            match outcome {
                domain::therapy::policy::Outcome::Attended => "tag-green",
                _ => "tag-grey",
            },
        ),
    }
}

/// A session in a list.
#[derive(Debug, Serialize)]
pub(crate) struct SessionRow {
    id: SessionId,
    when: String,
    place: String,
    number: String,
    status: &'static str,
    tag: &'static str,
    moved: bool,
    charge: Option<String>,
    rule: Option<String>,
    waived: Option<String>,
}

pub(crate) fn session_row(
    view: &PracticeView,
    contracts: &[Contract],
    session: &Session,
    now: Timestamp,
) -> SessionRow {
    let contract = contracts.iter().find(|c| c.id == session.contract);
    let (status, tag) = status_label(session, now);
    let recorded = matches!(session.status, SessionStatus::Done(_));
    let charge = session.charge.as_ref().filter(|_| recorded);
    SessionRow {
        id: session.id,
        when: view.when(session.start),
        place: view.place(&session.location),
        number: number_label(contract, session),
        status,
        tag,
        moved: session.moved,
        charge: charge.map(|c| c.amount.to_string()),
        rule: charge.map(|c| c.rule.clone()),
        waived: charge.and_then(|c| c.waived.as_ref().map(|(reason, _)| reason.clone())),
    }
}
