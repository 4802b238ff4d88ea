//! Who may use each route, and what using it writes to the audit log (SECURITY.md R1, R9).
//!
//! Every route the app serves has one line in [`RULES`]. The [`guard`] middleware looks the
//! request's route up there before any handler runs:
//! - a route with no line answers 404 (and logs an error), so a route added without an
//!   authorisation rule does not work and its tests fail;
//! - a route whose rule asks for staff or a client must have had the handler check the
//!   caller (the `Staff` and portal extractors report who they let through); a success
//!   without that check is replaced by a 403, so a handler that forgets cannot leak;
//! - after a successful request by a signed-in caller, the line's audit action is written
//!   with the record it concerns (found from the route's id or, for a new record, from the
//!   redirect to it) and the client that record belongs to. If the entry cannot be written
//!   the page is not shown.

use std::{
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex},
};

use axum::{
    extract::{ConnectInfo, FromRequestParts, MatchedPath, RawPathParams, Request},
    http::{Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use store::{Actor, AuditAction, ClientId, NewAuditEntry};

use crate::{AppState, Here, WebError, security::client_ip};

/// Autosaves of the same note by the same person within this long of the last entry for it
/// are one entry.
const AUTOSAVE_FOLD: jiff::SignedDuration = jiff::SignedDuration::from_mins(15);

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Anyone: public pages, booking, the JSON API, sign-in forms.
    Public,
    /// Whoever holds the secret in the URL (a booking's manage link, an invoice link, the
    /// calendar feed); the handler checks the secret.
    Secret,
    /// A signed-in member of staff of this practice.
    Staff,
    /// A client signed in to the portal (they only ever see their own records).
    Client,
}

/// One route's rule.
#[derive(Debug, Clone, Copy)]
pub struct RouteRule {
    /// `GET` or `POST` (`HEAD` follows `GET`; `ANY` matches every method).
    pub method: &'static str,
    /// The route exactly as the router declares it.
    pub path: &'static str,
    pub rule: Rule,
    /// What a successful request writes to the audit log.
    pub audit: Option<AuditAction>,
}

macro_rules! rules {
    ($($method:ident $path:literal => $rule:ident $(, $action:ident)?;)*) => {
        /// Every route of the app.
        pub const RULES: &[RouteRule] = &[
            $(RouteRule {
                method: stringify!($method),
                path: $path,
                rule: Rule::$rule,
                audit: rules!(@audit $($action)?),
            },)*
        ];
    };
    (@audit) => { None };
    (@audit $action:ident) => { Some(AuditAction::$action) };
}

rules! {
    // The public site.
    GET "/" => Public;
    GET "/about" => Public;
    GET "/approaches" => Public;
    GET "/approaches/{slug}" => Public;
    GET "/articles" => Public;
    GET "/articles/{slug}" => Public;
    GET "/assets/site.css" => Public;
    GET "/assets/notes.js" => Public;
    GET "/contact" => Public;
    POST "/contact" => Public;
    GET "/contact/thanks" => Public;
    GET "/faq" => Public;
    GET "/favicon.ico" => Public;
    GET "/favicon.svg" => Public;
    GET "/feed.xml" => Public;
    GET "/fees" => Public;
    GET "/locations" => Public;
    GET "/privacy" => Public;
    GET "/robots.txt" => Public;
    GET "/sitemap.xml" => Public;
    GET "/tags" => Public;
    GET "/tags/{slug}" => Public;
    GET "/urgent-help" => Public;
    // Booking a consultation, and the visitor's manage link.
    GET "/book" => Public;
    GET "/book/already" => Public;
    POST "/book/check" => Public;
    POST "/book/confirm" => Public;
    GET "/book/details" => Public;
    POST "/book/details" => Public;
    GET "/book/times" => Public;
    GET "/booking/{token}" => Secret;
    GET "/booking/{token}/calendar.ics" => Secret;
    GET "/booking/{token}/cancel" => Secret;
    POST "/booking/{token}/cancel" => Secret;
    GET "/booking/{token}/move" => Secret;
    GET "/booking/{token}/move/confirm" => Secret;
    POST "/booking/{token}/move/confirm" => Secret;
    GET "/invoice/{token}" => Secret;
    GET "/calendar/{file}" => Secret;
    // The JSON API (public booking; cancelling needs the manage token).
    ANY "/api" => Public;
    ANY "/api/{*rest}" => Public;
    GET "/api/v1/practice" => Public;
    GET "/api/v1/availability" => Public;
    POST "/api/v1/bookings" => Public;
    POST "/api/v1/bookings/{id}/cancel" => Secret;
    GET "/api/v1/openapi.json" => Public;
    // Staff sign-in (the handlers audit successes and failures themselves).
    GET "/office/sign-in" => Public;
    POST "/office/sign-in" => Public;
    POST "/office/sign-out" => Public;
    GET "/office/sign-in/code" => Public;
    POST "/office/sign-in/code" => Public;
    GET "/office/sign-in/set-up" => Public;
    POST "/office/sign-in/set-up" => Public;
    // The client portal: asking for a sign-in link and using it (the handlers audit
    // requests, sign-ins, refusals and sign-outs themselves), then the client's own records.
    GET "/portal/sign-in" => Public;
    POST "/portal/sign-in" => Public;
    GET "/portal/link/{token}" => Secret;
    POST "/portal/link/{token}" => Secret;
    POST "/portal/sign-out" => Public;
    GET "/portal" => Client, PortalViewed;
    GET "/portal/sessions/{id}/calendar.ics" => Client, PortalViewed;
    GET "/portal/sessions/{id}/cancel" => Client, PortalViewed;
    POST "/portal/sessions/{id}/cancel" => Client, PortalCancelled;
    GET "/portal/invoices" => Client, PortalViewed;
    GET "/portal/invoices/{id}" => Client, PortalViewed;
    GET "/portal/data" => Client, DataExported;
    GET "/portal/details" => Client, PortalViewed;
    POST "/portal/details" => Client, PortalDetailsChanged;
    // Confirming a new email address from its inbox: the token is the proof, signed in or
    // not (the handler audits the change itself).
    GET "/portal/email/{token}" => Secret;
    POST "/portal/email/{token}" => Secret;
    // The back office.
    GET "/office" => Staff;
    GET "/office/articles" => Staff;
    GET "/office/articles/new" => Staff;
    POST "/office/articles/new" => Staff;
    GET "/office/articles/{id}/delete" => Staff;
    POST "/office/articles/{id}/delete" => Staff;
    GET "/office/articles/{id}/edit" => Staff;
    POST "/office/articles/{id}/edit" => Staff;
    GET "/office/calendar" => Staff;
    GET "/office/bookings/{id}" => Staff, ConsultationViewed;
    POST "/office/bookings/{id}/accept" => Staff, ConsultationChanged;
    GET "/office/bookings/{id}/cancel" => Staff, ConsultationViewed;
    POST "/office/bookings/{id}/cancel" => Staff, ConsultationChanged;
    GET "/office/bookings/{id}/decline" => Staff, ConsultationViewed;
    POST "/office/bookings/{id}/decline" => Staff, ConsultationChanged;
    GET "/office/bookings/{id}/move" => Staff, ConsultationViewed;
    GET "/office/bookings/{id}/move/confirm" => Staff, ConsultationViewed;
    POST "/office/bookings/{id}/move/confirm" => Staff, ConsultationChanged;
    GET "/office/bookings/{id}/outcome" => Staff, ConsultationViewed;
    POST "/office/bookings/{id}/outcome" => Staff, ConsultationChanged;
    GET "/office/clients" => Staff;
    GET "/office/clients/new" => Staff;
    POST "/office/clients/new" => Staff, ClientCreated;
    GET "/office/clients/{id}" => Staff, ClientViewed;
    GET "/office/clients/{id}/edit" => Staff, ClientViewed;
    POST "/office/clients/{id}/edit" => Staff, ClientChanged;
    POST "/office/clients/{id}/notes" => Staff, NoteWritten;
    GET "/office/clients/{id}/contract/new" => Staff, ClientViewed;
    POST "/office/clients/{id}/contract/new" => Staff, ContractChanged;
    GET "/office/clients/{id}/contracts/{contract}/change" => Staff, ClientViewed;
    POST "/office/clients/{id}/contracts/{contract}/change" => Staff, ContractChanged;
    GET "/office/clients/{id}/contracts/{contract}/end" => Staff, ClientViewed;
    POST "/office/clients/{id}/contracts/{contract}/end" => Staff, ContractChanged;
    // Data rights (R16, R17). Erasing audits itself: afterwards the client cannot be found
    // from the id, so the handler writes `ClientErased` with the id.
    POST "/office/clients/{id}/export" => Staff, DataExported;
    GET "/office/clients/{id}/subject-access/new" => Staff, ClientViewed;
    POST "/office/clients/{id}/subject-access/new" => Staff, SubjectAccessRecorded;
    GET "/office/clients/{id}/subject-access/{request}/extend" => Staff, ClientViewed;
    POST "/office/clients/{id}/subject-access/{request}/extend" => Staff, SubjectAccessRecorded;
    POST "/office/clients/{id}/subject-access/{request}/complete" => Staff, SubjectAccessRecorded;
    GET "/office/clients/{id}/keep" => Staff, ClientViewed;
    POST "/office/clients/{id}/keep" => Staff, ErasureRefused;
    GET "/office/clients/{id}/refuse-erasure" => Staff, ClientViewed;
    POST "/office/clients/{id}/refuse-erasure" => Staff, ErasureRefused;
    GET "/office/clients/{id}/erase" => Staff, ClientViewed;
    POST "/office/clients/{id}/erase" => Staff;
    GET "/office/records-to-review" => Staff;
    GET "/office/sessions/{id}" => Staff, SessionViewed;
    POST "/office/sessions/{id}/move" => Staff, SessionChanged;
    POST "/office/sessions/{id}/note" => Staff, NoteWritten;
    POST "/office/sessions/{id}/outcome" => Staff, SessionChanged;
    POST "/office/sessions/{id}/waive" => Staff, SessionChanged;
    GET "/office/invoices" => Staff;
    POST "/office/invoices/new" => Staff, InvoiceChanged;
    GET "/office/invoices/{id}" => Staff, InvoiceViewed;
    POST "/office/invoices/{id}/paid" => Staff, InvoiceChanged;
    POST "/office/invoices/{id}/send" => Staff, InvoiceChanged;
    POST "/office/invoices/{id}/unpaid" => Staff, InvoiceChanged;
    GET "/office/enquiries" => Staff;
    GET "/office/enquiries/{id}" => Staff, EnquiryViewed;
    GET "/office/enquiries/{id}/delete" => Staff, EnquiryViewed;
    POST "/office/enquiries/{id}/delete" => Staff, EnquiryChanged;
    POST "/office/enquiries/{id}/handled" => Staff, EnquiryChanged;
    GET "/office/outbox" => Staff;
    POST "/office/outbox/{id}/retry" => Staff;
    // Settings: every change is audited.
    GET "/office/settings" => Staff;
    GET "/office/settings/appointment-types/{slug}" => Staff;
    POST "/office/settings/appointment-types/{slug}" => Staff, SettingsChanged;
    GET "/office/settings/away" => Staff;
    POST "/office/settings/away" => Staff, SettingsChanged;
    POST "/office/settings/away/{id}/delete" => Staff, SettingsChanged;
    GET "/office/settings/booking" => Staff;
    POST "/office/settings/booking" => Staff, SettingsChanged;
    GET "/office/settings/calendar-feed" => Staff;
    POST "/office/settings/calendar-feed" => Staff, SettingsChanged;
    POST "/office/settings/calendar-feed/remove" => Staff, SettingsChanged;
    GET "/office/settings/cancellation-charges" => Staff;
    POST "/office/settings/cancellation-charges" => Staff, SettingsChanged;
    GET "/office/settings/faq" => Staff;
    POST "/office/settings/faq" => Staff, SettingsChanged;
    GET "/office/settings/hours/{location}" => Staff;
    POST "/office/settings/hours/{location}" => Staff, SettingsChanged;
    GET "/office/settings/links" => Staff;
    POST "/office/settings/links" => Staff, SettingsChanged;
    GET "/office/settings/locations/new" => Staff;
    POST "/office/settings/locations/new" => Staff, SettingsChanged;
    GET "/office/settings/locations/{slug}" => Staff;
    POST "/office/settings/locations/{slug}" => Staff, SettingsChanged;
    GET "/office/settings/locations/{slug}/delete" => Staff;
    POST "/office/settings/locations/{slug}/delete" => Staff, SettingsChanged;
    GET "/office/settings/policies" => Staff;
    POST "/office/settings/policies" => Staff, SettingsChanged;
    GET "/office/settings/practice" => Staff;
    POST "/office/settings/practice" => Staff, SettingsChanged;
    GET "/office/settings/privacy" => Staff;
    POST "/office/settings/privacy" => Staff, SettingsChanged;
    GET "/office/settings/profile" => Staff;
    POST "/office/settings/profile" => Staff, SettingsChanged;
    GET "/office/settings/audit" => Staff;
    GET "/office/settings/security" => Staff;
    GET "/office/settings/security/set-up" => Staff;
    POST "/office/settings/security/set-up" => Staff, SecondFactorEnabled;
    GET "/office/settings/security/recovery-codes" => Staff;
    POST "/office/settings/security/recovery-codes" => Staff, SettingsChanged;
    GET "/office/settings/security/turn-off" => Staff;
    POST "/office/settings/security/turn-off" => Staff, SecondFactorDisabled;
    POST "/office/settings/security/rules" => Staff, SettingsChanged;
    GET "/office/settings/therapy" => Staff;
    POST "/office/settings/therapy" => Staff, SettingsChanged;
}

/// The rule for a route and method; `None` if the route has none for any method.
/// `Some(None)` means the route is known but not for this method (the router answers 405).
pub fn rule_for(method: &Method, path: &str) -> Option<Option<&'static RouteRule>> {
    let method = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    // Every request asks: the rules of each route, indexed once.
    static BY_PATH: std::sync::OnceLock<
        std::collections::HashMap<&'static str, Vec<&'static RouteRule>>,
    > = std::sync::OnceLock::new();
    let by_path = BY_PATH.get_or_init(|| {
        let mut map = std::collections::HashMap::<_, Vec<_>>::new();
        for rule in RULES {
            map.entry(rule.path).or_default().push(rule);
        }
        map
    });
    let rules = by_path.get(path)?;
    Some(
        rules
            .iter()
            .copied()
            .find(|rule| rule.method == "ANY" || rule.method == method),
    )
}

/// Filled in by the extractors that check who is asking (staff, portal client), so that the
/// guard knows the handler checked, and who to write in the audit log.
#[derive(Clone, Default)]
pub(crate) struct Caller(Arc<Mutex<Option<Actor>>>);

impl Caller {
    /// Record who was let through.
    pub(crate) fn set(&self, actor: Actor) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(actor);
        }
    }
    fn get(&self) -> Option<Actor> {
        self.0.lock().ok().and_then(|slot| *slot)
    }
}

/// Where a request came from, for the audit log.
pub(crate) fn source(state: &AppState, parts: &axum::http::request::Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| client_ip(state, &parts.headers, *peer))
}

/// Append an entry for `actor`, e.g. a sign-in the handler audits itself.
pub(crate) async fn record(
    state: &Here,
    actor: Actor,
    action: AuditAction,
    client: Option<ClientId>,
    object: Option<(&'static str, i64)>,
    source: Option<IpAddr>,
) -> Result<(), WebError> {
    let entry = NewAuditEntry {
        actor,
        action,
        client,
        object,
        source: source.map(|ip| ip.to_string()),
    };
    state
        .store()
        .append_audit(state.practice_id(), &entry, state.now())
        .await?;
    Ok(())
}

/// The record a route's `{id}` names, by the route's prefix.
fn object_kind(path: &str) -> Option<&'static str> {
    [
        ("/office/clients/", "client"),
        ("/office/sessions/", "session"),
        ("/office/invoices/", "invoice"),
        ("/office/bookings/", "booking"),
        ("/office/enquiries/", "enquiry"),
        ("/portal/sessions/", "session"),
        ("/portal/invoices/", "invoice"),
    ]
    .into_iter()
    .find(|(prefix, _)| path.starts_with(prefix))
    .map(|(_, kind)| kind)
}

/// The record a request acted on: the route's `{id}`, or for a new record the page the
/// response redirects to.
fn object(
    route: &str,
    params: &[(String, String)],
    response: &Response,
) -> Option<(&'static str, i64)> {
    if let Some(kind) = object_kind(route)
        && let Some((_, raw)) = params.iter().find(|(name, _)| name == "id")
        && let Ok(id) = raw.parse::<i64>()
    {
        return Some((kind, id));
    }
    let location = response.headers().get(header::LOCATION)?.to_str().ok()?;
    let kind = object_kind(location)?;
    let rest = location.split_once(kind).map(|(_, rest)| rest)?;
    let digits: String = rest
        .trim_start_matches(['s', '/'])
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((kind, digits.parse().ok()?))
}

/// The middleware: see the module documentation.
pub(crate) async fn guard(state: Here, request: Request, next: Next) -> Response {
    let Some(route) = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
    else {
        // No route matched: the fallback answers 404.
        return next.run(request).await;
    };
    let rule = match rule_for(request.method(), &route) {
        Some(Some(rule)) => *rule,
        Some(None) => return next.run(request).await,
        None => {
            tracing::error!(route, "route has no access rule; refusing it");
            return WebError::NotFound.into_response();
        }
    };
    if rule.rule == Rule::Public || rule.rule == Rule::Secret {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let params: Vec<(String, String)> = RawPathParams::from_request_parts(&mut parts, &state)
        .await
        .map(|raw| {
            raw.iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let source = source(&state, &parts);
    let autosave = crate::notes::is_autosave(&parts.headers);
    let caller = Caller::default();
    parts.extensions.insert(caller.clone());
    let response = next.run(Request::from_parts(parts, body)).await;

    let status = response.status();
    let succeeded = status.is_success() || status.is_redirection();
    let Some(actor) = caller.get() else {
        if succeeded && !is_sign_in_redirect(&response) {
            tracing::error!(route, "handler answered without checking who is asking");
            return WebError::Forbidden.into_response();
        }
        return response;
    };
    let Some(action) = rule.audit.filter(|_| succeeded) else {
        return response;
    };
    let object = object(&route, &params, &response);
    // The notes script saves every few seconds while the therapist types: one entry for a
    // burst of typing, not one per save.
    if autosave && let Some(object) = object {
        match state
            .store()
            .last_audit_at(state.practice_id(), actor, action, object)
            .await
        {
            Ok(Some(at)) if state.now().duration_since(at) < AUTOSAVE_FOLD => return response,
            Ok(_) => {}
            Err(e) => return WebError::from(e).into_response(),
        }
    }
    let client = match object {
        // The handler found the client in this practice, or it would not have succeeded.
        Some(("client", id)) => Some(ClientId::new(id)),
        Some((kind, id)) => match state
            .store()
            .audit_subject(state.practice_id(), kind, id)
            .await
        {
            Ok(client) => client,
            Err(e) => return WebError::from(e).into_response(),
        },
        None => None,
    };
    // A client in the portal acts on their own record, even on a page that names no record.
    let client = client.or(match actor {
        Actor::Client(id) => Some(id),
        _ => None,
    });
    match record(&state, actor, action, client, object, source).await {
        Ok(()) => response,
        Err(e) => e.into_response(),
    }
}

fn is_sign_in_redirect(response: &Response) -> bool {
    response.status().is_redirection()
        && response
            .headers()
            .get(header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .is_some_and(|l| l.starts_with("/office/sign-in") || l.starts_with("/portal/sign-in"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_has_one_rule_per_method() {
        let mut seen = std::collections::HashSet::new();
        for rule in RULES {
            assert!(
                seen.insert((rule.method, rule.path)),
                "{} {} twice",
                rule.method,
                rule.path
            );
            assert!(
                rule.audit.is_none() || matches!(rule.rule, Rule::Staff | Rule::Client),
                "{} audits without knowing who",
                rule.path
            );
        }
    }

    #[test]
    fn client_data_routes_are_never_public() {
        for rule in RULES {
            if object_kind(rule.path).is_some() {
                assert!(
                    matches!(rule.rule, Rule::Staff | Rule::Client),
                    "{} {}",
                    rule.method,
                    rule.path
                );
            }
        }
    }

    /// A route added to the router without a line in `RULES` answers 404, whatever its
    /// handler does; a listed staff route whose handler forgets to check the caller cannot
    /// answer with success.
    #[tokio::test]
    async fn a_route_without_a_rule_is_not_served_and_an_unchecked_handler_cannot_succeed() {
        use axum::{Router, body::Body, http::Request, middleware, routing::get};
        use tower::ServiceExt;

        let dir = tempfile::tempdir().unwrap();
        let store = store_sqlite::SqliteStore::open(
            &dir.path().join("anteroom.db"),
            store_sqlite::OpenMode::CreateIfMissing,
        )
        .await
        .unwrap();
        let config = crate::Config {
            public_url: "http://127.0.0.1:1".into(),
            trust_proxy: false,
            rate_limits: crate::RateLimits::default(),
            theme_dir: None,
            mail_configured: false,
            master_key: None,
        };
        let state = AppState::new(
            std::sync::Arc::new(store),
            crate::Resolver::Single(store::PracticeId::new(1)),
            crate::Clock::System,
            config,
            None,
        )
        .unwrap();
        let app = Router::new()
            .route("/not-in-the-table", get(|| async { "secret things" }))
            // Listed as a staff route, but this handler never asks who is there.
            .route("/office/outbox", get(|| async { "everything" }))
            .route("/about", get(|| async { "public" }))
            .layer(middleware::from_fn_with_state(state.clone(), guard))
            .layer(middleware::from_fn_with_state(
                state.clone(),
                crate::here::resolve,
            ))
            .with_state(state);
        for (path, status) in [
            ("/not-in-the-table", 404),
            ("/office/outbox", 403),
            ("/about", 200),
        ] {
            let response = app
                .clone()
                .oneshot(Request::get(path).body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), status, "{path}");
        }
    }
}
