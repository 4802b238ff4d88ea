//! The enquiry form.

use std::net::SocketAddr;

use axum::{
    extract::ConnectInfo,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use domain::{NewEnquiry, enquiry::EnquiryForm};
use minijinja::context;
use store::NewMessage;

use super::{cached, html, render};
use crate::{
    Here,
    error::WebResult,
    forms::FormData,
    limits::{Limit, Subject},
    security::client_ip,
    templates::value,
};

/// The hidden field that only robots fill in.
const HONEYPOT: &str = "website";

pub(crate) async fn form(state: Here) -> WebResult<Response> {
    cached(&state, "/contact", "text/html; charset=utf-8", || async {
        render(
            &state,
            "site/contact.html",
            "/contact",
            context! { values => context! { contact_preference => "email" } },
        )
        .await
    })
    .await
}

pub(crate) async fn thanks(state: Here) -> WebResult<Response> {
    cached(
        &state,
        "/contact/thanks",
        "text/html; charset=utf-8",
        || async {
            render(
                &state,
                "site/contact_thanks.html",
                "/contact/thanks",
                context! {},
            )
            .await
        },
    )
    .await
}

/// The therapist's notification: says only that there is something to read, never what.
pub(crate) fn notification(state: &Here, to: domain::EmailAddress) -> NewMessage {
    let office = format!("{}/office/enquiries", state.public_url());
    NewMessage {
        kind: "enquiry_notification".into(),
        to,
        subject: "New enquiry from your website".into(),
        body_text: format!(
            "Someone has sent an enquiry through your website.\n\n\
             For their privacy, the message is not included in this email. You can read it in your back office:\n{office}\n\n\
             -- \nSent by Anteroom for your practice website.\n"
        ),
        calendar: None,
    }
}

pub(crate) async fn submit(
    state: Here,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: FormData,
) -> WebResult<Response> {
    let ip = client_ip(&state, &headers, peer);
    // Counted before anything else is done, so that enquiries sent all at once cannot
    // each find the count under the limit; a form with mistakes gives its place back.
    let held = state.reserve(Limit::Enquiry, Subject::Network(ip)).await?;
    if !form.get(HONEYPOT).is_empty() {
        held.keep();
        return Ok(Redirect::to("/contact/thanks").into_response());
    }
    let raw = EnquiryForm {
        name: form.get("name"),
        email: form.get("email"),
        phone: form.get("phone"),
        contact_preference: form.get("contact_preference"),
        message: form.get("message"),
        consent: form.has("consent"),
    };
    let enquiry = match NewEnquiry::parse(&raw) {
        Ok(enquiry) => enquiry,
        Err(errors) => {
            held.release(&state).await?;
            let errors: Vec<_> = errors
                .iter()
                .map(|(field, message)| context! { field, message })
                .collect();
            let page = context! { values => value(&form.values()), errors, consent => raw.consent };
            let body = render(&state, "site/contact.html", "/contact", page).await?;
            return Ok(html(StatusCode::UNPROCESSABLE_ENTITY, body));
        }
    };
    let practice = state.store().practice(state.practice_id()).await?;
    let message = notification(&state, practice.details.notify_email);
    state
        .store()
        .create_enquiry(state.practice_id(), &enquiry, &message, state.now())
        .await?;
    held.keep();
    state.mail_queued();
    tracing::info!("enquiry received");
    Ok(Redirect::to("/contact/thanks").into_response())
}
