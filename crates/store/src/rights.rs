//! Data rights (SECURITY.md R16, R17): subject access requests, retention decisions, every
//! row that concerns a client (for the subject-access export) and erasure.
//!
//! A backend finds a client's rows GENERICALLY, from its own schema: the client's row, every
//! table with a `client_id` column, every table that refers by foreign key to a row found so
//! far, the consultation the work came from, and the emails and enquiries that name the
//! client's address. So a table added later is exported, and erased, without anyone
//! remembering to add it here. Secrets are never returned (see [`is_secret_column`]). A
//! table that holds only what the backend derives from other rows (the occupancy of
//! appointments, see the crate docs) is about no one: it is not exported, and it follows
//! its rows through erasure by itself.

use async_trait::async_trait;
use domain::rights::Reason;
use jiff::{Timestamp, civil::Date};
use serde::Serialize;

use domain::PersonName;

use crate::{ClientId, PracticeId, StoreResult};

crate::model::id_type!(/// A subject access request.
    SubjectAccessId);

/// Tables whose rows about a client are kept when the client is erased: the audit log (ids
/// only, append-only), the record of their subject access requests (dates only), and the
/// list of erased ids.
pub const KEPT_AFTER_ERASURE: &[&str] = &["audit_log", "subject_access_requests", "erased_clients"];

/// Whether a column holds a secret that never leaves the database, even to the person it
/// is about: token and password hashes, wrapped keys, secrets. (The audit log's chain
/// hashes are left out by the same rule; they are about the log, not the person.)
pub fn is_secret_column(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.ends_with("hash")
        || name == "wrapped"
        || name.contains("token")
        || name.contains("secret")
        || name.contains("password")
}

/// A request by a client for a copy of what is held about them (UK GDPR art. 15).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubjectAccessRequest {
    pub id: SubjectAccessId,
    pub client: ClientId,
    pub received: Date,
    pub due: Date,
    /// After an extension: the new date, and why.
    pub extended: Option<(Date, String)>,
    pub completed: Option<Date>,
    pub created_at: Timestamp,
}

impl SubjectAccessRequest {
    /// The date the answer is due now (the extended date once extended).
    pub fn due_now(&self) -> Date {
        self.extended.as_ref().map_or(self.due, |(day, _)| *day)
    }
}

/// What the therapist decided about keeping a client's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetentionDecision {
    /// Keep it for now, for this reason; look again on `review_on`.
    Keep { reason: Reason, review_on: Date },
    /// The client asked for erasure, and the therapist refused, for this reason.
    ErasureRefused { reason: Reason },
}

/// A decision as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedDecision {
    pub id: i64,
    pub client: ClientId,
    pub decision: RetentionDecision,
    pub decided_at: Timestamp,
}

/// What the retention review needs to know about one client.
#[derive(Debug, Clone)]
pub struct RetentionFacts {
    pub client: ClientId,
    pub name: PersonName,
    pub created_at: Timestamp,
    /// The start of their latest session of any status (future ones included: a client with
    /// sessions to come is not due for review).
    pub last_session: Option<Timestamp>,
    /// The latest "keep for now": its review date and reason.
    pub kept_until: Option<(Date, String)>,
}

/// One stored value, as the database holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Cell {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// The rows of one table that concern a client.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRows {
    pub table: String,
    /// How the rows were found, in words (e.g. "rows with the client's id").
    pub found_by: String,
    /// Column names, secrets left out.
    pub columns: Vec<String>,
    /// Columns that exist but were left out as secrets.
    pub withheld: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl TableRows {
    /// The value of `column` in `row`.
    pub fn cell<'a>(&'a self, row: &'a [Cell], column: &str) -> Option<&'a Cell> {
        self.columns
            .iter()
            .position(|c| c == column)
            .and_then(|i| row.get(i))
    }
}

/// Subject access requests, retention decisions, the export's rows and erasure.
#[async_trait]
pub trait RightsStore: Send + Sync {
    /// Record a subject access request about one of the practice's clients.
    async fn add_subject_access(
        &self,
        practice: PracticeId,
        client: ClientId,
        received: Date,
        due: Date,
        now: Timestamp,
    ) -> StoreResult<SubjectAccessId>;
    /// Extend an open request (once; a second extension is `Conflict(ConflictKind::AlreadyExtended)`).
    async fn extend_subject_access(
        &self,
        practice: PracticeId,
        id: SubjectAccessId,
        extended_due: Date,
        reason: &Reason,
    ) -> StoreResult<()>;
    /// Mark a request answered on `on` (a request already completed keeps its first date).
    async fn complete_subject_access(
        &self,
        practice: PracticeId,
        id: SubjectAccessId,
        on: Date,
    ) -> StoreResult<()>;
    /// One request.
    async fn subject_access(
        &self,
        practice: PracticeId,
        id: SubjectAccessId,
    ) -> StoreResult<SubjectAccessRequest>;
    /// A client's requests (also after their erasure), newest first.
    async fn subject_access_requests(
        &self,
        practice: PracticeId,
        client: ClientId,
    ) -> StoreResult<Vec<SubjectAccessRequest>>;
    /// Record a decision about one of the practice's clients.
    async fn add_retention_decision(
        &self,
        practice: PracticeId,
        client: ClientId,
        decision: &RetentionDecision,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// A client's decisions, newest first.
    async fn retention_decisions(
        &self,
        practice: PracticeId,
        client: ClientId,
    ) -> StoreResult<Vec<RecordedDecision>>;
    /// For each client of the practice, what the retention review needs.
    async fn retention_facts(&self, practice: PracticeId) -> StoreResult<Vec<RetentionFacts>>;
    /// Every row that concerns one of the practice's clients, table by table (every table
    /// that can hold one is listed, even when empty). Secret columns are left out; notes
    /// come sealed (the caller opens them).
    async fn client_rows(
        &self,
        practice: PracticeId,
        client: ClientId,
    ) -> StoreResult<Vec<TableRows>>;
    /// Erase a client in ONE transaction: their wrapped data key first (crypto-shredding),
    /// then every row found as for [`RightsStore::client_rows`] except those in
    /// [`KEPT_AFTER_ERASURE`]; the consultation they booked keeps its time but loses the
    /// person's details; and `audit` appended to the audit log, so the erasure and its
    /// entry are both stored or neither is. Their id is never given to another client.
    async fn erase_client(
        &self,
        practice: PracticeId,
        client: ClientId,
        audit: &crate::NewAuditEntry,
        now: Timestamp,
    ) -> StoreResult<()>;
}
