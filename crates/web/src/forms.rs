//! Reading `application/x-www-form-urlencoded` bodies without trusting them.

use axum::{
    extract::{FromRequest, Request},
    http::StatusCode,
    response::{IntoResponse, Response},
};

/// A submitted form: every field as text, repeated fields kept in order.
#[derive(Debug, Default, Clone)]
pub(crate) struct FormData(Vec<(String, String)>);

impl FormData {
    /// A form from fields, as a test would submit it.
    #[cfg(test)]
    pub fn from_pairs(fields: &[(&str, &str)]) -> Self {
        Self(
            fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    /// A form from decoded fields, in the order sent (the fuzz targets' way in).
    pub(crate) fn from_fields(fields: Vec<(String, String)>) -> Self {
        Self(fields)
    }

    /// The first value of a field, or `""` when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// How many fields were sent (repeats counted).
    pub fn count(&self) -> usize {
        self.0.len()
    }

    /// True when the field was sent (a ticked checkbox).
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// Every value of a repeated field.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The fields as a map for re-filling a form after an error (first value wins).
    pub fn values(&self) -> std::collections::BTreeMap<&str, &str> {
        let mut map = std::collections::BTreeMap::new();
        for (k, v) in &self.0 {
            map.entry(k.as_str()).or_insert(v.as_str());
        }
        map
    }
}

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_form = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response());
        }
        let axum::Form(fields) = axum::Form::<Vec<(String, String)>>::from_request(req, state)
            .await
            .map_err(|rejection| {
                let status = rejection.status();
                if status == StatusCode::PAYLOAD_TOO_LARGE {
                    status
                } else {
                    StatusCode::BAD_REQUEST
                }
                .into_response()
            })?;
        Ok(Self(fields))
    }
}
