//! The storage boundary: what Anteroom asks of a database, with no SQL in sight.
//!
//! Each backend (`store-sqlite` now, `store-postgres` for hosted mode later) implements
//! [`Store`] and runs the same conformance stories (the `anteroom-store-conformance` crate) in its tests. Everything above this
//! crate holds an `Arc<dyn Store>` and never knows which database it talks to. Every method
//! that touches a practice's data takes that practice's [`PracticeId`].
//!
//! # Several writers
//!
//! Several processes may write to one database (hosted mode), so a backend may not lean on
//! having the only connection. What each must serialise, and how:
//!
//! - **Invoice numbers** are gapless per practice
//!   ([`TherapyStore::create_invoice`]). The number is taken from the practice's counter
//!   and bumped in the transaction that stores the invoice, and the counter stays locked
//!   until that transaction ends, so a second writer waits and then takes the next number;
//!   a refused invoice rolls its number back. PostgreSQL: `UPDATE practices SET
//!   next_invoice_number = next_invoice_number + 1 WHERE id = $1 RETURNING
//!   next_invoice_number - 1`, whose row lock is that lock (or `SELECT … FOR UPDATE` on
//!   the row first); never a sequence, which leaves gaps on rollback. SQLite: `BEGIN
//!   IMMEDIATE`, the one writer of the file.
//! - **The audit chain** is one chain per practice, starting from [`audit::GENESIS`]
//!   ([`AuditStore::append_audit`]), so a practice's log can be checked, exported and moved
//!   on its own. Reading the practice's last entry and inserting the next one is a critical
//!   section for every writer of that practice, held until commit: the id is assigned
//!   inside it, so the practice's ids follow commit order. PostgreSQL:
//!   `pg_advisory_xact_lock` on the practice's audit key, then the id from the table's
//!   sequence (ids of different practices interleave; each practice's still increase along
//!   its chain). A change that writes its own entry (erasure) appends it last, just before
//!   commit, so the lock is held briefly and after any row locks. SQLite: `BEGIN
//!   IMMEDIATE`, and the id one past the file's highest.
//! - **One therapist in one place at a time**: every held or confirmed consultation and
//!   every session that holds time has one row in one occupancy table, and one rule on
//!   that table refuses two rows of a practice that overlap (PostgreSQL: `EXCLUDE USING
//!   gist (int8range(starts_at, ends_at) WITH &&, practice_id WITH =)`, which also makes a
//!   concurrent overlapping write wait for the first and then fail). The row is written in
//!   the transaction that changes its appointment. A consultation refused by the rule is
//!   `Conflict(ConflictKind::SlotUnavailable)`, a session `AppointmentsOverlap`. The scope
//!   is the practice (one therapist each today); with several therapists it becomes the
//!   therapist.
//! - **Outbox claims and rate limits** take their rows in one statement each (see
//!   [`OutboxStore`] and [`LimitStore`]).
//!
//! The conformance crate has a two-writer story for each, run through two handles on
//! one database.
#![forbid(unsafe_code)]

pub mod audit;
mod conflict;
mod directory;
mod health;
mod hosting;
mod images;
mod limits;
mod measures;
mod model;
pub mod moving;
mod notes;
mod operators;
mod portal;
pub mod rights;
mod therapy;

pub use audit::{Actor, AuditAction, AuditEntry, AuditStore, NewAuditEntry, RecordAccess};
pub use conflict::ConflictKind;
pub use directory::*;
pub use health::*;
pub use hosting::*;
pub use images::*;
pub use limits::*;
pub use measures::*;
pub use model::*;
pub use notes::*;
pub use operators::*;
pub use portal::*;
pub use rights::{
    RecordedDecision, RetentionDecision, RetentionFacts, RightsStore, SubjectAccessId,
    SubjectAccessRequest,
};
pub use therapy::*;

use async_trait::async_trait;
use domain::{
    ArticleDraft, NewEnquiry, Slug,
    practice::{
        AppointmentType, FaqEntry, Location, Policies, PracticeDetails, PracticeSetup,
        PrivacySettings, SocialLink, TherapistProfile,
    },
};
use jiff::{SignedDuration, Timestamp};

/// What can go wrong in storage, in terms the layers above can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for does not exist (or belongs to another practice).
    #[error("not found")]
    NotFound,
    /// A rule was broken (a slug in use, a slot just taken…); the kind says which.
    #[error("conflict: {0}")]
    Conflict(ConflictKind),
    /// The disk holding the database is full: the change was refused whole and nothing
    /// of it was written. Reads still work; writes work again once there is room.
    #[error("the disk holding the database is full; nothing was written")]
    Full,
    /// Anything else: the database is unreachable, corrupt…
    #[error("storage failure: {0}")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Result of a storage call.
pub type StoreResult<T> = Result<T, StoreError>;

/// The practice's own settings and public profile.
#[async_trait]
pub trait PracticeStore: Send + Sync {
    /// Create a practice from a checked setup, all or nothing.
    async fn create_practice(
        &self,
        setup: &PracticeSetup,
        now: Timestamp,
    ) -> StoreResult<PracticeId>;
    /// The first (in single-practice mode, the only) practice.
    async fn first_practice(&self) -> StoreResult<Option<PracticeId>>;
    /// Every practice in the database, oldest first (`anteroom audit verify` checks each
    /// one's chain).
    async fn practice_ids(&self) -> StoreResult<Vec<PracticeId>>;
    /// Details, profile, policies and privacy settings.
    async fn practice(&self, practice: PracticeId) -> StoreResult<Practice>;
    /// Replace the practice details.
    async fn update_details(
        &self,
        practice: PracticeId,
        details: &PracticeDetails,
    ) -> StoreResult<()>;
    /// Replace the therapist's profile.
    async fn update_therapist(
        &self,
        practice: PracticeId,
        profile: &TherapistProfile,
    ) -> StoreResult<()>;
    /// Replace the fees, cancellation and confidentiality texts.
    async fn update_policies(&self, practice: PracticeId, policies: &Policies) -> StoreResult<()>;
    /// Replace the privacy settings.
    async fn update_privacy(
        &self,
        practice: PracticeId,
        privacy: &PrivacySettings,
    ) -> StoreResult<()>;
    /// Locations in display order.
    async fn locations(&self, practice: PracticeId) -> StoreResult<Vec<Location>>;
    /// Add a location (`existing = None`) or replace the one with slug `existing`.
    /// A slug already used by another location is `Conflict(ConflictKind::LocationSlug)`.
    async fn save_location(
        &self,
        practice: PracticeId,
        existing: Option<&Slug>,
        location: &Location,
    ) -> StoreResult<()>;
    /// Remove a location.
    async fn delete_location(&self, practice: PracticeId, slug: &Slug) -> StoreResult<()>;
    /// Appointment types in display order.
    async fn appointment_types(&self, practice: PracticeId) -> StoreResult<Vec<AppointmentType>>;
    /// Replace the appointment type with this slug (it must exist).
    async fn update_appointment_type(
        &self,
        practice: PracticeId,
        kind: &AppointmentType,
    ) -> StoreResult<()>;
    /// Links shown in the footer.
    async fn social_links(&self, practice: PracticeId) -> StoreResult<Vec<SocialLink>>;
    /// Replace all the links at once.
    async fn replace_social_links(
        &self,
        practice: PracticeId,
        links: &[SocialLink],
    ) -> StoreResult<()>;
    /// FAQ entries in order.
    async fn faq(&self, practice: PracticeId) -> StoreResult<Vec<FaqEntry>>;
    /// Replace all FAQ entries at once.
    async fn replace_faq(&self, practice: PracticeId, entries: &[FaqEntry]) -> StoreResult<()>;
}

/// Articles and approach pages.
#[async_trait]
pub trait ArticleStore: Send + Sync {
    /// Add an article; a slug in use for the same kind is `Conflict(ConflictKind::ArticleSlug)`.
    async fn create_article(
        &self,
        practice: PracticeId,
        kind: ArticleKind,
        draft: &ArticleDraft,
        position: i64,
        now: Timestamp,
    ) -> StoreResult<ArticleId>;
    /// Replace an article's content.
    async fn update_article(
        &self,
        practice: PracticeId,
        id: ArticleId,
        draft: &ArticleDraft,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Delete an article.
    async fn delete_article(&self, practice: PracticeId, id: ArticleId) -> StoreResult<()>;
    /// One article by id, published or not.
    async fn article(&self, practice: PracticeId, id: ArticleId) -> StoreResult<Article>;
    /// One published article by slug.
    async fn published_article(
        &self,
        practice: PracticeId,
        kind: ArticleKind,
        slug: &Slug,
    ) -> StoreResult<Article>;
    /// One article of any status by slug (for import).
    async fn article_by_slug(
        &self,
        practice: PracticeId,
        kind: ArticleKind,
        slug: &Slug,
    ) -> StoreResult<Option<Article>>;
    /// A page of published articles, newest first (approaches: by position), and the total count.
    async fn published_articles(
        &self,
        practice: PracticeId,
        kind: ArticleKind,
        page: Page,
    ) -> StoreResult<(Vec<ArticleSummary>, u64)>;
    /// Every article and approach page, drafts included, newest change first.
    async fn all_articles(&self, practice: PracticeId) -> StoreResult<Vec<ArticleSummary>>;
    /// Tags on published articles with how many articles carry each, alphabetical.
    async fn tags(&self, practice: PracticeId) -> StoreResult<Vec<TagCount>>;
    /// Published articles with a tag, newest first.
    async fn articles_tagged(
        &self,
        practice: PracticeId,
        tag: &Slug,
    ) -> StoreResult<Vec<ArticleSummary>>;
    /// Published articles sharing the most tags with this one.
    async fn related_articles(
        &self,
        practice: PracticeId,
        id: ArticleId,
        limit: u32,
    ) -> StoreResult<Vec<ArticleSummary>>;
}

/// Enquiries and the email outbox.
#[async_trait]
pub trait EnquiryStore: Send + Sync {
    /// Store an enquiry and, in the same transaction, the therapist's notification.
    async fn create_enquiry(
        &self,
        practice: PracticeId,
        enquiry: &NewEnquiry,
        notification: &NewMessage,
        now: Timestamp,
    ) -> StoreResult<EnquiryId>;
    /// Enquiries, newest first.
    async fn enquiries(&self, practice: PracticeId) -> StoreResult<Vec<Enquiry>>;
    /// One enquiry.
    async fn enquiry(&self, practice: PracticeId, id: EnquiryId) -> StoreResult<Enquiry>;
    /// Mark an enquiry handled or not.
    async fn set_enquiry_handled(
        &self,
        practice: PracticeId,
        id: EnquiryId,
        handled: bool,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Delete an enquiry for good.
    async fn delete_enquiry(&self, practice: PracticeId, id: EnquiryId) -> StoreResult<()>;
    /// Counts for the dashboard.
    async fn dashboard_counts(&self, practice: PracticeId) -> StoreResult<DashboardCounts>;
}

/// The outbox, read by the delivery workers and the back office.
///
/// Several workers, in several processes, may deliver from one outbox. A worker takes
/// messages with [`claim_due`](Self::claim_due), which hands each to one worker only until
/// its lease ends, and then records the outcome with [`mark_sent`](Self::mark_sent) or
/// [`mark_failed`](Self::mark_failed), which clear the claim. A worker that stops mid-send
/// loses nothing: when its lease ends the message is due again (delivery is at least once,
/// with the same Message-ID).
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Queue a message on its own.
    async fn enqueue(
        &self,
        practice: PracticeId,
        message: &NewMessage,
        now: Timestamp,
    ) -> StoreResult<MessageId>;
    /// The practice's messages, newest first.
    async fn outbox(&self, practice: PracticeId, limit: u32) -> StoreResult<Vec<OutboxMessage>>;
    /// Claim up to `limit` messages due for a delivery attempt (any practice; pending, next
    /// attempt at or before `now`, not under a live claim, and no older message of the
    /// practice to the same address still waiting, so that mail to one address goes in
    /// the order it was queued) until `now + lease`, and return them, oldest first. Atomic: a message claimed here is returned by no other call, in
    /// any process, until the lease ends. SQLite does it in one `BEGIN IMMEDIATE` write; a
    /// server database must lock the rows it picks and skip rows others have locked
    /// (`SELECT … FOR UPDATE SKIP LOCKED` and the `UPDATE` in one transaction), so that two
    /// claimers never both see a message as unclaimed.
    async fn claim_due(
        &self,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>>;
    /// Record a successful delivery, clearing the claim. The mail server takes mail again:
    /// every message waiting after a failed attempt is due now, not at the end of its
    /// backoff.
    async fn mark_sent(&self, id: MessageId, now: Timestamp) -> StoreResult<()>;
    /// Record a failed attempt, clearing the claim; `retry_at = None` gives up.
    async fn mark_failed(
        &self,
        id: MessageId,
        error: &str,
        retry_at: Option<Timestamp>,
    ) -> StoreResult<()>;
    /// Put a message back in the queue now (the "Retry" button).
    async fn retry_message(
        &self,
        practice: PracticeId,
        id: MessageId,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// How many messages wait for delivery (any practice).
    async fn pending_count(&self) -> StoreResult<u64>;
}

/// Staff accounts and their signed-in sessions.
#[async_trait]
pub trait StaffStore: Send + Sync {
    /// Add a staff account; an email in use is `Conflict(ConflictKind::UserEmail)`.
    async fn create_user(
        &self,
        practice: PracticeId,
        user: &NewUser,
        now: Timestamp,
    ) -> StoreResult<UserId>;
    /// Replace a user's password hash, found by email.
    async fn set_password(
        &self,
        email: &domain::EmailAddress,
        password_hash: &str,
    ) -> StoreResult<()>;
    /// A user by email.
    async fn user_by_email(&self, email: &domain::EmailAddress) -> StoreResult<Option<User>>;
    /// Start a session, stored by the hash of its token.
    async fn create_session(
        &self,
        token_hash: &[u8],
        user: UserId,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// The session and its user, if it exists.
    async fn session(&self, token_hash: &[u8]) -> StoreResult<Option<(StaffSession, User)>>;
    /// Note activity on a session.
    async fn touch_session(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<()>;
    /// End a session.
    async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()>;
    /// End every session of a user (after a password reset).
    async fn delete_user_sessions(&self, user: UserId) -> StoreResult<()>;
    /// The practice's staff, by id: `(id, name)` (for the audit log's "who").
    async fn staff_names(&self, practice: PracticeId) -> StoreResult<Vec<(UserId, String)>>;
    /// Start a session at a stage of sign-in (see [`SessionStage`]); `create_session` is
    /// this with [`SessionStage::SignedIn`].
    async fn start_sign_in(
        &self,
        token_hash: &[u8],
        user: UserId,
        stage: SessionStage,
        now: Timestamp,
    ) -> StoreResult<()>;

    /// The practice's sign-in rules.
    async fn sign_in_policy(
        &self,
        practice: PracticeId,
    ) -> StoreResult<domain::staff::SignInPolicy>;
    /// Replace the practice's sign-in rules.
    async fn set_sign_in_policy(
        &self,
        practice: PracticeId,
        policy: &domain::staff::SignInPolicy,
    ) -> StoreResult<()>;

    /// The user's authenticator app, switched on or half set up, if any.
    async fn authenticator(&self, user: UserId) -> StoreResult<Option<Authenticator>>;
    /// Keep a new (sealed) secret while the session `session` (a token hash) confirms it with
    /// a code, replacing an unconfirmed one. `Conflict(ConflictKind::AuthenticatorEnabled)` if one is
    /// already switched on.
    async fn begin_authenticator(
        &self,
        user: UserId,
        sealed_secret: &[u8],
        session: &[u8],
    ) -> StoreResult<()>;
    /// Switch the waiting secret on, spending the `step` whose code confirmed it, and replace
    /// the recovery codes with these hashes, all at once — only if the secret waiting is
    /// still `sealed_secret` and `session` began it; else `NotFound` and nothing changes.
    #[allow(clippy::too_many_arguments)]
    async fn enable_authenticator(
        &self,
        user: UserId,
        sealed_secret: &[u8],
        session: &[u8],
        step: u64,
        recovery_hashes: &[Vec<u8>],
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Spend a time step's code: true if `step` is later than the last one spent (and is now
    /// the last), false for a code already used or older. Atomic, so two requests racing
    /// with the same code cannot both succeed.
    async fn use_authenticator_step(&self, user: UserId, step: u64) -> StoreResult<bool>;
    /// Switch the authenticator app off and forget its secret and recovery codes.
    async fn disable_authenticator(&self, user: UserId) -> StoreResult<()>;
    /// Replace every recovery code with these hashes.
    async fn replace_recovery_codes(
        &self,
        user: UserId,
        hashes: &[Vec<u8>],
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Spend the recovery code with this hash: true once, false ever after (or if unknown).
    async fn use_recovery_code(
        &self,
        user: UserId,
        hash: &[u8],
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// How many recovery codes are still unused.
    async fn recovery_codes_left(&self, user: UserId) -> StoreResult<u32>;
    /// The practice's staff's sealed authenticator secrets, for re-sealing under its key.
    async fn authenticator_secrets(
        &self,
        practice: PracticeId,
    ) -> StoreResult<Vec<(UserId, Vec<u8>)>>;
}

/// Online booking: hours, breaks, rules and bookings.
#[async_trait]
pub trait BookingStore: Send + Sync {
    /// How booking behaves for the practice.
    async fn booking_settings(
        &self,
        practice: PracticeId,
    ) -> StoreResult<domain::booking::BookingSettings>;
    /// Replace the booking settings.
    async fn update_booking_settings(
        &self,
        practice: PracticeId,
        settings: &domain::booking::BookingSettings,
    ) -> StoreResult<()>;
    /// Weekly hours at every location, ordered by location, weekday and start.
    async fn opening_hours(
        &self,
        practice: PracticeId,
    ) -> StoreResult<Vec<domain::practice::OpeningHours>>;
    /// Replace the weekly hours of one location.
    async fn replace_opening_hours(
        &self,
        practice: PracticeId,
        location: &Slug,
        hours: &[domain::practice::OpeningHours],
    ) -> StoreResult<()>;
    /// Breaks, earliest first.
    async fn away_periods(&self, practice: PracticeId) -> StoreResult<Vec<AwayPeriod>>;
    /// Add a break.
    async fn add_away_period(
        &self,
        practice: PracticeId,
        label: &str,
        start: Timestamp,
        end: Timestamp,
    ) -> StoreResult<AwayId>;
    /// Remove a break.
    async fn delete_away_period(&self, practice: PracticeId, id: AwayId) -> StoreResult<()>;
    /// Held and confirmed appointments overlapping `[from, to)`, at any location.
    async fn busy_between(
        &self,
        practice: PracticeId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<BusyTime>>;
    /// Book: in ONE write transaction, read the busy times in the recheck's window, ask
    /// `still_free` whether the slot is still offered, insert the booking and its messages.
    /// A slot no longer free is `Conflict(ConflictKind::SlotUnavailable)`; a reused idempotency key
    /// returns the booking it made the first time. Returns only once the booking is durable;
    /// a backend may commit several bookings together (each re-checked against the others).
    async fn book(
        &self,
        practice: PracticeId,
        booking: &NewBooking,
        messages: &[NewMessage],
        recheck: Recheck,
        now: Timestamp,
    ) -> StoreResult<Booking>;
    /// This practice's booking by the hash of its manage token (another practice's token,
    /// in the same database, finds nothing).
    async fn booking_by_token(
        &self,
        practice: PracticeId,
        token_hash: &[u8],
    ) -> StoreResult<Option<Booking>>;
    /// A booking by id.
    async fn booking(&self, practice: PracticeId, id: BookingId) -> StoreResult<Booking>;
    /// Bookings of any status starting in `[from, to)`, earliest first.
    async fn bookings_between(
        &self,
        practice: PracticeId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<Booking>>;
    /// Move an active booking to another time or location: in one write transaction, ask
    /// the recheck about the new slot (shown the busy times of every OTHER booking), update
    /// it, bump its sequence and queue `messages`. `Conflict(ConflictKind::SlotUnavailable)` if taken.
    #[allow(clippy::too_many_arguments)]
    async fn move_booking(
        &self,
        practice: PracticeId,
        id: BookingId,
        location: &Slug,
        start: Timestamp,
        end: Timestamp,
        messages: &[NewMessage],
        recheck: Recheck,
        now: Timestamp,
    ) -> StoreResult<Booking>;
    /// Set (or with `None`, remove) the hash of the secret in the therapist's calendar feed URL.
    async fn set_calendar_token(
        &self,
        practice: PracticeId,
        token_hash: Option<&[u8]>,
    ) -> StoreResult<()>;
    /// Whether the practice has a calendar feed, and whether `token_hash` is its secret.
    async fn calendar_token_matches(
        &self,
        practice: PracticeId,
        token_hash: &[u8],
    ) -> StoreResult<bool>;
    /// Whether a calendar feed exists.
    async fn has_calendar_token(&self, practice: PracticeId) -> StoreResult<bool>;
    /// Requests whose hold has run out (any practice's clock is the caller's `now`).
    async fn expired_requests(
        &self,
        practice: PracticeId,
        now: Timestamp,
    ) -> StoreResult<Vec<Booking>>;
    /// Confirmed bookings starting in `(now, until]` that have not been reminded yet.
    async fn reminders_due(
        &self,
        practice: PracticeId,
        now: Timestamp,
        until: Timestamp,
    ) -> StoreResult<Vec<Booking>>;
    /// Record that a reminder was sent, queueing it in the same transaction.
    async fn mark_reminded(
        &self,
        practice: PracticeId,
        id: BookingId,
        reminder: &NewMessage,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Change a booking's status (cancel, accept, decline, expire), bumping its ICS sequence,
    /// with messages. A booking that already has that status (changed by another request or
    /// job runner) is `NotFound`: nothing changes and nothing is queued, so two runners
    /// releasing the same request send one notice.
    async fn set_booking_status(
        &self,
        practice: PracticeId,
        id: BookingId,
        status: domain::booking::BookingStatus,
        messages: &[NewMessage],
        now: Timestamp,
    ) -> StoreResult<Booking>;
}

/// Everything Anteroom stores.
pub trait Store:
    PracticeStore
    + ArticleStore
    + EnquiryStore
    + OutboxStore
    + StaffStore
    + BookingStore
    + TherapyStore
    + MeasureStore
    + NoteStore
    + AuditStore
    + RightsStore
    + PortalStore
    + LimitStore
    + HostingStore
    + OperatorStore
    + DirectoryStore
    + RemoteListingStore
    + LookStore
    + RemotePortraitStore
    + moving::MoveStore
    + HealthStore
    + ChangeFeed
{
}

impl<
    T: PracticeStore
        + ArticleStore
        + EnquiryStore
        + OutboxStore
        + StaffStore
        + BookingStore
        + TherapyStore
        + MeasureStore
        + NoteStore
        + AuditStore
        + RightsStore
        + PortalStore
        + LimitStore
        + HostingStore
        + OperatorStore
        + DirectoryStore
        + RemoteListingStore
        + LookStore
        + RemotePortraitStore
        + moving::MoveStore
        + HealthStore
        + ChangeFeed,
> Store for T
{
}
