//! The client portal: sign-in links sent by email, and the short sessions they start
//! (SECURITY.md R4). Secrets are only ever passed in and stored as SHA-256 hashes.

use async_trait::async_trait;
use jiff::Timestamp;

use crate::{
    Client, ClientId, NewCharge, NewClient, NewMessage, Planner, PracticeId, Session, SessionId,
    StoreResult,
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
    /// The client changes their own contact details, queueing `messages` (a note to the old
    /// address when the address changes) in the same transaction.
    async fn update_own_details(
        &self,
        practice: PracticeId,
        client: ClientId,
        details: &NewClient,
        messages: &[NewMessage],
        now: Timestamp,
    ) -> StoreResult<()>;
    /// The client cancels one of their own sessions: in one transaction, check it is theirs,
    /// still scheduled and yet to start at `now` (`Conflict("not_cancellable")` if not),
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
