//! The demo practice's portrait and room photos: drawn by code (`images::draw`), so the demo
//! ships no photograph and no one's likeness, and put through the same processing as an
//! upload.

use anyhow::Context;
use domain::Slug;
use jiff::Timestamp;
use store::{ImageRole, PracticeId, Store};

/// The demo's pictures: what each shows, and its alt text.
fn pictures() -> anyhow::Result<Vec<(ImageRole, images::RgbImage, &'static str)>> {
    let room = |slug: &str| Slug::parse(slug).map(ImageRole::Room);
    Ok(vec![
        (
            ImageRole::Portrait,
            images::draw::portrait(),
            "Drawing of Tamsin Adeyemi-Holt: short dark hair, a warm smile and a blue \
             jumper, against a pale green wall",
        ),
        (
            room("balham")?,
            images::draw::room(0),
            "Drawing of the Balham room: two green armchairs facing each other across a \
             small table, a tall window and a plant",
        ),
        (
            room("chancery-lane")?,
            images::draw::room(1),
            "Drawing of the Chancery Lane room: two rust-red armchairs, a window with \
             daylight and a picture on the wall",
        ),
    ])
}

/// Store the demo's portrait and room photos.
pub async fn seed(store: &dyn Store, practice: PracticeId, now: Timestamp) -> anyhow::Result<()> {
    for (role, picture, alt) in pictures()? {
        let processed =
            tokio::task::spawn_blocking(move || images::process(&images::png(&picture)))
                .await?
                .context("a demo picture did not process")?;
        store
            .save_image(
                practice,
                &web::new_image(role, alt.to_owned(), processed),
                now,
            )
            .await?;
    }
    Ok(())
}
