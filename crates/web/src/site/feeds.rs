//! Machine-readable views of the site: Atom feed, sitemap, robots.txt, the stylesheet and
//! the site's icon.

use axum::{
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use domain::look::{Accent, Colour, Theme};
use minijinja::context;
use store::{ArticleKind, Page};

use super::{cached, pages::PAGE_SIZE, site_context};
use crate::{Here, error::WebResult, templates::value};

/// How long browsers may keep the icon before asking again (it changes with the
/// practice's name, rarely).
const ICON_MAX_AGE: &str = "public, max-age=86400";

/// Entries in the feed.
const FEED_ENTRIES: u32 = 20;

pub(crate) async fn atom(state: Here) -> WebResult<Response> {
    cached(
        &state,
        "/feed.xml",
        "application/atom+xml; charset=utf-8",
        || async {
            let store = state.store();
            let id = state.practice_id();
            let (summaries, _) = store
                .published_articles(
                    id,
                    ArticleKind::Article,
                    Page {
                        number: 1,
                        size: FEED_ENTRIES,
                    },
                )
                .await?;
            let mut articles = Vec::with_capacity(summaries.len());
            for summary in &summaries {
                articles.push(store.article(id, summary.id).await?);
            }
            let updated = articles
                .iter()
                .map(|a| a.updated_at)
                .max()
                .unwrap_or_else(|| state.now());
            let site = site_context(&state).await?;
            let page =
                context! { site, articles => value(&articles), updated => updated.to_string() };
            Ok(state.templates().render("site/feed.xml", page)?)
        },
    )
    .await
}

pub(crate) async fn sitemap(state: Here) -> WebResult<Response> {
    cached(
        &state,
        "/sitemap.xml",
        "application/xml; charset=utf-8",
        || async {
            let store = state.store();
            let id = state.practice_id();
            let (articles, total) = store
                .published_articles(id, ArticleKind::Article, Page::ALL)
                .await?;
            let (approaches, _) = store
                .published_articles(id, ArticleKind::Approach, Page::ALL)
                .await?;
            let tags = store.tags(id).await?;
            let mut paths: Vec<String> = [
                "/",
                "/about",
                "/approaches",
                "/which-therapy",
                "/articles",
                "/tags",
                "/faq",
                "/locations",
                "/fees",
                "/privacy",
                "/urgent-help",
                "/contact",
                "/book",
            ]
            .iter()
            .map(|p| (*p).to_owned())
            .collect();
            let pages = total.div_ceil(u64::from(PAGE_SIZE));
            paths.extend((2..=pages).map(|n| format!("/articles?page={n}")));
            paths.extend(approaches.iter().map(|a| format!("/approaches/{}", a.slug)));
            paths.extend(articles.iter().map(|a| format!("/articles/{}", a.slug)));
            paths.extend(tags.iter().map(|t| format!("/tags/{}", t.tag)));
            let base = state.public_url();
            let urls: Vec<String> = paths.iter().map(|p| format!("{base}{p}")).collect();
            Ok(state
                .templates()
                .render("site/sitemap.xml", context! { urls })?)
        },
    )
    .await
}

/// Crawlers keep out of the back office, the portal, the API and every secret link (a
/// booking's manage pages under `/booking/`, which leaves the public `/book` pages open).
pub(crate) async fn robots(state: Here) -> Response {
    let mut body =
        String::from("User-agent: *\nDisallow: /office\nDisallow: /portal\nDisallow: /api/\n");
    for prefix in crate::security::PRIVATE_LINKS {
        body.push_str(&format!("Disallow: {prefix}\n"));
    }
    body.push_str(&format!(
        "Allow: /\n\nSitemap: {}/sitemap.xml\n",
        state.public_url()
    ));
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

const CSS: &str = include_str!("../../assets/site.css");
/// Each designed theme's additions to the stylesheet (the plain theme has none).
const THEME_CSS: [(Theme, &str); 4] = [
    (Theme::Plain, ""),
    (
        Theme::Literary,
        include_str!("../../assets/themes/literary.css"),
    ),
    (Theme::Warm, include_str!("../../assets/themes/warm.css")),
    (
        Theme::Modern,
        include_str!("../../assets/themes/modern.css"),
    ),
];
const NOTES_JS: &str = include_str!("../../assets/notes.js");

/// A short fingerprint of a file, used in its URL and as its ETag.
fn fingerprint(text: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// The stylesheet's fingerprint.
pub(crate) fn css_version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| fingerprint(CSS))
}

/// The fingerprint of every theme's stylesheet together.
fn themes_version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| {
        let all: String = THEME_CSS.iter().map(|(_, css)| *css).collect();
        fingerprint(&format!("{CSS}{all}"))
    })
}

/// The address of the public pages' stylesheet in `theme` with `accent`: every input is in
/// it, so it can be cached for good.
pub(crate) fn theme_href(theme: Theme, accent: Option<Accent>) -> String {
    let accent = accent.unwrap_or_else(|| Accent::of_theme(theme));
    format!(
        "/assets/theme.css?t={theme}&a={}&v={}",
        accent.colour().hex().trim_start_matches('#'),
        themes_version()
    )
}

/// The stylesheet, the theme's additions and its accent colours, light and dark.
fn themed_css(theme: Theme, accent: Accent) -> String {
    let own = THEME_CSS
        .iter()
        .find(|(t, _)| *t == theme)
        .map_or("", |(_, css)| css);
    let dark = accent.for_dark(theme);
    let dark_hover = Accent::check(theme, dark).map_or(dark, Accent::hover);
    format!(
        "{CSS}\n{own}\n:root {{ --accent: {}; --accent-dark: {}; }}\n\
         @media (prefers-color-scheme: dark) {{ :root {{ --accent: {dark}; --accent-dark: {dark_hover}; }} }}\n",
        accent.colour(),
        accent.hover(),
    )
}

#[derive(serde::Deserialize)]
pub(crate) struct ThemeQuery {
    t: Option<String>,
    a: Option<String>,
    #[allow(dead_code)]
    v: Option<String>,
}

/// `/assets/theme.css?t=THEME&a=RRGGBB`: the public pages' stylesheet in a theme with an
/// accent (one the theme takes; any other is not found).
pub(crate) async fn theme_stylesheet(
    headers: HeaderMap,
    crate::query::Query(q): crate::query::Query<ThemeQuery>,
) -> Response {
    let theme = q.t.as_deref().and_then(Theme::parse);
    let raw = q.a.as_deref().unwrap_or_default();
    let accent = theme.and_then(|theme| {
        Colour::parse(raw)
            .filter(|_| raw.len() == 6)
            .and_then(|colour| Accent::check(theme, colour).ok())
    });
    let (Some(theme), Some(accent)) = (theme, accent) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let version = format!("{}-{theme}-{}", themes_version(), raw.to_ascii_lowercase());
    asset_owned(
        &headers,
        themed_css(theme, accent),
        "text/css; charset=utf-8",
        &version,
    )
}

/// The notes script's fingerprint.
pub(crate) fn notes_js_version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| fingerprint(NOTES_JS))
}

/// A file built into the binary, cached for a year (its URL changes with its content).
fn asset(
    headers: &HeaderMap,
    body: &'static str,
    content_type: &'static str,
    version: &str,
) -> Response {
    asset_owned(headers, body.to_owned(), content_type, version)
}

/// [`asset`] for a body made at the time.
fn asset_owned(
    headers: &HeaderMap,
    body: String,
    content_type: &'static str,
    version: &str,
) -> Response {
    let etag = format!("\"{version}\"");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mut response = ([(header::CONTENT_TYPE, content_type)], body).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, value);
    }
    response
}

pub(crate) async fn stylesheet(headers: HeaderMap) -> Response {
    asset(&headers, CSS, "text/css; charset=utf-8", css_version())
}

/// Autosave for notes (the back office's only script).
pub(crate) async fn notes_script(headers: HeaderMap) -> Response {
    asset(
        &headers,
        NOTES_JS,
        "text/javascript; charset=utf-8",
        notes_js_version(),
    )
}

/// The site's accent colour (`--accent` in the stylesheet), so the icon matches the pages.
fn accent_colour() -> &'static str {
    CSS.split("--accent:")
        .nth(1)
        .and_then(|rest| rest.trim_start().get(..7))
        .filter(|c| c.starts_with('#') && c[1..].chars().all(|d| d.is_ascii_hexdigit()))
        .unwrap_or("#2f6b4f")
}

/// The icon: the practice's initial, white on the accent colour, as a small SVG. Only a
/// letter or digit is ever written into it, so the name needs no escaping.
fn icon_svg(name: &str) -> String {
    let initial: String = name
        .chars()
        .find(|c| c.is_alphanumeric())
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 64 64\">\
         <rect width=\"64\" height=\"64\" rx=\"12\" fill=\"{colour}\"/>\
         <text x=\"32\" y=\"45\" text-anchor=\"middle\" font-family=\"system-ui, -apple-system, \
         Segoe UI, Roboto, Helvetica, Arial, sans-serif\" font-size=\"40\" font-weight=\"700\" \
         fill=\"#ffffff\">{initial}</text></svg>\n",
        colour = accent_colour()
    )
}

/// `/favicon.svg` (linked from every page) and `/favicon.ico` (where browsers look when a
/// page names no icon): the same SVG, cached for a day and revalidated by its ETag.
pub(crate) async fn favicon(state: Here, headers: HeaderMap) -> WebResult<Response> {
    let site = site_context(&state).await?;
    let name = site
        .get_attr("name")
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let svg = icon_svg(&name);
    let etag = format!("\"{}\"", fingerprint(&svg));
    let mut response = if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(ICON_MAX_AGE),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_icon_is_the_first_letter_in_the_accent_colour() {
        assert_eq!(accent_colour(), "#2f6b4f");
        let svg = icon_svg("  larchwood Psychotherapy");
        assert!(svg.contains(">L</text>"), "{svg}");
        assert!(svg.contains("fill=\"#2f6b4f\""), "{svg}");
        assert!(icon_svg("<script>").contains(">S</text>"));
        assert!(icon_svg("").contains("></text>"));
    }
}
