//! Rate-limit counters and staff members' known browsers.
//!
//! A limit is only a promise if it holds when requests arrive together, from many addresses
//! and at several processes. So a counter lives in the database, and a request *reserves*
//! its place in one atomic step before any work is done: two requests can never both see
//! "four so far" and both become the fifth. A request that turns out not to count (a form
//! with mistakes, a slot someone else took) gives its place back with `release`.

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};

use crate::{PracticeId, StoreResult, UserId};

/// One counter: a kind of request (`"enquiry"`, `"sign_in_account"`, …) and a digest of
/// what it is counted for (an address's network, an account, an inbox). The digest keeps
/// addresses and emails out of the counters' table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitKey {
    pub practice: PracticeId,
    pub kind: &'static str,
    pub subject: [u8; 32],
}

/// The rule a counter is held to: at most `max` attempts in a window of `window` that
/// starts at the first attempt. `max` is at least 1 (a rule that refuses everything is a
/// switched-off form, not a limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitRule {
    pub max: u32,
    pub window: SignedDuration,
}

/// What became of a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// Counted: the request may go ahead.
    Counted,
    /// The limit is reached; the window ends at this instant.
    Refused { until: Timestamp },
}

/// Counters for rate limits, and the browsers staff have signed in from.
///
/// Backends must make `reserve` atomic across connections and processes (SQLite: one
/// upsert under its single writer; a server database: one `INSERT … ON CONFLICT DO UPDATE
/// … WHERE count < max`, which takes the row's lock).
#[async_trait]
pub trait LimitStore: Send + Sync {
    /// Count one attempt unless `rule.max` are already counted in the counter's current
    /// window (a window that has ended starts again at `now`).
    async fn reserve(
        &self,
        key: &LimitKey,
        rule: LimitRule,
        now: Timestamp,
    ) -> StoreResult<Reservation>;
    /// Give back one attempt counted in the current window (the request did not count).
    async fn release(&self, key: &LimitKey, now: Timestamp) -> StoreResult<()>;
    /// Forget the counter (failures before a successful sign-in).
    async fn clear_limit(&self, key: &LimitKey) -> StoreResult<()>;
    /// Delete counters whose window ended at or before `now`; how many went.
    async fn forget_ended_limits(&self, now: Timestamp) -> StoreResult<u64>;
    /// Claim the timed jobs of `practices` until `now + every`, in one transaction: the
    /// practices claimed, each by the one process that claims it first in each period
    /// (several processes serve every practice, and its jobs need to run once a period, not
    /// once per process). A claim that has not ended is left as it is.
    async fn claim_jobs(
        &self,
        practices: &[PracticeId],
        now: Timestamp,
        every: SignedDuration,
    ) -> StoreResult<Vec<PracticeId>>;

    /// Remember a browser `user` signed in from with the right password (by the hash of the
    /// token in its cookie).
    async fn remember_device(
        &self,
        user: UserId,
        token_hash: &[u8],
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Forget a browser (its token is being replaced).
    async fn forget_device(&self, token_hash: &[u8]) -> StoreResult<()>;
    /// True when `token_hash` is a browser `user` signed in from.
    async fn known_device(&self, user: UserId, token_hash: &[u8]) -> StoreResult<bool>;
}
