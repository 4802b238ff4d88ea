//! The therapist at work: writing articles, answering enquiries, changing settings.

use reqwest::StatusCode;
use store::{ArticleId, ArticleKind};

use crate::helpers::{PUBLISHED, Reply, TestApp, enquiry_form};

const NEW_SLUG: &str = "coping-with-endings";
const NEW_TAG: &str = "endings";
const NEW_TITLE: &str = "Coping with endings";

/// The article editor's fields, as the form sends them.
fn article_form<'a>(overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("kind", "article"),
        ("title", NEW_TITLE),
        ("slug", NEW_SLUG),
        ("summary", "What happens when therapy comes to an end."),
        (
            "body",
            "Endings are **planned together**.\n\n* look back\n* look ahead",
        ),
        ("tags", "Endings, anxiety"),
        ("date", "2027-03-24"),
        ("published", "true"),
        ("action", "save"),
    ];
    for (name, value) in overrides {
        match form.iter_mut().find(|(k, _)| k == name) {
            Some(field) => field.1 = value,
            None => form.push((name, value)),
        }
    }
    form
}

/// The id in a `/office/articles/{id}/edit?saved=1` redirect.
fn saved_id(reply: &Reply) -> ArticleId {
    assert_eq!(
        reply.status,
        StatusCode::SEE_OTHER,
        "not saved; body:\n{}",
        reply.body
    );
    let location = reply.location().expect("a redirect");
    let id = location
        .strip_prefix("/office/articles/")
        .and_then(|rest| rest.strip_suffix("/edit?saved=1"))
        .unwrap_or_else(|| panic!("unexpected redirect {location}"));
    ArticleId::parse(id).expect("an article id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_article_appears_on_the_site_its_tag_page_and_the_feed() {
    let app = TestApp::spawn().await;
    // Visit first, so the pages are in the cache and must be refreshed.
    for path in ["/articles", "/feed.xml", "/sitemap.xml", "/tags", "/"] {
        app.get(path).await.assert_status(StatusCode::OK);
    }
    app.sign_in().await;
    let form = app.office_get("/office/articles/new").await;
    form.assert_status(StatusCode::OK);
    assert!(
        form.body.contains(r#"value="2027-03-25""#),
        "the date defaults to today"
    );

    let id = saved_id(
        &app.office_post("/office/articles/new", &article_form(&[]))
            .await,
    );
    let saved = app
        .office_get(&format!("/office/articles/{id}/edit?saved=1"))
        .await;
    saved.assert_status(StatusCode::OK);
    assert!(saved.body.contains("Saved."));
    assert!(
        saved
            .body
            .contains(&format!(r#"href="/articles/{NEW_SLUG}""#)),
        "a link to view it"
    );

    let page = app.get(&format!("/articles/{NEW_SLUG}")).await;
    page.assert_status(StatusCode::OK);
    assert!(page.body.contains(&format!("<h1>{NEW_TITLE}</h1>")));
    assert!(
        page.body.contains("<strong>planned together</strong>"),
        "the Markdown is rendered"
    );
    assert!(page.body.contains(&format!(r#"href="/tags/{NEW_TAG}""#)));

    let tag = app.get(&format!("/tags/{NEW_TAG}")).await;
    tag.assert_status(StatusCode::OK);
    assert!(tag.body.contains(NEW_TITLE));
    assert!(app.get("/tags/anxiety").await.body.contains(NEW_TITLE));
    assert!(app.get("/articles").await.body.contains(NEW_TITLE));
    assert!(
        app.get("/tags")
            .await
            .body
            .contains(&format!("/tags/{NEW_TAG}"))
    );
    assert!(
        app.get("/").await.body.contains(NEW_TITLE),
        "the home page lists recent articles"
    );
    let feed = app.get("/feed.xml").await;
    assert!(feed.body.contains(&format!("<title>{NEW_TITLE}</title>")));
    assert_eq!(feed.body.matches("<entry>").count(), PUBLISHED.len() + 1);
    let sitemap = app.get("/sitemap.xml").await.decoded();
    assert!(sitemap.contains(&app.url(&format!("/articles/{NEW_SLUG}"))));
    assert!(sitemap.contains(&app.url(&format!("/tags/{NEW_TAG}"))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_renders_the_markdown_without_saving() {
    let app = TestApp::spawn().await;
    app.sign_in().await;
    let before = app.article_count().await;
    let page = app
        .office_post(
            "/office/articles/new",
            &article_form(&[("action", "preview")]),
        )
        .await;
    page.assert_status(StatusCode::OK);
    assert!(page.body.contains("Preview (not saved yet)"));
    assert!(page.body.contains("<strong>planned together</strong>"));
    assert!(page.body.contains("<li>look back</li>"));
    assert!(
        page.body.contains(&format!(r#"value="{NEW_TITLE}""#)),
        "the form keeps what was typed"
    );
    assert!(
        page.body.contains(" checked"),
        "the published box stays ticked"
    );
    assert_eq!(
        app.article_count().await,
        before,
        "a preview saved something"
    );
    assert_eq!(
        app.get(&format!("/articles/{NEW_SLUG}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_article_shows_messages_at_the_fields_and_keeps_the_text() {
    let app = TestApp::spawn().await;
    app.sign_in().await;
    let before = app.article_count().await;
    let page = app
        .office_post(
            "/office/articles/new",
            &article_form(&[
                ("title", ""),
                ("slug", "Not A Slug"),
                ("date", "2027-02-30"),
            ]),
        )
        .await;
    page.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.title().starts_with("Error: "));
    assert!(page.body.contains("There is a problem"));
    for field in ["title", "slug", "date"] {
        assert!(
            page.body.contains(&format!(r#"id="{field}-error""#)),
            "no message at {field}"
        );
    }
    assert!(
        page.body.contains("Endings are **planned together**"),
        "the typed body was lost"
    );
    assert_eq!(app.article_count().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slug_already_in_use_is_refused_at_the_slug_field() {
    let app = TestApp::spawn().await;
    app.sign_in().await;
    let before = app.article_count().await;
    let (taken, _, _) = PUBLISHED[0];
    let page = app
        .office_post("/office/articles/new", &article_form(&[("slug", taken)]))
        .await;
    page.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains(r#"id="slug-error""#));
    assert!(
        page.body
            .contains("Another page already uses this web address")
    );
    assert!(
        page.body.contains(&format!(r#"value="{NEW_TITLE}""#)),
        "the typed title was lost"
    );
    assert_eq!(app.article_count().await, before);
    let original = app.get(&format!("/articles/{taken}")).await;
    assert!(
        !original.body.contains(NEW_TITLE),
        "the existing article was overwritten"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpublishing_and_deleting_take_an_article_off_the_site() {
    let app = TestApp::spawn().await;
    app.sign_in().await;
    let id = saved_id(
        &app.office_post("/office/articles/new", &article_form(&[]))
            .await,
    );
    let path = format!("/articles/{NEW_SLUG}");
    app.get(&path).await.assert_status(StatusCode::OK);
    app.get("/feed.xml").await.assert_status(StatusCode::OK);

    let edit = app.office_get(&format!("/office/articles/{id}/edit")).await;
    edit.assert_status(StatusCode::OK);
    assert!(
        edit.body.contains(&format!(r#"value="{NEW_SLUG}""#)),
        "the editor is filled in"
    );

    let renamed = article_form(&[("title", "Endings in therapy")]);
    saved_id(
        &app.office_post(&format!("/office/articles/{id}/edit"), &renamed)
            .await,
    );
    assert!(
        app.get(&path).await.body.contains("Endings in therapy"),
        "the cached page was not refreshed"
    );

    let unpublished: Vec<_> = article_form(&[])
        .into_iter()
        .filter(|(k, _)| *k != "published")
        .collect();
    saved_id(
        &app.office_post(&format!("/office/articles/{id}/edit"), &unpublished)
            .await,
    );
    assert_eq!(
        app.get(&path).await.status,
        StatusCode::NOT_FOUND,
        "an unpublished article is still shown"
    );
    assert_eq!(
        app.get(&format!("/tags/{NEW_TAG}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(!app.get("/feed.xml").await.body.contains(NEW_SLUG));
    assert!(
        !app.store
            .article(app.practice, id)
            .await
            .expect("still stored as a draft")
            .published
    );

    let confirm = app
        .office_get(&format!("/office/articles/{id}/delete"))
        .await;
    confirm.assert_status(StatusCode::OK);
    assert!(confirm.body.contains("Yes, delete this page"));
    assert!(
        app.store.article(app.practice, id).await.is_ok(),
        "GET deleted the article"
    );

    app.office_post(&format!("/office/articles/{id}/delete"), &[])
        .await
        .assert_redirect("/office/articles");
    assert!(matches!(
        app.store.article(app.practice, id).await,
        Err(store::StoreError::NotFound)
    ));
    assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND);
    let list = app.office_get("/office/articles").await;
    assert!(!list.body.contains("Endings in therapy"));
    assert_eq!(
        app.office_post(&format!("/office/articles/{id}/delete"), &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approach_page_is_published_under_how_i_work() {
    let app = TestApp::spawn().await;
    app.get("/approaches").await.assert_status(StatusCode::OK);
    app.sign_in().await;
    let form = article_form(&[
        ("kind", "approach"),
        ("slug", "short-term-work"),
        ("title", "Short-term work"),
        ("tags", ""),
    ]);
    saved_id(&app.office_post("/office/articles/new", &form).await);
    app.get("/approaches/short-term-work")
        .await
        .assert_status(StatusCode::OK);
    assert!(
        app.get("/approaches")
            .await
            .body
            .contains("Short-term work")
    );
    assert_eq!(
        app.get("/articles/short-term-work").await.status,
        StatusCode::NOT_FOUND
    );
    let stored = app
        .store
        .published_article(
            app.practice,
            ArticleKind::Approach,
            &domain::Slug::parse("short-term-work").expect("slug"),
        )
        .await;
    assert!(stored.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enquiries_can_be_read_marked_handled_and_deleted() {
    let app = TestApp::spawn().await;
    app.post_form("/contact", &enquiry_form(&[]))
        .await
        .assert_redirect("/contact/thanks");
    let id = app.enquiries().await[0].id;
    app.sign_in().await;

    let inbox = app.office_get("/office/enquiries").await;
    inbox.assert_status(StatusCode::OK);
    assert!(inbox.body.contains("Sam Whitlock"));
    assert!(
        inbox
            .body
            .contains(r#"<span class="tag tag-blue">New</span>"#)
    );

    let enquiry = app.office_get(&format!("/office/enquiries/{id}")).await;
    enquiry.assert_status(StatusCode::OK);
    assert!(enquiry.body.contains("sam.whitlock@example.org"));
    assert!(enquiry.body.contains("I am free on Tuesday evenings"));
    assert_eq!(enquiry.header("cache-control"), Some("no-store"));

    app.office_post(
        &format!("/office/enquiries/{id}/handled"),
        &[("handled", "true")],
    )
    .await
    .assert_redirect("/office/enquiries");
    let handled = app.store.enquiry(app.practice, id).await.expect("enquiry");
    assert_eq!(
        handled.handled_at,
        Some(crate::helpers::START.parse().expect("instant"))
    );
    assert!(
        app.office_get("/office/enquiries")
            .await
            .body
            .contains("Handled")
    );
    assert!(
        app.office_get("/office")
            .await
            .body
            .contains(r#"<span class="stat-number">0</span> enquiries to answer"#)
    );

    app.office_post(
        &format!("/office/enquiries/{id}/handled"),
        &[("handled", "false")],
    )
    .await
    .assert_redirect(&format!("/office/enquiries/{id}"));
    assert!(
        app.store
            .enquiry(app.practice, id)
            .await
            .expect("enquiry")
            .handled_at
            .is_none()
    );

    let confirm = app
        .office_get(&format!("/office/enquiries/{id}/delete"))
        .await;
    confirm.assert_status(StatusCode::OK);
    assert!(
        confirm
            .body
            .contains("Delete the enquiry from Sam Whitlock?")
    );
    assert_eq!(app.enquiries().await.len(), 1, "GET deleted the enquiry");

    app.office_post(&format!("/office/enquiries/{id}/delete"), &[])
        .await
        .assert_redirect("/office/enquiries");
    assert!(app.enquiries().await.is_empty());
    assert!(
        app.office_get("/office/enquiries")
            .await
            .body
            .contains("No enquiries yet.")
    );
    assert_eq!(
        app.office_get(&format!("/office/enquiries/{id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_shows_waiting_messages_without_their_secrets() {
    let app = TestApp::spawn().await;
    app.post_form("/contact", &enquiry_form(&[]))
        .await
        .assert_redirect("/contact/thanks");
    app.sign_in().await;
    let outbox = app.office_get("/office/outbox").await;
    outbox.assert_status(StatusCode::OK);
    assert!(outbox.body.contains("New enquiry from your website"));
    assert!(outbox.body.contains(crate::helpers::NOTIFY_EMAIL));
}

fn practice_form<'a>(overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("name", "Larchwood Therapy Rooms"),
        ("tagline", "Quiet rooms for talking"),
        ("time_zone", "Europe/London"),
        ("notify_email", "new-inbox@example.com"),
        ("public_phone", ""),
        ("intro", "A brand new introduction for the home page."),
        ("how_i_work", "We start with a conversation."),
    ];
    for (name, value) in overrides {
        if let Some(field) = form.iter_mut().find(|(k, _)| k == name) {
            field.1 = value;
        }
    }
    form
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_practice_setting_is_refused_and_keeps_the_other_values() {
    let app = TestApp::spawn().await;
    app.sign_in().await;
    let page = app
        .office_post(
            "/office/settings/practice",
            &practice_form(&[("notify_email", "not an email")]),
        )
        .await;
    page.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.title().starts_with("Error: "));
    assert!(page.body.contains(r#"id="notify_email-error""#));
    assert!(
        page.body.contains(r#"value="Larchwood Therapy Rooms""#),
        "the typed name was lost"
    );
    assert!(
        page.body.contains(r#"value="Quiet rooms for talking""#),
        "the typed tagline was lost"
    );
    assert!(
        page.body.contains(r#"value="not an email""#),
        "the typed email was lost"
    );
    assert!(
        page.body
            .contains("A brand new introduction for the home page."),
        "the typed intro was lost"
    );
    assert!(!page.body.contains(r#"id="name-error""#));

    let practice = app.store.practice(app.practice).await.expect("practice");
    assert_eq!(
        practice.details.name, "Larchwood Psychotherapy",
        "a refused form changed something"
    );
    assert!(!app.get("/").await.body.contains("A brand new introduction"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saving_practice_settings_changes_the_site() {
    let app = TestApp::spawn().await;
    let before = app.get("/").await;
    assert!(before.body.contains("Larchwood Psychotherapy"));
    app.sign_in().await;
    app.office_post("/office/settings/practice", &practice_form(&[]))
        .await
        .assert_redirect("/office/settings/practice?saved=1");
    let saved = app.office_get("/office/settings/practice?saved=1").await;
    assert!(saved.body.contains("Saved."));
    assert!(saved.body.contains(r#"value="new-inbox@example.com""#));

    let home = app.get("/").await;
    home.assert_status(StatusCode::OK);
    assert!(
        home.body
            .contains("A brand new introduction for the home page.")
    );
    assert!(home.body.contains("Larchwood Therapy Rooms"));
    assert!(
        !home.body.contains("Larchwood Psychotherapy"),
        "the old name is still shown"
    );
    assert!(
        app.get("/faq")
            .await
            .body
            .contains("Larchwood Therapy Rooms"),
        "other cached pages kept the old name"
    );
    assert!(
        !home.body.contains("new-inbox@example.com"),
        "the notification address is shown on the site"
    );

    app.post_form("/contact", &enquiry_form(&[]))
        .await
        .assert_redirect("/contact/thanks");
    assert_eq!(
        app.outbox().await[0].to.as_str(),
        "new-inbox@example.com",
        "notifications go to the new address"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faq_edits_show_on_the_faq_page() {
    let app = TestApp::spawn().await;
    app.get("/faq").await.assert_status(StatusCode::OK);
    app.sign_in().await;
    let form = [
        ("a", "Is there parking?"),
        ("b", "Only on the street."),
        ("a", ""),
        ("b", ""),
    ];
    app.office_post("/office/settings/faq", &form)
        .await
        .assert_redirect("/office/settings/faq?saved=1");
    let faq = app.get("/faq").await;
    assert!(faq.body.contains("Is there parking?"));
    assert!(!faq.body.contains("How long is a session?"));
    assert_eq!(app.store.faq(app.practice).await.expect("faq").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_a_draft_puts_it_on_the_site() {
    let app = TestApp::spawn().await;
    let path = format!("/articles/{}", crate::helpers::DRAFT_SLUG);
    assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND);
    app.sign_in().await;
    let list = app.office_get("/office/articles").await;
    assert!(
        list.body.contains(crate::helpers::DRAFT_TITLE),
        "the office lists drafts"
    );
    let id = app.draft_id;
    let edit = app.office_get(&format!("/office/articles/{id}/edit")).await;
    edit.assert_status(StatusCode::OK);
    assert!(
        edit.body
            .contains(&format!(r#"value="{}""#, crate::helpers::DRAFT_SLUG))
    );
    let form = article_form(&[
        ("title", crate::helpers::DRAFT_TITLE),
        ("slug", crate::helpers::DRAFT_SLUG),
        ("tags", crate::helpers::DRAFT_ONLY_TAG),
    ]);
    assert_eq!(
        saved_id(
            &app.office_post(&format!("/office/articles/{id}/edit"), &form)
                .await
        ),
        id
    );
    app.get(&path).await.assert_status(StatusCode::OK);
    app.get(&format!("/tags/{}", crate::helpers::DRAFT_ONLY_TAG))
        .await
        .assert_status(StatusCode::OK);
}
