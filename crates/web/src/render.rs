//! How every room renders: the practice's site context (name, therapist, links) that every
//! layout needs, a public-layout page, a finished HTML response, the page cache in front of
//! public pages, and the practice's own page for an error. The rooms (site, booking, portal,
//! office, invoices) call these; none renders through another room.

use axum::{
    body::Body,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use minijinja::{Value, context};
use serde::Serialize;

use crate::{
    Here,
    error::{Rendered, WebResult},
    pages::CachedPage,
    templates::value,
};

/// What every public page needs: the practice's name, the therapist, navigation, links.
#[derive(Serialize)]
struct SiteContext {
    name: String,
    tagline: String,
    public_url: String,
    therapist: domain::practice::TherapistProfile,
    social_links: Vec<domain::practice::SocialLink>,
    public_phone: Option<String>,
    year: i16,
    photos: crate::photos::SitePhotos,
    /// The stylesheet in the practice's theme and accent.
    css_href: String,
    /// The social preview card's address (used when there is no portrait).
    card_href: String,
}

/// The site context, built once and kept until content changes.
pub(crate) async fn site_context(state: &Here) -> WebResult<Value> {
    if let Some(site) = state.pages().site.read().ok().and_then(|s| s.clone()) {
        return Ok(site);
    }
    let store = state.store();
    let practice = store.practice(state.practice_id()).await?;
    let social_links = store.social_links(state.practice_id()).await?;
    let photos = crate::photos::SitePhotos::of(&store.images(state.practice_id()).await?);
    let look = store.look(state.practice_id()).await?;
    let card_href = crate::photos::Card::new(&practice, look, state.public_url()).href();
    let year = state
        .now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .year();
    let site = value(&SiteContext {
        name: practice.details.name,
        tagline: practice.details.tagline,
        public_url: state.public_url().to_owned(),
        therapist: practice.therapist,
        social_links,
        public_phone: practice.details.public_phone.map(|p| p.to_string()),
        year,
        photos,
        css_href: crate::site::feeds::theme_href(look.theme, look.accent),
        card_href,
    });
    if let Ok(mut slot) = state.pages().site.write() {
        *slot = Some(site.clone());
    }
    Ok(site)
}

/// Render a public page template with the site context added.
pub(crate) async fn render(
    state: &Here,
    template: &str,
    path: &str,
    page: Value,
) -> WebResult<String> {
    let site = site_context(state).await?;
    let canonical = format!("{}{}", state.public_url(), path);
    Ok(state
        .templates()
        .render(template, context! { site, canonical, path, ..page })?)
}

/// A finished HTML response.
pub(crate) fn html(status: StatusCode, body: String) -> Response {
    let mut response = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        body,
    )
        .into_response();
    response.extensions_mut().insert(Rendered);
    response
}

fn cached_response(page: &CachedPage) -> Response {
    let status = StatusCode::from_u16(page.status).unwrap_or(StatusCode::OK);
    let mut response = Response::new(Body::from(page.body.clone()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(page.content_type),
    );
    response.extensions_mut().insert(Rendered);
    response
}

/// Serve `key` from the page cache, rendering it with `make` the first time.
pub(crate) async fn cached<F, Fut>(
    state: &Here,
    key: &str,
    content_type: &'static str,
    make: F,
) -> WebResult<Response>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = WebResult<String>>,
{
    if let Some(page) = state.pages().get(key) {
        return Ok(cached_response(&page));
    }
    let generation = state.pages().generation();
    let body = make().await?;
    let page = state.pages().put(
        key.to_owned(),
        CachedPage {
            body: body.into(),
            content_type,
            status: 200,
        },
        generation,
    );
    Ok(cached_response(&page))
}

/// The site's own page for an error status.
pub(crate) async fn error_page(
    state: &Here,
    status: StatusCode,
    reference: Option<&str>,
    retry_after: bool,
    disk_full: bool,
) -> Response {
    let (title, message) = match status.as_u16() {
        503 if disk_full => (
            "This could not be saved just now",
            "The server has run out of room to store things, so nothing you sent has been kept: \
             nothing is half done. Please try again later, or contact the practice another way.",
        ),
        503 if retry_after => (
            "Busy for a moment",
            "A lot is happening on the server right now. Wait a few seconds, then try again.",
        ),
        404 => (
            "Page not found",
            "If you typed the web address, check it is correct. If you followed a link, the page may have moved.",
        ),
        403 => (
            "You cannot do that from here",
            "The form was sent from another website or an old page. Go back, reload the page and try again.",
        ),
        405 => (
            "That cannot be done here",
            "This address does not accept that kind of request. Go back and try again.",
        ),
        413 => (
            "That was too much to send",
            "Shorten what you wrote and try again.",
        ),
        400 => (
            "That web address is not quite right",
            "Part of it may be repeated or mistyped. Go back and follow the link again, or start again from the home page.",
        ),
        415 | 422 => (
            "Something in the form was not right",
            "Go back, check what you entered and try again.",
        ),
        408 => ("That took too long", "Please try again in a moment."),
        503 => (
            "Notes are locked on this server",
            "Anteroom was started without the practice's key file, so notes cannot be opened or written. Start it again with the key file (anteroom.key beside the database, or --key-file) and try again.",
        ),
        429 => (
            "Please wait a little",
            "There have been a lot of attempts in a short time. Wait a few minutes, then try again.",
        ),
        _ => (
            "Sorry, something went wrong on our side",
            "Your request was not completed. Please try again later.",
        ),
    };
    let page = context! { title, message, status => status.as_u16(), reference };
    let body = match render(state, "site/error.html", "", page).await {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(error = %error, "could not render the error page");
            format!(
                "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>{title}</title><h1>{title}</h1><p>{message}</p>"
            )
        }
    };
    html(status, body)
}
