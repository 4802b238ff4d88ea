//! The OpenAPI 3.1 document at `/api/v1/openapi.json`, written from [`super::endpoints`].
//!
//! No generator crate: each operation is described next to its handler as plain JSON, and
//! this module only gathers them with the shared schemas. The router is mounted from the
//! same table, so a route cannot exist without its description.

use std::sync::OnceLock;

use axum::{http::StatusCode, response::Response};
use serde_json::{Map, Value, json};

use super::{availability, bookings, endpoints, json_response, listing, practice};

/// A reference to a schema in `components`.
pub(super) fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// The whole document (it never changes while the process runs).
pub(crate) fn openapi() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(build)
}

fn build() -> Value {
    let mut paths = Map::new();
    for endpoint in endpoints() {
        let mut operation = endpoint.operation;
        // Every query string is read by `crate::query::Query`, which refuses one it cannot
        // read (a parameter given twice) with a 400.
        let reads_query = operation["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
        if reads_query {
            operation["responses"]["400"] = response_ref("BadQuery");
        }
        // Every POST reads its body itself (`bookings::json_content` and the bytes'
        // rejection: 400, 413, 415), and the app-wide layers refuse a POST from another
        // site's page (403). Any request may meet the time limit (408) or a full server (503).
        // The schemathesis run of `cargo xtask schema` checks that nothing else is answered.
        if endpoint.verb == super::Verb::Post {
            operation["responses"]["400"] = response_ref("UnreadableBody");
            operation["responses"]["403"] = response_ref("CrossSite");
            operation["responses"]["413"] = response_ref("TooLarge");
            operation["responses"]["415"] = response_ref("NotJson");
        }
        operation["responses"]["408"] = response_ref("Timeout");
        operation["responses"]["503"] = response_ref("Busy");
        let item = paths.entry(endpoint.path).or_insert_with(|| json!({}));
        item[endpoint.verb.openapi_name()] = operation;
    }
    let mut schemas = Map::new();
    for group in [
        shared_schemas(),
        practice::schemas(),
        availability::schemas(),
        bookings::schemas(),
        listing::schemas(),
    ] {
        if let Value::Object(group) = group {
            schemas.extend(group);
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Anteroom booking API",
            "version": "1",
            "summary": "Free times and first-consultation bookings for one therapy practice.",
            "description": "JSON in and out. Every answer has `Cache-Control: no-store`; every \
                error is JSON: `{\"error\": code}`, or `{\"errors\": {field: [messages]}}` for \
                bad input (422). Local dates are in the practice's time zone (GET \
                /api/v1/practice) and date-times are RFC 3339 with that zone's offset on the day.",
            "license": { "name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later" }
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": shared_responses(),
            "securitySchemes": {
                "manageToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A booking's manage token: the last part of its manage_url."
                }
            }
        }
    })
}

/// A reference to a response in `components`.
fn response_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/responses/{name}") })
}

/// The answers of the app-wide layers, which any operation (or any POST) may give.
fn shared_responses() -> Value {
    let error = || json!({ "application/json": { "schema": schema_ref("Error") } });
    let retry_after =
        || json!({ "Retry-After": { "schema": { "type": "integer", "minimum": 1 } } });
    json!({
        "BadQuery": {
            "description": "A query parameter given more than once, or a query string that \
                cannot be read (`bad_request`); `message` says which.",
            "content": error()
        },
        "UnreadableBody": {
            "description": "The request body could not be read (`bad_request`).",
            "content": error()
        },
        "CrossSite": {
            "description": "A browser request from another site's page (`forbidden`): its \
                `Sec-Fetch-Site` or `Origin` is not this site. Clients that are not browsers \
                send neither header.",
            "content": error()
        },
        "TooLarge": {
            "description": format!("A body over {} KiB (`payload_too_large`).", crate::BODY_LIMIT / 1024),
            "content": error()
        },
        "NotJson": {
            "description": "A body sent with a `Content-Type` other than `application/json` \
                (`unsupported_media_type`).",
            "content": error()
        },
        "Timeout": {
            "description": format!("Not answered within {} seconds (`timeout`); try again.",
                crate::REQUEST_TIME_LIMIT.as_secs()),
            "content": error()
        },
        "Busy": {
            "description": "The server is serving as many requests as it can at once \
                (`busy`), or the disk holding its database is full, so a change was refused \
                and nothing of it stored (`storage_full`); try again after `Retry-After` \
                seconds.",
            "headers": retry_after(),
            "content": error()
        }
    })
}

/// Schemas every operation may answer with.
fn shared_schemas() -> Value {
    json!({
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "string",
                    "description": "A stable code, e.g. `not_found`, `too_late`, `rate_limited`.",
                    "examples": ["not_found"]
                },
                "message": { "type": "string", "description": "What happened, in plain English." },
                "retry_after": { "type": "integer", "description": "With 429 and 503: seconds to wait." },
                "reference": { "type": "string", "description": "With 500: quote it to support." }
            }
        },
        "ValidationErrors": {
            "type": "object",
            "required": ["errors"],
            "properties": {
                "errors": {
                    "type": "object",
                    "description": "Messages by field (`body` for the body as a whole, \
                        `Idempotency-Key` for that header).",
                    "additionalProperties": { "type": "array", "items": { "type": "string" } },
                    "examples": [{ "email": ["Enter an email address in the right format, like name@example.com"] }]
                }
            }
        }
    })
}

pub(super) async fn document() -> Response {
    json_response(StatusCode::OK, openapi())
}

pub(super) fn operation() -> Value {
    json!({
        "operationId": "getOpenApi",
        "summary": "This document",
        "responses": {
            "200": {
                "description": "The OpenAPI 3.1 description of the API.",
                "content": { "application/json": { "schema": { "type": "object" } } }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$ref` in `value`.
    fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    found.push(target);
                }
                map.values().for_each(|v| refs(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_resolves_and_every_route_is_described() {
        let doc = openapi();
        assert_eq!(doc["openapi"], "3.1.0");
        let mut found = Vec::new();
        refs(doc, &mut found);
        assert!(!found.is_empty());
        for target in found {
            let (kind, name) = target
                .strip_prefix("#/components/")
                .and_then(|rest| rest.split_once('/'))
                .unwrap_or_else(|| panic!("unexpected reference {target}"));
            assert!(
                ["schemas", "responses"].contains(&kind),
                "unexpected reference {target}"
            );
            assert!(
                doc["components"][kind][name].is_object(),
                "{target} is not defined"
            );
        }
        for endpoint in endpoints() {
            let operation = &doc["paths"][endpoint.path][endpoint.verb.openapi_name()];
            assert!(operation.is_object(), "{} is documented", endpoint.path);
            for param in endpoint.path.split('/').filter(|s| s.starts_with('{')) {
                let name = param.trim_matches(['{', '}']);
                let declared = operation["parameters"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|p| p["name"] == name && p["in"] == "path"));
                assert!(
                    declared,
                    "{} declares its path parameter {name}",
                    endpoint.path
                );
            }
        }
    }

    #[test]
    fn every_operation_documents_what_the_app_wide_layers_answer() {
        let doc = openapi();
        for endpoint in endpoints() {
            let responses = &doc["paths"][endpoint.path][endpoint.verb.openapi_name()]["responses"];
            let mut expected = vec!["408", "503"];
            if endpoint.verb == super::super::Verb::Post {
                expected.extend(["400", "403", "413", "415"]);
            }
            for code in expected {
                let target = responses[code]["$ref"].as_str().unwrap_or_default();
                let name = target.trim_start_matches("#/components/responses/");
                assert!(
                    doc["components"]["responses"][name]["content"]["application/json"].is_object(),
                    "{} {} documents its {code} as JSON",
                    endpoint.verb.openapi_name(),
                    endpoint.path
                );
            }
        }
        assert!(doc["components"]["responses"]["Busy"]["headers"]["Retry-After"].is_object());
    }
}
