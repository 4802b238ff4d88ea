//! The client portal: sign-in links sent by email, the short sessions they start, and
//! changes of email address confirmed from the new address (SECURITY.md R4). Secrets are
//! only ever passed in and stored as SHA-256 hashes.

use async_trait::async_trait;
use domain::{ContactPreference, EmailAddress, PhoneNumber};
use jiff::{SignedDuration, Timestamp};

use crate::{
    Client, ClientId, NewCharge, NewMessage, Planner, PracticeId, Session, SessionId, StoreResult,
};

/// A sign-in link about to be sent.
#[derive(Debug, Clone)]
pub struct NewPortalLink {
    /// SHA-256 of the token in the link.
    pub token_hash: Vec<u8>,
    pub client: ClientId,
    /// SHA-256 of the nonce in the cookie of the browser that asked for the link.
    pub browser_hash: Vec<u8>,
    pub expires_at: Timestamp,
}

/// A stored sign-in link, as far as the portal needs to explain why it does not work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalLink {
    pub client: ClientId,
    pub browser_hash: Vec<u8>,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
}

/// A signed-in portal session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalSession {
    pub practice: PracticeId,
    pub client: ClientId,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
}

/// The contact details a client changes for themselves, straight away. Their name is changed
/// by the practice, and their email address only through a link sent to the new address
/// ([`PortalStore::request_email_change`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnDetails {
    pub phone: Option<PhoneNumber>,
    pub contact_preference: ContactPreference,
    /// Session reminders by email.
    pub reminders: bool,
}

/// A change of email address a client asked for, waiting to be confirmed from the new
/// address.
#[derive(Debug, Clone)]
pub struct NewEmailChange {
    /// SHA-256 of the token in the confirmation link.
    pub token_hash: Vec<u8>,
    pub client: ClientId,
    pub new_email: EmailAddress,
    pub expires_at: Timestamp,
}

/// How many changes of email address (so confirmation emails) one client may ask for
/// within a stretch of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmailChangeLimit {
    pub max: u32,
    pub within: SignedDuration,
}

/// A stored change of email address, as far as its confirmation page needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailChange {
    pub client: ClientId,
    pub new_email: EmailAddress,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// When the link was followed and the address changed.
    pub used_at: Option<Timestamp>,
    /// When a newer request by the same client replaced this one.
    pub replaced_at: Option<Timestamp>,
}

impl EmailChange {
    /// Whether its link still works at `now`.
    pub fn usable(&self, now: Timestamp) -> bool {
        self.used_at.is_none() && self.replaced_at.is_none() && self.expires_at > now
    }
}

/// What following a confirmation link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailChangeOutcome {
    /// The client's address is now `new_email`; `client` is the record as it was before.
    Changed {
        client: Client,
        new_email: EmailAddress,
    },
    /// Another client record of the practice already has `new_email`: nothing was changed,
    /// and the link no longer works.
    Clash {
        client: Client,
        other: ClientId,
        new_email: EmailAddress,
    },
}

/// The messages to queue, in the same transaction, for what following a link did.
pub type EmailChangeNotices<'a> = dyn Fn(&EmailChangeOutcome) -> Vec<NewMessage> + Send + Sync + 'a;

/// Sign-in links, portal sessions, and what a client can do for themselves.
#[async_trait]
pub trait PortalStore: Send + Sync {
    /// The client with this email address (compared without regard to case), preferring
    /// one still in work with the practice, then the most recently added.
    async fn client_by_email(
        &self,
        practice: PracticeId,
        email: &domain::EmailAddress,
    ) -> StoreResult<Option<Client>>;
    /// Store a sign-in link and queue its email, in one transaction (links long expired
    /// are cleared out at the same time).
    async fn create_portal_link(
        &self,
        practice: PracticeId,
        link: &NewPortalLink,
        email: &NewMessage,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// A link by the hash of its token, used or not.
    async fn portal_link(
        &self,
        practice: PracticeId,
        token_hash: &[u8],
    ) -> StoreResult<Option<PortalLink>>;
    /// Use a link and start a session, atomically: only a link that is unused, unexpired at
    /// `now` and asked for by the browser with `browser_hash` works, and only once, however
    /// many try at the same moment. Returns the client signed in, or `None` (nothing changed).
    async fn use_portal_link(
        &self,
        practice: PracticeId,
        token_hash: &[u8],
        browser_hash: &[u8],
        session_hash: &[u8],
        now: Timestamp,
    ) -> StoreResult<Option<ClientId>>;
    /// A portal session by the hash of its token.
    async fn portal_session(&self, token_hash: &[u8]) -> StoreResult<Option<PortalSession>>;
    /// Note activity on a portal session.
    async fn touch_portal_session(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<()>;
    /// End a portal session.
    async fn delete_portal_session(&self, token_hash: &[u8]) -> StoreResult<()>;
    /// The client changes their own contact details (never their name or email address).
    async fn update_own_details(
        &self,
        practice: PracticeId,
        client: ClientId,
        details: &OwnDetails,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Store a change of email address and queue `email` (the confirmation link, to the new
    /// address) in one transaction, replacing any change of this client still waiting.
    /// Refused with `Conflict(ConflictKind::EmailChangeLimit)`, storing and queueing nothing, when the
    /// client has already asked `limit.max` times within `limit.within` of `now`: counted
    /// inside the same transaction, so requests at the same moment cannot pass it together.
    /// `NotFound` for a client of no practice of ours. Old changes are kept (they go with the
    /// client's record), so that the client's export and erasure find their emails.
    async fn request_email_change(
        &self,
        practice: PracticeId,
        change: &NewEmailChange,
        email: &NewMessage,
        limit: EmailChangeLimit,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// A change of email address by the hash of its token, whatever its state.
    async fn email_change(
        &self,
        practice: PracticeId,
        token_hash: &[u8],
    ) -> StoreResult<Option<EmailChange>>;
    /// Follow a confirmation link, atomically: only a change still waiting and unexpired at
    /// `now` works, and only once, however many try at the same moment. If another client
    /// of the practice has the new address by then, nothing changes but the link stops
    /// working, and the stored change reads as it did before (what the client who asked
    /// can see of it never says that the link was followed). The messages `notices` gives
    /// for the outcome are queued in the same transaction. `None`: the link did not work,
    /// and nothing changed.
    async fn confirm_email_change(
        &self,
        practice: PracticeId,
        token_hash: &[u8],
        notices: &EmailChangeNotices<'_>,
        now: Timestamp,
    ) -> StoreResult<Option<EmailChangeOutcome>>;
    /// The client cancels one of their own sessions: in one transaction, check it is theirs,
    /// still scheduled and yet to start at `now` (`Conflict(ConflictKind::NotCancellable)` if not),
    /// record the cancellation with its charge as `TherapyStore::record_outcome` does
    /// (planning the contract again), and queue `messages`.
    #[allow(clippy::too_many_arguments)]
    async fn cancel_own_session(
        &self,
        practice: PracticeId,
        client: ClientId,
        id: SessionId,
        charge: &NewCharge,
        planner: &Planner,
        messages: &[NewMessage],
        now: Timestamp,
    ) -> StoreResult<Session>;
}
