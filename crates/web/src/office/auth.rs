//! Staff sign-in, sessions and sign-out.
//!
//! The cookie holds a 256-bit random token; the database holds only its SHA-256, so a
//! copy of the database cannot be used to sign in. A new token is issued at every sign-in
//! (no session fixation), sessions end after 30 idle minutes or 12 hours, and signing out
//! deletes the session on the server.

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, FromRequestParts, State},
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Redirect, Response},
};
use domain::EmailAddress;
use jiff::SignedDuration;
use minijinja::context;
use sha2::{Digest, Sha256};
use store::{Actor, AuditAction, User};

use super::render_office;
use crate::{
    AppState, WebError, access,
    error::WebResult,
    forms::FormData,
    password,
    security::{Limit, client_ip},
    site::html,
};

/// Sessions end after this long without a request.
pub(crate) const IDLE_TIMEOUT: SignedDuration = SignedDuration::from_mins(30);
/// Sessions end this long after sign-in, however active.
pub(crate) const ABSOLUTE_TIMEOUT: SignedDuration = SignedDuration::from_hours(12);

/// The session cookie's name: `__Host-` when the browser will keep a `Secure` cookie.
fn cookie_name(state: &AppState) -> &'static str {
    if secure_cookies(state) {
        "__Host-anteroom_office"
    } else {
        "anteroom_office"
    }
}

/// Browsers keep `Secure` cookies over HTTPS and on loopback addresses.
pub(crate) fn secure_cookies(state: &AppState) -> bool {
    state.config().is_https() || is_loopback_url(&state.config().public_url)
}

/// True for `http://127.0.0.1…`, `http://localhost…` and `http://[::1]…` (any port), comparing
/// the whole host so that `http://localhost.example.com` does not count.
fn is_loopback_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn session_token(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let name = cookie_name(state);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| v.len() == 64 && v.chars().all(|c| c.is_ascii_hexdigit()))
}

fn set_cookie(state: &AppState, value: &str, clear: bool) -> HeaderValue {
    let secure = if secure_cookies(state) {
        "; Secure"
    } else {
        ""
    };
    let expiry = if clear { "; Max-Age=0" } else { "" };
    let cookie = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax{secure}{expiry}",
        cookie_name(state)
    );
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A signed-in member of staff. Extracting it from a request without a valid session
/// redirects to the sign-in page.
pub(crate) struct Staff {
    pub user: User,
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let to_sign_in = || Redirect::to("/office/sign-in").into_response();
        let Some(token) = session_token(state, &parts.headers) else {
            return Err(to_sign_in());
        };
        let hash = token_hash(&token);
        let found = state
            .store()
            .session(&hash)
            .await
            .map_err(|e| WebError::from(e).into_response())?;
        let Some((session, user)) = found else {
            return Err(to_sign_in());
        };
        let now = state.now();
        let idle = now.duration_since(session.last_seen_at);
        let age = now.duration_since(session.created_at);
        let source = access::source(state, parts);
        if user.practice != state.practice_id() {
            // A session of another practice's staff: refused, and written down.
            access::record(
                state,
                Actor::Staff(user.id),
                AuditAction::AccessRefused,
                None,
                None,
                source,
            )
            .await
            .map_err(IntoResponse::into_response)?;
            return Err(WebError::Forbidden.into_response());
        }
        if idle > IDLE_TIMEOUT || age > ABSOLUTE_TIMEOUT {
            let _ = state.store().delete_session(&hash).await;
            return Err(to_sign_in());
        }
        if idle > SignedDuration::from_secs(60) {
            state
                .store()
                .touch_session(&hash, now)
                .await
                .map_err(|e| WebError::from(e).into_response())?;
        }
        if let Some(caller) = parts.extensions.get::<access::Caller>() {
            caller.set(Actor::Staff(user.id));
        }
        Ok(Self { user })
    }
}

pub(crate) async fn sign_in_form(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> WebResult<Response> {
    if let Some(token) = session_token(&state, &headers)
        && state.store().session(&token_hash(&token)).await?.is_some()
    {
        return Ok(Redirect::to("/office").into_response());
    }
    let body = render_office(&state, None, "office/sign_in.html", context! {}).await?;
    Ok(html(StatusCode::OK, body))
}

pub(crate) async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: FormData,
) -> WebResult<Response> {
    let ip = client_ip(&state, &headers, peer);
    let email_text = form.get("email").trim().to_lowercase();
    state
        .limiter()
        .peek(Limit::SignIn, ip, "")
        .map_err(WebError::TooManyRequests)?;
    state
        .limiter()
        .peek(Limit::SignInAccount, ip, &email_text)
        .map_err(WebError::TooManyRequests)?;
    let _ = state.limiter().hit(Limit::SignIn, ip, "");

    let email = EmailAddress::parse(&email_text).ok();
    let user = match &email {
        Some(email) => state.store().user_by_email(email).await?,
        None => None,
    };
    let password_text = form.get("password").to_owned();
    let stored_hash = user.as_ref().map_or_else(
        || password::dummy_hash().to_owned(),
        |u| u.password_hash.clone(),
    );
    let matches =
        tokio::task::spawn_blocking(move || password::verify(&password_text, &stored_hash))
            .await
            .map_err(|e| WebError::Internal(e.into()))?;
    let failed = user.as_ref().map(|u| u.id);
    let user = match user {
        Some(user) if matches => user,
        _ => {
            let _ = state.limiter().hit(Limit::SignInAccount, ip, &email_text);
            tracing::info!("sign-in refused");
            let actor = failed.map_or(Actor::Anonymous, Actor::Staff);
            access::record(
                &state,
                actor,
                AuditAction::SignInFailed,
                None,
                None,
                Some(ip),
            )
            .await?;
            let message = if email.is_none() && !email_text.is_empty() {
                "Enter an email address in the right format, like name@example.com"
            } else {
                "The email address or password is not right. Check them and try again"
            };
            let page = context! { email => form.get("email"), error => message };
            let body = render_office(&state, None, "office/sign_in.html", page).await?;
            return Ok(html(StatusCode::UNAUTHORIZED, body));
        }
    };
    state.limiter().reset(Limit::SignInAccount, ip, &email_text);
    if let Some(old) = session_token(&state, &headers) {
        state.store().delete_session(&token_hash(&old)).await?;
    }
    let token: String = rand::random::<[u8; 32]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    state
        .store()
        .create_session(&token_hash(&token), user.id, state.now())
        .await?;
    tracing::info!(user = user.id.get(), "signed in");
    access::record(
        &state,
        Actor::Staff(user.id),
        AuditAction::SignIn,
        None,
        None,
        Some(ip),
    )
    .await?;
    let mut response = Redirect::to("/office").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set_cookie(&state, &token, false));
    Ok(response)
}

pub(crate) async fn sign_out(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> WebResult<Response> {
    if let Some(token) = session_token(&state, &headers) {
        let hash = token_hash(&token);
        if let Some((_, user)) = state.store().session(&hash).await? {
            state.store().delete_session(&hash).await?;
            let ip = client_ip(&state, &headers, peer);
            access::record(
                &state,
                Actor::Staff(user.id),
                AuditAction::SignOut,
                None,
                None,
                Some(ip),
            )
            .await?;
        }
    }
    let mut response = Redirect::to("/office/sign-in").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set_cookie(&state, "", true));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::is_loopback_url;

    #[test]
    fn loopback_hosts_only() {
        for yes in [
            "http://127.0.0.1:8080",
            "http://localhost",
            "http://[::1]:9000/x",
            "http://127.0.0.2",
        ] {
            assert!(is_loopback_url(yes), "{yes}");
        }
        for no in [
            "http://localhost.example.com",
            "http://127.0.0.1.nip.io",
            "https://127.0.0.1",
            "http://example.com",
        ] {
            assert!(!is_loopback_url(no), "{no}");
        }
    }
}
