//! The practice's look: a designed theme chosen in the back office after a preview, and an
//! accent colour refused when it cannot be read, with the nearest that can.

use reqwest::StatusCode;

use crate::helpers::TestApp;

/// The public stylesheet a page links.
fn stylesheet(body: &str) -> String {
    let start = body
        .find(r#"<link rel="stylesheet" href=""#)
        .expect("a stylesheet")
        + 29;
    let end = body[start..].find('"').unwrap() + start;
    body[start..end].replace("&amp;", "&")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_theme_and_accent_chosen_in_settings_style_every_public_page() {
    let app = TestApp::spawn().await;
    app.sign_in().await;
    let plain = stylesheet(&app.get("/").await.body);
    assert!(
        plain.starts_with("/assets/theme.css?t=plain&a=2f6b4f&v="),
        "{plain}"
    );

    let form = app.office_get("/office/settings/look").await;
    form.assert_status(StatusCode::OK);
    for theme in ["plain", "literary", "warm", "modern"] {
        assert!(form.body.contains(&format!(r#"id="theme-{theme}""#)));
        assert!(
            form.body
                .contains(&format!("/office/settings/look/preview/{theme}"))
        );
    }
    app.office_post(
        "/office/settings/look",
        &[("theme", "warm"), ("accent", "#7A2E4A")],
    )
    .await
    .assert_redirect("/office/settings/look?saved=1");
    for page in ["/", "/about", "/locations", "/faq"] {
        let href = stylesheet(&app.get(page).await.body);
        assert!(
            href.starts_with("/assets/theme.css?t=warm&a=7a2e4a&v="),
            "{page}: {href}"
        );
    }
    let href = stylesheet(&app.get("/").await.body);
    let css = app.get(&href).await;
    css.assert_status(StatusCode::OK);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(
        css.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert!(
        css.body.contains("--rounded:"),
        "the warm theme's own rules"
    );
    assert!(css.body.contains("--accent: #7a2e4a;"));
    assert!(
        css.body
            .contains("@media (prefers-color-scheme: dark) { :root { --accent: #")
    );
    // The back office keeps its own plain stylesheet.
    let office = stylesheet(&app.office_get("/office/settings").await.body);
    assert!(office.starts_with("/assets/site.css?v="), "{office}");

    // Back to a theme's own colour.
    app.office_post(
        "/office/settings/look",
        &[("theme", "modern"), ("accent", "")],
    )
    .await
    .assert_redirect("/office/settings/look?saved=1");
    let href = stylesheet(&app.get("/").await.body);
    assert!(
        href.starts_with("/assets/theme.css?t=modern&a=1f5fbf&v="),
        "{href}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accent_too_light_to_read_is_refused_with_the_nearest_that_passes() {
    let app = TestApp::spawn().await;
    app.sign_in().await;
    let refused = app
        .office_post(
            "/office/settings/look",
            &[("theme", "literary"), ("accent", "#f4a6c0")],
        )
        .await;
    refused.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.title().starts_with("Error:"));
    assert!(refused.body.contains(r##"href="#accent""##));
    let text = refused.decoded();
    let suggestion = text
        .split("The nearest colour that passes is ")
        .nth(1)
        .map(|rest| &rest[..7])
        .expect("a suggestion");
    assert!(suggestion.starts_with('#'), "{suggestion}");
    assert!(
        text.contains(r##"value="#f4a6c0""##),
        "what was typed is kept"
    );
    // Nothing changed; the suggestion is taken.
    assert!(stylesheet(&app.get("/").await.body).contains("t=plain"));
    app.office_post(
        "/office/settings/look",
        &[("theme", "literary"), ("accent", suggestion)],
    )
    .await
    .assert_redirect("/office/settings/look?saved=1");
    assert!(stylesheet(&app.get("/").await.body).contains(&format!(
        "t=literary&a={}",
        suggestion.trim_start_matches('#')
    )));

    for (theme, accent, field) in [("gothic", "", "theme"), ("plain", "green", "accent")] {
        let reply = app
            .office_post(
                "/office/settings/look",
                &[("theme", theme), ("accent", accent)],
            )
            .await;
        reply.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            reply.body.contains(&format!(r##"href="#{field}""##)),
            "{theme} {accent}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_theme_can_be_previewed_before_it_is_chosen() {
    let app = TestApp::spawn().await;
    app.sign_in().await;
    let preview = app
        .office_get("/office/settings/look/preview/literary?accent=%23224f3a")
        .await;
    preview.assert_status(StatusCode::OK);
    assert!(preview.body.contains("A preview of the Literary theme."));
    assert!(stylesheet(&preview.body).starts_with("/assets/theme.css?t=literary&a=224f3a&v="));
    assert_eq!(preview.header("cache-control"), Some("no-store"));
    app.office_get("/office/settings/look/preview/gothic")
        .await
        .assert_status(StatusCode::NOT_FOUND);
    // The public home page is unchanged, and never shows the banner.
    let home = app.get("/").await;
    assert!(!home.body.contains("A preview of"));
    assert!(stylesheet(&home.body).contains("t=plain"));
    // Anyone may ask for a theme's stylesheet, but only in a theme and a colour that passes.
    for bad in [
        "t=gothic&a=2f6b4f",
        "t=plain&a=f4a6c0",
        "t=plain&a=zzzzzz",
        "t=plain&a=abc",
        "t=plain",
    ] {
        app.get(&format!("/assets/theme.css?{bad}"))
            .await
            .assert_status(StatusCode::NOT_FOUND);
    }
}

/// The `og:image` a page names.
fn og_image(body: &str) -> String {
    let start = body
        .find(r#"<meta property="og:image" content=""#)
        .expect("an og:image")
        + 35;
    let end = body[start..].find('"').unwrap() + start;
    body[start..end].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_portrait_a_shared_link_shows_a_card_drawn_in_the_theme() {
    let app = TestApp::spawn().await;
    app.sign_in().await;
    let image = og_image(&app.get("/articles").await.body);
    let path = image
        .strip_prefix(&app.url(""))
        .expect("an address on the site itself")
        .to_owned();
    assert!(path.starts_with("/social-card.png?v="), "{path}");
    let card = app.client().get(app.url(&path)).send().await.unwrap();
    assert_eq!(card.status(), StatusCode::OK);
    assert_eq!(card.headers()["content-type"], "image/png");
    assert!(card.headers().get("set-cookie").is_none());
    let bytes = card.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((width, height), (1200, 630));

    // Another theme: another card, at another address.
    app.office_post(
        "/office/settings/look",
        &[("theme", "literary"), ("accent", "")],
    )
    .await
    .assert_redirect("/office/settings/look?saved=1");
    let again = og_image(&app.get("/articles").await.body);
    assert_ne!(again, image);
    let redrawn = app.client().get(&again).send().await.unwrap();
    assert_eq!(redrawn.status(), StatusCode::OK);
    assert_ne!(redrawn.bytes().await.unwrap(), bytes);
}
