//! Invoices: the list and what is not yet invoiced, one invoice (printable) with payment and
//! its link, and the client's own view of it through that link.

use axum::{
    extract::Path,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use domain::{FieldErrors, Pence};
use jiff::Timestamp;
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};
use store::{ClientId, ConflictKind, Invoice, InvoiceId, StoreError};

use super::{Staff, errors_value, page};
use crate::query::Query;
use crate::secret_token::SecretToken;
use crate::{
    Here, WebError,
    error::WebResult,
    forms::FormData,
    render::{html, render},
    templates::value,
    therapy::{self, PracticeView},
};

crate::routing::routes! {
    GET "/office/invoices" => Staff: list;
    POST "/office/invoices/new" => Staff(InvoiceChanged): create;
    GET "/office/invoices/{id}" => Staff(InvoiceViewed): show;
    POST "/office/invoices/{id}/paid" => Staff(InvoiceChanged): paid;
    POST "/office/invoices/{id}/unpaid" => Staff(InvoiceChanged): unpaid;
    POST "/office/invoices/{id}/send" => Staff(InvoiceChanged): send;
    GET "/invoice/{token}" => Secret: public;
}

/// What "Invoice now" and "Not yet invoiced" take: every charge recorded so far, whenever
/// its session is. A late cancellation is owed from when it is recorded, before the session's
/// time (as per-session invoicing and the client's balance already treat it).
const OWED_NOW: Timestamp = Timestamp::MAX;

#[derive(Serialize)]
struct Owed {
    client: ClientId,
    name: String,
    count: usize,
    total: Pence,
}

#[derive(Serialize)]
struct Row {
    invoice: Invoice,
    overdue: bool,
}

#[derive(Deserialize)]
struct ListQuery {
    made: Option<u32>,
}

async fn list(state: Here, staff: Staff, Query(q): Query<ListQuery>) -> WebResult<Response> {
    let practice = state.practice_id();
    let view = PracticeView::load(&state).await?;
    let today = view.today(state.now());
    let mut owed: Vec<Owed> = Vec::new();
    for session in state
        .store()
        .uninvoiced_charges(practice, None, OWED_NOW)
        .await?
    {
        let amount = session.charge.as_ref().map_or(0, |c| c.owed().get());
        match owed.last_mut() {
            Some(row) if row.client == session.client => {
                row.count += 1;
                row.total = Pence::new(row.total.get() + amount);
            }
            _ => owed.push(Owed {
                client: session.client,
                name: session.client_name.to_string(),
                count: 1,
                total: Pence::new(amount),
            }),
        }
    }
    let invoices: Vec<Row> = state
        .store()
        .invoices(practice, None)
        .await?
        .into_iter()
        .map(|invoice| Row {
            overdue: invoice.paid_on.is_none() && invoice.due_on < today,
            invoice,
        })
        .collect();
    let outstanding: u32 = invoices
        .iter()
        .filter(|r| r.invoice.paid_on.is_none())
        .map(|r| r.invoice.total.get())
        .sum();
    let mode = state
        .store()
        .therapy_settings(practice)
        .await?
        .invoice_mode
        .as_str();
    let ctx = context! {
        owed => value(&owed),
        invoices => value(&invoices),
        outstanding => outstanding,
        mode,
        made => q.made,
    };
    page(&state, &staff, StatusCode::OK, "office/invoices.html", ctx).await
}

/// "Invoice now": everything a client owes so far.
async fn create(state: Here, _staff: Staff, form: FormData) -> WebResult<Response> {
    let client = ClientId::parse(form.get("client")).ok_or(WebError::NotFound)?;
    let practice = state.practice_id();
    let client = state.store().client(practice, client).await?;
    let sessions = state
        .store()
        .uninvoiced_charges(practice, Some(client.id), OWED_NOW)
        .await?;
    if sessions.is_empty() {
        return Ok(Redirect::to("/office/invoices").into_response());
    }
    let view = PracticeView::load(&state).await?;
    let day = |s: &store::Session| crate::words::date(view.zone.to_datetime(s.start).date());
    let period = match sessions.as_slice() {
        [one] => format!("the session on {}", day(one)),
        [first, .., last] => format!("sessions from {} to {}", day(first), day(last)),
        [] => String::new(),
    };
    let settings = state.store().therapy_settings(practice).await?;
    match therapy::invoice_sessions(&state, &view, &settings, &client, &sessions, period).await {
        Ok((invoice, _)) => {
            state.mail_queued();
            Ok(Redirect::to(&format!("/office/invoices?made={}", invoice.number)).into_response())
        }
        // Every conflict kind is decided here: a new one must be placed, never swept up by `_`.
        #[deny(clippy::wildcard_enum_match_arm)]
        Err(WebError::Internal(error)) => {
            let Some(StoreError::Conflict(kind)) = error.downcast_ref::<StoreError>() else {
                return Err(WebError::Internal(error));
            };
            match kind {
                // Sent twice, or a charge changed meanwhile: show the list as it now is.
                ConflictKind::ChargesChanged => {
                    Ok(Redirect::to("/office/invoices").into_response())
                }
                ConflictKind::ArticleSlug
                | ConflictKind::LocationSlug
                | ConflictKind::AppointmentTypeSlug
                | ConflictKind::UserEmail
                | ConflictKind::OutboxMessageId
                | ConflictKind::Unique
                | ConflictKind::SlotUnavailable
                | ConflictKind::AppointmentsOverlap
                | ConflictKind::NotCancellable
                | ConflictKind::SessionInBreak
                | ConflictKind::ChargeInvoiced
                | ConflictKind::AlreadyExtended
                | ConflictKind::AuthenticatorEnabled
                | ConflictKind::EmailChangeLimit
                | ConflictKind::HostTaken
                | ConflictKind::HostKeyChanged
                | ConflictKind::KeysChanged
                | ConflictKind::PracticeActive
                | ConflictKind::PracticeClosing
                | ConflictKind::TooManyPhotos
                | ConflictKind::PhotoTwice => Err(WebError::Internal(error)),
            }
        }
        Err(other) => Err(other),
    }
}

async fn find(state: &Here, raw: &str) -> WebResult<Invoice> {
    let id = InvoiceId::parse(raw).ok_or(WebError::NotFound)?;
    Ok(state.store().invoice(state.practice_id(), id).await?)
}

/// What every view of an invoice needs (the office's, the link's, the portal's).
pub(crate) async fn document(state: &Here, invoice: &Invoice) -> WebResult<Value> {
    let view = PracticeView::load(state).await?;
    let settings = state.store().therapy_settings(state.practice_id()).await?;
    let therapist = format!(
        "{}, {}",
        view.practice.therapist.name, view.practice.therapist.title
    );
    Ok(context! {
        invoice => value(invoice),
        practice_name => view.practice.details.name.clone(),
        therapist,
        bank_details => settings.bank_details,
        overdue => invoice.paid_on.is_none() && invoice.due_on < view.today(state.now()),
    })
}

#[derive(Deserialize)]
struct ShowQuery {
    sent: Option<String>,
}

async fn show_page(
    state: &Here,
    staff: &Staff,
    invoice: &Invoice,
    values: Value,
    errors: Option<&FieldErrors>,
    sent: bool,
) -> WebResult<Response> {
    let doc = document(state, invoice).await?;
    let today = PracticeView::load(state).await?.today(state.now());
    let (list, map) = errors.map_or((Value::UNDEFINED, Value::UNDEFINED), errors_value);
    let status = if errors.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let ctx =
        context! { values, errors => list, error => map, sent, today => today.to_string(), ..doc };
    page(state, staff, status, "office/invoice.html", ctx).await
}

async fn show(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    Query(q): Query<ShowQuery>,
) -> WebResult<Response> {
    let invoice = find(&state, &raw).await?;
    show_page(
        &state,
        &staff,
        &invoice,
        context! {},
        None,
        q.sent.is_some(),
    )
    .await
}

async fn paid(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let invoice = find(&state, &raw).await?;
    let raw_date = form.get("paid_on").trim();
    let today = PracticeView::load(&state).await?.today(state.now());
    let parsed = if raw_date.is_empty() {
        Ok(today)
    } else {
        raw_date.parse::<jiff::civil::Date>()
    };
    match parsed {
        Ok(day) if day <= today => {
            state
                .store()
                .set_invoice_paid(state.practice_id(), invoice.id, Some(day))
                .await?;
            Ok(Redirect::to(&format!("/office/invoices/{}", invoice.id)).into_response())
        }
        _ => {
            let mut errors = FieldErrors::new();
            errors.add(
                "paid_on",
                "Enter the date it was paid, like 2027-04-30, no later than today",
            );
            show_page(
                &state,
                &staff,
                &invoice,
                value(&form.values()),
                Some(&errors),
                false,
            )
            .await
        }
    }
}

async fn unpaid(state: Here, _staff: Staff, Path(raw): Path<String>) -> WebResult<Response> {
    let invoice = find(&state, &raw).await?;
    state
        .store()
        .set_invoice_paid(state.practice_id(), invoice.id, None)
        .await?;
    Ok(Redirect::to(&format!("/office/invoices/{}", invoice.id)).into_response())
}

/// Email a new link (the old one stops working).
async fn send(state: Here, _staff: Staff, Path(raw): Path<String>) -> WebResult<Response> {
    let invoice = find(&state, &raw).await?;
    let practice = state.practice_id();
    let token = SecretToken::generate();
    let client = state.store().client(practice, invoice.client).await?;
    let view = PracticeView::load(&state).await?;
    let settings = state.store().therapy_settings(practice).await?;
    let url = therapy::invoice_url(&state, &token);
    let email = therapy::invoice_email(&view, &client, &invoice, &url, &settings);
    state
        .store()
        .set_invoice_token(practice, invoice.id, &token.hash(), &[email], state.now())
        .await?;
    state.mail_queued();
    Ok(Redirect::to(&format!("/office/invoices/{}?sent=1", invoice.id)).into_response())
}

/// The client's view through their link: the invoice alone, never cached, never indexed.
async fn public(state: Here, Path(token): Path<String>) -> WebResult<Response> {
    let token = SecretToken::parse(&token).ok_or(WebError::NotFound)?;
    let invoice = state
        .store()
        .invoice_by_token(state.practice_id(), &token.hash())
        .await?
        .ok_or(WebError::NotFound)?;
    let doc = document(&state, &invoice).await?;
    let body = render(&state, "invoice/public.html", "/invoice", doc).await?;
    // Never cached, never indexed: `security::headers` says so for every secret link.
    Ok(html(StatusCode::OK, body))
}
