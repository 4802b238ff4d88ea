//! Social links and FAQ: lists edited as rows.

use super::*;

/// Blank rows offered for adding new entries.
pub(super) const SPARE_ROWS: usize = 2;

#[derive(Serialize)]
pub(super) struct Row {
    a: String,
    b: String,
    error_a: Option<String>,
    error_b: Option<String>,
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn show_rows(
    state: &Here,
    staff: &Staff,
    kind: &str,
    mut rows: Vec<Row>,
    errors: bool,
    saved: bool,
) -> WebResult<Response> {
    rows.extend((0..SPARE_ROWS).map(|_| Row {
        a: String::new(),
        b: String::new(),
        error_a: None,
        error_b: None,
    }));
    let status = if errors {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let ctx = context! { kind, rows => value(&rows), has_errors => errors, saved };
    page(state, staff, status, "office/list_form.html", ctx).await
}

/// Pair up the `a` and `b` columns, skipping rows left entirely empty.
pub(crate) fn rows_of(form: &FormData) -> Vec<(String, String)> {
    form.all("a")
        .into_iter()
        .zip(form.all("b"))
        .filter(|(a, b)| !(a.trim().is_empty() && b.trim().is_empty()))
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect()
}

pub(super) async fn save_rows<T>(
    state: &Here,
    staff: &Staff,
    kind: &str,
    form: &FormData,
    parse: impl Fn(&str, &str) -> Result<T, FieldErrors>,
) -> WebResult<Result<Vec<T>, Response>> {
    let mut parsed = Vec::new();
    let mut rows = Vec::new();
    let mut bad = false;
    for (a, b) in rows_of(form) {
        match parse(&a, &b) {
            Ok(item) => {
                parsed.push(item);
                rows.push(Row {
                    a,
                    b,
                    error_a: None,
                    error_b: None,
                });
            }
            Err(errors) => {
                bad = true;
                let mut fields = errors.iter();
                let first = fields.next();
                let second = fields.next();
                let lookup = |wanted: &[&str]| {
                    [first, second]
                        .into_iter()
                        .flatten()
                        .find(|(f, _)| wanted.contains(f))
                        .map(|(_, m)| m.to_owned())
                };
                rows.push(Row {
                    error_a: lookup(&["label", "question"]),
                    error_b: lookup(&["url", "answer"]),
                    a,
                    b,
                });
            }
        }
    }
    if bad {
        return Ok(Err(show_rows(state, staff, kind, rows, true, false).await?));
    }
    Ok(Ok(parsed))
}

pub(super) async fn links_form(
    state: Here,
    staff: Staff,
    Query(q): Query<Saved>,
) -> WebResult<Response> {
    let links = state.store().social_links(state.practice_id()).await?;
    let rows = links
        .into_iter()
        .map(|l| Row {
            a: l.label,
            b: l.url,
            error_a: None,
            error_b: None,
        })
        .collect();
    show_rows(&state, &staff, "links", rows, false, q.saved.is_some()).await
}

pub(super) async fn save_links(state: Here, staff: Staff, form: FormData) -> WebResult<Response> {
    match save_rows(&state, &staff, "links", &form, SocialLink::parse).await? {
        Ok(links) => {
            state
                .store()
                .replace_social_links(state.practice_id(), &links)
                .await?;
            state.content_changed();
            Ok(done("/office/settings/links"))
        }
        Err(response) => Ok(response),
    }
}

pub(super) async fn faq_form(
    state: Here,
    staff: Staff,
    Query(q): Query<Saved>,
) -> WebResult<Response> {
    let entries = state.store().faq(state.practice_id()).await?;
    let rows = entries
        .into_iter()
        .map(|e| Row {
            a: e.question,
            b: e.answer,
            error_a: None,
            error_b: None,
        })
        .collect();
    show_rows(&state, &staff, "faq", rows, false, q.saved.is_some()).await
}

pub(super) async fn save_faq(state: Here, staff: Staff, form: FormData) -> WebResult<Response> {
    match save_rows(&state, &staff, "faq", &form, FaqEntry::parse).await? {
        Ok(entries) => {
            state
                .store()
                .replace_faq(state.practice_id(), &entries)
                .await?;
            state.content_changed();
            Ok(done("/office/settings/faq"))
        }
        Err(response) => Ok(response),
    }
}
