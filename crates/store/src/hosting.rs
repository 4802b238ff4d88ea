//! Hosted mode: which practice answers on which host, which practices are suspended, and
//! what the operator may see of each (counts, never client data).

use async_trait::async_trait;
use domain::hosting::{DomainName, PracticeName};
use jiff::Timestamp;

use crate::{NewUser, PracticeId, StoreResult};

/// A host a practice answers on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PracticeHost {
    /// `NAME` under the host's domain (`alex` for `alex.anteroom.example`); one per practice.
    Name(PracticeName),
    /// A domain of the practice's own (`therapy.example.org`).
    Domain(DomainName),
}

impl PracticeHost {
    /// `name` or `domain`, as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Name(_) => "name",
            Self::Domain(_) => "domain",
        }
    }

    /// The name or domain, lowercase.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Name(name) => name.as_str(),
            Self::Domain(domain) => domain.as_str(),
        }
    }
}

/// One host of the directory the resolver reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    pub host: PracticeHost,
    pub practice: PracticeId,
    /// When the practice was suspended, if it is.
    pub suspended_at: Option<Timestamp>,
}

/// What the operator sees of a practice: its name, hosts and state, and how much it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostedPractice {
    pub id: PracticeId,
    /// The practice's name as its site shows it.
    pub name: String,
    pub hosts: Vec<PracticeHost>,
    pub created_at: Timestamp,
    pub suspended_at: Option<Timestamp>,
    /// When closing it began (its key was destroyed then); its rows are about to go.
    pub closing_at: Option<Timestamp>,
    /// Back-office accounts.
    pub staff: u64,
    /// Client records (ended ones included).
    pub clients: u64,
    /// Consultations booked, whatever became of them.
    pub bookings: u64,
}

/// Hosts, suspension and the operator's overview.
#[async_trait]
pub trait HostingStore: Send + Sync {
    /// Create a practice from a checked setup, at `name` under the base domain, with its
    /// first back-office account (its owner): all in one transaction, so a name or email
    /// already taken (`Conflict(HostTaken)`, `Conflict(UserEmail)`) leaves nothing behind.
    async fn create_hosted_practice(
        &self,
        setup: &domain::practice::PracticeSetup,
        name: &PracticeName,
        owner: &NewUser,
        now: Timestamp,
    ) -> StoreResult<PracticeId>;
    /// Give `practice` the host `host`. `Conflict(HostTaken)` when another practice has it,
    /// or, for a name, when the practice already has one.
    async fn add_host(
        &self,
        practice: PracticeId,
        host: &PracticeHost,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Take `host` away from `practice` (`NotFound` if it does not have it).
    async fn remove_host(&self, practice: PracticeId, host: &PracticeHost) -> StoreResult<()>;
    /// Every host of every practice, with whether its practice is suspended: the whole
    /// directory, small enough to hold in memory (one short row per host).
    async fn host_directory(&self) -> StoreResult<Vec<DirectoryEntry>>;
    /// Suspend the practice (`Some(when)`) or resume it (`None`). Its data stays. A closing
    /// practice is not resumed (`Conflict(PracticeClosing)`).
    async fn set_suspended(&self, practice: PracticeId, at: Option<Timestamp>) -> StoreResult<()>;
    /// Begin closing a suspended practice, for good: mark it closing and delete its key, in
    /// one transaction, so that whatever is left of its sealed rows (anywhere) can no longer
    /// be opened. `Conflict(PracticeActive)` if it is not suspended. Asked again of a closing
    /// practice, it changes nothing.
    async fn begin_closing(&self, practice: PracticeId, now: Timestamp) -> StoreResult<()>;
    /// Delete every row of a closing practice, its audit log included, in one transaction.
    /// `Conflict(PracticeActive)` unless [`HostingStore::begin_closing`] came first.
    async fn delete_practice(&self, practice: PracticeId) -> StoreResult<()>;
    /// Every practice with its hosts, state and counts, oldest first.
    async fn hosted_practices(&self) -> StoreResult<Vec<HostedPractice>>;
}

/// What changed in a practice, as far as the caches of the processes serving it care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Its content or settings: every cached page and the booking offer are stale.
    Content,
    /// Its diary (a booking or session made, moved or cancelled): cached availability
    /// answers are stale.
    Diary,
}

/// What a process hears of other processes' changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heard {
    Changed(PracticeId, Change),
    /// The feed was interrupted (a lost connection): anything may have changed meanwhile.
    Missed,
}

/// How a process that caches what it serves learns of changes made by other processes on
/// the same database (hosted mode runs several). A backend for one process at a time
/// (SQLite) has nothing to tell.
#[async_trait]
pub trait ChangeFeed: Send + Sync {
    /// Tell every process that `practice`'s `change` happened (this one hears it too). A
    /// backend announces diary changes itself, from inside the transaction that makes them,
    /// so they are heard as they commit; callers announce content changes.
    async fn announce(&self, practice: PracticeId, change: Change) -> StoreResult<()>;
    /// Call `heard` with every change announced from now on, from a task of the backend's
    /// own, until the store is closed or `heard` returns `false` (its listener has gone).
    /// `false` when there is nothing to follow (a backend used by one process at a time).
    async fn follow(&self, heard: Box<dyn Fn(Heard) -> bool + Send + Sync>) -> StoreResult<bool>;
}
