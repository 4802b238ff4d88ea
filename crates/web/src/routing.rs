//! Every route declared once: its method, path, access rule, audit action and handler, in
//! one line of its room's [`routes!`] table. The room's router is mounted from that table
//! and the access table ([`crate::access::rules`]) is the union of every room's, so the
//! router, the access rules, the access-matrix tests and (for the API, whose table also
//! carries each operation) the OpenAPI document cannot drift apart.

use axum::{Router, routing::MethodRouter};

use crate::{AppState, access::RouteRule};

/// One route: who may use it, and how its handler is mounted.
pub(crate) struct Route {
    pub rule: RouteRule,
    /// Adds the handler to the path's method router (`|m| m.get(handler)`).
    pub mount: Mount,
}

/// Adds a route's handler to its path's method router.
pub(crate) type Mount = Box<dyn Fn(MethodRouter<AppState>) -> MethodRouter<AppState> + Send + Sync>;

/// A router with each route of `routes` (routes with the same path share one method router).
pub(crate) fn mount(routes: &[Route]) -> Router<AppState> {
    routes.iter().fold(Router::new(), |router, route| {
        router.route(route.rule.path, (route.mount)(MethodRouter::new()))
    })
}

/// A room's routes, one line each:
/// `GET "/office/clients/{id}" => Staff(ClientViewed): show;` (the audit action is optional).
/// Defines `routes()`, which its `router()` mounts and [`crate::access::rules`] reads.
macro_rules! routes {
    ($($method:ident $path:literal => $rule:ident $(($action:ident))? : $handler:path;)*) => {
        pub(crate) fn routes() -> Vec<$crate::routing::Route> {
            vec![$($crate::routing::Route {
                rule: $crate::access::RouteRule {
                    method: stringify!($method),
                    path: $path,
                    rule: $crate::access::Rule::$rule,
                    audit: $crate::routing::routes!(@audit $($action)?),
                },
                mount: Box::new(|m| $crate::routing::routes!(@mount m $method $handler)),
            },)*]
        }
    };
    (@audit) => { None };
    (@audit $action:ident) => { Some(store::AuditAction::$action) };
    (@mount $m:ident GET $handler:path) => { $m.get($handler) };
    (@mount $m:ident POST $handler:path) => { $m.post($handler) };
}
pub(crate) use routes;
