//! Data rights in the office (SECURITY.md R16, R17): download everything held about a client,
//! record subject access requests with their ICO due dates, the retention review queue, and
//! keeping, refusing or erasing a record.
//!
//! Nothing is ever erased automatically: a record past its retention period only appears on
//! "Records to review". Erasure is a confirmation page and a POST, audited by the handler
//! itself (once the client is gone the access guard can no longer find them from the id).

use axum::{
    extract::Path,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use domain::{
    FieldErrors,
    rights::{Reason, due_date, extended_due_date, review_from},
};
use jiff::civil::Date;
use minijinja::{Value, context};
use store::{
    AuditAction, Client, ClientId, ConflictKind, RecordedDecision, RetentionDecision, StoreError,
    SubjectAccessId, SubjectAccessRequest,
};

use super::{Staff, clients::find_client, errors_value, page};
use crate::{Here, WebError, error::WebResult, forms::FormData, therapy::PracticeView};

crate::routing::routes! {
    // Data rights (R16, R17). Erasing audits itself: afterwards the client cannot be found
    // from the id, so the handler writes `ClientErased` with the id.
    POST "/office/clients/{id}/export" => Staff(DataExported): export;
    GET "/office/clients/{id}/subject-access/new" => Staff(ClientViewed): subject_access_form;
    POST "/office/clients/{id}/subject-access/new" => Staff(SubjectAccessRecorded): record_subject_access;
    GET "/office/clients/{id}/subject-access/{request}/extend" => Staff(ClientViewed): extend_form;
    POST "/office/clients/{id}/subject-access/{request}/extend" => Staff(SubjectAccessRecorded): extend;
    POST "/office/clients/{id}/subject-access/{request}/complete" => Staff(SubjectAccessRecorded): complete;
    GET "/office/clients/{id}/keep" => Staff(ClientViewed): keep_form;
    POST "/office/clients/{id}/keep" => Staff(ErasureRefused): keep;
    GET "/office/clients/{id}/refuse-erasure" => Staff(ClientViewed): refuse_form;
    POST "/office/clients/{id}/refuse-erasure" => Staff(ErasureRefused): refuse;
    GET "/office/clients/{id}/erase" => Staff(ClientViewed): confirm_erase;
    POST "/office/clients/{id}/erase" => Staff: erase;
    GET "/office/records-to-review" => Staff: review;
}

use crate::words::{date as long, weekday_date as weekday_long};

/// A date typed in a date field (`2027-03-25`); the browser's picker sends this form.
fn parse_day(raw: &str) -> Option<Date> {
    raw.trim().parse().ok()
}

// ---- The client page's "Data rights" section -----------------------------------------------

/// The "Data rights" section of a client's page.
pub(super) async fn client_section(
    state: &Here,
    view: &PracticeView,
    client: &Client,
) -> WebResult<Value> {
    let today = view.today(state.now());
    let practice = state.practice_id();
    let store = state.store();
    let (requests, decisions, facts) = tokio::try_join!(
        store.subject_access_requests(practice, client.id),
        store.retention_decisions(practice, client.id),
        store.retention_facts(practice, Some(client.id)),
    )?;
    let requests: Vec<Value> = requests.iter().map(|r| request_row(r, today)).collect();
    let decisions: Vec<Value> = decisions.iter().map(|d| decision_row(view, d)).collect();
    let facts = facts.into_iter().find(|f| f.client == client.id);
    let years = view.practice.privacy.retention_years;
    let review_on = facts.as_ref().map(|f| {
        let last = f.last_session.unwrap_or(f.created_at);
        review_from(view.today(last), years)
    });
    Ok(context! {
        requests,
        decisions,
        years,
        review_on => review_on.map(long),
        review_due => review_on.is_some_and(|day| day <= today),
    })
}

fn request_row(r: &SubjectAccessRequest, today: Date) -> Value {
    let due = r.due_now();
    context! {
        id => r.id.get(),
        received => long(r.received),
        due => weekday_long(due),
        extended => r.extended.as_ref().map(|(_, reason)| reason.clone()),
        can_extend => r.extended.is_none() && r.completed.is_none(),
        completed => r.completed.map(long),
        overdue => r.completed.is_none() && due < today,
        due_today => r.completed.is_none() && due == today,
    }
}

fn decision_row(view: &PracticeView, d: &RecordedDecision) -> Value {
    let when = long(view.today(d.decided_at));
    match &d.decision {
        RetentionDecision::Keep { reason, review_on } => context! {
            what => format!("Kept for now ({when}); look again on {}", long(*review_on)),
            reason => reason.as_str(),
        },
        RetentionDecision::ErasureRefused { reason } => context! {
            what => format!("Erasure refused ({when})"),
            reason => reason.as_str(),
        },
    }
}

// ---- Download everything ----------------------------------------------------------------------

async fn export(state: Here, _staff: Staff, Path(raw): Path<String>) -> WebResult<Response> {
    let client = find_client(&state, &raw).await?;
    crate::rights::export_download(&state, client.id, crate::rights::Audience::Practice).await
}

// ---- Subject access requests ------------------------------------------------------------------

async fn subject_access_page(
    state: &Here,
    staff: &Staff,
    client: &Client,
    received: &str,
    errors: Option<&FieldErrors>,
) -> WebResult<Response> {
    let view = PracticeView::load(state).await?;
    let today = view.today(state.now());
    let (list, map) = errors.map_or((Value::UNDEFINED, Value::UNDEFINED), errors_value);
    let ctx = context! {
        client => context! { id => client.id.get(), name => client.name.as_str() },
        received,
        today_due => weekday_long(due_date(today)),
        errors => list,
        error => map,
    };
    let status = if errors.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page(
        state,
        staff,
        status,
        "office/rights/subject_access.html",
        ctx,
    )
    .await
}

async fn subject_access_form(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
) -> WebResult<Response> {
    let client = find_client(&state, &raw).await?;
    let today = PracticeView::load(&state).await?.today(state.now());
    subject_access_page(&state, &staff, &client, &today.to_string(), None).await
}

async fn record_subject_access(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let client = find_client(&state, &raw).await?;
    let today = PracticeView::load(&state).await?.today(state.now());
    let typed = form.get("received");
    let mut errors = FieldErrors::default();
    match parse_day(typed) {
        Some(day) if day > today => {
            errors.add("received", "The date received cannot be in the future");
        }
        Some(day) => {
            state
                .store()
                .add_subject_access(
                    state.practice_id(),
                    client.id,
                    day,
                    due_date(day),
                    state.now(),
                )
                .await?;
            return Ok(
                Redirect::to(&format!("/office/clients/{}#data-rights", client.id)).into_response(),
            );
        }
        None => errors.add(
            "received",
            "Enter the date the request was received, like 2027-03-25",
        ),
    }
    subject_access_page(&state, &staff, &client, typed, Some(&errors)).await
}

/// The client and one of their requests, by the ids in the URL.
async fn find_request(
    state: &Here,
    raw_client: &str,
    raw_request: &str,
) -> WebResult<(Client, SubjectAccessRequest)> {
    let client = find_client(state, raw_client).await?;
    let id = SubjectAccessId::parse(raw_request).ok_or(WebError::NotFound)?;
    let request = state
        .store()
        .subject_access(state.practice_id(), id)
        .await?;
    if request.client != client.id {
        return Err(WebError::NotFound);
    }
    Ok((client, request))
}

async fn extend_page(
    state: &Here,
    staff: &Staff,
    client: &Client,
    request: &SubjectAccessRequest,
    reason: &str,
    errors: Option<&FieldErrors>,
) -> WebResult<Response> {
    let (list, map) = errors.map_or((Value::UNDEFINED, Value::UNDEFINED), errors_value);
    let ctx = context! {
        client => context! { id => client.id.get(), name => client.name.as_str() },
        request => request.id.get(),
        received => long(request.received),
        due => weekday_long(request.due),
        extended => weekday_long(extended_due_date(request.received)),
        reason,
        errors => list,
        error => map,
    };
    let status = if errors.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page(state, staff, status, "office/rights/extend.html", ctx).await
}

async fn extend_form(
    state: Here,
    staff: Staff,
    Path((raw_client, raw_request)): Path<(String, String)>,
) -> WebResult<Response> {
    let (client, request) = find_request(&state, &raw_client, &raw_request).await?;
    if request.extended.is_some() || request.completed.is_some() {
        return Ok(
            Redirect::to(&format!("/office/clients/{}#data-rights", client.id)).into_response(),
        );
    }
    extend_page(&state, &staff, &client, &request, "", None).await
}

async fn extend(
    state: Here,
    staff: Staff,
    Path((raw_client, raw_request)): Path<(String, String)>,
    form: FormData,
) -> WebResult<Response> {
    let (client, request) = find_request(&state, &raw_client, &raw_request).await?;
    let back = format!("/office/clients/{}#data-rights", client.id);
    match Reason::parse(form.get("reason")) {
        Ok(reason) => {
            match state
                .store()
                .extend_subject_access(
                    state.practice_id(),
                    request.id,
                    extended_due_date(request.received),
                    &reason,
                )
                .await
            {
                // Extended already (a second click): the first reason stands.
                Ok(()) | Err(StoreError::Conflict(ConflictKind::AlreadyExtended)) => {}
                Err(other) => return Err(other.into()),
            }
            Ok(Redirect::to(&back).into_response())
        }
        Err(message) => {
            let mut errors = FieldErrors::default();
            errors.add("reason", message);
            extend_page(
                &state,
                &staff,
                &client,
                &request,
                form.get("reason"),
                Some(&errors),
            )
            .await
        }
    }
}

async fn complete(
    state: Here,
    _staff: Staff,
    Path((raw_client, raw_request)): Path<(String, String)>,
) -> WebResult<Response> {
    let (client, request) = find_request(&state, &raw_client, &raw_request).await?;
    let today = PracticeView::load(&state).await?.today(state.now());
    state
        .store()
        .complete_subject_access(state.practice_id(), request.id, today)
        .await?;
    Ok(Redirect::to(&format!("/office/clients/{}#data-rights", client.id)).into_response())
}

// ---- Keeping a record, refusing erasure -----------------------------------------------------

/// Which decision a form records.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Deciding {
    Keep,
    Refuse,
}

async fn decision_page(
    state: &Here,
    staff: &Staff,
    client: &Client,
    deciding: Deciding,
    form: Option<&FormData>,
    errors: Option<&FieldErrors>,
) -> WebResult<Response> {
    let view = PracticeView::load(state).await?;
    let today = view.today(state.now());
    let (list, map) = errors.map_or((Value::UNDEFINED, Value::UNDEFINED), errors_value);
    let suggested = today
        .checked_add(jiff::Span::new().years(1))
        .unwrap_or(today);
    let ctx = context! {
        client => context! { id => client.id.get(), name => client.name.as_str() },
        keep => deciding == Deciding::Keep,
        reason => form.map_or("", |f| f.get("reason")),
        review_on => form.map_or_else(|| suggested.to_string(), |f| f.get("review_on").to_owned()),
        errors => list,
        error => map,
    };
    let status = if errors.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page(state, staff, status, "office/rights/decision.html", ctx).await
}

async fn keep_form(state: Here, staff: Staff, Path(raw): Path<String>) -> WebResult<Response> {
    let client = find_client(&state, &raw).await?;
    decision_page(&state, &staff, &client, Deciding::Keep, None, None).await
}

async fn refuse_form(state: Here, staff: Staff, Path(raw): Path<String>) -> WebResult<Response> {
    let client = find_client(&state, &raw).await?;
    decision_page(&state, &staff, &client, Deciding::Refuse, None, None).await
}

/// The decision a form asks for, or what to fix.
fn parse_decision(
    form: &FormData,
    deciding: Deciding,
    today: Date,
) -> Result<RetentionDecision, FieldErrors> {
    let mut errors = FieldErrors::default();
    let reason = Reason::parse(form.get("reason"))
        .map_err(|message| errors.add("reason", message))
        .ok();
    let review_on = match deciding {
        Deciding::Refuse => None,
        Deciding::Keep => match parse_day(form.get("review_on")) {
            Some(day) if day <= today => {
                errors.add("review_on", "The date to look again must be after today");
                None
            }
            Some(day) if day.year() > today.year() + 30 => {
                errors.add(
                    "review_on",
                    "Choose a date to look again within the next 30 years",
                );
                None
            }
            Some(day) => Some(day),
            None => {
                errors.add(
                    "review_on",
                    "Enter the date to look at the record again, like 2028-03-25",
                );
                None
            }
        },
    };
    match (reason, deciding, review_on) {
        (Some(reason), Deciding::Refuse, _) if errors.is_empty() => {
            Ok(RetentionDecision::ErasureRefused { reason })
        }
        (Some(reason), Deciding::Keep, Some(review_on)) if errors.is_empty() => {
            Ok(RetentionDecision::Keep { reason, review_on })
        }
        _ => Err(errors),
    }
}

async fn decide(
    state: &Here,
    staff: &Staff,
    raw: &str,
    deciding: Deciding,
    form: &FormData,
) -> WebResult<Response> {
    let client = find_client(state, raw).await?;
    let today = PracticeView::load(state).await?.today(state.now());
    match parse_decision(form, deciding, today) {
        Ok(decision) => {
            state
                .store()
                .add_retention_decision(state.practice_id(), client.id, &decision, state.now())
                .await?;
            let to = match deciding {
                Deciding::Keep => "/office/records-to-review".to_owned(),
                Deciding::Refuse => format!("/office/clients/{}#data-rights", client.id),
            };
            Ok(Redirect::to(&to).into_response())
        }
        Err(errors) => {
            decision_page(state, staff, &client, deciding, Some(form), Some(&errors)).await
        }
    }
}

async fn keep(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    decide(&state, &staff, &raw, Deciding::Keep, &form).await
}

async fn refuse(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    decide(&state, &staff, &raw, Deciding::Refuse, &form).await
}

// ---- Erasure ------------------------------------------------------------------------------------

async fn confirm_erase(state: Here, staff: Staff, Path(raw): Path<String>) -> WebResult<Response> {
    // Erasing destroys clinical records for good: the owner's decision alone.
    if !staff.user.owner {
        return Err(staff.refused(&state).await);
    }
    let client = find_client(&state, &raw).await?;
    let ctx = context! {
        client => context! { id => client.id.get(), name => client.name.as_str(), email => client.email.as_str() },
    };
    page(
        &state,
        &staff,
        StatusCode::OK,
        "office/rights/erase.html",
        ctx,
    )
    .await
}

async fn erase(state: Here, staff: Staff, Path(raw): Path<String>) -> WebResult<Response> {
    if !staff.user.owner {
        return Err(staff.refused(&state).await);
    }
    let client = find_client(&state, &raw).await?;
    // The entry names the erased id only: nothing of what was erased. It is written in the
    // erasure's own transaction, so there is never an erasure without its entry.
    let entry = staff.entry(
        AuditAction::ClientErased,
        Some(client.id),
        Some(("client", client.id.get())),
    );
    state
        .store()
        .erase_client(state.practice_id(), client.id, &entry, state.now())
        .await?;
    state.booking_changed();
    tracing::info!(client = client.id.get(), "client erased");
    Ok(Redirect::to("/office/records-to-review?erased=1").into_response())
}

// ---- The review queue ---------------------------------------------------------------------------

/// A client whose retention period has passed, and nobody has decided to keep for now.
pub(super) struct DueForReview {
    pub client: ClientId,
    pub name: String,
    pub last: String,
    pub since: String,
}

/// Clients whose record is due for review today: their last session (or, with none, the day
/// they were added) plus the practice's retention period is today or earlier, and no "keep
/// for now" date lies ahead.
pub(super) async fn due_for_review(
    state: &Here,
    view: &PracticeView,
) -> WebResult<Vec<DueForReview>> {
    let today = view.today(state.now());
    let years = view.practice.privacy.retention_years;
    Ok(state
        .store()
        .retention_facts(state.practice_id(), None)
        .await?
        .into_iter()
        .filter_map(|f| {
            let last = view.today(f.last_session.unwrap_or(f.created_at));
            let from = review_from(last, years);
            let kept = f.kept_until.as_ref().is_some_and(|(day, _)| *day > today);
            (from <= today && !kept).then(|| DueForReview {
                client: f.client,
                name: f.name.to_string(),
                last: match f.last_session {
                    Some(_) => format!("Last session {}", long(last)),
                    None => format!("Added {}, no sessions", long(last)),
                },
                since: long(from),
            })
        })
        .collect())
}

#[derive(serde::Deserialize)]
struct ReviewQuery {
    erased: Option<String>,
}

async fn review(
    state: Here,
    staff: Staff,
    crate::query::Query(q): crate::query::Query<ReviewQuery>,
) -> WebResult<Response> {
    let view = PracticeView::load(&state).await?;
    let due: Vec<Value> = due_for_review(&state, &view)
        .await?
        .into_iter()
        .map(
            |d| context! { id => d.client.get(), name => d.name, last => d.last, since => d.since },
        )
        .collect();
    let ctx = context! {
        due,
        years => view.practice.privacy.retention_years,
        erased => q.erased.is_some(),
    };
    page(
        &state,
        &staff,
        StatusCode::OK,
        "office/rights/review.html",
        ctx,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(fields: &[(&str, &str)]) -> FormData {
        FormData::from_pairs(fields)
    }

    #[test]
    fn a_decision_needs_a_reason_and_a_later_date() {
        let today = jiff::civil::date(2027, 3, 25);
        let keep = |reason: &str, day: &str| {
            parse_decision(
                &form(&[("reason", reason), ("review_on", day)]),
                Deciding::Keep,
                today,
            )
        };
        assert!(keep("", "2028-01-01").is_err());
        assert!(keep("Open complaint", "2027-03-25").is_err());
        assert!(keep("Open complaint", "25/03/2028").is_err());
        assert!(keep("Open complaint", "2099-01-01").is_err());
        assert!(keep("Open complaint", "2028-03-25").is_ok());
        let refuse = parse_decision(&form(&[("reason", "Insurer")]), Deciding::Refuse, today);
        assert!(matches!(
            refuse,
            Ok(RetentionDecision::ErasureRefused { .. })
        ));
    }
}
