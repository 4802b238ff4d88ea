//! Errors as the visitor sees them.
//!
//! Handlers return [`WebError`]; its response carries only a status (and `Retry-After`).
//! The [`crate::security::headers`] middleware then renders the site's own error page for
//! any 4xx/5xx response that a handler did not render itself, so axum's own rejections
//! (405, 413, bad form encoding) get the same calm page. A 5xx never shows its cause:
//! the cause is logged with a short reference the visitor can quote.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use store::{ConflictKind, StoreError};

/// Marks a response whose body a handler rendered itself (a form with errors, say).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rendered;

/// What went wrong while handling a request.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// No such page.
    #[error("not found")]
    NotFound,
    /// Signed in, but not allowed; or a cross-origin form post.
    #[error("forbidden")]
    Forbidden,
    /// Too many requests from this address; try again after this many seconds.
    #[error("too many requests")]
    TooManyRequests(u64),
    /// Too much is being done at once (passwords being checked); try again in a moment.
    #[error("busy")]
    Busy,
    /// The disk holding the database is full: the change was refused whole, nothing stored.
    #[error("the disk is full")]
    Full,
    /// Notes cannot be read or written: the server was started without the practice's key.
    #[error("the practice's key file is missing")]
    KeyMissing,
    /// Something failed on our side.
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for WebError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound,
            StoreError::Full => Self::Full,
            StoreError::Conflict(ConflictKind::Unique) => {
                tracing::error!(
                    "bug: the store broke a uniqueness rule it has no ConflictKind for; \
                     give the rule its own kind"
                );
                Self::Internal(anyhow::Error::new(error))
            }
            other => Self::Internal(anyhow::Error::new(other)),
        }
    }
}

/// A conflict the store call cannot cause (a bug): answered with a 500 and logged.
pub(crate) fn unexpected(kind: ConflictKind) -> WebError {
    StoreError::Conflict(kind).into()
}

impl From<minijinja::Error> for WebError {
    fn from(error: minijinja::Error) -> Self {
        Self::Internal(anyhow::anyhow!(
            "template error: {error} (template {:?}, line {:?})",
            error.name(),
            error.line()
        ))
    }
}

/// How long to wait after [`WebError::Busy`].
const BUSY_RETRY_SECONDS: &str = "2";

/// How long to wait after [`WebError::Full`]: room is made by a person, not in a moment.
const FULL_RETRY_SECONDS: &str = "300";

/// Marks the answer to a change refused because the disk is full, so its page says so.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DiskFull;

impl From<crate::password::Busy> for WebError {
    fn from(_: crate::password::Busy) -> Self {
        Self::Busy
    }
}

/// Result of a handler.
pub type WebResult<T> = Result<T, WebError>;

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND.into_response(),
            Self::Forbidden => StatusCode::FORBIDDEN.into_response(),
            Self::KeyMissing => StatusCode::SERVICE_UNAVAILABLE.into_response(),
            Self::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                [(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(BUSY_RETRY_SECONDS),
                )],
            )
                .into_response(),
            Self::Full => {
                tracing::error!(
                    "the disk holding the database is full: a change was refused and nothing \
                     of it stored; make room and the server carries on by itself"
                );
                let mut response = (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(
                        header::RETRY_AFTER,
                        HeaderValue::from_static(FULL_RETRY_SECONDS),
                    )],
                )
                    .into_response();
                response.extensions_mut().insert(DiskFull);
                response
            }
            Self::TooManyRequests(seconds) => {
                let mut response = StatusCode::TOO_MANY_REQUESTS.into_response();
                if let Ok(value) = HeaderValue::from_str(&seconds.max(1).to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                response
            }
            Self::Internal(error) => {
                // The request's id (its `X-Request-Id`, on every log line of it), so the
                // reference a visitor quotes finds the whole request in the log.
                let reference = crate::ops::REQUEST_ID
                    .try_with(Clone::clone)
                    .unwrap_or_else(|_| format!("{:08x}", rand::random::<u32>()));
                tracing::error!(reference, error = format!("{error:#}"), "request failed");
                let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
                response.extensions_mut().insert(ErrorReference(reference));
                response
            }
        }
    }
}

/// The reference logged with a 5xx, shown to the visitor so support can find the log line.
#[derive(Debug, Clone)]
pub(crate) struct ErrorReference(pub String);

/// The fallback for unknown routes.
pub(crate) async fn not_found() -> WebError {
    WebError::NotFound
}

/// An error response no handler rendered, given a page of a host's own (the operator
/// console's, the directory's): `render` gets the status, the error's reference and whether
/// to try again later, and a `Retry-After` the response had is kept. Any other response is
/// returned as it is.
pub(crate) fn own_error_page(
    response: axum::response::Response,
    render: impl FnOnce(minijinja::Value) -> WebResult<String>,
) -> axum::response::Response {
    use axum::{http::header, response::IntoResponse};
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.extensions().get::<Rendered>().is_some()
    {
        return response;
    }
    let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
    let reference = response
        .extensions()
        .get::<ErrorReference>()
        .map(|r| r.0.clone());
    let page = minijinja::context! {
        status => status.as_u16(),
        reference,
        retry => retry_after.is_some(),
    };
    let mut response = match render(page) {
        Ok(body) => crate::render::html(status, body),
        Err(_) => (status, "Something went wrong.\n").into_response(),
    };
    if let Some(retry_after) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, retry_after);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failure_is_referred_to_by_its_request_id() {
        let response = crate::ops::REQUEST_ID
            .scope("0badcafe-7".to_owned(), async {
                WebError::Internal(anyhow::anyhow!("a test failure")).into_response()
            })
            .await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let reference = response.extensions().get::<ErrorReference>().unwrap();
        assert_eq!(reference.0, "0badcafe-7");
        // Outside a request: a reference of its own.
        let outside = WebError::Internal(anyhow::anyhow!("a test failure")).into_response();
        assert_eq!(
            outside
                .extensions()
                .get::<ErrorReference>()
                .unwrap()
                .0
                .len(),
            8
        );
    }
}
