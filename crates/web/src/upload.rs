//! Reading `multipart/form-data` bodies (a form with a file) without trusting them.
//!
//! The one form that sends a file is the photo upload, so this reads what browsers send
//! for it and nothing more: parts with a `Content-Disposition: form-data` name, text
//! fields as UTF-8, at most one file. The body is read up to [`UPLOAD_LIMIT`]; a longer one
//! is answered 413 before the rest arrives.

use axum::{
    extract::{FromRequest, Request},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use http_body_util::BodyExt;

use crate::forms::FormData;

/// Largest upload body: the largest photo taken, and room for the form's other fields.
pub(crate) const UPLOAD_LIMIT: usize = images::MAX_UPLOAD_BYTES + 64 * 1024;

/// Most parts in one form.
const MAX_PARTS: usize = 16;

/// A submitted form with its file.
#[derive(Debug, Default)]
pub(crate) struct Upload {
    pub fields: FormData,
    /// The file field's name and bytes (empty when no file was chosen: browsers send the
    /// part with an empty filename).
    pub file: Option<(String, Vec<u8>)>,
}

/// Why a body is not a form we read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Malformed(&'static str);

impl<S: Send + Sync> FromRequest<S> for Upload {
    type Rejection = Response;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let boundary = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(boundary)
            .ok_or_else(|| StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response())?;
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|length| length > UPLOAD_LIMIT) {
            return Err(StatusCode::PAYLOAD_TOO_LARGE.into_response());
        }
        let body = http_body_util::Limited::new(req.into_body(), UPLOAD_LIMIT)
            .collect()
            .await
            .map_err(|error| {
                if error.is::<http_body_util::LengthLimitError>() {
                    StatusCode::PAYLOAD_TOO_LARGE
                } else {
                    StatusCode::BAD_REQUEST
                }
                .into_response()
            })?
            .to_bytes();
        parse(&body, &boundary).map_err(|_| StatusCode::BAD_REQUEST.into_response())
    }
}

/// The boundary of a `multipart/form-data` content type.
fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let value = value.trim().trim_matches('"');
        (!value.is_empty() && value.len() <= 70).then(|| value.to_owned())
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Parse a body with parts separated by `--boundary`.
pub(crate) fn parse(body: &[u8], boundary: &str) -> Result<Upload, Malformed> {
    let delimiter = format!("--{boundary}");
    let start = find(body, delimiter.as_bytes()).ok_or(Malformed("no first boundary"))?;
    let mut rest = &body[start + delimiter.len()..];
    let next = format!("\r\n--{boundary}");
    let mut fields = Vec::new();
    let mut file = None;
    for _ in 0..=MAX_PARTS {
        if rest.starts_with(b"--") {
            return Ok(Upload {
                fields: FormData::from_fields(fields),
                file,
            });
        }
        rest = rest
            .strip_prefix(b"\r\n")
            .ok_or(Malformed("no line end after a boundary"))?;
        let head_end = find(rest, b"\r\n\r\n").ok_or(Malformed("no end of part headers"))?;
        let head = std::str::from_utf8(&rest[..head_end]).map_err(|_| Malformed("headers"))?;
        let after_head = &rest[head_end + 4..];
        let body_end = find(after_head, next.as_bytes()).ok_or(Malformed("no closing boundary"))?;
        let content = &after_head[..body_end];
        rest = &after_head[body_end + next.len()..];
        let (name, filename) = disposition(head).ok_or(Malformed("no form-data name"))?;
        match filename {
            Some(filename) => {
                if file.is_some() {
                    return Err(Malformed("two files"));
                }
                let bytes = if filename.is_empty() {
                    Vec::new()
                } else {
                    content.to_vec()
                };
                file = Some((name, bytes));
            }
            None => {
                let text = std::str::from_utf8(content).map_err(|_| Malformed("text"))?;
                // Browsers send text fields' line ends as CRLF, as a urlencoded form does.
                fields.push((name, text.replace("\r\n", "\n")));
            }
        }
    }
    Err(Malformed("too many parts"))
}

/// The `name` (and `filename`, for a file) of a part's `Content-Disposition: form-data`.
fn disposition(head: &str) -> Option<(String, Option<String>)> {
    let line = head.split("\r\n").find_map(|line| {
        let (header, value) = line.split_once(':')?;
        header
            .trim()
            .eq_ignore_ascii_case("content-disposition")
            .then_some(value)
    })?;
    let mut params = line.split(';');
    if !params.next()?.trim().eq_ignore_ascii_case("form-data") {
        return None;
    }
    let (mut name, mut filename) = (None, None);
    for param in params {
        let Some((key, value)) = param.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"').to_owned();
        match key.trim() {
            "name" => name = Some(value),
            "filename" => filename = Some(value),
            _ => {}
        }
    }
    Some((name?, filename))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, filename, content) in parts {
            out.extend_from_slice(b"--XyZ\r\nContent-Disposition: form-data; name=\"");
            out.extend_from_slice(name.as_bytes());
            out.push(b'"');
            if let Some(filename) = filename {
                out.extend_from_slice(format!("; filename=\"{filename}\"").as_bytes());
                out.extend_from_slice(b"\r\nContent-Type: image/jpeg");
            }
            out.extend_from_slice(b"\r\n\r\n");
            out.extend_from_slice(content);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"--XyZ--\r\n");
        out
    }

    #[test]
    fn fields_and_a_file_are_read_as_sent() {
        let photo = b"\xff\xd8\r\n--Xy not the boundary\r\n\xff\xd9";
        let upload = parse(
            &body(&[
                ("alt", None, b"Two chairs\r\nby a window"),
                ("photo", Some("room.jpg"), photo),
            ]),
            "XyZ",
        )
        .unwrap();
        assert_eq!(upload.fields.get("alt"), "Two chairs\nby a window");
        assert_eq!(upload.file, Some(("photo".into(), photo.to_vec())));
    }

    #[test]
    fn no_file_chosen_is_an_empty_file() {
        let upload = parse(
            &body(&[("photo", Some(""), b""), ("alt", None, b"")]),
            "XyZ",
        )
        .unwrap();
        assert_eq!(upload.file, Some(("photo".into(), Vec::new())));
    }

    #[test]
    fn anything_else_is_malformed() {
        assert!(parse(b"", "XyZ").is_err());
        assert!(parse(b"--XyZ\r\nno headers end", "XyZ").is_err());
        let two = body(&[("a", Some("a.jpg"), b"1"), ("b", Some("b.jpg"), b"2")]);
        assert_eq!(parse(&two, "XyZ").unwrap_err(), Malformed("two files"));
        let many: Vec<_> = (0..20).map(|_| ("a", None, &b"x"[..])).collect();
        assert_eq!(
            parse(&body(&many), "XyZ").unwrap_err(),
            Malformed("too many parts")
        );
        let unclosed = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue";
        assert!(parse(unclosed, "XyZ").is_err());
        assert!(
            parse(&body(&[("a", None, b"\xff")]), "XyZ").is_err(),
            "text not UTF-8"
        );
    }

    #[test]
    fn the_boundary_is_read_from_the_content_type() {
        assert_eq!(
            boundary("multipart/form-data; boundary=----WebKitFormBoundaryA1b2"),
            Some("----WebKitFormBoundaryA1b2".into())
        );
        assert_eq!(
            boundary("Multipart/Form-Data; charset=utf-8; boundary=\"q r\""),
            Some("q r".into())
        );
        assert_eq!(boundary("application/x-www-form-urlencoded"), None);
        assert_eq!(boundary("multipart/form-data"), None);
        assert_eq!(boundary("multipart/form-data; boundary="), None);
    }
}
