//! Operators' sign-in: a password, then always a code from an authenticator app.
//!
//! As for staff (`office::auth`): the cookie holds a random token and the database only its
//! SHA-256; a new token is issued after the password and again after the code; a session
//! ends after 30 idle minutes or 12 hours. An operator without an app yet sets one up right
//! after the password, before anything else (the secret is sealed with the host's key), and
//! an operator who has lost theirs is reset from the command line
//! (`anteroom operator reset-second-factor`). Failed passwords are limited per network and
//! per account, and wrong codes per account, in counters of the whole deployment, so the
//! limits hold across processes.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts, State},
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Redirect, Response},
};
use domain::EmailAddress;
use jiff::SignedDuration;
use minijinja::context;
use sha2::{Digest, Sha256};
use store::{ConflictKind, LimitRule, OperatorId, Reservation, SessionStage, StoreError};

use super::{console_url, page};
use crate::{
    AppState, WebError,
    error::WebResult,
    forms::FormData,
    limits::network,
    password,
    second_factor::{Entered, TotpSecret},
    secret_token::SecretToken,
    security::client_ip,
};

/// Sessions end this long after sign-in, however active.
const ABSOLUTE_TIMEOUT: SignedDuration = SignedDuration::from_hours(12);
/// ... or this long after their last request.
const IDLE_TIMEOUT: SignedDuration = SignedDuration::from_mins(30);
/// How long the code may take after a right password.
const CODE_TIMEOUT: SignedDuration = SignedDuration::from_mins(5);
/// How long setting up an app may take after a right password.
const SET_UP_TIMEOUT: SignedDuration = SignedDuration::from_mins(30);

/// A signed-in operator. Extracting one from a request without a full session redirects to
/// the sign-in page, or to the step still to do.
pub(crate) struct Operator {
    pub id: OperatorId,
    pub name: String,
    /// Where the request came from (for the practices' audit logs).
    pub source: IpAddr,
}

fn secure_cookies(state: &AppState) -> bool {
    console_url(state).starts_with("https://")
}

fn cookie_name(state: &AppState) -> &'static str {
    if secure_cookies(state) {
        "__Host-anteroom_operator"
    } else {
        "anteroom_operator"
    }
}

fn set_cookie(state: &AppState, value: &str, clear: bool) -> HeaderValue {
    crate::office::session_cookie(
        cookie_name(state),
        value,
        secure_cookies(state),
        "Strict",
        clear,
    )
}

fn session_hash(state: &AppState, headers: &HeaderMap) -> Option<Vec<u8>> {
    crate::office::cookie_token(headers, cookie_name(state)).map(|token| token.hash())
}

/// A live session: its token's hash, the session and its operator.
struct Current {
    hash: Vec<u8>,
    session: store::OperatorSession,
    operator: store::Operator,
}

/// The session the request's cookie names, if it is still alive (an ended one is deleted).
async fn current_session(state: &AppState, headers: &HeaderMap) -> WebResult<Option<Current>> {
    let Some(hash) = session_hash(state, headers) else {
        return Ok(None);
    };
    let Some((session, operator)) = state.store().operator_session(&hash).await? else {
        return Ok(None);
    };
    let now = state.now();
    let idle = now.duration_since(session.last_seen_at);
    let age = now.duration_since(session.created_at);
    let life = match session.stage {
        SessionStage::SignedIn => ABSOLUTE_TIMEOUT,
        SessionStage::CodeNeeded => CODE_TIMEOUT,
        SessionStage::SetUpNeeded => SET_UP_TIMEOUT,
    };
    if idle > IDLE_TIMEOUT || age > life {
        state.store().delete_operator_session(&hash).await?;
        return Ok(None);
    }
    if idle > SignedDuration::from_secs(60) {
        state.store().touch_operator_session(&hash, now).await?;
    }
    Ok(Some(Current {
        hash,
        session,
        operator,
    }))
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let current = current_session(state, &parts.headers)
            .await
            .map_err(IntoResponse::into_response)?;
        let Some(current) = current else {
            return Err(Redirect::to("/sign-in").into_response());
        };
        match current.session.stage {
            SessionStage::CodeNeeded => Err(Redirect::to("/sign-in/code").into_response()),
            SessionStage::SetUpNeeded => Err(Redirect::to("/sign-in/set-up").into_response()),
            SessionStage::SignedIn => {
                let peer = parts
                    .extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0);
                Ok(Self {
                    id: current.operator.id,
                    name: current.operator.name,
                    source: client_ip(state, &parts.headers, peer),
                })
            }
        }
    }
}

/// The deployment-wide counters the console's sign-in is held to.
#[derive(Debug, Clone, Copy)]
enum HostLimit {
    /// Every sign-in attempt from one network.
    SignIn,
    /// Failed passwords for one account, from anywhere.
    Account,
    /// Wrong codes for one operator, from anywhere.
    Code,
}

impl HostLimit {
    fn kind(self) -> &'static str {
        match self {
            Self::SignIn => "operator_sign_in",
            Self::Account => "operator_account",
            Self::Code => "operator_code",
        }
    }

    fn rule(self, state: &AppState) -> LimitRule {
        let limits = &state.config().rate_limits;
        let max = match self {
            Self::SignIn => limits.sign_ins_per_15_minutes,
            Self::Account => limits.sign_in_failures_per_account,
            Self::Code => limits.second_factor_failures,
        };
        LimitRule {
            max: max.max(1),
            window: SignedDuration::from_mins(15),
        }
    }
}

/// A counted attempt: forgotten after a success.
struct Counted(Option<(&'static str, [u8; 32])>);

impl Counted {
    async fn clear(self, state: &AppState) -> WebResult<()> {
        if let Some((kind, subject)) = self.0 {
            state.store().clear_host_limit(kind, &subject).await?;
        }
        Ok(())
    }
}

/// Count one attempt of `limit` for `subject` before doing the work; 429 when it is reached.
async fn reserve(state: &AppState, limit: HostLimit, subject: &str) -> WebResult<Counted> {
    if state.config().rate_limits.disabled {
        return Ok(Counted(None));
    }
    let kind = limit.kind();
    let mut digest = Sha256::new();
    digest.update(kind.as_bytes());
    digest.update([0]);
    digest.update(subject.as_bytes());
    let subject: [u8; 32] = digest.finalize().into();
    let now = state.now();
    match state
        .store()
        .reserve_host_limit(kind, &subject, limit.rule(state), now)
        .await?
    {
        Reservation::Counted => Ok(Counted(Some((kind, subject)))),
        Reservation::Refused { until } => {
            let wait = until.duration_since(now).as_secs().max(1);
            Err(WebError::TooManyRequests(u64::try_from(wait).unwrap_or(1)))
        }
    }
}

/// Start a session at `stage` under a new token, ending the request's old one.
async fn rotate_session(
    state: &AppState,
    old: Option<&[u8]>,
    operator: OperatorId,
    stage: SessionStage,
) -> WebResult<HeaderValue> {
    if let Some(old) = old {
        state.store().delete_operator_session(old).await?;
    }
    let token = SecretToken::generate();
    state
        .store()
        .start_operator_session(&token.hash(), operator, stage, state.now())
        .await?;
    Ok(set_cookie(state, token.as_str(), false))
}

fn with_cookie(mut response: Response, cookie: HeaderValue) -> Response {
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}

use crate::keys::operator_secret_binding as binding;

fn host_key(state: &AppState) -> WebResult<&crypto::MasterKey> {
    state
        .config()
        .host_key
        .as_deref()
        .ok_or(WebError::KeyMissing)
}

fn seal(state: &AppState, operator: OperatorId, secret: &TotpSecret) -> WebResult<Vec<u8>> {
    Ok(host_key(state)?.seal_secret(secret.as_bytes(), &binding(operator)))
}

fn open(state: &AppState, operator: OperatorId, sealed: &[u8]) -> WebResult<TotpSecret> {
    let bytes = host_key(state)?
        .open_secret(sealed, &binding(operator))
        .map_err(|e| {
            WebError::Internal(anyhow::anyhow!(
                "operator {operator}'s authenticator secret (is this the key file?): {e}"
            ))
        })?;
    TotpSecret::from_bytes(&bytes).ok_or_else(|| {
        WebError::Internal(anyhow::anyhow!(
            "operator {operator}'s secret has the wrong length"
        ))
    })
}

pub(crate) async fn sign_in_form(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> WebResult<Response> {
    if current_session(&state, &headers)
        .await?
        .is_some_and(|c| c.session.stage == SessionStage::SignedIn)
    {
        return Ok(Redirect::to("/").into_response());
    }
    page(
        &state,
        None,
        StatusCode::OK,
        "operator/sign_in.html",
        context! {},
    )
}

pub(crate) async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: FormData,
) -> WebResult<Response> {
    let ip = client_ip(&state, &headers, peer);
    reserve(&state, HostLimit::SignIn, &network(ip)).await?;
    let email_text = form.get("email").trim().to_lowercase();
    let email = EmailAddress::parse(&email_text).ok();
    let operator = match &email {
        Some(email) => state.store().operator_by_email(email).await?,
        None => None,
    };
    // Counted for addresses with no account too, so the limit says nothing of who has one.
    let account = reserve(&state, HostLimit::Account, &email_text).await?;
    let password_text = form.get("password").to_owned();
    let matches = match &operator {
        Some(operator) => password::check(password_text, operator.password_hash.clone()).await?,
        None => password::check_nothing(password_text).await?,
    };
    let operator = match operator {
        Some(operator) if matches => operator,
        _ => {
            tracing::info!("operator sign-in refused");
            let message = if email.is_none() && !email_text.is_empty() {
                "Enter an email address in the right format, like name@example.com"
            } else {
                "The email address or password is not right. Check them and try again"
            };
            let ctx = context! { email => form.get("email"), error => message };
            return page(
                &state,
                None,
                StatusCode::UNAUTHORIZED,
                "operator/sign_in.html",
                ctx,
            );
        }
    };
    account.clear(&state).await?;
    let (stage, next) = if operator.sealed_secret.is_some() {
        (SessionStage::CodeNeeded, "/sign-in/code")
    } else {
        (SessionStage::SetUpNeeded, "/sign-in/set-up")
    };
    let old = session_hash(&state, &headers);
    let cookie = rotate_session(&state, old.as_deref(), operator.id, stage).await?;
    tracing::info!(operator = operator.id.get(), "operator password accepted");
    Ok(with_cookie(Redirect::to(next).into_response(), cookie))
}

/// The session at `stage`, or where to send the browser instead.
async fn at_stage(
    state: &AppState,
    headers: &HeaderMap,
    stage: SessionStage,
) -> WebResult<Result<Current, Response>> {
    Ok(match current_session(state, headers).await? {
        Some(current) if current.session.stage == stage => Ok(current),
        Some(_) => Err(Redirect::to("/").into_response()),
        None => Err(Redirect::to("/sign-in").into_response()),
    })
}

fn code_page(state: &AppState, status: StatusCode, error: Option<&str>) -> WebResult<Response> {
    page(
        state,
        None,
        status,
        "operator/code.html",
        context! { error },
    )
}

pub(crate) async fn code_form(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> WebResult<Response> {
    match at_stage(&state, &headers, SessionStage::CodeNeeded).await? {
        Ok(_) => code_page(&state, StatusCode::OK, None),
        Err(elsewhere) => Ok(elsewhere),
    }
}

/// Check the code; if right, a full session under a new token.
pub(crate) async fn code(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: FormData,
) -> WebResult<Response> {
    let current = match at_stage(&state, &headers, SessionStage::CodeNeeded).await? {
        Ok(current) => current,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let typed = match Entered::parse(form.get("code"), false) {
        Ok(Entered::Code(code)) => code,
        Ok(Entered::Recovery(_)) => String::new(),
        Err(message) => return code_page(&state, StatusCode::UNPROCESSABLE_ENTITY, Some(message)),
    };
    let operator = &current.operator;
    let counted = reserve(&state, HostLimit::Code, &operator.id.to_string()).await?;
    let Some(sealed) = &operator.sealed_secret else {
        return Ok(Redirect::to("/sign-in").into_response());
    };
    let secret = open(&state, operator.id, sealed)?;
    let accepted = match secret.check(&typed, state.now()) {
        Some(step) => state.store().use_operator_step(operator.id, step).await?,
        None => false,
    };
    if !accepted {
        tracing::info!(operator = operator.id.get(), "operator code refused");
        return code_page(
            &state,
            StatusCode::UNAUTHORIZED,
            Some("The code is not right, or was used already. Enter the code your app shows now"),
        );
    }
    counted.clear(&state).await?;
    let cookie = rotate_session(
        &state,
        Some(&current.hash),
        operator.id,
        SessionStage::SignedIn,
    )
    .await?;
    tracing::info!(operator = operator.id.get(), "operator signed in");
    Ok(with_cookie(Redirect::to("/").into_response(), cookie))
}

/// The secret this session is setting up: the one kept for it, or a new one, kept now.
async fn pending_secret(state: &AppState, current: &Current) -> WebResult<TotpSecret> {
    if let Some(sealed) = &current.session.pending_secret {
        return open(state, current.operator.id, sealed);
    }
    let secret = TotpSecret::generate();
    let sealed = seal(state, current.operator.id, &secret)?;
    state
        .store()
        .set_pending_secret(&current.hash, &sealed)
        .await?;
    Ok(secret)
}

fn set_up_page(
    state: &AppState,
    current: &Current,
    secret: &TotpSecret,
    status: StatusCode,
    error: Option<&str>,
) -> WebResult<Response> {
    let issuer = format!("Anteroom operator ({})", console_host(state));
    let url = secret.otpauth_url(&issuer, current.operator.email.as_str());
    let qr = crate::qr::svg(&url, "QR code to scan with your authenticator app")
        .map(minijinja::Value::from_safe_string);
    page(
        state,
        None,
        status,
        "operator/set_up.html",
        context! { qr, key => secret.grouped(), url, error },
    )
}

fn console_host(state: &AppState) -> &str {
    state
        .config()
        .operator
        .as_ref()
        .map_or("", |c| c.host.as_str())
}

pub(crate) async fn set_up_form(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> WebResult<Response> {
    let current = match at_stage(&state, &headers, SessionStage::SetUpNeeded).await? {
        Ok(current) => current,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let secret = pending_secret(&state, &current).await?;
    set_up_page(&state, &current, &secret, StatusCode::OK, None)
}

/// Confirm the new app with a code; if right, switch it on and sign in under a new token.
pub(crate) async fn set_up(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: FormData,
) -> WebResult<Response> {
    let current = match at_stage(&state, &headers, SessionStage::SetUpNeeded).await? {
        Ok(current) => current,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let secret = pending_secret(&state, &current).await?;
    let refuse = |message: &str| {
        set_up_page(
            &state,
            &current,
            &secret,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(message),
        )
    };
    let typed = match Entered::parse(form.get("code"), false) {
        Ok(Entered::Code(code)) => code,
        Ok(Entered::Recovery(_)) => String::new(),
        Err(message) => return refuse(message),
    };
    let counted = reserve(&state, HostLimit::Code, &current.operator.id.to_string()).await?;
    let Some(step) = secret.check(&typed, state.now()) else {
        return refuse(
            "The code is not right. Check that the app shows this account, then enter the code \
             it shows now",
        );
    };
    let sealed = seal(&state, current.operator.id, &secret)?;
    match state
        .store()
        .enable_operator_authenticator(current.operator.id, &sealed, step, state.now())
        .await
    {
        Ok(()) => {}
        // Set up already, from another session: sign in with a code from that app instead.
        Err(StoreError::Conflict(ConflictKind::AuthenticatorEnabled)) => {
            state.store().delete_operator_session(&current.hash).await?;
            return Ok(Redirect::to("/sign-in").into_response());
        }
        Err(other) => return Err(other.into()),
    }
    counted.clear(&state).await?;
    let cookie = rotate_session(
        &state,
        Some(&current.hash),
        current.operator.id,
        SessionStage::SignedIn,
    )
    .await?;
    tracing::info!(
        operator = current.operator.id.get(),
        "operator set up an authenticator app and signed in"
    );
    Ok(with_cookie(Redirect::to("/").into_response(), cookie))
}

pub(crate) async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> WebResult<Response> {
    if let Some(hash) = session_hash(&state, &headers) {
        state.store().delete_operator_session(&hash).await?;
    }
    Ok(with_cookie(
        Redirect::to("/sign-in").into_response(),
        set_cookie(&state, "", true),
    ))
}
