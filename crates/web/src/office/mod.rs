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
mod directory_listing;
mod feed;
mod inbox;
pub(crate) mod invoices;
pub(crate) mod measures;
mod password_link;
mod rights;
mod sessions;
mod settings;
mod therapy_settings;

use axum::{Router, http::StatusCode, response::Response};
use minijinja::{Value, context};
use serde::Serialize;

/// Form readers the fuzz targets run through `crate::fuzzing`.
pub(crate) use self::{
    clients::parse_client,
    sessions::ContractValues,
    settings::{booking_raw, location_raw, profile_raw, rows_of},
};
use crate::{AppState, Here, error::WebResult, render::html, templates::value};
pub(crate) use auth::{Staff, cookie_token, secure_cookies, session_cookie};
pub(crate) use password_link::PASSWORD_LINK_KIND;

/// The back office's own routes (sign-in, articles, enquiries, the outbox); each room
/// below has its own table.
mod own {
    use super::*;

    crate::routing::routes! {
        GET "/office" => Staff: dashboard;
        // Staff sign-in: the handlers audit successes and failures themselves.
        GET "/office/sign-in" => Public: auth::sign_in_form;
        POST "/office/sign-in" => Public: auth::sign_in;
        GET "/office/sign-in/code" => Public: auth::code_form;
        POST "/office/sign-in/code" => Public: auth::code;
        GET "/office/sign-in/set-up" => Public: auth::set_up_form;
        POST "/office/sign-in/set-up" => Public: auth::set_up;
        POST "/office/sign-out" => Public: auth::sign_out;
        // A link emailed to set a password (the handlers audit the password set).
        GET "/office/password/{token}" => Secret: password_link::form;
        POST "/office/password/{token}" => Secret: password_link::set;
        GET "/office/articles" => Staff: articles::list;
        GET "/office/articles/new" => Staff: articles::new_form;
        POST "/office/articles/new" => Staff: articles::create;
        GET "/office/articles/{id}/edit" => Staff: articles::edit_form;
        POST "/office/articles/{id}/edit" => Staff: articles::update;
        GET "/office/articles/{id}/delete" => Staff: articles::confirm_delete;
        POST "/office/articles/{id}/delete" => Staff: articles::delete;
        GET "/office/enquiries" => Staff: inbox::enquiries;
        GET "/office/enquiries/{id}" => Staff(EnquiryViewed): inbox::enquiry;
        POST "/office/enquiries/{id}/handled" => Staff(EnquiryChanged): inbox::set_handled;
        GET "/office/enquiries/{id}/delete" => Staff(EnquiryViewed): inbox::confirm_delete;
        POST "/office/enquiries/{id}/delete" => Staff(EnquiryChanged): inbox::delete;
        GET "/office/outbox" => Staff: inbox::outbox;
        POST "/office/outbox/{id}/retry" => Staff: inbox::retry;
    }
}

/// Every back-office route.
pub(crate) fn routes() -> Vec<crate::routing::Route> {
    [
        own::routes(),
        settings::routes(),
        audit_log::routes(),
        account_security::routes(),
        therapy_settings::routes(),
        invoices::routes(),
        booking_settings::routes(),
        directory_listing::routes(),
        calendar::routes(),
        clients::routes(),
        sessions::routes(),
        rights::routes(),
        feed::routes(),
        measures::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

pub(crate) fn router() -> Router<AppState> {
    crate::routing::mount(&routes())
}

/// Render a back-office page. `staff` is `None` only on the sign-in page.
pub(crate) async fn render_office(
    state: &Here,
    staff: Option<&Staff>,
    template: &str,
    page: Value,
) -> WebResult<String> {
    let site = crate::render::site_context(state).await?;
    let user = staff.map(|s| value(&s.user));
    // A hosted practice's therapist has no server to run commands on: help comes from the host.
    let hosted = matches!(state.resolver(), crate::Resolver::Hosted(_));
    Ok(state.templates().render(
        template,
        context! { site, user, hosted, office => true, ..page },
    )?)
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
    let view = crate::therapy::PracticeView::load(&state).await?;
    let flags = measures::open_flags(&state, &view).await?;
    let ctx = context! {
        flags,
        today => value(&upcoming.today),
        soon => value(&upcoming.soon),
        requests => value(&upcoming.requests),
        counts => value(&counts),
        enquiries => value(&enquiries),
        mail => value(&MailStatus { configured: state.config().mail_configured }),
        // Mail that has failed at least once and waits to be tried again: the mail
        // server is refusing or away.
        mail_trouble => counts.oldest_retrying.map(|since| context! {
            waiting => counts.retrying_messages,
            since => view.when_short(since),
        }),
        to_review => rights::due_for_review(&state, &view).await?.len(),
    };
    page(&state, &staff, StatusCode::OK, "office/dashboard.html", ctx).await
}
