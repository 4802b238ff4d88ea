//! Rows as the layers above see them.

use domain::{
    ContactPreference, EmailAddress, PersonName, PhoneNumber, Slug,
    practice::{Policies, PracticeDetails, PrivacySettings, TherapistProfile},
};
use jiff::{Timestamp, civil::Date};
use serde::Serialize;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            /// Wrap a database id.
            pub const fn new(id: i64) -> Self {
                Self(id)
            }
            /// The database id.
            pub const fn get(self) -> i64 {
                self.0
            }
            /// Parse an id from a URL segment.
            pub fn parse(raw: &str) -> Option<Self> {
                raw.parse::<i64>().ok().filter(|id| *id > 0).map(Self)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

pub(crate) use id_type;

id_type!(/// A practice (the tenant).
    PracticeId);
id_type!(/// An article or approach page.
    ArticleId);
id_type!(/// An enquiry.
    EnquiryId);
id_type!(/// An outbox message.
    MessageId);
id_type!(/// A staff account.
    UserId);
id_type!(/// A booking.
    BookingId);
id_type!(/// A break.
    AwayId);

/// The practice's settings and profile, read together for every public page.
#[derive(Debug, Clone, Serialize)]
pub struct Practice {
    pub id: PracticeId,
    pub details: PracticeDetails,
    pub therapist: TherapistProfile,
    pub policies: Policies,
    pub privacy: PrivacySettings,
}

/// Articles are the blog; approach pages explain each way of working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ArticleKind {
    Article,
    Approach,
}

impl ArticleKind {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Article => "article",
            Self::Approach => "approach",
        }
    }
    /// Parse the stored form.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "article" => Some(Self::Article),
            "approach" => Some(Self::Approach),
            _ => None,
        }
    }
}

/// A full article.
#[derive(Debug, Clone, Serialize)]
pub struct Article {
    pub id: ArticleId,
    pub kind: ArticleKind,
    pub slug: Slug,
    pub title: String,
    pub summary: String,
    pub body: String,
    pub tags: Vec<Slug>,
    pub published: bool,
    pub date: Date,
    pub position: i64,
    pub updated_at: Timestamp,
}

/// An article in a listing.
#[derive(Debug, Clone, Serialize)]
pub struct ArticleSummary {
    pub id: ArticleId,
    pub kind: ArticleKind,
    pub slug: Slug,
    pub title: String,
    pub summary: String,
    pub tags: Vec<Slug>,
    pub published: bool,
    pub date: Date,
    pub reading_minutes: u32,
    pub updated_at: Timestamp,
}

/// A tag and how many published articles carry it.
#[derive(Debug, Clone, Serialize)]
pub struct TagCount {
    pub tag: Slug,
    pub count: u64,
}

/// Which slice of a listing to read.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// 1-based page number.
    pub number: u32,
    /// Items per page.
    pub size: u32,
}

impl Page {
    /// Everything on one page.
    pub const ALL: Page = Page {
        number: 1,
        size: u32::MAX,
    };

    /// Rows to skip.
    pub fn offset(self) -> u64 {
        u64::from(self.number.saturating_sub(1)) * u64::from(self.size)
    }
}

/// A stored enquiry.
#[derive(Debug, Clone, Serialize)]
pub struct Enquiry {
    pub id: EnquiryId,
    pub name: PersonName,
    pub email: EmailAddress,
    pub phone: Option<PhoneNumber>,
    #[serde(serialize_with = "contact_preference")]
    pub contact_preference: ContactPreference,
    pub message: String,
    pub received_at: Timestamp,
    pub handled_at: Option<Timestamp>,
}

fn contact_preference<S: serde::Serializer>(
    value: &ContactPreference,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(value.as_str())
}

/// An email to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// What caused it, e.g. `enquiry_notification` (shown in the back office).
    pub kind: String,
    /// Recipient address.
    pub to: EmailAddress,
    pub subject: String,
    pub body_text: String,
    /// An iCalendar attachment, if any.
    pub calendar: Option<CalendarAttachment>,
}

/// An iCalendar file sent with a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CalendarAttachment {
    /// `REQUEST` or `CANCEL` (also the Content-Type's method parameter).
    pub method: String,
    /// The VCALENDAR text.
    pub ics: String,
}

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    /// Waiting for (another) delivery attempt.
    Pending,
    /// Accepted by the SMTP server.
    Sent,
    /// Given up after repeated failures; can be retried by hand.
    Failed,
}

impl MessageStatus {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }
    /// Parse the stored form.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(Self::Pending),
            "sent" => Some(Self::Sent),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// A message in the outbox.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxMessage {
    pub id: MessageId,
    pub practice: PracticeId,
    /// Stable across retries, so a resent message is recognised as the same one.
    pub message_id: String,
    pub kind: String,
    pub to: EmailAddress,
    pub subject: String,
    pub body_text: String,
    pub calendar: Option<CalendarAttachment>,
    pub status: MessageStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<Timestamp>,
    /// While a delivery worker holds the message (`OutboxStore::claim_due`), until when.
    pub claimed_until: Option<Timestamp>,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
}

/// Numbers on the back-office dashboard.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DashboardCounts {
    pub open_enquiries: u64,
    pub published_articles: u64,
    pub draft_articles: u64,
    pub pending_messages: u64,
    pub failed_messages: u64,
    /// Waiting after at least one failed attempt: the mail server refused or was away.
    pub retrying_messages: u64,
    /// When the oldest of those was queued.
    pub oldest_retrying: Option<Timestamp>,
}

/// A new staff account.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: EmailAddress,
    pub name: PersonName,
    /// An Argon2id PHC string.
    pub password_hash: String,
}

/// A staff account.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: UserId,
    pub practice: PracticeId,
    pub email: EmailAddress,
    pub name: PersonName,
    #[serde(skip)]
    pub password_hash: String,
    /// The practice's owner (its first account): the only one who sets the sign-in rules.
    pub owner: bool,
    /// Signs in with an authenticator app as well as the password.
    pub second_factor: bool,
}

/// How far a sign-in has got. Only [`SessionStage::SignedIn`] opens the back office.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStage {
    /// Password and (where needed) second factor done.
    SignedIn,
    /// The password was right; the code from the authenticator app is still to come.
    CodeNeeded,
    /// The password was right, the practice requires a second factor and this account has
    /// none: it must set up an authenticator app before anything else.
    SetUpNeeded,
}

/// A staff session, with the practice's sign-in rules as they are now.
#[derive(Debug, Clone)]
pub struct StaffSession {
    pub user: UserId,
    pub stage: SessionStage,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub policy: domain::staff::SignInPolicy,
}

/// A staff member's authenticator app: its secret (sealed, opaque to the store) and state.
#[derive(Debug, Clone)]
pub struct Authenticator {
    /// The TOTP secret as the web layer sealed it.
    pub sealed_secret: Vec<u8>,
    /// When it was confirmed with a code and switched on; `None` while set-up is unfinished.
    pub enabled_at: Option<Timestamp>,
    /// The last time step whose code was accepted: that code and every earlier one are spent.
    pub last_step: Option<u64>,
    /// While set-up is unfinished: the hash of the session setting it up.
    pub pending_session: Option<Vec<u8>>,
}

/// A break in local terms and as instants.
#[derive(Debug, Clone, Serialize)]
pub struct AwayPeriod {
    pub id: AwayId,
    pub label: String,
    pub start: Timestamp,
    pub end: Timestamp,
}

/// Time the therapist is already committed, at a location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusyTime {
    pub start: Timestamp,
    pub end: Timestamp,
    pub location: Slug,
}

/// How a write re-checks a slot inside its transaction, just before it commits: the busy
/// times overlapping `[from, to)` are shown to `still_free`, which answers whether the slot
/// may still be taken. The window must hold every appointment that could stand in the
/// slot's way (see `domain::availability::SlotRules::conflict_window`).
pub struct Recheck {
    pub from: Timestamp,
    pub to: Timestamp,
    pub still_free: StillFree,
}

/// Whether a slot may still be taken, given the busy times near it.
pub type StillFree = Box<dyn Fn(&[BusyTime]) -> bool + Send + Sync>;

impl Recheck {
    pub fn new(
        from: Timestamp,
        to: Timestamp,
        still_free: impl Fn(&[BusyTime]) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self {
            from,
            to,
            still_free: Box::new(still_free),
        }
    }

    /// Take the time whatever else is booked nearby (seeding the demo); the database's own
    /// overlap backstop still refuses a clash.
    pub fn accept_any(at: Timestamp) -> Self {
        Self::new(at, at, |_| true)
    }
}

impl std::fmt::Debug for Recheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recheck")
            .field("from", &self.from)
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

/// A booking about to be made.
#[derive(Debug, Clone)]
pub struct NewBooking {
    pub appointment_type: Slug,
    pub location: Slug,
    pub start: Timestamp,
    pub end: Timestamp,
    pub status: domain::booking::BookingStatus,
    pub visitor: domain::booking::VisitorDetails,
    /// SHA-256 of the manage link's token.
    pub manage_token_hash: Vec<u8>,
    /// The iCalendar UID, stable for the booking's life.
    pub uid: String,
    pub hold_expires_at: Option<Timestamp>,
    pub idempotency_key: Option<String>,
}

/// A stored booking.
#[derive(Debug, Clone, Serialize)]
pub struct Booking {
    pub id: BookingId,
    pub appointment_type: Slug,
    pub location: Slug,
    pub start: Timestamp,
    pub end: Timestamp,
    pub status: domain::booking::BookingStatus,
    pub visitor: domain::booking::VisitorDetails,
    pub uid: String,
    /// Bumped on every change, for calendar updates.
    pub sequence: u32,
    pub hold_expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
}
