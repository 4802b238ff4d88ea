//! Staff sign-in, sessions and sign-out (SECURITY.md R2, R3).
//!
//! The cookie holds a 256-bit random token; the database holds only its SHA-256, so a
//! copy of the database cannot be used to sign in. A new token is issued at every sign-in
//! and again once the second factor is done (no session fixation); sessions end after the
//! practice's idle timeout (at most 30 minutes) or 12 hours, and signing out deletes the
//! session on the server.
//!
//! Sign-in has up to two steps. A right password alone gives a session at a *stage*: if the
//! account has an authenticator app, "code needed" (5 minutes to enter it); if the practice
//! requires one and the account has none, "set-up needed". Such a session opens only its
//! own step's page: [`Staff`] sends it there and lets nothing else through.
//!
//! Where to add audit records (sign-in succeeded/failed, second factor accepted/refused,
//! set up during sign-in): [`sign_in`], [`code`], [`set_up`].

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Redirect, Response},
};
use domain::EmailAddress;
use jiff::SignedDuration;
use minijinja::context;
use store::{Actor, AuditAction, SessionStage, StaffSession, User};

use super::{account_security, render_office};
use crate::secret_token::SecretToken;
use crate::{
    AppState, Here, WebError, access,
    error::WebResult,
    forms::FormData,
    limits::{Limit, Subject},
    password,
    render::html,
    security::client_ip,
};

/// Sessions end this long after sign-in, however active. (The idle timeout is the
/// practice's own setting, 5 to 30 minutes: `domain::staff::IdleTimeout`.)
pub(crate) const ABSOLUTE_TIMEOUT: SignedDuration = SignedDuration::from_hours(12);
/// How long the code from the app may take after a right password.
pub(crate) const CODE_TIMEOUT: SignedDuration = SignedDuration::from_mins(5);
/// How long setting up an app may take after a right password (installing one included).
pub(crate) const SET_UP_TIMEOUT: SignedDuration = SignedDuration::from_mins(30);

/// The session cookie's name: `__Host-` when the browser will keep a `Secure` cookie.
fn cookie_name(state: &Here) -> &'static str {
    if secure_cookies(state) {
        "__Host-anteroom_office"
    } else {
        "anteroom_office"
    }
}

/// Browsers keep `Secure` cookies over HTTPS and on loopback addresses.
pub(crate) fn secure_cookies(state: &Here) -> bool {
    state.is_https() || is_loopback_url(state.public_url())
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

fn session_token(state: &Here, headers: &HeaderMap) -> Option<SecretToken> {
    cookie_token(headers, cookie_name(state))
}

/// The token in the cookie `name`, if the request has one of the right shape.
pub(crate) fn cookie_token(headers: &HeaderMap, name: &str) -> Option<SecretToken> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| SecretToken::parse(v))
}

fn set_cookie(state: &Here, value: &str, clear: bool) -> HeaderValue {
    session_cookie(
        cookie_name(state),
        value,
        secure_cookies(state),
        "Lax",
        clear,
    )
}

/// A session cookie's `Set-Cookie` value: `HttpOnly`, the whole site, `Secure` when the
/// browser keeps such cookies here; `clear` ends it.
pub(crate) fn session_cookie(
    name: &str,
    value: &str,
    secure: bool,
    same_site: &str,
    clear: bool,
) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let expiry = if clear { "; Max-Age=0" } else { "" };
    let cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}{secure}{expiry}");
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The known-device cookie's name (see [`remember_device`]).
fn device_cookie_name(state: &Here) -> &'static str {
    if secure_cookies(state) {
        "__Host-anteroom_device"
    } else {
        "anteroom_device"
    }
}

/// How long a browser stays known after its last sign-in.
const DEVICE_LIFE_SECONDS: u32 = 365 * 24 * 3600;

/// The hash of this browser's device token, if it is one `user` has signed in from.
async fn known_device(
    state: &Here,
    headers: &HeaderMap,
    user: &User,
) -> WebResult<Option<Vec<u8>>> {
    let Some(token) = cookie_token(headers, device_cookie_name(state)) else {
        return Ok(None);
    };
    let hash = token.hash();
    Ok(state
        .store()
        .known_device(user.id, &hash)
        .await?
        .then_some(hash))
}

/// After a right password: remember this browser as one `user` signs in from (or note
/// that it did again), so that the per-account limit on failed sign-ins from everywhere
/// never holds the real person up. The cookie is set only after a right password, so
/// visitors never get it.
async fn remember_device(
    state: &Here,
    user: &User,
    known: Option<Vec<u8>>,
) -> WebResult<HeaderValue> {
    let token = SecretToken::generate();
    let hash = token.hash();
    if let Some(old) = known {
        // A fresh token each time: a copied cookie stops working at the next sign-in.
        state.store().forget_device(&old).await?;
    }
    state
        .store()
        .remember_device(user.id, &hash, state.now())
        .await?;
    let secure = if secure_cookies(state) {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={DEVICE_LIFE_SECONDS}{secure}",
        device_cookie_name(state)
    );
    HeaderValue::from_str(&cookie).map_err(|e| WebError::Internal(e.into()))
}

/// A live session: its token's hash, the session and its user. Expired sessions are
/// deleted on sight and never come back as one of these.
pub(crate) struct Current {
    pub hash: Vec<u8>,
    pub session: StaffSession,
    pub user: User,
}

/// The session the request's cookie names, if it is still alive. Activity is noted (at most
/// once a minute) so the idle timeout counts from the last request.
pub(crate) async fn current_session(
    state: &Here,
    headers: &HeaderMap,
    source: Option<std::net::IpAddr>,
) -> WebResult<Option<Current>> {
    let Some(token) = session_token(state, headers) else {
        return Ok(None);
    };
    let hash = token.hash();
    let Some((session, user)) = state.store().session(&hash).await? else {
        return Ok(None);
    };
    let now = state.now();
    let idle = now.duration_since(session.last_seen_at);
    let age = now.duration_since(session.created_at);
    let idle_limit = SignedDuration::from_mins(i64::from(session.policy.idle_timeout.minutes()));
    let life = match session.stage {
        SessionStage::SignedIn => ABSOLUTE_TIMEOUT,
        SessionStage::CodeNeeded => CODE_TIMEOUT,
        SessionStage::SetUpNeeded => SET_UP_TIMEOUT,
    };
    if user.practice != state.practice_id() {
        // A session of another practice's staff (a cookie carried to another practice's
        // host by hand; browsers never send it there): written down, and treated as no
        // session, so the person is asked to sign in to this practice.
        access::record(
            state,
            Actor::Staff(user.id),
            AuditAction::AccessRefused,
            None,
            None,
            source,
        )
        .await?;
        return Ok(None);
    }
    if idle > idle_limit || age > life {
        state.store().delete_session(&hash).await?;
        return Ok(None);
    }
    if idle > SignedDuration::from_secs(60) {
        state.store().touch_session(&hash, now).await?;
    }
    Ok(Some(Current {
        hash,
        session,
        user,
    }))
}

/// True when the practice requires a second factor that this account does not have yet.
fn must_set_up(current: &Current) -> bool {
    current.session.policy.second_factor_required && !current.user.second_factor
}

/// A signed-in member of staff. Extracting it from a request without a valid session
/// redirects to the sign-in page; a session half-way through sign-in (or one whose practice
/// now requires an app it lacks) is sent to the step it still has to do.
pub(crate) struct Staff {
    pub user: User,
    /// Where the request came from (for the audit log).
    pub source: Option<std::net::IpAddr>,
    /// The hash of this session's token (setting up an app is tied to one session).
    pub session: Vec<u8>,
}

impl Staff {
    /// Write an entry by this member of staff, for what the route table cannot say itself.
    pub(crate) async fn audit(
        &self,
        state: &Here,
        action: AuditAction,
        client: Option<store::ClientId>,
        object: Option<(&'static str, i64)>,
    ) -> WebResult<()> {
        let entry = self.entry(action, client, object);
        state
            .store()
            .append_audit(state.practice_id(), &entry, state.now())
            .await?;
        Ok(())
    }

    /// The audit entry for an action by this member of staff, for a store call that writes
    /// it in its own transaction.
    pub(crate) fn entry(
        &self,
        action: AuditAction,
        client: Option<store::ClientId>,
        object: Option<(&'static str, i64)>,
    ) -> store::NewAuditEntry {
        store::NewAuditEntry {
            actor: Actor::Staff(self.user.id),
            action,
            client,
            object,
            source: self.source.map(|ip| ip.to_string()),
        }
    }

    /// Refuse this member of staff something only the owner may do: written in the audit
    /// log, answered 403.
    pub(crate) async fn refused(&self, state: &Here) -> WebError {
        match self
            .audit(state, AuditAction::AccessRefused, None, None)
            .await
        {
            Ok(()) => WebError::Forbidden,
            Err(error) => error,
        }
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let state = &Here::from_request_parts(parts, app)
            .await
            .map_err(IntoResponse::into_response)?;
        let source = access::source(state, parts);
        let current = current_session(state, &parts.headers, source)
            .await
            .map_err(IntoResponse::into_response)?;
        let Some(current) = current else {
            return Err(Redirect::to("/office/sign-in").into_response());
        };
        match current.session.stage {
            SessionStage::CodeNeeded => Err(Redirect::to("/office/sign-in/code").into_response()),
            SessionStage::SetUpNeeded => {
                Err(Redirect::to("/office/sign-in/set-up").into_response())
            }
            SessionStage::SignedIn if must_set_up(&current) => {
                Err(Redirect::to("/office/sign-in/set-up").into_response())
            }
            SessionStage::SignedIn => {
                if let Some(caller) = parts.extensions.get::<access::Caller>() {
                    caller.set(Actor::Staff(current.user.id));
                }
                Ok(Self {
                    user: current.user,
                    source,
                    session: current.hash,
                })
            }
        }
    }
}

/// Replace the request's session (if any) with a new one at `stage`, under a new token;
/// the response must carry the returned cookie.
async fn rotate_session(
    state: &Here,
    old_hash: Option<&[u8]>,
    user: &User,
    stage: SessionStage,
) -> WebResult<HeaderValue> {
    if let Some(old) = old_hash {
        state.store().delete_session(old).await?;
    }
    let token = SecretToken::generate();
    state
        .store()
        .start_sign_in(&token.hash(), user.id, stage, state.now())
        .await?;
    Ok(set_cookie(state, token.as_str(), false))
}

fn with_cookie(mut response: Response, cookie: HeaderValue) -> Response {
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}

pub(crate) async fn sign_in_form(state: Here, headers: HeaderMap) -> WebResult<Response> {
    if current_session(&state, &headers, None).await?.is_some() {
        return Ok(Redirect::to("/office").into_response());
    }
    let body = render_office(&state, None, "office/sign_in.html", context! {}).await?;
    Ok(html(StatusCode::OK, body))
}

pub(crate) async fn sign_in(
    state: Here,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: FormData,
) -> WebResult<Response> {
    let ip = client_ip(&state, &headers, peer);
    let email_text = form.get("email").trim().to_lowercase();
    // Every attempt from a network counts.
    state
        .reserve(Limit::SignIn, Subject::Network(ip))
        .await?
        .keep();

    let email = EmailAddress::parse(&email_text).ok();
    // An account of another practice in the same database is no account here.
    let user = match &email {
        Some(email) => state
            .store()
            .user_by_email(email)
            .await?
            .filter(|user| user.practice == state.practice_id()),
        None => None,
    };
    // A failure is counted before the password is checked, and given back if it was right:
    // per account from this network, and per account from every network together — except
    // from a browser that has signed in to this account before, so that someone guessing
    // from many addresses cannot keep the real person out. Counted the same way for
    // addresses that have no account, so the limits say nothing about who has one.
    let here = state
        .reserve(
            Limit::SignInAccount,
            Subject::NetworkAccount(ip, &email_text),
        )
        .await?;
    let device = match &user {
        Some(user) => known_device(&state, &headers, user).await?,
        None => None,
    };
    let anywhere = if device.is_some() {
        None
    } else {
        match state
            .reserve(Limit::SignInAccountAnywhere, Subject::Account(&email_text))
            .await
        {
            Ok(held) => Some(held),
            Err(error) => {
                here.release(&state).await?;
                return Err(error);
            }
        }
    };

    let password_text = form.get("password").to_owned();
    let checked = match &user {
        Some(user) => password::check(password_text, user.password_hash.clone()).await,
        None => password::check_nothing(password_text).await,
    };
    let matches = match checked {
        Ok(matches) => matches,
        Err(busy) => {
            here.release(&state).await?;
            if let Some(anywhere) = anywhere {
                anywhere.release(&state).await?;
            }
            return Err(busy.into());
        }
    };
    let failed = user.as_ref().map(|u| u.id);
    let user = match user {
        Some(user) if matches => user,
        _ => {
            here.keep();
            if let Some(anywhere) = anywhere {
                anywhere.keep();
            }
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
    here.clear(&state).await?;
    if let Some(anywhere) = anywhere {
        anywhere.release(&state).await?;
    }
    let device_cookie = remember_device(&state, &user, device).await?;
    let old = session_token(&state, &headers).map(|t| t.hash());
    let policy = state.store().sign_in_policy(user.practice).await?;
    let (stage, next) = if user.second_factor {
        (SessionStage::CodeNeeded, "/office/sign-in/code")
    } else if policy.second_factor_required {
        (SessionStage::SetUpNeeded, "/office/sign-in/set-up")
    } else {
        (SessionStage::SignedIn, "/office")
    };
    let cookie = rotate_session(&state, old.as_deref(), &user, stage).await?;
    tracing::info!(user = user.id.get(), ?stage, "password accepted");
    if stage == SessionStage::SignedIn {
        access::record(
            &state,
            Actor::Staff(user.id),
            AuditAction::SignIn,
            None,
            None,
            Some(ip),
        )
        .await?;
    }
    let mut response = with_cookie(Redirect::to(next).into_response(), cookie);
    response
        .headers_mut()
        .append(header::SET_COOKIE, device_cookie);
    Ok(response)
}

/// The session of a sign-in waiting for its code, or where to send the browser instead.
async fn waiting_for_code(
    state: &Here,
    headers: &HeaderMap,
) -> WebResult<Result<Current, Response>> {
    Ok(match current_session(state, headers, None).await? {
        Some(current) if current.session.stage == SessionStage::CodeNeeded => Ok(current),
        Some(_) => Err(Redirect::to("/office").into_response()),
        None => Err(Redirect::to("/office/sign-in").into_response()),
    })
}

async fn code_page(
    state: &Here,
    status: StatusCode,
    field: &str,
    error: Option<&str>,
) -> WebResult<Response> {
    let page = context! { field, error };
    let body = render_office(state, None, "office/sign_in_code.html", page).await?;
    Ok(html(status, body))
}

/// The second step of signing in: the code from the app.
pub(crate) async fn code_form(state: Here, headers: HeaderMap) -> WebResult<Response> {
    if let Err(elsewhere) = waiting_for_code(&state, &headers).await? {
        return Ok(elsewhere);
    }
    code_page(&state, StatusCode::OK, "code", None).await
}

/// Check the code (or a recovery code); if right, a new token for a full session.
pub(crate) async fn code(
    state: Here,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: FormData,
) -> WebResult<Response> {
    let ip = Some(client_ip(&state, &headers, peer));
    let current = match waiting_for_code(&state, &headers).await? {
        Ok(current) => current,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let (field, typed) = if form.get("recovery_code").trim().is_empty() {
        ("code", form.get("code"))
    } else {
        ("recovery_code", form.get("recovery_code"))
    };
    match account_security::check_second_factor(&state, &current.user, typed, true).await? {
        account_security::Verdict::Accepted => {}
        account_security::Verdict::TooMany(seconds) => {
            tracing::info!(user = current.user.id.get(), "second factor throttled");
            let who = Actor::Staff(current.user.id);
            access::record(&state, who, AuditAction::SecondFactorFailed, None, None, ip).await?;
            return Err(WebError::TooManyRequests(seconds));
        }
        account_security::Verdict::Refused(message) => {
            tracing::info!(user = current.user.id.get(), "second factor refused");
            let who = Actor::Staff(current.user.id);
            access::record(&state, who, AuditAction::SecondFactorFailed, None, None, ip).await?;
            return code_page(&state, StatusCode::UNAUTHORIZED, field, Some(message)).await;
        }
    }
    let used = (field == "recovery_code").then_some(AuditAction::RecoveryCodeUsed);
    let cookie = finish_sign_in(&state, &current, used, ip).await?;
    Ok(with_cookie(Redirect::to("/office").into_response(), cookie))
}

/// The last step of signing in: a full session under a new token, written in the audit log
/// after `step` (the recovery code used, the app just set up) if there was one.
async fn finish_sign_in(
    state: &Here,
    current: &Current,
    step: Option<AuditAction>,
    ip: Option<std::net::IpAddr>,
) -> WebResult<HeaderValue> {
    let cookie = rotate_session(
        state,
        Some(&current.hash),
        &current.user,
        SessionStage::SignedIn,
    )
    .await?;
    tracing::info!(
        user = current.user.id.get(),
        ?step,
        "signed in after the password"
    );
    let who = Actor::Staff(current.user.id);
    for action in step.into_iter().chain([AuditAction::SignIn]) {
        access::record(state, who, action, None, None, ip).await?;
    }
    Ok(cookie)
}

/// The session of someone who must set up an app before anything else, or where to send
/// the browser instead.
async fn must_set_up_now(
    state: &Here,
    headers: &HeaderMap,
) -> WebResult<Result<Current, Response>> {
    Ok(match current_session(state, headers, None).await? {
        Some(current)
            if current.session.stage == SessionStage::SetUpNeeded
                || (current.session.stage == SessionStage::SignedIn && must_set_up(&current)) =>
        {
            Ok(current)
        }
        Some(_) => Err(Redirect::to("/office").into_response()),
        None => Err(Redirect::to("/office/sign-in").into_response()),
    })
}

/// Setting up an app because the practice requires one, before anything else.
pub(crate) async fn set_up_form(state: Here, headers: HeaderMap) -> WebResult<Response> {
    let current = match must_set_up_now(&state, &headers).await? {
        Ok(current) => current,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let body = account_security::set_up_page(
        &state,
        None,
        &current.user,
        &current.hash,
        "/office/sign-in/set-up",
        None,
    )
    .await?;
    Ok(html(StatusCode::OK, body))
}

/// Confirm the new app with a code; if right, show the recovery codes under a new token.
pub(crate) async fn set_up(
    state: Here,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: FormData,
) -> WebResult<Response> {
    let ip = Some(client_ip(&state, &headers, peer));
    let current = match must_set_up_now(&state, &headers).await? {
        Ok(current) => current,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let codes = match account_security::confirm_set_up(
        &state,
        &current.user,
        &current.hash,
        form.get("code"),
    )
    .await?
    {
        Ok(codes) => codes,
        Err(message) => {
            let body = account_security::set_up_page(
                &state,
                None,
                &current.user,
                &current.hash,
                "/office/sign-in/set-up",
                Some(message),
            )
            .await?;
            return Ok(html(StatusCode::UNPROCESSABLE_ENTITY, body));
        }
    };
    let cookie =
        finish_sign_in(&state, &current, Some(AuditAction::SecondFactorEnabled), ip).await?;
    let body = account_security::recovery_codes_page(&state, None, &codes, true, "/office").await?;
    Ok(with_cookie(html(StatusCode::OK, body), cookie))
}

pub(crate) async fn sign_out(
    state: Here,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> WebResult<Response> {
    if let Some(token) = session_token(&state, &headers) {
        let hash = token.hash();
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
