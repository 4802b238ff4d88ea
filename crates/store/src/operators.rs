//! The operator console's accounts, and the links that let a practice's staff set a password.
//!
//! Operators run a hosted deployment: they create, suspend, export and close practices, and
//! never see client data. Their accounts belong to no practice. Each signs in with a
//! password and an authenticator app, always: a session begins at
//! [`SessionStage::SetUpNeeded`] until the app is set up, then at
//! [`SessionStage::CodeNeeded`] at every sign-in.
//!
//! A password link is how a practice's therapist gets in: the operator creates the practice
//! and its first account without a password anyone knows, and the link, emailed to the
//! account's address, sets one. The operator never sees it (it is sealed in the outbox, as
//! the portal's links are). Only the newest link of an account works, once, until it ends.

use async_trait::async_trait;
use domain::EmailAddress;
use jiff::Timestamp;
use serde::Serialize;

use crate::{
    LimitRule, MessageId, NewMessage, NewUser, PracticeId, Reservation, SessionStage, StoreResult,
    UserId, model::id_type,
};

id_type!(/// An operator account (hosted mode's console).
    OperatorId);

/// An operator account.
#[derive(Debug, Clone)]
pub struct Operator {
    pub id: OperatorId,
    pub email: EmailAddress,
    pub name: String,
    pub password_hash: String,
    /// The authenticator app's secret as the web layer sealed it; `None` until it is set up.
    pub sealed_secret: Option<Vec<u8>>,
    pub created_at: Timestamp,
}

/// An operator's session (stored by the hash of its token).
#[derive(Debug, Clone)]
pub struct OperatorSession {
    pub operator: OperatorId,
    pub stage: SessionStage,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// A secret being set up during this session (sealed), until a code confirms it.
    pub pending_secret: Option<Vec<u8>>,
}

/// A practice's staff account as the operator sees it (never a client).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaffAccount {
    pub id: UserId,
    pub email: EmailAddress,
    pub name: String,
    pub owner: bool,
    /// When the newest unused password link ends, if there is one.
    pub link_until: Option<Timestamp>,
}

/// Operator accounts and sessions, host-wide rate limits, and staff password links.
#[async_trait]
pub trait OperatorStore: Send + Sync {
    /// Add an operator; an operator with this email already is `Conflict(UserEmail)`.
    async fn create_operator(&self, operator: &NewUser, now: Timestamp) -> StoreResult<OperatorId>;
    /// Every operator, oldest first.
    async fn operators(&self) -> StoreResult<Vec<Operator>>;
    /// The operator with this email.
    async fn operator_by_email(&self, email: &EmailAddress) -> StoreResult<Option<Operator>>;
    /// Replace an operator's password hash and end their sessions (`NotFound` if none).
    async fn set_operator_password(
        &self,
        email: &EmailAddress,
        password_hash: &str,
    ) -> StoreResult<()>;
    /// Forget an operator's authenticator app (lost phone) and end their sessions: they set
    /// up a new one at their next sign-in. `NotFound` if there is no such operator.
    async fn reset_operator_authenticator(&self, email: &EmailAddress) -> StoreResult<()>;

    /// Start a session at `stage`.
    async fn start_operator_session(
        &self,
        token_hash: &[u8],
        operator: OperatorId,
        stage: SessionStage,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// The session and its operator, if it exists.
    async fn operator_session(
        &self,
        token_hash: &[u8],
    ) -> StoreResult<Option<(OperatorSession, Operator)>>;
    /// Note activity on a session.
    async fn touch_operator_session(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<()>;
    /// Keep the (sealed) secret being set up in this session (`NotFound` if it has ended).
    async fn set_pending_secret(&self, token_hash: &[u8], sealed_secret: &[u8]) -> StoreResult<()>;
    /// End a session.
    async fn delete_operator_session(&self, token_hash: &[u8]) -> StoreResult<()>;
    /// Switch on the authenticator app whose code confirmed it, spending that code's `step`:
    /// only if the operator has none yet (`Conflict(AuthenticatorEnabled)` otherwise, and
    /// nothing changes), so two set-ups racing cannot both win.
    async fn enable_operator_authenticator(
        &self,
        operator: OperatorId,
        sealed_secret: &[u8],
        step: u64,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Spend a code's time step: true if `step` is later than the last one spent (and is now
    /// the last), false for a code used already or older. Atomic.
    async fn use_operator_step(&self, operator: OperatorId, step: u64) -> StoreResult<bool>;

    /// Count one attempt against a counter of the whole deployment (the console's sign-in
    /// limits, which belong to no practice): as [`crate::LimitStore::reserve`].
    async fn reserve_host_limit(
        &self,
        kind: &'static str,
        subject: &[u8; 32],
        rule: LimitRule,
        now: Timestamp,
    ) -> StoreResult<Reservation>;
    /// Forget a host-wide counter (after a successful sign-in).
    async fn clear_host_limit(&self, kind: &'static str, subject: &[u8; 32]) -> StoreResult<()>;

    /// The practice's staff accounts, oldest first, each with its live password link's end.
    async fn staff_accounts(
        &self,
        practice: PracticeId,
        now: Timestamp,
    ) -> StoreResult<Vec<StaffAccount>>;
    /// Give `user` (of `practice`) a new password link, ending until `expires_at`, replacing
    /// any earlier one, and queue `message` (the email carrying it) in the same transaction.
    /// `NotFound` if the user is not the practice's.
    async fn create_password_link(
        &self,
        practice: PracticeId,
        user: UserId,
        token_hash: &[u8],
        expires_at: Timestamp,
        message: &NewMessage,
        now: Timestamp,
    ) -> StoreResult<MessageId>;
    /// The account a live link of `practice` opens, if the link is live.
    async fn password_link(
        &self,
        practice: PracticeId,
        token_hash: &[u8],
        now: Timestamp,
    ) -> StoreResult<Option<(UserId, EmailAddress)>>;
    /// Use a live link, once: in one transaction, delete it, set its account's password and
    /// end the account's sessions. `None` (and nothing changes) if the link is not live —
    /// used already, replaced, ended, or another practice's.
    async fn use_password_link(
        &self,
        practice: PracticeId,
        token_hash: &[u8],
        password_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<UserId>>;
}
