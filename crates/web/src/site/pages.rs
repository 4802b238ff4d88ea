//! The practice's public pages.

use axum::{extract::Path, response::Response};
use domain::Slug;
use minijinja::{Value, context};
use serde::Deserialize;
use serde_json::json;
use store::{ArticleKind, Page};

use super::{cached, render};
use crate::{Here, WebError, error::WebResult, query::Query, templates::value};

/// Articles per page of the index.
pub(crate) const PAGE_SIZE: u32 = 10;

pub(crate) const HTML: &str = "text/html; charset=utf-8";

fn slug(raw: &str) -> WebResult<Slug> {
    Slug::parse(raw).map_err(|_| WebError::NotFound)
}

/// Serialise JSON-LD so it can sit inside a `<script>` element safely.
pub(crate) fn json_ld(value: &serde_json::Value) -> Value {
    let text = value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    Value::from_safe_string(text)
}

/// schema.org description of the practice, its therapist and each room's address.
async fn practice_json_ld(state: &Here) -> WebResult<serde_json::Value> {
    let store = state.store();
    let practice = store.practice(state.practice_id()).await?;
    let locations = store.locations(state.practice_id()).await?;
    let base = state.public_url();
    let addresses: Vec<_> = locations
        .iter()
        .filter(|l| !l.online)
        .map(|l| {
            let mut lines = l.address_lines.clone();
            let locality = if lines.len() > 1 { lines.pop() } else { None };
            json!({
                "@type": "PostalAddress",
                "name": l.name,
                "streetAddress": lines.join(", "),
                "addressLocality": locality,
                "postalCode": l.postcode.as_ref().map(ToString::to_string),
                "addressCountry": "GB",
            })
        })
        .collect();
    Ok(json!({
        "@context": "https://schema.org",
        "@graph": [
            {
                "@type": "ProfessionalService",
                "@id": format!("{base}/#practice"),
                "name": practice.details.name,
                "description": practice.details.tagline,
                "url": format!("{base}/"),
                "address": addresses,
                "employee": { "@id": format!("{base}/about#therapist") },
            },
            {
                "@type": "Person",
                "@id": format!("{base}/about#therapist"),
                "name": practice.therapist.name.as_str(),
                "jobTitle": practice.therapist.title,
                "knowsLanguage": practice.therapist.languages,
                "memberOf": { "@type": "Organization", "name": practice.therapist.professional_body },
                "url": format!("{base}/about"),
            }
        ]
    }))
}

pub(crate) fn breadcrumbs(state: &Here, trail: &[(&str, &str)]) -> serde_json::Value {
    let base = state.public_url();
    let items: Vec<_> = trail
        .iter()
        .enumerate()
        .map(|(i, (name, path))| json!({ "@type": "ListItem", "position": i + 1, "name": name, "item": format!("{base}{path}") }))
        .collect();
    json!({ "@context": "https://schema.org", "@type": "BreadcrumbList", "itemListElement": items })
}

pub(crate) async fn home(state: Here) -> WebResult<Response> {
    cached(&state, "/", HTML, || home_html(&state, Value::UNDEFINED)).await
}

/// The home page, with `extra` in its context (a theme preview's stylesheet and banner).
pub(crate) async fn home_html(state: &Here, extra: Value) -> WebResult<String> {
    {
        let store = state.store();
        let id = state.practice_id();
        let practice = store.practice(id).await?;
        let locations = store.locations(id).await?;
        let types = store.appointment_types(id).await?;
        let (approaches, _) = store
            .published_articles(id, ArticleKind::Approach, Page::ALL)
            .await?;
        let (latest, _) = store
            .published_articles(id, ArticleKind::Article, Page { number: 1, size: 3 })
            .await?;
        let ld = json_ld(&practice_json_ld(state).await?);
        let page = context! {
            details => value(&practice.details),
            locations => value(&locations),
            types => value(&types),
            approaches => value(&approaches),
            latest => value(&latest),
            json_ld => ld,
            ..extra
        };
        render(state, "site/home.html", "/", page).await
    }
}

pub(crate) async fn about(state: Here) -> WebResult<Response> {
    cached(&state, "/about", HTML, || async {
        let id = state.practice_id();
        let (approaches, _) = state
            .store()
            .published_articles(id, ArticleKind::Approach, Page::ALL)
            .await?;
        let ld = json_ld(&practice_json_ld(&state).await?);
        render(
            &state,
            "site/about.html",
            "/about",
            context! { approaches => value(&approaches), json_ld => ld },
        )
        .await
    })
    .await
}

pub(crate) async fn approaches(state: Here) -> WebResult<Response> {
    cached(&state, "/approaches", HTML, || async {
        let (approaches, _) = state
            .store()
            .published_articles(state.practice_id(), ArticleKind::Approach, Page::ALL)
            .await?;
        let ld = json_ld(&breadcrumbs(
            &state,
            &[("Home", "/"), ("How I work", "/approaches")],
        ));
        render(
            &state,
            "site/approaches.html",
            "/approaches",
            context! { approaches => value(&approaches), json_ld => ld },
        )
        .await
    })
    .await
}

pub(crate) async fn approach(state: Here, Path(raw): Path<String>) -> WebResult<Response> {
    let slug = slug(&raw)?;
    let path = format!("/approaches/{slug}");
    cached(&state, &path.clone(), HTML, || async {
        let approach = state.store().published_article(state.practice_id(), ArticleKind::Approach, &slug).await?;
        let (others, _) = state.store().published_articles(state.practice_id(), ArticleKind::Approach, Page::ALL).await?;
        let others: Vec<_> = others.into_iter().filter(|a| a.id != approach.id).collect();
        let ld = json_ld(&breadcrumbs(&state, &[("Home", "/"), ("How I work", "/approaches"), (&approach.title, &path)]));
        let minutes = domain::markdown::reading_minutes(&approach.body);
        render(&state, "site/approach.html", &path, context! { article => value(&approach), others => value(&others), minutes, json_ld => ld }).await
    })
    .await
}

/// The articles list's query: `?page=N`. Other parameters (a newsletter's tracking tags,
/// say) are ignored; `page` given twice is refused by [`Query`].
#[derive(Deserialize)]
pub(crate) struct ListQuery {
    page: Option<String>,
}

/// The page asked for (absent means 1); anything but a page number is not a page that exists.
fn page_number(page: Option<&str>) -> WebResult<u32> {
    match page {
        None => Ok(1),
        Some(n) => n
            .parse::<u32>()
            .ok()
            .filter(|n| *n >= 1 && *n < 10_000)
            .ok_or(WebError::NotFound),
    }
}

pub(crate) async fn articles(state: Here, Query(query): Query<ListQuery>) -> WebResult<Response> {
    let number = page_number(query.page.as_deref())?;
    let key = format!("/articles?page={number}");
    cached(&state, &key, HTML, || async {
        let (articles, total) = state
            .store()
            .published_articles(
                state.practice_id(),
                ArticleKind::Article,
                Page {
                    number,
                    size: PAGE_SIZE,
                },
            )
            .await?;
        let pages = u32::try_from(total.div_ceil(u64::from(PAGE_SIZE)))
            .unwrap_or(1)
            .max(1);
        if number > pages {
            return Err(WebError::NotFound);
        }
        let tags = state.store().tags(state.practice_id()).await?;
        let path = if number == 1 {
            "/articles".to_owned()
        } else {
            format!("/articles?page={number}")
        };
        let page =
            context! { articles => value(&articles), tags => value(&tags), number, pages, total };
        render(&state, "site/articles.html", &path, page).await
    })
    .await
}

pub(crate) async fn article(state: Here, Path(raw): Path<String>) -> WebResult<Response> {
    let slug = slug(&raw)?;
    let path = format!("/articles/{slug}");
    cached(&state, &path.clone(), HTML, || async {
        let store = state.store();
        let id = state.practice_id();
        let article = store.published_article(id, ArticleKind::Article, &slug).await?;
        let related = store.related_articles(id, article.id, 3).await?;
        let practice = store.practice(id).await?;
        let base = state.public_url();
        let ld = json!([
            {
                "@context": "https://schema.org",
                "@type": "Article",
                "headline": article.title,
                "description": article.summary,
                "datePublished": article.date.to_string(),
                "dateModified": article.updated_at.to_string(),
                "keywords": article.tags.iter().map(|t| t.as_str().replace('-', " ")).collect::<Vec<_>>(),
                "author": { "@type": "Person", "name": practice.therapist.name.as_str(), "url": format!("{base}/about") },
                "publisher": { "@type": "Organization", "name": practice.details.name, "url": format!("{base}/") },
                "mainEntityOfPage": format!("{base}{path}"),
            },
            breadcrumbs(&state, &[("Home", "/"), ("Articles", "/articles"), (&article.title, &path)]),
        ]);
        let minutes = domain::markdown::reading_minutes(&article.body);
        let page = context! { article => value(&article), related => value(&related), minutes, json_ld => json_ld(&ld) };
        render(&state, "site/article.html", &path, page).await
    })
    .await
}

pub(crate) async fn tags(state: Here) -> WebResult<Response> {
    cached(&state, "/tags", HTML, || async {
        let tags = state.store().tags(state.practice_id()).await?;
        render(
            &state,
            "site/tags.html",
            "/tags",
            context! { tags => value(&tags) },
        )
        .await
    })
    .await
}

pub(crate) async fn tag(state: Here, Path(raw): Path<String>) -> WebResult<Response> {
    let tag = slug(&raw)?;
    let path = format!("/tags/{tag}");
    cached(&state, &path.clone(), HTML, || async {
        let articles = state
            .store()
            .articles_tagged(state.practice_id(), &tag)
            .await?;
        if articles.is_empty() {
            return Err(WebError::NotFound);
        }
        let ld = json_ld(&breadcrumbs(
            &state,
            &[
                ("Home", "/"),
                ("Topics", "/tags"),
                (&tag.as_str().replace('-', " "), &path),
            ],
        ));
        render(
            &state,
            "site/tag.html",
            &path,
            context! { tag => tag.as_str(), articles => value(&articles), json_ld => ld },
        )
        .await
    })
    .await
}

pub(crate) async fn faq(state: Here) -> WebResult<Response> {
    cached(&state, "/faq", HTML, || async {
        let entries = state.store().faq(state.practice_id()).await?;
        let ld = json!({
            "@context": "https://schema.org",
            "@type": "FAQPage",
            "mainEntity": entries.iter().map(|e| json!({
                "@type": "Question",
                "name": e.question,
                "acceptedAnswer": { "@type": "Answer", "text": domain::markdown::plain_text(&e.answer) },
            })).collect::<Vec<_>>(),
        });
        render(&state, "site/faq.html", "/faq", context! { entries => value(&entries), json_ld => json_ld(&ld) }).await
    })
    .await
}

pub(crate) async fn locations(state: Here) -> WebResult<Response> {
    cached(&state, "/locations", HTML, || async {
        let locations = state.store().locations(state.practice_id()).await?;
        let with_maps: Vec<_> = locations
            .iter()
            .map(|l| context! { location => value(l), map_url => l.map_url() })
            .collect();
        let ld = json_ld(&practice_json_ld(&state).await?);
        render(
            &state,
            "site/locations.html",
            "/locations",
            context! { locations => with_maps, json_ld => ld },
        )
        .await
    })
    .await
}

pub(crate) async fn fees(state: Here) -> WebResult<Response> {
    cached(&state, "/fees", HTML, || async {
        let id = state.practice_id();
        let practice = state.store().practice(id).await?;
        let types = state.store().appointment_types(id).await?;
        render(
            &state,
            "site/fees.html",
            "/fees",
            context! { policies => value(&practice.policies), types => value(&types) },
        )
        .await
    })
    .await
}

pub(crate) async fn privacy(state: Here) -> WebResult<Response> {
    cached(&state, "/privacy", HTML, || async {
        let practice = state.store().practice(state.practice_id()).await?;
        render(
            &state,
            "site/privacy.html",
            "/privacy",
            context! { privacy => value(&practice.privacy) },
        )
        .await
    })
    .await
}

pub(crate) async fn urgent_help(state: Here) -> WebResult<Response> {
    cached(&state, "/urgent-help", HTML, || async {
        render(&state, "site/urgent_help.html", "/urgent-help", context! {}).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_numbers() {
        assert_eq!(page_number(None).unwrap(), 1);
        assert_eq!(page_number(Some("3")).unwrap(), 3);
        for bad in ["0", "x", "", "-1", "10000"] {
            assert!(page_number(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn json_ld_cannot_close_the_script() {
        let v = json_ld(&json!({ "name": "</script><script>alert(1)</script>" }));
        assert!(!v.to_string().contains("</script"));
    }
}
