//! Signing in with a link sent by email, and signing out.
//!
//! Asking for a link always gets the same page and status, whether or not the address
//! belongs to a client, so the form cannot be used to find out who sees the therapist.
//! The browser that asks gets a cookie with a random nonce; the link works only alongside
//! it, once, for ten minutes. Opening the link (GET) only shows a "Continue" button, because
//! mail scanners open links; pressing it (POST) signs in.

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, Path},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use domain::{EmailAddress, FieldErrors};
use jiff::SignedDuration;
use minijinja::context;
use serde::Deserialize;
use store::{Actor, AuditAction, Client, NewMessage, NewPortalLink, PortalLink};

use super::{Cookie, Source, portal_page};
use crate::query::Query;
use crate::secret_token::SecretToken;
use crate::{
    Here, WebError, access,
    booking::messages::URGENT_HELP,
    error::WebResult,
    forms::FormData,
    limits::{Limit, Subject},
    office::errors_value,
    security::client_ip,
};

/// How long a sign-in link works.
pub(crate) const LINK_LIFE: SignedDuration = SignedDuration::from_mins(10);

#[derive(Deserialize)]
pub(super) struct FormQuery {
    ended: Option<String>,
    signed_out: Option<String>,
}

pub(super) async fn form(
    state: Here,
    headers: HeaderMap,
    Query(q): Query<FormQuery>,
) -> WebResult<Response> {
    if let Some(token) = Cookie::Session.read(&state, &headers)
        && state.store().portal_session(&token.hash()).await?.is_some()
    {
        // Still signed in (the portal itself checks whether the session has run out).
        return Ok(Redirect::to("/portal").into_response());
    }
    let ctx = context! {
        ended => q.ended.is_some(),
        signed_out => q.signed_out.is_some(),
        values => context! { email => "" },
    };
    portal_page(
        &state,
        StatusCode::OK,
        "portal/sign_in.html",
        "/portal/sign-in",
        false,
        ctx,
    )
    .await
}

/// The email with the link: it names only the practice, never anything about the therapy.
/// `url` is the link sealed for the outbox (see [`crate::sealed`]).
fn link_email(state: &Here, practice: &str, client: &Client, url: &str) -> NewMessage {
    let first_name = client.name.as_str().split_whitespace().next().unwrap_or("");
    let base = state.public_url();
    NewMessage {
        kind: super::LINK_EMAIL_KIND.into(),
        to: client.email.clone(),
        subject: format!("Your sign-in link for {practice}"),
        body_text: format!(
            "Dear {first_name},\n\n\
             Here is your link to sign in and see your appointments with {practice}:\n\n{url}\n\n\
             It works once, for {minutes} minutes, and only in the browser where you asked for \
             it. If it has stopped working, you can ask for a new one at {base}/portal/sign-in\n\n\
             If you did not ask for this link, you do not need to do anything: nobody can sign \
             in without it, and it stops working by itself.\n\n\
             If you need help urgently: {URGENT_HELP}\n\n{practice}\n",
            minutes = LINK_LIFE.as_mins(),
        ),
        calendar: None,
    }
}

pub(super) async fn send_link(
    state: Here,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: FormData,
) -> WebResult<Response> {
    let ip = client_ip(&state, &headers, peer);
    let from_here = state
        .reserve(Limit::PortalLink, Subject::Network(ip))
        .await?;
    let email = match EmailAddress::parse(form.get("email")) {
        Ok(email) => email,
        Err(error) => {
            let mut errors = FieldErrors::new();
            errors.add("email", error.0);
            let (list, map) = errors_value(&errors);
            let ctx = context! {
                values => context! { email => form.get("email") },
                errors => list,
                error => map,
            };
            return portal_page(
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                "portal/sign_in.html",
                "/portal/sign-in",
                false,
                ctx,
            )
            .await;
        }
    };
    // Counted for the address typed whether or not it is a client's, so the limits say
    // nothing about who is on file: per network and inbox, and per inbox from anywhere (no
    // one can fill a client's inbox from many addresses).
    // A request refused by one of these does not count against the others.
    let inbox = email.as_str().to_lowercase();
    let to_inbox_from_here = match state
        .reserve(Limit::PortalLinkEmail, Subject::NetworkAccount(ip, &inbox))
        .await
    {
        Ok(held) => held,
        Err(refused) => {
            from_here.release(&state).await?;
            return Err(refused);
        }
    };
    if let Err(refused) = state
        .reserve(Limit::PortalLinkInbox, Subject::Account(&inbox))
        .await
    {
        from_here.release(&state).await?;
        to_inbox_from_here.release(&state).await?;
        return Err(refused);
    }
    from_here.keep();
    to_inbox_from_here.keep();

    // Asking again from the same browser keeps its nonce, so an earlier link still works.
    let browser = match Cookie::Browser.read(&state, &headers) {
        Some(nonce) => nonce,
        None => SecretToken::generate(),
    };
    let practice = state.practice_id();
    let now = state.now();
    let client = state.store().client_by_email(practice, &email).await?;
    if client.is_some() && !state.keys().loaded() {
        tracing::error!("no key file is loaded, so portal sign-in links cannot be sent");
    }
    // The audit entry, the link and its email are written off the answer's path, for known
    // and unknown addresses alike, so that the answer never waits for the writer (the
    // write waits for the disk) and takes no longer for an address that is on file. If
    // storing the link fails, the person asks again.
    let browser_hash = browser.hash();
    let background = state.clone();
    tokio::spawn(async move {
        let state = background;
        // Never the address typed: only which client it matched, if any.
        let recorded = access::record(
            &state,
            Actor::Anonymous,
            AuditAction::PortalLinkRequested,
            client.as_ref().map(|c| c.id),
            None,
            Some(ip),
        )
        .await;
        if let Err(error) = recorded {
            tracing::error!(error = %error, "a portal link request could not be audited");
        }
        if let Some(client) = client
            && state.keys().loaded()
            && let Err(error) = send_link_email(&state, &client, browser_hash, now).await
        {
            tracing::error!(error = %error, "a portal sign-in link could not be stored");
        }
    });
    let mut response = portal_page(
        &state,
        StatusCode::OK,
        "portal/check_email.html",
        "/portal/sign-in",
        false,
        context! { minutes => LINK_LIFE.as_mins() },
    )
    .await?;
    response.headers_mut().insert(
        header::SET_COOKIE,
        Cookie::Browser.set(&state, Some(&browser)),
    );
    Ok(response)
}

/// Store a new sign-in link for `client` and queue its email, the link sealed.
async fn send_link_email(
    state: &Here,
    client: &Client,
    browser_hash: Vec<u8>,
    now: jiff::Timestamp,
) -> WebResult<()> {
    let practice = state.practice_id();
    let token = SecretToken::generate();
    let url = format!("{}/portal/link/{token}", state.public_url());
    let url = crate::sealed::seal_in_text(&*state.practice_key().await?, &url);
    let name = state.store().practice(practice).await?.details.name;
    let link = NewPortalLink {
        token_hash: token.hash(),
        client: client.id,
        browser_hash,
        expires_at: now.checked_add(LINK_LIFE).unwrap_or(now),
    };
    let message = link_email(state, &name, client, &url);
    state
        .store()
        .create_portal_link(practice, &link, &message, now)
        .await?;
    state.mail_queued();
    Ok(())
}

/// Why a link cannot be used (or `None`: it can, from this browser).
enum Refusal {
    /// Unknown, used or expired: ask for a new one.
    Gone,
    /// Asked for in another browser (or this browser's cookie has gone).
    OtherBrowser,
}

fn refusal(
    link: Option<&PortalLink>,
    browser: Option<&SecretToken>,
    now: jiff::Timestamp,
) -> Option<Refusal> {
    let Some(link) = link else {
        return Some(Refusal::Gone);
    };
    if link.used_at.is_some() || link.expires_at <= now {
        return Some(Refusal::Gone);
    }
    if browser.map(SecretToken::hash).as_ref() != Some(&link.browser_hash) {
        return Some(Refusal::OtherBrowser);
    }
    None
}

async fn refused_page(state: &Here, refusal: Refusal) -> WebResult<Response> {
    let (status, template) = match refusal {
        Refusal::Gone => (StatusCode::GONE, "portal/link_gone.html"),
        Refusal::OtherBrowser => (StatusCode::FORBIDDEN, "portal/other_browser.html"),
    };
    portal_page(
        state,
        status,
        template,
        "/portal/link",
        false,
        context! { minutes => LINK_LIFE.as_mins() },
    )
    .await
}

/// Opening the link: a "Continue" button, and nothing changes.
pub(super) async fn continue_page(
    state: Here,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> WebResult<Response> {
    let secret = SecretToken::parse(&token).ok_or(WebError::NotFound)?;
    let link = state
        .store()
        .portal_link(state.practice_id(), &secret.hash())
        .await?;
    let browser = Cookie::Browser.read(&state, &headers);
    if let Some(refusal) = refusal(link.as_ref(), browser.as_ref(), state.now()) {
        return refused_page(&state, refusal).await;
    }
    let name = state
        .store()
        .practice(state.practice_id())
        .await?
        .details
        .name;
    portal_page(
        &state,
        StatusCode::OK,
        "portal/continue.html",
        "/portal/link",
        false,
        context! { token, practice_name => name },
    )
    .await
}

/// Pressing "Continue": use the link (once, from the browser that asked) and sign in.
pub(super) async fn use_link(
    state: Here,
    Path(token): Path<String>,
    headers: HeaderMap,
    source: Source,
) -> WebResult<Response> {
    let token = SecretToken::parse(&token).ok_or(WebError::NotFound)?;
    let practice = state.practice_id();
    let now = state.now();
    let token_hash = token.hash();
    let browser = Cookie::Browser.read(&state, &headers);
    let session = SecretToken::generate();
    let session_hash = session.hash();
    let signed_in = match &browser {
        Some(nonce) => {
            state
                .store()
                .use_portal_link(practice, &token_hash, &nonce.hash(), &session_hash, now)
                .await?
        }
        None => None,
    };
    let Some(client) = signed_in else {
        let link = state.store().portal_link(practice, &token_hash).await?;
        tracing::info!("a portal sign-in link was refused");
        access::record(
            &state,
            Actor::Anonymous,
            AuditAction::PortalSignInFailed,
            link.as_ref().map(|l| l.client),
            None,
            source.0,
        )
        .await?;
        let why = refusal(link.as_ref(), browser.as_ref(), now).unwrap_or(Refusal::Gone);
        return refused_page(&state, why).await;
    };
    // A new session at every sign-in: any earlier one in this browser ends.
    if let Some(old) = Cookie::Session.read(&state, &headers) {
        state.store().delete_portal_session(&old.hash()).await?;
    }
    tracing::info!(client = client.get(), "signed in to the portal");
    access::record(
        &state,
        Actor::Client(client),
        AuditAction::PortalSignIn,
        Some(client),
        None,
        source.0,
    )
    .await?;
    let mut response = Redirect::to("/portal").into_response();
    let cookies = response.headers_mut();
    cookies.append(
        header::SET_COOKIE,
        Cookie::Session.set(&state, Some(&session)),
    );
    cookies.append(header::SET_COOKIE, Cookie::Browser.set(&state, None));
    Ok(response)
}

pub(super) async fn sign_out(
    state: Here,
    headers: HeaderMap,
    source: Source,
) -> WebResult<Response> {
    if let Some(token) = Cookie::Session.read(&state, &headers) {
        let session_hash = token.hash();
        if let Some(session) = state.store().portal_session(&session_hash).await? {
            state.store().delete_portal_session(&session_hash).await?;
            access::record(
                &state,
                Actor::Client(session.client),
                AuditAction::PortalSignOut,
                Some(session.client),
                None,
                source.0,
            )
            .await?;
        }
    }
    let mut response = Redirect::to("/portal/sign-in?signed_out=1").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, Cookie::Session.set(&state, None));
    Ok(response)
}
