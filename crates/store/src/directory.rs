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

/// A self-hosted practice the directory reads from its address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteListing {
    pub id: i64,
    /// Where it is read from: `scheme://host[:port]`, its `/api/v1/listing` read.
    pub address: String,
    pub added_at: Timestamp,
    pub added_by: String,
    /// The last document read that passed the checks (JSON), if any.
    pub document: Option<String>,
    pub etag: Option<String>,
    /// When it last answered with a listing (or "not changed").
    pub heard_at: Option<Timestamp>,
    /// When it was last asked, and what went wrong then, if anything.
    pub tried_at: Option<Timestamp>,
    pub error: Option<String>,
    /// The operator's review: the registration checked, or the listing hidden.
    pub review: ListingReview,
}

/// What one reading of a remote listing found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    /// A new document (checked), with its ETag.
    Listing {
        document: String,
        etag: Option<String>,
    },
    /// The same as last time (304).
    NotModified,
    /// It could not be read, or what it said did not pass the checks.
    Failed(String),
}

/// The directory's self-hosted practices, read over HTTP. Deployment state.
#[async_trait]
pub trait RemoteListingStore: Send + Sync {
    /// Add an address (lower-case `scheme://host[:port]`), due at once. `None` if it is
    /// already there.
    async fn add_remote(&self, address: &str, by: &str, now: Timestamp)
    -> StoreResult<Option<i64>>;
    /// Every remote listing, oldest first.
    async fn remotes(&self) -> StoreResult<Vec<RemoteListing>>;
    /// Take the remotes due to be read at `now`, each due again `every` later: a remote is
    /// taken by one caller (one process) per period.
    async fn claim_remote_fetches(
        &self,
        now: Timestamp,
        every: jiff::SignedDuration,
        limit: u32,
    ) -> StoreResult<Vec<RemoteListing>>;
    /// Record what a reading found.
    async fn record_fetch(
        &self,
        id: i64,
        outcome: &FetchOutcome,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// One remote listing, if it is there.
    async fn remote(&self, id: i64) -> StoreResult<Option<RemoteListing>>;
    /// Record (or, with `None`, withdraw) the operator's check of a remote listing's
    /// registration. False if there is no such remote.
    async fn set_remote_check(
        &self,
        id: i64,
        check: Option<&RegistrationCheck>,
    ) -> StoreResult<bool>;
    /// Hide a remote listing with a reason (or, with `None`, show it again). False if there
    /// is no such remote.
    async fn set_remote_hidden(&self, id: i64, hidden: Option<&HiddenListing>)
    -> StoreResult<bool>;
    /// Stop reading an address (it leaves the directory).
    async fn remove_remote(&self, id: i64) -> StoreResult<()>;
}
