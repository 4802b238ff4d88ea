//! Writing, previewing, publishing and deleting articles and approach pages.

use axum::{
    extract::Path,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use domain::{ArticleDraft, article::ArticleForm};
use minijinja::{Value, context};
use serde::Deserialize;
use store::{ArticleId, ArticleKind, ConflictKind, StoreError};

use super::{Staff, errors_value, page};
use crate::query::Query;
use crate::{Here, WebError, error::WebResult, forms::FormData, templates::value};

fn article_id(raw: &str) -> WebResult<ArticleId> {
    ArticleId::parse(raw).ok_or(WebError::NotFound)
}

pub(crate) async fn list(state: Here, staff: Staff) -> WebResult<Response> {
    let articles = state.store().all_articles(state.practice_id()).await?;
    page(
        &state,
        &staff,
        StatusCode::OK,
        "office/articles.html",
        context! { articles => value(&articles) },
    )
    .await
}

#[derive(Deserialize)]
pub(crate) struct NewQuery {
    kind: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct EditQuery {
    saved: Option<String>,
}

fn kind_of(raw: Option<&str>) -> ArticleKind {
    raw.and_then(ArticleKind::parse)
        .unwrap_or(ArticleKind::Article)
}

pub(crate) async fn new_form(
    state: Here,
    staff: Staff,
    Query(query): Query<NewQuery>,
) -> WebResult<Response> {
    let kind = kind_of(query.kind.as_deref());
    let today = state
        .now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date()
        .to_string();
    let values = context! { date => today, kind => kind.as_str() };
    let ctx = context! { values, action => "/office/articles/new", is_new => true };
    page(
        &state,
        &staff,
        StatusCode::OK,
        "office/article_form.html",
        ctx,
    )
    .await
}

pub(crate) async fn edit_form(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    Query(query): Query<EditQuery>,
) -> WebResult<Response> {
    let id = article_id(&raw)?;
    let article = state.store().article(state.practice_id(), id).await?;
    let tags: Vec<&str> = article.tags.iter().map(domain::Slug::as_str).collect();
    let values = context! {
        title => article.title.clone(),
        slug => article.slug.to_string(),
        summary => article.summary.clone(),
        body => article.body.clone(),
        tags => tags.join(", "),
        date => article.date.to_string(),
        published => article.published,
        kind => article.kind.as_str(),
    };
    let ctx = context! {
        values,
        action => format!("/office/articles/{id}/edit"),
        article => value(&article),
        saved => query.saved.is_some(),
    };
    page(
        &state,
        &staff,
        StatusCode::OK,
        "office/article_form.html",
        ctx,
    )
    .await
}

fn parse(state: &Here, form: &FormData) -> Result<ArticleDraft, domain::FieldErrors> {
    let today = state
        .now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    ArticleDraft::parse(
        &ArticleForm {
            title: form.get("title"),
            slug: form.get("slug"),
            summary: form.get("summary"),
            body: form.get("body"),
            tags: form.get("tags"),
            date: form.get("date"),
            published: form.has("published"),
        },
        today,
    )
}

/// Re-show the editor with what was typed, and either a preview or the errors.
async fn redisplay(
    state: &Here,
    staff: &Staff,
    form: &FormData,
    action: String,
    existing: Option<Value>,
    errors: Option<domain::FieldErrors>,
) -> WebResult<Response> {
    let mut values = value(&form.values());
    if form.has("published") {
        values = context! { published => true, ..values };
    }
    let (status, error_list, error_map, preview) = match errors {
        Some(errors) => {
            let (list, map) = errors_value(&errors);
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                list,
                map,
                Value::UNDEFINED,
            )
        }
        None => (
            StatusCode::OK,
            Value::UNDEFINED,
            Value::UNDEFINED,
            Value::from_safe_string(domain::markdown::to_html(form.get("body"))),
        ),
    };
    let ctx = context! {
        values,
        action,
        article => existing.clone(),
        is_new => existing.is_none(),
        errors => error_list,
        error => error_map,
        preview,
        preview_title => form.get("title"),
    };
    page(state, staff, status, "office/article_form.html", ctx).await
}

pub(crate) async fn create(state: Here, staff: Staff, form: FormData) -> WebResult<Response> {
    let action = "/office/articles/new".to_owned();
    let draft = match parse(&state, &form) {
        Ok(draft) if form.get("action") != "preview" => draft,
        Ok(_) => return redisplay(&state, &staff, &form, action, None, None).await,
        Err(errors) => return redisplay(&state, &staff, &form, action, None, Some(errors)).await,
    };
    let kind = kind_of(Some(form.get("kind")));
    let position = if kind == ArticleKind::Approach {
        100
    } else {
        0
    };
    match state
        .store()
        .create_article(state.practice_id(), kind, &draft, position, state.now())
        .await
    {
        Ok(id) => {
            state.content_changed();
            Ok(Redirect::to(&format!("/office/articles/{id}/edit?saved=1")).into_response())
        }
        Err(StoreError::Conflict(ConflictKind::ArticleSlug)) => {
            let mut errors = domain::FieldErrors::new();
            errors.add(
                "slug",
                "Another page already uses this web address. Choose a different one",
            );
            redisplay(&state, &staff, &form, action, None, Some(errors)).await
        }
        Err(other) => Err(other.into()),
    }
}

pub(crate) async fn update(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let id = article_id(&raw)?;
    let existing = state.store().article(state.practice_id(), id).await?;
    let action = format!("/office/articles/{id}/edit");
    let draft = match parse(&state, &form) {
        Ok(draft) if form.get("action") != "preview" => draft,
        Ok(_) => {
            return redisplay(&state, &staff, &form, action, Some(value(&existing)), None).await;
        }
        Err(errors) => {
            return redisplay(
                &state,
                &staff,
                &form,
                action,
                Some(value(&existing)),
                Some(errors),
            )
            .await;
        }
    };
    match state
        .store()
        .update_article(state.practice_id(), id, &draft, state.now())
        .await
    {
        Ok(()) => {
            state.content_changed();
            Ok(Redirect::to(&format!("/office/articles/{id}/edit?saved=1")).into_response())
        }
        Err(StoreError::Conflict(ConflictKind::ArticleSlug)) => {
            let mut errors = domain::FieldErrors::new();
            errors.add(
                "slug",
                "Another page already uses this web address. Choose a different one",
            );
            redisplay(
                &state,
                &staff,
                &form,
                action,
                Some(value(&existing)),
                Some(errors),
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

pub(crate) async fn confirm_delete(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
) -> WebResult<Response> {
    let id = article_id(&raw)?;
    let article = state.store().article(state.practice_id(), id).await?;
    let ctx = context! {
        title => format!("Delete “{}”?", article.title),
        warning => "The page will be removed from your site and its web address will stop working. This cannot be undone.",
        action => format!("/office/articles/{id}/delete"),
        button => "Yes, delete this page",
        back => format!("/office/articles/{id}/edit"),
    };
    page(
        &state,
        &staff,
        StatusCode::OK,
        "office/confirm_delete.html",
        ctx,
    )
    .await
}

pub(crate) async fn delete(
    state: Here,
    _staff: Staff,
    Path(raw): Path<String>,
) -> WebResult<Response> {
    let id = article_id(&raw)?;
    state
        .store()
        .delete_article(state.practice_id(), id)
        .await?;
    state.content_changed();
    Ok(Redirect::to("/office/articles").into_response())
}
