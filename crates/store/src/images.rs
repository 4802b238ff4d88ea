//! The practice's look: its theme and accent colour, and its photos (the therapist's
//! portrait and photos of each room), stored in the database (so a backup or a move takes
//! them along), the photos as the variants the site serves.
//!
//! A photo is named by its `key` (a hash of its variants, made above the store): its
//! addresses change with its content and can be cached for good. Alt text is stored with
//! the photo; the web layer refuses a photo without it.

use async_trait::async_trait;
use domain::{
    Slug,
    look::{Accent, Theme},
};
use jiff::Timestamp;
use serde::Serialize;

use crate::{PracticeId, StoreResult};

/// Room photos kept for each location, at most.
pub const ROOM_PHOTOS_MAX: usize = 6;

/// What a photo shows, and so where it appears.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "location", rename_all = "lowercase")]
pub enum ImageRole {
    /// The therapist (one per practice: a new one replaces the old).
    Portrait,
    /// A room at the location with this slug.
    Room(Slug),
}

/// One stored size and format of a photo.
#[derive(Clone, PartialEq, Eq)]
pub struct ImageVariant {
    pub width: u32,
    pub height: u32,
    /// `webp` or `jpg`.
    pub format: &'static str,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for ImageVariant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}x{}.{} ({} bytes)",
            self.width,
            self.height,
            self.format,
            self.bytes.len()
        )
    }
}

/// A photo to store.
#[derive(Debug, Clone)]
pub struct NewImage {
    pub role: ImageRole,
    pub key: String,
    pub alt: String,
    pub width: u32,
    pub height: u32,
    pub variants: Vec<ImageVariant>,
}

/// A stored photo, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageInfo {
    pub key: String,
    pub role: ImageRole,
    pub alt: String,
    /// The shape (of the widest variant).
    pub width: u32,
    pub height: u32,
    /// The widths stored, narrowest first (each in every format).
    pub widths: Vec<u32>,
    pub added_at: Timestamp,
}

/// The practice's theme, and its accent if it chose one (checked against the theme when
/// chosen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Look {
    pub theme: Theme,
    pub accent: Option<Accent>,
}

impl Look {
    /// The accent in use: the practice's own, or else the theme's.
    pub fn accent_colour(&self) -> domain::look::Colour {
        self.accent
            .map_or_else(|| self.theme.accent(), |a| a.colour())
    }
}

/// Where the practice's look is kept.
#[async_trait]
pub trait LookStore: Send + Sync {
    /// The practice's theme and accent (`NotFound` for no such practice).
    async fn look(&self, practice: PracticeId) -> StoreResult<Look>;
    /// Choose the theme and accent.
    async fn set_look(&self, practice: PracticeId, look: &Look) -> StoreResult<()>;
    /// Store a photo with all its variants in one transaction. A portrait replaces the
    /// practice's portrait; a room photo goes after that location's others.
    /// `Conflict(ConflictKind::TooManyPhotos)` when the location has [`ROOM_PHOTOS_MAX`]
    /// already, `Conflict(ConflictKind::PhotoTwice)` when the practice has this very photo
    /// (the same key), `NotFound` when the location does not exist.
    async fn save_image(
        &self,
        practice: PracticeId,
        image: &NewImage,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Every photo of the practice: the portrait first, then each location's in order.
    async fn images(&self, practice: PracticeId) -> StoreResult<Vec<ImageInfo>>;
    /// The practice's portrait, if it has one.
    async fn portrait(&self, practice: PracticeId) -> StoreResult<Option<ImageInfo>> {
        let images = self.images(practice).await?;
        Ok(images.into_iter().find(|i| i.role == ImageRole::Portrait))
    }
    /// One variant's bytes and media shape, if the practice has it.
    async fn image_variant(
        &self,
        practice: PracticeId,
        key: &str,
        width: u32,
        format: &str,
    ) -> StoreResult<Option<Vec<u8>>>;
    /// Change a photo's alt text (`NotFound` if there is no such photo).
    async fn set_image_alt(&self, practice: PracticeId, key: &str, alt: &str) -> StoreResult<()>;
    /// Remove a photo and every variant of it (`NotFound` if there is no such photo).
    async fn delete_image(&self, practice: PracticeId, key: &str) -> StoreResult<()>;
}

/// A self-hosted practice's portrait as the directory copied it from the practice's own
/// site: re-encoded here like an upload, so nothing of the original file is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotePortrait {
    /// The address it was read from (its listing's `portrait.url`).
    pub source: String,
    /// When it was read.
    pub read_at: Timestamp,
    /// The copy (its role `Portrait`), or why there is none.
    pub image: Result<ImageInfo, String>,
}

/// The copies of self-hosted practices' portraits the directory keeps (deployment state,
/// gone with the remote).
#[async_trait]
pub trait RemotePortraitStore: Send + Sync {
    /// The copy of remote `remote`'s portrait, if one was read (or tried).
    async fn remote_portrait(&self, remote: i64) -> StoreResult<Option<RemotePortrait>>;
    /// Keep what reading `source` gave (the photo, or why there is none), replacing what
    /// was kept before; with `None`, keep nothing. Nothing happens for a remote that is no
    /// longer there.
    async fn set_remote_portrait(
        &self,
        remote: i64,
        portrait: Option<(&str, Result<&NewImage, &str>)>,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Describe the kept copy again (the practice changed its portrait's alt text). Nothing
    /// happens if there is no copy.
    async fn set_remote_portrait_alt(&self, remote: i64, alt: &str) -> StoreResult<()>;
    /// One variant's bytes of the remote's portrait, if it is the one kept.
    async fn remote_portrait_variant(
        &self,
        remote: i64,
        key: &str,
        width: u32,
        format: &str,
    ) -> StoreResult<Option<Vec<u8>>>;
}
