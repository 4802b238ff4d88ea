//! Data rights (SECURITY.md R16, R17): subject access requests, retention decisions, every
//! row that concerns a client (for the subject-access export) and erasure.
//!
//! Each backend DESCRIBES which of its tables hold a client's rows: for each, the kind of
//! [`Record`] it holds, how its rows link to the client, and every column with its [`Kind`]
//! (secrets included, marked so they are never returned). Export and erasure are driven by
//! that description, and the backend's tests check it against its schema, so a table or a
//! column added later cannot escape export or erasure unnoticed. What comes back is typed
//! ([`Value`]: an instant is an instant, not the integer SQLite keeps), so every backend
//! gives the same export for the same data; callers never see a table name. A table that
//! holds only what the backend derives from other rows (the occupancy of appointments) is
//! about no one: it is not described, and it follows its rows through erasure by itself.

use async_trait::async_trait;
use domain::rights::Reason;
use jiff::{Timestamp, civil::Date};
use serde::Serialize;

use domain::PersonName;

use crate::{ClientId, PracticeId, StoreResult};

crate::model::id_type!(/// A subject access request.
    SubjectAccessId);

/// Whether a column's name says it holds a secret (token and password hashes, wrapped keys,
/// secrets). Backends check their descriptions against it in their tests: such a column
/// must be [`Kind::Secret`]. (The audit log's chain hashes count too; they are about the
/// log, not the person.)
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
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// What kind of record a set of a client's rows is. Every backend returns its rows under
/// these kinds, each with the same columns and the same typed values, so the export reads
/// the same whichever database holds them. A new kind of record about clients is added
/// here first; the compiler then finds each place (the export's headings) that must decide
/// how to show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Record {
    /// The client's own record.
    Client,
    /// The consultation they booked, and bookings made with their address.
    Consultation,
    Contract,
    ContractVersion,
    Session,
    Charge,
    Invoice,
    InvoiceLine,
    /// The therapist's notes (sealed; see [`Kind::Note`]).
    Note,
    /// The questionnaires (measures) their contract asks for, and when.
    MeasurePlan,
    /// Each questionnaire asked for or answered, with the answers.
    Questionnaire,
    /// That they asked not to be sent questionnaires.
    MeasureStop,
    /// When their data key was made (the wrapped key itself is a secret).
    DataKey,
    BreakNotice,
    PortalLink,
    PortalSession,
    EmailChange,
    /// Emails to them, the practice's notices naming them, and links sent to confirm a new
    /// address.
    Email,
    /// Contact-form messages sent from their address.
    Enquiry,
    AuditEntry,
    SubjectAccessRequest,
    RetentionDecision,
    /// That they were erased (only after erasure).
    Erasure,
}

impl Record {
    /// Every kind, in the order an export lists them.
    pub const ALL: [Record; 23] = [
        Record::Client,
        Record::Consultation,
        Record::Contract,
        Record::ContractVersion,
        Record::Session,
        Record::Charge,
        Record::Invoice,
        Record::InvoiceLine,
        Record::Note,
        Record::MeasurePlan,
        Record::Questionnaire,
        Record::MeasureStop,
        Record::DataKey,
        Record::BreakNotice,
        Record::PortalLink,
        Record::PortalSession,
        Record::EmailChange,
        Record::Email,
        Record::Enquiry,
        Record::AuditEntry,
        Record::SubjectAccessRequest,
        Record::RetentionDecision,
        Record::Erasure,
    ];

    /// The record's name in the export's `data.json` (stable across backends and versions).
    pub const fn key(self) -> &'static str {
        match self {
            Record::Client => "clients",
            Record::Consultation => "bookings",
            Record::Contract => "contracts",
            Record::ContractVersion => "contract_versions",
            Record::Session => "sessions",
            Record::Charge => "charges",
            Record::Invoice => "invoices",
            Record::InvoiceLine => "invoice_lines",
            Record::Note => "notes",
            Record::MeasurePlan => "measure_plans",
            Record::Questionnaire => "questionnaires",
            Record::MeasureStop => "measure_stops",
            Record::DataKey => "client_keys",
            Record::BreakNotice => "break_notices",
            Record::PortalLink => "portal_links",
            Record::PortalSession => "portal_sessions",
            Record::EmailChange => "email_changes",
            Record::Email => "outbox",
            Record::Enquiry => "enquiries",
            Record::AuditEntry => "audit_log",
            Record::SubjectAccessRequest => "subject_access_requests",
            Record::RetentionDecision => "retention_decisions",
            Record::Erasure => "erased_clients",
        }
    }
}

/// What a column holds, whatever the database calls its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Integer,
    /// Yes or no (SQLite keeps 0 and 1).
    Bool,
    /// A moment in time ([`Value::Instant`]; SQLite keeps unix seconds).
    Instant,
    /// A calendar date ([`Value::Date`]).
    Date,
    Bytes,
    /// A note's sealed body: returned as [`Value::Note`], the note's id, for the caller to
    /// open with the client's data key.
    Note,
    /// A secret (a token or password hash, a wrapped key): never returned, even to the
    /// person it is about; only its column's name is (see [`ClientRows::withheld`]).
    Secret,
}

/// One column of a record, as the export shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    /// False for what is the practice's, not the client's (the address staff worked from):
    /// left empty in the client's own download.
    pub to_client: bool,
}

impl Column {
    /// A column of `kind`, shown to the practice and to the client.
    pub const fn new(name: &'static str, kind: Kind) -> Self {
        Column {
            name,
            kind,
            to_client: true,
        }
    }

    /// The same column, left empty in the client's own download.
    pub const fn practice_only(self) -> Self {
        Column {
            to_client: false,
            ..self
        }
    }
}

/// One value of a client's row, typed by its column's [`Kind`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Text(String),
    Integer(i64),
    Bool(bool),
    Instant(Timestamp),
    Date(Date),
    Bytes(Vec<u8>),
    /// A sealed note, by its id: the caller opens it.
    Note(crate::NoteId),
}

/// The rows of one kind of record that concern a client.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientRows {
    pub record: Record,
    /// The columns returned, in order; secrets left out.
    pub columns: Vec<Column>,
    /// The names of columns that exist but are secrets, so were left out.
    pub withheld: Vec<&'static str>,
    pub rows: Vec<Vec<Value>>,
}

impl ClientRows {
    /// The value of `column` in `row`.
    pub fn value<'a>(&'a self, row: &'a [Value], column: &str) -> Option<&'a Value> {
        self.columns
            .iter()
            .position(|c| c.name == column)
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
    /// For each client of the practice (or only `client`: a client's page asks for one),
    /// what the retention review needs.
    async fn retention_facts(
        &self,
        practice: PracticeId,
        client: Option<ClientId>,
    ) -> StoreResult<Vec<RetentionFacts>>;
    /// Every row that concerns one of the practice's clients, one [`ClientRows`] for each
    /// [`Record`] in the order of [`Record::ALL`] (listed even when empty), read in one
    /// consistent snapshot. Secret columns are left out; notes come as [`Value::Note`] (the
    /// caller opens them). An unknown or erased client is `NotFound`.
    async fn client_rows(
        &self,
        practice: PracticeId,
        client: ClientId,
    ) -> StoreResult<Vec<ClientRows>>;
    /// Erase a client in ONE transaction, driven by the backend's description: their
    /// wrapped data key first (crypto-shredding), then every row found as for
    /// [`RightsStore::client_rows`] except the audit log, their subject access requests
    /// (dates only) and the record of the erasure itself; the consultation they booked
    /// keeps its time but loses the person's details; and `audit` appended to the audit
    /// log, so the erasure and its entry are both stored or neither is. Their id is never
    /// given to another client.
    async fn erase_client(
        &self,
        practice: PracticeId,
        client: ClientId,
        audit: &crate::NewAuditEntry,
        now: Timestamp,
    ) -> StoreResult<()>;
}
