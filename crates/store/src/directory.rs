//! The "find a therapist" directory's storage: what each practice chose to list, and what
//! the deployment's operator found when checking it.

use async_trait::async_trait;
use domain::directory::ListingSettings;
use jiff::{Timestamp, civil::Date};

use crate::{PracticeId, StoreResult};

/// A practice's directory settings with its listing's public id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredListing {
    /// Made when the settings are first saved and kept for the practice's life (the open
    /// data's identifier; it moves with the practice).
    pub id: String,
    pub settings: ListingSettings,
    pub updated_at: Timestamp,
}

/// A registration as the operator found it on the body's public register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationCheck {
    /// A registration body's slug and the number checked.
    pub body: String,
    pub number: String,
    pub checked_on: Date,
    /// The operator who checked it.
    pub by: String,
}

/// A listing the operator took out of the directory, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HiddenListing {
    pub reason: String,
    pub at: Timestamp,
    pub by: String,
}

/// What the operator has recorded about one practice's listing. Deployment state: it
/// stays behind when the practice moves, for the next host to check for themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListingReview {
    pub checked: Option<RegistrationCheck>,
    pub hidden: Option<HiddenListing>,
}

/// A listed practice as the directory reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedPractice {
    pub practice: PracticeId,
    pub listing: StoredListing,
    pub review: ListingReview,
}

#[async_trait]
pub trait DirectoryStore: Send + Sync {
    /// The practice's settings, `None` if it never saved any (so it is not listed).
    async fn listing_settings(&self, practice: PracticeId) -> StoreResult<Option<StoredListing>>;
    /// Save the practice's settings. The first save gives the listing `new_id`; later saves
    /// keep the id it has. Returns what is stored.
    async fn save_listing_settings(
        &self,
        practice: PracticeId,
        settings: &ListingSettings,
        new_id: &str,
        now: Timestamp,
    ) -> StoreResult<StoredListing>;
    /// Every practice whose listing is turned on, with the operator's review, by practice.
    async fn listed_practices(&self) -> StoreResult<Vec<ListedPractice>>;
    /// The operator's review of one practice's listing.
    async fn listing_review(&self, practice: PracticeId) -> StoreResult<ListingReview>;
    /// Record (or with `None`, clear) the operator's check of the registration.
    async fn set_registration_check(
        &self,
        practice: PracticeId,
        check: Option<&RegistrationCheck>,
    ) -> StoreResult<()>;
    /// Hide the listing with a reason (or with `None`, show it again).
    async fn set_listing_hidden(
        &self,
        practice: PracticeId,
        hidden: Option<&HiddenListing>,
    ) -> StoreResult<()>;
}

/// The settings as a backend stores them: JSON text, so that a field added later reads
/// from an older row as its default.
pub fn settings_json(settings: &ListingSettings) -> String {
    serde_json::to_string(settings).unwrap_or_else(|_| "{}".to_owned())
}

/// Settings read back from [`settings_json`]'s text.
pub fn settings_from_json(text: &str) -> StoreResult<ListingSettings> {
    serde_json::from_str(text)
        .map_err(|_| crate::StoreError::Other("stored directory listing is not valid".into()))
}
