//! What the operations endpoints ask of the store: is the database there with the schema
//! this build knows, how much mail is waiting and since when, how far behind the timed jobs
//! are, and how busy the connection pools are. Counts and times only, never a record.

use async_trait::async_trait;
use jiff::Timestamp;

use crate::StoreResult;

/// The database's state, read in one go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreHealth {
    /// Migrations applied to the database.
    pub schema: u32,
    /// Migrations this build knows (the two differ while another process migrates, or
    /// when a newer build has migrated the database under this one).
    pub schema_known: u32,
    /// Messages waiting for delivery, of every practice.
    pub outbox_pending: u64,
    /// When the oldest of them was queued.
    pub oldest_pending: Option<Timestamp>,
    /// When the timed jobs of the practice most overdue are next due.
    pub earliest_job_due: Option<Timestamp>,
}

/// One connection pool's use, as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolUse {
    /// Which pool (`read`, `write`, or `all` for a backend with one).
    pub name: &'static str,
    /// Connections open.
    pub open: u32,
    /// Of them, idle.
    pub idle: u32,
    /// The most it may open.
    pub max: u32,
}

/// The store's side of health checks and metrics.
#[async_trait]
pub trait HealthStore: Send + Sync {
    /// Read [`StoreHealth`]: an error means the database could not be reached.
    async fn health(&self) -> StoreResult<StoreHealth>;
    /// The connection pools' use (no database call).
    fn pools(&self) -> Vec<PoolUse>;
}
