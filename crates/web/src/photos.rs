//! The practice's photos on the site: made from uploads a bounded number at a time, shown
//! with `<picture>` (WebP, JPEG for the rest) at the width the layout needs, and served
//! from the database under addresses that change with the content.
//!
//! A photo's address is `/media/{key}-{width}.{webp|jpg}`. The key is a hash of every
//! variant, so an address always means the same bytes: each is cached by browsers for a
//! year (`immutable`), and by this process in [`MediaCache`] until any content changes.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use axum::{
    body::Bytes,
    extract::Path,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use images::{Format, Processed, Refusal};
use serde::Serialize;
use store::{ImageInfo, ImageRole};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{Here, WebError, error::WebResult};

/// Uploads being received or processed at once; more are told to try again shortly. Each
/// holds its body (up to 20 MB) until stored.
const UPLOADS_AT_ONCE: usize = 2;

/// Photos decoded and resized at once: one. A 12-megapixel photo takes about 36 MB while
/// it is worked on; one at a time keeps the server well under 150 MB.
const PROCESSING_AT_ONCE: usize = 1;

/// The bounds on photo work, one per app.
pub(crate) struct Jobs {
    uploads: Arc<Semaphore>,
    processing: Arc<Semaphore>,
}

impl Default for Jobs {
    fn default() -> Self {
        Self {
            uploads: Arc::new(Semaphore::new(UPLOADS_AT_ONCE)),
            processing: Arc::new(Semaphore::new(PROCESSING_AT_ONCE)),
        }
    }
}

/// A place for one upload: hold it while the body is read and the photo processed.
pub(crate) struct UploadSlot(#[allow(dead_code)] OwnedSemaphorePermit);

impl Jobs {
    /// A place for an upload, or `Busy` when two are already under way.
    pub(crate) fn slot(&self) -> WebResult<UploadSlot> {
        Arc::clone(&self.uploads)
            .try_acquire_owned()
            .map(UploadSlot)
            .map_err(|_| WebError::Busy)
    }

    /// Decode, clean and resize an upload, off the async threads, one at a time.
    pub(crate) async fn process(
        &self,
        _slot: &UploadSlot,
        bytes: Vec<u8>,
    ) -> WebResult<Result<Processed, Refusal>> {
        self.run(bytes, images::MAX_PIXELS).await
    }

    /// The same for a photo read from elsewhere (the directory's copy of a self-hosted
    /// practice's portrait), in the same one-at-a-time line as uploads, with at most
    /// `max_pixels`.
    pub(crate) async fn process_read(
        &self,
        bytes: Vec<u8>,
        max_pixels: u64,
    ) -> WebResult<Result<Processed, Refusal>> {
        self.run(bytes, max_pixels).await
    }

    async fn run(&self, bytes: Vec<u8>, max_pixels: u64) -> WebResult<Result<Processed, Refusal>> {
        let _permit = Arc::clone(&self.processing)
            .acquire_owned()
            .await
            .map_err(|_| WebError::Busy)?;
        tokio::task::spawn_blocking(move || images::process_within(&bytes, max_pixels))
            .await
            .map_err(|e| WebError::Internal(anyhow::anyhow!("processing a photo failed: {e}")))
    }
}

/// A processed photo as the store keeps it.
pub fn new_image(role: ImageRole, alt: String, processed: Processed) -> store::NewImage {
    store::NewImage {
        role,
        key: processed.key,
        alt,
        width: processed.width,
        height: processed.height,
        variants: processed
            .variants
            .into_iter()
            .map(|v| store::ImageVariant {
                width: v.width,
                height: v.height,
                format: v.format.extension(),
                bytes: v.bytes,
            })
            .collect(),
    }
}

/// A photo as templates show it (`macros.html`'s `picture`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PhotoView {
    pub key: String,
    pub alt: String,
    pub width: u32,
    pub height: u32,
    /// `srcset` of each format: `/media/k-320.webp 320w, …`.
    pub webp: String,
    pub jpg: String,
    /// The JPEG a browser without `srcset` shows, and the social preview: the widest up to
    /// 1024 pixels.
    pub src: String,
    pub src_width: u32,
    pub src_height: u32,
    /// The location's slug, for a room photo.
    pub location: Option<String>,
}

impl PhotoView {
    pub(crate) fn of(info: &ImageInfo) -> Self {
        Self::under(info, "/media/")
    }

    /// The view with its files under `prefix` (the directory serves a listed practice's
    /// portrait from its own host).
    pub(crate) fn under(info: &ImageInfo, prefix: &str) -> Self {
        let url = |width: u32, format: Format| {
            format!("{prefix}{}-{width}.{}", info.key, format.extension())
        };
        let srcset = |format| {
            info.widths
                .iter()
                .map(|w| format!("{} {w}w", url(*w, format)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let src_width = info
            .widths
            .iter()
            .copied()
            .filter(|w| *w <= 1024)
            .max()
            .or_else(|| info.widths.first().copied())
            .unwrap_or(info.width);
        let src_height = scaled(info.height, info.width, src_width);
        Self {
            key: info.key.clone(),
            alt: info.alt.clone(),
            width: info.width,
            height: info.height,
            webp: srcset(Format::Webp),
            jpg: srcset(Format::Jpeg),
            src: url(src_width, Format::Jpeg),
            src_width,
            src_height,
            location: match &info.role {
                ImageRole::Portrait => None,
                ImageRole::Room(slug) => Some(slug.as_str().to_owned()),
            },
        }
    }
}

fn scaled(height: u32, width: u32, to: u32) -> u32 {
    u32::try_from(
        (u64::from(height) * u64::from(to) + u64::from(width) / 2) / u64::from(width.max(1)),
    )
    .unwrap_or(height)
}

/// The practice's photos for the site: the portrait, and each location's rooms.
#[derive(Debug, Default, Serialize)]
pub(crate) struct SitePhotos {
    pub portrait: Option<PhotoView>,
    pub rooms: HashMap<String, Vec<PhotoView>>,
}

impl SitePhotos {
    pub(crate) fn of(images: &[ImageInfo]) -> Self {
        let mut photos = Self::default();
        for image in images {
            let view = PhotoView::of(image);
            match &image.role {
                ImageRole::Portrait => photos.portrait = Some(view),
                ImageRole::Room(slug) => photos
                    .rooms
                    .entry(slug.as_str().to_owned())
                    .or_default()
                    .push(view),
            }
        }
        photos
    }
}

/// Variants kept in memory per practice, in bytes, at most (the small ones pages show;
/// the widest are read from the database each time).
const MEDIA_CACHE_BYTES: usize = 8 * 1024 * 1024;
/// Largest variant kept in memory.
const MEDIA_CACHE_ONE: usize = 256 * 1024;

/// Photo variants read lately, by file name; dropped with the page cache.
#[derive(Default)]
pub(crate) struct MediaCache {
    files: RwLock<(HashMap<String, Bytes>, usize)>,
}

impl MediaCache {
    fn get(&self, name: &str) -> Option<Bytes> {
        self.files.read().ok()?.0.get(name).cloned()
    }

    fn put(&self, name: &str, bytes: Bytes) {
        if bytes.len() > MEDIA_CACHE_ONE {
            return;
        }
        if let Ok(mut files) = self.files.write() {
            let (map, total) = &mut *files;
            if *total + bytes.len() > MEDIA_CACHE_BYTES {
                map.clear();
                *total = 0;
            }
            *total += bytes.len();
            map.insert(name.to_owned(), bytes);
        }
    }

    pub(crate) fn clear(&self) {
        if let Ok(mut files) = self.files.write() {
            files.0.clear();
            files.1 = 0;
        }
    }
}

/// A photo file's name, `{key}-{width}.{ext}`, read.
pub(crate) fn parse_name(name: &str) -> Option<(&str, u32, Format)> {
    let (stem, extension) = name.rsplit_once('.')?;
    let format = Format::from_extension(extension)?;
    let (key, width) = stem.rsplit_once('-')?;
    let width: u32 = width.parse().ok().filter(|w| (1..=4096).contains(w))?;
    (key.len() == 20 && key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .then_some((key, width, format))
}

/// How long browsers keep a photo: a year, never asking again (its address changes with it).
const MEDIA_MAX_AGE: &str = "public, max-age=31536000, immutable";

/// A variant's bytes as a response, with its type, tag and year-long caching.
pub(crate) fn variant_response(bytes: Bytes, format: Format, key: &str, width: u32) -> Response {
    with_headers(bytes.into_response(), format, &format!("\"{key}-{width}\""))
}

/// `/media/{photo}`: one variant of one of the practice's photos.
pub(crate) async fn media(
    state: Here,
    Path(photo): Path<String>,
    headers: HeaderMap,
) -> WebResult<Response> {
    let (key, width, format) = parse_name(&photo).ok_or(WebError::NotFound)?;
    let etag = format!("\"{key}-{width}\"");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return Ok(with_headers(
            StatusCode::NOT_MODIFIED.into_response(),
            format,
            &etag,
        ));
    }
    let bytes = match state.pages().media.get(&photo) {
        Some(bytes) => bytes,
        None => {
            let generation = state.pages().generation();
            let bytes: Bytes = state
                .store()
                .image_variant(state.practice_id(), key, width, format.extension())
                .await?
                .ok_or(WebError::NotFound)?
                .into();
            if state.pages().generation() == generation {
                state.pages().media.put(&photo, bytes.clone());
            }
            bytes
        }
    };
    Ok(with_headers(bytes.into_response(), format, &etag))
}

fn with_headers(mut response: Response, format: Format, etag: &str) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.media_type()),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(MEDIA_MAX_AGE),
    );
    if let Ok(value) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, value);
    }
    response
}

/// What the social card shows for this practice, and its colours.
pub(crate) struct Card {
    pub name: String,
    pub who: String,
    pub address: String,
    pub look: store::Look,
}

impl Card {
    pub(crate) fn new(practice: &store::Practice, look: store::Look, public_url: &str) -> Self {
        Self {
            name: practice.details.name.clone(),
            who: format!("{}, {}", practice.therapist.name, practice.therapist.title),
            address: public_url
                .split_once("://")
                .map_or(public_url, |(_, rest)| rest)
                .to_owned(),
            look,
        }
    }

    /// The card's address, which changes whenever what it shows does.
    pub(crate) fn href(&self) -> String {
        use sha2::{Digest, Sha256};
        let text = format!(
            "{}\n{}\n{}\n{}\n{}",
            self.name,
            self.who,
            self.address,
            self.look.theme,
            self.look.accent_colour()
        );
        let digest = Sha256::digest(text.as_bytes());
        let version: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        format!("/social-card.png?v={version}")
    }

    fn png(&self) -> Vec<u8> {
        let theme = self.look.theme;
        let rgb = |c: domain::look::Colour| [c.0, c.1, c.2];
        images::card::social_card(
            images::card::CardText {
                name: &self.name,
                who: &self.who,
                address: &self.address,
            },
            images::card::CardColours {
                background: rgb(theme.light_background()),
                text: rgb(theme.text()),
                muted: rgb(theme.muted()),
                accent: rgb(self.look.accent_colour()),
            },
        )
    }
}

/// The practice's card, from its settings.
pub(crate) async fn card_of(state: &Here) -> WebResult<Card> {
    let id = state.practice_id();
    let practice = state.store().practice(id).await?;
    let look = state.store().look(id).await?;
    Ok(Card::new(&practice, look, state.public_url()))
}

/// `/social-card.png`: the picture shown beside a shared link when there is no portrait.
/// Drawn on first request (a few milliseconds, off the async threads) and kept until the
/// practice's content changes; cached by browsers for a day.
pub(crate) async fn social_card(state: Here) -> WebResult<Response> {
    const KEY: &str = "social-card.png";
    let bytes = match state.pages().media.get(KEY) {
        Some(bytes) => bytes,
        None => {
            let generation = state.pages().generation();
            let card = card_of(&state).await?;
            let png: Bytes = tokio::task::spawn_blocking(move || card.png())
                .await
                .map_err(|e| WebError::Internal(anyhow::anyhow!("drawing the card failed: {e}")))?
                .into();
            if state.pages().generation() == generation {
                state.pages().media.put(KEY, png.clone());
            }
            png
        }
    };
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_read_strictly() {
        let key = "0123456789abcdef0123";
        assert_eq!(
            parse_name(&format!("{key}-320.webp")),
            Some((key, 320, Format::Webp))
        );
        assert_eq!(
            parse_name(&format!("{key}-1600.jpg")),
            Some((key, 1600, Format::Jpeg))
        );
        for bad in [
            format!("{key}-320.png"),
            format!("{key}-0.jpg"),
            format!("{key}-99999.jpg"),
            format!("{key}.jpg"),
            format!("{}-320.jpg", key.to_uppercase()),
            "short-320.jpg".to_owned(),
            format!("../{key}-320.jpg"),
        ] {
            assert_eq!(parse_name(&bad), None, "{bad}");
        }
    }

    #[test]
    fn a_view_offers_every_width_in_both_formats() {
        let info = ImageInfo {
            key: "k".repeat(20),
            role: ImageRole::Portrait,
            alt: "Alex".into(),
            width: 1600,
            height: 2000,
            widths: vec![320, 640, 1024, 1600],
            added_at: jiff::Timestamp::UNIX_EPOCH,
        };
        let view = PhotoView::of(&info);
        let k = "k".repeat(20);
        assert_eq!(
            view.webp,
            format!(
                "/media/{k}-320.webp 320w, /media/{k}-640.webp 640w, /media/{k}-1024.webp 1024w, /media/{k}-1600.webp 1600w"
            )
        );
        assert!(view.jpg.starts_with(&format!("/media/{k}-320.jpg 320w")));
        assert_eq!(view.src, format!("/media/{k}-1024.jpg"));
        assert_eq!((view.src_width, view.src_height), (1024, 1280));
    }
}
