//! Which rule a refused write broke, as a closed set of kinds.
//!
//! A conflict used to be named by a string, and the layers above matched strings: a typo, or
//! a rule added in one backend, became a 500 that no compiler noticed. Every backend now
//! reports one of these kinds, and the web layer matches them without a catch-all wherever
//! it decides what a conflict means, so a new kind makes the compiler point at every place
//! that has to decide. The enum is deliberately not `#[non_exhaustive]`.

use std::fmt;

/// Which rule a write broke. One kind per rule; `Unique` only for a uniqueness rule the
/// backend has no kind for (a bug: that rule should get its own kind).
///
/// Every kind must be handled where a conflict is turned into a page:
///
/// ```compile_fail,E0004
/// use anteroom_store::ConflictKind;
///
/// fn page(kind: ConflictKind) -> &'static str {
///     match kind {
///         ConflictKind::SlotUnavailable => "that time has just gone",
///         ConflictKind::AppointmentsOverlap => "that time clashes",
///     }
/// }
/// ```
///
/// Listing them all compiles:
///
/// ```
/// use anteroom_store::ConflictKind;
///
/// fn page(kind: ConflictKind) -> &'static str {
///     match kind {
///         ConflictKind::SlotUnavailable => "that time has just gone",
///         ConflictKind::AppointmentsOverlap => "that time clashes",
///         ConflictKind::ArticleSlug
///         | ConflictKind::LocationSlug
///         | ConflictKind::AppointmentTypeSlug
///         | ConflictKind::UserEmail
///         | ConflictKind::OutboxMessageId
///         | ConflictKind::Unique
///         | ConflictKind::NotCancellable
///         | ConflictKind::SessionInBreak
///         | ConflictKind::ChargeInvoiced
///         | ConflictKind::ChargesChanged
///         | ConflictKind::AlreadyExtended
///         | ConflictKind::AuthenticatorEnabled
///         | ConflictKind::EmailChangeLimit
///         | ConflictKind::HostTaken
///         | ConflictKind::HostKeyChanged
///         | ConflictKind::KeysChanged
///         | ConflictKind::PracticeActive
///         | ConflictKind::PracticeClosing
///         | ConflictKind::TooManyPhotos
///         | ConflictKind::PhotoTwice => "something else",
///     }
/// }
/// assert_eq!(page(ConflictKind::SlotUnavailable), "that time has just gone");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictKind {
    /// An article's slug is already used by another article of the same kind.
    ArticleSlug,
    /// A location's slug is already used by another location of the practice.
    LocationSlug,
    /// An appointment type's slug is already used by another type of the practice.
    AppointmentTypeSlug,
    /// A staff account's email address is already used by another account.
    UserEmail,
    /// An outbox message's `Message-ID` is already used (two random ids collided).
    OutboxMessageId,
    /// A uniqueness rule the backend has no kind for: a bug, logged as one by the web layer.
    Unique,
    /// The slot asked for is no longer free (booked meanwhile, or busy in the calendar).
    SlotUnavailable,
    /// A therapy session would overlap another appointment (a session or a booking).
    AppointmentsOverlap,
    /// The client cannot cancel the session: not theirs to cancel, no longer scheduled, or
    /// already started.
    NotCancellable,
    /// An outcome was recorded for a session that falls in a break.
    SessionInBreak,
    /// An outcome was recorded for a session whose charge is already invoiced.
    ChargeInvoiced,
    /// An invoice was refused: one of its charges was invoiced or waived meanwhile.
    ChargesChanged,
    /// A subject access request was extended a second time.
    AlreadyExtended,
    /// An authenticator was set up while one is already switched on.
    AuthenticatorEnabled,
    /// A client asked to change their email address too many times within the limit's window.
    EmailChangeLimit,
    /// A host name or domain is already another practice's (or the practice already has a
    /// name under the host's domain).
    HostTaken,
    /// The database's practice keys are wrapped with another host key than the one given
    /// (another key file, or the key was rotated meanwhile).
    HostKeyChanged,
    /// A practice's keys changed meanwhile: it took a key of its own already, or a key or
    /// secret to re-wrap is no longer what is stored.
    KeysChanged,
    /// A practice must be suspended first (to be closed), or be closing (to be deleted).
    PracticeActive,
    /// A closing practice cannot be resumed.
    PracticeClosing,
    /// A location has as many photos as it may keep.
    TooManyPhotos,
    /// The practice has this very photo already.
    PhotoTwice,
}

impl ConflictKind {
    /// The rule's name in logs, e.g. `article_slug` (the names the strings used to carry).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ArticleSlug => "article_slug",
            Self::LocationSlug => "location_slug",
            Self::AppointmentTypeSlug => "appointment_type_slug",
            Self::UserEmail => "user_email",
            Self::OutboxMessageId => "outbox_message_id",
            Self::Unique => "unique",
            Self::SlotUnavailable => "slot_unavailable",
            Self::AppointmentsOverlap => "appointments_overlap",
            Self::NotCancellable => "not_cancellable",
            Self::SessionInBreak => "session_in_break",
            Self::ChargeInvoiced => "charge_invoiced",
            Self::ChargesChanged => "charges_changed",
            Self::AlreadyExtended => "already_extended",
            Self::AuthenticatorEnabled => "authenticator_enabled",
            Self::EmailChangeLimit => "email_change_limit",
            Self::HostTaken => "host_taken",
            Self::HostKeyChanged => "host_key_changed",
            Self::KeysChanged => "keys_changed",
            Self::PracticeActive => "practice_active",
            Self::PracticeClosing => "practice_closing",
            Self::TooManyPhotos => "too_many_photos",
            Self::PhotoTwice => "photo_twice",
        }
    }
}

impl fmt::Display for ConflictKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
