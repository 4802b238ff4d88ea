//! Sessions: agreeing a contract or changing it from one session on ("this and following"),
//! and one session's page: what happened (with the charge the cancellation policy gives and
//! the rule behind it), waiving a charge, moving the session.
//!
//! These handlers parse the forms and render; each change is one operation
//! ([`crate::operations`]: `change_contract_from`, `record_outcome`, `move_session`), which
//! checks every plan against the therapist's other appointments before anything is stored,
//! so a clash is shown at the field with its dates and nothing changes. The store refuses a
//! clash that slips past (a consultation booked a moment before), and that gets the same kind
//! of message. Times are read and shown in the practice's zone.

use axum::{
    extract::Path,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use domain::{
    FieldErrors, Slug,
    practice::parse_time,
    text::parse_text,
    therapy::{
        ContractTerms,
        form::ContractForm,
        outcome::NotRecordable,
        policy::{Outcome, Recorded},
    },
};
use jiff::{
    Timestamp, ToSpan,
    civil::{Date, Time},
};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};
use store::{Client, Contract, Session, SessionId, SessionStatus, StoreError};

use super::{
    Staff,
    clients::{
        PracticeView, clash_dates, clash_message, find_client, find_contract, number_label,
        status_label, time_field, weekday_field,
    },
    errors_value, page,
};
use crate::operations::{
    change_contract_from::{ContractChange, ContractChangeError, change_contract_from},
    move_session::{MoveSessionError, move_session},
    record_outcome::{RecordOutcomeError, RecordedBy, record_outcome},
};
use crate::query::Query;
use crate::{Here, WebError, error::WebResult, forms::FormData, templates::value};

/// Said when the store refuses a plan that passed the check a moment before.
const TAKEN_JUST_NOW: &str = "Another appointment was booked at one of these times a moment \
     ago. Choose another time, or move the other appointment first";

// ---- The contract form ---------------------------------------------------------------------

/// The contract form's fields as typed (or filled in for the therapist).
#[derive(Debug, Default, Serialize)]
struct ContractValues {
    kind: String,
    focus: String,
    sessions: String,
    reviews_at: String,
    review_every_weeks: String,
    frequency: String,
    day: String,
    time: String,
    day2: String,
    time2: String,
    location: String,
    minutes: String,
    fee: String,
    start: String,
    /// Change only: the session the change starts from.
    from: String,
    /// Change only: what changed and why.
    note: String,
    /// Change only: move the client to the current cancellation policy.
    use_current_policy: bool,
}

impl ContractValues {
    fn from_form(form: &FormData) -> Self {
        let text = |name: &str| form.get(name).to_owned();
        Self {
            kind: text("kind"),
            focus: text("focus"),
            sessions: text("sessions"),
            reviews_at: text("reviews_at"),
            review_every_weeks: text("review_every_weeks"),
            frequency: text("frequency"),
            day: text("day"),
            time: text("time"),
            day2: text("day2"),
            time2: text("time2"),
            location: text("location"),
            minutes: text("minutes"),
            fee: text("fee"),
            start: text("start"),
            from: text("from"),
            note: text("note"),
            use_current_policy: form.has("use_current_policy"),
        }
    }

    /// The form filled in with the terms agreed so far.
    fn of(terms: &ContractTerms) -> Self {
        use domain::therapy::ContractKind;
        let mut values = Self {
            kind: terms.kind.as_str().to_owned(),
            review_every_weeks: "6".to_owned(),
            frequency: terms.frequency.as_str().to_owned(),
            location: terms.location.to_string(),
            minutes: terms.minutes.to_string(),
            fee: terms.fee.to_string(),
            start: terms.start.to_string(),
            ..Self::default()
        };
        match &terms.kind {
            ContractKind::Brief {
                focus,
                sessions,
                reviews_at,
            } => {
                values.focus = focus.clone();
                values.sessions = sessions.to_string();
                values.reviews_at = reviews_at
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
            }
            ContractKind::OpenEnded { review_every_weeks } => {
                values.review_every_weeks = review_every_weeks.to_string();
            }
        }
        for (i, t) in terms.times.iter().enumerate() {
            let (day, time) = if i == 0 {
                (&mut values.day, &mut values.time)
            } else {
                (&mut values.day2, &mut values.time2)
            };
            *day = weekday_field(t.weekday);
            *time = time_field(t.time);
        }
        values
    }

    fn form(&self) -> ContractForm<'_> {
        ContractForm {
            kind: &self.kind,
            focus: &self.focus,
            sessions: &self.sessions,
            reviews_at: &self.reviews_at,
            review_every_weeks: &self.review_every_weeks,
            frequency: &self.frequency,
            day: &self.day,
            time: &self.time,
            day2: &self.day2,
            time2: &self.time2,
            location: &self.location,
            minutes: &self.minutes,
            fee: &self.fee,
            start: &self.start,
        }
    }
}

const DAYS: [(&str, &str); 7] = [
    ("monday", "Monday"),
    ("tuesday", "Tuesday"),
    ("wednesday", "Wednesday"),
    ("thursday", "Thursday"),
    ("friday", "Friday"),
    ("saturday", "Saturday"),
    ("sunday", "Sunday"),
];

const FREQUENCIES: [(&str, &str); 3] = [
    ("weekly", "Weekly"),
    ("twice_weekly", "Twice a week"),
    ("fortnightly", "Fortnightly"),
];

/// The contract's sessions still to come that a change can start from.
fn upcoming<'a>(sessions: &'a [Session], contract: &Contract, now: Timestamp) -> Vec<&'a Session> {
    sessions
        .iter()
        .filter(|s| {
            s.contract == contract.id && s.start > now && s.status == SessionStatus::Scheduled
        })
        .collect()
}

async fn contract_page(
    state: &Here,
    staff: &Staff,
    view: &PracticeView,
    client: &Client,
    contract: Option<&Contract>,
    values: &ContractValues,
    errors: Option<&FieldErrors>,
) -> WebResult<Response> {
    let id = state.practice_id();
    let current = state.store().policy(id, None).await?;
    let now = state.now();
    let (heading, action, agreed, newer, choices) = match contract {
        None => (
            format!("Agree a contract with {}", client.name),
            format!("/office/clients/{}/contract/new", client.id),
            current.clone(),
            None,
            Vec::new(),
        ),
        Some(c) => {
            let version = c.current().terms.policy_version;
            let agreed = match state.store().policy(id, Some(version)).await {
                Ok(policy) => policy,
                Err(StoreError::NotFound) => current.clone(),
                Err(other) => return Err(other.into()),
            };
            let newer = (current.version > agreed.version).then(|| current.clone());
            let sessions = state.store().client_sessions(id, client.id).await?;
            let choices: Vec<(String, String)> = upcoming(&sessions, c, now)
                .into_iter()
                .take(26)
                .map(|s| {
                    let number = number_label(Some(c), s);
                    let when = view.when(s.start);
                    let label = if number.is_empty() {
                        when
                    } else {
                        format!("{number}, {when}")
                    };
                    (s.id.to_string(), label)
                })
                .collect();
            (
                format!("Change the contract with {}", client.name),
                format!("/office/clients/{}/contracts/{}/change", client.id, c.id),
                agreed,
                newer,
                choices,
            )
        }
    };
    let policy_summary = agreed.summary();
    let (list, map) = errors.map_or((Value::UNDEFINED, Value::UNDEFINED), errors_value);
    let status = if errors.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let ctx = context! {
        heading, action,
        changing => contract.is_some(),
        client => context! { id => client.id.get(), name => client.name.as_str() },
        values => value(values),
        days => value(&DAYS),
        frequencies => value(&FREQUENCIES),
        locations => value(&view.choices()),
        policy => context! { version => agreed.version, summary => policy_summary },
        newer => newer.map(|p| context! { version => p.version, summary => p.summary() }),
        choices => value(&choices),
        errors => list,
        error => map,
    };
    page(
        state,
        staff,
        status,
        "office/clients/contract_form.html",
        ctx,
    )
    .await
}

/// The new contract form, filled in from the consultation where there was one: its fee and
/// length (or the first appointment type's), its place, its day and time.
pub(super) async fn new_contract_form(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
) -> WebResult<Response> {
    let client = find_client(&state, &raw).await?;
    let id = state.practice_id();
    if state
        .store()
        .contracts(id, client.id)
        .await?
        .iter()
        .any(|c| c.active)
    {
        return Ok(Redirect::to(&format!("/office/clients/{}", client.id)).into_response());
    }
    let view = PracticeView::load(&state).await?;
    let consultation = match client.consultation {
        Some(booking) => state.store().booking(id, booking).await.ok(),
        None => None,
    };
    let types = state.store().appointment_types(id).await?;
    let kind = consultation
        .as_ref()
        .and_then(|b| types.iter().find(|t| t.slug == b.appointment_type))
        .or_else(|| types.first());
    let mut values = ContractValues {
        review_every_weeks: "6".to_owned(),
        frequency: "weekly".to_owned(),
        start: view.today(state.now()).to_string(),
        location: view
            .locations
            .first()
            .map(|l| l.slug.to_string())
            .unwrap_or_default(),
        ..ContractValues::default()
    };
    if let Some(kind) = kind {
        values.fee = kind.fee.to_string();
        values.minutes = kind.minutes.to_string();
    }
    if let Some(b) = &consultation {
        let local = view.zone.to_datetime(b.start);
        values.location = b.location.to_string();
        values.day = weekday_field(local.date().weekday());
        values.time = time_field(local.time());
    }
    contract_page(&state, &staff, &view, &client, None, &values, None).await
}

/// The first instant of the start date, if sessions can be planned from it: it is at most a
/// year away (the work is planned no further ahead than that).
fn start_instant(
    view: &PracticeView,
    start: Date,
    now: Timestamp,
    errors: &mut FieldErrors,
) -> Option<Timestamp> {
    let today = view.today(now);
    let latest = today.checked_add(365.days()).unwrap_or(today);
    if start > latest {
        errors.add(
            "start",
            format!(
                "Choose a start date within the next year, no later than {}",
                crate::words::date(latest)
            ),
        );
        return None;
    }
    let from = view.start_of(start).ok();
    if from.is_none() {
        errors.add("start", "Enter a real date, like 2027-09-06");
    }
    from
}

/// A refused contract change in the therapist's words, at the field it is about.
fn contract_error(
    view: &PracticeView,
    error: ContractChangeError,
    errors: &mut FieldErrors,
) -> WebResult<()> {
    match error {
        ContractChangeError::NothingToPlan => errors.add(
            "start",
            "No sessions fall between this start date and a year from now, outside your breaks. \
             Choose an earlier start date",
        ),
        ContractChangeError::Clash(starts) => errors.add("time", clash_message(view, &starts)),
        ContractChangeError::TakenJustNow => errors.add("time", TAKEN_JUST_NOW),
        // Ended in another tab a moment ago: there is nothing to change any more.
        ContractChangeError::Closed => errors.add(
            "from",
            "This contract has ended, so it cannot be changed. Agree a new one instead",
        ),
        ContractChangeError::Web(error) => return Err(error),
    }
    Ok(())
}

pub(super) async fn create_contract(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let client = find_client(&state, &raw).await?;
    let id = state.practice_id();
    let back = format!("/office/clients/{}", client.id);
    if state
        .store()
        .contracts(id, client.id)
        .await?
        .iter()
        .any(|c| c.active)
    {
        return Ok(Redirect::to(&back).into_response());
    }
    let view = PracticeView::load(&state).await?;
    let values = ContractValues::from_form(&form);
    let policy = state.store().policy(id, None).await?;
    let terms = match values.form().parse(&view.slugs(), policy.version) {
        Ok(terms) => terms,
        Err(errors) => {
            return contract_page(&state, &staff, &view, &client, None, &values, Some(&errors))
                .await;
        }
    };
    let now = state.now();
    let mut errors = FieldErrors::new();
    if let Some(from) = start_instant(&view, terms.start, now, &mut errors) {
        let change = ContractChange {
            client: client.id,
            contract: None,
            terms: &terms,
            note: "",
            from,
        };
        match change_contract_from(&state, change).await {
            Ok(_) => return Ok(Redirect::to(&back).into_response()),
            Err(error) => contract_error(&view, error, &mut errors)?,
        }
    }
    contract_page(&state, &staff, &view, &client, None, &values, Some(&errors)).await
}

#[derive(Deserialize)]
pub(super) struct ChangeQuery {
    from: Option<String>,
}

pub(super) async fn change_form(
    state: Here,
    staff: Staff,
    Path((raw_client, raw_contract)): Path<(String, String)>,
    Query(q): Query<ChangeQuery>,
) -> WebResult<Response> {
    let (client, contract) = find_contract(&state, &raw_client, &raw_contract).await?;
    if !contract.active {
        return Ok(Redirect::to(&format!("/office/clients/{}", client.id)).into_response());
    }
    let view = PracticeView::load(&state).await?;
    let mut values = ContractValues::of(&contract.current().terms);
    values.from = q.from.unwrap_or_default();
    contract_page(
        &state,
        &staff,
        &view,
        &client,
        Some(&contract),
        &values,
        None,
    )
    .await
}

pub(super) async fn change_contract(
    state: Here,
    staff: Staff,
    Path((raw_client, raw_contract)): Path<(String, String)>,
    form: FormData,
) -> WebResult<Response> {
    let (client, contract) = find_contract(&state, &raw_client, &raw_contract).await?;
    let back = format!("/office/clients/{}", client.id);
    if !contract.active {
        return Ok(Redirect::to(&back).into_response());
    }
    let id = state.practice_id();
    let now = state.now();
    let view = PracticeView::load(&state).await?;
    let values = ContractValues::from_form(&form);
    let agreed = contract.current().terms.policy_version;
    let current = state.store().policy(id, None).await?;
    let policy_version = if values.use_current_policy {
        current.version
    } else {
        agreed
    };
    let sessions: Vec<Session> = state
        .store()
        .client_sessions(id, client.id)
        .await?
        .into_iter()
        .filter(|s| s.contract == contract.id)
        .collect();
    let choices = upcoming(&sessions, &contract, now);

    // Errors in the order the form asks: from which session, the terms, the note.
    let mut errors = FieldErrors::new();
    let chosen = if choices.is_empty() {
        None
    } else {
        let found = SessionId::parse(&values.from)
            .and_then(|from| choices.iter().find(|s| s.id == from).map(|s| s.start));
        if found.is_none() {
            errors.add("from", "Choose the first session the change applies to");
        }
        found
    };
    let parsed = values.form().parse(&view.slugs(), policy_version);
    if let Err(parse_errors) = &parsed {
        for (field, message) in parse_errors.iter() {
            errors.add(field, message);
        }
    }
    let note = errors.check(
        "note",
        parse_text(&values.note, "what changed and why", 1000, true),
    );
    let start = match &parsed {
        Ok(terms) => start_instant(&view, terms.start, now, &mut errors),
        Err(_) => None,
    };
    if let (Ok(terms), Some(note), Some(start)) = (&parsed, &note, start)
        && errors.is_empty()
    {
        // With nothing still to come, the new terms apply from their start date.
        let change = ContractChange {
            client: client.id,
            contract: Some(&contract),
            terms,
            note,
            from: chosen.unwrap_or(start),
        };
        match change_contract_from(&state, change).await {
            Ok(_) => return Ok(Redirect::to(&back).into_response()),
            Err(error) => contract_error(&view, error, &mut errors)?,
        }
    }
    contract_page(
        &state,
        &staff,
        &view,
        &client,
        Some(&contract),
        &values,
        Some(&errors),
    )
    .await
}

// ---- One session ---------------------------------------------------------------------------

/// The session page's three forms, as typed or filled in.
#[derive(Debug, Serialize)]
struct SessionValues {
    outcome: String,
    told_date: String,
    told_time: String,
    reason: String,
    move_date: String,
    move_time: String,
    move_location: String,
}

impl SessionValues {
    /// What the forms start with: the outcome recorded (if any), "told me" now, the session's
    /// own date, time and place to move from.
    fn of(view: &PracticeView, session: &Session, now: Timestamp) -> Self {
        let outcome = match session.status {
            SessionStatus::Done(Outcome::Attended) => "attended",
            SessionStatus::Done(Outcome::CancelledInTime | Outcome::LateCancellation) => {
                "client_cancelled"
            }
            SessionStatus::Done(Outcome::DidNotAttend) => "did_not_attend",
            SessionStatus::Done(Outcome::CancelledByTherapist) => "therapist_cancelled",
            SessionStatus::Scheduled | SessionStatus::Break => "",
        };
        let told = view.zone.to_datetime(session.told_at.unwrap_or(now));
        let start = view.zone.to_datetime(session.start);
        Self {
            outcome: outcome.to_owned(),
            told_date: told.date().to_string(),
            told_time: time_field(told.time()),
            reason: String::new(),
            move_date: start.date().to_string(),
            move_time: time_field(start.time()),
            move_location: session.location.to_string(),
        }
    }

    /// The defaults with whatever the posted form sent.
    fn with(mut self, form: &FormData) -> Self {
        for (name, field) in [
            ("outcome", &mut self.outcome),
            ("told_date", &mut self.told_date),
            ("told_time", &mut self.told_time),
            ("reason", &mut self.reason),
            ("move_date", &mut self.move_date),
            ("move_time", &mut self.move_time),
            ("move_location", &mut self.move_location),
        ] {
            if form.has(name) {
                *field = form.get(name).to_owned();
            }
        }
        self
    }
}

async fn find_session(state: &Here, raw: &str) -> WebResult<Session> {
    let id = SessionId::parse(raw).ok_or(WebError::NotFound)?;
    Ok(state
        .store()
        .therapy_session(state.practice_id(), id)
        .await?)
}

/// A charge not yet invoiced can still be changed by recording the outcome again.
fn invoiced(session: &Session) -> bool {
    session.charge.as_ref().is_some_and(|c| c.invoice.is_some())
}

/// A charge that can be waived: something owed, not waived already, not invoiced.
fn waivable(session: &Session) -> Option<&store::Charge> {
    session.charge.as_ref().filter(|c| {
        matches!(session.status, SessionStatus::Done(_))
            && c.amount.get() > 0
            && c.waived.is_none()
            && c.invoice.is_none()
    })
}

async fn session_page(
    state: &Here,
    staff: &Staff,
    view: &PracticeView,
    session: &Session,
    values: &SessionValues,
    errors: Option<&FieldErrors>,
) -> WebResult<Response> {
    session_page_with_note(state, staff, view, session, values, errors, None).await
}

/// The session page; `draft` is a note the therapist typed that could not be saved yet.
async fn session_page_with_note(
    state: &Here,
    staff: &Staff,
    view: &PracticeView,
    session: &Session,
    values: &SessionValues,
    errors: Option<&FieldErrors>,
    draft: Option<&str>,
) -> WebResult<Response> {
    let now = state.now();
    let saved_note = if crate::notes::available(state) {
        crate::notes::on_session(state, session.client, session.id).await?
    } else {
        None
    };
    let note = context! {
        available => crate::notes::available(state),
        text => draft.map(str::to_owned).or_else(|| saved_note.as_ref().map(|n| n.text.clone())),
        saved => saved_note.as_ref().map(|n| view.when(n.updated_at)),
    };
    let contract = state
        .store()
        .contract(state.practice_id(), session.contract)
        .await?;
    let (status, tag) = status_label(session, now);
    let recorded = matches!(session.status, SessionStatus::Done(_));
    let charge = session.charge.as_ref().filter(|_| recorded).map(|c| {
        context! {
            amount => c.amount.to_string(),
            rule => c.rule.as_str(),
            waived => c.waived.as_ref().map(|(reason, at)| context! { reason => reason.as_str(), on => view.day(*at) }),
            invoiced => c.invoice.is_some(),
        }
    });
    let change =
        (contract.active && session.status == SessionStatus::Scheduled && session.start > now)
            .then(|| {
                format!(
                    "/office/clients/{}/contracts/{}/change?from={}",
                    session.client, contract.id, session.id
                )
            });
    let (list, map) = errors.map_or((Value::UNDEFINED, Value::UNDEFINED), errors_value);
    let code = if errors.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let ctx = context! {
        session => context! {
            id => session.id.get(),
            client => session.client.get(),
            client_name => session.client_name.as_str(),
            when => view.when(session.start),
            place => view.place(&session.location),
            number => number_label(Some(&contract), session),
            status, tag,
            moved_from => session.moved.then(|| view.when(session.occurrence)),
            told => session.told_at.filter(|_| recorded).map(|at| view.when(at)),
            minutes => session.end.duration_since(session.start).as_mins(),
            fee => session.fee.to_string(),
        },
        recorded,
        charge,
        can_record => session.status != SessionStatus::Break && !invoiced(session),
        can_waive => waivable(session).is_some(),
        can_move => session.status == SessionStatus::Scheduled,
        note,
        change,
        locations => value(&view.choices()),
        values => value(values),
        errors => list,
        error => map,
    };
    page(state, staff, code, "office/clients/session.html", ctx).await
}

pub(super) async fn show(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
) -> WebResult<Response> {
    let session = find_session(&state, &raw).await?;
    let view = PracticeView::load(&state).await?;
    let values = SessionValues::of(&view, &session, state.now());
    session_page(&state, &staff, &view, &session, &values, None).await
}

/// A date typed as YYYY-MM-DD (what a date input sends).
fn parse_date(raw: &str, missing: &str) -> Result<Date, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(missing.to_owned());
    }
    match raw.parse::<Date>() {
        Ok(date) if raw.len() == 10 => Ok(date),
        _ => Err("Enter the date as year, month and day, like 2027-04-12".to_owned()),
    }
}

/// A time a session can start at, typed as 09:00.
fn parse_clock(raw: &str, missing: &str) -> Result<Time, String> {
    if raw.trim().is_empty() {
        return Err(missing.to_owned());
    }
    match parse_time(raw) {
        Ok(Time::MAX) => Err("Enter a time from 00:00 to 23:59".to_owned()),
        Ok(time) => Ok(time),
        Err(e) => Err(e.0),
    }
}

/// A local date and time from two fields, as an instant; errors go to the fields.
fn parse_instant(
    view: &PracticeView,
    errors: &mut FieldErrors,
    (date_field, date_raw, date_missing): (&'static str, &str, &str),
    (time_field, time_raw, time_missing): (&'static str, &str, &str),
) -> Option<Timestamp> {
    let date = errors.check(date_field, parse_date(date_raw, date_missing));
    let time = errors.check(time_field, parse_clock(time_raw, time_missing));
    let at = view.instant(date?, time?);
    if at.is_none() {
        errors.add(date_field, "Enter a real date, like 2027-04-12");
    }
    at
}

pub(super) async fn record(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let session = find_session(&state, &raw).await?;
    let here = format!("/office/sessions/{}", session.id);
    if session.status == SessionStatus::Break || invoiced(&session) {
        return Ok(Redirect::to(&here).into_response());
    }
    let now = state.now();
    let view = PracticeView::load(&state).await?;
    let mut errors = FieldErrors::new();
    let recorded = match form.get("outcome") {
        "attended" => Some(Recorded::Attended),
        "did_not_attend" => Some(Recorded::DidNotAttend),
        "therapist_cancelled" => Some(Recorded::TherapistCancelled),
        "client_cancelled" => parse_instant(
            &view,
            &mut errors,
            (
                "told_date",
                form.get("told_date"),
                "Enter the date they told you, like 2027-04-12",
            ),
            (
                "told_time",
                form.get("told_time"),
                "Enter the time they told you, like 18:30",
            ),
        )
        .map(|told_at| Recorded::ClientCancelled { told_at }),
        _ => {
            errors.add("outcome", "Choose what happened");
            None
        }
    };
    if let Some(recorded) = recorded {
        match record_outcome(&state, &session, recorded, RecordedBy::Therapist).await {
            Ok(_) => return Ok(Redirect::to(&here).into_response()),
            Err(RecordOutcomeError::NotYet(NotRecordable::NotStarted)) => errors.add(
                "outcome",
                "You can record this once the session has started. If the client has told \
                 you they cannot come, choose “The client cancelled”",
            ),
            Err(RecordOutcomeError::NotYet(NotRecordable::ToldInFuture)) => errors.add(
                "told_date",
                "Enter when they told you: a date and time that has already passed",
            ),
            Err(RecordOutcomeError::Clash(starts)) => {
                let (dates, verb) = clash_dates(&view, &starts);
                errors.add(
                    "outcome",
                    format!(
                        "Recording this plans the rest of the work again, and {dates} {verb} \
                         with another appointment. Move that appointment first, or change the \
                         contract"
                    ),
                );
            }
            Err(RecordOutcomeError::TakenJustNow) => errors.add("outcome", TAKEN_JUST_NOW),
            // In a break or invoiced since the page was shown: it says so now. (A client's
            // changed charge cannot happen here: the therapist agreed to no charge shown.)
            Err(RecordOutcomeError::Closed | RecordOutcomeError::ChargeChanged { .. }) => {
                return Ok(Redirect::to(&here).into_response());
            }
            Err(RecordOutcomeError::Web(error)) => return Err(error),
        }
    }
    let values = SessionValues::of(&view, &session, now).with(&form);
    session_page(&state, &staff, &view, &session, &values, Some(&errors)).await
}

pub(super) async fn waive(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let session = find_session(&state, &raw).await?;
    let here = format!("/office/sessions/{}", session.id);
    let Some(charge) = waivable(&session) else {
        return Ok(Redirect::to(&here).into_response());
    };
    let mut errors = FieldErrors::new();
    let reason = errors.check(
        "reason",
        parse_text(
            form.get("reason"),
            "the reason for waiving the charge",
            500,
            true,
        ),
    );
    if let Some(reason) = reason {
        match state
            .store()
            .waive_charge(state.practice_id(), charge.id, &reason, state.now())
            .await
        {
            // Waived or invoiced a moment ago: the page shows which.
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(other) => return Err(other.into()),
        }
        return Ok(Redirect::to(&here).into_response());
    }
    let view = PracticeView::load(&state).await?;
    let values = SessionValues::of(&view, &session, state.now()).with(&form);
    session_page(&state, &staff, &view, &session, &values, Some(&errors)).await
}

pub(super) async fn move_to(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let session = find_session(&state, &raw).await?;
    let here = format!("/office/sessions/{}", session.id);
    if session.status != SessionStatus::Scheduled {
        return Ok(Redirect::to(&here).into_response());
    }
    let now = state.now();
    let view = PracticeView::load(&state).await?;
    let mut errors = FieldErrors::new();
    let start = parse_instant(
        &view,
        &mut errors,
        (
            "move_date",
            form.get("move_date"),
            "Enter the new date, like 2027-04-13",
        ),
        (
            "move_time",
            form.get("move_time"),
            "Enter the new time, like 14:00",
        ),
    );
    let location = Slug::parse(form.get("move_location"))
        .ok()
        .filter(|slug| view.locations.iter().any(|l| &l.slug == slug));
    if location.is_none() {
        errors.add("move_location", "Choose where the session will be");
    }
    if let (Some(start), Some(location)) = (start, location)
        && errors.is_empty()
    {
        match move_session(&state, &session, &location, start).await {
            // Closed: it stopped being scheduled a moment ago; the page says what it is.
            Ok(_) | Err(MoveSessionError::Closed) => {
                return Ok(Redirect::to(&here).into_response());
            }
            Err(MoveSessionError::InThePast) => errors.add(
                "move_date",
                "Choose a date and time that has not passed yet",
            ),
            Err(MoveSessionError::Clash(starts)) => {
                errors.add("move_time", clash_message(&view, &starts));
            }
            Err(MoveSessionError::TakenJustNow) => errors.add("move_time", TAKEN_JUST_NOW),
            Err(MoveSessionError::Web(error)) => return Err(error),
        }
    }
    let values = SessionValues::of(&view, &session, now).with(&form);
    session_page(&state, &staff, &view, &session, &values, Some(&errors)).await
}

/// Save the note on a session (sealed with the client's key before it is stored).
pub(super) async fn save_note(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    headers: axum::http::HeaderMap,
    form: FormData,
) -> WebResult<Response> {
    let session = find_session(&state, &raw).await?;
    let typed = form.get("note");
    let autosave = crate::notes::is_autosave(&headers);
    match crate::notes::check(typed) {
        Ok(text) if crate::notes::available(&state) => {
            let id =
                crate::notes::save(&state, session.client, Some(session.id), None, &text).await?;
            if autosave {
                return crate::notes::autosaved(&state, id).await;
            }
            Ok(
                Redirect::to(&format!("/office/sessions/{}#session-note", session.id))
                    .into_response(),
            )
        }
        outcome if autosave => Ok(crate::notes::autosave_refused(
            outcome
                .err()
                .unwrap_or("Notes are switched off on this server"),
        )),
        outcome => {
            let mut errors = FieldErrors::new();
            errors.add(
                "note",
                outcome.err().unwrap_or(
                    "Notes cannot be saved: the server was started without its key file",
                ),
            );
            let view = PracticeView::load(&state).await?;
            let values = SessionValues::of(&view, &session, state.now());
            session_page_with_note(
                &state,
                &staff,
                &view,
                &session,
                &values,
                Some(&errors),
                Some(typed),
            )
            .await
        }
    }
}
