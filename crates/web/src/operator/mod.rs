//! The operator console: hosted mode's practices, run in the browser by the people who host
//! them.
//!
//! It answers on one host of its own (`--operator-host`), which no practice can have: the
//! [`divert`] layer, outside everything that finds a practice, sends that host's requests
//! here and every other host's to the practices. Operators are accounts of the deployment,
//! not of any practice (`store::OperatorStore`), and always sign in with a password and an
//! authenticator app ([`auth`]).
//!
//! What an operator can do ([`practices`]): create a practice and invite its therapist by
//! email, list practices with counts, suspend and resume one, give it a domain of its own,
//! send its staff a link to set a password, switch off a lost authenticator app, export it,
//! and close it. No page here shows a client's name or anything a client wrote: the list
//! and each practice's page show counts, hosts and staff accounts only, and the export is
//! sealed for carrying elsewhere. Each action on a practice is written in that practice's
//! own audit log, so its therapist can see what their host did.

mod auth;
mod directory;
mod practices;

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    extract::{Request, State},
    http::{Method, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use minijinja::{Value, context};
use tower::ServiceExt;
use tower_http::timeout::TimeoutLayer;

use crate::{AppState, Resolver, WebError, error::WebResult, render::html};
pub(crate) use auth::Operator;

/// The operator console as configured: where it answers, and what a new practice starts as.
#[derive(Debug, Clone)]
pub struct OperatorConsole {
    /// Its host, lower-case, without a port (`operator.anteroom.example`).
    pub host: String,
    /// The setup every practice created in the console starts from (its rooms, hours and
    /// appointment types, for the therapist to change).
    pub starter: Arc<domain::practice::PracticeSetup>,
}

impl OperatorConsole {
    /// The console at `host` (a host name, with or without a port; a port is ignored, as
    /// the request's host is matched without one). `None` for something that is no host.
    pub fn new(host: &str, starter: domain::practice::PracticeSetup) -> Option<Self> {
        Some(Self {
            host: domain::hosting::request_host(host)?,
            starter: Arc::new(starter),
        })
    }
}

/// The console's own address, `scheme://host[:port]`, written as the practices' are.
pub(crate) fn console_url(state: &AppState) -> String {
    let host = state
        .config()
        .operator
        .as_ref()
        .map_or("", |c| c.host.as_str());
    match state.resolver() {
        Resolver::Hosted(sites) => sites.address_of(host),
        Resolver::Single(_) => format!("https://{host}"),
    }
}

/// The console's router, or `None` when this deployment has none (not hosted, or no
/// `--operator-host`).
pub(crate) fn router(state: &AppState) -> Option<(String, Router)> {
    let console = state.config().operator.as_ref()?;
    if !matches!(state.resolver(), Resolver::Hosted(_)) {
        return None;
    }
    let router = Router::new()
        .route("/", get(practices::list))
        .route("/sign-in", get(auth::sign_in_form).post(auth::sign_in))
        .route("/sign-in/code", get(auth::code_form).post(auth::code))
        .route("/sign-in/set-up", get(auth::set_up_form).post(auth::set_up))
        .route("/sign-out", post(auth::sign_out))
        .route(
            "/practices/new",
            get(practices::new_form).post(practices::create),
        )
        .route("/practices/{id}", get(practices::show))
        .route("/practices/{id}/suspend", post(practices::suspend))
        .route("/practices/{id}/resume", post(practices::resume))
        .route("/practices/{id}/domains", post(practices::add_domain))
        .route(
            "/practices/{id}/staff/{user}/link",
            post(practices::send_link_to),
        )
        .route(
            "/practices/{id}/staff/{user}/second-factor",
            post(practices::second_factor_off),
        )
        .route(
            "/practices/{id}/export",
            get(practices::export_page).post(practices::export_file),
        )
        .route("/practices/{id}/export/key", post(practices::export_key))
        .route("/practices/{id}/directory/check", post(directory::check))
        .route(
            "/practices/{id}/directory/uncheck",
            post(directory::uncheck),
        )
        .route("/practices/{id}/directory/hide", post(directory::hide))
        .route("/practices/{id}/directory/show", post(directory::show))
        .route("/directory", get(directory::overview))
        .route("/directory/remotes", post(directory::add_remote))
        .route("/directory/remotes/{id}", get(directory::remote_page))
        .route(
            "/directory/remotes/{id}/check",
            post(directory::remote_check),
        )
        .route(
            "/directory/remotes/{id}/uncheck",
            post(directory::remote_uncheck),
        )
        .route("/directory/remotes/{id}/hide", post(directory::remote_hide))
        .route("/directory/remotes/{id}/show", post(directory::remote_show))
        .route(
            "/directory/remotes/{id}/remove",
            post(directory::remove_remote),
        )
        .route(
            "/practices/{id}/close",
            get(practices::close_form).post(practices::close),
        )
        .route("/assets/site.css", get(crate::site::feeds::stylesheet))
        .route("/robots.txt", get(robots))
        .fallback(crate::error::not_found)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(60),
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            cross_origin_protection,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), headers))
        .layer(middleware::from_fn_with_state(
            "operator:",
            crate::ops::label,
        ))
        .with_state(state.clone());
    Some((console.host.clone(), router))
}

/// The console is for no search engine.
async fn robots() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "User-agent: *\nDisallow: /\n",
    )
}

/// Send the console's host to the console, and every other host on to the practices.
pub(crate) async fn divert(
    State((host, console)): State<(String, Router)>,
    request: Request,
    next: Next,
) -> Response {
    let requested = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(domain::hosting::request_host);
    if requested.as_deref() == Some(host.as_str()) {
        match console.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    } else {
        next.run(request).await
    }
}

/// Refuse a state-changing request made by another site's page (CSRF), as the practices do.
async fn cross_origin_protection(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && !crate::security::same_origin(request.headers(), &console_url(&state)) {
        tracing::info!("refused a cross-origin form submission to the operator console");
        return WebError::Forbidden.into_response();
    }
    next.run(request).await
}

/// Security headers on every response (every page is private: never cached or indexed), and
/// the console's own error page on any error a handler did not render itself.
async fn headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let mut response = crate::error::own_error_page(response, |page| {
        render(&state, None, "operator/error.html", page)
    });
    let https = console_url(&state).starts_with("https://");
    crate::security::set_headers(&mut response, https, true);
    response
}

/// Render a console page; `operator` is `None` on the sign-in pages.
fn render(
    state: &AppState,
    operator: Option<&Operator>,
    template: &str,
    page: Value,
) -> WebResult<String> {
    let signed_in = operator.map(|o| context! { name => o.name.clone() });
    Ok(state
        .templates()
        .render(template, context! { operator => signed_in, ..page })?)
}

/// A rendered console page with a status.
fn page(
    state: &AppState,
    operator: Option<&Operator>,
    status: StatusCode,
    template: &str,
    ctx: Value,
) -> WebResult<Response> {
    Ok(html(status, render(state, operator, template, ctx)?))
}
