//! The public site as an anonymous visitor and a search engine see it.

use std::collections::BTreeSet;

use reqwest::StatusCode;

use crate::helpers::{
    APPROACH_SLUG, DRAFT_ONLY_TAG, DRAFT_SLUG, DRAFT_TITLE, PRACTICE_NAME, PUBLISHED, Reply,
    TestApp, assert_crisis_block, decode_entities,
};

/// Every public page of the seeded practice.
fn public_paths() -> Vec<String> {
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
        "/contact/thanks",
    ]
    .iter()
    .map(|p| (*p).to_owned())
    .collect();
    paths.push(format!("/approaches/{APPROACH_SLUG}"));
    for (slug, _, tags) in PUBLISHED {
        paths.push(format!("/articles/{slug}"));
        paths.extend(tags.iter().map(|t| format!("/tags/{t}")));
    }
    paths.sort();
    paths.dedup();
    paths
}

#[track_caller]
fn assert_security_headers(page: &Reply, path: &str) {
    let csp = page
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{path}: no CSP"));
    assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
    assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
    assert_eq!(
        page.header("x-content-type-options"),
        Some("nosniff"),
        "{path}"
    );
    let referrer = page
        .header("referrer-policy")
        .unwrap_or_else(|| panic!("{path}: no Referrer-Policy"));
    assert!(
        ["no-referrer", "same-origin"].contains(&referrer),
        "{path}: {referrer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_public_page_is_html_with_the_crisis_block_and_no_cookies() {
    let app = TestApp::spawn().await;
    for path in public_paths() {
        let page = app.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(
            page.header("content-type")
                .is_some_and(|c| c.starts_with("text/html")),
            "{path}"
        );
        assert_crisis_block(&page.body);
        let canonical = format!(r#"<link rel="canonical" href="{}">"#, app.url(&path));
        assert!(
            page.decoded().contains(&canonical),
            "{path}: no canonical link {canonical}"
        );
        assert!(
            page.body
                .contains(r#"<link rel="alternate" type="application/atom+xml""#)
                && page.body.contains(r#"href="/feed.xml""#),
            "{path}: no feed link"
        );
        assert!(
            page.set_cookies().is_empty(),
            "{path} set a cookie for an anonymous visitor"
        );
        assert_security_headers(&page, &path);
        assert!(page.body.contains(PRACTICE_NAME), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_load_nothing_from_other_websites() {
    let app = TestApp::spawn().await;
    for path in public_paths() {
        let page = app.get(&path).await;
        for attribute in [
            "src=\"http",
            "src=\"//",
            "rel=\"stylesheet\" href=\"http",
            "rel=\"stylesheet\" href=\"//",
        ] {
            assert!(
                !page.body.contains(attribute),
                "{path} loads something from elsewhere ({attribute})"
            );
        }
    }
}

fn sitemap_locations(xml: &str) -> Vec<String> {
    xml.split("<loc>")
        .skip(1)
        .map(|part| decode_entities(part.split("</loc>").next().unwrap_or_default()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sitemap_lists_every_public_page_and_no_drafts() {
    let app = TestApp::spawn().await;
    let sitemap = app.get("/sitemap.xml").await;
    sitemap.assert_status(StatusCode::OK);
    assert!(
        sitemap
            .header("content-type")
            .is_some_and(|c| c.contains("xml"))
    );
    assert!(
        sitemap
            .body
            .contains("http://www.sitemaps.org/schemas/sitemap/0.9")
    );
    let listed: BTreeSet<String> = sitemap_locations(&sitemap.body).into_iter().collect();

    let expected: BTreeSet<String> = public_paths()
        .iter()
        .filter(|p| *p != "/contact/thanks")
        .map(|p| app.url(p))
        .collect();
    assert_eq!(listed, expected);
    assert!(
        !sitemap.body.contains(DRAFT_SLUG),
        "the draft is in the sitemap"
    );
    assert!(
        !sitemap.body.contains(DRAFT_ONLY_TAG),
        "a tag used only by the draft is in the sitemap"
    );

    for url in &listed {
        let path = url
            .strip_prefix(&app.base)
            .expect("sitemap URLs use the public URL");
        assert_eq!(
            app.get(path).await.status,
            StatusCode::OK,
            "{url} is in the sitemap but does not load"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_is_atom_with_published_articles_only() {
    let app = TestApp::spawn().await;
    let feed = app.get("/feed.xml").await;
    feed.assert_status(StatusCode::OK);
    assert!(
        feed.header("content-type")
            .is_some_and(|c| c.starts_with("application/atom+xml"))
    );
    assert!(
        feed.body
            .contains(r#"<feed xmlns="http://www.w3.org/2005/Atom""#)
    );
    assert_eq!(feed.body.matches("<entry>").count(), PUBLISHED.len());
    for (slug, title, _) in PUBLISHED {
        assert!(
            feed.body.contains(&format!("<title>{title}</title>")),
            "{title} missing from the feed"
        );
        assert!(
            feed.decoded()
                .contains(&app.url(&format!("/articles/{slug}"))),
            "{slug}: no link in the feed"
        );
    }
    assert!(
        !feed.body.contains(DRAFT_SLUG) && !feed.body.contains(DRAFT_TITLE),
        "the draft is in the feed"
    );
    assert!(
        !feed.body.contains(APPROACH_SLUG),
        "approach pages are not feed entries"
    );
}

/// Whether robots.txt lets a crawler fetch `path`, as RFC 9309 reads it: the longest
/// matching rule wins, and `Allow` wins a tie.
fn robots_allow(robots: &str, path: &str) -> bool {
    let mut best: Option<(usize, bool)> = None;
    for line in robots.lines() {
        let Some((field, value)) = line.split_once(':') else {
            continue;
        };
        let allow = match field.trim().to_ascii_lowercase().as_str() {
            "allow" => true,
            "disallow" => false,
            _ => continue,
        };
        let value = value.trim();
        if value.is_empty() || !path.starts_with(value) {
            continue;
        }
        if best.is_none_or(|(len, was)| value.len() > len || (value.len() == len && allow && !was))
        {
            best = Some((value.len(), allow));
        }
    }
    best.is_none_or(|(_, allow)| allow)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sitemap_feed_and_attributes_write_slashes_as_they_are_and_still_escape_quotes() {
    let app = TestApp::spawn().await;
    let title = r#"Saying "no" <kindly> & well"#;
    app.store
        .create_article(
            app.practice,
            store::ArticleKind::Article,
            &crate::helpers::draft("saying-no", title, "", "2027-03-12", true),
            0,
            app.clock.now(),
        )
        .await
        .expect("publish an article");
    app.state.content_changed();
    let sitemap = app.get("/sitemap.xml").await;
    let feed = app.get("/feed.xml").await;
    let home = app.get("/").await;
    for (slug, _, _) in PUBLISHED {
        let url = app.url(&format!("/articles/{slug}"));
        assert!(
            sitemap.body.contains(&format!("<loc>{url}</loc>")),
            "{}",
            sitemap.body
        );
        assert!(
            feed.body.contains(&format!("<id>{url}</id>")),
            "{}",
            feed.body
        );
        assert!(
            feed.body.contains(&format!(r#"href="{url}""#)),
            "{}",
            feed.body
        );
    }
    assert!(
        home.body.contains(r#"<a href="/articles""#),
        "{}",
        home.body
    );
    for reply in [&sitemap, &feed, &home] {
        assert!(!reply.body.contains("&#x2f;"), "{}", reply.body);
    }
    // What was typed is still escaped, in text and in attributes.
    let escaped = "Saying &quot;no&quot; &lt;kindly&gt; &amp; well";
    assert!(
        feed.body.contains(&format!("<title>{escaped}</title>")),
        "{}",
        feed.body
    );
    let page = app.get("/articles/saying-no").await;
    page.assert_status(StatusCode::OK);
    assert!(
        page.body.contains(&format!(
            r#"<meta property="og:title" content="{escaped}">"#
        )),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<kindly>") && !page.body.contains(r#""no""#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_icon_is_the_practices_initial_and_every_page_links_it() {
    let app = TestApp::spawn().await;
    let mut etag = None;
    for path in ["/favicon.ico", "/favicon.svg"] {
        let icon = app.get(path).await;
        icon.assert_status(StatusCode::OK);
        assert_eq!(icon.header("content-type"), Some("image/svg+xml"), "{path}");
        assert!(
            icon.body
                .starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
            "{path}"
        );
        assert!(
            icon.body.contains(">L</text>"),
            "Larchwood's L: {}",
            icon.body
        );
        assert!(
            icon.header("cache-control")
                .is_some_and(|c| c.contains("max-age=86400")),
            "{path}: {:?}",
            icon.header("cache-control")
        );
        etag = icon.header("etag").map(str::to_owned);
    }
    let etag = etag.expect("an ETag");
    app.get_with("/favicon.ico", &[("if-none-match", &etag)])
        .await
        .assert_status(StatusCode::NOT_MODIFIED);
    let link = r#"<link rel="icon" href="/favicon.svg" type="image/svg+xml">"#;
    for path in [
        "/",
        "/articles",
        "/book",
        "/portal/sign-in",
        "/office/sign-in",
        "/nowhere",
    ] {
        let page = app.get(path).await;
        let head = page.body.split("</head>").next().unwrap_or_default();
        assert!(head.contains(link), "{path} names no icon");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robots_txt_points_to_the_sitemap_and_keeps_crawlers_out_of_private_pages() {
    let app = TestApp::spawn().await;
    let robots = app.get("/robots.txt").await;
    robots.assert_status(StatusCode::OK);
    let text = &robots.body;
    assert!(
        text.contains(&format!("Sitemap: {}/sitemap.xml", app.base)),
        "{text}"
    );
    let token = "ab".repeat(32);
    for private in [
        "/office".to_owned(),
        "/office/sign-in".to_owned(),
        "/portal".to_owned(),
        "/portal/sign-in".to_owned(),
        format!("/portal/link/{token}"),
        format!("/booking/{token}"),
        format!("/booking/{token}/cancel"),
        format!("/invoice/{token}"),
        format!("/calendar/{token}.ics"),
        "/api/v1/availability".to_owned(),
    ] {
        assert!(
            !robots_allow(text, &private),
            "{private} is open to crawlers:\n{text}"
        );
    }
    for public in public_paths()
        .into_iter()
        .chain(["/book".to_owned(), "/book/times?location=balham".to_owned()])
    {
        assert!(
            robots_allow(text, &public),
            "{public} is closed to crawlers:\n{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_links_and_private_pages_say_noindex_and_are_not_cached() {
    let app = TestApp::spawn().await;
    let token = crate::booking::book(&app, crate::booking::MONDAY_9AM, "robots").await;
    for path in [
        format!("/booking/{token}"),
        format!("/booking/{token}/cancel"),
        format!("/booking/{token}/move"),
        format!("/booking/{token}/calendar.ics"),
        format!("/booking/{}", "cd".repeat(32)),
        format!("/invoice/{}", "ab".repeat(32)),
        "/portal/sign-in".to_owned(),
        "/office/sign-in".to_owned(),
    ] {
        let reply = app.get(&path).await;
        assert!(
            reply.status == StatusCode::OK || reply.status == StatusCode::NOT_FOUND,
            "{path}: {}",
            reply.status
        );
        assert_eq!(reply.header("x-robots-tag"), Some("noindex"), "{path}");
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{path}");
    }
    for path in ["/", "/book", "/articles"] {
        let reply = app.get(path).await;
        reply.assert_status(StatusCode::OK);
        assert_eq!(reply.header("x-robots-tag"), None, "{path} may be indexed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parameter_given_twice_gets_the_sites_own_page_not_the_frameworks_words() {
    let app = TestApp::spawn().await;
    app.sign_in().await;
    let asked = [
        "/articles?page=1&page=2",
        "/book/times?location=balham&location=online",
        "/portal/sign-in?ended=1&ended=1",
    ];
    for path in asked {
        let reply = app.get(path).await;
        check_bad_address(path, &reply);
    }
    let office = app
        .office_get("/office/calendar?date=2027-03-29&date=2027-04-05")
        .await;
    check_bad_address("the office calendar", &office);
    // One of each is fine, and other parameters are ignored.
    app.get("/articles?page=1&utm_source=newsletter")
        .await
        .assert_status(StatusCode::OK);
}

#[track_caller]
fn check_bad_address(what: &str, reply: &Reply) {
    reply.assert_status(StatusCode::BAD_REQUEST);
    assert!(
        reply
            .header("content-type")
            .unwrap_or_default()
            .starts_with("text/html"),
        "{what}: the site's page"
    );
    assert!(
        reply.body.contains("That web address is not quite right"),
        "{what}: {}",
        reply.body
    );
    assert_crisis_block(&reply.body);
    assert!(
        !reply.body.contains("deserialize"),
        "{what}: {}",
        reply.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_are_compressed_when_the_browser_asks() {
    let app = TestApp::spawn().await;
    for encoding in ["gzip", "br"] {
        let response = app
            .client()
            .get(app.url("/"))
            .header("accept-encoding", encoding)
            .send()
            .await
            .expect("GET /");
        assert_eq!(response.status(), StatusCode::OK);
        let content_encoding = response
            .headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok());
        assert_eq!(content_encoding, Some(encoding));
        let bytes = response.bytes().await.expect("body");
        assert!(
            !bytes.starts_with(b"<!doctype"),
            "{encoding}: body was not compressed"
        );
    }
    let plain = app.get("/").await;
    assert_eq!(
        plain.header("content-encoding"),
        None,
        "compressed without being asked"
    );
    assert!(plain.body.starts_with("<!doctype html>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_pages_get_the_sites_own_404_page() {
    let app = TestApp::spawn().await;
    for path in [
        "/no-such-page",
        "/articles/no-such-article",
        "/tags/no-such-tag",
        "/approaches/nope",
        "/articles/Not_A_Slug",
    ] {
        let page = app.get(path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            page.header("content-type")
                .is_some_and(|c| c.starts_with("text/html")),
            "{path}"
        );
        assert!(page.body.contains("Page not found"), "{path}");
        assert!(
            page.body.contains(PRACTICE_NAME),
            "{path}: not in the site's style"
        );
        assert!(
            page.decoded().contains("/assets/theme.css?t=plain"),
            "{path}: not in the site's style"
        );
        assert_crisis_block(&page.body);
        assert_security_headers(&page, path);
        assert!(page.set_cookies().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn impossible_article_list_pages_are_not_found() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/articles?page=1").await.status, StatusCode::OK);
    for query in [
        "page=0",
        "page=abc",
        "page=-1",
        "page=2",
        "page=99999999999",
    ] {
        assert_eq!(
            app.get(&format!("/articles?{query}")).await.status,
            StatusCode::NOT_FOUND,
            "/articles?{query}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drafts_are_not_on_the_public_site() {
    let app = TestApp::spawn().await;
    let page = app.get(&format!("/articles/{DRAFT_SLUG}")).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(!page.body.contains(DRAFT_TITLE));
    assert_eq!(
        app.get(&format!("/tags/{DRAFT_ONLY_TAG}")).await.status,
        StatusCode::NOT_FOUND
    );
    for path in ["/articles", "/tags", "/"] {
        let listing = app.get(path).await;
        assert!(
            !listing.body.contains(DRAFT_TITLE),
            "{path} shows the draft"
        );
        assert!(
            !listing.body.contains(DRAFT_ONLY_TAG),
            "{path} shows the draft's tag"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_form_is_refused_with_413() {
    let app = TestApp::spawn().await;
    let huge = "a".repeat(600 * 1024);
    let form = crate::helpers::enquiry_form(&[("message", huge.as_str())]);
    let page = app.post_form("/contact", &form).await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.body.contains("That was too much to send"));
    assert_crisis_block(&page.body);
    assert!(app.enquiries().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stylesheet_is_cached_for_good_and_revalidates() {
    let app = TestApp::spawn().await;
    let home = app.get("/").await.decoded();
    let href = home
        .split(r#"rel="stylesheet" href=""#)
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("stylesheet link");
    let css = app.get(href).await;
    css.assert_status(StatusCode::OK);
    assert!(
        css.header("content-type")
            .is_some_and(|c| c.starts_with("text/css"))
    );
    assert!(
        css.header("cache-control")
            .is_some_and(|c| c.contains("immutable"))
    );
    let etag = css.header("etag").expect("an ETag").to_owned();
    let again = app
        .get_with(href, &[("if-none-match", etag.as_str())])
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
}

/// "Which kind of therapy might suit me?" says what this practice offers on each question,
/// from its directory settings, and ends at booking a consultation; never a diagnosis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guide_says_what_this_practice_offers_and_ends_at_booking() {
    let app = TestApp::spawn().await;
    let page = app.get("/which-therapy").await;
    page.assert_status(StatusCode::OK);
    assert!(
        page.title()
            .starts_with("Which kind of therapy might suit me? – ")
    );
    let text = page.decoded();
    assert!(text.contains("does not tell you what is wrong"));
    assert!(
        text.trim_end()
            .contains(r#"<a class="button" href="/book">Book a first consultation</a>"#)
    );
    assert!(
        !text.contains("I can work either way"),
        "nothing claimed without settings"
    );
    app.sign_in().await;
    app.office_post(
        "/office/settings/directory",
        &[
            ("accepting", "true"),
            ("help_with", "anxiety"),
            ("approaches", "psychodynamic"),
            ("approaches", "cbt"),
            ("ways", "brief"),
            ("concession_places", "0"),
            ("body", "ukcp"),
            ("number", "DEMO-123"),
        ],
    )
    .await
    .assert_status(StatusCode::SEE_OTHER);
    let text = app.get("/which-therapy").await.decoded();
    assert!(text.contains("I can work either way."), "{text}");
    assert!(
        text.contains("Psychodynamic looks for where difficulties come from."),
        "{text}"
    );
    assert!(text.contains("Cognitive behavioural therapy (CBT) works with what is happening now"));
    assert!(text.contains("I offer brief work"));
    assert!(!text.contains("I offer both"));
}
