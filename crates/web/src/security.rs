//! Response headers, cross-origin protection, client addresses and rate limits.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{AppState, WebError, error::Rendered};

const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
    form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// Where the secret links live (`Rule::Secret` routes); robots.txt lists them too.
pub(crate) const PRIVATE_LINKS: [&str; 3] = ["/booking/", "/invoice/", "/calendar/"];

/// Security headers on every response, and the site's error page on any error a handler
/// did not render itself.
pub(crate) async fn headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let is_office = path.starts_with("/office");
    // The portal shows one client's own records, and a secret link (a booking's manage
    // pages, an invoice, the calendar feed) one person's: never cached, never indexed.
    let is_private =
        path.starts_with("/portal") || PRIVATE_LINKS.iter().any(|prefix| path.starts_with(prefix));
    let is_api = path.starts_with("/api/");
    let mut response = next.run(request).await;
    let status = response.status();
    if (status.is_client_error() || status.is_server_error())
        && response.extensions().get::<Rendered>().is_none()
    {
        let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
        let reference = response
            .extensions()
            .get::<crate::error::ErrorReference>()
            .map(|r| r.0.clone());
        response = if is_api {
            // JSON clients get JSON, even from the layers outside the API's own router.
            let error = match status.as_u16() {
                403 => "forbidden",
                408 => "timeout",
                404 => "not_found",
                413 => "too_large",
                429 => "too_many_requests",
                s if s >= 500 => "internal",
                _ => "bad_request",
            };
            let body = serde_json::json!({ "error": error, "reference": reference });
            (
                status,
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        } else {
            crate::site::error_page(&state, status, reference.as_deref()).await
        };
        if let Some(retry_after) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after);
        }
    }
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    );
    if state.config().is_https() {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    if is_office || is_private {
        h.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    }
    if is_office || is_private || status.is_client_error() || status.is_server_error() {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    } else if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    response
}

/// Refuse state-changing requests made by another site's page (CSRF).
///
/// Browsers say where a request came from in `Sec-Fetch-Site`; older ones send `Origin`.
/// A request with neither is not from a browser and carries no ambient cookie risk.
pub(crate) async fn cross_origin_protection(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && !same_origin(request.headers(), &state.config().public_url) {
        tracing::info!(
            path = redacted(request.uri().path()),
            "refused a cross-origin form submission"
        );
        return WebError::Forbidden.into_response();
    }
    next.run(request).await
}

/// A path fit for the log: secrets in it (the 64 hex digits of a sign-in link, manage link or
/// invoice link) are replaced by `…`.
pub(crate) fn redacted(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.len() >= 32 && segment.chars().all(|c| c.is_ascii_hexdigit()) {
                "…"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn same_origin(headers: &HeaderMap, public_url: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    if origin.eq_ignore_ascii_case(public_url.trim_end_matches('/')) {
        return true;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest);
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

/// The client's address: the peer, or behind a trusted proxy the last `X-Forwarded-For` hop.
pub(crate) fn client_ip(state: &AppState, headers: &HeaderMap, peer: SocketAddr) -> IpAddr {
    if state.config().trust_proxy {
        let forwarded = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok());
        if let Some(ip) = forwarded {
            return ip;
        }
    }
    peer.ip()
}

/// How many attempts each kind of request may make per address, per window.
#[derive(Debug, Clone)]
pub struct RateLimits {
    /// Switched off entirely (load tests on loopback only).
    pub disabled: bool,
    /// Enquiries per address per hour.
    pub enquiries_per_hour: u32,
    /// Sign-in attempts per address per 15 minutes.
    pub sign_ins_per_15_minutes: u32,
    /// Failed sign-ins for one account from one address per 15 minutes.
    pub sign_ins_per_account: u32,
    /// Bookings (and booking changes) per address per hour.
    pub bookings_per_hour: u32,
    /// Wrong second-factor codes per account per 15 minutes (counted in the database, so a
    /// restart does not reset them: `office::account_security::check_second_factor`).
    pub second_factor_failures: u32,
    /// Portal sign-in links asked for per address per 15 minutes.
    pub portal_links_per_15_minutes: u32,
    /// Portal sign-in links asked for one email address from one address per 15 minutes.
    pub portal_links_per_email: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            disabled: false,
            enquiries_per_hour: 5,
            sign_ins_per_15_minutes: 20,
            sign_ins_per_account: 5,
            bookings_per_hour: 10,
            second_factor_failures: 5,
            portal_links_per_15_minutes: 10,
            portal_links_per_email: 3,
        }
    }
}

/// What is being limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Limit {
    Enquiry,
    SignIn,
    SignInAccount,
    Booking,
    PortalLink,
    PortalLinkEmail,
}

/// What a counter counts: one kind of request, from one address, for one key (an account).
type WindowKey = (Limit, IpAddr, String);

/// Fixed-window counters kept in memory, per process.
///
/// Counting per address (and per address + account for sign-in failures) means an
/// attacker elsewhere cannot lock the real therapist out of their own account.
pub(crate) struct RateLimiter {
    limits: RateLimits,
    windows: Mutex<HashMap<WindowKey, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> Self {
        Self {
            limits,
            windows: Mutex::new(HashMap::new()),
        }
    }

    fn rule(&self, limit: Limit) -> (u32, Duration) {
        match limit {
            Limit::Enquiry => (self.limits.enquiries_per_hour, Duration::from_secs(3600)),
            Limit::SignIn => (
                self.limits.sign_ins_per_15_minutes,
                Duration::from_secs(900),
            ),
            Limit::SignInAccount => (self.limits.sign_ins_per_account, Duration::from_secs(900)),
            Limit::Booking => (self.limits.bookings_per_hour, Duration::from_secs(3600)),
            Limit::PortalLink => (
                self.limits.portal_links_per_15_minutes,
                Duration::from_secs(900),
            ),
            Limit::PortalLinkEmail => {
                (self.limits.portal_links_per_email, Duration::from_secs(900))
            }
        }
    }

    /// Count one attempt; `Err(seconds)` when over the limit.
    pub fn hit(&self, limit: Limit, ip: IpAddr, key: &str) -> Result<(), u64> {
        self.check(limit, ip, key, true)
    }

    /// Refuse if the limit is already reached, without counting.
    pub fn peek(&self, limit: Limit, ip: IpAddr, key: &str) -> Result<(), u64> {
        self.check(limit, ip, key, false)
    }

    fn check(&self, limit: Limit, ip: IpAddr, key: &str, count: bool) -> Result<(), u64> {
        if self.limits.disabled {
            return Ok(());
        }
        let (max, window) = self.rule(limit);
        let now = Instant::now();
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() > 50_000 {
            windows.retain(|(l, _, _), (start, _)| now.duration_since(*start) < self.rule(*l).1);
        }
        let entry = windows
            .entry((limit, ip, key.to_owned()))
            .or_insert((now, 0));
        if now.duration_since(entry.0) >= window {
            *entry = (now, 0);
        }
        if entry.1 >= max {
            let retry = window.saturating_sub(now.duration_since(entry.0));
            return Err(retry.as_secs().max(1));
        }
        if count {
            entry.1 += 1;
        }
        Ok(())
    }

    /// Forget failures after a successful sign-in.
    pub fn reset(&self, limit: Limit, ip: IpAddr, key: &str) {
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        windows.remove(&(limit, ip, key.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_address_and_resets() {
        let limiter = RateLimiter::new(RateLimits {
            enquiries_per_hour: 2,
            ..RateLimits::default()
        });
        let a = IpAddr::from([10, 0, 0, 1]);
        let b = IpAddr::from([10, 0, 0, 2]);
        assert!(limiter.hit(Limit::Enquiry, a, "").is_ok());
        assert!(limiter.hit(Limit::Enquiry, a, "").is_ok());
        let retry = limiter.hit(Limit::Enquiry, a, "").unwrap_err();
        assert!(retry > 3500 && retry <= 3600, "{retry}");
        assert!(
            limiter.hit(Limit::Enquiry, b, "").is_ok(),
            "other addresses are unaffected"
        );
        limiter.reset(Limit::Enquiry, a, "");
        assert!(limiter.hit(Limit::Enquiry, a, "").is_ok());
    }

    #[test]
    fn secrets_stay_out_of_the_log() {
        let token = "ab".repeat(32);
        assert_eq!(redacted(&format!("/portal/link/{token}")), "/portal/link/…");
        assert_eq!(
            redacted(&format!("/booking/{token}/cancel")),
            "/booking/…/cancel"
        );
        assert_eq!(redacted("/office/sessions/42"), "/office/sessions/42");
    }

    #[test]
    fn same_origin_rules() {
        let mut h = HeaderMap::new();
        assert!(
            same_origin(&h, "https://example.com"),
            "no browser headers: not a browser"
        );
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h, "https://example.com"));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_origin(&h, "https://example.com"));
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(!same_origin(&h, "https://example.com"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(same_origin(&h, "https://example.com"));
    }
}
