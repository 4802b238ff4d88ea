//! The therapist's portrait and room photos: uploaded in the back office, cleaned of
//! everything but their pixels, shown with `<picture>`, served under addresses that change
//! with the content.

use images::testing::{HOME, contains, phone_jpeg, picture, telltales};
use reqwest::StatusCode;

use crate::helpers::{Reply, TestApp};

const BOUNDARY: &str = "----AnteroomTestBoundary7MA4YWxk";

/// A `multipart/form-data` body as a browser sends the upload form.
fn form(photo: &[u8], filename: &str, alt: &str) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"{filename}\"\r\nContent-Type: image/jpeg\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(photo);
    body.extend_from_slice(
        format!(
            "\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"alt\"\r\n\r\n{alt}\r\n--{BOUNDARY}--\r\n"
        )
        .as_bytes(),
    );
    body
}

async fn upload(app: &TestApp, path: &str, photo: &[u8], alt: &str) -> Reply {
    app.office_post_body(
        path,
        &format!("multipart/form-data; boundary={BOUNDARY}"),
        form(photo, "IMG_2041.jpg", alt),
    )
    .await
}

/// Every address in the `srcset`s and `src`s of a page's pictures.
fn photo_urls(body: &str) -> Vec<String> {
    crate::helpers::addresses_under(body, "/media/")
}

const PORTRAIT_ALT: &str = "Sam Carter smiling, in a blue jumper";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gps_tagged_portrait_is_shown_with_no_location_in_any_served_byte() {
    let app = TestApp::spawn().await;
    app.sign_in().await;
    let photo = phone_jpeg(&picture(1800, 2400), &HOME);
    assert!(contains(&photo, b"GPS") || contains(&photo, b"Exif"));
    upload(
        &app,
        "/office/settings/photos/portrait",
        &photo,
        PORTRAIT_ALT,
    )
    .await
    .assert_redirect("/office/settings/photos?saved=1");

    let home = app.get("/").await;
    home.assert_status(StatusCode::OK);
    assert!(home.body.contains("<picture>"), "{}", home.body);
    assert!(home.body.contains(r#"<source type="image/webp""#));
    assert!(home.decoded().contains(&format!(r#"alt="{PORTRAIT_ALT}""#)));
    assert!(home.body.contains(r#"fetchpriority="high""#));
    assert!(
        home.body.contains(r#"width="1024" height="1365""#),
        "the fallback's own size, so nothing shifts"
    );
    assert!(
        home.body
            .contains(r#"<meta property="og:image" content="http"#)
    );
    let urls = photo_urls(&home.body);
    // Four widths (320, 640, 1024, 1600) in two formats.
    assert_eq!(urls.len(), 8, "{urls:?}");
    for url in &urls {
        let response = app.client().get(app.url(url)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        let headers = response.headers().clone();
        let kind = if url.ends_with(".webp") {
            "image/webp"
        } else {
            "image/jpeg"
        };
        assert_eq!(headers["content-type"], kind);
        assert_eq!(
            headers["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert!(headers.get("set-cookie").is_none());
        let bytes = response.bytes().await.unwrap();
        for needle in telltales() {
            assert!(
                !contains(&bytes, &needle),
                "{url} carries {:?}",
                String::from_utf8_lossy(&needle)
            );
        }
        // Asked again with its tag: not sent again.
        let etag = headers["etag"].to_str().unwrap();
        let again = app.get_with(url, &[("if-none-match", etag)]).await;
        again.assert_status(StatusCode::NOT_MODIFIED);
    }
    // The About page shows it too.
    assert!(app.get("/about").await.body.contains("<picture>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_upload_is_refused_at_its_field_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    app.sign_in().await;
    let path = "/office/settings/photos/portrait";
    let photo = phone_jpeg(&picture(600, 800), &HOME);

    let no_alt = upload(&app, path, &photo, "  ").await;
    no_alt.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_alt.title().starts_with("Error:"));
    assert!(no_alt.body.contains(r##"href="#alt""##));
    assert!(
        no_alt
            .body
            .contains("Describe the photo, so people who cannot see it")
    );
    assert!(no_alt.body.contains("Choose the photo again"));

    let file_name = upload(&app, path, &photo, "IMG_2041.JPG").await;
    file_name.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(file_name.body.contains("not its file name"));

    let gif = upload(&app, path, b"GIF89a\x01\0\x01\0\0\0\0;", PORTRAIT_ALT).await;
    gif.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(gif.body.contains(r##"href="#photo""##));
    assert!(gif.body.contains("must be a JPEG, PNG or WebP"));
    assert!(
        gif.decoded().contains(PORTRAIT_ALT),
        "the description is kept"
    );

    let mut heic = vec![0, 0, 0, 24];
    heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
    let heic = upload(&app, path, &heic, PORTRAIT_ALT).await;
    heic.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(heic.body.contains("HEIC photos cannot be read here yet"));

    let nothing = upload(&app, path, b"", PORTRAIT_ALT).await;
    nothing.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(nothing.body.contains("Choose a photo to upload"));

    let mut truncated = photo.clone();
    truncated.truncate(600);
    truncated.extend(std::iter::repeat_n(0x5a, 2000));
    let broken = upload(&app, path, &truncated, PORTRAIT_ALT).await;
    broken.assert_status(StatusCode::UNPROCESSABLE_ENTITY);

    let huge = upload(
        &app,
        path,
        &vec![0xff; images::MAX_UPLOAD_BYTES + 1],
        PORTRAIT_ALT,
    )
    .await;
    assert!(
        huge.status == StatusCode::UNPROCESSABLE_ENTITY
            || huge.status == StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        huge.status
    );
    if huge.status == StatusCode::UNPROCESSABLE_ENTITY {
        assert!(huge.body.contains("larger than 20 MB"));
    }

    assert!(app.store.images(app.practice).await.unwrap().is_empty());
    assert!(!app.get("/").await.body.contains("<picture>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_photos_show_on_the_location_page_and_can_be_described_again_and_removed() {
    let app = TestApp::spawn().await;
    app.sign_in().await;
    let path = "/office/settings/photos/rooms/balham";
    for n in 0..6u32 {
        upload(
            &app,
            path,
            &phone_jpeg(&picture(1200, 800 + n), &HOME),
            &format!("The Balham room, view {n}"),
        )
        .await
        .assert_redirect("/office/settings/photos?saved=1");
    }
    let seventh = upload(
        &app,
        path,
        &phone_jpeg(&picture(1200, 900), &HOME),
        "One more",
    )
    .await;
    seventh.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(seventh.body.contains("six photos already"));
    let again = upload(
        &app,
        "/office/settings/photos/portrait",
        &phone_jpeg(&picture(1000, 800), &HOME),
        "Again",
    )
    .await;
    again.assert_redirect("/office/settings/photos?saved=1");
    // The same photo again as a new portrait replaces it; as a room photo it is refused.
    let twice = upload(
        &app,
        "/office/settings/photos/rooms/online",
        &phone_jpeg(&picture(1000, 800), &HOME),
        "Again",
    )
    .await;
    twice.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(twice.body.contains("on your site already"));
    upload(
        &app,
        "/office/settings/photos/rooms/nowhere",
        &phone_jpeg(&picture(400, 300), &HOME),
        "x",
    )
    .await
    .assert_status(StatusCode::NOT_FOUND);

    let page = app.get("/locations").await;
    assert_eq!(page.body.matches("<picture>").count(), 6);
    assert_eq!(
        page.body.matches(r#"loading="lazy""#).count(),
        5,
        "all but the first photo wait until scrolled to"
    );
    assert!(page.body.contains("The Balham room, view 0"));

    let office = app.office_get("/office/settings/photos").await;
    office.assert_status(StatusCode::OK);
    assert!(office.body.contains("the most a room can have"));
    let images = app.store.images(app.practice).await.unwrap();
    let first = images
        .iter()
        .find(|i| i.alt == "The Balham room, view 0")
        .unwrap();
    let edit = format!("/office/settings/photos/{}", first.key);
    app.office_get(&edit).await.assert_status(StatusCode::OK);
    let empty = app.office_post(&edit, &[("alt", "")]).await;
    empty.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    app.office_post(&edit, &[("alt", "Two armchairs by a tall window")])
        .await
        .assert_redirect("/office/settings/photos?saved=1");
    assert!(
        app.get("/locations")
            .await
            .body
            .contains("Two armchairs by a tall window")
    );

    let served = format!("/media/{}-320.jpg", first.key);
    app.get(&served).await.assert_status(StatusCode::OK);
    app.office_post(&format!("{edit}/delete"), &[])
        .await
        .assert_redirect("/office/settings/photos?saved=1");
    app.get(&served).await.assert_status(StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/locations")
            .await
            .body
            .matches("<picture>")
            .count(),
        5
    );

    // Another practice's photo is not this one's to serve, change or remove.
    let other = app.second_practice().await;
    other
        .get(&served)
        .await
        .assert_status(StatusCode::NOT_FOUND);
    let second = &images[2].key;
    other
        .get(&format!("/media/{second}-320.jpg"))
        .await
        .assert_status(StatusCode::NOT_FOUND);
}
