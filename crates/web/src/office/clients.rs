//! Clients and the work with them: the client list, adding or changing a client, a client's
//! page (the contract in words, the sessions past and to come), ending the work, and what
//! came of a first consultation.
//!
//! GET pages only read. Every change is a POST answered with a redirect, or with the form
//! again (422, input kept) when something needs fixing. Agreeing or changing a contract and
//! everything about one session live in [`super::sessions`]; both share the helpers here
//! (the practice's zone and places, labels, the words for a clash). Sessions are planned with
//! [`crate::therapy::planner`], the same planner breaks use, so every plan agrees.

use axum::{
    extract::Path,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use domain::{
    FieldErrors,
    booking::BookingStatus,
    enquiry::Contact,
    therapy::{
        ContractKind, ContractTerms, WeeklyTime,
        sessions::{self as domain_sessions, SessionFacts},
    },
};
use jiff::{
    Timestamp,
    civil::{Time, Weekday},
};
use minijinja::{Value, context};
use serde::Serialize;
use store::{
    BookingId, Client, ClientId, Contract, ContractId, NewClient, NewMessage, Session, SessionId,
    SessionStatus, StoreError,
};

use super::{Staff, errors_value, page, sessions};
use crate::booking::messages::URGENT_HELP;
pub(super) use crate::words::clock;
use crate::{Here, WebError, error::WebResult, forms::FormData, templates::value, words};

crate::routing::routes! {
    GET "/office/clients" => Staff: list;
    GET "/office/clients/new" => Staff: new_form;
    POST "/office/clients/new" => Staff(ClientCreated): create;
    GET "/office/clients/{id}" => Staff(ClientViewed): show;
    GET "/office/clients/{id}/edit" => Staff(ClientViewed): edit_form;
    POST "/office/clients/{id}/edit" => Staff(ClientChanged): update;
    POST "/office/clients/{id}/notes" => Staff(NoteWritten): add_note;
    GET "/office/clients/{id}/contract/new" => Staff(ClientViewed): sessions::new_contract_form;
    POST "/office/clients/{id}/contract/new" => Staff(ContractChanged): sessions::create_contract;
    GET "/office/clients/{id}/contracts/{contract}/change" => Staff(ClientViewed): sessions::change_form;
    POST "/office/clients/{id}/contracts/{contract}/change" => Staff(ContractChanged): sessions::change_contract;
    GET "/office/clients/{id}/contracts/{contract}/end" => Staff(ClientViewed): confirm_end;
    POST "/office/clients/{id}/contracts/{contract}/end" => Staff(ContractChanged): end;
    GET "/office/bookings/{id}/outcome" => Staff(ConsultationViewed): outcome_form;
    POST "/office/bookings/{id}/outcome" => Staff(ConsultationChanged): record_consultation_outcome;
    GET "/office/sessions/{id}" => Staff(SessionViewed): sessions::show;
    POST "/office/sessions/{id}/outcome" => Staff(SessionChanged): sessions::record;
    POST "/office/sessions/{id}/waive" => Staff(SessionChanged): sessions::waive;
    POST "/office/sessions/{id}/move" => Staff(SessionChanged): sessions::move_to;
    POST "/office/sessions/{id}/note" => Staff(NoteWritten): sessions::save_note;
}

// ---- The practice as these pages need it ------------------------------------------------

pub(super) use crate::therapy::PracticeView;

// ---- Clashes in words --------------------------------------------------------------------

/// How far ahead the client list looks for each client's next session (as far as open-ended
/// work is planned).
const LOOK_AHEAD_DAYS: i64 = 400;

/// "Monday 12 April 2027 at 9am and Monday 19 April 2027 at 9am" (at most five, then how
/// many more), and the verb that goes with it.
pub(super) fn clash_dates(view: &PracticeView, starts: &[Timestamp]) -> (String, &'static str) {
    const SHOWN: usize = 5;
    let mut dates: Vec<String> = starts.iter().take(SHOWN).map(|s| view.when(*s)).collect();
    let more = starts.len().saturating_sub(SHOWN);
    if more > 0 {
        dates.push(format!(
            "{more} more session{}",
            if more == 1 { "" } else { "s" }
        ));
    }
    let list = match dates.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => dates.concat(),
    };
    (
        list,
        if starts.len() == 1 {
            "clashes"
        } else {
            "clash"
        },
    )
}

/// "Monday 12 April 2027 at 9am clashes with another appointment. …"
pub(super) fn clash_message(view: &PracticeView, starts: &[Timestamp]) -> String {
    let (dates, verb) = clash_dates(view, starts);
    format!(
        "{dates} {verb} with another appointment. Choose another time, or move the other \
         appointment first"
    )
}

// ---- Words -------------------------------------------------------------------------------

/// "09:00": a time as a form field holds it.
pub(super) fn time_field(time: Time) -> String {
    format!("{:02}:{:02}", time.hour(), time.minute())
}

/// "monday": a weekday as a form field holds it.
pub(super) fn weekday_field(day: Weekday) -> String {
    domain::practice::weekday_label(day).to_lowercase()
}

/// "Mondays at 9am", "Tuesdays at 8:15am and Thursdays at 5:30pm".
pub(super) fn regular_times(times: &[WeeklyTime]) -> String {
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
pub(super) fn work_label(terms: &ContractTerms) -> String {
    match &terms.kind {
        ContractKind::Brief { sessions, .. } => format!("Brief, {sessions} sessions"),
        ContractKind::OpenEnded { .. } => format!("Open-ended, {}", terms.frequency.label()),
    }
}

/// The terms in one line: "Brief, 12 sessions: weekly, Mondays at 10am, Balham, 50 minutes,
/// £70 a session, from 12 April 2027".
fn terms_line(view: &PracticeView, terms: &ContractTerms) -> String {
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

pub(super) use crate::therapy::number_label;

/// The status as the therapist reads it, and the colour of its tag.
pub(super) fn status_label(session: &Session, now: Timestamp) -> (&'static str, &'static str) {
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
pub(super) struct SessionRow {
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

fn session_row(
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

// ---- The client list -----------------------------------------------------------------------

#[derive(Serialize)]
struct ClientRow {
    id: ClientId,
    name: String,
    next: Option<String>,
    work: String,
}

async fn list(state: Here, staff: Staff) -> WebResult<Response> {
    let id = state.practice_id();
    let view = PracticeView::load(&state).await?;
    let clients = state.store().clients(id).await?;
    let contracts = state.store().active_contracts(id).await?;
    let now = state.now();
    let ahead = now
        .checked_add(jiff::SignedDuration::from_hours(24 * LOOK_AHEAD_DAYS))
        .unwrap_or(now);
    let upcoming = state.store().sessions_between(id, now, ahead).await?;
    let mut active = Vec::new();
    let mut ended = Vec::new();
    for client in clients {
        let contract = contracts.iter().find(|c| c.client == client.id);
        // A client whose work has ended is listed with the ended ones; one still waiting for
        // a first contract is active. Only a client with no active contract needs the rest.
        let contracts_active: Vec<bool> = match contract {
            Some(_) => vec![true],
            None => state
                .store()
                .contracts(id, client.id)
                .await?
                .iter()
                .map(|c| c.active)
                .collect(),
        };
        let finished = domain_sessions::work_has_ended(client.active, &contracts_active);
        let next = upcoming
            .iter()
            .find(|s| s.client == client.id && s.status == SessionStatus::Scheduled)
            .map(|s| format!("{}, {}", view.when_short(s.start), view.place(&s.location)));
        let work = match contract {
            Some(c) => work_label(&c.current().terms),
            None if finished => "Ended".to_owned(),
            None => "No contract yet".to_owned(),
        };
        let row = ClientRow {
            id: client.id,
            name: client.name.to_string(),
            next,
            work,
        };
        if finished {
            ended.push(row);
        } else {
            active.push(row);
        }
    }
    let to_review = super::rights::due_for_review(&state, &view).await?.len();
    let ctx = context! { working => value(&active), ended => value(&ended), to_review };
    page(
        &state,
        &staff,
        StatusCode::OK,
        "office/clients/list.html",
        ctx,
    )
    .await
}

// ---- Adding and changing a client ------------------------------------------------------------

/// The client form's fields as typed.
#[derive(Serialize)]
struct ClientValues {
    name: String,
    email: String,
    phone: String,
    contact_preference: String,
    reminders: bool,
}

impl ClientValues {
    fn from_form(form: &FormData) -> Self {
        Self {
            name: form.get("name").to_owned(),
            email: form.get("email").to_owned(),
            phone: form.get("phone").to_owned(),
            contact_preference: form.get("contact_preference").to_owned(),
            reminders: form.has("reminders"),
        }
    }

    fn of(client: &Client) -> Self {
        Self {
            name: client.name.to_string(),
            email: client.email.to_string(),
            phone: client
                .phone
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            contact_preference: client.contact_preference.as_str().to_owned(),
            reminders: client.reminders,
        }
    }
}

/// Parse the client form with the same rules as the public forms, in words for the therapist.
fn parse_client(form: &FormData) -> Result<NewClient, FieldErrors> {
    let mut errors = FieldErrors::new();
    let contact = Contact::parse(
        form.get("name"),
        form.get("email"),
        form.get("phone"),
        form.get("contact_preference"),
        &mut errors,
    );
    match contact {
        Some(c) if errors.is_empty() => Ok(NewClient {
            name: c.name,
            email: c.email,
            phone: c.phone,
            contact_preference: c.contact_preference,
            reminders: form.has("reminders"),
        }),
        _ => Err(about_the_client(&errors)),
    }
}

/// The public forms speak to the visitor ("Enter your name"); here the therapist is
/// writing about someone else.
fn about_the_client(errors: &FieldErrors) -> FieldErrors {
    let mut out = FieldErrors::new();
    for (field, message) in errors.iter() {
        let message = match (field, message) {
            ("name", "Enter your name") => "Enter the client’s name".to_owned(),
            ("email", "Enter your email address") => "Enter the client’s email address".to_owned(),
            ("contact_preference", _) => {
                "Choose how the client would like to be contacted".to_owned()
            }
            ("phone", m) if m.starts_with("Enter a phone number, or") => {
                "Enter a phone number, or choose email as the way to contact them".to_owned()
            }
            (_, m) => m.replace("your name", "the client’s name"),
        };
        out.add(field, message);
    }
    out
}

async fn client_form(
    state: &Here,
    staff: &Staff,
    client: Option<&Client>,
    values: &ClientValues,
    errors: Option<&FieldErrors>,
) -> WebResult<Response> {
    let (list, map) = errors.map_or((Value::UNDEFINED, Value::UNDEFINED), errors_value);
    let status = if errors.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let (heading, action, back) = match client {
        Some(c) => (
            format!("Change {}’s details", c.name),
            format!("/office/clients/{}/edit", c.id),
            format!("/office/clients/{}", c.id),
        ),
        None => (
            "Add a client".to_owned(),
            "/office/clients/new".to_owned(),
            "/office/clients".to_owned(),
        ),
    };
    let ctx = context! {
        heading, action, back,
        is_new => client.is_none(),
        values => value(values),
        errors => list,
        error => map,
    };
    page(state, staff, status, "office/clients/client_form.html", ctx).await
}

async fn new_form(state: Here, staff: Staff) -> WebResult<Response> {
    let values = ClientValues {
        name: String::new(),
        email: String::new(),
        phone: String::new(),
        contact_preference: "email".to_owned(),
        reminders: true,
    };
    client_form(&state, &staff, None, &values, None).await
}

async fn create(state: Here, staff: Staff, form: FormData) -> WebResult<Response> {
    match parse_client(&form) {
        Ok(client) => {
            let id = state
                .store()
                .create_client(state.practice_id(), &client, None, state.now())
                .await?;
            Ok(Redirect::to(&format!("/office/clients/{id}")).into_response())
        }
        Err(errors) => {
            client_form(
                &state,
                &staff,
                None,
                &ClientValues::from_form(&form),
                Some(&errors),
            )
            .await
        }
    }
}

/// One of the practice's clients by the id in the URL; anything else is "not found".
pub(super) async fn find_client(state: &Here, raw: &str) -> WebResult<Client> {
    let id = ClientId::parse(raw).ok_or(WebError::NotFound)?;
    Ok(state.store().client(state.practice_id(), id).await?)
}

async fn edit_form(state: Here, staff: Staff, Path(raw): Path<String>) -> WebResult<Response> {
    let client = find_client(&state, &raw).await?;
    client_form(
        &state,
        &staff,
        Some(&client),
        &ClientValues::of(&client),
        None,
    )
    .await
}

async fn update(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let client = find_client(&state, &raw).await?;
    match parse_client(&form) {
        Ok(details) => {
            state
                .store()
                .update_client(state.practice_id(), client.id, &details, state.now())
                .await?;
            Ok(Redirect::to(&format!("/office/clients/{}", client.id)).into_response())
        }
        Err(errors) => {
            client_form(
                &state,
                &staff,
                Some(&client),
                &ClientValues::from_form(&form),
                Some(&errors),
            )
            .await
        }
    }
}

// ---- A client's page -------------------------------------------------------------------------

/// One line of a summary list.
#[derive(Serialize)]
struct Row {
    label: &'static str,
    text: String,
    tag: Option<&'static str>,
}

fn row(label: &'static str, text: impl Into<String>) -> Row {
    Row {
        label,
        text: text.into(),
        tag: None,
    }
}

#[derive(Serialize)]
struct EarlierVersion {
    from: String,
    terms: String,
    note: String,
}

/// The active contract as the client's page tells it.
#[derive(Serialize)]
struct Work {
    id: ContractId,
    heading: &'static str,
    focus: Option<String>,
    rows: Vec<Row>,
    review_due: bool,
    earlier: Vec<EarlierVersion>,
    /// The next session, where "Change from a date" starts by default.
    next: Option<SessionId>,
    /// Brief work: the start of its last session, to which the page lists sessions to come.
    #[serde(skip)]
    planned_ending: Option<Timestamp>,
}

fn work(view: &PracticeView, contract: &Contract, sessions: &[Session], now: Timestamp) -> Work {
    let current = contract.current();
    let terms = &current.terms;
    let own: Vec<&Session> = sessions
        .iter()
        .filter(|s| s.contract == contract.id)
        .collect();
    let facts: Vec<SessionFacts> = own.iter().map(|s| s.facts()).collect();
    let progress = domain_sessions::progress(terms, &facts, now, view.today(now));
    let next = progress.next.map(|i| own[i]);
    let mut rows = Vec::new();
    let next_text = next.map_or_else(
        || "None planned".to_owned(),
        |s| {
            let number = number_label(Some(contract), s);
            let when = format!("{}, {}", view.when(s.start), view.place(&s.location));
            if number.is_empty() {
                when
            } else {
                format!("{number}: {when}")
            }
        },
    );
    rows.push(row("Next session", next_text));
    let review_tag = progress.review_due.then_some("Review due");
    let focus = match &terms.kind {
        ContractKind::Brief {
            focus,
            sessions: total,
            reviews_at,
        } => {
            let remaining = progress.remaining.unwrap_or(0);
            let mut remaining_row = row("Sessions remaining", format!("{remaining} of {total}"));
            // The ending is part of the work: flag it while there is time to prepare for it.
            remaining_row.tag = progress.ending_soon.then_some("Ending soon");
            rows.push(remaining_row);
            rows.push(row(
                "Planned ending",
                progress
                    .planned_ending
                    .map_or_else(|| "Not planned yet".to_owned(), |at| view.day(at)),
            ));
            let reviews: Vec<String> = reviews_at
                .iter()
                .map(|n| match own.iter().find(|s| s.number == Some(*n)) {
                    Some(s) => format!("session {n} ({})", view.day(s.start)),
                    None => format!("session {n}"),
                })
                .collect();
            let mut reviews_row = row(
                "Reviews",
                if reviews.is_empty() {
                    "None agreed".to_owned()
                } else {
                    capitalise(&reviews.join(", "))
                },
            );
            reviews_row.tag = review_tag;
            rows.push(reviews_row);
            Some(focus.clone())
        }
        ContractKind::OpenEnded { review_every_weeks } => {
            let mut review_row = row(
                "Next review",
                match progress.next_review {
                    Some(d) => format!(
                        "{} (every {review_every_weeks} week{})",
                        words::weekday_date(d),
                        if *review_every_weeks == 1 { "" } else { "s" }
                    ),
                    None => format!("Every {review_every_weeks} weeks"),
                },
            );
            review_row.tag = review_tag;
            rows.push(review_row);
            None
        }
    };
    rows.push(row(
        "When",
        capitalise(&format!(
            "{}: {}",
            terms.frequency.label(),
            regular_times(&terms.times)
        )),
    ));
    rows.push(row("Where", view.place(&terms.location)));
    rows.push(row("Length", format!("{} minutes", terms.minutes)));
    rows.push(row("Fee", format!("{} a session", terms.fee)));
    rows.push(row("Started", words::weekday_date(terms.start)));
    rows.push(row(
        "Cancellation policy",
        format!("Version {}", terms.policy_version),
    ));
    if !current.note.is_empty() {
        rows.push(row(
            "Last change",
            format!(
                "From {}: {}",
                view.day(current.effective_from),
                current.note
            ),
        ));
    }
    let earlier = contract
        .versions
        .iter()
        .rev()
        .skip(1)
        .map(|v| EarlierVersion {
            from: view.day(v.effective_from),
            terms: terms_line(view, &v.terms),
            note: v.note.clone(),
        })
        .collect();
    Work {
        id: contract.id,
        heading: match terms.kind {
            ContractKind::Brief { .. } => "Brief work",
            ContractKind::OpenEnded { .. } => "Open-ended work",
        },
        focus,
        rows,
        review_due: progress.review_due,
        earlier,
        next: next.map(|s| s.id),
        planned_ending: progress.planned_ending,
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// How many past sessions a client's page shows before "Show all".
const RECENT_PAST: u32 = 20;

/// How many upcoming sessions a client's page lists (for brief work: all to the ending).
const COMING_SHOWN: u32 = 12;

#[derive(serde::Deserialize)]
struct ShowQuery {
    past: Option<String>,
    note_error: Option<String>,
}

async fn show(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    crate::query::Query(q): crate::query::Query<ShowQuery>,
) -> WebResult<Response> {
    let client = find_client(&state, &raw).await?;
    let id = state.practice_id();
    let now = state.now();
    // The record's parts do not depend on each other: ask for them together (the reader
    // pool has several connections), in two rounds.
    let (view, contracts, opened, invoices, balance) = tokio::try_join!(
        PracticeView::load(&state),
        async { Ok(state.store().contracts(id, client.id).await?) },
        async {
            // Without the key file the rest of the record still shows; the notes say they
            // are locked.
            if crate::notes::available(&state) {
                crate::notes::all(&state, client.id).await
            } else {
                Ok(Vec::new())
            }
        },
        async { Ok(state.store().invoices(id, Some(client.id)).await?) },
        async { Ok(state.store().balance(id, client.id).await?) },
    )?;
    let all_past = q.past.as_deref() == Some("all");
    let brief_active = contracts
        .iter()
        .any(|c| c.active && matches!(c.current().terms.kind, ContractKind::Brief { .. }));
    let (around, seen_by, rights) = tokio::try_join!(
        async {
            Ok(state
                .store()
                .client_sessions_around(
                    id,
                    client.id,
                    now,
                    // Brief work lists every session to the planned ending; otherwise the
                    // next few.
                    (!brief_active).then_some(COMING_SHOWN),
                    (!all_past).then_some(RECENT_PAST),
                )
                .await?)
        },
        record_access(&state, &view, client.id),
        super::rights::client_section(&state, &view, &client),
    )?;
    // Earliest first, as the work's summary reads them.
    let sessions: Vec<Session> = around
        .past
        .iter()
        .rev()
        .chain(&around.coming)
        .cloned()
        .collect();
    let active = contracts.iter().find(|c| c.active);
    let current = active.map(|c| work(&view, c, &sessions, now));
    let ended: Vec<String> = contracts
        .iter()
        .filter(|c| !c.active)
        .map(|c| terms_line(&view, &c.current().terms))
        .collect();
    // The next 12 sessions; brief work lists every one up to its planned ending.
    let ending = current.as_ref().and_then(|w| w.planned_ending);
    let coming: Vec<SessionRow> = sessions
        .iter()
        .filter(|s| s.start > now)
        .enumerate()
        .take_while(|(i, s)| *i < COMING_SHOWN as usize || ending.is_some_and(|end| s.start <= end))
        .map(|(_, s)| session_row(&view, &contracts, s, now))
        .collect();
    let past_count = around.past_total;
    let past: Vec<SessionRow> = around
        .past
        .iter()
        .map(|s| session_row(&view, &contracts, s, now))
        .collect();
    let general_notes: Vec<Value> = opened
        .iter()
        .filter(|n| n.session.is_none())
        .map(|n| {
            context! {
                html => domain::markdown::to_html(&n.text),
                written => view.when(n.created_at),
                changed => (n.updated_at != n.created_at).then(|| view.when(n.updated_at)),
            }
        })
        .collect();
    let session_notes = opened.iter().filter(|n| n.session.is_some()).count();
    let today = view.today(now);
    let invoice_rows: Vec<_> = invoices
        .iter()
        .map(|i| {
            context! {
                id => i.id.get(),
                number => i.number,
                period => i.period.clone(),
                total => i.total.to_string(),
                status => match i.paid_on {
                    Some(day) => format!("Paid {}", words::date(day)),
                    None if i.due_on < today => "Overdue".to_owned(),
                    None => format!("Due {}", words::date(i.due_on)),
                },
                overdue => i.paid_on.is_none() && i.due_on < today,
            }
        })
        .collect();
    let ctx = context! {
        client => context! {
            id => client.id.get(),
            name => client.name.as_str(),
            email => client.email.as_str(),
            phone => client.phone.as_ref().map(|p| p.as_str().to_owned()),
            contact_preference => client.contact_preference.as_str(),
            reminders => client.reminders,
            consultation => client.consultation.map(BookingId::get),
            since => view.day(client.created_at),
        },
        work => value(&current),
        ended => value(&ended),
        coming => value(&coming),
        past => value(&past),
        past_count,
        all_past,
        invoices => invoice_rows,
        invoiced_unpaid => balance.invoiced_unpaid.to_string(),
        not_invoiced => balance.not_invoiced.to_string(),
        owes => balance.invoiced_unpaid.get() + balance.not_invoiced.get() > 0,
        can_invoice => balance.not_invoiced.get() > 0,
        notes => general_notes,
        session_notes,
        notes_available => crate::notes::available(&state),
        note_error => q.note_error.as_deref().map(|_| "Write the note before saving it"),
        seen_by,
        rights,
    };
    page(
        &state,
        &staff,
        StatusCode::OK,
        "office/clients/client.html",
        ctx,
    )
    .await
}

/// "Who has seen this record": each person who opened or changed it, and the latest entries.
async fn record_access(state: &Here, view: &PracticeView, client: ClientId) -> WebResult<Value> {
    let when = |at: jiff::Timestamp| words::date_and_time(view.zone.to_datetime(at));
    let (access, latest) = tokio::try_join!(
        state.store().record_access(state.practice_id(), client),
        state.store().client_audit(state.practice_id(), client, 20),
    )?;
    let entries: Vec<_> = latest
        .into_iter()
        .map(|e| {
            let who = access
                .iter()
                .find(|a| a.actor == e.actor)
                .map_or("Anteroom", |a| a.name.as_str());
            context! { when => when(e.at), what => e.label(), who }
        })
        .collect();
    let people: Vec<_> = access
        .iter()
        .map(|a| context! { name => a.name.as_str(), count => a.count, last => when(a.last_at) })
        .collect();
    Ok(context! { people, entries })
}

// ---- Ending the work -------------------------------------------------------------------------

/// The client and one of their contracts, by the ids in the URL.
pub(super) async fn find_contract(
    state: &Here,
    raw_client: &str,
    raw_contract: &str,
) -> WebResult<(Client, Contract)> {
    let client = find_client(state, raw_client).await?;
    let id = ContractId::parse(raw_contract).ok_or(WebError::NotFound)?;
    let contract = state.store().contract(state.practice_id(), id).await?;
    if contract.client != client.id {
        return Err(WebError::NotFound);
    }
    Ok((client, contract))
}

async fn confirm_end(
    state: Here,
    staff: Staff,
    Path((raw_client, raw_contract)): Path<(String, String)>,
) -> WebResult<Response> {
    let (client, contract) = find_contract(&state, &raw_client, &raw_contract).await?;
    let back = format!("/office/clients/{}", client.id);
    if !contract.active {
        return Ok(Redirect::to(&back).into_response());
    }
    let ctx = context! {
        title => format!("End the work with {}?", client.name),
        warning => "Sessions that have not happened yet are removed from your calendar. Sessions that have happened, their outcomes and charges are kept, and so is the contract with every version. The client is not emailed.",
        action => format!("/office/clients/{}/contracts/{}/end", client.id, contract.id),
        button => "Yes, end this work",
        back,
    };
    page(
        &state,
        &staff,
        StatusCode::OK,
        "office/confirm_delete.html",
        ctx,
    )
    .await
}

async fn end(
    state: Here,
    _staff: Staff,
    Path((raw_client, raw_contract)): Path<(String, String)>,
) -> WebResult<Response> {
    let (client, contract) = find_contract(&state, &raw_client, &raw_contract).await?;
    match state
        .store()
        .end_contract(state.practice_id(), contract.id, state.now())
        .await
    {
        // Already ended (a second click): nothing more to do.
        Ok(()) | Err(StoreError::NotFound) => {}
        Err(other) => return Err(other.into()),
    }
    state.booking_changed();
    Ok(Redirect::to(&format!("/office/clients/{}", client.id)).into_response())
}

// ---- What came of a consultation -------------------------------------------------------------

const WORKING_TOGETHER: &str = "working_together";

/// The therapist's default words when a consultation does not lead to work together:
/// short, warm, leaving the door open, signed with their name.
fn default_not_going_ahead(view: &PracticeView, booking: &store::Booking) -> String {
    format!(
        "Thank you for meeting me on {}. As we discussed, we will not be going on to work \
         together for now.\n\nI hope things go well for you. If it would help to talk about \
         finding support elsewhere, or if you would like to come back to this in the future, \
         you are very welcome to get in touch.\n\nWith best wishes,\n{}",
        words::weekday_day_month(view.zone.to_datetime(booking.start).date()),
        view.practice.therapist.name
    )
}

/// The message to the visitor: their name, the therapist's words, where to find help, the
/// practice. The subject names only the practice.
fn not_going_ahead_message(
    view: &PracticeView,
    booking: &store::Booking,
    words: &str,
) -> NewMessage {
    let practice = &view.practice.details.name;
    NewMessage {
        kind: "consultation_not_going_ahead".into(),
        to: booking.visitor.email.clone(),
        subject: format!("Your consultation with {practice}"),
        body_text: format!(
            "Dear {},\n\n{}\n\nIf you ever need help urgently: {URGENT_HELP}\n\n{practice}\n",
            booking.visitor.name,
            words.trim()
        ),
        calendar: None,
    }
}

async fn load_consultation(state: &Here, raw: &str) -> WebResult<store::Booking> {
    let id = BookingId::parse(raw).ok_or(WebError::NotFound)?;
    Ok(state.store().booking(state.practice_id(), id).await?)
}

#[allow(clippy::too_many_arguments)]
async fn outcome_page(
    state: &Here,
    staff: &Staff,
    view: &PracticeView,
    booking: &store::Booking,
    choice: &str,
    words: &str,
    send: bool,
    errors: Option<&FieldErrors>,
) -> WebResult<Response> {
    let recorded = state
        .store()
        .consultation_outcome(state.practice_id(), booking.id)
        .await?;
    let client = match &recorded {
        Some((_, Some(client))) => Some(state.store().client(state.practice_id(), *client).await?),
        _ => None,
    }
    .map(|c| context! { id => c.id.get(), name => c.name.as_str() });
    // Usually recorded after the consultation; a therapist who has already agreed the work
    // (on the phone, say) can record it before.
    let ready = booking.status == BookingStatus::Confirmed;
    let upcoming = booking.start > state.now();
    let (list, map) = errors.map_or((Value::UNDEFINED, Value::UNDEFINED), errors_value);
    let status = if errors.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let ctx = context! {
        booking => value(booking),
        when => view.when(booking.start),
        outcome => recorded.as_ref().map(|(o, _)| o.clone()),
        client,
        ready,
        upcoming,
        choice, words, send,
        errors => list,
        error => map,
    };
    page(state, staff, status, "office/clients/outcome.html", ctx).await
}

async fn outcome_form(state: Here, staff: Staff, Path(raw): Path<String>) -> WebResult<Response> {
    let booking = load_consultation(&state, &raw).await?;
    let view = PracticeView::load(&state).await?;
    let words = default_not_going_ahead(&view, &booking);
    outcome_page(&state, &staff, &view, &booking, "", &words, true, None).await
}

async fn record_consultation_outcome(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let booking = load_consultation(&state, &raw).await?;
    let here = format!("/office/bookings/{}/outcome", booking.id);
    let id = state.practice_id();
    let now = state.now();
    let ready = booking.status == BookingStatus::Confirmed;
    if !ready
        || state
            .store()
            .consultation_outcome(id, booking.id)
            .await?
            .is_some()
    {
        return Ok(Redirect::to(&here).into_response());
    }
    let view = PracticeView::load(&state).await?;
    let choice = form.get("outcome");
    let send = form.has("send");
    let mut errors = FieldErrors::new();
    match choice {
        WORKING_TOGETHER => {
            let visitor = &booking.visitor;
            let client = NewClient {
                name: visitor.name.clone(),
                email: visitor.email.clone(),
                phone: visitor.phone.clone(),
                contact_preference: visitor.contact_preference,
                reminders: true,
            };
            return match state
                .store()
                .create_client(id, &client, Some(booking.id), now)
                .await
            {
                Ok(client) => Ok(
                    Redirect::to(&format!("/office/clients/{client}/contract/new")).into_response(),
                ),
                // Recorded a moment ago (another tab): the page says what it was.
                Err(StoreError::NotFound) => Ok(Redirect::to(&here).into_response()),
                Err(other) => Err(other.into()),
            };
        }
        store::NOT_GOING_AHEAD => {
            let words = if send {
                errors.check(
                    "words",
                    domain::text::parse_text(form.get("words"), "a message to send", 3000, true),
                )
            } else {
                None
            };
            if errors.is_empty() {
                let messages: Vec<NewMessage> = words
                    .map(|w| not_going_ahead_message(&view, &booking, &w))
                    .into_iter()
                    .collect();
                match state
                    .store()
                    .consultation_not_going_ahead(id, booking.id, &messages, now)
                    .await
                {
                    Ok(()) | Err(StoreError::NotFound) => {}
                    Err(other) => return Err(other.into()),
                }
                if !messages.is_empty() {
                    state.mail_queued();
                }
                return Ok(Redirect::to(&here).into_response());
            }
        }
        _ => errors.add("outcome", "Choose what came of the consultation"),
    }
    outcome_page(
        &state,
        &staff,
        &view,
        &booking,
        choice,
        form.get("words"),
        send,
        Some(&errors),
    )
    .await
}

/// Add a general note on a client (sealed with their key before it is stored).
async fn add_note(
    state: Here,
    _staff: Staff,
    Path(raw): Path<String>,
    headers: axum::http::HeaderMap,
    form: FormData,
) -> WebResult<Response> {
    let client = find_client(&state, &raw).await?;
    let autosave = crate::notes::is_autosave(&headers);
    // A general note the notes script already saved once is changed, not added again.
    let existing = match form.get("note_id").trim() {
        "" => None,
        raw => Some(store::NoteId::parse(raw).ok_or(WebError::NotFound)?),
    };
    match crate::notes::check(form.get("note")) {
        Ok(text) if crate::notes::available(&state) => {
            let id = crate::notes::save(&state, client.id, None, existing, &text).await?;
            if autosave {
                return crate::notes::autosaved(&state, id).await;
            }
            Ok(Redirect::to(&format!("/office/clients/{}#notes", client.id)).into_response())
        }
        outcome if autosave => Ok(crate::notes::autosave_refused(
            outcome
                .err()
                .unwrap_or("Notes are switched off on this server"),
        )),
        _ => Ok(
            Redirect::to(&format!("/office/clients/{}?note_error=1#notes", client.id))
                .into_response(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_regular_times_read_as_people_say_them() {
        assert_eq!(clock(jiff::civil::time(9, 0, 0, 0)), "9am");
        assert_eq!(clock(jiff::civil::time(17, 30, 0, 0)), "5:30pm");
        assert_eq!(clock(jiff::civil::time(0, 5, 0, 0)), "12:05am");
        let times = [
            WeeklyTime {
                weekday: Weekday::Tuesday,
                time: jiff::civil::time(8, 15, 0, 0),
            },
            WeeklyTime {
                weekday: Weekday::Thursday,
                time: jiff::civil::time(17, 30, 0, 0),
            },
        ];
        assert_eq!(
            regular_times(&times),
            "Tuesdays at 8:15am and Thursdays at 5:30pm"
        );
    }

    #[test]
    fn therapist_wording_for_client_errors() {
        let mut errors = FieldErrors::new();
        errors.add("name", "Enter your name");
        errors.add(
            "contact_preference",
            "Choose how you would like me to contact you",
        );
        let out = about_the_client(&errors);
        assert_eq!(out.get("name"), Some("Enter the client’s name"));
        assert_eq!(
            out.get("contact_preference"),
            Some("Choose how the client would like to be contacted")
        );
    }
}
