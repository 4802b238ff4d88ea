//! Operations: the probes a supervisor or load balancer asks (`/healthz`, `/readyz`), a
//! request id on every request and on every log line written while serving it, and the
//! metrics a monitoring system scrapes from a listener of its own ([`metrics_app`]).
//!
//! Nothing here holds or writes a record: routes are labelled by their pattern
//! (`/office/clients/{id}`, never the id), and the store is asked for counts and times
//! only (`store::HealthStore`).

use std::{
    collections::{BTreeMap, HashMap},
    fmt::Write as _,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    Router,
    extract::{MatchedPath, Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
};
use store::{PoolUse, StoreHealth, StoreResult};
use tracing::Instrument as _;

use crate::AppState;

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The label of a request that matched no route (a 404, or a probe's own).
const UNMATCHED: &str = "unmatched";

/// One route's requests.
#[derive(Default)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    /// Requests at or under each bound of [`BUCKETS`] (not cumulative; summed when written).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    seconds: f64,
}

/// Requests by route, status and time taken, since the process started; and the source of
/// request ids.
pub(crate) struct Metrics {
    routes: Mutex<HashMap<Arc<str>, RouteStats>>,
    /// This process's own prefix for request ids, so ids from two processes (or before and
    /// after a restart) do not repeat.
    process: u32,
    next_request: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            routes: Mutex::new(HashMap::new()),
            process: rand::random(),
            next_request: AtomicU64::new(1),
        }
    }
}

impl Metrics {
    fn record(&self, route: &Arc<str>, status: StatusCode, took: Duration) {
        let seconds = took.as_secs_f64();
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        let stats = match routes.get_mut(route) {
            Some(stats) => stats,
            None => routes.entry(route.clone()).or_default(),
        };
        *stats.by_status.entry(status.as_u16()).or_default() += 1;
        if let Some(bucket) = BUCKETS.iter().position(|&bound| seconds <= bound) {
            stats.buckets[bucket] += 1;
        }
        stats.count += 1;
        stats.seconds += seconds;
    }

    fn request_id(&self) -> String {
        let n = self.next_request.fetch_add(1, Ordering::Relaxed);
        format!("{:08x}-{n:x}", self.process)
    }
}

tokio::task_local! {
    /// The id of the request being served (set by [`track`]), for the error reference.
    pub(crate) static REQUEST_ID: String;
}

/// The route a response came from, as its pattern, set by [`label`] inside the router.
#[derive(Clone)]
struct RouteLabel(Arc<str>);

/// Inside a router (applied to each of its routes): note the matched route's pattern on
/// the response, for [`track`]. `prefix` tells hosted mode's own hosts apart
/// (`operator:/practices/{id}`); a practice's routes have none.
pub(crate) async fn label(
    State(prefix): State<&'static str>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| Arc::<str>::from(format!("{prefix}{}", path.as_str())));
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(RouteLabel(route));
    }
    response
}

/// Outermost: give the request an id (on the response as `X-Request-Id`, and on every log
/// line written while it is served), and count it by route, status and time taken.
pub(crate) async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let metrics = state.metrics();
    let id = metrics.request_id();
    let span = tracing::info_span!("request", id = %id);
    let started = Instant::now();
    let mut response = REQUEST_ID
        .scope(id.clone(), next.run(request).instrument(span))
        .await;
    let route = response
        .extensions_mut()
        .remove::<RouteLabel>()
        .map_or_else(|| Arc::from(UNMATCHED), |l| l.0);
    metrics.record(&route, response.status(), started.elapsed());
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// At most `rate_limits.in_flight` requests are served at once; past that a request is
/// answered at once with 503 and `Retry-After` (the site's "busy" page, or JSON for the
/// API: this sits inside the layer that writes them) rather than queued without end.
pub(crate) async fn shed(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Ok(_serving) = state.in_flight().clone().try_acquire_owned() else {
        return busy(request.uri().path().starts_with("/api/"));
    };
    next.run(request).await
}

/// The page for a request past the limit, made without the templates or the database.
/// Under overload the refusals are most of the work: rendering the site's error page for
/// each (as `cargo xtask bench overload` found at 640 connections) left the requests let in
/// a sliver of the processor, and the site answered almost nothing but "busy".
const BUSY_PAGE: &str = "<!doctype html>
<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">
<title>Busy for a moment</title><meta name=\"robots\" content=\"noindex\"></head>
<body>
<h1>Busy for a moment</h1>
<p>A lot is happening on the server right now. Wait a few seconds, then try again.</p>
<p>If you are in crisis or need help urgently, call NHS 111, or 999 in an emergency. Samaritans are there day and night on 116 123.</p>
</body></html>
";

/// `503` with `Retry-After: 2`: [`BUSY_PAGE`], or the API's JSON error.
fn busy(api: bool) -> Response {
    let (content_type, body) = if api {
        ("application/json", r#"{"error":"busy","retry_after":2}"#)
    } else {
        ("text/html; charset=utf-8", BUSY_PAGE)
    };
    let mut response = (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-store"),
            (header::RETRY_AFTER, "2"),
        ],
        body,
    )
        .into_response();
    response.extensions_mut().insert(crate::error::Rendered);
    response
}

/// What keeps a process from serving, from its store's health and whether its key file
/// was opened: nothing when it is ready.
pub(crate) fn not_ready(health: &StoreResult<StoreHealth>, key_loaded: bool) -> Vec<String> {
    let mut problems = Vec::new();
    match health {
        Err(_) => problems.push("the database cannot be reached".to_owned()),
        Ok(health) if health.schema < health.schema_known => problems.push(format!(
            "the database's schema is {}, this version needs {} (a migration is under way)",
            health.schema, health.schema_known
        )),
        Ok(health) if health.schema > health.schema_known => problems.push(format!(
            "the database's schema is {}, newer than this version's {}",
            health.schema, health.schema_known
        )),
        Ok(_) => {}
    }
    if !key_loaded {
        problems.push("no key file is open".to_owned());
    }
    problems
}

fn plain(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// Before any host is looked at: `GET /healthz` (the process answers) and `GET /readyz`
/// (and it can serve: the database reachable with the schema this version knows, and the
/// key file open). A load balancer may ask by address, on any host.
pub(crate) async fn probes(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let probe = request.uri().path();
    if !matches!(*request.method(), Method::GET | Method::HEAD)
        || !matches!(probe, "/healthz" | "/readyz")
    {
        return next.run(request).await;
    }
    let mut response = if probe == "/healthz" {
        plain(StatusCode::OK, "ok\n".into())
    } else {
        let health = state.store().health().await;
        if let Err(error) = &health {
            tracing::warn!(%error, "readiness: the database cannot be reached");
        }
        let problems = not_ready(&health, state.keys().loaded());
        if problems.is_empty() {
            plain(StatusCode::OK, "ready\n".into())
        } else {
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {}\n", problems.join("; ")),
            )
        }
    };
    response
        .extensions_mut()
        .insert(RouteLabel(Arc::from(probe)));
    response
}

/// Escape a label value for the Prometheus text format.
fn label_value(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The metrics, in the Prometheus text format (version 0.0.4).
pub(crate) fn render(
    metrics: &Metrics,
    health: Option<&StoreHealth>,
    pools: &[PoolUse],
    (in_flight, in_flight_max): (usize, usize),
    now: jiff::Timestamp,
) -> String {
    let mut out = String::with_capacity(4096);
    {
        let routes = metrics.routes.lock().unwrap_or_else(|e| e.into_inner());
        let mut names: Vec<&Arc<str>> = routes.keys().collect();
        names.sort();
        out.push_str("# HELP anteroom_http_requests_total Requests answered, by route pattern and status.\n# TYPE anteroom_http_requests_total counter\n");
        for name in &names {
            let route = label_value(name);
            for (status, count) in &routes[*name].by_status {
                let _ = writeln!(
                    out,
                    "anteroom_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {count}"
                );
            }
        }
        out.push_str("# HELP anteroom_http_request_duration_seconds Time from a request's arrival to its response, by route pattern.\n# TYPE anteroom_http_request_duration_seconds histogram\n");
        for name in &names {
            let route = label_value(name);
            let stats = &routes[*name];
            let mut cumulative = 0;
            for (bound, count) in BUCKETS.iter().zip(stats.buckets) {
                cumulative += count;
                let _ = writeln!(
                    out,
                    "anteroom_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "anteroom_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {count}\nanteroom_http_request_duration_seconds_sum{{route=\"{route}\"}} {sum}\nanteroom_http_request_duration_seconds_count{{route=\"{route}\"}} {count}",
                count = stats.count,
                sum = stats.seconds,
            );
        }
    }
    let age =
        |at: Option<jiff::Timestamp>| at.map_or(0, |at| now.duration_since(at).as_secs().max(0));
    out.push_str("# HELP anteroom_database_up Whether the database answered the last scrape.\n# TYPE anteroom_database_up gauge\n");
    let _ = writeln!(out, "anteroom_database_up {}", u8::from(health.is_some()));
    if let Some(health) = health {
        let _ = writeln!(
            out,
            "# HELP anteroom_schema_version Migrations applied to the database.\n# TYPE anteroom_schema_version gauge\nanteroom_schema_version {}\n\
             # HELP anteroom_outbox_pending Email messages waiting for delivery.\n# TYPE anteroom_outbox_pending gauge\nanteroom_outbox_pending {}\n\
             # HELP anteroom_outbox_oldest_pending_age_seconds How long the oldest waiting message has waited (0 when none waits).\n# TYPE anteroom_outbox_oldest_pending_age_seconds gauge\nanteroom_outbox_oldest_pending_age_seconds {}\n\
             # HELP anteroom_job_lag_seconds How long past due the most overdue practice's timed jobs are (0 when none is).\n# TYPE anteroom_job_lag_seconds gauge\nanteroom_job_lag_seconds {}",
            health.schema,
            health.outbox_pending,
            age(health.oldest_pending),
            age(health.earliest_job_due),
        );
    }
    let _ = writeln!(
        out,
        "# HELP anteroom_requests_in_flight Requests being served now.\n# TYPE anteroom_requests_in_flight gauge\nanteroom_requests_in_flight {in_flight}\n\
         # HELP anteroom_requests_in_flight_max The most served at once; more are answered 503.\n# TYPE anteroom_requests_in_flight_max gauge\nanteroom_requests_in_flight_max {in_flight_max}"
    );
    out.push_str("# HELP anteroom_db_pool_connections Database connections, by pool and state.\n# TYPE anteroom_db_pool_connections gauge\n");
    for pool in pools {
        let _ = writeln!(
            out,
            "anteroom_db_pool_connections{{pool=\"{name}\",state=\"idle\"}} {idle}\nanteroom_db_pool_connections{{pool=\"{name}\",state=\"busy\"}} {busy}",
            name = pool.name,
            idle = pool.idle,
            busy = pool.open.saturating_sub(pool.idle),
        );
    }
    out.push_str("# HELP anteroom_db_pool_max_connections The most connections each pool opens.\n# TYPE anteroom_db_pool_max_connections gauge\n");
    for pool in pools {
        let _ = writeln!(
            out,
            "anteroom_db_pool_max_connections{{pool=\"{}\"}} {}",
            pool.name, pool.max
        );
    }
    out
}

async fn metrics(State(state): State<AppState>) -> Response {
    let health = match state.store().health().await {
        Ok(health) => Some(health),
        Err(error) => {
            tracing::warn!(%error, "metrics: the database cannot be reached");
            None
        }
    };
    let max = state.config().rate_limits.in_flight.max(1);
    let serving = max.saturating_sub(state.in_flight().available_permits());
    let body = render(
        state.metrics(),
        health.as_ref(),
        &state.store().pools(),
        (serving, max),
        state.now(),
    );
    (
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// The metrics on a listener of their own (`--metrics-listen`): `GET /metrics` and nothing
/// else, so the site's address never shows them.
pub fn metrics_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(schema: u32) -> StoreHealth {
        StoreHealth {
            schema,
            schema_known: 21,
            outbox_pending: 3,
            oldest_pending: Some(jiff::Timestamp::from_second(1_000).unwrap()),
            earliest_job_due: Some(jiff::Timestamp::from_second(1_090).unwrap()),
        }
    }

    #[test]
    fn ready_only_with_the_database_at_this_schema_and_the_key_open() {
        assert!(not_ready(&Ok(health(21)), true).is_empty());
        assert_eq!(
            not_ready(&Ok(health(20)), true),
            ["the database's schema is 20, this version needs 21 (a migration is under way)"]
        );
        assert_eq!(
            not_ready(&Ok(health(22)), false),
            [
                "the database's schema is 22, newer than this version's 21",
                "no key file is open"
            ]
        );
        assert_eq!(
            not_ready(&Err(store::StoreError::NotFound), true),
            ["the database cannot be reached"]
        );
    }

    #[test]
    fn metrics_are_written_in_the_prometheus_text_format() {
        let metrics = Metrics::default();
        let route: Arc<str> = Arc::from("/office/clients/{id}");
        metrics.record(&route, StatusCode::OK, Duration::from_millis(3));
        metrics.record(&route, StatusCode::OK, Duration::from_millis(40));
        metrics.record(&route, StatusCode::NOT_FOUND, Duration::from_secs(20));
        let pools = [PoolUse {
            name: "read",
            open: 3,
            idle: 1,
            max: 4,
        }];
        let now = jiff::Timestamp::from_second(1_100).unwrap();
        let text = render(&metrics, Some(&health(21)), &pools, (2, 128), now);
        for line in [
            r#"anteroom_http_requests_total{route="/office/clients/{id}",status="200"} 2"#,
            r#"anteroom_http_requests_total{route="/office/clients/{id}",status="404"} 1"#,
            r#"anteroom_http_request_duration_seconds_bucket{route="/office/clients/{id}",le="0.005"} 1"#,
            r#"anteroom_http_request_duration_seconds_bucket{route="/office/clients/{id}",le="0.05"} 2"#,
            r#"anteroom_http_request_duration_seconds_bucket{route="/office/clients/{id}",le="10"} 2"#,
            r#"anteroom_http_request_duration_seconds_bucket{route="/office/clients/{id}",le="+Inf"} 3"#,
            r#"anteroom_http_request_duration_seconds_count{route="/office/clients/{id}"} 3"#,
            "anteroom_outbox_pending 3",
            "anteroom_outbox_oldest_pending_age_seconds 100",
            "anteroom_job_lag_seconds 10",
            r#"anteroom_db_pool_connections{pool="read",state="busy"} 2"#,
            r#"anteroom_db_pool_max_connections{pool="read"} 4"#,
            "anteroom_database_up 1",
            "anteroom_requests_in_flight 2",
            "anteroom_requests_in_flight_max 128",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
        // Every sample line is a name, labels and a number; every name has its TYPE.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (name, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
            let family = name.split('{').next().unwrap();
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| family.strip_suffix(s))
                .unwrap_or(family);
            assert!(text.contains(&format!("# TYPE {family} ")), "{line}");
        }
        let down = render(&metrics, None, &pools, (0, 128), now);
        assert!(down.contains("anteroom_database_up 0"));
        assert!(!down.contains("anteroom_outbox_pending"));
        assert_eq!(
            label_value("a\"b\\c\nd"),
            "a\\\"b\\\\c\\nd",
            "label values escaped"
        );
    }

    #[test]
    fn request_ids_are_unique_and_carry_the_process() {
        let metrics = Metrics::default();
        let (first, second) = (metrics.request_id(), metrics.request_id());
        assert_ne!(first, second);
        assert_eq!(first.split('-').next(), second.split('-').next());
    }
}
