//! "Which kind of therapy might suit me?" (`/which-therapy`): the guide of `domain::guide`,
//! from the approaches and ways of working the practice gives in its directory settings
//! (or, without those, its approach pages named after them) and its places.

use axum::response::Response;
use domain::{
    directory::{APPROACHES, WAYS_OF_WORKING},
    guide::{Side, guide as build},
};
use minijinja::{Value, context};
use store::{ArticleKind, Page};

use super::{cached, render};
use crate::{
    Here,
    error::WebResult,
    site::pages::{breadcrumbs, json_ld},
};

/// One approach as the guide names it: its label, and its page here if there is one.
fn named(slug: &str, pages: &[(String, String)]) -> Value {
    let label = APPROACHES
        .iter()
        .find(|t| t.slug == slug)
        .map_or(slug, |t| t.label);
    let href = pages
        .iter()
        .find(|(page, _)| page == slug)
        .map(|(page, _)| format!("/approaches/{page}"));
    context! { label, href }
}

/// Both sides of a choice: whether each is offered, and the approaches on one side only
/// and on both.
fn choice(one: &Side, other: &Side, pages: &[(String, String)]) -> Value {
    let only = |a: &Side, b: &Side| -> Vec<Value> {
        a.approaches
            .iter()
            .filter(|x| !b.approaches.contains(x))
            .map(|x| named(x, pages))
            .collect()
    };
    let both: Vec<Value> = one
        .approaches
        .iter()
        .filter(|x| other.approaches.contains(x))
        .map(|x| named(x, pages))
        .collect();
    context! {
        one => one.offered,
        other => other.offered,
        one_only => only(one, other),
        other_only => only(other, one),
        both,
    }
}

pub(crate) async fn guide(state: Here) -> WebResult<Response> {
    cached(&state, "/which-therapy", super::pages::HTML, || async {
        let store = state.store();
        let id = state.practice_id();
        let (listing, (articles, _), locations) = tokio::try_join!(
            store.listing_settings(id),
            store.published_articles(id, ArticleKind::Approach, Page::ALL),
            store.locations(id),
        )?;
        let pages: Vec<(String, String)> = articles
            .iter()
            .map(|a| (a.slug.to_string(), a.title.clone()))
            .collect();
        let settings = listing.map(|l| l.settings).unwrap_or_default();
        // Without directory settings, the approach pages named after an approach or a way
        // of working say what the practice offers.
        let approaches: Vec<&str> = if settings.approaches.is_empty() {
            pages.iter().map(|(slug, _)| slug.as_str()).collect()
        } else {
            settings.approaches.iter().map(String::as_str).collect()
        };
        let ways: Vec<&str> = if settings.ways.is_empty() {
            WAYS_OF_WORKING
                .iter()
                .map(|w| w.slug)
                .filter(|w| pages.iter().any(|(slug, _)| slug.split('-').next() == w.split('-').next()))
                .collect()
        } else {
            settings.ways.iter().map(String::as_str).collect()
        };
        let in_person = locations.iter().any(|l| !l.online);
        let online = locations.iter().any(|l| l.online);
        let g = build(&approaches, &ways, in_person, online);
        let ld = json_ld(&breadcrumbs(
            &state,
            &[
                ("Home", "/"),
                ("How I work", "/approaches"),
                ("Which kind of therapy might suit me?", "/which-therapy"),
            ],
        ));
        let page = context! {
            approaches => g.approaches.iter().map(|a| named(a, &pages)).collect::<Vec<_>>(),
            causes => choice(&g.roots, &g.present, &pages),
            structure => choice(&g.structured, &g.exploring, &pages),
            brief => g.brief,
            open_ended => g.open_ended,
            in_person => g.in_person,
            online => g.online,
            places => locations.iter().filter(|l| !l.online).map(|l| l.name.clone()).collect::<Vec<_>>(),
            json_ld => ld,
        };
        render(&state, "site/guide.html", "/which-therapy", page).await
    })
    .await
}
