//! What a signed-in client sees and does: their coming sessions (with calendar files),
//! cancelling one with the policy's outcome explained first, invoices, contact details
//! (a new email address through [`email_change`]).

use axum::{
    extract::Path,
    http::{StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use domain::{
    FieldErrors, Pence,
    enquiry::Contact,
    therapy::{
        outcome::NewCharge,
        policy::{CancellationPolicy, Outcome, Recorded},
    },
};
use jiff::{SignedDuration, Timestamp};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};
use store::{
    Invoice, InvoiceId, NewMessage, OwnDetails, Session, SessionId, SessionStatus, StoreError,
};

use super::{PortalClient, Source, email_change, portal_page};
use crate::operations::record_outcome::{RecordOutcomeError, RecordedBy, record_outcome};
use crate::query::Query;
use crate::{
    Here, WebError,
    booking::messages::URGENT_HELP,
    error::WebResult,
    forms::FormData,
    office::errors_value,
    templates::value,
    therapy::{self, PracticeView, number_label},
};

/// How many coming sessions the portal lists.
const COMING_SHOWN: u32 = 6;

/// Where a session is, as the client reads it.
fn place(view: &PracticeView, session: &Session) -> (String, bool) {
    match view.locations.iter().find(|l| l.slug == session.location) {
        Some(location) if location.online => ("Online, by video".to_owned(), true),
        Some(location) => {
            let mut parts = vec![location.name.clone()];
            parts.extend(location.address_lines.iter().cloned());
            if let Some(postcode) = &location.postcode {
                parts.push(postcode.to_string());
            }
            (parts.join(", "), false)
        }
        None => (view.place(&session.location), false),
    }
}

/// A client may cancel a session that is still booked and has not started.
fn cancellable(session: &Session, now: Timestamp) -> bool {
    session.status == SessionStatus::Scheduled && session.start > now
}

/// The session's state in the client's words.
fn state_label(session: &Session) -> &'static str {
    match session.status {
        SessionStatus::Scheduled => "Booked",
        SessionStatus::Break => "Not taking place: the practice is closed for a break",
        SessionStatus::Done(Outcome::CancelledByTherapist) => "Cancelled by the practice",
        SessionStatus::Done(Outcome::CancelledInTime | Outcome::LateCancellation) => "Cancelled",
        SessionStatus::Done(Outcome::Attended) => "Attended",
        SessionStatus::Done(Outcome::DidNotAttend) => "Missed",
    }
}

#[derive(Serialize)]
struct SessionRow {
    id: SessionId,
    when: String,
    place: String,
    online: bool,
    number: String,
    state: &'static str,
    booked: bool,
    can_cancel: bool,
    charge: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct HomeQuery {
    cancelled: Option<String>,
    /// "stopped" or "resumed", after the client changed whether they are sent questionnaires.
    questionnaires: Option<String>,
}

pub(super) async fn home(
    state: Here,
    me: PortalClient,
    Query(q): Query<HomeQuery>,
) -> WebResult<Response> {
    let practice = state.practice_id();
    let now = state.now();
    let view = PracticeView::load(&state).await?;
    let around = state
        .store()
        .client_sessions_around(practice, me.client.id, now, Some(COMING_SHOWN), Some(0))
        .await?;
    let contracts = state.store().contracts(practice, me.client.id).await?;
    let rows: Vec<SessionRow> = around
        .coming
        .iter()
        .map(|s| {
            let contract = contracts.iter().find(|c| c.id == s.contract);
            let (place, online) = place(&view, s);
            SessionRow {
                id: s.id,
                when: view.when(s.start),
                place,
                online,
                number: number_label(contract, s),
                state: state_label(s),
                booked: s.status == SessionStatus::Scheduled,
                can_cancel: cancellable(s, now),
                charge: s
                    .charge
                    .as_ref()
                    .filter(|c| c.owed().get() > 0)
                    .map(|c| c.owed().to_string()),
            }
        })
        .collect();
    // "Session cancelled", after a cancellation: only about a session of theirs.
    let cancelled = match q.cancelled.as_deref().and_then(SessionId::parse) {
        Some(id) => match state.store().therapy_session(practice, id).await {
            Ok(s) if s.client == me.client.id => Some(view.when(s.start)),
            Ok(_) | Err(StoreError::NotFound) => None,
            Err(other) => return Err(other.into()),
        },
        None => None,
    };
    let first_name = me
        .client
        .name
        .as_str()
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_owned();
    let measures = super::measures::home_section(&state, &view, &me, &around.coming).await?;
    let ctx = context! {
        first_name,
        measures,
        questionnaires => q.questionnaires.as_deref(),
        sessions => value(&rows),
        more => around.coming.len() >= COMING_SHOWN as usize,
        cancelled,
        practice_name => view.practice.details.name.clone(),
    };
    portal_page(
        &state,
        StatusCode::OK,
        "portal/home.html",
        "/portal",
        true,
        ctx,
    )
    .await
}

/// One of this client's sessions by the id in the URL. Anyone else's (or none) is "not
/// found", and asking for one that exists but is not theirs is written down as refused.
async fn own_session(
    state: &Here,
    me: &PortalClient,
    source: Source,
    raw: &str,
) -> WebResult<Session> {
    let id = SessionId::parse(raw).ok_or(WebError::NotFound)?;
    let found = state.store().therapy_session(state.practice_id(), id).await;
    me.own(state, source, ("session", id.get()), found, |s| s.client)
        .await
}

/// The session as a calendar file: a plain event that names only the practice.
pub(super) async fn calendar(
    state: Here,
    me: PortalClient,
    source: Source,
    Path(raw): Path<String>,
) -> WebResult<Response> {
    let session = own_session(&state, &me, source, &raw).await?;
    let view = PracticeView::load(&state).await?;
    let event = session_event(&state, &view, &session, None);
    let ics = mail::ics::calendar(mail::ics::Method::Publish, &[event], state.now(), None);
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"appointment.ics\"",
            ),
        ],
        ics,
    )
        .into_response())
}

/// The calendar event for a session; `cancelled` gives the event's next sequence number
/// when it is being cancelled.
fn session_event(
    state: &Here,
    view: &PracticeView,
    session: &Session,
    cancelled: Option<u32>,
) -> mail::ics::Event {
    let practice = &view.practice.details.name;
    let therapist = view.practice.therapist.name.to_string();
    let (place, _) = place(view, session);
    let status = match (cancelled, session.status) {
        (None, SessionStatus::Scheduled) => "CONFIRMED",
        _ => "CANCELLED",
    };
    mail::ics::Event {
        uid: session.uid.clone(),
        sequence: cancelled.unwrap_or(session.sequence),
        start: session.start,
        end: session.end,
        summary: format!("Appointment with {therapist}"),
        location: place,
        description: format!(
            "Your appointment with {practice}.\nTo see or cancel your appointments: {}/portal/sign-in",
            state.public_url()
        ),
        status,
        organizer: None,
        attendee: None,
    }
}

// ---- Cancelling --------------------------------------------------------------------------

/// "48 hours", "1 hour".
fn hours(n: u32) -> String {
    if n == 1 {
        "1 hour".to_owned()
    } else {
        format!("{n} hours")
    }
}

/// What cancelling now means, before the client confirms: a headline and the charge.
fn explanation(
    policy: &CancellationPolicy,
    assessment: &NewCharge,
    notice: SignedDuration,
) -> String {
    let version = policy.version;
    let required = SignedDuration::from_hours(i64::from(policy.notice_hours));
    match assessment.outcome {
        Outcome::CancelledInTime if policy.notice_hours == 0 => {
            "Your session has not started yet, so there is no charge.".to_owned()
        }
        Outcome::CancelledInTime if notice >= required => format!(
            "This is more than {} before your session, so there is no charge.",
            hours(policy.notice_hours)
        ),
        Outcome::CancelledInTime => format!(
            "This is within the notice the practice's cancellation policy (version {version}) \
             allows, so there is no charge."
        ),
        _ => {
            let late = format!(
                "This is less than {} before your session, so the practice's cancellation \
                 policy (version {version}) applies",
                hours(policy.notice_hours)
            );
            if assessment.amount.get() > 0 {
                format!("{late}: {}.", assessment.amount)
            } else if assessment.used_free_allowance {
                format!(
                    "{late}. You have a free late cancellation left, so there is no charge; \
                     cancelling now uses it."
                )
            } else {
                format!("{late}, but there is no charge.")
            }
        }
    }
}

/// The policy's view of cancelling `session` now.
async fn assess_now(state: &Here, session: &Session) -> WebResult<(CancellationPolicy, NewCharge)> {
    let contract = state
        .store()
        .contract(state.practice_id(), session.contract)
        .await?;
    let recorded = Recorded::ClientCancelled {
        told_at: state.now(),
    };
    therapy::charge_for_session(state, &contract, session, recorded).await
}

/// The "are you sure?" page, with the outcome explained; `notice` says why it is shown again.
async fn cancel_page(
    state: &Here,
    session: &Session,
    policy: &CancellationPolicy,
    assessment: &NewCharge,
    status: StatusCode,
    notice: Option<&str>,
) -> WebResult<Response> {
    let view = PracticeView::load(state).await?;
    let (place, online) = place(&view, session);
    let ctx = context! {
        id => session.id.get(),
        when => view.when(session.start),
        place,
        online,
        explanation => explanation(policy, assessment, session.start.duration_since(state.now())),
        charge => assessment.amount.get(),
        charged => assessment.amount.get() > 0,
        rule => assessment.rule.as_str(),
        summary => policy.summary(),
        notice,
    };
    portal_page(
        state,
        status,
        "portal/cancel.html",
        "/portal/sessions",
        true,
        ctx,
    )
    .await
}

pub(super) async fn confirm_cancel(
    state: Here,
    me: PortalClient,
    source: Source,
    Path(raw): Path<String>,
) -> WebResult<Response> {
    let session = own_session(&state, &me, source, &raw).await?;
    if !cancellable(&session, state.now()) {
        return Ok(Redirect::to("/portal").into_response());
    }
    let (policy, assessment) = assess_now(&state, &session).await?;
    cancel_page(&state, &session, &policy, &assessment, StatusCode::OK, None).await
}

/// The neutral notice to the therapist: which session, and what the policy said. Nothing the
/// client wrote, and not even their name: the link shows who it was.
fn therapist_notice(
    state: &Here,
    view: &PracticeView,
    session: &Session,
    assessment: &NewCharge,
) -> NewMessage {
    NewMessage {
        kind: "portal_cancellation_notice".into(),
        to: view.practice.details.notify_email.clone(),
        subject: "A session has been cancelled".into(),
        body_text: format!(
            "A client has cancelled the session on {when}, {place}, through the client portal.\n\n\
             {rule}\n\nSee it in your back office: {url}/office/sessions/{id}\n\n\
             -- \nSent by Anteroom for your practice website.\n",
            when = view.when(session.start),
            place = view.place(&session.location),
            rule = assessment.rule,
            url = state.public_url(),
            id = session.id,
        ),
        calendar: None,
    }
}

/// The client's confirmation, with the charge (if any) and a calendar file removing it.
fn client_confirmation(
    state: &Here,
    view: &PracticeView,
    me: &PortalClient,
    session: &Session,
    policy: &CancellationPolicy,
    assessment: &NewCharge,
) -> NewMessage {
    let practice = &view.practice.details.name;
    let when = view.when(session.start);
    let first_name = me
        .client
        .name
        .as_str()
        .split_whitespace()
        .next()
        .unwrap_or("");
    let charge = if assessment.amount.get() > 0 {
        format!(
            "Under the practice's cancellation policy (version {}), there is a charge of {}. \
             {}",
            policy.version, assessment.amount, assessment.rule
        )
    } else {
        "There is no charge.".to_owned()
    };
    let event = session_event(state, view, session, Some(session.sequence + 1));
    let calendar = Some(store::CalendarAttachment {
        method: mail::ics::Method::Cancel.as_str().to_owned(),
        ics: mail::ics::calendar(mail::ics::Method::Cancel, &[event], state.now(), None),
    });
    NewMessage {
        kind: "portal_cancellation".into(),
        to: me.client.email.clone(),
        subject: format!("Cancelled: your appointment on {when}"),
        body_text: format!(
            "Dear {first_name},\n\nYour appointment on {when} (UK time) has been cancelled, as \
             you asked.\n\n{charge}\n\nYou can see your other appointments at any time: \
             {url}/portal/sign-in\n\nIf you need help urgently: {URGENT_HELP}\n\n{practice}\n",
            url = state.public_url(),
        ),
        calendar,
    }
}

pub(super) async fn cancel(
    state: Here,
    me: PortalClient,
    source: Source,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let session = own_session(&state, &me, source, &raw).await?;
    let now = state.now();
    if !cancellable(&session, now) {
        return Ok(Redirect::to("/portal").into_response());
    }
    // What the page showed them, for the notice if cancelling online fails.
    let (policy, assessment) = assess_now(&state, &session).await?;
    // The client agreed to what the page showed; if time has moved the charge since, they
    // see the new one and confirm again (the operation compares).
    let shown = form.get("charge").parse::<u32>().ok();
    let view = PracticeView::load(&state).await?;
    let emails = |policy: &CancellationPolicy, charge: &NewCharge| {
        vec![
            therapist_notice(&state, &view, &session, charge),
            client_confirmation(&state, &view, &me, &session, policy, charge),
        ]
    };
    let by = RecordedBy::Client {
        client: me.client.id,
        shown,
        emails: &emails,
    };
    let recorded = Recorded::ClientCancelled { told_at: now };
    match record_outcome(&state, &session, recorded, by).await {
        Ok(_) => {
            tracing::info!(
                session = session.id.get(),
                "session cancelled in the portal"
            );
            Ok(Redirect::to(&format!("/portal?cancelled={}", session.id)).into_response())
        }
        // Cancelled, begun, put in a break or invoiced a moment ago: the list says how
        // things stand.
        Err(RecordOutcomeError::Closed) => Ok(Redirect::to("/portal").into_response()),
        // Time moved the charge on between the two checks: they see the new one.
        Err(RecordOutcomeError::ChargeChanged { policy, charge }) => {
            let notice = "Time has moved on since the page was shown, and what cancelling means \
                          has changed. Please read it again before you confirm.";
            cancel_page(
                &state,
                &session,
                &policy,
                &charge,
                StatusCode::CONFLICT,
                Some(notice),
            )
            .await
        }
        // Planning the rest of the work again clashes with another appointment: the
        // therapist has to sort that out, so the client is asked to tell them instead.
        Err(
            RecordOutcomeError::Clash(_)
            | RecordOutcomeError::TakenJustNow
            | RecordOutcomeError::NotYet(_),
        ) => {
            let notice = "This session could not be cancelled online just now. Please \
                          contact the practice to cancel it; nothing has been changed.";
            cancel_page(
                &state,
                &session,
                &policy,
                &assessment,
                StatusCode::CONFLICT,
                Some(notice),
            )
            .await
        }
        Err(RecordOutcomeError::Web(error)) => Err(error),
    }
}

// ---- Invoices ----------------------------------------------------------------------------

#[derive(Serialize)]
struct InvoiceRow {
    id: InvoiceId,
    number: u32,
    period: String,
    issued_on: String,
    total: Pence,
    paid: bool,
    overdue: bool,
}

/// "Download your data": the same export the practice makes for a subject access request.
pub(super) async fn data(state: Here, me: PortalClient) -> WebResult<Response> {
    crate::rights::export_download(&state, me.client.id, crate::rights::Audience::Client).await
}

pub(super) async fn invoices(state: Here, me: PortalClient) -> WebResult<Response> {
    let view = PracticeView::load(&state).await?;
    let today = view.today(state.now());
    let rows: Vec<InvoiceRow> = state
        .store()
        .invoices(state.practice_id(), Some(me.client.id))
        .await?
        .into_iter()
        .map(|i| InvoiceRow {
            id: i.id,
            number: i.number,
            period: i.period,
            issued_on: crate::words::date(i.issued_on),
            total: i.total,
            paid: i.paid_on.is_some(),
            overdue: i.paid_on.is_none() && i.due_on < today,
        })
        .collect();
    portal_page(
        &state,
        StatusCode::OK,
        "portal/invoices.html",
        "/portal/invoices",
        true,
        context! { invoices => value(&rows) },
    )
    .await
}

pub(super) async fn invoice(
    state: Here,
    me: PortalClient,
    source: Source,
    Path(raw): Path<String>,
) -> WebResult<Response> {
    let id = InvoiceId::parse(&raw).ok_or(WebError::NotFound)?;
    let found = state.store().invoice(state.practice_id(), id).await;
    let invoice: Invoice = me
        .own(&state, source, ("invoice", id.get()), found, |i| i.client)
        .await?;
    let doc = crate::office::invoices::document(&state, &invoice).await?;
    portal_page(
        &state,
        StatusCode::OK,
        "portal/invoice.html",
        "/portal/invoices",
        true,
        doc,
    )
    .await
}

// ---- Contact details ---------------------------------------------------------------------

#[derive(Serialize)]
struct DetailsValues<'a> {
    email: &'a str,
    phone: &'a str,
    contact_preference: &'a str,
    reminders: &'a str,
}

#[derive(Deserialize)]
pub(super) struct DetailsQuery {
    saved: Option<String>,
    confirm: Option<String>,
}

/// What the details page says above the form after a save.
#[derive(Clone, Copy, Default)]
struct AfterSave {
    /// The details were saved.
    saved: bool,
    /// A link was sent to confirm a new email address.
    confirm: bool,
}

async fn details_page(
    state: &Here,
    me: &PortalClient,
    values: &DetailsValues<'_>,
    errors: Option<&FieldErrors>,
    shown: AfterSave,
) -> WebResult<Response> {
    let (list, map) = errors.map_or((Value::UNDEFINED, Value::UNDEFINED), errors_value);
    let status = if errors.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let ctx = context! {
        values => value(values),
        errors => list,
        error => map,
        saved => shown.saved,
        confirm => shown.confirm,
        current_email => me.client.email.as_str(),
        hours => email_change::CHANGE_LIFE.as_hours(),
    };
    portal_page(
        state,
        status,
        "portal/details.html",
        "/portal/details",
        true,
        ctx,
    )
    .await
}

pub(super) async fn details_form(
    state: Here,
    me: PortalClient,
    Query(q): Query<DetailsQuery>,
) -> WebResult<Response> {
    let client = &me.client;
    let phone = client
        .phone
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let values = DetailsValues {
        email: client.email.as_str(),
        phone: &phone,
        contact_preference: client.contact_preference.as_str(),
        reminders: if client.reminders { "yes" } else { "no" },
    };
    let shown = AfterSave {
        saved: q.saved.is_some(),
        confirm: q.confirm.is_some(),
    };
    details_page(&state, &me, &values, None, shown).await
}

/// Phone, preference and reminders are saved at once. A new email address is not: a link
/// is sent to it, and it changes when the link is followed (see [`email_change`]). The
/// answer is the same whatever the new address is.
pub(super) async fn save_details(
    state: Here,
    me: PortalClient,
    source: Source,
    form: FormData,
) -> WebResult<Response> {
    let mut errors = FieldErrors::new();
    let contact = Contact::parse(
        me.client.name.as_str(),
        form.get("email"),
        form.get("phone"),
        form.get("contact_preference"),
        &mut errors,
    );
    let reminders = match form.get("reminders") {
        "yes" => Some(true),
        "no" => Some(false),
        _ => {
            errors.add(
                "reminders",
                "Choose whether you would like a reminder before each session",
            );
            None
        }
    };
    if let (Some(contact), Some(reminders)) = (contact, reminders)
        && errors.is_empty()
    {
        let new_email = contact.email != me.client.email;
        if new_email
            && let Err(refused) =
                email_change::request(&state, &me, &contact.email, &source).await?
        {
            // Nothing is saved, so that the page shows the form as it was sent.
            errors.add("email", refused);
        } else {
            let details = OwnDetails {
                phone: contact.phone,
                contact_preference: contact.contact_preference,
                reminders,
            };
            state
                .store()
                .update_own_details(state.practice_id(), me.client.id, &details, state.now())
                .await?;
            let to = if new_email {
                "/portal/details?confirm=1"
            } else {
                "/portal/details?saved=1"
            };
            return Ok(Redirect::to(to).into_response());
        }
    }
    let values = DetailsValues {
        email: form.get("email"),
        phone: form.get("phone"),
        contact_preference: form.get("contact_preference"),
        reminders: form.get("reminders"),
    };
    details_page(&state, &me, &values, Some(&errors), AfterSave::default()).await
}
