//! Response headers, cross-origin protection and client addresses.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::Request,
    http::{HeaderMap, HeaderValue, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{AppState, Here, WebError, error::Rendered};

const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
    form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// Where the secret links live (`Rule::Secret` routes); robots.txt lists them too.
pub(crate) const PRIVATE_LINKS: [&str; 3] = ["/booking/", "/invoice/", "/calendar/"];

/// Security headers on every response, and the site's error page on any error a handler
/// did not render itself.
pub(crate) async fn headers(state: Here, request: Request, next: Next) -> Response {
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
        response = if is_api {
            // JSON clients get JSON, even from the layers outside the API's own router.
            crate::api::json_error(response)
        } else {
            let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
            let reference = response
                .extensions()
                .get::<crate::error::ErrorReference>()
                .map(|r| r.0.clone());
            let full = response
                .extensions()
                .get::<crate::error::DiskFull>()
                .is_some();
            let mut page = crate::render::error_page(
                &state,
                status,
                reference.as_deref(),
                retry_after.is_some(),
                full,
            )
            .await;
            if let Some(retry_after) = retry_after {
                page.headers_mut().insert(header::RETRY_AFTER, retry_after);
            }
            page
        };
    }
    set_headers(&mut response, state.is_https(), is_office || is_private);
    response
}

/// The security headers every response carries. `private`: a page for one person (the
/// office, the portal, a secret link), never indexed or cached.
pub(crate) fn set_headers(response: &mut Response, https: bool, private: bool) {
    let status = response.status();
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
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    if private {
        h.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    }
    if private || status.is_client_error() || status.is_server_error() {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    } else if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
}

/// Refuse state-changing requests made by another site's page (CSRF).
///
/// Browsers say where a request came from in `Sec-Fetch-Site`; older ones send `Origin`.
/// A request with neither is not from a browser and carries no ambient cookie risk.
pub(crate) async fn cross_origin_protection(state: Here, request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && !same_origin(request.headers(), state.public_url()) {
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

pub(crate) fn same_origin(headers: &HeaderMap, public_url: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    // Scheme, host and port must all be the public address's: `http://` is not the same
    // site as `https://` on the same host, nor is another port.
    match (origin_of(origin), origin_of(public_url)) {
        (Some(origin), Some(public)) => origin == public,
        _ => false,
    }
}

/// A URL's origin: lower-case scheme and host, and the port (the scheme's default if none).
fn origin_of(url: &str) -> Option<(String, String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let default = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let (host, port) = match authority.rsplit_once(':') {
        // `[::1]` alone has colons but no port.
        Some((host, port)) if !port.contains(']') => (host, port.parse().ok()?),
        _ => (authority, default),
    };
    Some((scheme, host.to_ascii_lowercase(), port))
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(
            !same_origin(&h, "https://example.com"),
            "the Host header is not the public address"
        );
        for (origin, public, same) in [
            ("https://example.com", "https://example.com", true),
            ("https://EXAMPLE.com:443", "https://example.com/", true),
            ("http://example.com", "https://example.com", false),
            ("https://example.com:8443", "https://example.com", false),
            (
                "https://example.com.evil.test",
                "https://example.com",
                false,
            ),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080", true),
            ("http://127.0.0.1:8081", "http://127.0.0.1:8080", false),
            ("http://[::1]:8080", "http://[::1]:8080", true),
            ("null", "https://example.com", false),
        ] {
            h.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
            assert_eq!(same_origin(&h, public), same, "{origin} against {public}");
        }
    }
}
