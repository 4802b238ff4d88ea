//! The client portal: a client signs in with a link sent by email (no password to remember)
//! and sees their coming sessions, cancels one under the cancellation policy, reads their
//! invoices and keeps their contact details up to date; a new email address is confirmed
//! from its inbox before it is used (SECURITY.md R4).
//!
//! A client only ever sees their own records: every page takes a [`PortalClient`], and
//! every record named in a URL is checked to be theirs (another client's answers 404 and is
//! written in the audit log as refused). Portal sessions are short: 15 idle minutes, two
//! hours at most, and signing out ends them on the server. Nothing here shows or stores what
//! a client typed into the sign-in form beyond sending the link.

mod email_change;
mod measures;
mod pages;
mod sign_in;

use axum::{
    Router,
    extract::FromRequestParts,
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Redirect, Response},
};
use jiff::SignedDuration;
use minijinja::{Value, context};
use store::{Actor, AuditAction, Client};

use crate::secret_token::SecretToken;
use crate::{
    AppState, Here, WebError, access,
    error::WebResult,
    office::secure_cookies,
    render::{html, render},
};

/// Portal sessions end after this long without a request.
pub(crate) const IDLE_TIMEOUT: SignedDuration = SignedDuration::from_mins(15);
/// Portal sessions end this long after sign-in, however active.
pub(crate) const ABSOLUTE_TIMEOUT: SignedDuration = SignedDuration::from_hours(2);

/// The outbox kind of a sign-in email (its body holds a sealed secret).
pub(crate) const LINK_EMAIL_KIND: &str = "portal_link";

/// The outbox kinds whose bodies hold a sealed secret: the sign-in link, the link that
/// confirms a new email address, and a staff member's link to set a password. Only these
/// are opened before sending.
pub(crate) const SEALED_EMAIL_KINDS: &[&str] = &[
    LINK_EMAIL_KIND,
    email_change::CONFIRM_EMAIL_KIND,
    crate::office::PASSWORD_LINK_KIND,
];

crate::routing::routes! {
    // Asking for a sign-in link and using it: the handlers audit requests, sign-ins,
    // refusals and sign-outs themselves. Then the client's own records.
    GET "/portal/sign-in" => Public: sign_in::form;
    POST "/portal/sign-in" => Public: sign_in::send_link;
    GET "/portal/link/{token}" => Secret: sign_in::continue_page;
    POST "/portal/link/{token}" => Secret: sign_in::use_link;
    POST "/portal/sign-out" => Public: sign_in::sign_out;
    GET "/portal" => Client(PortalViewed): pages::home;
    GET "/portal/sessions/{id}/calendar.ics" => Client(PortalViewed): pages::calendar;
    GET "/portal/sessions/{id}/cancel" => Client(PortalViewed): pages::confirm_cancel;
    POST "/portal/sessions/{id}/cancel" => Client(PortalCancelled): pages::cancel;
    GET "/portal/invoices" => Client(PortalViewed): pages::invoices;
    GET "/portal/data" => Client(DataExported): pages::data;
    GET "/portal/invoices/{id}" => Client(PortalViewed): pages::invoice;
    GET "/portal/details" => Client(PortalViewed): pages::details_form;
    POST "/portal/details" => Client(PortalDetailsChanged): pages::save_details;
    GET "/portal/questionnaires/{id}" => Client(PortalViewed): measures::questionnaire;
    POST "/portal/questionnaires/{id}" => Client(PortalQuestionnaireAnswered): measures::answer;
    POST "/portal/questionnaires/{id}/step" => Client(PortalViewed): measures::step;
    GET "/portal/questionnaires/{id}/done" => Client(PortalViewed): measures::done;
    POST "/portal/measures/stop" => Client(PortalQuestionnairesStopped): measures::stop;
    POST "/portal/measures/resume" => Client(PortalQuestionnairesResumed): measures::resume;
    // Confirming a new email address from its inbox: the token is the proof, signed in or
    // not (the handler audits the change itself).
    GET "/portal/email/{token}" => Secret: email_change::confirm_page;
    POST "/portal/email/{token}" => Secret: email_change::confirm;
}

pub(crate) fn router() -> Router<AppState> {
    crate::routing::mount(&routes())
}

// ---- Cookies ----------------------------------------------------------------------------

/// The portal's two cookies.
#[derive(Debug, Clone, Copy)]
enum Cookie {
    /// The signed-in portal session.
    Session,
    /// Set on the browser that asks for a sign-in link; the link only works alongside it.
    Browser,
}

impl Cookie {
    /// `__Host-` when the browser will keep a `Secure` cookie (as the office's cookie).
    fn name(self, state: &Here) -> &'static str {
        match (self, secure_cookies(state)) {
            (Self::Session, true) => "__Host-anteroom_portal",
            (Self::Session, false) => "anteroom_portal",
            (Self::Browser, true) => "__Host-anteroom_portal_link",
            (Self::Browser, false) => "anteroom_portal_link",
        }
    }

    /// The cookie's value in a request, if it has the shape of one of ours.
    fn read(self, state: &Here, headers: &HeaderMap) -> Option<SecretToken> {
        let name = self.name(state);
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| SecretToken::parse(v))
    }

    /// `Set-Cookie` for `value`; `None` clears the cookie.
    fn set(self, state: &Here, value: Option<&SecretToken>) -> HeaderValue {
        let secure = if secure_cookies(state) {
            "; Secure"
        } else {
            ""
        };
        let life = match (self, value) {
            (_, None) => "; Max-Age=0".to_owned(),
            // Only as long as the link it goes with.
            (Self::Browser, Some(_)) => format!("; Max-Age={}", sign_in::LINK_LIFE.as_secs()),
            // Gone when the browser closes; the server ends it sooner.
            (Self::Session, Some(_)) => String::new(),
        };
        let cookie = format!(
            "{}={}; Path=/; HttpOnly; SameSite=Lax{secure}{life}",
            self.name(state),
            value.map_or("", SecretToken::as_str)
        );
        HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

// ---- Who is asking ----------------------------------------------------------------------

/// A client signed in to the portal. Extracting it from a request without a live portal
/// session redirects to the sign-in page (saying why when the session has ended).
pub(crate) struct PortalClient {
    pub client: Client,
}

fn to_sign_in(state: &Here, ended: bool) -> Response {
    let target = if ended {
        "/portal/sign-in?ended=1"
    } else {
        "/portal/sign-in"
    };
    let mut response = Redirect::to(target).into_response();
    if ended {
        response
            .headers_mut()
            .insert(header::SET_COOKIE, Cookie::Session.set(state, None));
    }
    response
}

impl FromRequestParts<AppState> for PortalClient {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let state = &Here::from_request_parts(parts, app)
            .await
            .map_err(IntoResponse::into_response)?;
        let failed = |e: store::StoreError| WebError::from(e).into_response();
        let Some(token) = Cookie::Session.read(state, &parts.headers) else {
            return Err(to_sign_in(state, false));
        };
        let session_hash = token.hash();
        let Some(session) = state
            .store()
            .portal_session(&session_hash)
            .await
            .map_err(failed)?
        else {
            return Err(to_sign_in(state, true));
        };
        if session.practice != state.practice_id() {
            // Another practice's client: written down, and asked to sign in to this one.
            access::record(
                state,
                Actor::Client(session.client),
                AuditAction::AccessRefused,
                None,
                None,
                access::source(state, parts),
            )
            .await
            .map_err(IntoResponse::into_response)?;
            return Err(to_sign_in(state, false));
        }
        let now = state.now();
        let idle = now.duration_since(session.last_seen_at);
        let age = now.duration_since(session.created_at);
        if idle > IDLE_TIMEOUT || age > ABSOLUTE_TIMEOUT {
            state
                .store()
                .delete_portal_session(&session_hash)
                .await
                .map_err(failed)?;
            return Err(to_sign_in(state, true));
        }
        let client = match state.store().client(session.practice, session.client).await {
            Ok(client) => client,
            Err(store::StoreError::NotFound) => {
                let _ = state.store().delete_portal_session(&session_hash).await;
                return Err(to_sign_in(state, true));
            }
            Err(other) => return Err(failed(other)),
        };
        if idle > SignedDuration::from_secs(60) {
            state
                .store()
                .touch_portal_session(&session_hash, now)
                .await
                .map_err(failed)?;
        }
        if let Some(caller) = parts.extensions.get::<access::Caller>() {
            caller.set(Actor::Client(client.id));
        }
        Ok(Self { client })
    }
}

impl PortalClient {
    /// The record `found` by the id in a URL, if it is this client's (`owner` says whose it
    /// is). Another client's, or none, is "not found", and asking for one is written down
    /// as refused (`object` names it for the audit log).
    async fn own<T>(
        &self,
        state: &Here,
        source: Source,
        object: (&'static str, i64),
        found: store::StoreResult<T>,
        owner: impl Fn(&T) -> store::ClientId,
    ) -> WebResult<T> {
        match found {
            Ok(record) if owner(&record) == self.client.id => Ok(record),
            Ok(record) => Err(self
                .refused(state, source, Some(owner(&record)), object)
                .await),
            Err(store::StoreError::NotFound) => {
                Err(self.refused(state, source, None, object).await)
            }
            Err(other) => Err(other.into()),
        }
    }

    /// Write down that this client asked for a record that is not theirs (`owner` is whose
    /// it is, when it exists), and answer "not found" as for a record that does not exist.
    async fn refused(
        &self,
        state: &Here,
        source: Source,
        owner: Option<store::ClientId>,
        object: (&'static str, i64),
    ) -> WebError {
        tracing::warn!(
            client = self.client.id.get(),
            kind = object.0,
            "a portal client asked for a record that is not theirs"
        );
        match access::record(
            state,
            Actor::Client(self.client.id),
            AuditAction::AccessRefused,
            owner,
            Some(object),
            source.0,
        )
        .await
        {
            Ok(()) => WebError::NotFound,
            Err(error) => error,
        }
    }
}

/// Where a request came from, for the audit log.
pub(crate) struct Source(Option<std::net::IpAddr>);

impl FromRequestParts<AppState> for Source {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(access::source(state, parts)))
    }
}

// ---- Pages ------------------------------------------------------------------------------

/// Render a portal page (the public layout, with the crisis block) with a status.
async fn portal_page(
    state: &Here,
    status: StatusCode,
    template: &str,
    path: &str,
    signed_in: bool,
    ctx: Value,
) -> WebResult<Response> {
    let body = render(
        state,
        template,
        path,
        context! { portal => true, signed_in, ..ctx },
    )
    .await?;
    Ok(html(status, body))
}
