//! The enquiries inbox and the email outbox.

use axum::{
    extract::Path,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use minijinja::context;
use store::{EnquiryId, MessageId};

use super::{Staff, page};
use crate::{Here, WebError, error::WebResult, forms::FormData, templates::value};

fn enquiry_id(raw: &str) -> WebResult<EnquiryId> {
    EnquiryId::parse(raw).ok_or(WebError::NotFound)
}

pub(crate) async fn enquiries(state: Here, staff: Staff) -> WebResult<Response> {
    let enquiries = state.store().enquiries(state.practice_id()).await?;
    page(
        &state,
        &staff,
        StatusCode::OK,
        "office/enquiries.html",
        context! { enquiries => value(&enquiries) },
    )
    .await
}

pub(crate) async fn enquiry(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
) -> WebResult<Response> {
    let enquiry = state
        .store()
        .enquiry(state.practice_id(), enquiry_id(&raw)?)
        .await?;
    page(
        &state,
        &staff,
        StatusCode::OK,
        "office/enquiry.html",
        context! { enquiry => value(&enquiry) },
    )
    .await
}

pub(crate) async fn set_handled(
    state: Here,
    _staff: Staff,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let id = enquiry_id(&raw)?;
    let handled = form.get("handled") == "true";
    state
        .store()
        .set_enquiry_handled(state.practice_id(), id, handled, state.now())
        .await?;
    let target = if handled {
        "/office/enquiries".to_owned()
    } else {
        format!("/office/enquiries/{id}")
    };
    Ok(Redirect::to(&target).into_response())
}

pub(crate) async fn confirm_delete(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
) -> WebResult<Response> {
    let id = enquiry_id(&raw)?;
    let enquiry = state.store().enquiry(state.practice_id(), id).await?;
    let ctx = context! {
        title => format!("Delete the enquiry from {}?", enquiry.name),
        warning => "The enquiry and the contact details in it will be deleted for good. This cannot be undone.",
        action => format!("/office/enquiries/{id}/delete"),
        button => "Yes, delete this enquiry",
        back => format!("/office/enquiries/{id}"),
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

pub(crate) async fn delete(
    state: Here,
    _staff: Staff,
    Path(raw): Path<String>,
) -> WebResult<Response> {
    state
        .store()
        .delete_enquiry(state.practice_id(), enquiry_id(&raw)?)
        .await?;
    Ok(Redirect::to("/office/enquiries").into_response())
}

pub(crate) async fn outbox(state: Here, staff: Staff) -> WebResult<Response> {
    let messages = state.store().outbox(state.practice_id(), 200).await?;
    let ctx = context! { messages => value(&messages), mail_configured => state.config().mail_configured };
    page(&state, &staff, StatusCode::OK, "office/outbox.html", ctx).await
}

pub(crate) async fn retry(
    state: Here,
    _staff: Staff,
    Path(raw): Path<String>,
) -> WebResult<Response> {
    let id = MessageId::parse(&raw).ok_or(WebError::NotFound)?;
    state
        .store()
        .retry_message(state.practice_id(), id, state.now())
        .await?;
    state.mail_queued();
    Ok(Redirect::to("/office/outbox").into_response())
}
