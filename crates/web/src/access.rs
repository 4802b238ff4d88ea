//! Who may use each route, and what using it writes to the audit log (SECURITY.md R1, R9).
//!
//! Every route the app serves has one line in its room's routes table, with its rule
//! ([`rules`] gathers them). The [`guard`] middleware looks the request's route up there
//! before any handler runs:
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

/// Every route of the app with its rule: the union of every room's `routes!` table (see
/// [`crate::routing`]), so a route cannot be served without one.
pub fn rules() -> &'static [RouteRule] {
    static RULES: std::sync::OnceLock<Vec<RouteRule>> = std::sync::OnceLock::new();
    RULES.get_or_init(|| crate::routes().iter().map(|route| route.rule).collect())
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
        for rule in rules() {
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
        ("/office/questionnaires/", "questionnaire"),
        ("/portal/questionnaires/", "questionnaire"),
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
        for rule in rules() {
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
        for rule in rules() {
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

    /// A route added to the router without a line in a routes table answers 404, whatever its
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
            host_key: None,
            operator: None,
            directory_host: None,
            outcode_centroids: None,
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
