//! The therapist's back office: sign-in, dashboard, articles, settings, enquiries, outbox.
//!
//! Every handler here except sign-in takes a [`auth::Staff`], so no page or action is
//! reachable without a valid session. Every state change is a POST (GET never changes
//! anything), and every form keeps what was typed when something needs fixing.

mod account_security;
mod articles;
mod audit_log;
mod auth;
mod booking_settings;
mod calendar;
mod clients;
mod feed;
mod inbox;
pub(crate) mod invoices;
mod rights;
mod sessions;
mod settings;
mod therapy_settings;

use axum::{
    Router,
    http::StatusCode,
    response::Response,
    routing::{get, post},
};
use minijinja::{Value, context};
use serde::Serialize;

use crate::{AppState, Here, error::WebResult, site::html, templates::value};
pub(crate) use auth::{Staff, secure_cookies};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/office", get(dashboard))
        .route(
            "/office/sign-in",
            get(auth::sign_in_form).post(auth::sign_in),
        )
        .route(
            "/office/sign-in/code",
            get(auth::code_form).post(auth::code),
        )
        .route(
            "/office/sign-in/set-up",
            get(auth::set_up_form).post(auth::set_up),
        )
        .route("/office/sign-out", post(auth::sign_out))
        .route("/office/articles", get(articles::list))
        .route(
            "/office/articles/new",
            get(articles::new_form).post(articles::create),
        )
        .route(
            "/office/articles/{id}/edit",
            get(articles::edit_form).post(articles::update),
        )
        .route(
            "/office/articles/{id}/delete",
            get(articles::confirm_delete).post(articles::delete),
        )
        .route("/office/enquiries", get(inbox::enquiries))
        .route("/office/enquiries/{id}", get(inbox::enquiry))
        .route("/office/enquiries/{id}/handled", post(inbox::set_handled))
        .route(
            "/office/enquiries/{id}/delete",
            get(inbox::confirm_delete).post(inbox::delete),
        )
        .route("/office/outbox", get(inbox::outbox))
        .route("/office/outbox/{id}/retry", post(inbox::retry))
        .merge(settings::router())
        .merge(audit_log::router())
        .merge(account_security::router())
        .merge(therapy_settings::router())
        .merge(invoices::router())
        .merge(booking_settings::router())
        .merge(calendar::router())
        .merge(clients::router())
        .merge(rights::router())
        .merge(feed::router())
}

/// Render a back-office page. `staff` is `None` only on the sign-in page.
pub(crate) async fn render_office(
    state: &Here,
    staff: Option<&Staff>,
    template: &str,
    page: Value,
) -> WebResult<String> {
    let site = crate::site::site_context(state).await?;
    let user = staff.map(|s| value(&s.user));
    Ok(state
        .templates()
        .render(template, context! { site, user, office => true, ..page })?)
}

/// A rendered back-office page with a status.
pub(crate) async fn page(
    state: &Here,
    staff: &Staff,
    status: StatusCode,
    template: &str,
    ctx: Value,
) -> WebResult<Response> {
    let body = render_office(state, Some(staff), template, ctx).await?;
    Ok(html(status, body))
}

/// Field errors in the shape the templates use: a list for the summary, a map for fields.
pub(crate) fn errors_value(errors: &domain::FieldErrors) -> (Value, Value) {
    let list: Vec<_> = errors
        .iter()
        .map(|(field, message)| context! { field, message })
        .collect();
    let map: std::collections::BTreeMap<&str, &str> = errors.iter().collect();
    (Value::from(list), value(&map))
}

#[derive(Serialize)]
struct MailStatus {
    configured: bool,
}

async fn dashboard(state: Here, staff: Staff) -> WebResult<Response> {
    let id = state.practice_id();
    let counts = state.store().dashboard_counts(id).await?;
    let enquiries: Vec<_> = state
        .store()
        .enquiries(id)
        .await?
        .into_iter()
        .filter(|e| e.handled_at.is_none())
        .take(5)
        .collect();
    let upcoming = calendar::upcoming(&state).await?;
    let ctx = context! {
        today => value(&upcoming.today),
        soon => value(&upcoming.soon),
        requests => value(&upcoming.requests),
        counts => value(&counts),
        enquiries => value(&enquiries),
        mail => value(&MailStatus { configured: state.config().mail_configured }),
        to_review => rights::due_for_review(&state, &crate::therapy::PracticeView::load(&state).await?).await?.len(),
    };
    page(&state, &staff, StatusCode::OK, "office/dashboard.html", ctx).await
}
