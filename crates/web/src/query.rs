//! Query strings, read the same way by every handler.
//!
//! [`Query`] wraps axum's extractor so that a query string it cannot read (most often a
//! parameter given twice, `?page=1&page=2`) is refused in our own words: a 400 that the
//! site answers with its error page and the API with its JSON error, `{"error":
//! "bad_request", "message": …}` — never the framework's "Failed to deserialize query
//! string". axum's own `Query` is a disallowed type (`clippy.toml`), so a new handler cannot
//! use it by mistake.

use axum::{
    extract::FromRequestParts,
    http::{StatusCode, request::Parts},
    response::{IntoResponse, Response},
};
use serde::de::DeserializeOwned;

/// The query string read into `T`; unknown parameters are ignored.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = BadQuery;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, BadQuery> {
        #[expect(clippy::disallowed_types, reason = "the one place that wraps it")]
        let read = axum::extract::Query::<T>::from_request_parts(parts, state).await;
        match read {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => {
                tracing::debug!(
                    path = crate::security::redacted(parts.uri.path()),
                    reason = rejection.body_text(),
                    "refused a query string"
                );
                Err(BadQuery {
                    repeated: repeated_name(parts.uri.query().unwrap_or_default()),
                })
            }
        }
    }
}

/// A query string that could not be read. As a response it is a bare 400 carrying itself,
/// which the site's error page and the API's JSON errors turn into words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadQuery {
    /// The first parameter given more than once, if that was the trouble.
    pub repeated: Option<String>,
}

impl BadQuery {
    /// What went wrong, in plain words, for the API's `message`.
    pub fn message(&self) -> String {
        match &self.repeated {
            Some(name) => {
                format!("The parameter \"{name}\" was given more than once: give it once.")
            }
            None => "The query string could not be read: give each parameter once, as name=value."
                .to_owned(),
        }
    }
}

impl IntoResponse for BadQuery {
    fn into_response(self) -> Response {
        let mut response = StatusCode::BAD_REQUEST.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// The first parameter name that appears twice in a raw query string (names compared as
/// sent; ours are plain words), cut short so a long one cannot fill a message.
fn repeated_name(query: &str) -> Option<String> {
    let mut seen = std::collections::HashSet::new();
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').map_or(pair, |(name, _)| name))
        .find(|name| !seen.insert(*name))
        .filter(|name| {
            name.len() <= 40
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repeated_parameter_is_named_when_it_is_a_plain_word() {
        assert_eq!(repeated_name("page=1&page=2").as_deref(), Some("page"));
        assert_eq!(
            repeated_name("type=x&from=2027-01-01&to=1&from=2").as_deref(),
            Some("from")
        );
        assert_eq!(repeated_name("a=1&b=2"), None);
        assert_eq!(repeated_name(""), None);
        assert_eq!(repeated_name("%3Cscript%3E=1&%3Cscript%3E=2"), None);
    }
}
