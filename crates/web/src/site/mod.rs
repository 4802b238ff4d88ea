//! The public site: the practice's pages, articles, enquiry form, feed and sitemap.
//!
//! Anonymous visitors get no cookies and nothing from any other origin. Pages are
//! rendered once and served from [`crate::pages::PageCache`] until content changes. How any
//! page is rendered (the site context, the error page, the cache) is [`crate::render`]'s.

mod contact;
pub(crate) mod feeds;
mod guide;
pub(crate) mod pages;

use axum::Router;

use crate::AppState;
pub(crate) use crate::render::{cached, html, render, site_context};

crate::routing::routes! {
    GET "/" => Public: pages::home;
    GET "/about" => Public: pages::about;
    GET "/approaches" => Public: pages::approaches;
    GET "/approaches/{slug}" => Public: pages::approach;
    GET "/which-therapy" => Public: guide::guide;
    GET "/articles" => Public: pages::articles;
    GET "/articles/{slug}" => Public: pages::article;
    GET "/tags" => Public: pages::tags;
    GET "/tags/{slug}" => Public: pages::tag;
    GET "/faq" => Public: pages::faq;
    GET "/locations" => Public: pages::locations;
    GET "/fees" => Public: pages::fees;
    GET "/privacy" => Public: pages::privacy;
    GET "/urgent-help" => Public: pages::urgent_help;
    GET "/contact" => Public: contact::form;
    POST "/contact" => Public: contact::submit;
    GET "/contact/thanks" => Public: contact::thanks;
    GET "/feed.xml" => Public: feeds::atom;
    GET "/sitemap.xml" => Public: feeds::sitemap;
    GET "/robots.txt" => Public: feeds::robots;
    GET "/assets/site.css" => Public: feeds::stylesheet;
    GET "/assets/theme.css" => Public: feeds::theme_stylesheet;
    GET "/assets/notes.js" => Public: feeds::notes_script;
    GET "/media/{photo}" => Public: crate::photos::media;
    GET "/favicon.svg" => Public: feeds::favicon;
    GET "/social-card.png" => Public: crate::photos::social_card;
    GET "/favicon.ico" => Public: feeds::favicon;
}

pub(crate) fn router() -> Router<AppState> {
    crate::routing::mount(&routes())
}
